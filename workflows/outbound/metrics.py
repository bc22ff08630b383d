"""The workers' metrics: what each delivery attempt came to, how long an item took from decided to delivered, and
the jobs that raised. prometheus_client objects only; service.web.metrics serves them (with what is counted at
scrape time). Every metric has labels, so that no value is made before a process knows its multiprocess mode."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from prometheus_client import Counter, Histogram

# From a second (a mail sent at once) to a day (the retry schedule's last attempts).
DELIVERY_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600)

OUTBOX_ATTEMPTS = Counter(
    "akkoord_outbox_attempts_total",
    "Delivery attempts of mail and webhook posts, by channel and what they came to (sent, retrying, failed, cancelled)",
    ["channel", "outcome"])
DELIVERY_SECONDS = Histogram(
    "akkoord_outbox_delivery_seconds", "Time from an outbox item's creation to its delivery, by channel", ["channel"],
    buckets=DELIVERY_BUCKETS)
JOB_FAILURES = Counter("akkoord_job_failures_total", "Jobs that raised (RQ may retry them), by job", ["job"])

# An attempt's outcome by the status the outbox recorded.
OUTCOMES = {"sent": "sent", "pending": "retrying", "failed": "failed", "cancelled": "cancelled"}


class Recorded(Protocol):
    channel: str
    created_at: dt.datetime | None


def attempt_recorded(item: Recorded, status: str, now: dt.datetime) -> None:
    """Count an attempt the outbox recorded (after its transaction committed); a delivery also its latency."""
    if status not in OUTCOMES:
        return
    OUTBOX_ATTEMPTS.labels(item.channel, OUTCOMES[status]).inc()
    if status == "sent" and item.created_at is not None:
        DELIVERY_SECONDS.labels(item.channel).observe(max(0.0, (now - item.created_at).total_seconds()))


def job_failed(job, exc_type, exc_value, traceback) -> bool:
    """An RQ exception handler: count the job that raised, then let the next handler (RQ's own) run."""
    JOB_FAILURES.labels(getattr(job, "func_name", None) or "unknown").inc()
    return True
