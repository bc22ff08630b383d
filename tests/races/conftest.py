"""A real gunicorn server (several processes, several threads each) on the suite's database, Redis and SMTP server,
for races over real HTTP; its log tail goes with every failure, and on PostgreSQL every deadlock counts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from service.api import problems
from service.embedded.servers import child_process_options, free_port
from storage.database.models import Document, Membership, Network, Participant, Person, Round, Version
from tests.factories import make_document, make_network, open_round, participant, unique
from tests.races.harness import HOST, Answer, Request, send
from workflows.domain import api_tokens, rounds

ROOT = Path(__file__).resolve().parents[2]
WORKERS, THREADS = 4, 4
# The server's connections carry this name on PostgreSQL, so the test can find them (and only them).
APPLICATION_NAME = "akkoord-races"
LOG_TAIL = 80


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log: Path
    spec: dict = field(default_factory=dict)

    def tail(self, lines: int = LOG_TAIL) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError as error:
            return f"(no log: {error})"

    def documented(self, method: str, path: str) -> set[int]:
        """The statuses the API description lists for an operation (path as in the description)."""
        return {int(code) for code in self.spec["paths"][path][method.lower()]["responses"]}


def _server_database_url(url: str) -> str:
    if url.startswith("sqlite"):
        return url
    return f"{url}{'&' if '?' in url else '?'}application_name={APPLICATION_NAME}"


def _stop(process: subprocess.Popen) -> None:
    # gunicorn runs in a session of its own: its process group is exactly the master and its workers.
    for signum, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="package")
def race_server(database_url, redis_server, smtp_server, tmp_path_factory) -> Server:
    """gunicorn with WORKERS processes of THREADS threads, configured from the environment as in production; for
    the races only (stopped after the last of them, also when one fails)."""
    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {key: value for key, value in os.environ.items() if key != "MAILBOX_DIR"}
    env.update({
        "DATABASE_URL": _server_database_url(database_url),
        "REDIS_URL": redis_server.url,
        "SMTP_URL": smtp_server.url,
        "BASE_URL": f"http://{HOST}:{port}",
        "SECRET_KEY": "race-secret",
        "MAIL_FROM": "Akkoord <akkoord@test.invalid>",
    })
    args = [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-k", "gthread", "--threads", str(THREADS),
            "-b", f"{HOST}:{port}", "--timeout", "60", "--graceful-timeout", "5",
            "--access-logfile", "-", "--error-logfile", "-",
            "--no-control-socket",  # one default path for every gunicorn on the machine: not for a test server
            "--access-logformat", '%(h)s "%(r)s" %(s)s %(M)sms pid=%(p)s', "service:create_app()"]
    with open(log, "wb") as out:
        process = subprocess.Popen(args, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, **child_process_options())
    server = Server(port, process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{server.tail()}")
            try:
                if send(port, Request("GET", "/hello")).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer within 60 s:\n{server.tail()}")
            time.sleep(0.1)
        # Every worker process up before the first race, so no trial waits for a worker to boot.
        while len(_worker_pids(server)) < WORKERS and time.monotonic() < deadline:
            send(port, Request("GET", "/hello"))
            time.sleep(0.05)
        server.spec = send(port, Request("GET", "/api/v1/openapi.json")).json()
        yield server
    finally:
        _stop(process)


def _worker_pids(server: Server) -> set[str]:
    return {line.rsplit("pid=", 1)[1] for line in server.tail(10_000).splitlines() if "pid=" in line}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    server = getattr(item, "funcargs", {}).get("race_server")
    if report.failed and server is not None:
        report.sections.append((f"gunicorn log, last {LOG_TAIL} lines ({server.log})", server.tail()))


# --- PostgreSQL's deadlock count ----------------------------------------------------------------------------------


class DeadlockCount:
    """pg_stat_database.deadlocks of the test database. A backend reports its counts at most once a second and
    certainly when it exits, so the server's connections are ended (its pools open new ones) before each reading."""

    def __init__(self, url: str):
        self.engine = None if url.startswith("sqlite") else create_engine(
            url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self.before = self.read()

    def since_start(self) -> int:
        """Deadlocks since this counter was made (0 on SQLite, which serialises writers)."""
        return 0 if self.engine is None else self.read() - self.before

    def read(self) -> int | None:
        if self.engine is None:
            return None
        with self.engine.connect() as connection:
            connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = :name"), {"name": APPLICATION_NAME})
            for _ in range(100):
                if not connection.scalar(text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND application_name = :name"), {"name": APPLICATION_NAME}):
                    break
                time.sleep(0.05)
            connection.execute(text("SELECT pg_stat_clear_snapshot()"))
            return connection.scalar(text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"))

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


@pytest.fixture
def deadlocks(race_server, database_url):
    """On PostgreSQL: the test asserts that no transaction was chosen as a deadlock victim while it ran. With one
    lock order none can be; a deadlock the server retried away would still show two workflows locking in
    opposite orders."""
    counter = DeadlockCount(database_url)
    yield counter
    counter.close()


# --- The people and the documents of a race ------------------------------------------------------------------------


@dataclass
class Team:
    """One network: a coordinator, two editors, two members; API tokens for the coordinator and both editors."""

    network: Network
    coordinator: Person
    editors: list[Membership]
    members: list[Membership]
    coordinator_token: str
    editor_tokens: list[str]

    @property
    def voters(self) -> list[Person]:
        return [self.coordinator, *(m.person for m in self.editors), *(m.person for m in self.members)]


@pytest.fixture
def team(app, db, race_server) -> Team:
    network, coordinator, people = make_network(db, members=2, editors=2)
    editors = [m for m in people if m.role == "editor"]
    members = [m for m in people if m.role == "member"]
    _t, coordinator_token = api_tokens.create_token(db, network, coordinator, role="coordinator", name="races")
    editor_tokens = [api_tokens.create_token(db, network, m.person, role="editor", name="races")[1] for m in editors]
    db.commit()
    return Team(network, coordinator, editors, members, coordinator_token, editor_tokens)


@dataclass
class Case:
    """A fresh document with one version and an open round; the first member's personal round token."""

    document: Document
    version: Version
    round: Round
    member: Participant
    member_token: str


def new_case(db, team: Team, *, everyone_agrees: bool = False) -> Case:
    document, version = make_document(db, team.network, team.coordinator)
    round_ = open_round(db, document, team.coordinator)
    if everyone_agrees:
        for person in team.voters:
            voter = participant(db, round_, _membership(db, team, person))
            rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    member = participant(db, round_, team.members[0])
    token = rounds.mint_link(db, member.id)
    db.commit()
    return Case(document, version, round_, member, token)


def _membership(db, team: Team, person: Person) -> Membership:
    return db.scalar(select(Membership).where(Membership.network_id == team.network.id,
                                              Membership.person_id == person.id, Membership.left_at.is_(None)))


def new_text(tag: str = "") -> bytes:
    """A version text no other upload has (blobs are stored by content)."""
    tag = tag or unique("t")
    return (f"# Samenwerkingsovereenkomst\n\n## Artikel 1 Doel\n\nDe partijen werken samen ({tag}).\n\n"
            f"## Artikel 2 Taken\n\n- De huisartsen verwijzen tijdig.\n").encode()


# --- Answers -------------------------------------------------------------------------------------------------------


def dutch(app, code: str) -> str:
    """The Dutch text of a problem code, as the API must answer it without Accept-Language."""
    with app.test_request_context(), force_locale("nl"):
        return problems.message(code)


def expect(app, server: Server, answer: Answer, operation: tuple[str, str], allowed: dict[int, set[str] | None]
           ) -> None:
    """No server error; a status the description documents for the operation and this race allows; a refusal is
    a problem with a code this race allows, its detail in Dutch."""
    assert answer.status < 500, f"server error: {answer}"
    assert answer.status in server.documented(*operation), f"undocumented status for {operation}: {answer}"
    assert answer.status in allowed, f"unexpected answer: {answer}"
    codes = allowed[answer.status]
    if answer.status >= 400:
        assert answer.header("Content-Type").startswith(problems.PROBLEM), answer
        assert answer.header("Content-Language") == "nl", answer
        problem = answer.json()
        assert problem["status"] == answer.status and problem["code"] in codes, answer
        assert problem["detail"] == dutch(app, problem["code"]), f"not the Dutch message: {answer}"
