"""The fault suite's real parts: an SMTP server the test steers, and a stack of Redis, two workers and a web server
as separate processes, each in its own process group, always stopped, with their logs at hand for a failure."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import NamedTuple, TypeVar
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller
from redis import Redis
from rq import Worker

from service.embedded.servers import (
    SMTP_DATA_SIZE_LIMIT,
    MailStore,
    RedisServer,
    SmtpServer,
    _StoringHandler,
    child_process_options,
    free_port,
    start_redis_server,
)
from workflows.outbound import outbox

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"

# The outbox's clock compressed: a claim stale after 6 s, a due item's lost job replaced after 4 s, the tick every
# 2 s (the defaults are 15 times longer: 90 s, 60 s, 30 s), retries after 1, 2, 4, ... s (by default 1 min, 5 min,
# 15 min, ...). Same code path, shorter clock (service/config.py reads these settings).
RETRY_SCHEDULE = (1, 2, 4, 8, 16, 32)
CLAIM_TIMEOUT = 6
SWEEP_GRACE = 4
TICK_SECONDS = 2
if os.environ.get("AKKOORD_FAULT_CLOCK") == "production":
    # The service's own defaults, to measure recovery as an operator sees it (bench/README.md); minutes a scenario.
    RETRY_SCHEDULE, CLAIM_TIMEOUT, SWEEP_GRACE = outbox.RETRY_SCHEDULE, outbox.CLAIM_TIMEOUT, outbox.SWEEP_GRACE
    TICK_SECONDS = 30
SETTINGS = {
    "OUTBOX_RETRY_SCHEDULE": ",".join(str(s) for s in RETRY_SCHEDULE),
    "OUTBOX_CLAIM_TIMEOUT": str(CLAIM_TIMEOUT),
    "OUTBOX_SWEEP_GRACE": str(SWEEP_GRACE),
    "TICK_SECONDS": str(TICK_SECONDS),
    # Every member's link is followed from this one machine (127.0.0.1); real members each come from their own
    # address. The limit's code runs as always, counting from a higher ceiling.
    "LIMIT_TOKEN_LINKS": "10000/minute",
}
SECRET_KEY = "faults-secret-key"
MAIL_FROM = "Akkoord <akkoord@faults.invalid>"
LOG_TAIL_LINES = 40

T = TypeVar("T")


# --- An SMTP server the test steers ---------------------------------------------------------------------------


class Attempt(NamedTuple):
    """One delivery attempt as the SMTP server saw it: when (time.time()), for whom, and what it answered."""

    at: float
    recipient: str
    answer: str


DEFERRED = "451 4.3.0 Temporary local problem, please try again later"


def refusal(address: str) -> str:
    return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"


class SteeredHandler(_StoringHandler):
    """Stores what it accepts in a MailStore (as the embedded server does) and logs every attempt; the test may
    make it answer 451 4.3.0 to every message (`defer = True`) or to those for chosen recipients (`defer` a set
    of addresses), 550 5.1.1 to chosen recipients (`refuse`), and take
    `delay` seconds over each message it accepts (after storing it: a worker killed meanwhile has had the mail
    delivered without hearing so, which is how a crash sends a mail twice)."""

    def __init__(self, store: MailStore):
        super().__init__(store)
        self.defer: bool | set[str] = False
        self.refuse: set[str] = set()
        self.delay = 0.0
        self._attempts: list[Attempt] = []
        self._lock = threading.Lock()

    def _log(self, recipient: str, answer: str) -> None:
        with self._lock:
            self._attempts.append(Attempt(time.time(), recipient.lower(), answer))

    def attempts(self, recipient: str | None = None) -> list[Attempt]:
        with self._lock:
            found = list(self._attempts)
        return found if recipient is None else [a for a in found if a.recipient == recipient.lower()]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address.lower() in self.refuse:
            answer = refusal(address)
            self._log(address, answer)
            return answer
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.defer is True or (self.defer and {r.lower() for r in envelope.rcpt_tos} & self.defer):
            for recipient in envelope.rcpt_tos:
                self._log(recipient, DEFERRED)
            return DEFERRED
        answer = await super().handle_DATA(server, session, envelope)
        for recipient in envelope.rcpt_tos:
            self._log(recipient, answer)
        if self.delay:
            await asyncio.sleep(self.delay)
        return answer


def start_steered_smtp(store: MailStore) -> tuple[SmtpServer, SteeredHandler]:
    handler = SteeredHandler(store)
    for attempt in range(5):
        controller = Controller(handler, hostname=HOST, port=free_port(), data_size_limit=SMTP_DATA_SIZE_LIMIT,
                                decode_data=False)
        try:
            controller.start()
        except OSError:  # the port was taken between choosing and binding
            controller.loop.close()
            if attempt == 4:
                raise
            continue
        return SmtpServer(controller, store), handler
    raise AssertionError("unreachable")


# --- Child processes ------------------------------------------------------------------------------------------


@dataclass
class Child:
    """A process started in a session of its own: its group holds what it forked (RQ's scheduler, gunicorn's
    workers), so a signal to the group reaches all of it and nothing else."""

    name: str
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """kill -9 of the process and everything in its group, as a crash or the OOM killer would."""
        self.signal_group(signal.SIGKILL)
        self.process.wait(10)

    def finish(self, timeout: float) -> None:
        """After a SIGTERM: wait for it to end, then kill what is left in its group (a scheduler, a work horse)."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        self.signal_group(signal.SIGKILL)
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        state = "running" if self.alive() else f"exited with {self.process.returncode}"
        return f"--- {self.name} (pid {self.pid}, {state}), last {lines} lines of {self.log}:\n" + \
            "\n".join(text.splitlines()[-lines:])


