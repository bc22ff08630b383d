"""All configuration, read from the environment here and nowhere else."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from workflows.outbound.outbox import CLAIM_TIMEOUT, RETRY_SCHEDULE, SWEEP_GRACE

ROOT = Path(__file__).resolve().parents[1]
INSTANCE = ROOT / "instance"


def _secret_key(environ) -> str:
    if environ.get("SECRET_KEY"):
        return environ["SECRET_KEY"]
    # Embedded default: one key per checkout, shared by every local process (web workers, worker).
    path = INSTANCE / "secret_key"
    if not path.exists():
        INSTANCE.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
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
    }


def _seconds_list(value: str | None, default: tuple[int, ...]) -> tuple[float, ...]:
    if not value:
        return tuple(default)
    return tuple(float(part) for part in value.split(",") if part.strip())
