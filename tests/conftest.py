"""Fixtures on real parts: a Redis server, an SMTP server, a database built by the migrations (SQLite, or
PostgreSQL when TEST_DATABASE_URL is set), the app, a client, and a worker that drains the queue."""

from __future__ import annotations

import datetime as dt
import re
import smtplib
from pathlib import Path

import pytest
from rq import SimpleWorker
from sqlalchemy import create_engine, text

from service import create_app
from service.embedded.servers import MailStore, start_redis_server, start_smtp_server
from service.web.extensions import limiter
from storage.database.engine import make_session_factory, upgrade
from workflows.outbound import jobs

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"


def pytest_report_header(config):
    import os

    return f"database: {os.environ.get('TEST_DATABASE_URL') or 'SQLite (temporary file)'}"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = start_redis_server(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mail_store(tmp_path_factory) -> MailStore:
    return MailStore(tmp_path_factory.mktemp("mailbox"))


@pytest.fixture(scope="session")
def smtp_server(mail_store):
    server = start_smtp_server(mail_store)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    import os

    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def app(database_url, redis_server, smtp_server, tmp_path_factory):
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_server.url,
        "SMTP_URL": smtp_server.url,
        "BASE_URL": "http://localhost",
        "MAIL_FROM": "Akkoord <akkoord@test.invalid>",
        "MAILBOX_DIR": None,
    })
    yield app
    app.extensions["akkoord_engine"].dispose()


@pytest.fixture(autouse=True)
def _fresh_queue_and_mailbox(request):
    """Each test starts with an empty queue and mailbox, and rate limits counted from zero (only when it uses them)."""
    if "app" in request.fixturenames or "mail_store" in request.fixturenames:
        store = request.getfixturevalue("mail_store")
        store.clear()
        request.getfixturevalue("redis_server")
        if "app" in request.fixturenames:
            jobs.current().redis.flushdb()  # the queue, and the rate limits' counts
            _limits_on(request.getfixturevalue("app"))
    yield


def _limits_on(app) -> None:
    """The process has one rate limiter (its decorators are on the views); a variant app (tests/variant_app.py)
    points it at its own storage, and one whose Redis was away leaves it counting in memory. Back to the suite's
    Redis (init_app adds the app's hooks only once) with a fresh in-memory fallback."""
    limiter.init_app(app)
    limiter._storage_dead = False


@pytest.fixture(autouse=True)
def _no_mail_to_the_outside_world(monkeypatch):
    real_connect = smtplib.SMTP.connect

    def connect(self, host="localhost", port=0, source_address=None):
        if host not in ("127.0.0.1", "localhost", "::1"):
            pytest.fail(f"a test tried to send mail to {host}:{port}")
        return real_connect(self, host, port, source_address)

    monkeypatch.setattr(smtplib.SMTP, "connect", connect)


@pytest.fixture
def db(app):
    """The test's own session. It starts deferred (like a reader) so that between the test's commits the app
    and the worker can write; after-commit hooks are installed, so mail it queues is delivered for real."""
    factory = make_session_factory(app.extensions["akkoord_engine"], read_only=True)
    jobs.install(factory)
    session = factory()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def run_worker(app):
    """Drain the queue with a real RQ worker (no fork, as in RQ's own tests); returns the jobs it ran."""

    def run(*, scheduled_until: dt.datetime | None = None) -> int:
        runtime = jobs.current()
        q = jobs.queue()
        if scheduled_until is not None:
            from rq.registry import ScheduledJobRegistry

            registry = ScheduledJobRegistry(queue=q)
            for job_id in registry.get_jobs_to_schedule(int(scheduled_until.timestamp())):
                q.enqueue_job(q.fetch_job(job_id))
                registry.remove(job_id)
        worker = SimpleWorker([q], connection=runtime.redis)
        worker.work(burst=True)
        return worker.successful_job_count

    return run


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)
