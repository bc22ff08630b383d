"""A member's returned Word file over HTTP: uploaded from the review page, what was found shown as inline redlines and
Word comments with a box ticked for each, submitted as chosen or not at all; GETs change nothing, refusals come back
at the field in Dutch, and the project group sees and downloads the file behind the comments it produced."""

from __future__ import annotations

import html
import io

import docx
import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from storage.blocks import block_text
from storage.database.models import AuditEvent, Comment, ReturnedFile
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.service.test_staff_pages import signed_in
from workflows.domain import rounds
from workflows.domain.exports import version_docx

PASSAGE = "De partijen werken samen aan goede zorg voor mensen met een zeldzame aandoening."
CLOSING = "Dit document wordt definitief zodra iedereen akkoord is."


@pytest.fixture
def invited(db):
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    other = participant(db, round_, people[2])
    token = rounds.mint_link(db, member.id)
    _name, original = version_docx(db, version)
    db.commit()
    return {"coordinator": coordinator, "round": round_, "member": member, "token": token, "version": version,
            "original": original, "other": other}


def member_client(app, invited):
    client = app.test_client()
    assert client.get(f"/l/{invited['token']}").status_code == 303
    return client


def dutch(app, msgid: str, **params) -> str:
    with app.test_request_context(), force_locale("nl"):
        return html.escape(gettext(msgid, **params), quote=False)


def edited(original: bytes, edits: dict[str, str] = (), comment: tuple[str, str] | None = None) -> bytes:
    """The version's .docx as the member edits it in Word: `edits` made without tracking, `comment` (text, author) a
    Word comment on the last paragraph."""
    document = docx.Document(io.BytesIO(original))
    for old, new in dict(edits).items():
        paragraph = next(p for p in document.paragraphs if old in p.text)
        text = paragraph.text.replace(old, new)
        for run in paragraph.runs[1:]:
            run._r.getparent().remove(run._r)
        paragraph.runs[0].text = text
    if comment:
        paragraph = next(p for p in document.paragraphs if p.text == CLOSING)
        document.add_comment(paragraph.runs, text=comment[0], author=comment[1])
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def upload(client, review: str, data: bytes, filename: str = "Overeenkomst (bewerkt).docx"):
    page = client.get(review)
    token = csrf_token(page.get_data(as_text=True))
    return client.post(review + "returned", data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def state(db, round_id: int) -> tuple:
    fresh(db)
    return (db.scalar(select(func.count()).select_from(Comment).where(Comment.round_id == round_id)),
            tuple(db.execute(select(ReturnedFile.id, ReturnedFile.submitted_at, ReturnedFile.discarded_at)
                             .where(ReturnedFile.round_id == round_id).order_by(ReturnedFile.id)).all()),
            db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.round_id == round_id)))


def test_upload_review_and_submit_what_is_ticked(app, db, invited):
    client = member_client(app, invited)
    review = f"/review/{invited['member'].id}/"
    page = client.get(review).get_data(as_text=True)
    assert dutch(app, "Upload your edited Word file") in page and 'type="file"' in page

    response = upload(client, review, edited(invited["original"], {"goede zorg": "betere zorg"},
                                             comment=("Wie is iedereen?", "Karin Bos")))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    found_page = response.headers["Location"]
    before = state(db, invited["round"].id)
    assert len(before[1]) == 1 and before[1][0][1:] == (None, None)

    shown = client.get(found_page).get_data(as_text=True)
    # The change as an inline redline under the passage's first words, the Word comment with its author.
    assert "<del>" in shown and "goede" in shown[shown.index("<del>"):shown.index("</del>")]
    assert "betere" in shown[shown.index("<ins>"):shown.index("</ins>")]
    assert "De partijen werken samen" in shown
    assert "Karin Bos" in shown and "Wie is iedereen?" in shown
    assert shown.count('name="chosen"') == 2 and shown.count(" checked") == 2
    assert dutch(app, "Submit nothing") in shown
    # Looking (as a mail scanner or a reload does) changes nothing.
    for path in (found_page, review + "returned", review):
        assert client.get(path).status_code == 200
    assert state(db, invited["round"].id) == before

    token = csrf_token(shown)
    response = client.post(found_page + "/submit", data={"csrf_token": token, "chosen": ["1"]})
    assert response.status_code == 303
    fresh(db)
    (comment,) = db.scalars(select(Comment).where(Comment.round_id == invited["round"].id)).all()
    assert (comment.quote, comment.proposed_text, comment.returned_file_id) == ("goede", "betere",
                                                                                before[1][0][0])
    again = client.post(found_page + "/submit", data={"csrf_token": token, "chosen": ["1", "2"]})
    assert again.status_code == 409
    assert dutch(app, "What you chose from this file has already been submitted.") in again.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Comment).where(Comment.round_id == invited["round"].id)) == 1
    # Afterwards the page says so and offers no boxes.
    after = client.get(found_page).get_data(as_text=True)
    assert 'name="chosen"' not in after


