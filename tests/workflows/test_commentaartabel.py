"""The commentaartabel of a round: rows in comment order with name, organisation, passage and disposition in words,
and both downloads read back."""

from __future__ import annotations

import io

import docx
import openpyxl
import pytest

from storage.database.models import Membership, Organisation, utcnow
from storage.formats.commentaartabel import DUTCH_HEADERS, ENGLISH_HEADERS
from tests.factories import DRAFT_TEXT, make_document, make_network, open_round, participant
from workflows.domain import commentaartabel, rounds
from workflows.errors import NotFound

LONG = "Deze alinea is bewust heel lang, zodat de passage in de commentaartabel wordt ingekort " * 3
TEXT = DRAFT_TEXT.replace("Dit document wordt definitief zodra iedereen akkoord is.",
                          f"Dit document wordt definitief zodra iedereen akkoord is.\n\n{LONG.strip()}")


def block(version, text: str) -> dict:
    return next(b for b in version.blocks if b.get("text", "").startswith(text))


def dispose(comment, code: str, answer: str = "") -> None:
    """A disposition set directly on the model (processing through a workflow is tested elsewhere)."""
    comment.disposition = code
    comment.answer = answer
    if hasattr(comment, "processed_at"):  # the processing columns, where the schema has them
        comment.processed_at = utcnow()


def organisation_of(db, person) -> str:
    membership = db.query(Membership).filter_by(person_id=person.person_id).one()
    return db.get(Organisation, membership.organisation_id).name if membership.organisation_id else ""


@pytest.fixture
def commented_round(db):
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator, text=TEXT)
    round_ = open_round(db, document, coordinator)
    editor, first, second = (participant(db, round_, person) for person in people)
    paragraph = block(version, "De partijen werken samen")
    list_item = block(version, "Het expertisecentrum")
    heading = block(version, "Artikel 2 Taken")
    long_paragraph = block(version, "Deze alinea is bewust")
    comments = [
        rounds.add_comment(db, first, body="Graag 'zeldzaam' definiëren.\nZie ook de wet.", block_id=paragraph["id"]),
        rounds.add_comment(db, second, body="Prima stuk & goed leesbaar 👍", block_id=None),
        rounds.add_comment(db, editor, body="Welke medische kennis?", block_id=list_item["id"]),
        rounds.add_comment(db, first, body="Kop te vaag", block_id=heading["id"]),
        rounds.add_comment(db, second, body="Te lang", block_id=long_paragraph["id"]),
    ]
    dispose(comments[0], "deels_overgenomen", "Definitie toegevoegd in artikel 1.")
    dispose(comments[2], "voor_kennisgeving")
    dispose(comments[3], "niet_overgenomen")
    dispose(comments[4], "overgenomen")
    db.flush()
    return document, round_, (editor, first, second), comments


def test_rows_are_numbered_in_comment_order_with_passage_and_disposition_words(db, commented_round):
    _document, round_, (editor, first, second), comments = commented_round
    rows = commentaartabel.rows_for_round(db, round_.id)
    assert [row.number for row in rows] == [1, 2, 3, 4, 5]
    assert [row.person for row in rows] == [p.person.name for p in (first, second, editor, first, second)]
    assert [row.organisation for row in rows] == [organisation_of(db, p) for p in (first, second, editor, first, second)]
    assert all(row.organisation for row in rows)
    assert [row.comment for row in rows] == [c.body for c in comments]
    assert [row.disposition for row in rows] == ["deels overgenomen", "", "voor kennisgeving", "niet overgenomen",
                                                 "overgenomen"]
    assert [row.answer for row in rows] == ["Definitie toegevoegd in artikel 1.", "", "", "", ""]
    assert rows[0].passage == ("Artikel 1 Doel\n“De partijen werken samen aan goede zorg voor mensen met een zeldzame "
                               "aandoening.”")
    assert rows[1].passage == "Algemeen"
    assert rows[2].passage == "Artikel 2 Taken\n“Het expertisecentrum brengt de medische kennis in.”"
    assert rows[3].passage == "Artikel 2 Taken"
    heading, quoted = rows[4].passage.split("\n")
    assert heading == "Artikel 2 Taken"
    assert quoted.startswith("“Deze alinea is bewust heel lang") and quoted.endswith("…”")
    assert len(quoted) <= commentaartabel.PASSAGE_LENGTH + 2

    # Comments of the default type that propose no wording: the type in words, no proposed change.
    assert [row.kind for row in rows] == ["algemeen"] * 5 and [row.proposal for row in rows] == [""] * 5

    english = commentaartabel.rows_for_round(db, round_.id, locale="en")
    assert [row.disposition for row in english] == ["partly adopted", "", "noted", "not adopted", "adopted"]
    assert english[1].passage == "General"
    assert english[0].kind == "general"


def test_a_round_without_comments_has_no_rows(db):
    network, coordinator, _people = make_network(db, members=1)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    assert commentaartabel.rows_for_round(db, round_.id) == []
    _filename, _mimetype, data = commentaartabel.export(db, round_.id, "docx")
    assert [[c.text for c in r.cells] for r in docx.Document(io.BytesIO(data)).tables[0].rows] == [DUTCH_HEADERS]


