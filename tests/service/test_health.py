"""/healthz and /readyz (issue 13): the process answers; the database is there and at the code's schema, Redis is
there, the tick runs, delivery keeps up; 503 when a required part fails, with the reason, and nothing personal."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from redis import Redis
from sqlalchemy import event, update

from service.embedded.servers import start_redis_server
from storage.database.engine import alembic_config, make_engine, make_session_factory, upgrade
from storage.database.models import MailMessage, utcnow
from storage.database.revisions import head_revisions
from tests.factories import make_document, make_network, open_round
from workflows.outbound import health, jobs

REQUIRED = {"database", "migrations", "redis"}
CHECKS = REQUIRED | {"schedule", "outbox_backlog", "outbox_failed", "jobs"}


@pytest.fixture
def stopped_redis(tmp_path):
    """A real Redis server, stopped: its address refuses connections, as a Redis that went away does."""
    server = start_redis_server(tmp_path / "redis")
    url = server.url
    server.stop()
    connection = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    yield connection
    connection.close()


@pytest.fixture
def behind_schema(tmp_path):
    """A database one migration behind the code: built to head, then stamped one revision down."""
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    upgrade(url)
    (head,) = head_revisions()
    previous = ScriptDirectory.from_config(alembic_config(url)).get_revision(head).down_revision
    command.stamp(alembic_config(url), previous, purge=True)
    engine = make_engine(url)
    yield make_session_factory(engine, read_only=True), previous
    engine.dispose()


def test_healthz_answers_without_anything_else(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_readyz_is_ready_when_everything_runs(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "READY_OUTBOX_DUE_AGE", 10 ** 9)  # other tests leave due mail unsent
    jobs.periodic_tick()  # the tick a worker's clock runs, which records when it finished
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["status"] == "ok", answer
    assert set(answer["checks"]) == CHECKS
    assert {name for name, check in answer["checks"].items() if check["required"]} == REQUIRED
    assert all(check["status"] == "ok" for check in answer["checks"].values())
    assert answer["checks"]["migrations"]["current"] == answer["checks"]["migrations"]["head"] == sorted(
        head_revisions())
    schedule = answer["checks"]["schedule"]
    assert 0 <= schedule["last_tick_age_seconds"] < 5
    assert schedule["limit_seconds"] == app.config["READY_TICK_INTERVALS"] * app.config["TICK_SECONDS"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_readyz_costs_a_handful_of_statements(app, client):
    statements = []
    engine = app.extensions["akkoord_engine"]
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - the statement's text
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get("/readyz").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) <= 4, statements


def test_readyz_warns_without_a_recent_tick_and_with_mail_waiting_too_long(app, db, client):
    jobs.current().redis.delete(jobs.TICK_DONE)
    network, coordinator, _people = make_network(db, members=2)
    document, _ = make_document(db, network, coordinator)
    open_round(db, document, coordinator)
    db.commit()
    # The invitations, due an hour ago and never taken by a worker; and one that failed for good.
    ids = [message.id for message in db.query(MailMessage).filter_by(network_id=network.id)]
    before = client.get("/readyz").get_json()["checks"]["outbox_failed"]["mail"]
    db.execute(update(MailMessage).where(MailMessage.id.in_(ids[1:]))
               .values(next_attempt_at=utcnow() - dt.timedelta(hours=1)))
    db.execute(update(MailMessage).where(MailMessage.id == ids[0]).values(status="failed", failure="rejected"))
    db.commit()
    try:
        response = client.get("/readyz")
        assert response.status_code == 200  # the pages still work: degraded, not unavailable
        answer = response.get_json()
        assert answer["status"] == "degraded"
        checks = answer["checks"]
        assert checks["schedule"]["status"] == "warn" and checks["schedule"]["last_tick_age_seconds"] is None
        assert "worker" in checks["schedule"]["reason"]
        assert checks["outbox_backlog"]["status"] == "warn"
        assert checks["outbox_backlog"]["oldest_due_age_seconds"] >= 3600
        assert checks["outbox_failed"]["mail"] == before + 1
        # Nothing personal: no address, name or id of a person or document, only statuses and figures.
        body = response.get_data(as_text=True)
        assert "@" not in body and coordinator.email not in body and network.name not in body
    finally:
        db.execute(update(MailMessage).where(MailMessage.id.in_(ids)).values(status="cancelled"))
        db.commit()


def test_readyz_is_unavailable_when_redis_is_stopped(client, monkeypatch, stopped_redis):
    monkeypatch.setattr(jobs.current(), "redis", stopped_redis)
    response = client.get("/readyz")
    assert response.status_code == 503
    answer = response.get_json()
    assert answer["status"] == "unavailable"
    redis = answer["checks"]["redis"]
    assert redis["status"] == "fail" and redis["required"]
    assert redis["reason"].startswith("Redis unreachable (")
    assert "127.0.0.1" not in response.get_data(as_text=True)  # the error's type, not its text
    assert answer["checks"]["database"]["status"] == "ok"
    assert answer["checks"]["schedule"]["status"] == "warn"


def test_readyz_is_unavailable_when_the_database_is_behind_the_code(client, monkeypatch, behind_schema):
    sessions, previous = behind_schema
    monkeypatch.setattr(jobs.current(), "read_session_factory", sessions)
    response = client.get("/readyz")
    assert response.status_code == 503
    answer = response.get_json()
    migrations = answer["checks"]["migrations"]
    assert migrations["status"] == "fail" and migrations["required"]
    assert migrations["current"] == [previous] and migrations["head"] == sorted(head_revisions())
    assert "db-upgrade" in migrations["reason"]
    assert answer["checks"]["database"]["status"] == "ok"


def test_readiness_without_schema_or_without_database(tmp_path, redis_server):
    thresholds = health.Thresholds()
    connection = Redis.from_url(redis_server.url)
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    missing = make_engine(f"sqlite:///{tmp_path}")  # a folder, not a database file: it cannot be opened
    try:
        never_migrated = health.readiness(make_session_factory(empty), connection, thresholds)
        assert not never_migrated.ready
        checks = {check.name: check for check in never_migrated.checks}
        assert checks["database"].status == "ok" and checks["migrations"].status == "fail"
        assert "no schema version" in checks["migrations"].reason

        unreachable = health.readiness(make_session_factory(missing), connection, thresholds)
        assert not unreachable.ready
        checks = {check.name: check for check in unreachable.checks}
        assert checks["database"].status == "fail"
        assert re.fullmatch(r"database unreachable \(\w+\)", checks["database"].reason)
        assert checks["redis"].status == "ok"
        # The figures, for whoever wants them (metrics): by check name, without statuses.
        assert unreachable.figures()["redis"].keys() == {"ms"}
    finally:
        empty.dispose()
        missing.dispose()
        connection.close()
