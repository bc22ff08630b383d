"""A member's returned Word file: their edits of the version's own .docx (tracked or not) become proposals, their
Word comments comments on the right passages, each pointing at the file kept as evidence; copies of another
version or document, and unchanged copies, are refused with nothing kept."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from sqlalchemy import func, select

from storage.blocks import block_text
from storage.database.models import AuditEvent, Blob, Comment, Participant, ReturnedFile, Round, utcnow
from storage.formats.docx_draft import TextChange, write_draft_docx
from tests.factories import fresh, make_document, make_network, open_round, participant
from workflows.domain import documents, member_copies, returned_files, rounds
from workflows.domain.exports import version_docx
from workflows.errors import Conflict, InvalidInput, NotFound, RoundClosed, UploadRefused

PASSAGE = "De partijen werken samen aan goede zorg voor mensen met een zeldzame aandoening."
CLOSING = "Dit document wordt definitief zodra iedereen akkoord is."
WHEN = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


@pytest.fixture
def review(db):
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    return coordinator, document, version, round_, member


def block_id_of(version, text: str) -> str:
    return next(b["id"] for b in version.blocks if block_text(b) == text)


def edited_copy(db, version, edits: dict[str, str] = (), comments: list[tuple[str, str, str]] = (),
                tracked: dict[str, str] = ()) -> bytes:
    """The version's own .docx as Akkoord exports it, edited in Word: `edits` old -> new within one paragraph's
    text without tracking, `tracked` the same as Word's tracked changes (w:del and w:ins by Karin Bos), `comments`
    (paragraph text, author, comment) added as Word comments."""
    _name, data = version_docx(db, version)
    document = docx.Document(io.BytesIO(data))
    for old, new in dict(edits).items():
        paragraph = next(p for p in document.paragraphs if old in p.text)
        text = paragraph.text.replace(old, new)
        for run in paragraph.runs[1:]:
            run._r.getparent().remove(run._r)
        paragraph.runs[0].text = text
    for old, new in dict(tracked).items():
        paragraph = next(p for p in document.paragraphs if old in p.text)
        before, _, after = paragraph.text.partition(old)
        for run in paragraph.runs[1:]:
            run._r.getparent().remove(run._r)
        paragraph.runs[0].text = before
        attributes = f'w:author="Karin Bos" w:date="2026-12-01T09:30:00Z" xmlns:w="{W}"'
        change = parse_xml(f'<w:r xmlns:w="{W}"><w:t xml:space="preserve">{after}</w:t></w:r>')
        paragraph._p.append(parse_xml(f'<w:del w:id="901" {attributes}><w:r><w:delText>{old}</w:delText></w:r>'
                                      "</w:del>"))
        paragraph._p.append(parse_xml(f'<w:ins w:id="902" {attributes}><w:r><w:t>{new}</w:t></w:r></w:ins>'))
        paragraph._p.append(change)
    for text, author, body in comments:
        paragraph = next(p for p in document.paragraphs if p.text == text)
        document.add_comment(paragraph.runs, text=body, author=author, initials="KB")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


# Uploading -------------------------------------------------------------------------------------------------------


def test_untracked_and_tracked_edits_become_proposals_on_their_passages(db, review):
    _coordinator, _document, version, round_, member = review
    passage, closing = block_id_of(version, PASSAGE), block_id_of(version, CLOSING)
    # One edit typed without tracking, one tracked in Word: "iedereen" deleted, "alle partijen" inserted.
    both = edited_copy(db, version, {"goede zorg": "de beste zorg"}, tracked={"iedereen": "alle partijen"})
    assert b"<w:del " in zipfile.ZipFile(io.BytesIO(both)).read("word/document.xml")

    returned = returned_files.upload_returned(db, member, filename="Overeenkomst v1 (KB).docx", data=both, now=WHEN)

    found = [(c["kind"], c["block_id"], c["old"], c["text"]) for c in returned.found["changes"]]
    assert found == [("text", passage, "goede", "de beste"), ("text", closing, "iedereen", "alle partijen")]
    assert [c["number"] for c in returned_files.items(returned)] == [1, 2]
    assert returned.version_id == version.id and returned.round_id == round_.id and returned.is_pending
    assert db.get(Blob, returned.sha256).data == both

    made = returned_files.submit_returned(db, member, returned, chosen={1, 2})

    texts = {c.block_id: (c.quote, c.proposed_text, c.body, c.returned_file_id) for c in made}
    assert texts == {passage: ("goede", "de beste", "", returned.id),
                     closing: ("iedereen", "alle partijen", "", returned.id)}
    assert returned.submitted_at is not None
    db.commit()
    kinds = [e.kind for e in db.scalars(select(AuditEvent).where(AuditEvent.round_id == round_.id)
                                         .order_by(AuditEvent.seq))]
    assert kinds[-4:] == ["returned_file_uploaded", "comment_added", "comment_added", "returned_file_submitted"]


def test_a_tracked_change_written_by_the_draft_writer_counts_too(db, review):
    _coordinator, _document, version, _round, member = review
    closing = block_id_of(version, CLOSING)
    start = CLOSING.index("definitief")
    data = write_draft_docx(version.blocks, [TextChange(closing, start, start + len("definitief"), "vastgesteld",
                                                        "Karin Bos", WHEN)])

    returned = returned_files.upload_returned(db, member, filename="terug.docx", data=data, now=WHEN)

    assert [(c["old"], c["text"]) for c in returned.found["changes"]] == [("definitief", "vastgesteld")]


def test_a_removed_word_proposes_the_passage_without_it_and_no_double_space(db, review):
    _coordinator, _document, version, _round, member = review
    data = edited_copy(db, version, {"goede zorg voor mensen met een zeldzame": "goede zorg voor mensen met een"})
    returned = returned_files.upload_returned(db, member, filename="terug.docx", data=data, now=WHEN)

    (comment,) = returned_files.submit_returned(db, member, returned, chosen={1})

    text = PASSAGE[:comment.start_offset] + comment.proposed_text + PASSAGE[comment.span_end:]
    assert text == "De partijen werken samen aan goede zorg voor mensen met een aandoening."


def test_a_word_comment_becomes_a_comment_on_its_passage(db, review):
    _coordinator, _document, version, _round, member = review
    data = edited_copy(db, version, comments=[(CLOSING, "Karin Bos", "Wie is iedereen hier?")])

    returned = returned_files.upload_returned(db, member, filename="terug.docx", data=data, now=WHEN)

    assert returned.found["changes"] == []
    (found,) = returned.found["comments"]
    assert (found["author"], found["text"], found["block_id"]) == ("Karin Bos", "Wie is iedereen hier?",
                                                                    block_id_of(version, CLOSING))
    (comment,) = returned_files.submit_returned(db, member, returned, chosen={found["number"]})
    assert (comment.block_id, comment.body, comment.proposed_text, comment.returned_file_id) == (
        block_id_of(version, CLOSING), "Wie is iedereen hier?", None, returned.id)


def test_a_new_passage_becomes_a_comment_quoting_it(db, review):
    _coordinator, _document, version, _round, member = review
    _name, data = version_docx(db, version)
    document = docx.Document(io.BytesIO(data))
    anchor = next(p for p in document.paragraphs if p.text == PASSAGE)
    anchor.insert_paragraph_before(PASSAGE)  # the passage appears twice: the second is the new one after it
    anchor.text = "Zij evalueren de samenwerking ieder jaar."
    buffer = io.BytesIO()
    document.save(buffer)

    returned = returned_files.upload_returned(db, member, filename="terug.docx", data=buffer.getvalue(), now=WHEN)

    (change,) = returned.found["changes"]
    assert (change["kind"], change["block_id"]) == ("new_passage", block_id_of(version, PASSAGE))
    (comment,) = returned_files.submit_returned(db, member, returned, chosen={1})
    assert comment.block_id == block_id_of(version, PASSAGE) and comment.proposed_text is None
    assert "Zij evalueren de samenwerking ieder jaar." in comment.body


def test_only_the_chosen_items_are_submitted(db, review):
    _coordinator, _document, version, _round, member = review
    data = edited_copy(db, version, {"goede zorg": "betere zorg", "definitief": "vastgesteld"},
                       comments=[("Het expertisecentrum brengt de medische kennis in.", "Karin Bos", "Klopt dit?")])
    returned = returned_files.upload_returned(db, member, filename="terug.docx", data=data, now=WHEN)
    assert len(returned_files.items(returned)) == 3

    made = returned_files.submit_returned(db, member, returned, chosen={2, 3})

    assert sorted((c.proposed_text or c.body) for c in made) == ["Klopt dit?", "vastgesteld"]
    assert db.scalar(select(func.count()).select_from(Comment).where(Comment.returned_file_id == returned.id)) == 2


def test_a_second_submit_and_submit_after_discard_are_refused(db, review):
    _coordinator, _document, version, _round, member = review
    data = edited_copy(db, version, {"goede zorg": "betere zorg"})
    first = returned_files.upload_returned(db, member, filename="terug.docx", data=data, now=WHEN)
    returned_files.submit_returned(db, member, first, chosen={1})
    with pytest.raises(Conflict) as second:
        returned_files.submit_returned(db, member, first, chosen={1})
    assert second.value.code == "returned_already_submitted"

    again = returned_files.upload_returned(db, member, filename="terug.docx", data=data, now=WHEN)
    returned_files.discard_returned(db, member, again)
    assert again.discarded_at is not None
    with pytest.raises(Conflict) as after_discard:
        returned_files.submit_returned(db, member, again, chosen={1})
    assert after_discard.value.code == "returned_discarded"
    with pytest.raises(InvalidInput) as nothing:
        returned_files.submit_returned(db, member, returned_files.upload_returned(
            db, member, filename="terug.docx", data=data, now=WHEN), chosen=set())
    assert nothing.value.code == "returned_nothing_chosen"


def test_another_members_file_is_not_theirs(db, review):
    coordinator, _document, version, round_, member = review
    returned = returned_files.upload_returned(db, member, filename="terug.docx",
                                              data=edited_copy(db, version, {"goede": "betere"}), now=WHEN)
    other = next(p for p in round_participants(db, round_) if p.id != member.id)
    with pytest.raises(NotFound):
        returned_files.submit_returned(db, other, returned, chosen={1})
    with pytest.raises(NotFound):
        returned_files.get_returned(db, other, returned.id)


def round_participants(db, round_):
    return list(db.scalars(select(Participant).where(Participant.round_id == round_.id)))


# Refusals: nothing kept ---------------------------------------------------------------------------------------------


def refused(db, member, data: bytes, filename: str = "terug.docx") -> InvalidInput:
    before = (count(db, ReturnedFile), count(db, Blob))
    with pytest.raises(InvalidInput) as refusal:
        returned_files.upload_returned(db, member, filename=filename, data=data, now=WHEN)
    assert (count(db, ReturnedFile), count(db, Blob)) == before
    return refusal.value


def test_a_copy_of_an_older_version_is_refused_naming_it(db, review):
    coordinator, document, v1, _round, _member = review
    older_copy = edited_copy(db, v1, {"definitief": "vastgesteld"})
    newer_text = "\n\n".join(block_text(b) for b in v1.blocks).replace("goede zorg", "betere zorg").replace(
        "brengt de medische", "levert de medische")
    v2 = documents.upload_version(db, document, filename="v2.txt", data=newer_text.encode(), change_note="",
                                  actor=coordinator, confirmed=document_round_id(db, document))
    round2 = open_round(db, document, coordinator)
    member2 = next(p for p in round_participants(db, round2) if p.person_id == _member.person_id)
    assert round2.version_id == v2.id

    assert (refused(db, member2, older_copy).code, refused(db, member2, older_copy).params) == (
        "returned_older_version", {"number": 1})


def document_round_id(db, document):
    return db.scalar(select(Round.id).where(Round.document_id == document.id, Round.status == "open"))


def test_another_document_and_an_unchanged_copy_and_another_format_are_refused(db, review):
    _coordinator, _document, version, _round, member = review
    other = (CORPUS / "docx" / "27_agreement-en-eula_MSDN-EULA.docx").read_bytes()
    assert refused(db, member, other).code == "returned_other_document"
    assert refused(db, member, version_docx(db, version)[1]).code == "returned_unchanged"
    not_word = refused(db, member, b"De partijen werken samen.", filename="terug.txt")
    assert isinstance(not_word, UploadRefused) and not_word.code == "returned_docx_only"
    assert refused(db, member, b"PK\x03\x04 kapot").code in ("corrupt", "wrong_type")
    assert refused(db, member, b"x", filename="terug.docm").code == "macro"


def test_a_closed_round_takes_no_file_and_no_submit(db, review):
    coordinator, _document, version, round_, member = review
    data = edited_copy(db, version, {"goede zorg": "betere zorg"})
    pending = returned_files.upload_returned(db, member, filename="terug.docx", data=data, now=WHEN)
    rounds.close_round(db, round_, actor=coordinator)
    fresh_round_member = member

    with pytest.raises(RoundClosed):
        returned_files.upload_returned(db, fresh_round_member, filename="terug.docx", data=data, now=utcnow())
    with pytest.raises(RoundClosed):
        returned_files.submit_returned(db, member, pending, chosen={1})
    assert db.scalar(select(func.count()).select_from(Comment).where(Comment.returned_file_id == pending.id)) == 0


def test_the_file_and_its_comments_survive_a_commit(db, review):
    _coordinator, _document, version, _round, member = review
    data = edited_copy(db, version, {"goede zorg": "betere zorg"})
    returned = returned_files.upload_returned(db, member, filename="terug.docx", data=data, now=WHEN)
    returned_files.submit_returned(db, member, returned, chosen={1})
    db.commit()
    fresh(db)
    kept = db.get(ReturnedFile, returned.id)
    assert kept.found["changes"][0]["text"] == "betere" and kept.submitted_at is not None
    assert db.scalar(select(Comment.proposed_text).where(Comment.returned_file_id == kept.id)) == "betere"


def test_the_draft_notice_of_the_members_own_copy_is_not_their_change(db, review):
    _coordinator, _document, _version, round_, member = review
    _name, data = member_copies.draft_docx(round_)
    word = docx.Document(io.BytesIO(data))
    assert member_copies.is_draft_notice(word.paragraphs[0].text)
    word.add_comment(word.paragraphs[0].runs, text="Wat betekent dit?", author="Karin Bos")
    closing = next(p for p in word.paragraphs if p.text == CLOSING)
    word.add_comment(closing.runs, text="Wie is iedereen?", author="Karin Bos")
    buffer = io.BytesIO()
    word.save(buffer)

    returned = returned_files.upload_returned(db, member, filename="concept.docx", data=buffer.getvalue(), now=WHEN)

    assert returned.found["changes"] == []
    assert [(c["text"], c["block_id"]) for c in returned.found["comments"]] == [
        ("Wat betekent dit?", None), ("Wie is iedereen?", block_id_of(_version, CLOSING))]