def test_docx_export_holds_the_table(db, commented_round):
    document, round_, _participants, _comments = commented_round
    rows = commentaartabel.rows_for_round(db, round_.id)
    filename, mimetype, data = commentaartabel.export(db, round_.id, "docx")
    assert filename.endswith("_ronde_1.docx") and filename.startswith("Commentaartabel_Overeenkomst")
    assert mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    word = docx.Document(io.BytesIO(data))
    assert word.core_properties.title == f"Commentaartabel — {document.title}"
    assert word.paragraphs[1].text.startswith("Commentaarronde 1 op versie 1, geopend ")
    assert "deadline" in word.paragraphs[1].text
    table = word.tables[0]
    assert [cell.text for cell in table.rows[0].cells] == DUTCH_HEADERS
    assert [[cell.text for cell in row.cells] for row in table.rows[1:]] == [
        [str(r.number), r.person, r.organisation, r.passage, r.kind, r.comment, r.proposal, r.disposition, r.answer]
        for r in rows]


def test_xlsx_export_holds_the_table(db, commented_round):
    document, round_, _participants, _comments = commented_round
    rounds.close_round(db, round_, actor=None)
    db.flush()
    rows = commentaartabel.rows_for_round(db, round_.id, locale="en")
    filename, mimetype, data = commentaartabel.export(db, round_.id, "xlsx", locale="en")
    assert filename.startswith("Comment_table_") and filename.endswith(".xlsx")
    assert mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.properties.title == f"Comment table — {document.title}"
    assert "closed" in workbook.properties.subject
    values = [[cell.value if cell.value is not None else "" for cell in row] for row in workbook.active.iter_rows()]
    assert values == [ENGLISH_HEADERS] + [
        [r.number, r.person, r.organisation, r.passage, r.kind, r.comment, r.proposal, r.disposition, r.answer]
        for r in rows]


def test_unknown_round_and_format(db, commented_round):
    _document, round_, _participants, _comments = commented_round
    with pytest.raises(NotFound):
        commentaartabel.export(db, 10**9, "docx")
    with pytest.raises(ValueError):
        commentaartabel.export(db, round_.id, "pdf")


def test_proposals_have_their_type_and_change_and_the_text_taken_over_when_it_differs(db):
    from workflows.domain import comments as processing

    network, coordinator, people = make_network(db, members=1)
    text = "Het contract duurt 60 maanden en wordt daarna verlengd."
    document, version = make_document(db, network, coordinator, text=text)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    block_id = version.blocks[0]["id"]

    def propose(words: str, new: str, kind: str, at: int | None = None):
        start = text.index(words) if at is None else at
        return rounds.add_comment(db, member, body="", block_id=block_id, start=start, end=start + len(words),
                                  selected=words, proposed_text=new, kind=kind)

    shorter = propose("60 maanden", "12 maanden", "technical")
    edited = propose("wordt daarna verlengd", "wordt daarna stilzwijgend verlengd", "editorial")
    inserted = propose("", " ten hoogste", "editorial", at=text.index(" 60"))
    dropped = propose("en wordt daarna verlengd", "", "technical")
    plain = rounds.add_comment(db, member, body="Wie betaalt?", block_id=None, kind="technical")
    processing.process_comment(db, shorter, disposition="overgenomen", answer="", actor=coordinator)
    processing.process_comment(db, edited, disposition="deels_overgenomen", answer="Zonder stilzwijgend.",
                               actor=coordinator, taken_text="wordt daarna ieder jaar verlengd")
    db.flush()

    rows = commentaartabel.rows_for_round(db, round_.id)
    assert [row.kind for row in rows] == ["inhoudelijk", "redactioneel", "redactioneel", "inhoudelijk", "inhoudelijk"]
    assert [row.proposal for row in rows] == [
        "«60 maanden» → «12 maanden»",  # taken as it is: nothing more to say
        "«wordt daarna verlengd» → «wordt daarna stilzwijgend verlengd»\n"
        "Overgenomen: «wordt daarna ieder jaar verlengd»",
        "invoegen: « ten hoogste»",
        "schrappen: «en wordt daarna verlengd»",
        "",
    ]
    assert [row.comment_id for row in rows] == [c.id for c in (shorter, edited, inserted, dropped, plain)]
    english = commentaartabel.rows_for_round(db, round_.id, locale="en")
    assert [row.kind for row in english][:2] == ["technical", "editorial"]
    assert english[1].proposal.endswith("\nTaken over: «wordt daarna ieder jaar verlengd»")
    assert english[2].proposal == "insert: « ten hoogste»" and english[3].proposal.startswith("delete: «")

    # Both downloads carry the two columns, read back by python-docx and openpyxl.
    _filename, _mimetype, data = commentaartabel.export(db, round_.id, "docx")
    table = docx.Document(io.BytesIO(data)).tables[0]
    type_column, change_column = DUTCH_HEADERS.index("Type"), DUTCH_HEADERS.index("Voorgestelde wijziging")
    assert [row.cells[type_column].text for row in table.rows[1:]] == [row.kind for row in rows]
    assert [row.cells[change_column].text for row in table.rows[1:]] == [row.proposal for row in rows]
    assert [p.text for p in table.rows[2].cells[change_column].paragraphs] == rows[1].proposal.split("\n")
    _filename, _mimetype, data = commentaartabel.export(db, round_.id, "xlsx", locale="en")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    values = [[cell.value or "" for cell in row] for row in sheet.iter_rows()]
    assert values[0][4:7] == ["Type", "Comment", "Proposed change"]
    assert [row[4] for row in values[1:]] == [row.kind for row in english]
    assert [row[6] for row in values[1:]] == [row.proposal for row in english]