def test_submit_nothing_discards_the_file(app, db, invited):
    client = member_client(app, invited)
    review = f"/review/{invited['member'].id}/"
    response = upload(client, review, edited(invited["original"], {"definitief": "vastgesteld"}))
    found_page = response.headers["Location"]
    token = csrf_token(client.get(found_page).get_data(as_text=True))

    response = client.post(found_page + "/discard", data={"csrf_token": token, "chosen": ["1"]})

    assert response.status_code == 303
    comments, files, _events = state(db, invited["round"].id)
    assert comments == 0 and files[0][2] is not None and files[0][1] is None
    assert client.post(found_page + "/submit", data={"csrf_token": token, "chosen": ["1"]}).status_code == 409


def test_refusals_come_back_at_the_field_in_dutch_and_keep_nothing(app, db, invited):
    client = member_client(app, invited)
    review = f"/review/{invited['member'].id}/"
    before = state(db, invited["round"].id)
    cases = [
        (b"", "leeg.docx", "Choose the Word file you edited.", {}),
        (b"De partijen werken samen.", "terug.txt", "Upload your edited copy as a Word document (.docx).", {}),
        (invited["original"], "terug.docx", "No changes and no Word comments were found in this file: it is the "
                                            "same as the version under review.", {}),
    ]
    for data, filename, message, params in cases:
        page = client.get(review + "returned")
        token = csrf_token(page.get_data(as_text=True))
        files = {"file": (io.BytesIO(data), filename)} if data else {}
        response = client.post(review + "returned", data={"csrf_token": token, **files},
                               content_type="multipart/form-data")
        text = response.get_data(as_text=True)
        assert response.status_code == 400, filename
        assert 'id="file-error"' in text and dutch(app, message, **params) in text, filename
        assert 'aria-invalid="true"' in text
    assert state(db, invited["round"].id) == before

    # Nothing ticked: said at the list of what was found, the file still waiting.
    found_page = upload(client, review, edited(invited["original"], {"goede": "betere"})).headers["Location"]
    token = csrf_token(client.get(found_page).get_data(as_text=True))
    response = client.post(found_page + "/submit", data={"csrf_token": token})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="chosen-error"' in text and 'href="#chosen-0"' in text
    assert dutch(app, "Tick what you want to submit, or choose “Submit nothing”.") in text
    assert state(db, invited["round"].id)[0] == 0


def test_another_members_file_is_not_found(app, db, invited):
    client = member_client(app, invited)
    review = f"/review/{invited['member'].id}/"
    found_page = upload(client, review, edited(invited["original"], {"goede": "betere"})).headers["Location"]
    returned_id = int(found_page.rsplit("/", 1)[1])
    other = invited["other"]
    token = rounds.mint_link(db, other.id)
    db.commit()
    stranger = app.test_client()
    stranger.get(f"/l/{token}")
    assert stranger.get(f"/review/{other.id}/returned/{returned_id}").status_code == 404
    assert stranger.get(found_page).status_code == 404  # the member's own page: not this browser's link


def test_the_project_group_sees_where_a_comment_came_from_and_downloads_the_file(app, db, invited):
    client = member_client(app, invited)
    review = f"/review/{invited['member'].id}/"
    data = edited(invited["original"], comment=("Wie is iedereen?", "Karin Bos"))
    found_page = upload(client, review, data).headers["Location"]
    token = csrf_token(client.get(found_page).get_data(as_text=True))
    assert client.post(found_page + "/submit", data={"csrf_token": token, "chosen": ["1"]}).status_code == 303

    staff = signed_in(app, db, invited["coordinator"])
    page = staff.get(f"/r/{invited['round'].id}/processing").get_data(as_text=True)
    assert dutch(app, "From a returned Word file") in page and "Wie is iedereen?" in page
    returned_id = int(found_page.rsplit("/", 1)[1])
    download = staff.get(f"/returned-files/{returned_id}/file")
    assert download.status_code == 200 and download.data == data
    assert "attachment" in download.headers["Content-Disposition"]
    assert client.get(f"/returned-files/{returned_id}/file").status_code in (302, 303, 403, 404)
    fresh(db)
    comment = db.scalar(select(Comment).where(Comment.returned_file_id == returned_id))
    version = invited["version"]
    assert comment.block_id == next(b["id"] for b in db.merge(version).blocks if block_text(b) == CLOSING)
