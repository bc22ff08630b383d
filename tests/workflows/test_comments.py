"""Processing comments: every comment gets a disposition and, when not taken over, an answer."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from storage.database.models import AuditEvent, Participant
from tests.factories import make_document, make_network, open_round, participant
from workflows.domain import comments, finalising, rounds
from workflows.errors import AlreadyFinal, InvalidInput


@pytest.fixture
def round_with_comments(db):
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    made = [rounds.add_comment(db, member, body=f"Opmerking {i}", block_id=None) for i in range(3)]
    return coordinator, document, version, round_, made


def test_processing_counts_and_is_audited(db, round_with_comments):
    coordinator, _document, _version, round_, made = round_with_comments
    assert comments.progress(db, round_.id) == comments.Progress(processed=0, total=3)
    comments.process_comment(db, made[0], disposition="overgenomen", answer="", actor=coordinator)
    comments.process_comment(db, made[1], disposition="niet_overgenomen", answer="Valt buiten dit document.",
                             actor=coordinator)
    assert comments.progress(db, round_.id) == comments.Progress(processed=2, total=3)
    assert made[1].processed_by_id == coordinator.id and made[1].processed_at is not None
    db.commit()  # events join the audit chain when their transaction commits
    events = db.scalars(select(AuditEvent.kind).where(AuditEvent.round_id == round_.id)).all()
    assert events.count("comment_processed") == 2


def test_not_taking_a_comment_over_needs_an_answer_and_unknown_dispositions_are_refused(db, round_with_comments):
    coordinator, _document, _version, _round, made = round_with_comments
    with pytest.raises(InvalidInput) as error:
        comments.process_comment(db, made[0], disposition="deels_overgenomen", answer=" ", actor=coordinator)
    assert error.value.code == "answer_required"
    with pytest.raises(InvalidInput):
        comments.process_comment(db, made[0], disposition="misschien", answer="", actor=coordinator)
    assert made[0].disposition is None


def test_the_database_refuses_a_disposition_without_a_processing_time(db, round_with_comments):
    *_, made = round_with_comments
    db.commit()
    with pytest.raises(IntegrityError):
        db.execute(text("UPDATE comments SET disposition = 'overgenomen' WHERE id = :id"), {"id": made[0].id})
    db.rollback()


def test_a_final_documents_comments_are_settled(db, round_with_comments):
    coordinator, document, version, round_, made = round_with_comments
    for voter in db.scalars(select(Participant).where(Participant.round_id == round_.id)):
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    finalising.finalise_document(db, document, version, actor=coordinator)
    with pytest.raises(AlreadyFinal):
        comments.process_comment(db, made[0], disposition="overgenomen", answer="", actor=coordinator)
