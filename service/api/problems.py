"""Errors as application/problem+json (RFC 9457): a stable type URI per code, and title and detail in the
caller's language (Accept-Language, Dutch by default)."""

from __future__ import annotations

from flask import Response, json, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from service.web import i18n
from service.web.i18n import CSV_PROBLEMS, ORGANISATION_CSV_PROBLEMS

PROBLEM = "application/problem+json"
TYPE_BASE = "/api/v1/problems/"

# Titles per HTTP status; the detail says what happened.
TITLES = {
    304: _l("Not modified"),
    400: _l("Bad request"),
    401: _l("Not authenticated"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    406: _l("Not acceptable"),
    409: _l("Conflict"),
    410: _l("Gone"),
    413: _l("Too large"),
    415: _l("Unsupported media type"),
    422: _l("Unprocessable request"),
    429: _l("Too many requests"),
    500: _l("Server error"),
}

# Messages of the API's own codes; every other code is one of service.web.i18n's.
MESSAGES = {
    "token_missing": _l("Send a bearer token: an API token, or a member's personal round token."),
    "token_invalid": _l("The token is not valid, has been revoked, or its person no longer has that role."),
    "member_token_required": _l("Only a member's personal round token may do this."),
    "staff_token_required": _l("Only a coordinator's or editor's API token may do this."),
    "validation": _l("The request does not match the description: see the errors per field."),
    "idempotency_mismatch": _l("This Idempotency-Key was used before for a different request."),
    "bad_idempotency_key": _l("An Idempotency-Key is 1 to 200 visible ASCII characters."),
    "idempotency_in_progress": _l("A request with this Idempotency-Key is still being handled. Try again."),
    "unsupported_media_type": _l("Send the body in the media type the description names."),
    "method_not_allowed": _l("This method is not allowed here."),
    "not_found": _l("This resource does not exist."),
    "no_earlier_version": _l("A redline needs two versions of the same document."),
    "not_final": _l("This document is not final."),
    "server_error": _l("Something went wrong on our side. Nothing was changed."),
}

# The input field a domain error is about, so clients can show it next to the field.
FIELDS = {
    "name_required": "name", "title_required": "title", "bad_email": "email", "unknown_role": "role",
    "unknown_kind": "kind", "deadline_in_past": "deadline", "deadline_not_later": "deadline",
    "unknown_verdict": "value", "reason_required": "reason", "comment_required": "body",
    "unknown_passage": "block_id", "unknown_disposition": "disposition", "answer_required": "answer",
    "bad_schedule": "days", "webhook_url_invalid": "url", "webhook_url_unresolvable": "url",
    "webhook_url_private": "url", "webhook_url_https_required": "url", "webhook_events": "events",
    "unknown_comment_numbers": "addresses", "wrong_document": "version_id", "unknown_token_role": "role",
    "selection_not_found": "selected",
    "organisation_name_required": "name", "organisation_exists": "name", "unknown_organisation_kind": "kind",
    "substitute_not_member": "substitute_membership_id", "substitute_self": "substitute_membership_id",
    "substitute_other_organisation": "substitute_membership_id", "substitute_no_vote": "substitute_membership_id",
    "substitution_ends_before_start": "ends_at", "substitution_in_past": "ends_at",
    "proposal_unchanged": "proposed_text", "proposal_not_text": "proposed_text", "proposal_needs_passage": "block_id",
}


def caller_locale() -> str:
    best = request.accept_languages.best_match(i18n.LANGUAGES) if request else None
    return best or "nl"


def message(code: str, params: dict | None = None) -> str:
    template = MESSAGES.get(code)
    if template is None:
        return i18n.error_message(code, params or {})
    text = str(template)
    try:
        return text % params if params and "%(" in text else text
    except (KeyError, TypeError):
        return text


def problem(status: int, code: str, *, params: dict | None = None, detail: str | None = None,
            headers: dict | None = None, **extensions) -> Response:
    locale = caller_locale()
    with force_locale(locale):
        body = {
            "type": TYPE_BASE + code,
            "title": str(TITLES.get(status, TITLES[400])),
            "status": status,
            "detail": detail if detail is not None else message(code, params),
            "code": code,
            "instance": request.path,
        }
        body.update({key: value for key, value in extensions.items() if value is not None})
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM)
    response.headers["Content-Language"] = locale
    response.vary.add("Accept-Language")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def domain_problem(error) -> Response:
    """A workflows.errors.DomainError as a problem; its params become extension members where useful."""
    params = dict(error.params)
    extensions = {}
    field = FIELDS.get(error.code) or params.get("field")  # the input rules name the field they refused
    if field:
        extensions["errors"] = [{"field": field, "code": error.code, "message": message(error.code, params)}]
    if error.code == "not_unanimous":
        extensions["missing"] = [{"name": name, "organisation": organisation, "state": state}
                                 for name, organisation, state in params.pop("missing", [])]
    if error.code == "csv_rejected":

        words = CSV_PROBLEMS | ORGANISATION_CSV_PROBLEMS  # the members' import and the organisations' one
        with force_locale(caller_locale()):
            extensions["problems"] = [{"line": line, "code": code, "message": str(words.get(code, code)),
                                       "value": value} for line, code, value in params.pop("problems", [])]
    status = 401 if error.status == 410 else error.status  # a dead personal link is a refused credential here
    return problem(status, error.code, params=params, **extensions)
