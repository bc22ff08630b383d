"""Deadlines and reminders: who still owes a verdict is reminded on a schedule, at most three times a round.

The periodic tick calls `send_due`; whether a reminder went out is the outbox itself (one idempotency key
per round, slot and person), so a tick that runs twice, or late, sends nothing twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from storage.database.engine import lock
from storage.database.models import MailMessage, Participant, Person, Round, utcnow
from workflows import audit
from workflows.domain import decisions, substitutes
from workflows.domain.notifications import Recipient, queue_emails
from workflows.domain.wording import TIMEZONE
from workflows.errors import Conflict, InvalidInput, RoundClosed

MAX_REMINDERS = 3
MORNING = dt.time(8, 0)  # "on its morning": 08:00 Dutch time on the deadline's day
DAY_TIME = dt.time(9, 0)  # earlier reminders at the start of the working day


def slot_time(deadline: dt.datetime, days_before: int) -> dt.datetime:
    local_day = deadline.astimezone(TIMEZONE).date() - dt.timedelta(days=days_before)
    at = MORNING if days_before == 0 else DAY_TIME
    return dt.datetime.combine(local_day, at, tzinfo=TIMEZONE).astimezone(dt.UTC)


def reminders_sent(session: Session, round_id: int) -> int:
    """How many reminders this round has had (a reminder is one slot, whatever the number of mails)."""
    return session.scalar(reminders_sent_query(round_id)) or 0


def reminders_sent_query(round_id: int):
    """`reminders_sent` as a query, for a page that reads it together with other figures."""
    return (select(func.count(distinct(MailMessage.params["slot"].as_string())))
            .where(MailMessage.round_id == round_id, MailMessage.email == "reminder"))


def _slot_used(session: Session, round_id: int, slot: str) -> bool:
    return session.scalar(
        select(MailMessage.id).where(MailMessage.round_id == round_id, MailMessage.email == "reminder",
                                       MailMessage.params["slot"].as_string() == slot).limit(1)
    ) is not None


def _remind(session: Session, round_: Round, slot: str, now: dt.datetime | None = None) -> int:
    """Queue one reminder to every voter of the round without a verdict (per organisation: to the representatives
    of each organisation without one), and to the substitute of each of them who is away now; returns how many."""
    undecided = decisions.undecided(session, round_)
    queue_emails(session, "reminder", [
        Recipient(p.person, f"reminder:{round_.id}:{slot}:{p.id}", {"participant_id": p.id, "slot": slot})
        for p in undecided], network_id=round_.document.network_id, round_id=round_.id)
    return len(undecided) + substitutes.remind(session, round_, undecided, slot, now=now)


def due_slot(round_: Round, now: dt.datetime) -> str | None:
    """The latest reminder slot whose time has come, counting only slots after the round was opened: a round
    opened 3 days before its deadline has no 7-days-before reminder."""
    due = [d for d in sorted(round_.reminder_days, reverse=True)
           if round_.opened_at < slot_time(round_.deadline, d) <= now]
    return f"d{due[-1]}" if due else None


def send_due(session: Session, *, now: dt.datetime | None = None) -> int:
    """Queue the reminders whose time has come in every open round; returns the number of mails queued."""
    now = now or utcnow()
    queued = 0
    for round_id in session.scalars(select(Round.id).where(Round.status == "open", Round.deadline > now)
                                    .order_by(Round.id)):
        round_ = lock(session, Round, round_id)  # a round being closed now is left alone
        # Only the latest due slot: a tick that comes late sends one reminder, not three.
        slot = due_slot(round_, now) if round_.is_open else None
        if slot is None or _slot_used(session, round_.id, slot) or reminders_sent(session, round_.id) >= MAX_REMINDERS:
            continue
        # A slot skipped because a later one was due counts as used: record nothing, just move on.
        queued += _remind(session, round_, slot, now)
        audit.record(session, round_.document.network_id, "reminder_sent", document_id=round_.document_id,
                     round_id=round_.id, slot=slot)
    return queued


def send_now(session: Session, round_: Round, *, actor: Person) -> int:
    round_ = lock(session, Round, round_.id)
    if not round_.is_open:
        raise RoundClosed()
    sent = reminders_sent(session, round_.id)
    if sent >= MAX_REMINDERS:
        raise Conflict("too_many_reminders", limit=MAX_REMINDERS)
    slot = f"now{sent + 1}"
    queued = _remind(session, round_, slot)
    audit.record(session, round_.document.network_id, "reminder_sent", actor_id=actor.id,
                 document_id=round_.document_id, round_id=round_.id, slot=slot)
    return queued


def set_schedule(session: Session, round_: Round, days: list[int], *, actor: Person) -> None:
    round_ = lock(session, Round, round_.id)
    if not round_.is_open:
        raise RoundClosed()
    days = sorted({int(d) for d in days}, reverse=True)
    if len(days) > MAX_REMINDERS or any(d < 0 or d > 60 for d in days):
        raise InvalidInput("bad_schedule", limit=MAX_REMINDERS)
    round_.reminder_days = days
    audit.record(session, round_.document.network_id, "reminder_schedule_set", actor_id=actor.id,
                 document_id=round_.document_id, round_id=round_.id, days=days)


def extend_deadline(session: Session, round_: Round, deadline: dt.datetime, *, actor: Person) -> None:
    """A later deadline; everyone in the round is told, and the round now closes at the new time."""
    round_ = lock(session, Round, round_.id)
    if not round_.is_open:
        raise RoundClosed()
    if deadline <= round_.deadline:
        raise InvalidInput("deadline_not_later")
    previous, round_.deadline = round_.deadline, deadline
    audit.record(session, round_.document.network_id, "deadline_extended", actor_id=actor.id,
                 document_id=round_.document_id, round_id=round_.id, previous=previous.isoformat(),
                 deadline=deadline.isoformat())
    queue_emails(session, "deadline_extended", [
        Recipient(p.person, f"deadline_extended:{round_.id}:{deadline.isoformat()}:{p.id}", {"participant_id": p.id})
        for p in session.scalars(select(Participant).where(Participant.round_id == round_.id,
                                                           Participant.removed_at.is_(None)))],
        network_id=round_.document.network_id, round_id=round_.id)
    # The audit event has the round closed at the new deadline; the job for the old one finds it not yet due.
