"""The API's blueprint under /api/v1 and how it answers errors: problem+json, never an HTML page."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from werkzeug.exceptions import HTTPException

from service.api.problems import domain_problem, problem
from workflows.errors import DomainError

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def http_problem(error: HTTPException):
    """Errors raised outside a view (no route, wrong method, too large a body) as problems too."""
    code = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}.get(
        error.code, "bad_request")
    params = {"limit_mb": 20} if error.code == 413 else None
    response = problem(error.code or 400, code, params=params)
    if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    return domain_problem(error)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    return http_problem(error)


@bp.errorhandler(Exception)
def server_error(error: Exception):
    """Never an HTML page from the API; the error is logged as usual."""
    if isinstance(error, HTTPException):
        return http_problem(error)
    current_app.logger.exception("API error on %s %s", request.method, request.path)
    if current_app.testing:
        raise error  # the test sees the traceback
    return problem(500, "server_error")
