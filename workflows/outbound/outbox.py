"""The one life cycle of everything that leaves Akkoord, mail and webhook posts alike: claim -> send -> record, per
item, each step its own short transaction, with the next attempt's time taken from one retry schedule.

A crash at any point costs at most one item one extra send: only the item in flight is claimed (`sending`), and a
claim older than the claim timeout is taken to be from a worker that died and is picked up again. Temporary
failures wait for their turn in the schedule; permanent ones stop at once; either way the reason is kept as a code
the pages and the API put in words (FAILURES) and as the other side's own text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.database.engine import run_transaction
from storage.database.models import OutboxItem, utcnow
from workflows.outbound import metrics

# Why an item was not delivered; each has a sentence in service.web.i18n.
FAILURES = (
    "address_refused",      # SMTP 5xx for the recipient: the address does not exist or will never take mail
    "recipient_deferred",   # SMTP 4xx for the recipient (mailbox full, greylisting)
    "content_refused",      # SMTP 5xx for the message itself (too large, taken for spam)
    "smtp_deferred",        # SMTP 4xx for the message or the session
    "smtp_refused",         # another SMTP 5xx
    "sender_refused",       # the server refuses our From address: a setting to fix, retried meanwhile
    "smtp_login_failed",    # the server refuses our user name or password: a setting to fix, retried meanwhile
    "smtp_unreachable",     # no connection, or it broke off
    "smtp_timeout",         # no answer in time
    "message_unbuildable",  # the mail could not be made (e.g. a line break in a name): only this one fails
    "files_pending",        # what it carries (the final files) is still being made
    "worker_crashed",       # the worker died while sending it, more often than the schedule allows
    "http_error",           # the webhook receiver answered 5xx, 408 or 429
    "http_refused",         # it answered another 4xx
    "http_redirect",        # it answered 3xx (redirects are not followed)
    "webhook_unreachable",  # no connection, no answer in time, or a broken answer
    "webhook_address",      # the URL now resolves to an address webhooks may not post to
    "not_needed",           # no longer meaningful (round closed, person left, verdict given meanwhile)
)

# Seconds between attempts when the previous one failed for a passing reason: 1 min, 5 min, 15 min, 1 h, 3 h and 6 h
# (7 attempts over 10.3 h). A round's deadline is days away; a day-long outage is a case for an operator, who sees
# the failures with their reasons and sends them again.
RETRY_SCHEDULE = (60, 300, 900, 3600, 3 * 3600, 6 * 3600)
# A claim older than this is from a worker that died (a send takes at most a few 30-s timeouts); with the sweep's
# 30 s the item is picked up again within 2 minutes.
CLAIM_TIMEOUT = 90
# A due item not taken by the job enqueued for it this long after its time has lost that job (Redis was wiped, a
# worker died with the batch): the sweep enqueues it again.
SWEEP_GRACE = 60


@dataclass(frozen=True)
class Schedule:
    """The retry schedule and the timeouts of the outbox; settings (OUTBOX_*) may compress them, never the code path."""

    retry_after: tuple[int, ...] = RETRY_SCHEDULE
    claim_timeout: int = CLAIM_TIMEOUT
    sweep_grace: int = SWEEP_GRACE

    @property
    def max_attempts(self) -> int:
        return len(self.retry_after) + 1


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: sent, or a failure (its code, the other side's text, and whether it is final)."""

    sent: bool
    failure: str | None = None
    detail: str = ""
    permanent: bool = False
    response_status: int | None = None


SENT = Outcome(True)


def sent(response_status: int | None = None) -> Outcome:
    return Outcome(True, response_status=response_status)


def temporary(failure: str, detail: str = "", response_status: int | None = None) -> Outcome:
    return Outcome(False, failure, detail[:1000], False, response_status)


def permanent(failure: str, detail: str = "", response_status: int | None = None) -> Outcome:
    return Outcome(False, failure, detail[:1000], True, response_status)


@dataclass(frozen=True)
class Claim:
    """An item a worker holds: which one, its attempt number, when it was taken, and (mail) its address now."""

    id: int
    channel: str
    attempts: int
    claimed_at: dt.datetime
    to_address: str | None
    created_at: dt.datetime | None = None  # for the delivery latency metric


_OUTBOX = OutboxItem.__table__
# Built once: a worker runs these twice per message, a thousand messages at a time.
_CLAIM = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("item_id"), _OUTBOX.c.attempts < bindparam("max_attempts"))
    .where(or_((_OUTBOX.c.status == "pending") & (_OUTBOX.c.next_attempt_at <= bindparam("due_by")),
               (_OUTBOX.c.status == "sending") & (_OUTBOX.c.claimed_at < bindparam("stale"))))
    .values(status="sending", claimed_at=bindparam("taken_at"), attempts=_OUTBOX.c.attempts + 1)
    .returning(_OUTBOX.c.id, _OUTBOX.c.channel, _OUTBOX.c.attempts, _OUTBOX.c.to_address, _OUTBOX.c.created_at)
)
_RECORD = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("item_id"), _OUTBOX.c.status == "sending",
           _OUTBOX.c.claimed_at == bindparam("held_since"))
    .values(status=bindparam("new_status"), next_attempt_at=bindparam("new_next_attempt_at"),
            sent_at=bindparam("new_sent_at"), failure=bindparam("new_failure"),
            last_error=bindparam("new_last_error"), response_status=bindparam("new_response_status"))
)


