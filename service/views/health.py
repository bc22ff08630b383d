"""/healthz (the process answers) and /readyz (it can do its work: workflows.outbound.health), as JSON for load
balancers and monitors: public, uncached, no session, no rate limit, nothing personal."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from service.web.extensions import limiter
from workflows.outbound import health, jobs

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """Liveness: answers without the database or Redis, so a restart is asked for only when the process is stuck."""
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """Readiness: 503 when a required check (database, migrations, Redis) fails; the others only warn."""
    runtime = jobs.current()
    config = current_app.config
    thresholds = health.Thresholds(tick_seconds=runtime.tick_seconds,
                                   tick_intervals=config["READY_TICK_INTERVALS"],
                                   outbox_due_age=config["READY_OUTBOX_DUE_AGE"])
    readiness = health.readiness(runtime.read_session_factory, runtime.redis, thresholds)
    return jsonify(readiness.as_dict()), 200 if readiness.ready else 503
