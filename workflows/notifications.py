"""What to send to whom: outbox rows written in the caller's transaction, delivered after commit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import OutboxMessage, Person

# The emails Akkoord sends; each has templates/emails/<name>/{subject.txt,body.txt,body.html}
# and a function in workflows.emails that returns its variables at delivery time.
EMAILS = ("sign_in", "invitation", "verdict_confirmation", "final_document", "reminder", "deadline_extended",
          "round_summary", "round_outcome")

PENDING_IDS = "akkoord_outbox_ids"  # read by workflows.jobs after commit


def queue_email(session: Session, email: str, person: Person, *, key: str, network_id: int | None = None,
                round_id: int | None = None, **params) -> OutboxMessage:
    """Write the email into the outbox unless one with this idempotency key exists (then return that one)."""
    if email not in EMAILS:
        raise ValueError(f"unknown email {email!r}")
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    if existing is not None:
        return existing
    message = OutboxMessage(
        idempotency_key=key, email=email, person_id=person.id, to_address=person.email,
        locale=person.locale, network_id=network_id, round_id=round_id, params=params,
    )
    session.add(message)
    session.flush()
    session.info.setdefault(PENDING_IDS, []).append(message.id)
    return message