def claim(session: Session, item_id: int, now: dt.datetime, schedule: Schedule) -> Claim | None:
    """Take the item if it is due (or its claim is stale), so that no other worker sends it meanwhile; each claim
    counts as an attempt, so an item that kills its worker every time still ends. One statement."""
    row = session.execute(_CLAIM, {"item_id": item_id, "max_attempts": schedule.max_attempts, "due_by": now, "taken_at": now,
                                   "stale": now - dt.timedelta(seconds=schedule.claim_timeout)}).first()
    return Claim(row.id, row.channel, row.attempts, now, row.to_address, row.created_at) if row is not None else None


def record(session: Session, held: Claim, outcome: Outcome, now: dt.datetime, schedule: Schedule
           ) -> tuple[str, dt.datetime | None]:
    """Note the attempt's outcome: sent; pending again at the schedule's next time; or failed (permanent, or no
    attempts left). Only this worker's own claim is recorded: a claim that went stale and was taken over by
    another worker is theirs now. Returns the item's status and next attempt's time."""
    next_attempt_at = None
    if outcome.sent:
        status = "sent"
    elif outcome.failure == "not_needed":
        status = "cancelled"
    elif outcome.permanent or held.attempts >= schedule.max_attempts:
        status = "failed"
    else:
        status = "pending"
        next_attempt_at = now + dt.timedelta(seconds=schedule.retry_after[held.attempts - 1])
    recorded = session.execute(_RECORD, {
        "item_id": held.id, "held_since": held.claimed_at, "new_status": status,
        "new_next_attempt_at": next_attempt_at, "new_sent_at": now if outcome.sent else None,
        "new_failure": outcome.failure, "new_last_error": outcome.detail,
        "new_response_status": outcome.response_status}).rowcount
    return (status, next_attempt_at) if recorded else ("skipped", None)


Prepare = Callable[[Session, Claim], object]
Send = Callable[[Claim, object], Outcome]


def deliver(session_factory: sessionmaker, item_ids: Iterable[int], *, schedule: Schedule, prepare: Prepare,
            send: Send, clock: Callable[[], dt.datetime] = utcnow) -> dict[str, list]:
    """Deliver the items one by one. For each: one transaction records the previous item's outcome, claims this
    one and lets `prepare` do what must be written with the claim (minting its personal link); then `send` runs
    outside any transaction. `prepare` may return an Outcome instead (nothing to send, or it cannot be made),
    which is recorded at once. Returns the ids by what became of them, and (id, time) of each retry to come."""
    done: dict[str, list] = {"sent": [], "pending": [], "failed": [], "cancelled": [], "skipped": [], "retry": []}
    previous: tuple[Claim, Outcome] | None = None

    def step(session: Session, item_id: int | None):
        """Record the previous item, claim the next; returns what was recorded and what was claimed."""
        now = clock()
        recorded = (previous[0].id, *record(session, *previous, now, schedule)) if previous is not None else None
        held = claim(session, item_id, now, schedule) if item_id is not None else None
        return recorded, (held, prepare(session, held)) if held is not None else None

    def note(recorded) -> None:
        if recorded is not None:
            item_id, status, next_attempt_at = recorded
            done[status].append(item_id)
            if status == "pending":
                done["retry"].append((item_id, next_attempt_at))
            # Counted once committed; `previous` is still the item just recorded.
            metrics.attempt_recorded(previous[0], status, clock())

    with session_factory() as session:  # one session, one transaction after another
        for item_id in item_ids:
            recorded, claimed = run_transaction(session, lambda session, item_id=item_id: step(session, item_id))
            note(recorded)
            previous = None
            if claimed is None:
                done["skipped"].append(item_id)
                continue
            held, prepared = claimed
            outcome = prepared if isinstance(prepared, Outcome) else send(held, prepared)
            previous = (held, outcome)
        if previous is not None:
            note(run_transaction(session, lambda session: step(session, None))[0])
    return done


def sweep(session: Session, now: dt.datetime, schedule: Schedule) -> tuple[list[int], list[int]]:
    """The mail and webhook items whose job was lost: due longer than the grace ago, or claimed by a worker that
    died. Items waiting for their next attempt are left alone: a sweep never shortcuts the schedule."""
    grace = now - dt.timedelta(seconds=schedule.sweep_grace)
    stale = now - dt.timedelta(seconds=schedule.claim_timeout)
    rows = session.execute(
        select(OutboxItem.id, OutboxItem.channel).where(or_(
            (OutboxItem.status == "pending") & (OutboxItem.next_attempt_at <= grace),
            (OutboxItem.status == "sending") & (OutboxItem.claimed_at < stale),
        )).order_by(OutboxItem.id)
    ).all()
    return [i for i, channel in rows if channel == "mail"], [i for i, channel in rows if channel == "webhook"]


def give_up_crashed(session: Session, now: dt.datetime, schedule: Schedule) -> int:
    """Items whose claims went stale with no attempts left (they killed their worker each time) fail for good."""
    stale = now - dt.timedelta(seconds=schedule.claim_timeout)
    return session.execute(
        update(OutboxItem)
        .where(OutboxItem.status == "sending", OutboxItem.claimed_at < stale,
               OutboxItem.attempts >= schedule.max_attempts)
        .values(status="failed", failure="worker_crashed", next_attempt_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
