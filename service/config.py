"""All configuration, read from the environment here and nowhere else."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from limits import parse_many

from workflows.outbound.outbox import CLAIM_TIMEOUT, RETRY_SCHEDULE, SWEEP_GRACE

ROOT = Path(__file__).resolve().parents[1]
INSTANCE = ROOT / "instance"


def _secret_key(environ) -> str:
    if environ.get("SECRET_KEY"):
        return environ["SECRET_KEY"]
    # Embedded default: one key per checkout, shared by every local process (web workers, worker).
    return secret_key_file(INSTANCE / "secret_key")


def secret_key_file(path: Path) -> str:
    """The key kept in `path`, made the first time: readable by its owner only (the folder too), and complete
    before anyone can read it (written aside, then linked into place; whoever links first wins)."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    return path.read_text().strip()


def from_environment(environ=None) -> dict:
    environ = os.environ if environ is None else environ
    base_url = environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    return {
        "SECRET_KEY": _secret_key(environ),
        "DATABASE_URL": environ.get("DATABASE_URL", f"sqlite:///{INSTANCE / 'akkoord.db'}"),
        "REDIS_URL": environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "SMTP_URL": environ.get("SMTP_URL", "smtp://127.0.0.1:8025"),
        "MAIL_FROM": environ.get("MAIL_FROM", "Akkoord <akkoord@localhost>"),
        "BASE_URL": base_url,
        "MAILBOX_DIR": environ.get("MAILBOX_DIR") or None,
        "SESSION_COOKIE_SECURE": base_url.startswith("https://"),
        # Webhooks to private, loopback and link-local addresses (and plain http to loopback): tests and the
        # dev stack only; on a server it would let a coordinator make the workers call the internal network.
        "WEBHOOK_ALLOW_PRIVATE": environ.get("WEBHOOK_ALLOW_PRIVATE", "").lower() in ("1", "true", "yes"),
        # The outbox's clock (seconds). The defaults are for people; a fault test compresses them, and the code
        # path stays the same: OUTBOX_RETRY_SCHEDULE is the wait after each failed attempt ("60,300,900,...").
        "OUTBOX_RETRY_SCHEDULE": _seconds_list(environ.get("OUTBOX_RETRY_SCHEDULE"), RETRY_SCHEDULE),
        "OUTBOX_CLAIM_TIMEOUT": float(environ.get("OUTBOX_CLAIM_TIMEOUT", CLAIM_TIMEOUT)),
        "OUTBOX_SWEEP_GRACE": float(environ.get("OUTBOX_SWEEP_GRACE", SWEEP_GRACE)),
        "TICK_SECONDS": int(environ.get("TICK_SECONDS", 30)),
        # Browser sessions (README, "Sessions"): how long one may lie unused (idle) and how long it lasts at most
        # (lifetime), for coordinators and editors (staff) and for members' personal-link sessions. Seconds, or
        # a number with a unit: 90m, 4h, 7d.
        "SESSION_STAFF_IDLE": _duration(environ, "SESSION_STAFF_IDLE", "4h"),
        "SESSION_STAFF_LIFETIME": _duration(environ, "SESSION_STAFF_LIFETIME", "12h"),
        "SESSION_MEMBER_IDLE": _duration(environ, "SESSION_MEMBER_IDLE", "7d"),
        "SESSION_MEMBER_LIFETIME": _duration(environ, "SESSION_MEMBER_LIFETIME", "30d"),
        # How many reverse proxies stand in front of the web processes (0: none, the default). Each adds itself to
        # X-Forwarded-For and sets X-Forwarded-Proto; only that many hops from the right are believed, so the
        # client address kept as verdict evidence and counted by the rate limits is the real client's.
        "TRUSTED_PROXIES": _hops(environ.get("TRUSTED_PROXIES")),
        # Rate limits, in Flask-Limiter's notation ("10/minute;50/hour"), counted in Redis for all processes.
        # Per client address: sign-in and lost-link requests (each page its own count); requests whose URL
        # carries a token (/l/<token>, /signin/<token>), together; refused secrets (an unknown, used or dead
        # link or sign-in token, a refused API token), together. Per address asked for: the mails sent, per kind
        # (beyond it a request gets the same answer and sends nothing, so nobody is locked out by a stranger).
        "LIMIT_ADDRESS_REQUESTS": _limit(environ, "LIMIT_ADDRESS_REQUESTS", "10/minute;50/hour"),
        "LIMIT_MAILS_PER_ADDRESS": _limit(environ, "LIMIT_MAILS_PER_ADDRESS", "5/hour"),
        "LIMIT_TOKEN_LINKS": _limit(environ, "LIMIT_TOKEN_LINKS", "60/minute;600/hour"),
        "LIMIT_FAILED_SECRETS": _limit(environ, "LIMIT_FAILED_SECRETS", "10/minute;100/hour"),
        # Health and logs (README, "Health and logs"). LOG_FORMAT: text (readable, the default) or json (one JSON
        # object a line); LOG_LEVEL: DEBUG, INFO, WARNING, ERROR. /readyz warns (and still answers 200) when the
        # periodic tick last finished more than READY_TICK_INTERVALS x TICK_SECONDS ago, or a due mail or webhook
        # post has waited more than READY_OUTBOX_DUE_AGE for a worker.
        "LOG_FORMAT": _choice(environ, "LOG_FORMAT", ("text", "json")),
        "LOG_LEVEL": _choice(environ, "LOG_LEVEL", ("INFO", "DEBUG", "WARNING", "ERROR")),
        "READY_TICK_INTERVALS": float(environ.get("READY_TICK_INTERVALS", 3)),
        "READY_OUTBOX_DUE_AGE": _duration(environ, "READY_OUTBOX_DUE_AGE", "5m").total_seconds(),
        # Retention (README, "Retention"): one worker deletes what is no longer needed at most once per
        # RETENTION_EVERY: personal links and sign-in tokens RETENTION_LINKS after they expired or were revoked, mail
        # and webhook deliveries RETENTION_OUTBOX after they were delivered, RQ's failed jobs RETENTION_FAILED_JOBS
        # after they failed; RETENTION_BATCH rows per transaction. Evidence of verdicts and final documents stays.
        "RETENTION_EVERY": _duration(environ, "RETENTION_EVERY", "1d"),
        "RETENTION_LINKS": _duration(environ, "RETENTION_LINKS", "30d"),
        "RETENTION_OUTBOX": _duration(environ, "RETENTION_OUTBOX", "90d"),
        "RETENTION_FAILED_JOBS": _duration(environ, "RETENTION_FAILED_JOBS", "30d"),
        "RETENTION_BATCH": int(environ.get("RETENTION_BATCH", 500)),
        # Metrics (README, "Metrics and failed work"): /metrics answers only a request with "Authorization: Bearer
        # <METRICS_TOKEN>" (unset: the page does not exist). PROMETHEUS_MULTIPROC_DIR, set for every process before
        # it starts (prometheus_client reads it at import), is where gunicorn's and the workers' processes keep
        # their counters, so that one scrape sums them all; empty it before the processes start.
        "METRICS_TOKEN": environ.get("METRICS_TOKEN") or None,
        "PROMETHEUS_MULTIPROC_DIR": environ.get("PROMETHEUS_MULTIPROC_DIR") or None,
    }


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(environ, name: str, default: str) -> dt.timedelta:
    value = (environ.get(name) or "").strip().lower() or default
    number, unit = (value[:-1], value[-1]) if value[-1:] in _UNITS else (value, "s")
    try:
        seconds = float(number) * _UNITS[unit]
    except ValueError:
        raise ValueError(f"{name}: not a duration: {value!r} (seconds, or a number with s, m, h or d)") from None
    if seconds <= 0:
        raise ValueError(f"{name}: must be more than zero: {value!r}")
    return dt.timedelta(seconds=seconds)


def _choice(environ, name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first is the default), in any case."""
    value = (environ.get(name) or "").strip() or choices[0]
    for choice in choices:
        if value.lower() == choice.lower():
            return choice
    raise ValueError(f"{name} is one of {', '.join(choices)}, not {value!r}")


def _limit(environ, name: str, default: str) -> str:
    value = (environ.get(name) or "").strip() or default
    try:
        parse_many(value)
    except ValueError as error:
        raise ValueError(f"{name} is a rate limit such as {default!r}, not {value!r}") from error
    return value


def _hops(value: str | None) -> int:
    hops = (value or "").strip() or "0"
    if not hops.isascii() or not hops.isdigit():
        raise ValueError(f"TRUSTED_PROXIES is the number of proxies in front of the service (0, 1, ...), not {value!r}")
    return int(hops)


def _seconds_list(value: str | None, default: tuple[int, ...]) -> tuple[float, ...]:
    if not value:
        return tuple(default)
    return tuple(float(part) for part in value.split(",") if part.strip())
