"""Rounds: invitations, verdicts, comments, closing, superseding (invariants 3, 5, 6, 7)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from storage.blocks import block_text
from storage.database.models import (
    AuditEvent,
    MailMessage,
    Participant,
    PersonalLink,
    Verdict,
    utcnow,
)
from tests.factories import make_document, make_network, open_round, participant
from workflows.domain import documents, finalising, rounds
from workflows.errors import (
    Conflict,
    InvalidInput,
    LinkInvalid,
    NotAllowed,
    RoundClosed,
)


def evidence():
    return rounds.Evidence(ip_address="192.0.2.1", user_agent="pytest")


def test_opening_a_round_invites_every_member_through_the_outbox(db):
    network, coordinator, people = make_network(db, members=3, observers=1)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    participants = db.scalars(select(Participant).where(Participant.round_id == round_.id)).all()
    assert len(participants) == 6  # coordinator, editor, 3 members, observer
    assert sum(not p.can_vote for p in participants) == 1
    invitations = db.scalars(select(MailMessage).where(MailMessage.round_id == round_.id)).all()
    assert sorted(m.person_id for m in invitations) == sorted(p.person_id for p in participants)
    assert {m.status for m in invitations} == {"pending"}
    assert document.status == "in_review"


def test_a_second_open_round_and_a_past_deadline_are_refused(db):
    network, coordinator, _ = make_network(db)
    document, _ = make_document(db, network, coordinator)
    with pytest.raises(InvalidInput) as error:
        rounds.open_round(db, document, deadline=utcnow() - dt.timedelta(hours=1), message="", actor=coordinator)
    assert error.value.code == "deadline_in_past"
    open_round(db, document, coordinator)
    with pytest.raises(Conflict) as error:
        open_round(db, document, coordinator)
    assert error.value.code == "round_already_open"


def test_niet_akkoord_needs_a_reason_and_observers_do_not_vote(db):
    network, coordinator, people = make_network(db, members=1, observers=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    observer = participant(db, round_, people[2])
    with pytest.raises(InvalidInput) as error:
        rounds.record_verdict(db, member, value="niet_akkoord", reason="  ", evidence=evidence())
    assert error.value.code == "reason_required"
    with pytest.raises(NotAllowed):
        rounds.record_verdict(db, observer, value="akkoord", reason="", evidence=evidence())
    with pytest.raises(InvalidInput):
        rounds.record_verdict(db, member, value="misschien", reason="", evidence=evidence())
    assert db.scalar(select(func.count()).select_from(Verdict).where(Verdict.round_id == round_.id)) == 0
    rounds.add_comment(db, observer, body="Mooi stuk", block_id=None)  # observers do comment


def test_the_last_verdict_counts_and_keeps_its_evidence(db):
    network, coordinator, people = make_network(db, members=1)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    first = rounds.record_verdict(db, member, value="niet_akkoord", reason="Artikel 2 ontbreekt", evidence=evidence())
    second = rounds.record_verdict(db, member, value="akkoord", reason="", evidence=evidence())
    assert member.current_verdict_id == second.id
    assert first.value == "niet_akkoord"  # history is kept
    assert second.content_hash == version.content_hash
    assert second.person_email == member.person.email and second.ip_address == "192.0.2.1"
    confirmations = db.scalars(select(MailMessage).where(MailMessage.email == "verdict_confirmation",
                                                            MailMessage.person_id == member.person_id)).all()
    assert len(confirmations) == 2


def test_verdicts_cannot_be_changed_or_deleted_in_the_database_but_erasure_may_blank_them(db):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    verdict = rounds.record_verdict(db, member, value="akkoord", reason="", evidence=evidence())
    db.commit()
    with pytest.raises(Exception, match="immutable"):
        db.execute(text("UPDATE verdicts SET value = 'niet_akkoord' WHERE id = :id"), {"id": verdict.id})
    db.rollback()
    # Erasure (AVG art. 17) may blank the personal evidence, and rename only whom it blanks; nothing else.
    for change in ("person_name = 'Verwijderde deelnemer 1'", "ip_address = '10.9.9.9'", "content_hash = 'x'",
                   "person_email = 'other@example.org'", "organisation_name = ''"):
        with pytest.raises(Exception, match="immutable"):
            db.execute(text(f"UPDATE verdicts SET {change} WHERE id = :id"), {"id": verdict.id})
        db.rollback()
    db.execute(text("UPDATE verdicts SET person_name = 'Verwijderde deelnemer 1', person_email = '', ip_address = '', "
                    "user_agent = '' WHERE id = :id"), {"id": verdict.id})
    db.commit()
    with pytest.raises(Exception, match="never deleted"):
        db.execute(text("DELETE FROM verdicts WHERE id = :id"), {"id": verdict.id})
    db.rollback()


def test_a_closed_round_takes_no_verdict_and_no_comment(db):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    rounds.close_round(db, round_, actor=coordinator)
    with pytest.raises(RoundClosed):
        rounds.record_verdict(db, member, value="akkoord", reason="", evidence=evidence())
    with pytest.raises(RoundClosed):
        rounds.add_comment(db, member, body="Te laat", block_id=None)
    with pytest.raises(RoundClosed):
        rounds.close_round(db, round_, actor=coordinator)


def test_a_new_version_supersedes_the_open_round_and_verdicts_do_not_carry_over(db):
    network, coordinator, people = make_network(db, members=1)
    document, v1 = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    for voter in db.scalars(select(Participant).where(Participant.round_id == round_.id)):
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=evidence())
    v2 = documents.upload_version(db, document, filename="v2.md", data=b"# Nieuw\n\nAndere tekst.", change_note="",
                                  actor=coordinator)
    assert round_.status == "superseded" and round_.close_reason == "superseded"
    assert all(s.approves for s in finalising.standings(db, document, v1))
    assert {s.state for s in finalising.standings(db, document, v2)} == {"not_invited"}
    round2 = open_round(db, document, coordinator)
    assert round2.version_id == v2.id
    assert {s.state for s in finalising.standings(db, document, v2)} == {"no_verdict"}


def test_comments_on_a_paragraph_quote_it_and_unknown_passages_are_refused(db):
    network, coordinator, people = make_network(db, members=1)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    paragraph = next(b for b in version.blocks if b["type"] == "paragraph")
    comment = rounds.add_comment(db, member, body="Graag concreter", block_id=paragraph["id"])
    assert comment.quote == paragraph["text"]
    with pytest.raises(InvalidInput):
        rounds.add_comment(db, member, body="x", block_id="b9999")
    with pytest.raises(InvalidInput):
        rounds.add_comment(db, member, body="   ", block_id=None)


def test_personal_links_are_hashed_bound_expiring_and_revocable(db):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    token = rounds.mint_link(db, member.id)
    assert len(token) >= 43  # 32 random bytes, url-safe base64: 256 bits
    assert db.scalar(select(func.count()).select_from(PersonalLink).where(PersonalLink.token_hash == token)) == 0
    link = rounds.use_link(db, token)
    assert link.participant_id == member.id
    assert member.first_opened_at is None and not db.dirty  # following a link writes nothing (a scanner does it too)
    assert rounds.note_opened(db, member) and member.first_opened_at is not None
    assert not rounds.note_opened(db, member)  # only the first use is the first
    with pytest.raises(LinkInvalid) as error:
        rounds.use_link(db, "not-a-token")
    assert error.value.code == "link_unknown"

    rounds.resend_link(db, member, actor=coordinator)
    with pytest.raises(LinkInvalid) as error:
        rounds.use_link(db, token)
    assert error.value.code == "link_revoked"

    fresh = rounds.mint_link(db, member.id)
    rounds.close_round(db, round_, actor=coordinator)
    rounds.use_link(db, fresh, now=utcnow() + dt.timedelta(days=29))  # still readable after closing
    with pytest.raises(LinkInvalid) as error:
        rounds.use_link(db, fresh, now=utcnow() + dt.timedelta(days=31))
    assert error.value.code == "link_expired"


def test_a_member_who_joins_during_a_round_is_added_and_invited_and_one_who_leaves_stops_counting(db):
    from workflows.domain import membership

    network, coordinator, people = make_network(db, members=1)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    newcomer = membership.add_member(db, network, name="Nieuw Lid", email="nieuw-lid@example.org",
                                     organisation_name="Apotheek", role="member", actor=coordinator)
    participant = db.scalar(select(Participant).where(Participant.round_id == round_.id,
                                                      Participant.person_id == newcomer.person_id))
    assert participant is not None
    assert db.scalar(select(MailMessage).where(MailMessage.email == "invitation",
                                                 MailMessage.person_id == newcomer.person_id)) is not None
    token = rounds.mint_link(db, participant.id)
    membership.remove_member(db, newcomer, actor=coordinator)
    with pytest.raises(LinkInvalid):
        rounds.use_link(db, token)
    assert newcomer.person_id not in [s.membership.person_id for s in finalising.standings(db, document, version)]
    db.commit()  # events join the audit chain when their transaction commits
    kinds = db.scalars(select(AuditEvent.kind).where(AuditEvent.network_id == network.id)).all()
    assert "participant_added" in kinds and "member_left" in kinds


def test_a_round_closes_by_itself_at_its_deadline(db):
    network, coordinator, _ = make_network(db)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator, days=1)
    assert not rounds.close_round_if_due(db, round_.id)
    assert rounds.close_round_if_due(db, round_.id, now=utcnow() + dt.timedelta(days=1, seconds=1))
    assert round_.status == "closed" and round_.close_reason == "deadline"


def test_word_comments_of_the_upload_can_be_brought_into_the_round_as_the_uploaders(db):
    from storage.database.models import Comment
    from tests.conftest import CORPUS
    from workflows.domain.versions import WORD_COMMENTS

    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    data = (CORPUS / "docx" / "11_comments_comments.docx").read_bytes()
    version = documents.upload_version(db, document, filename="opmerkingen.docx", data=data, change_note="",
                                       actor=coordinator)
    word_comments = version.findings[WORD_COMMENTS]
    assert len(word_comments) == version.findings["word_comments"] == 8
    assert all(c["block_id"] in {b["id"] for b in version.blocks} for c in word_comments if c["block_id"])
    round_ = rounds.open_round(db, document, deadline=utcnow() + dt.timedelta(days=7), message="", actor=coordinator,
                               bring_in_word_comments=True)
    comments = db.scalars(select(Comment).where(Comment.round_id == round_.id).order_by(Comment.id)).all()
    assert len(comments) == 8 and {c.person_id for c in comments} == {coordinator.id}
    assert comments[0].body.startswith(word_comments[0]["text"]) and "(Word)" in comments[0].body
    # A Word reply is a reply in its thread; a comment on marked text is on that text where it is found.
    replies = [c for c in comments if c.parent_id is not None]
    assert len(replies) == sum(c["parent"] is not None for c in word_comments) == 4
    assert all(next(x for x in comments if x.id == r.parent_id).parent_id is None for r in replies)
    by_index = dict(zip(range(len(word_comments)), comments))
    for index, word in enumerate(word_comments):
        comment = by_index[index]
        if word["parent"] is None and word["quote"] and comment.start_offset is not None:
            block = next(b for b in version.blocks if b["id"] == comment.block_id)
            assert block_text(block)[comment.start_offset:].startswith(comment.quote)
            assert comment.quote.split() == word["quote"].split()
    assert any(c.start_offset is not None for c in comments)

    other = documents.upload_version(db, document, filename="opnieuw.docx", data=data, change_note="", actor=coordinator)
    second = rounds.open_round(db, document, deadline=utcnow() + dt.timedelta(days=7), message="", actor=coordinator)
    assert other.findings[WORD_COMMENTS] and db.scalar(
        select(func.count()).select_from(Comment).where(Comment.round_id == second.id)) == 0
