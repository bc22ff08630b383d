"""The rate limits of everything that sends mail or checks a secret, from the settings (service/config.py), counted
by Flask-Limiter in Redis so that every web process shares the counts."""

from __future__ import annotations

import hashlib
import logging
import time

from flask import current_app, request
from flask.wrappers import Response
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from service.web.extensions import limiter
from workflows.domain.people import normalise_email

log = logging.getLogger(__name__)

# Counted together across the views that share them (Flask-Limiter's shared limits).
TOKEN_LINKS = "token-links"
FAILED_SECRETS = "failed-secrets"
# Where the mails per address are counted while Redis cannot be reached: this process only (as Flask-Limiter's own
# in-memory fallback does for the other limits).
_local = MovingWindowRateLimiter(MemoryStorage())


def address_requests() -> str:
    return current_app.config["LIMIT_ADDRESS_REQUESTS"]


def token_links() -> str:
    return current_app.config["LIMIT_TOKEN_LINKS"]


def failed_secrets() -> str:
    return current_app.config["LIMIT_FAILED_SECRETS"]


def refused(response: Response) -> bool:
    """A secret that did not check out: a dead, used or unknown link or sign-in token (410), or a token the API
    refused (401; a request without one checked nothing). Only these count against LIMIT_FAILED_SECRETS, so
    people who use their links and tokens never do."""
    if response.status_code == 401:
        return "Authorization" in request.headers
    return response.status_code == 410


def mail_allowed(kind: str, email: str) -> bool:
    """Count one mail of this kind to this address; False once the address had its share (LIMIT_MAILS_PER_ADDRESS).
    Counted for every address asked for, known or not, with the same Redis calls; the key is the address's hash
    (no addresses in Redis). Beyond the share nothing is sent and the page answers the same: no 429 for whoever
    typed the address, so a stranger cannot lock its owner out."""
    digest = hashlib.sha256(normalise_email(email).encode()).hexdigest()
    items = parse_many(current_app.config["LIMIT_MAILS_PER_ADDRESS"])
    try:
        return all([limiter.limiter.hit(item, "mails-per-address", kind, digest) for item in items])
    except Exception:  # noqa: BLE001 - whatever the storage raised, the page must not fail for it
        log.warning("rate limit storage unreachable; counting mails per address in this process", exc_info=True)
        return all([_local.hit(item, "mails-per-address", kind, digest) for item in items])


def wait_minutes() -> int:
    """Minutes until the limit this request broke lets a request through again, rounded (at least 1; the
    Retry-After header has the seconds)."""
    current = limiter.current_limit
    if current is None:
        return 1
    try:
        return max(1, round((current.reset_at - time.time()) / 60))
    except Exception:  # noqa: BLE001 - the storage went away in between: a guess is good enough for a message
        return 1
