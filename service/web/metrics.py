"""Prometheus metrics at /metrics, behind a bearer token: requests by route, the outbox, open rounds and failed jobs
counted at scrape time, and the counters of every web and worker process (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import hmac
import logging
import os
import time
from pathlib import Path

from flask import Flask, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from redis.exceptions import RedisError
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select

from service.web import db
from storage.database.models import OUTBOX_CHANNELS, OUTBOX_STATUSES, OutboxItem, Round, utcnow
from workflows.outbound import jobs

log = logging.getLogger(__name__)

# Pages answer in tens of milliseconds; an upload or a large export takes seconds.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# A request that matched no route: one label for all of them, never the raw path (it may carry a token).
UNMATCHED = "<unmatched>"

REQUESTS = Counter("akkoord_http_requests_total", "HTTP requests by route (the URL rule), method and status",
                   ["route", "method", "status"])
REQUEST_SECONDS = Histogram("akkoord_http_request_duration_seconds", "HTTP request latency by route and method",
                            ["route", "method"], buckets=REQUEST_BUCKETS)


def init_app(app: Flask) -> None:
    """/metrics always has its route (it answers 404 without METRICS_TOKEN); requests are counted only when it is
    set, since only then does anyone read them."""
    app.add_url_rule("/metrics", "metrics", metrics_page)
    if not app.config.get("METRICS_TOKEN"):
        return
    directory = app.config.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR") != directory:
            # prometheus_client chose its mode when it was imported, from the environment: a directory given only
            # to create_app would be read by the scrape but never written by this process.
            log.warning("PROMETHEUS_MULTIPROC_DIR is not in this process's environment; its counters stay in memory")
    # First, so that the time includes the other hooks (sessions, rate limits) and a hook's early answer is counted.
    app.before_request_funcs.setdefault(None, []).insert(0, _started)
    app.after_request(_count)


def _started() -> None:
    g.metrics_started = time.perf_counter()


def _count(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    REQUESTS.labels(route, request.method, str(response.status_code)).inc()
    if started is not None:
        REQUEST_SECONDS.labels(route, request.method).observe(time.perf_counter() - started)
    return response


def _authorised(token: str) -> bool:
    given = request.headers.get("Authorization", "").encode()
    return hmac.compare_digest(given, f"Bearer {token}".encode())  # constant time: the token is not guessed by timing


def metrics_page():
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    if not _authorised(token):
        return Response("a bearer token is required\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'},
                        mimetype="text/plain")
    directory = current_app.config.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        counted = CollectorRegistry()
        MultiProcessCollector(counted, path=directory)
    else:
        counted = REGISTRY
    body = generate_latest(counted) + generate_latest(_Scraped(scraped_families()))
    return Response(body, 200, {"Content-Type": CONTENT_TYPE_LATEST})


class _Scraped:
    """What generate_latest needs of a registry, for the figures computed in this scrape."""

    def __init__(self, families: list) -> None:
        self.families = families

    def collect(self):
        return iter(self.families)


def scraped_families() -> list:
    """The figures read at scrape time, in this process: two SQL statements and two Redis commands."""
    session = db.session()
    now = utcnow()
    rows = session.execute(
        select(OutboxItem.channel, OutboxItem.status, func.count(OutboxItem.id), func.min(OutboxItem.created_at))
        .group_by(OutboxItem.channel, OutboxItem.status)
    ).all()
    counts = {(channel, status): 0 for channel in OUTBOX_CHANNELS for status in OUTBOX_STATUSES}
    oldest = {channel: 0.0 for channel in OUTBOX_CHANNELS}
    for channel, status, count, first in rows:
        counts[(channel, status)] = count
        if status == "pending" and first is not None:
            oldest[channel] = max(0.0, (now - first).total_seconds())
    outbox = GaugeMetricFamily("akkoord_outbox_items", "Outbox rows (mail, webhook posts) by channel and state",
                               labels=["channel", "state"])
    for (channel, status), count in counts.items():
        outbox.add_metric([channel, status], count)
    age = GaugeMetricFamily("akkoord_outbox_oldest_pending_seconds",
                            "Age of the oldest pending outbox row by channel (0: none pending)", labels=["channel"])
    for channel, seconds in oldest.items():
        age.add_metric([channel], seconds)
    rounds = GaugeMetricFamily("akkoord_open_rounds", "Rounds open for verdicts",
                               value=session.scalar(select(func.count(Round.id)).where(Round.status == "open")))
    families = [outbox, age, rounds]
    try:
        queue = jobs.queue()
        # Without RQ's cleanup: a scrape only reads (the workers' maintenance cleans up).
        failed, queued = FailedJobRegistry(queue=queue).get_job_count(cleanup=False), queue.count
    except RedisError:
        log.warning("metrics: Redis cannot be reached; the job figures are left out", exc_info=True)
    else:
        families.append(GaugeMetricFamily("akkoord_failed_jobs", "Jobs in RQ's failed job registry", value=failed))
        families.append(GaugeMetricFamily("akkoord_queued_jobs", "Jobs waiting in the queue", value=queued))
    return families
