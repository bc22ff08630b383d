"""The audit trail: every state change is an event in its network's hash chain."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import lock
from storage.models import AuditEvent, Network, utcnow

GENESIS = "0" * 64


def record(session: Session, network_id: int, kind: str, *, actor_id: int | None = None,
           document_id: int | None = None, round_id: int | None = None, **data) -> AuditEvent:
    # The network row lock orders concurrent writers so the chain never forks.
    lock(session, Network, network_id)
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.network_id == network_id)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS)
    event = AuditEvent(
        network_id=network_id, seq=seq, kind=kind, actor_id=actor_id, document_id=document_id,
        round_id=round_id, data=data, created_at=utcnow(), prev_hash=prev_hash,
    )
    event.hash = event_hash(event)
    session.add(event)
    session.flush()
    from workflows import webhooks  # webhooks records audit events of its own

    webhooks.emit(session, event)  # the events webhooks receive are written in this same transaction
    return event


def event_hash(event: AuditEvent) -> str:
    body = {
        "network_id": event.network_id, "seq": event.seq, "kind": event.kind, "actor_id": event.actor_id,
        "document_id": event.document_id, "round_id": event.round_id, "data": event.data,
        "created_at": event.created_at.isoformat(), "prev_hash": event.prev_hash,
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
    for event in events:
        if event.seq != expected_seq or event.prev_hash != expected_prev or event.hash != event_hash(event):
            broken.append(event.seq)
        expected_prev, expected_seq = event.hash, event.seq + 1
    return broken
