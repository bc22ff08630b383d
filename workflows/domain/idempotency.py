"""How long a stored answer to an API write with an Idempotency-Key is kept: a client retries within minutes,
so a day is ample; after it the same key is a new request."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.orm import Session

from storage.database.models import IdempotencyRecord, utcnow

KEEP = dt.timedelta(hours=24)


def oldest_kept(now: dt.datetime | None = None) -> dt.datetime:
    return (now or utcnow()) - KEEP


def expire(session: Session, now: dt.datetime | None = None) -> int:
    """Forget the answers older than KEEP; the number forgotten."""
    return session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < oldest_kept(now))).rowcount
