"""Proposals: members propose wording for a span of a passage; the project group takes it as it is or edited,
at most one proposal on the same words; the draft next version has the wording taken as tracked changes."""

from __future__ import annotations

import io

import docx
import pytest
from sqlalchemy import func, select

from storage.blocks import block_text
from storage.database.models import Comment
from tests.factories import make_document, make_network, open_round, participant
from tests.storage.tracked_changes import W, accepted, document_xml, rejected
from workflows.domain import comments, proposals, rounds
from workflows.errors import Conflict, InvalidInput

PASSAGE = "De partijen werken samen aan goede zorg voor mensen met een zeldzame aandoening."


@pytest.fixture
def review(db):
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    block = next(b for b in version.blocks if block_text(b) == PASSAGE)
    members = [participant(db, round_, people[1]), participant(db, round_, people[2])]
    return coordinator, document, version, round_, block["id"], members, people


def propose(db, member, block_id, words: str, text: str, **extra) -> Comment:
    start = PASSAGE.index(words)
    return rounds.add_comment(db, member, body=extra.pop("body", ""), block_id=block_id, start=start,
                              end=start + len(words), selected=words, proposed_text=text, **extra)


# Proposing ---------------------------------------------------------------------------------------------------


def test_a_proposal_replaces_the_selected_words_and_needs_no_reason(db, review):
    *_, block_id, members, _people = review
    proposal = propose(db, members[0], block_id, "goede zorg", "passende zorg", kind="editorial")

    assert (proposal.quote, proposal.proposed_text, proposal.kind) == ("goede zorg", "passende zorg", "editorial")
    assert proposals.span(proposal) == (PASSAGE.index("goede zorg"), PASSAGE.index("goede zorg") + 10)
    assert proposal.body == "" and proposal.is_proposal


def test_a_proposal_for_the_whole_passage_and_one_that_inserts(db, review):
    *_, block_id, members, _people = review
    whole = rounds.add_comment(db, members[0], body="Korter graag.", block_id=block_id,
                               proposed_text="Partijen werken samen aan zorg.")
    at = PASSAGE.index(" aan")
    insert = rounds.add_comment(db, members[1], body="", block_id=block_id, start=at, end=at,
                                proposed_text=" nauw")

    assert proposals.span(whole) == (0, len(PASSAGE)) and whole.quote == PASSAGE
    assert proposals.span(insert) == (at, at) and insert.quote == ""


@pytest.mark.parametrize(("arguments", "code"), [
    ({"block_id": None, "proposed_text": "x"}, "proposal_needs_passage"),
    ({"kind": "urgent", "proposed_text": "x"}, "unknown_comment_kind"),
    ({"start": 4, "end": 12, "selected": "partijen", "proposed_text": "partijen"}, "proposal_unchanged"),
    ({"start": 4, "end": 12, "selected": "partijen", "proposed_text": "a\x07b"}, "text_control_characters"),
    ({"start": 4, "end": 12, "selected": "partijen", "proposed_text": "x" * 5_001}, "too_long"),
    ({"start": 500, "end": 500, "proposed_text": "x"}, "selection_not_found"),
])
def test_proposals_that_do_not_fit_are_refused_and_change_nothing(db, review, arguments, code):
    *_, round_, block_id, members, _people = review
    arguments = {"block_id": block_id, **arguments}
    before = db.scalar(select(func.count(Comment.id)).where(Comment.round_id == round_.id))
    with pytest.raises(InvalidInput) as refused:
        rounds.add_comment(db, members[0], body="", **arguments)
    assert refused.value.code == code
    assert db.scalar(select(func.count(Comment.id)).where(Comment.round_id == round_.id)) == before


def test_only_text_takes_a_proposal_not_a_table(db):
    network, coordinator, people = make_network(db, members=1)
    _document, version = make_document(db, network, coordinator, text=(
        "Tarieven:\n\n| Taak | Uren |\n| --- | --- |\n| Overleg | 12 |\n"))
    round_ = open_round(db, _document, coordinator)
    member = participant(db, round_, people[1])
    table = next(b for b in version.blocks if b["type"] == "table")
    with pytest.raises(InvalidInput) as refused:
        rounds.add_comment(db, member, body="", block_id=table["id"], proposed_text="Overleg | 6")
    assert refused.value.code == "proposal_not_text"
    # A comment on the table that proposes no wording is still welcome.
    assert rounds.add_comment(db, member, body="Liever 6 uur.", block_id=table["id"]).proposed_text is None


def test_a_comment_without_wording_still_needs_its_text(db, review):
    *_, block_id, members, _people = review
    with pytest.raises(InvalidInput) as refused:
        rounds.add_comment(db, members[0], body=" ", block_id=block_id)
    assert refused.value.code == "comment_required"


# Taking wording -----------------------------------------------------------------------------------------------


