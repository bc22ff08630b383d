"""From proposals to the next version over HTTP, on real parts (worker, SMTP, links from received mail): two
members propose wording for overlapping words, a third returns the Word file with a tracked change and a Word
comment, the project group takes one proposal as it is and one edited and chooses against the collision; the draft
next version opens in python-docx, Accept all gives the expected text block for block and Reject all the version;
uploaded as the next version, it is redlined against the old one and the comments it addresses are listed."""

from __future__ import annotations

import io
import re

import docx
from docx.oxml.ns import qn
from docx.oxml.parser import OxmlElement
from sqlalchemy import select

from storage.blocks import block_text
from storage.database.models import Comment, Version
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round
from tests.integration.test_whole_loop import path_of, post
from tests.service.test_proposals_processing import message
from tests.service.test_staff_pages import signed_in
from tests.storage.tracked_changes import accept_all, accepted, rejected
from workflows.domain import comments

TEXT = ("# Samenwerkingsovereenkomst\n\n"
        "De overeenkomst geldt voor 60 maanden en wordt daarna stilzwijgend verlengd.\n\n"
        "Partijen overleggen ieder kwartaal over de voortgang.\n\n"
        "Dit document wordt definitief zodra iedereen akkoord is.\n")
TERM = "De overeenkomst geldt voor 60 maanden en wordt daarna stilzwijgend verlengd."
MEETING = "Partijen overleggen ieder kwartaal over de voortgang."


def propose(client, review: str, block_id: str, passage: str, words: str, text: str, body: str):
    """Select `words` in the passage, open the comment form and propose `text` instead, as the page does."""
    start = passage.index(words)
    form = client.get(f"{review}comment?block={block_id}&start={start}&end={start + len(words)}&text={words}")
    assert form.status_code == 200
    response = client.post(f"{review}comments", data={
        "csrf_token": csrf_token(form.get_data(as_text=True)), "block_id": block_id, "start": start,
        "end": start + len(words), "selected": words, "proposed_text": text, "body": body, "kind": "technical"})
    assert response.status_code == 303, response.get_data(as_text=True)


