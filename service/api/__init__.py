"""The JSON API under /api/v1: bearer tokens only (no session cookie, so no CSRF), problem+json errors, and an
OpenAPI 3.1 description generated from the operations themselves."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

# The operation modules register their routes on the blueprint when they are imported.
from service.api import (  # noqa: F401
    documents,
    mail,
    meetings,
    networks,
    participation,
    reference,
    register,
    rounds,
    webhooks,
)
from service.api.blueprint import PREFIX, bp, http_problem, is_api_request
from service.web import limits
from service.web.extensions import limiter

__all__ = ["PREFIX", "bp", "http_problem", "init_app", "is_api_request"]

# A refused bearer token (401) counts against the client's LIMIT_FAILED_SECRETS, together with the pages' dead or
# unknown token links; a 429 problem once it is spent. Tokens that work never count. (Once, at import: decorating
# the blueprint again would count each refusal twice.)
limiter.shared_limit(limits.failed_secrets, scope=limits.FAILED_SECRETS, deduct_when=limits.refused)(bp)


def init_app(app: Flask, csrf: CSRFProtect) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)
