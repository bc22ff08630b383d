"""What to send to whom: outbox items written in the caller's transaction (the decision and its record commit
together), handed to the workers after it commits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.database.models import MailMessage, OutboxItem, Person, utcnow

# The emails Akkoord sends; each has templates/emails/<name>/{subject.txt,body.txt,body.html}
# and a function in workflows.outbound.emails that returns its variables at delivery time.
EMAILS = ("sign_in", "invitation", "verdict_confirmation", "final_document", "reminder", "deadline_extended",
          "round_summary", "round_outcome", "substitution_named", "substitute_named", "substitute_invitation",
          "substitute_verdict", "substitution_ended", "organisation_left", "substitute_reminder", "round_superseded",
          "meeting_invitation", "meeting_reminder", "meeting_cancelled", "action_point", "action_reminder",
          "meeting_links")

# The (channel, id) of the outbox items this transaction made due; handed to the workers after it commits.
PENDING_IDS = "akkoord_outbox_ids"


def hand_over(session: Session, items: Iterable[OutboxItem]) -> None:
    """Have the workers take these items once (and only if) the transaction commits."""
    session.info.setdefault(PENDING_IDS, []).extend((item.channel, item.id) for item in items)


@dataclass(frozen=True)
class Recipient:
    """One mail of a kind: to whom, under which idempotency key, with which parameters."""

    person: Person
    key: str
    params: dict


def queue_emails(session: Session, email: str, recipients: list[Recipient], *, network_id: int | None = None,
                 round_id: int | None = None, held: bool = False) -> list[MailMessage]:
    """Write one mail per recipient into the outbox, skipping keys already there, flushed together (a round for
    1,000 members commits in well under 2 s). `held`: not due until something it needs exists (`release`)."""
    if email not in EMAILS:
        raise ValueError(f"unknown email {email!r}")
    keys = [r.key for r in recipients]
    existing = {m.idempotency_key: m for start in range(0, len(keys), 500) for m in session.scalars(
        select(MailMessage).where(MailMessage.idempotency_key.in_(keys[start:start + 500])))}
    now = utcnow()
    made = [MailMessage(idempotency_key=r.key, email=email, person_id=r.person.id, to_address=r.person.email,
                        locale=r.person.locale, network_id=network_id, round_id=round_id, params=r.params,
                        status="pending", attempts=0, next_attempt_at=None if held else now, created_at=now)
            for r in recipients if r.key not in existing]
    session.add_all(made)
    session.flush()
    if not held:
        hand_over(session, made)
    by_key = existing | {m.idempotency_key: m for m in made}
    return [by_key[r.key] for r in recipients]


def queue_email(session: Session, email: str, person: Person, *, key: str, network_id: int | None = None,
                round_id: int | None = None, held: bool = False, **params) -> MailMessage:
    """Write the email into the outbox unless one with this idempotency key exists (then return that one)."""
    return queue_emails(session, email, [Recipient(person, key, params)], network_id=network_id, round_id=round_id,
                        held=held)[0]


def release(session: Session, items: list[OutboxItem]) -> None:
    """Held items become due now."""
    held = [item for item in items if item.status == "pending" and item.next_attempt_at is None]
    for item in held:
        item.next_attempt_at = utcnow()
    session.flush()
    hand_over(session, held)


def send_again(session: Session, item: OutboxItem) -> OutboxItem:
    """A failed or cancelled item gets a fresh set of attempts, due now (a person asked for it)."""
    item.status, item.attempts, item.next_attempt_at = "pending", 0, utcnow()
    item.failure, item.last_error = None, ""
    if isinstance(item, MailMessage):
        item.to_address = session.get(Person, item.person_id).email  # perhaps corrected since
    session.flush()
    hand_over(session, [item])
    return item
