"""RQ job entry points and the after-commit hand-off: jobs take ids, reload, are idempotent and retried."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import OutboxMessage, utcnow
from workflows.notifications import PENDING_IDS
from workflows.webhooks import PENDING_DELIVERY_IDS, RETRY_INTERVALS

log = logging.getLogger(__name__)

QUEUE_NAME = "akkoord"
DELIVERY_BATCH = 50  # one SMTP connection and one job per 50 mails: forking per mail would cap us at ~60/s
MAX_ATTEMPTS = 6
CLAIM_TIMEOUT = dt.timedelta(minutes=10)  # a claim older than this is taken to be from a worker that died
SWEEP_AFTER = dt.timedelta(seconds=30)
TICK_SECONDS = 30
TICK_GUARD = "akkoord:tick-scheduled"
AFTER_COMMIT = "akkoord_after_commit"


@dataclass
class Runtime:
    """What jobs and after-commit hooks need; set once per process by service/ (config lives there)."""

    session_factory: sessionmaker
    redis: Redis
    smtp_url: str
    mail_from: str
    base_url: str
    webhook_allow_private: bool = False  # WEBHOOK_ALLOW_PRIVATE: tests and the dev stack post to 127.0.0.1


_runtime: Runtime | None = None


def configure(runtime: Runtime) -> None:
    global _runtime
    _runtime = runtime
    install(runtime.session_factory)


def current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("workflows.jobs.configure() was not called in this process")
    return _runtime


def queue(connection: Redis | None = None) -> Queue:
    return Queue(QUEUE_NAME, connection=connection or current().redis)


def after_commit(session: Session, func_path: str, *args, at: dt.datetime | None = None) -> None:
    """Ask for a job to be enqueued once (and only if) this session's transaction commits."""
    session.info.setdefault(AFTER_COMMIT, []).append((func_path, args, at))


def install(factory: sessionmaker) -> None:
    """Hand this factory's sessions' outbox rows and job intents to RQ after each commit (once per factory)."""
    # Marked on the factory itself: event.contains() keys by id(), which a new factory can reuse.
    if getattr(factory, "_akkoord_after_commit", False):
        return
    event.listen(factory, "after_commit", _enqueue_after_commit)
    event.listen(factory, "after_rollback", _forget)
    factory._akkoord_after_commit = True


def _forget(session: Session) -> None:
    session.info.pop(AFTER_COMMIT, None)
    session.info.pop(PENDING_IDS, None)
    session.info.pop(PENDING_DELIVERY_IDS, None)


def _enqueue_after_commit(session: Session) -> None:
    intents = session.info.pop(AFTER_COMMIT, [])
    outbox_ids = session.info.pop(PENDING_IDS, [])
    webhook_delivery_ids = session.info.pop(PENDING_DELIVERY_IDS, [])
    if not intents and not outbox_ids and not webhook_delivery_ids:
        return
    try:
        q = queue()
        enqueue_deliveries(q, outbox_ids)
        enqueue_webhook_deliveries(q, webhook_delivery_ids)
        for func_path, args, at in intents:
            if at is None:
                q.enqueue(func_path, *args, retry=Retry(max=3, interval=[10, 60, 300]))
            else:
                q.enqueue_at(at, func_path, *args)
        ensure_tick(q.connection, delay=TICK_SECONDS)
    except RedisError:
        # The rows are committed; the periodic sweep enqueues them once Redis is back.
        log.exception("could not enqueue after commit; the sweep will pick this up")


def enqueue_deliveries(q: Queue, outbox_ids: list[int]) -> None:
    for start in range(0, len(outbox_ids), DELIVERY_BATCH):
        q.enqueue("workflows.jobs.deliver", outbox_ids[start:start + DELIVERY_BATCH],
                  retry=Retry(max=MAX_ATTEMPTS, interval=[5, 30, 120, 600, 1800, 3600]), job_timeout=600)


