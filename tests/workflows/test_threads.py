"""Comments on selected text, reply threads, and rounds whose comments only the project group sees."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from storage.blocks import block_text
from storage.database.models import AuditEvent, Comment, Round, utcnow
from tests.factories import make_document, make_network, open_round, participant
from workflows.domain import commentaartabel, comments, finalising, rounds
from workflows.errors import AlreadyFinal, InvalidInput, NotAllowed, RoundClosed
from workflows.text.anchoring import locate_selection

TEXT = "De partijen werken samen aan goede zorg voor mensen met een zeldzame aandoening."


# --- Locating a selection ------------------------------------------------------------------------

def test_a_selection_whose_offsets_hold_its_text_is_taken_as_it_is():
    start = TEXT.index("goede zorg")
    assert locate_selection(TEXT, start, start + len("goede zorg"), "goede zorg") == (start, start + 10)


def test_a_selection_is_trimmed_of_white_space_around_it():
    start = TEXT.index(" goede zorg ")
    assert locate_selection(TEXT, start, start + len(" goede zorg "), " goede zorg ") == (start + 1, start + 11)


def test_offsets_that_miss_the_text_are_corrected_to_the_nearest_occurrence_of_the_selected_words():
    text = "zorg en zorg en nog eens zorg"
    # The browser counted two characters too few (say, a label it should have skipped): the nearest "zorg" wins.
    assert locate_selection(text, 6, 10, "zorg") == (8, 12)
    assert locate_selection(text, 24, 28, "zorg") == (25, 29)


def test_white_space_in_a_selection_matches_any_white_space_in_the_text():
    table_text = "Partij\tRol\nVereniging\tervaringskennis"
    # A browser copies a selection across table cells with its own line breaks and spaces.
    assert locate_selection(table_text, 0, 0, "Rol \n Vereniging") == (7, 21)


def test_a_selection_not_in_the_passage_is_refused():
    assert locate_selection(TEXT, 0, 5, "ongeneeslijk") is None
    assert locate_selection(TEXT, 5, 5, "") is None
    assert locate_selection(TEXT, 0, len(TEXT) + 10, "") is None
    assert locate_selection(TEXT, 3, 6, "   ") is None


# --- Comments on a span ---------------------------------------------------------------------------

@pytest.fixture
def setting(db):
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    paragraph = next(b for b in version.blocks if "zeldzame" in block_text(b))
    return network, coordinator, people, document, version, round_, paragraph


def test_a_comment_on_selected_words_keeps_exactly_those_words_their_offset_and_context(db, setting):
    network, coordinator, people, document, version, round_, paragraph = setting
    member = participant(db, round_, people[1])
    text = block_text(paragraph)
    start = text.index("goede zorg")
    comment = rounds.add_comment(db, member, body="Wat is goed?", block_id=paragraph["id"], start=start,
                                 end=start + len("goede zorg"), selected="goede zorg")
    assert (comment.quote, comment.start_offset) == ("goede zorg", start)
    assert text[:start].endswith(comment.context_before) and text[start + 10:].startswith(comment.context_after)
    assert comment.context_before and comment.context_after


def test_a_comment_on_a_whole_passage_has_no_offset_and_quotes_its_beginning(db, setting):
    network, coordinator, people, document, version, round_, paragraph = setting
    comment = rounds.add_comment(db, participant(db, round_, people[1]), body="Prima", block_id=paragraph["id"])
    assert comment.start_offset is None and block_text(paragraph).startswith(comment.quote)


def test_a_selection_not_in_the_passage_gets_a_clear_refusal_and_saves_nothing(db, setting):
    network, coordinator, people, document, version, round_, paragraph = setting
    member = participant(db, round_, people[1])
    before = db.scalar(select(func.count(Comment.id)))
    with pytest.raises(InvalidInput) as refused:
        rounds.add_comment(db, member, body="Hm", block_id=paragraph["id"], start=0, end=4, selected="huisarts")
    assert refused.value.code == "selection_not_found"
    with pytest.raises(InvalidInput):
        rounds.add_comment(db, member, body="Hm", block_id=paragraph["id"], start=40, end=10)
    assert db.scalar(select(func.count(Comment.id))) == before


# --- Threads -------------------------------------------------------------------------------------

def test_members_and_the_project_group_reply_in_one_thread(db, setting):
    network, coordinator, people, document, version, round_, paragraph = setting
    first, second = participant(db, round_, people[1]), participant(db, round_, people[2])
    comment = rounds.add_comment(db, first, body="Artikel 1 is te vaag.")
    reply = rounds.add_reply(db, comment.id, body="Eens, graag concreter.", participant=second)
    answer = rounds.add_reply(db, reply.id, body="We passen het aan.", staff=people[0].person)  # the editor
    # A reply to a reply joins the thread of the comment.
    assert reply.parent_id == answer.parent_id == comment.id
    assert answer.participant_id is None and answer.person_id == people[0].person_id
    db.commit()  # events join the audit chain when their transaction commits
    kinds = db.scalars(select(AuditEvent.kind).where(AuditEvent.round_id == round_.id)).all()
    assert kinds.count("comment_replied") == 2


def test_replies_are_not_counted_processed_or_tabled_as_comments(db, setting):
    network, coordinator, people, document, version, round_, paragraph = setting
    first = participant(db, round_, people[1])
    comment = rounds.add_comment(db, first, body="Artikel 1 is te vaag.")
    reply = rounds.add_reply(db, comment.id, body="Toelichting op mijn commentaar.", participant=first)
    assert comments.progress(db, round_.id).total == 1
    assert [row.comment for row in commentaartabel.rows_for_round(db, round_.id)] == ["Artikel 1 is te vaag."]
    with pytest.raises(InvalidInput) as refused:
        comments.process_comment(db, reply, disposition="overgenomen", answer="", actor=coordinator)
    assert refused.value.code == "reply_not_processed" and reply.disposition is None
    rounds.close_round(db, round_, actor=coordinator)
    assert rounds.summary(db, round_).comments == 1


def test_a_member_replies_only_while_the_round_is_open_the_project_group_until_final(db, setting):
    network, coordinator, people, document, version, round_, paragraph = setting
    first = participant(db, round_, people[1])
    comment = rounds.add_comment(db, first, body="Artikel 1 is te vaag.")
    rounds.close_round(db, round_, actor=coordinator)
    with pytest.raises(RoundClosed):
        rounds.add_reply(db, comment.id, body="Nog iets", participant=first)
    rounds.add_reply(db, comment.id, body="Verwerkt in versie 2.", staff=coordinator)
    with pytest.raises(NotAllowed):  # a member is not the project group
        rounds.add_reply(db, comment.id, body="Ik ook", staff=people[1].person)


def test_no_reply_once_the_document_is_final(db):
    network, coordinator, people = make_network(db, members=0, editors=0)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    me = participant(db, round_, finalising_membership(db, network, coordinator))
    comment = rounds.add_comment(db, me, body="Een laatste punt.")
    rounds.record_verdict(db, me, value="akkoord", reason="", evidence=rounds.Evidence())
    finalising.finalise_document(db, document, version, actor=coordinator)
    with pytest.raises(AlreadyFinal):
        rounds.add_reply(db, comment.id, body="Te laat", staff=coordinator)


def finalising_membership(db, network, person):
    from workflows.domain.membership import active_membership

    return active_membership(db, network.id, person.id)


def test_an_empty_reply_or_one_to_a_comment_of_another_round_is_refused(db, setting):
    network, coordinator, people, document, version, round_, paragraph = setting
    first = participant(db, round_, people[1])
    comment = rounds.add_comment(db, first, body="Artikel 1 is te vaag.")
    with pytest.raises(InvalidInput):
        rounds.add_reply(db, comment.id, body="   ", participant=first)
    other_document, _ = make_document(db, network, coordinator)
    other_round = open_round(db, other_document, coordinator)
    with pytest.raises(InvalidInput) as refused:
        rounds.add_reply(db, comment.id, body="Verkeerde ronde", participant=participant(db, other_round, people[1]))
    assert refused.value.code == "unknown_comment"
    with pytest.raises(InvalidInput):
        rounds.add_reply(db, 10**9, body="Bestaat niet", staff=coordinator)


# --- Who sees the comments ------------------------------------------------------------------------

def test_in_a_project_group_round_a_member_sees_and_answers_only_their_own_threads(db):
    network, coordinator, people = make_network(db, members=2)
    document, _ = make_document(db, network, coordinator)
    round_ = rounds.open_round(db, document, deadline=utcnow() + dt.timedelta(days=7), message="",
                               actor=coordinator, comment_visibility="group")
    first, second = participant(db, round_, people[1]), participant(db, round_, people[2])
    editor = participant(db, round_, people[0])
    mine = rounds.add_comment(db, first, body="Concurrentiegevoelig punt van A.")
    theirs = rounds.add_comment(db, second, body="Punt van B.")
    answer = rounds.add_reply(db, mine.id, body="Dank, A.", staff=coordinator)

    def seen_by(person_id):
        return set(db.scalars(select(Comment.id).where(Comment.round_id == round_.id,
                                                       comments.own_threads(person_id))))

    assert seen_by(people[1].person_id) == {mine.id, answer.id}
    assert seen_by(people[2].person_id) == {theirs.id}
    assert rounds.can_see_thread(round_, mine, people[1].person_id, is_staff=False)
    assert not rounds.can_see_thread(round_, mine, people[2].person_id, is_staff=False)
    assert rounds.can_see_thread(round_, theirs, people[0].person_id, is_staff=True)
    with pytest.raises(InvalidInput):  # B cannot reply in (or learn of) A's thread
        rounds.add_reply(db, mine.id, body="Ik zie dit niet", participant=second)
    rounds.add_reply(db, theirs.id, body="Het projectgroeplid antwoordt", participant=editor)


def test_a_round_with_an_unknown_visibility_is_not_opened(db):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    with pytest.raises(InvalidInput) as refused:
        rounds.open_round(db, document, deadline=utcnow() + dt.timedelta(days=7), message="", actor=coordinator,
                          comment_visibility="iedereen")
    assert refused.value.code == "unknown_visibility"
    assert db.scalar(select(func.count(Round.id)).where(Round.document_id == document.id)) == 0
