"""`python -m service.embedded.devstack`: the whole service on one machine, with embedded Redis and SMTP by default.

It prepares instance/, starts what is not given by the environment (Redis
unless REDIS_URL, an SMTP server storing into instance/mailbox unless
SMTP_URL), runs the database migrations and the demo seed, then runs the RQ
worker and gunicorn until Ctrl-C or SIGTERM, or until one of them dies.
Children run in their own sessions, so a terminal's Ctrl-C reaches only this
process, which stops them in order: web and worker first, then SMTP and Redis.
Everything it and its children create (the database, the mailbox, the secret
key, Redis's files) is readable by its owner only: umask 077.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from service.config import secret_key_file
from service.embedded.servers import (
    MailStore,
    RedisServer,
    SmtpServer,
    child_process_options,
    start_redis_server,
    start_smtp_server,
)

ROOT = Path(__file__).resolve().parents[2]
INSTANCE = ROOT / "instance"
DEFAULT_PORT = 5000
# How long the worker may take to finish its current job, and gunicorn its requests.
STOP_GRACE_SECONDS = 15.0
READY_TIMEOUT_SECONDS = 60.0
# The mail in the mailbox holds sign-in and personal links, the database everything: no one else on the machine
# reads them. Children inherit the mask, so it holds for the files of Redis, SQLite, gunicorn and the worker too.
PRIVATE_UMASK = 0o077
_URL = re.compile(r"https?://\S+")


def venv_bin(name: str) -> str:
    """An executable of the virtualenv this Python runs in."""
    return str(Path(sys.executable).parent / name)


class Stopped(Exception):
    """A stop was asked for (Ctrl-C, SIGTERM, SIGHUP)."""


class StackFailed(Exception):
    """A step failed or a child died: the message says which."""


def write(text: str) -> None:
    # A closed terminal or pipe must not keep the stack from stopping.
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass


def say(text: str = "") -> None:
    write(f"[devstack] {text}\n" if text else "\n")


@dataclass
class Child:
    name: str
    process: subprocess.Popen


@dataclass
class Stack:
    instance: Path
    children: list[Child] = field(default_factory=list)
    redis: RedisServer | None = None
    smtp: SmtpServer | None = None
    signals_received: int = 0

    # -- signals -------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        # The handler only counts: every wait below polls, so a stop is noticed
        # within a fraction of a second and never tears a half-started child.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        # Only count: printing here could re-enter a write in progress.
        self.signals_received += 1

    def check(self) -> None:
        if self.signals_received:
            raise Stopped()

    def sleep(self, seconds: float) -> None:
        self.check()
        time.sleep(seconds)
        self.check()

    # -- setting up ----------------------------------------------------------

    def environment(self) -> dict[str, str]:
        """The environment of every child, starting the embedded parts it needs."""
        env = dict(os.environ)
        self.instance.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.instance.chmod(0o700)  # also when an earlier run (or a checkout) made it readable to others
        port = env.get("PORT") or str(DEFAULT_PORT)
        env["PORT"] = port
        if not env.get("REDIS_URL"):
            self.redis = start_redis_server(self.instance / "redis")
            env["REDIS_URL"] = self.redis.url
            say(f"Redis (embedded) at {self.redis.url}")
        self.check()
        if not env.get("SMTP_URL"):
            mailbox_dir = self.instance / "mailbox"
            self.smtp = start_smtp_server(MailStore(mailbox_dir))
            env["SMTP_URL"] = self.smtp.url
            env["MAILBOX_DIR"] = str(mailbox_dir)
            say(f"SMTP (embedded) at {self.smtp.url}, storing into {mailbox_dir}")
        self.check()
        env.setdefault("DATABASE_URL", f"sqlite:///{self.instance / 'akkoord.db'}")
        env.setdefault("BASE_URL", f"http://127.0.0.1:{port}")
        if not env.get("SECRET_KEY"):
            env["SECRET_KEY"] = self._persistent_secret_key()
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.setdefault("WEBHOOK_ALLOW_PRIVATE", "1")  # a webhook receiver tried out on this machine is on 127.0.0.1
        if env.get("METRICS_TOKEN"):
            # The web processes and the worker count into one directory (README, "Metrics and failed work"), emptied
            # for this run: a dead process's files would be summed into the new run's figures.
            metrics_dir = Path(env.get("PROMETHEUS_MULTIPROC_DIR") or self.instance / "metrics")
            metrics_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            for left in metrics_dir.glob("*.db"):
                left.unlink()
            env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        return env

    def _persistent_secret_key(self) -> str:
        # The same file service.config falls back on: one key per checkout,
        # so sessions survive a restart.
        return secret_key_file(self.instance / "secret_key")

    def spawn(self, name: str, command: list[str], env: dict[str, str], **options) -> subprocess.Popen:
        self.check()
        try:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, **child_process_options(), **options
            )
        except FileNotFoundError:
            raise StackFailed(f"{command[0]} does not exist: install the project first (scripts/run does).") from None
        self.children.append(Child(name, process))
        return process

    def run_step(self, name: str, command: list[str], env: dict[str, str]) -> list[str]:
        """Run a command to its end, passing its output through; its stdout lines are returned."""
        say(f"{name}: {' '.join(command[1:])}")
        process = self.spawn(name, command, env, stdout=subprocess.PIPE)
        lines: list[str] = []

        def pump() -> None:
            for raw in process.stdout:
                line = raw.decode("utf-8", errors="replace")
                lines.append(line.rstrip("\n"))
                write(line)

        pumping = threading.Thread(target=pump, daemon=True)
        pumping.start()
        while process.poll() is None:
            self.sleep(0.1)
        pumping.join(5)
        process.stdout.close()
        self.children = [c for c in self.children if c.process is not process]
        if process.returncode != 0:
            raise StackFailed(f"{name} failed with exit code {process.returncode}; see its output above.")
        return lines

    def wait_until_listening(self, port: int, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not _accepts_connections(port):
            self.check_children()
            if time.monotonic() >= deadline:
                raise StackFailed(f"Nothing accepted connections on port {port} within {timeout:g}s.")
            self.sleep(0.1)

    # -- running -------------------------------------------------------------

    def check_children(self) -> None:
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                raise StackFailed(f"{child.name} stopped unexpectedly (exit code {code}); stopping the rest.")

    def watch(self) -> None:
        while True:
            self.check_children()
            self.sleep(0.2)

    # -- stopping ------------------------------------------------------------

    def stop(self) -> None:
        """Stop children first (they may still use Redis), then SMTP, then Redis."""
        running = [c for c in self.children if c.process.poll() is None]
        if running:
            say("Stopping " + ", ".join(c.name for c in running) + " ...")
        for child in running:
            _signal(child.process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in running:
            while child.process.poll() is None and time.monotonic() < deadline and self.signals_received < 2:
                time.sleep(0.05)
        if self.signals_received >= 2 and any(c.process.poll() is None for c in running):
            say("Asked again: killing what is left.")
        # The process group also holds what a child started (gunicorn's workers,
        # the worker's job process): take it all down if anything is left.
        for child in self.children:
            _kill_group(child.process)
            child.process.wait()
        self.children = []
        if self.smtp is not None:
            self.smtp.stop()
            self.smtp = None
        if self.redis is not None:
            self.redis.stop()
            self.redis = None


def _signal(process: subprocess.Popen, signum: int) -> None:
    try:
        process.send_signal(signum)
    except ProcessLookupError:
        pass


def _kill_group(process: subprocess.Popen) -> None:
    # Each child leads its own session, so its process group id is its pid.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _accepts_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _sign_in_url(seed_output: list[str]) -> str | None:
    # The contract: seed-demo's last line is the coordinator's sign-in URL.
    for line in reversed(seed_output):
        if line.strip():
            urls = _URL.findall(line)
            return urls[-1] if urls else None
    return None


def _banner(env: dict[str, str], sign_in: str | None) -> str:
    base_url = env["BASE_URL"].rstrip("/")
    rows = [("App", base_url)]
    if env.get("MAILBOX_DIR"):
        rows.append(("Mailbox", f"{base_url}/mailbox/"))
    rows.append(("Sign in", sign_in or "(seed-demo printed no sign-in link)"))
    width = max(len(value) for _, value in rows) + 14
    lines = ["=" * width, "  Akkoord is running.", ""]
    lines += [f"  {label + ':':<10} {value}" for label, value in rows]
    lines += ["", "  Open the sign-in link to act as the demo coordinator.", "  Press Ctrl-C to stop.", "=" * width]
    return "\n".join(lines)


def run(instance: Path = INSTANCE) -> int:
    os.umask(PRIVATE_UMASK)
    stack = Stack(instance)
    stack.install_signal_handlers()
    try:
        port = int(os.environ.get("PORT") or DEFAULT_PORT)
        if _accepts_connections(port):
            raise StackFailed(f"Port {port} is already in use; stop what runs there, or set PORT.")
        env = stack.environment()
        flask = [venv_bin("flask"), "--app", "service"]
        stack.run_step("db-upgrade", [*flask, "db-upgrade"], env)
        sign_in = _sign_in_url(stack.run_step("seed-demo", [*flask, "seed-demo"], env))
        stack.spawn("worker", [*flask, "worker"], env)
        stack.spawn(
            "web",
            [venv_bin("gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "-w", "2", "-b", f"127.0.0.1:{port}",
             "service:create_app()"],
            env,
        )
        stack.wait_until_listening(port)
        write("\n" + _banner(env, sign_in) + "\n\n")
        stack.watch()
    except Stopped:
        say()
        say("Stop asked.")
        return 0
    except StackFailed as failure:
        say(str(failure))
        return 1
    finally:
        stack.stop()
        say("Everything is stopped.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m service.embedded.devstack",
        description=(
            "Run Akkoord on this machine: embedded Redis and SMTP (with a mailbox page) unless "
            "REDIS_URL / SMTP_URL are set; SQLite under instance/ unless DATABASE_URL is set. "
            "PORT (default 5000), BASE_URL and SECRET_KEY are honoured too."
        ),
    )
    parser.parse_args(argv)
    return run()


if __name__ == "__main__":
    sys.exit(main())
