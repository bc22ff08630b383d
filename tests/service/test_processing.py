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
    assert "0 van 3 verwerkt" in page and page.count('/process">') == page.count('/reply">') == 3
    first = db.scalars(select(Comment).where(Comment.round_id == round_.id).order_by(Comment.id)).first()
    response = editor.post(f"/comments/{first.id}/process", data={
        "csrf_token": csrf_token(page), "disposition": "niet_overgenomen", "answer": "Dit hoort in het werkplan.",
        "next": f"/r/{round_.id}/processing"})
    assert response.status_code == 303
    page = editor.get(f"/r/{round_.id}/processing").get_data(as_text=True)
    assert "1 van 3 verwerkt" in page and page.count('/process">') == 2  # processed ones drop off
    assert "Dit hoort in het werkplan." in editor.get(f"/r/{round_.id}/processing?show=all").get_data(as_text=True)

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
