"""Over HTTP: commenting on selected words, replying in threads, and rounds whose comments only the
project group sees (the member pages are cached, so every change must show at once)."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape
from urllib.parse import urlencode

from sqlalchemy import func, select

from storage.blocks import block_text
from storage.database.models import Comment, Round, utcnow
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, participant
from tests.service.test_staff_pages import signed_in
from workflows.domain import rounds


def reading(app, db, *, visibility: str = "all", members: int = 2):
    """A round open with `visibility`, and a browser per member holding their link: (round, [(client, path)], people)."""
    network, coordinator, people = make_network(db, members=members)
    document, version = make_document(db, network, coordinator)
    round_ = rounds.open_round(db, document, deadline=utcnow() + dt.timedelta(days=14), message="",
                               actor=coordinator, comment_visibility=visibility)
    readers = []
    for membership in people:
        token = rounds.mint_link(db, participant(db, round_, membership).id)
        db.commit()
        client = app.test_client()
        readers.append((client, client.get(f"/l/{token}").headers["Location"]))
    return round_, readers, people, coordinator, version


def anchors(page: str) -> list:
    found = re.search(r'<script type="application/json" id="comment-anchors">(.*?)</script>', page)
    return json.loads(found.group(1))


def comment_count(db) -> int:
    fresh(db)
    return db.scalar(select(func.count(Comment.id)))


def test_a_member_comments_on_selected_words_and_the_page_knows_where_to_highlight_them(app, db):
    round_, readers, people, coordinator, version = reading(app, db)
    client, review = readers[1]
    paragraph = next(b for b in version.blocks if "zeldzame" in block_text(b))
    text = block_text(paragraph)
    start = text.index("goede zorg")
    query = urlencode({"block": paragraph["id"], "start": start, "end": start + 10, "text": "goede zorg"})
    before = comment_count(db)
    form = client.get(f"{review}comment?{query}")
    page = form.get_data(as_text=True)
    assert form.status_code == 200 and "<mark>goede zorg</mark>" in page
    assert comment_count(db) == before  # a GET (a mail scanner, say) saves nothing

    saved = client.post(f"{review}comments", data={
        "csrf_token": csrf_token(page), "block_id": paragraph["id"], "start": str(start), "end": str(start + 10),
        "selected": "goede zorg", "body": "Wat verstaan we onder goede zorg?"})
    assert saved.status_code == 303
    fresh(db)
    comment = db.scalar(select(Comment).order_by(Comment.id.desc()))
    assert (comment.quote, comment.start_offset, comment.block_id) == ("goede zorg", start, paragraph["id"])

    page = client.get(review).get_data(as_text=True)
    assert [comment.id, paragraph["id"], start, start + 10] in anchors(page)
    assert "review.js" in page and 'id="selection-bar"' in page


def test_offsets_a_browser_got_wrong_are_corrected_and_a_selection_not_in_the_passage_is_refused(app, db):
    round_, readers, people, coordinator, version = reading(app, db)
    client, review = readers[1]
    paragraph = next(b for b in version.blocks if "zeldzame" in block_text(b))
    text = block_text(paragraph)
    start = text.index("zeldzame")
    # Offsets two characters off, as if a label had been counted: the form shows the words themselves.
    query = urlencode({"block": paragraph["id"], "start": start - 2, "end": start + 6, "text": "zeldzame"})
    page = client.get(f"{review}comment?{query}").get_data(as_text=True)
    assert "<mark>zeldzame</mark>" in page

    before = comment_count(db)
    refused = client.post(f"{review}comments", data={
        "csrf_token": csrf_token(page), "block_id": paragraph["id"], "start": "0", "end": "4",
        "selected": "huisartsenpost", "body": "Waar staat dit?"})
    assert refused.status_code == 400
    assert "De geselecteerde tekst staat niet in die passage" in unescape(refused.get_data(as_text=True))
    assert comment_count(db) == before


def test_a_member_replies_in_a_thread_and_the_project_group_answers_from_the_processing_view(app, db):
    round_, readers, people, coordinator, version = reading(app, db)
    (editor_reader, _), (first, first_review), (second, second_review) = readers
    comment = rounds.add_comment(db, participant(db, round_, people[1]), body="Artikel 2 mist de huisarts.")
    db.commit()
    assert f'href="comment?reply={comment.id}"' in second.get(second_review).get_data(as_text=True)

    form = second.get(f"{second_review}comment?reply={comment.id}").get_data(as_text=True)
    assert "Artikel 2 mist de huisarts." in form
    assert second.post(f"{second_review}comments", data={
        "csrf_token": csrf_token(form), "parent_id": str(comment.id), "body": "Eens, en de apotheek ook."
    }).status_code == 303

    editor = signed_in(app, db, people[0].person)
    processing = editor.get(f"/r/{round_.id}/processing").get_data(as_text=True)
    assert "Eens, en de apotheek ook." in processing
    answered = editor.post(f"/comments/{comment.id}/reply", data={
        "csrf_token": csrf_token(processing), "body": "Opgenomen in versie 2.", "next": f"/r/{round_.id}/processing"})
    assert answered.status_code == 303 and answered.headers["Location"].endswith(f"#comment-{comment.id}")

    # The first member's cached review page shows the whole thread, the project group's answer marked as such.
    page = first.get(first_review).get_data(as_text=True)
    thread = page[page.index(f'id="comment-{comment.id}"'):]
    assert thread.index("Eens, en de apotheek ook.") < thread.index("Opgenomen in versie 2.")
    assert "projectgroep" in thread
    assert "(1)" in page  # replies are not counted as comments


def test_an_empty_reply_keeps_the_form_with_a_message_and_saves_nothing(app, db):
    round_, readers, people, coordinator, version = reading(app, db)
    client, review = readers[1]
    comment = rounds.add_comment(db, participant(db, round_, people[2]), body="Een punt.")
    db.commit()
    before = comment_count(db)
    form = client.get(f"{review}comment?reply={comment.id}").get_data(as_text=True)
    refused = client.post(f"{review}comments", data={"csrf_token": csrf_token(form), "parent_id": str(comment.id),
                                                     "body": "  "})
    assert refused.status_code == 400 and "Een punt." in refused.get_data(as_text=True)
    assert comment_count(db) == before


def test_in_a_project_group_round_members_see_only_their_own_threads(app, db):
    round_, readers, people, coordinator, version = reading(app, db, visibility="group")
    (editor_reader, editor_review), (first, first_review), (second, second_review) = readers
    paragraph = next(b for b in version.blocks if "zeldzame" in block_text(b))
    text = block_text(paragraph)
    mine = rounds.add_comment(db, participant(db, round_, people[1]), body="Vertrouwelijk punt van A.",
                              block_id=paragraph["id"], start=text.index("zorg"), end=text.index("zorg") + 4)
    theirs = rounds.add_comment(db, participant(db, round_, people[2]), body="Punt van B.")
    db.commit()

    page_a = first.get(first_review).get_data(as_text=True)
    page_b = second.get(second_review).get_data(as_text=True)
    assert "Vertrouwelijk punt van A." in page_a and "Punt van B." not in page_a
    assert "Punt van B." in page_b and "Vertrouwelijk punt van A." not in page_b
    assert "alleen de projectgroep" in page_b
    assert [a[0] for a in anchors(page_a)] == [mine.id] and anchors(page_b) == []
    assert "Vertrouwelijk" not in second.get(f"{second_review}comments").get_data(as_text=True)
    assert second.get(f"{second_review}comment?reply={mine.id}").status_code == 404

    # The editor takes part in the round as the project group: they see every comment.
    page_editor = editor_reader.get(editor_review).get_data(as_text=True)
    assert "Vertrouwelijk punt van A." in page_editor and "Punt van B." in page_editor

    # A's answer from the project group reaches A, not B; B's cached page stays as it was.
    rounds.add_reply(db, mine.id, body="Dank voor het signaal.", staff=coordinator)
    db.commit()
    assert "Dank voor het signaal." in first.get(first_review).get_data(as_text=True)
    assert "Dank voor het signaal." not in second.get(second_review).get_data(as_text=True)
    assert theirs.id  # B's own thread is untouched


def test_the_coordinator_chooses_who_sees_the_comments_when_opening_a_round(app, db):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    db.commit()
    client = signed_in(app, db, coordinator)
    page = client.get(f"/d/{document.id}").get_data(as_text=True)
    assert 'name="comment_visibility"' in page and "Alleen de projectgroep ziet al het commentaar" in page
    response = client.post(f"/d/{document.id}/rounds", data={
        "csrf_token": csrf_token(page), "deadline": "2099-01-01T12:00", "message": "", "comment_visibility": "group"})
    assert response.status_code == 303
    fresh(db)
    round_ = db.scalar(select(Round).where(Round.document_id == document.id))
    assert round_.comment_visibility == "group"
    assert "Alleen de projectgroep ziet al het commentaar" in client.get(f"/r/{round_.id}").get_data(as_text=True)


def test_an_editor_uploads_a_version_naming_the_comments_it_addresses_and_the_member_sees_it(app, db):
    import io

    from tests.factories import DRAFT_TEXT

    round_, readers, people, coordinator, version = reading(app, db, members=1)
    member = participant(db, round_, people[1])
    first = rounds.add_comment(db, member, body="Noem de huisarts.")
    rounds.add_comment(db, member, body="Ander punt.")
    rounds.close_round(db, db.get(Round, round_.id), actor=coordinator)
    db.commit()
    editor = signed_in(app, db, people[0].person)
    page = editor.get(f"/d/{round_.document_id}").get_data(as_text=True)
    assert 'name="addresses"' in page and "commentaartabel van ronde 1" in page

    def upload(numbers: str):
        return editor.post(f"/d/{round_.document_id}/versions", data={
            "csrf_token": csrf_token(page), "change_note": "verwerkt", "addresses": numbers,
            "file": (io.BytesIO((DRAFT_TEXT + "\nDe huisarts doet mee.\n").encode()), "v2.md")})

    refused = upload("1, 7")
    assert refused.status_code == 400 and "commentaar 7 bestaat niet" in unescape(refused.get_data(as_text=True))
    fresh(db)
    from storage.database.models import Version

    assert db.scalar(select(func.count(Version.id)).where(Version.document_id == round_.document_id)) == 1
    saved = upload("1")
    assert saved.status_code == 303
    version_page = editor.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Deze versie gaat in op 1 commentaren" in version_page and "Noem de huisarts." in version_page

    history = editor.get(f"/d/{round_.document_id}").get_data(as_text=True)
    history = history[history.index('id="timeline"'):history.index("</ol>", history.index('id="timeline"'))]
    assert history.index("Versie 2") < history.index("Ronde 1") < history.rindex("Versie 1")  # newest first
    assert "Gaat in op 1 commentaren." in history and "0 van 2 commentaren verwerkt" in history
    assert "wijzigingen sinds versie 1" in history

    fresh(db)
    from workflows.domain import comments as comment_rules

    assert comment_rules.addressed_in(db, [first.id]) == {first.id: [2]}


def test_odd_query_strings_on_the_comment_form_get_a_page_not_a_server_error(app, db):
    round_, readers, people, coordinator, version = reading(app, db, members=1)
    client, review = readers[1]
    block_id = version.blocks[1]["id"]
    for query in ("reply=abc", "reply=99999999999999999999999", "reply=-1"):
        assert client.get(f"{review}comment?{query}").status_code == 404
    shown = client.get(f"{review}comment?" + urlencode({"block": block_id, "start": "²", "end": "5", "text": "x"}))
    assert shown.status_code == 200  # the offsets are ignored: a comment on the whole passage


def test_an_empty_comment_on_a_passage_returns_to_the_passage_form(app, db):
    round_, readers, people, coordinator, version = reading(app, db, members=1)
    client, review = readers[1]
    block_id = version.blocks[1]["id"]
    page = client.get(f"{review}comment?block={block_id}").get_data(as_text=True)
    refused = client.post(f"{review}comments", data={"csrf_token": csrf_token(page), "block_id": block_id, "body": ""})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Commentaar op een passage" in body and f'value="{block_id}"' in body
