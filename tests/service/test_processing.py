"""The processing page: progress, dispositions and answers, and the member seeing what became of a comment."""

from __future__ import annotations

from sqlalchemy import select

from storage.database.models import Comment
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.service.test_staff_pages import signed_in
from workflows.domain import rounds


def test_an_editor_processes_comments_and_the_member_sees_the_answer(app, db):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    for i in range(3):
        rounds.add_comment(db, member, body=f"Opmerking nummer {i}", block_id=None)
    token = rounds.mint_link(db, member.id)
    db.commit()

    reader = app.test_client()
    review = reader.get(f"/l/{token}").headers["Location"]
    assert "Niet overgenomen" not in reader.get(review).get_data(as_text=True)

    editor = signed_in(app, db, people[0].person)  # people[0] is the editor
    page = editor.get(f"/r/{round_.id}/processing").get_data(as_text=True)
    assert "0 van 3 verwerkt" in page and page.count('/process"') == page.count('/reply">') == 3
    first = db.scalars(select(Comment).where(Comment.round_id == round_.id).order_by(Comment.id)).first()
    response = editor.post(f"/comments/{first.id}/process", data={
        "csrf_token": csrf_token(page), "disposition": "niet_overgenomen", "answer": "Dit hoort in het werkplan.",
        "next": f"/r/{round_.id}/processing"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#comment-{first.id}")
    page = editor.get(f"/r/{round_.id}/processing").get_data(as_text=True)
    assert "1 van 3 verwerkt" in page and page.count('name="disposition"') == 3  # a processed one stays
    assert "Dit hoort in het werkplan." in page
    still_to_do = editor.get(f"/r/{round_.id}/processing?show=todo").get_data(as_text=True)
    assert still_to_do.count('name="disposition"') == 2

    seen = reader.get(review).get_data(as_text=True)  # the cached page follows the processing
    assert "niet overgenomen" in seen and "Dit hoort in het werkplan." in seen

    refused = editor.post(f"/comments/{first.id}/process", data={
        "csrf_token": csrf_token(page), "disposition": "deels_overgenomen", "answer": ""})
    assert refused.status_code == 400 and "antwoord" in refused.get_data(as_text=True).lower()
    fresh(db)
    assert db.get(Comment, first.id).disposition == "niet_overgenomen"


def test_members_cannot_process(app, db):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    comment = rounds.add_comment(db, participant(db, round_, people[1]), body="Iets", block_id=None)
    db.commit()
    client = signed_in(app, db, people[1].person)
    page = client.get("/").get_data(as_text=True)
    response = client.post(f"/comments/{comment.id}/process", data={"csrf_token": csrf_token(page),
                                                                     "disposition": "overgenomen", "answer": ""})
    assert response.status_code == 403


def test_the_commentaartabel_shows_and_downloads(app, db):
    import io
    import zipfile

    import openpyxl

    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    rounds.add_comment(db, participant(db, round_, people[1]), body="Graag concreter formuleren", block_id=None)
    db.commit()
    client = signed_in(app, db, coordinator)
    page = client.get(f"/r/{round_.id}/commentaartabel").get_data(as_text=True)
    assert "Graag concreter formuleren" in page and "Algemeen" in page
    docx_file = client.get(f"/r/{round_.id}/commentaartabel?format=docx")
    assert b"Graag concreter formuleren" in zipfile.ZipFile(io.BytesIO(docx_file.data)).read("word/document.xml")
    xlsx_file = client.get(f"/r/{round_.id}/commentaartabel?format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_file.data)).active
    assert any("Graag concreter formuleren" == cell.value for row in sheet.iter_rows() for cell in row)


def test_a_member_finds_earlier_comments_on_the_new_version(app, db):
    from workflows.domain import comments, documents

    network, coordinator, people = make_network(db, members=1)
    text1 = ("# Artikel 1\n\nDe huisarts coördineert de zorg thuis en overlegt met de apotheek.\n\n"
             "De apotheker bewaakt de medicatie.\n\nDeze alinea verdwijnt in de volgende versie helemaal.\n")
    document, v1 = make_document(db, network, coordinator, text=text1)
    round1 = open_round(db, document, coordinator)
    member = participant(db, round1, people[1])
    ids = {b["text"]: b["id"] for b in v1.blocks}
    kept = rounds.add_comment(db, member, body="Wie is eindverantwoordelijk?",
                              block_id=ids["De huisarts coördineert de zorg thuis en overlegt met de apotheek."])
    gone = rounds.add_comment(db, member, body="Schrappen?", block_id=ids["Deze alinea verdwijnt in de volgende versie helemaal."])
    comments.process_comment(db, kept, disposition="overgenomen", answer="Toegevoegd in artikel 1.", actor=coordinator)
    text2 = ("# Artikel 1\n\nDe apotheker bewaakt de medicatie.\n\n"
             "De huisarts coördineert de zorg thuis en overlegt met de apotheek en de wijkverpleging.\n")
    documents.upload_version(db, document, filename="v2.md", data=text2.encode(), change_note="", actor=coordinator)
    round2 = open_round(db, document, coordinator)
    token = rounds.mint_link(db, participant(db, round2, people[1]).id)
    db.commit()

    client = app.test_client()
    review = client.get(f"/l/{token}").headers["Location"]
    page = client.get(review).get_data(as_text=True)
    assert "Uw 2 reacties op eerdere versies" in page
    earlier = client.get(review + "earlier").get_data(as_text=True)
    assert "Wie is eindverantwoordelijk?" in earlier and "Toegevoegd in artikel 1." in earlier
    assert "passage aangepast" in earlier or "passage ongewijzigd" in earlier
    assert "passage verwijderd" in earlier  # never attached to other text
    assert gone.body in earlier


def test_the_next_invitation_says_how_comments_were_processed_and_links_to_the_changes(app, db, run_worker, mail_store):
    from workflows.domain import comments, documents

    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round1 = open_round(db, document, coordinator)
    member = participant(db, round1, people[1])
    comment = rounds.add_comment(db, member, body="Noem ook de wijkverpleging", block_id=None)
    comments.process_comment(db, comment, disposition="deels_overgenomen", answer="Genoemd in artikel 2.",
                             actor=coordinator)
    documents.upload_version(db, document, filename="v2.md", change_note="", actor=coordinator,
                             data=b"# Samenwerkingsovereenkomst\n\nDe huisarts werkt samen met de wijkverpleging.\n")
    db.commit()
    run_worker()
    mail_store.clear()
    open_round(db, document, coordinator)
    db.commit()
    run_worker()
    mail = next(m for m in mail_store.wait_for(lambda ms: len(ms) == 3) if m.to == [people[1].person.email])
    text = mail.text_body()
    assert "deels overgenomen — Genoemd in artikel 2." in text and "versie 1" in text
    changes_link = next(link for link in mail.links() if link.endswith("?to=changes"))
    client = app.test_client()
    landing = client.get(changes_link.removeprefix("http://localhost"))
    assert landing.status_code == 303 and landing.headers["Location"].endswith("/changes")
    page = client.get(landing.headers["Location"]).get_data(as_text=True)
    assert "Wijzigingen van versie 1 naar versie 2" in page and "<ins" in page


def _message(app, msgid: str) -> str:
    """A message as the Dutch pages show it (the English text until its translation is in the catalogue)."""
    from flask_babel import force_locale, gettext
    from markupsafe import escape

    with app.test_request_context(), force_locale("nl"):
        return str(escape(gettext(msgid)))


def _processing_world(db):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    made = [rounds.add_comment(db, member, body=f"Opmerking {i}", block_id=None) for i in range(2)]
    db.commit()
    return coordinator, document, round_, made


def test_nothing_is_chosen_for_an_unprocessed_comment_and_saving_nothing_is_refused_at_the_field(app, db):
    coordinator, _document, round_, made = _processing_world(db)
    client = signed_in(app, db, coordinator)
    page = client.get(f"/r/{round_.id}/processing").get_data(as_text=True)
    form = page[page.index(f'id="disposition-{made[0].id}"'):]
    form = form[:form.index("</select>")]
    assert '<option value="" selected>' in form and form.count("selected") == 1  # the empty choice, and only it
    assert _message(app, "Choose a processing") in form

    refused = client.post(f"/comments/{made[0].id}/process?page=1", data={
        "csrf_token": csrf_token(page), "disposition": "", "answer": "Wordt besproken in de kerngroep.",
        "next": f"/r/{round_.id}/processing"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    error = _message(app, "Choose how this comment was processed.")
    assert f'<p class="field-error" id="disposition-{made[0].id}-error">' in html and f"</span>{error}</p>" in html
    assert f'aria-describedby="disposition-{made[0].id}-error"' in html and 'aria-invalid="true"' in html
    label = _message(app, "Processing")
    assert f'<a href="#disposition-{made[0].id}">{label}: {error}</a>' in html  # and in the summary above, linked
    assert "Wordt besproken in de kerngroep.</textarea>" in html  # what was typed is kept
    assert html.count('name="disposition"') == 2  # the rest of the page is still there
    assert f'name="next" value="/r/{round_.id}/processing"' in html  # and sends the next save back to it
    fresh(db)
    assert db.get(Comment, made[0].id).processed_at is None


def test_a_missing_answer_is_refused_at_the_field_keeping_the_choice(app, db):
    coordinator, _document, round_, made = _processing_world(db)
    client = signed_in(app, db, coordinator)
    page = client.get(f"/r/{round_.id}/processing").get_data(as_text=True)
    refused = client.post(f"/comments/{made[1].id}/process", data={
        "csrf_token": csrf_token(page), "disposition": "niet_overgenomen", "answer": "  "})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert f'id="answer-{made[1].id}-error"' in html
    assert f'aria-describedby="answer-{made[1].id}-hint answer-{made[1].id}-error"' in html
    assert '<option value="niet_overgenomen" selected>' in html
    fresh(db)
    assert db.get(Comment, made[1].id).processed_at is None


def test_a_processed_comment_stays_folded_and_can_be_changed_until_the_next_version(app, db):
    from workflows.domain import documents

    coordinator, document, round_, made = _processing_world(db)
    client = signed_in(app, db, coordinator)
    page = client.get(f"/r/{round_.id}/processing").get_data(as_text=True)
    saved = client.post(f"/comments/{made[0].id}/process", data={
        "csrf_token": csrf_token(page), "disposition": "overgenomen", "answer": "Staat nu in artikel 2."})
    assert saved.status_code == 303
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    block = page[page.index(f'id="comment-{made[0].id}"'):page.index(f'id="comment-{made[1].id}"')]
    assert 'class="comment processed"' in page and "<details>" in block  # folded...
    assert block.index("Staat nu in artikel 2.") < block.index("<details>")  # ...its answer in view
    assert block.index(">overgenomen</span>") < block.index("<details>")  # the badge
    assert '<option value="overgenomen" selected>' in block and _message(app, "Save the change") in block

    changed = client.post(f"/comments/{made[0].id}/process", data={
        "csrf_token": csrf_token(page), "disposition": "deels_overgenomen", "answer": "Deels, in artikel 2."})
    assert changed.status_code == 303
    fresh(db)
    assert db.get(Comment, made[0].id).disposition == "deels_overgenomen"

    documents.upload_version(db, db.get(type(document), document.id), filename="v2.md", change_note="",
                             data=b"# Overeenkomst\n\nNieuwe tekst.\n", actor=coordinator)
    db.commit()
    page = client.get(f"/r/{round_.id}/processing").get_data(as_text=True)
    assert page.count('name="disposition"') == 1  # only the unprocessed comment still has a form
    assert "Deels, in artikel 2." in page
    late = client.post(f"/comments/{made[0].id}/process", data={
        "csrf_token": csrf_token(page), "disposition": "overgenomen", "answer": ""})
    assert late.status_code == 409
    fresh(db)
    assert db.get(Comment, made[0].id).disposition == "deels_overgenomen"
    assert client.post(f"/comments/{made[1].id}/process", data={  # an unprocessed one is still accounted for
        "csrf_token": csrf_token(page), "disposition": "voor_kennisgeving", "answer": ""}).status_code == 303
