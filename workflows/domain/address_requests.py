"""Requests by email address (a sign-in link, a lost personal link): the page only writes one and answers; a worker
looks the address up and sends what is due, so the page does the same work whether the address is known or not."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.database.models import ADDRESS_REQUEST_PURPOSES, AddressRequest, utcnow
from workflows.domain import lost_links, rounds, signin
from workflows.domain.people import normalise_email

# The ids of the requests this transaction wrote; the outbound layer hands each to a worker after it commits.
PENDING_IDS = "akkoord_address_requests"


def record(session: Session, purpose: str, email: str) -> AddressRequest:
    """Write the request, whatever the address; nothing here may read or depend on who it belongs to."""
    if purpose not in ADDRESS_REQUEST_PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    row = AddressRequest(purpose=purpose, email=normalise_email(email), created_at=utcnow())
    session.add(row)
    session.flush()
    session.info.setdefault(PENDING_IDS, []).append(row.id)
    return row


def handle(session: Session, request_id: int) -> bool:
    """Look the address up and queue what it is due (a sign-in mail, fresh personal links, or nothing), and delete
    the request in the same transaction. Of two workers given the same request only the one whose DELETE removed
    it acts (the other's waits for it on PostgreSQL, then finds nothing). Returns whether this one acted."""
    row = session.execute(select(AddressRequest.purpose, AddressRequest.email)
                          .where(AddressRequest.id == request_id)).first()
    if row is None:
        return False
    if session.execute(delete(AddressRequest).where(AddressRequest.id == request_id)).rowcount != 1:
        return False
    if row.purpose == "sign_in":
        signin.request_sign_in(session, row.email)
    else:
        rounds.resend_links_for(session, row.email)
        lost_links.resend_links_for(session, row.email)
    return True


def forgotten(session: Session, before: dt.datetime, limit: int = 500) -> list[int]:
    """Requests written before `before` and still here: their job was lost (Redis away at commit, or wiped)."""
    return list(session.scalars(select(AddressRequest.id).where(AddressRequest.created_at < before)
                                .order_by(AddressRequest.id).limit(limit)))