def http_request(method: str, url: str, body: dict | None = None, headers: dict | None = None,
                 timeout: float = 60.0) -> tuple[int, dict, bytes]:
    """One request to the web server (redirects are not followed): (status, headers, body)."""
    parts = urlsplit(url)
    connection = HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    data = None if body is None else json.dumps(body).encode()
    headers = dict(headers or {})
    if data is not None:
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=data,
                           headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@dataclass
class Stack:
    """Redis, the steered SMTP server, workers and (when asked) a web server for one scenario."""

    directory: Path
    database_url: str
    redis: RedisServer | None = None
    smtp: SmtpServer | None = None
    handler: SteeredHandler | None = None
    store: MailStore | None = None
    workers: list[Child] = field(default_factory=list)
    web: Child | None = None
    web_port: int = 0
    redis_port: int = 0
    _redis_starts: int = 0
    _stopped: list[Child] = field(default_factory=list)

    # Starting ------------------------------------------------------------------------------------------------

    def launch(self, *, workers: int = 2, web: bool = True) -> Stack:
        """Start everything; the processes boot while the test makes its data (see ready())."""
        self.store = MailStore(self.directory / "mailbox")
        self.smtp, self.handler = start_steered_smtp(self.store)
        self.start_redis()
        # The links in the mails point at the web server, so its port is chosen first.
        self.web_port = free_port()
        if web:
            self.start_web()
        for _ in range(workers):
            self.start_worker()
        return self

    def ready(self) -> Stack:
        """Wait until the workers are registered in Redis and the web server answers."""
        self.wait_for_workers(len(self.workers))
        if self.web is not None:
            self.wait_for_web()
        return self

    def start_redis(self) -> RedisServer:
        """Redis on the stack's port (a free one the first time) with a new, empty data folder each time."""
        self._redis_starts += 1
        self.redis = start_redis_server(self.directory / f"redis-{self._redis_starts}", port=self.redis_port)
        self.redis_port = self.redis.port
        return self.redis

    def stop_redis(self) -> None:
        self.redis.stop()

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.redis_port}/0"

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.web_port}"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in ("MAILBOX_DIR", "TEST_DATABASE_URL")}
        env.update(SETTINGS)
        env.update({
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SMTP_URL": self.smtp.url,
            "BASE_URL": self.base_url,
            "SECRET_KEY": SECRET_KEY,
            "MAIL_FROM": MAIL_FROM,
            "WEBHOOK_ALLOW_PRIVATE": "1",
        })
        return env

    def _spawn(self, name: str, args: list[str]) -> Child:
        log = self.directory / f"{name}.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(args, env=self.env(), cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, **child_process_options())
        return Child(name, process, log)

    def start_worker(self) -> Child:
        worker = self._spawn(f"worker-{len(self.workers) + len(self._stopped) + 1}",
                             [str(VENV_BIN / "flask"), "--app", "service", "worker"])
        self.workers.append(worker)
        return worker

    def start_web(self) -> Child:
        self.web = self._spawn("web", [str(VENV_BIN / "gunicorn"), "-w", "2", "-b", f"{HOST}:{self.web_port}",
                                       "--timeout", "60", "service:create_app()"])
        return self.web

    def wait_for_workers(self, count: int, timeout: float = 30.0) -> None:
        connection = Redis.from_url(self.redis_url)
        try:
            self.wait(lambda: Worker.count(connection=connection) >= count, timeout, f"{count} workers registered",
                      check_children=True)
        finally:
            connection.close()

    def wait_for_web(self, timeout: float = 30.0) -> None:
        def answers() -> bool:
            try:
                return http_request("GET", f"{self.base_url}/hello", timeout=2)[0] == 200
            except OSError:
                return False

        self.wait(answers, timeout, "the web server to answer", check_children=True)

    # Faults --------------------------------------------------------------------------------------------------

    def kill_worker(self, index: int = 0) -> Child:
        worker = self.workers.pop(index)
        worker.kill()
        self._stopped.append(worker)
        return worker

    # Waiting and explaining ----------------------------------------------------------------------------------

    def children(self) -> list[Child]:
        return [*self.workers, *([self.web] if self.web else []), *self._stopped]

    def logs(self) -> str:
        parts = [child.tail() for child in self.children()]
        if self.redis is not None:
            try:
                parts.append(f"--- redis log {self.redis.log_path}:\n"
                             + "\n".join(self.redis.log_path.read_text(errors="replace").splitlines()[-10:]))
            except FileNotFoundError:
                pass
        return "\n".join(parts)

    def explain(self, message: str) -> str:
        """An assertion message with the tail of every process's log."""
        return f"{message}\n\n{self.logs()}"

    def wait(self, predicate: Callable[[], T], timeout: float, what: str, *, interval: float = 0.1,
             check_children: bool = False) -> T:
        """Poll until predicate() is true; return its value. On time-out an AssertionError with the logs."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if check_children:
                dead = [c for c in self.workers + ([self.web] if self.web else []) if not c.alive()]
                if dead:
                    raise AssertionError(self.explain(f"{', '.join(c.name for c in dead)} exited while waiting "
                                                      f"for {what}"))
            if time.monotonic() >= deadline:
                raise AssertionError(self.explain(f"waited {timeout:g} s for {what}, in vain"))
            time.sleep(interval)

    # Stopping ------------------------------------------------------------------------------------------------

    def stop(self, grace: float = 3.0) -> None:
        """Every process, all at once: SIGTERM to each group, a moment for them to finish, then SIGKILL."""
        children = [*self.workers, *([self.web] if self.web else []), *self._stopped]
        for child in children:
            if child.alive():
                child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in children:
            child.finish(timeout=max(0.1, deadline - time.monotonic()))
        if self.smtp is not None:
            self.smtp.stop()
        if self.redis is not None:
            self.redis.stop()
