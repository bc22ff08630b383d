"""Readiness: is the database there and at the code's schema, is Redis there, does the periodic tick run, is delivery
keeping up; each check with its status and its figure, in a handful of statements.

`readiness()` is what /readyz answers (service/views/health.py); its `figures()` are the same numbers for anyone else
who wants them (metrics, an operator's script). The checks say nothing personal: counts, ages and revision ids only,
and an error's type, never its text (a connection error names hosts and users)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from storage.database.models import OutboxItem, utcnow
from storage.database.revisions import current_revisions, head_revisions
from workflows.outbound.jobs import QUEUE_NAME, TICK_DONE

log = logging.getLogger(__name__)

OK, WARN, FAIL = "ok", "warn", "fail"
# Without these the service cannot do its work: a process whose database, schema or Redis is not right is not ready
# (503), and a load balancer sends it no requests. The others warn: the pages work while the workers are behind.
REQUIRED = ("database", "migrations", "redis")


@dataclass(frozen=True)
class Thresholds:
    """When a figure becomes a warning (settings READY_TICK_INTERVALS, READY_OUTBOX_DUE_AGE, TICK_SECONDS)."""

    tick_seconds: float = 30
    tick_intervals: float = 3  # the schedule is alive while its last tick finished within this many intervals
    outbox_due_age: float = 300  # seconds a due mail or webhook post may wait for a worker

    @property
    def tick_limit(self) -> float:
        return self.tick_intervals * self.tick_seconds


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # OK, WARN or FAIL
    figures: dict = field(default_factory=dict)
    reason: str = ""  # why it is not OK, for an operator (English, nothing personal)

    @property
    def required(self) -> bool:
        return self.name in REQUIRED

    def as_dict(self) -> dict:
        answer = {"status": self.status, "required": self.required, **self.figures}
        if self.reason:
            answer["reason"] = self.reason
        return answer


@dataclass(frozen=True)
class Readiness:
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        """False when a required check failed: /readyz answers 503."""
        return not any(check.required and check.status == FAIL for check in self.checks)

    @property
    def status(self) -> str:
        if not self.ready:
            return "unavailable"
        return "ok" if all(check.status == OK for check in self.checks) else "degraded"

    def figures(self) -> dict[str, dict]:
        """Every check's figures by check name (e.g. figures()["outbox_failed"]["mail"]), without the statuses."""
        return {check.name: dict(check.figures) for check in self.checks}

    def as_dict(self) -> dict:
        return {"status": self.status, "checks": {check.name: check.as_dict() for check in self.checks}}


def readiness(session_factory: sessionmaker, redis: Redis, thresholds: Thresholds,
              now: dt.datetime | None = None) -> Readiness:
    """All checks: at most four SQL statements (one transaction) and one Redis round trip."""
    now = now or utcnow()
    return Readiness((*_database_checks(session_factory, thresholds, now), *_redis_checks(redis, thresholds)))


def _database_checks(session_factory: sessionmaker, thresholds: Thresholds, now: dt.datetime) -> list[Check]:
    started = time.perf_counter()
    with session_factory() as session:
        try:
            current = current_revisions(session)
        except SQLAlchemyError as error:
            session.rollback()
            reachable = _reachable(session)
            figures = {"ms": _ms(started)}
            if not reachable:
                log.warning("readiness: the database cannot be reached", exc_info=True)
                reason = f"database unreachable ({type(error).__name__})"
                return [Check("database", FAIL, figures, reason), Check("migrations", FAIL, {}, reason),
                        *_outbox_unknown(reason)]
            return [Check("database", OK, figures),
                    Check("migrations", FAIL, {"head": sorted(head_revisions())}, "the database has no schema version "
                          "(run `flask --app service db-upgrade`)"),
                    *_outbox_unknown("no schema")]
        database = Check("database", OK, {"ms": _ms(started)})
        head = head_revisions()
        versions = {"current": sorted(current), "head": sorted(head)}
        if current != head:
            return [database, Check("migrations", FAIL, versions, "the database is not at the code's schema (run "
                                    "`flask --app service db-upgrade`)"), *_outbox_unknown("schema not at head")]
        try:
            outbox = _outbox_checks(session, thresholds, now)
        except SQLAlchemyError as error:
            log.warning("readiness: the outbox cannot be read", exc_info=True)
            outbox = _outbox_unknown(f"outbox unreadable ({type(error).__name__})")
        session.rollback()
    return [database, Check("migrations", OK, versions), *outbox]


def _reachable(session) -> bool:
    try:
        session.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        session.rollback()
        return False


def _outbox_checks(session, thresholds: Thresholds, now: dt.datetime) -> list[Check]:
    """Two statements, both on the outbox's (status, next_attempt_at) index: the oldest due item, the failed ones."""
    oldest_due = session.scalar(select(func.min(OutboxItem.next_attempt_at))
                                .where(OutboxItem.status == "pending", OutboxItem.next_attempt_at <= now))
    age = max(0.0, (now - oldest_due).total_seconds()) if oldest_due is not None else 0.0
    limit = thresholds.outbox_due_age
    backlog = Check("outbox_backlog", OK if age <= limit else WARN,
                    {"oldest_due_age_seconds": round(age, 1), "limit_seconds": limit},
                    "" if age <= limit else "due mail or webhook posts wait longer than the limit: are the workers up?")
    counts = dict(session.execute(select(OutboxItem.channel, func.count())
                                  .where(OutboxItem.status == "failed").group_by(OutboxItem.channel)).all())
    failed = Check("outbox_failed", OK, {"mail": counts.get("mail", 0), "webhook": counts.get("webhook", 0)})
    return [backlog, failed]


def _outbox_unknown(reason: str) -> list[Check]:
    return [Check("outbox_backlog", WARN, {}, reason), Check("outbox_failed", WARN, {}, reason)]


def _redis_checks(redis: Redis, thresholds: Thresholds) -> list[Check]:
    """One round trip: PING, the tick's last time, the failed jobs, the queue's length."""
    started = time.perf_counter()
    try:
        with redis.pipeline(transaction=False) as pipe:
            pipe.ping()
            pipe.get(TICK_DONE)
            pipe.zcard(FailedJobRegistry(QUEUE_NAME, connection=redis).key)
            pipe.llen(Queue(QUEUE_NAME, connection=redis).key)
            _pong, tick_done, failed_jobs, queued = pipe.execute()
    except RedisError as error:
        log.warning("readiness: Redis cannot be reached", exc_info=True)
        reason = f"Redis unreachable ({type(error).__name__})"
        return [Check("redis", FAIL, {"ms": _ms(started)}, reason), Check("schedule", WARN, {}, reason),
                Check("jobs", WARN, {}, reason)]
    return [Check("redis", OK, {"ms": _ms(started)}), _schedule(tick_done, thresholds),
            Check("jobs", OK, {"failed": failed_jobs, "queued": queued})]


def _schedule(tick_done: bytes | None, thresholds: Thresholds) -> Check:
    limit = thresholds.tick_limit
    if tick_done is None:
        return Check("schedule", WARN, {"last_tick_age_seconds": None, "limit_seconds": limit},
                     "no tick recorded yet: is a worker (`flask --app service worker`) running?")
    age = max(0.0, time.time() - float(tick_done))
    if age > limit:
        return Check("schedule", WARN, {"last_tick_age_seconds": round(age, 1), "limit_seconds": limit},
                     "the periodic tick has not run within the limit: are the workers up?")
    return Check("schedule", OK, {"last_tick_age_seconds": round(age, 1), "limit_seconds": limit})


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