def test_overgenomen_takes_the_wording_as_it_is_and_deels_the_edited_wording(db, review):
    coordinator, *_, block_id, members, _people = review
    as_is = propose(db, members[0], block_id, "goede zorg", "passende zorg")
    edited = propose(db, members[1], block_id, "zeldzame aandoening", "zeldzame ziekte")
    comments.process_comment(db, as_is, disposition="overgenomen", answer="", actor=coordinator)
    comments.process_comment(db, edited, disposition="deels_overgenomen", answer="Zo iets korter.",
                             actor=coordinator, taken_text="zeldzame of complexe ziekte")

    assert as_is.taken_text == "passende zorg"
    assert edited.taken_text == "zeldzame of complexe ziekte"
    comments.process_comment(db, edited, disposition="niet_overgenomen", answer="Toch niet.", actor=coordinator)
    assert edited.taken_text is None


def test_a_comment_without_wording_takes_none(db, review):
    coordinator, *_, block_id, members, _people = review
    plain = rounds.add_comment(db, members[0], body="Mooi.", block_id=block_id)
    with pytest.raises(InvalidInput) as refused:
        comments.process_comment(db, plain, disposition="deels_overgenomen", answer="Deels.", actor=coordinator,
                                 taken_text="iets")
    assert refused.value.code == "not_a_proposal" and plain.disposition is None


def test_of_proposals_on_the_same_words_at_most_one_is_taken(db, review):
    coordinator, _document, _version, round_, block_id, members, _people = review
    first = propose(db, members[0], block_id, "goede zorg", "passende zorg")
    second = propose(db, members[1], block_id, "zorg voor mensen", "ondersteuning voor mensen")
    elsewhere = propose(db, members[1], block_id, "zeldzame", "zeer zeldzame")

    assert proposals.collisions(db, round_.id) == {first.id: [second.id], second.id: [first.id]}
    comments.process_comment(db, first, disposition="overgenomen", answer="", actor=coordinator)
    with pytest.raises(Conflict) as refused:
        comments.process_comment(db, second, disposition="overgenomen", answer="", actor=coordinator)
    assert refused.value.code == "proposal_collision"
    assert refused.value.params["number"] == comments.numbered(db, round_.id).index(first.id) + 1
    assert second.disposition is None and second.taken_text is None

    # Choosing: the first is not taken after all, so the second can be.
    comments.process_comment(db, first, disposition="niet_overgenomen", answer="Wij kiezen de ander.",
                             actor=coordinator)
    comments.process_comment(db, second, disposition="overgenomen", answer="", actor=coordinator)
    comments.process_comment(db, elsewhere, disposition="overgenomen", answer="", actor=coordinator)
    assert {p.id for p in proposals.of_round(db, round_.id) if p.taken_text is not None} == {second.id, elsewhere.id}


@pytest.mark.parametrize(("a", "b", "collide"), [
    ((0, 5), (5, 9), False), ((0, 5), (4, 9), True), ((3, 3), (3, 3), True), ((3, 3), (0, 3), False),
    ((3, 3), (3, 6), False), ((4, 4), (3, 6), True), ((0, 9), (2, 4), True),
])
def test_which_spans_are_the_same_words(a, b, collide):
    assert proposals.same_words(a, b) is collide
    assert proposals.same_words(b, a) is collide


# The draft next version ----------------------------------------------------------------------------------------


def test_the_draft_has_the_taken_wording_as_changes_by_the_members_who_proposed_it(db, review):
    coordinator, document, version, round_, block_id, members, people = review
    first = propose(db, members[0], block_id, "goede zorg", "passende zorg")
    second = propose(db, members[1], block_id, "zeldzame aandoening", "zeldzame ziekte")
    not_taken = rounds.add_comment(db, members[1], body="", block_id=block_id, start=0, end=0, proposed_text="Alle ")
    comments.process_comment(db, first, disposition="overgenomen", answer="", actor=coordinator)
    comments.process_comment(db, second, disposition="deels_overgenomen", answer="Iets ruimer geformuleerd.",
                             actor=coordinator, taken_text="zeldzame of complexe aandoening")
    comments.process_comment(db, not_taken, disposition="niet_overgenomen", answer="Niet nodig.", actor=coordinator)

    filename, data = proposals.draft_docx(db, round_)

    assert filename.endswith("_v2_concept.docx")
    expected = PASSAGE.replace("goede zorg", "passende zorg").replace("zeldzame aandoening",
                                                                      "zeldzame of complexe aandoening")
    after = [block_text(b) for b in accepted(data)]
    assert expected in after and PASSAGE not in after
    assert PASSAGE in [block_text(b) for b in rejected(data)]
    authors = {e.get(W + "author") for e in document_xml(data).iter(W + "ins", W + "del")}
    assert authors == {people[1].name, people[2].name}
    (word_comment,) = list(docx.Document(io.BytesIO(data)).comments)
    assert word_comment.text == "Iets ruimer geformuleerd."
    assert word_comment.author == coordinator.name
