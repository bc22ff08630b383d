"""The audit trail is a hash chain per network: a changed or deleted event is detected (invariant 8)."""

from __future__ import annotations

from sqlalchemy import func, select, text

from storage.database.models import AuditEvent
from tests.factories import make_document, make_network, open_round
from workflows.audit import record, verify_chain


def test_every_state_change_is_in_an_intact_chain_and_tampering_is_detected(db):
    network, coordinator, _ = make_network(db, members=2)
    document, _ = make_document(db, network, coordinator)
    open_round(db, document, coordinator)
    db.commit()  # events join the audit chain when their transaction commits
    kinds = db.scalars(select(AuditEvent.kind).where(AuditEvent.network_id == network.id).order_by(AuditEvent.seq)).all()
    assert kinds[0] == "network_created"
    assert {"member_joined", "document_created", "version_uploaded", "round_opened"} <= set(kinds)
    assert verify_chain(db, network.id) == []
    db.commit()

    third = db.scalar(select(AuditEvent).where(AuditEvent.network_id == network.id, AuditEvent.seq == 3))
    db.execute(text("UPDATE audit_events SET data = :d WHERE id = :id"), {"d": '{"role": "coordinator"}', "id": third.id})
    db.expire_all()
    assert verify_chain(db, network.id) == [3]
    db.rollback()

    db.execute(text("DELETE FROM audit_events WHERE network_id = :n AND seq = 2"), {"n": network.id})
    db.expire_all()
    assert 3 in verify_chain(db, network.id)
    db.rollback()


def test_an_event_of_a_rolled_back_transaction_is_forgotten_even_before_any_write(app):
    """An event is recorded before anything was written (only an attribute changed, say); a rollback then forgets
    it, and a later commit of the same session does not write it."""
    factory = app.extensions["akkoord_sessions"]
    with factory() as session:
        network, _coordinator, _ = make_network(session, members=0, editors=0)
        session.commit()
        before = session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.network_id == network.id))
        record(session, network.id, "ghost_event")
        session.rollback()
        session.commit()
        after = session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.network_id == network.id))
    assert after == before
