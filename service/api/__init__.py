"""The JSON API under /api/v1: bearer tokens only (no session cookie, so no CSRF), problem+json errors, and an
OpenAPI 3.1 description generated from the operations themselves."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

# The operation modules register their routes on the blueprint when they are imported.
from service.api import documents, mail, networks, participation, reference, rounds, webhooks  # noqa: F401
from service.api.blueprint import PREFIX, bp, http_problem, is_api_request

__all__ = ["PREFIX", "bp", "http_problem", "init_app", "is_api_request"]


def init_app(app: Flask, csrf: CSRFProtect) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)
