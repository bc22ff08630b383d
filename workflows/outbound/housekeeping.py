"""The retention job: what workflows.domain.retention says may go, deleted in short transactions, and RQ's failed
jobs past their period; run by one worker at most once per period, however many workers' clocks enqueue it."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from redis.exceptions import RedisError
from rq.job import Job
from rq.registry import FailedJobRegistry

from storage.database.engine import run_transaction
from storage.database.models import utcnow
from workflows.domain import retention
from workflows.outbound import jobs

log = logging.getLogger(__name__)

PRUNE_LOCK = "akkoord:prune-ran"


@dataclass(frozen=True)
class Settings:
    """Retention's settings (RETENTION_* in service/config.py)."""

    policy: retention.Policy = field(default_factory=retention.Policy)
    every: dt.timedelta = dt.timedelta(days=1)  # at most one prune per this period
    failed_jobs: dt.timedelta = dt.timedelta(days=30)  # a failed job stays visible to `failed-jobs` this long


_settings = Settings()


def configure(settings: Settings) -> None:
    global _settings
    _settings = settings


def current() -> Settings:
    return _settings


def prune(now: dt.datetime | None = None, *, dry_run: bool = False,
          settings: Settings | None = None) -> dict[str, int | None]:
    """Delete (or with `dry_run` only count) what is no longer needed at `now`; the number of each kind (None: not
    reached)."""
    settings = settings or _settings
    now = now or utcnow()
    runtime = jobs.current()
    if dry_run:
        with runtime.read_session_factory() as session:
            done = retention.count(session, now, settings.policy)
    else:
        done = {kind: _delete_all(runtime, kind, now, settings.policy) for kind in retention.KINDS}
    try:
        done["failed_jobs"] = _old_failed_jobs(now - settings.failed_jobs, delete=not dry_run)
    except RedisError as error:  # the database's part is done; the failed jobs wait for the next prune
        log.warning("retention: failed jobs not pruned, Redis cannot be reached (%s)", error)
        done["failed_jobs"] = None
    if not dry_run:
        log.info("retention: deleted %s", ", ".join(f"{count} {kind}" for kind, count in done.items()))
    return done


def _delete_all(runtime: jobs.Runtime, kind: str, now: dt.datetime, policy: retention.Policy) -> int:
    total = 0
    while True:  # batch after batch, each committed: writers wait for one batch at most
        deleted = run_transaction(runtime.session_factory,
                                  lambda session: retention.delete_batch(session, kind, now, policy))
        total += deleted
        if deleted < policy.batch:
            return total


def _old_failed_jobs(ended_before: dt.datetime, *, delete: bool) -> int:
    """RQ's failed jobs that ended before this time (RQ itself keeps them a year); deleted unless only counted."""
    registry = FailedJobRegistry(queue=jobs.queue())
    job_ids = registry.get_job_ids()
    found = Job.fetch_many(job_ids, connection=registry.connection) if job_ids else []
    # A job whose data is gone already is only a dangling id; one without an end time is left to RQ.
    old = [job_id for job_id, job in zip(job_ids, found, strict=True)
           if job is None or (job.ended_at is not None and job.ended_at < ended_before)]
    if delete:
        for job_id in old:
            registry.remove(job_id, delete_job=True)
    return len(old)


def periodic_prune() -> dict:
    """The prune as every worker's clock enqueues it: run by the first of them once per period, skipped by the
    others and until the period is over."""
    period = max(1, int(_settings.every.total_seconds()))
    if not jobs.current().redis.set(PRUNE_LOCK, utcnow().isoformat(), nx=True, ex=period):
        return {"skipped": "pruned already in this period"}
    return prune()