def enqueue_webhook_deliveries(q: Queue, delivery_ids: list[int]) -> None:
    # One job per delivery: each goes to its own URL, and a slow receiver holds up nobody else's events.
    for delivery_id in delivery_ids:
        q.enqueue("workflows.jobs.deliver_webhook", delivery_id,
                  retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS), job_timeout=60)


# Jobs -------------------------------------------------------------------------------------------


class DeliveryIncomplete(Exception):
    """Some messages of the batch failed; RQ retries the job and the sent ones are skipped."""


def deliver(outbox_ids: list[int]) -> dict:
    from workflows import delivery

    runtime = current()
    with delivery.Mailer(runtime.smtp_url, runtime.mail_from) as mailer:
        outcome = delivery.deliver_batch(runtime.session_factory, mailer, outbox_ids, runtime.base_url)
    if outcome["retry"]:
        raise DeliveryIncomplete(f"{outcome['retry']} of {len(outbox_ids)} messages failed; will retry")
    return outcome


class WebhookNotDelivered(Exception):
    """The receiver did not take the event; RQ retries the job (a sent delivery is never posted again)."""


def deliver_webhook(delivery_id: int) -> str:
    from workflows import webhooks

    runtime = current()
    status = webhooks.deliver(runtime.session_factory, delivery_id, allow_private=runtime.webhook_allow_private)
    if status == "pending":
        raise WebhookNotDelivered(f"webhook delivery {delivery_id} failed; will retry")
    return status


def close_round_if_due(round_id: int) -> bool:
    from workflows import rounds

    with current().session_factory() as session:
        closed = rounds.close_round_if_due(session, round_id)
        session.commit()
    return closed


def tick(now_iso: str | None = None) -> dict:
    """The periodic sweep: send due reminders, enqueue mail and webhook deliveries left pending, close rounds
    past their deadline, schedule the next tick. `now_iso` lets a test set the clock."""
    from workflows import idempotency, reminders, rounds, webhooks

    runtime = current()
    runtime.redis.delete(TICK_GUARD)
    try:
        now = dt.datetime.fromisoformat(now_iso) if now_iso else utcnow()
        with runtime.session_factory() as session:
            reminded = reminders.send_due(session, now=now)
            session.commit()  # the after-commit hook enqueues their delivery
        with runtime.session_factory() as session:
            forgotten = idempotency.expire(session, now)
            session.commit()
        with runtime.session_factory() as session:
            stale = list(session.scalars(
                select(OutboxMessage.id).where(
                    or_((OutboxMessage.status == "pending") & (OutboxMessage.created_at < now - SWEEP_AFTER),
                        (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - CLAIM_TIMEOUT))
                ).order_by(OutboxMessage.id)
            ))
            stale_webhooks = webhooks.stale_delivery_ids(session, now)
            session.rollback()
            enqueue_deliveries(queue(), stale)
            enqueue_webhook_deliveries(queue(), stale_webhooks)
            closed = 0
            for round_id in rounds.overdue_round_ids(session, now=now):
                closed += rounds.close_round_if_due(session, round_id, now=now)
                session.commit()
    finally:
        ensure_tick(runtime.redis, delay=TICK_SECONDS)
    return {"enqueued": len(stale), "webhooks": len(stale_webhooks), "closed_rounds": closed, "reminders": reminded,
            "idempotency_records_forgotten": forgotten}


def ensure_tick(connection: Redis, delay: int = 0) -> bool:
    """Schedule the sweep unless one is already scheduled (a Redis key guards against duplicates)."""
    if not connection.set(TICK_GUARD, "1", nx=True, ex=delay + TICK_SECONDS * 4):
        return False
    q = queue(connection)
    if delay:
        q.enqueue_in(dt.timedelta(seconds=delay), "workflows.jobs.tick")
    else:
        q.enqueue("workflows.jobs.tick")
    return True
