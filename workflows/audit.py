"""The audit trail: every state change is an event in its network's hash chain. Events are written when their
transaction commits, under a lock on the chain's head taken last of all locks, and the layers above subscribe to
them (webhooks, scheduled jobs) instead of the rules calling up into those layers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from storage.database.models import AuditChain, AuditEvent, utcnow

GENESIS = "0" * 64
PENDING = "akkoord_audit_pending"  # the transaction's events, in the order they were recorded

Subscriber = Callable[[Session, AuditEvent], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> None:
    """Call `subscriber(session, event)` for every event, inside the transaction that records it, once the event
    has its place in the chain; what it writes commits (or rolls back) with the event."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def record(session: Session, network_id: int, kind: str, *, actor_id: int | None = None,
           document_id: int | None = None, round_id: int | None = None, **data) -> AuditEvent:
    """Note a state change; it joins the chain when the transaction commits (see `write_pending`)."""
    entry = AuditEvent(network_id=network_id, kind=kind, actor_id=actor_id, document_id=document_id,
                       round_id=round_id, data=data, created_at=utcnow())
    # The event belongs to the transaction: begin it if nothing has yet, so that rolling it back (which fires
    # after_rollback only for a transaction that began) forgets the event too.
    session.connection()
    session.info.setdefault(PENDING, []).append(entry)
    return entry


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_pending(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


def write_pending(session: Session) -> list[AuditEvent]:
    """Chain the transaction's events: lock each network's chain head (in network order, after every other lock
    the transaction took), number and hash the events, then let the subscribers act on them."""
    written: list[AuditEvent] = []
    while pending := session.info.pop(PENDING, []):
        network_ids = sorted({entry.network_id for entry in pending})
        heads = {head.network_id: head for head in session.scalars(
            select(AuditChain).where(AuditChain.network_id.in_(network_ids)).order_by(AuditChain.network_id)
            .with_for_update().execution_options(populate_existing=True))}
        for network_id in network_ids:
            if network_id not in heads:  # a network made in this transaction: nobody else can see it yet
                heads[network_id] = AuditChain(network_id=network_id, seq=0, hash=GENESIS)
                session.add(heads[network_id])
        for entry in pending:
            head = heads[entry.network_id]
            entry.seq, entry.prev_hash = head.seq + 1, head.hash
            entry.hash = event_hash(entry)
            head.seq, head.hash = entry.seq, entry.hash
            session.add(entry)
        session.flush()
        for entry in pending:
            for subscriber in _subscribers:
                subscriber(session, entry)
        written.extend(pending)
    return written


def event_hash(entry: AuditEvent) -> str:
    body = {
        "network_id": entry.network_id, "seq": entry.seq, "kind": entry.kind, "actor_id": entry.actor_id,
        "document_id": entry.document_id, "round_id": entry.round_id, "data": entry.data,
        "created_at": entry.created_at.isoformat(), "prev_hash": entry.prev_hash,
    }
    encoded = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def verify_chain(session: Session, network_id: int) -> list[int]:
    """Return the seq numbers where the chain is broken (changed, inserted or deleted events); [] if intact."""
    broken = []
    expected_prev, expected_seq = GENESIS, 1
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.network_id == network_id).order_by(AuditEvent.seq)
    )
    for entry in events:
        if entry.seq != expected_seq or entry.prev_hash != expected_prev or entry.hash != event_hash(entry):
            broken.append(entry.seq)
        expected_prev, expected_seq = entry.hash, entry.seq + 1
    # An event removed from the end leaves the chain intact but shorter than its head says.
    head = session.get(AuditChain, network_id)
    if head is not None and head.seq != expected_seq - 1:
        broken.append(expected_seq)
    return broken