def tracked_copy(data: bytes, author: str) -> bytes:
    """The member's download edited in Word with tracked changes on: "ieder kwartaal" deleted and "elke maand"
    inserted by `author`; and a Word comment on the last paragraph."""
    word = docx.Document(io.BytesIO(data))
    paragraph = next(p for p in word.paragraphs if p.text == MEETING)
    for run in list(paragraph.runs):
        run._r.getparent().remove(run._r)
    before, after = MEETING.split("ieder kwartaal")
    paragraph.add_run(before)
    for tag, text in (("w:del", "ieder kwartaal"), ("w:ins", "elke maand")):
        revision = OxmlElement(tag)
        revision.set(qn("w:id"), "90" if tag == "w:del" else "91")
        revision.set(qn("w:author"), author)
        revision.set(qn("w:date"), "2026-12-02T10:00:00Z")
        run = OxmlElement("w:r")
        piece = OxmlElement("w:delText" if tag == "w:del" else "w:t")
        piece.text = text
        run.append(piece)
        revision.append(run)
        paragraph._p.append(revision)
    paragraph.add_run(after)
    last = next(p for p in word.paragraphs if p.text.startswith("Dit document wordt definitief"))
    word.add_comment(last.runs, text="Wie bedoelen we met iedereen?", author=author)
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def test_from_proposals_and_a_returned_word_file_to_the_next_version(app, db, mail_store, run_worker):
    network, coordinator, people = make_network(db, members=3)
    document, version = make_document(db, network, coordinator, text=TEXT)
    mail_store.clear()
    round_ = open_round(db, document, coordinator)
    db.commit()
    run_worker()
    blocks = {block_text(b): b["id"] for b in version.blocks}
    reviews = {}
    for person in people[1:4]:
        mails = mail_store.wait_for(lambda ms, email=person.person.email: [
            m for m in ms if m.to == [email] and any("/l/" in link for link in m.links())])
        client = app.test_client()
        link = next(link for link in mails[0].links() if "/l/" in link)
        reviews[person.id] = (client, client.get(path_of(link)).headers["Location"])

    # Two members propose wording for overlapping words.
    (first, first_review), (second, second_review), (third, third_review) = reviews.values()
    propose(first, first_review, blocks[TERM], TERM, "60 maanden", "12 maanden", "Korter is beter.")
    propose(second, second_review, blocks[TERM], TERM, "voor 60 maanden", "voor 24 maanden", "")
    # The third returns the Word file of the version, edited with tracked changes and a Word comment.
    download = third.get(f"{third_review}version.docx")
    assert download.status_code == 200
    page = third.get(third_review).get_data(as_text=True)
    response = third.post(f"{third_review}returned", data={
        "csrf_token": csrf_token(page), "file": (io.BytesIO(tracked_copy(download.data, people[3].name)),
                                                 "mijn versie.docx")}, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    found_page = response.headers["Location"]
    found = third.get(found_page).get_data(as_text=True)
    assert "elke maand" in found and "Wie bedoelen we met iedereen?" in found
    chosen = re.findall(r'name="chosen" value="(\d+)"', found)
    response = third.post(f"{found_page}/submit", data={"csrf_token": csrf_token(found), "chosen": chosen})
    assert response.status_code == 303
    fresh(db)
    made = {c.proposed_text or c.body: c for c in db.scalars(select(Comment).where(Comment.round_id == round_.id))}
    assert set(made) == {"12 maanden", "voor 24 maanden", "elke maand", "Wie bedoelen we met iedereen?"}
    assert made["elke maand"].returned_file_id is not None

    # The project group: one as it is, the collision refused, then chosen against; one edited.
    staff = signed_in(app, db, coordinator)
    processing = f"/r/{round_.id}/processing"

    def process(comment: Comment, **data):
        page = staff.get(processing).get_data(as_text=True)
        return staff.post(f"/comments/{comment.id}/process", data={
            "csrf_token": csrf_token(page), "answer": "", "next": processing, **data})

    assert process(made["12 maanden"], disposition="overgenomen").status_code == 303
    assert process(made["voor 24 maanden"], disposition="overgenomen").status_code == 409
    assert process(made["voor 24 maanden"], disposition="niet_overgenomen",
                   answer="Wij kiezen voor 12 maanden.").status_code == 303
    assert process(made["elke maand"], disposition="deels_overgenomen", answer="Iedere maand, maar digitaal.",
                   take_text="y", taken_text="elke maand digitaal").status_code == 303

    # The draft next version: Accept all gives the version with the wording taken, Reject all the version.
    draft = staff.get(f"/r/{round_.id}/draft")
    assert draft.status_code == 200
    document_file = docx.Document(io.BytesIO(draft.data))
    assert any(p.text for p in document_file.paragraphs)
    expected = [t.replace("60 maanden", "12 maanden").replace("ieder kwartaal", "elke maand digitaal")
                for t in (block_text(b) for b in version.blocks)]
    assert [block_text(b) for b in accepted(draft.data)] == expected
    assert [block_text(b) for b in rejected(draft.data)] == [block_text(b) for b in version.blocks]

    # Accepted in Word and uploaded as version 2, naming every comment taken over: redlined, addresses listed.
    document_path = f"/d/{document.id}"
    response = post(staff, document_path, f"{document_path}/versions",
                    {"file": (io.BytesIO(accept_all(draft.data)), "concept-v2.docx"), "change_note": "Voorstellen",
                     "taken_over": "y", "close_open_round": "y", "supersedes": str(round_.id)},
                    content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    redline = staff.get(f"{document_path}/compare").get_data(as_text=True)
    assert "12" in redline and "<del" in redline and "<ins" in redline
    fresh(db)
    newest = db.scalar(select(Version).where(Version.document_id == document.id).order_by(Version.number.desc()))
    assert newest.number == 2 and [block_text(b) for b in newest.blocks] == expected
    addressed = comments.addressed_by(db, newest.id)
    assert {a.comment.id for a in addressed} == {made["12 maanden"].id, made["elke maand"].id}
    version_page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert message(app, "This version addresses %(count)s comments", count=2) in version_page
    assert "Korter is beter." in version_page
