"""Fixtures of the fault suite: its own migrated database (a SQLite file, or a schema of its own in the PostgreSQL
database of TEST_DATABASE_URL), a stack of real processes per test that is always stopped, and the recovery times
it measured, printed at the end of the run."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, make_url, text, update

from storage.database.engine import make_engine, make_session_factory, upgrade
from storage.database.models import OutboxItem
from tests.faults.harness import Stack

SCHEMA = "faults"
FIGURES: list[str] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the test, so the stack's finalizer knows whether to print the logs.
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"faults_report_{report.when}", report)


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        database = "PostgreSQL" if os.environ.get("TEST_DATABASE_URL") else "SQLite"
        clock = "production clock" if os.environ.get("AKKOORD_FAULT_CLOCK") == "production" else "compressed clock"
        terminalreporter.write_sep("-", f"fault recovery times ({database}, {clock})")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def fault_database(tmp_path_factory):
    """A database of the suite's own: its workers sweep everything due in it, so other tests' rows stay out."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('faults-db') / 'faults.db'}"
        upgrade(url)
        yield url
        return
    # The same PostgreSQL database as the rest of the suite, in a schema of its own (every connection of the
    # test and of the processes it starts gets it as its search path).
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    own = make_url(url).update_query_dict({"options": f"-csearch_path={SCHEMA}"})
    own_url = own.render_as_string(hide_password=False)
    upgrade(own_url)
    yield own_url
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    admin.dispose()


@pytest.fixture(scope="module")
def sessions(fault_database):
    """(writing, reading) session factories on the suite's database; reading ones never hold SQLite's write lock."""
    engine = make_engine(fault_database)
    yield make_session_factory(engine), make_session_factory(engine, read_only=True)
    engine.dispose()


@pytest.fixture
def stack(request, tmp_path, fault_database, sessions):
    """A stack for one scenario (the test starts what it needs); stopped whatever happens, with every process's
    log printed when the test failed. Outbox work an earlier scenario left (when it failed) is called off first,
    so that this one's workers do not spend their time on it."""
    writing, _ = sessions
    with writing() as session:
        session.execute(update(OutboxItem).where(OutboxItem.status.in_(("pending", "sending")))
                        .values(status="cancelled", failure="not_needed", next_attempt_at=None))
        session.commit()
    stack = Stack(tmp_path, fault_database)

    def finish():
        failed = any(getattr(getattr(request.node, f"faults_report_{when}", None), "failed", False)
                     for when in ("setup", "call"))
        try:
            if failed:
                print(f"\nLogs of the fault test's processes:\n{stack.logs()}")
        finally:
            stack.stop()

    request.addfinalizer(finish)
    return stack


@pytest.fixture
def figures():
    return FIGURES
