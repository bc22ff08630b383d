"""The service's logging, one setup for web and worker processes: readable text, or JSON lines (LOG_FORMAT=json); a
request id on every line, also in the jobs a request enqueued; one line per request; no secret in any line.

Secrets are taken out of every line (message, arguments, traceback) by workflows.redaction, since a line may quote a
URL or an error that quotes one. Document text and passwords are never logged in the first place: no line quotes a
form or a document. gunicorn's own lines get the same filter (gunicorn.conf.py)."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, g, request
from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter
from rq import Queue, get_current_job

from workflows.redaction import RedactingFilter, redact

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_META = "request_id"  # the key in an RQ job's meta
# An id a proxy or client sent is kept when it looks like one (a UUID, a hex or base64 id, a trace id); anything else
# (too long, spaces, quotes, a secret's shape) is replaced, so that it cannot forge or garble a line.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
UNMATCHED = "<unmatched>"  # the route of a request no rule matched: never the raw path, which may hold a token
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(request_id)s %(message)s"  # and "time": ISO 8601, UTC
FORMATS = ("text", "json")

_request_id: ContextVar[str | None] = ContextVar("akkoord_request_id", default=None)
request_log = logging.getLogger("akkoord.request")


def current_request_id() -> str | None:
    """The id of the request being answered, or, in a worker, of the request that enqueued the job being run."""
    request_id = _request_id.get()
    if request_id is None:
        job = get_current_job()
        if job is not None:
            request_id = (job.meta or {}).get(REQUEST_ID_META)
    return request_id


# Setup -----------------------------------------------------------------------------------------------------------


class _RedactedTracebacks:
    """A formatter whose tracebacks are redacted too (python-json-logger formats them again, past exc_text)."""

    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))


class TextFormatter(_RedactedTracebacks, logging.Formatter):
    pass


class JsonLinesFormatter(_RedactedTracebacks, JsonFormatter):
    pass


class _StandardError(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the moment (a test runner swaps it), as logging's last resort does."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure(log_format: str = "text", level: str | int = "INFO") -> None:
    """The root logger's one handler (standard error; a process manager collects it), replacing an earlier one of
    ours, so that calling this again (each create_app, the worker command) never doubles a line. RQ adds no handler
    of its own once the root has one."""
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT is one of {', '.join(FORMATS)}, not {log_format!r}")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StandardError)]:
        root.removeHandler(handler)
    handler = _StandardError()
    handler.addFilter(RedactingFilter())
    if log_format == "json":
        handler.setFormatter(JsonLinesFormatter(JSON_FIELDS, timestamp="time",
                                                rename_fields={"levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(TextFormatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    _install_record_factory()


def _install_record_factory() -> None:
    """Every record gets the request id (or "-"), whichever logger made it, and whichever handler writes it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "akkoord_request_id", False):
        return

    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id() or "-"
        return record

    make_record.akkoord_request_id = True
    logging.setLogRecordFactory(make_record)


# Requests --------------------------------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    configure(app.config.get("LOG_FORMAT", "text"), app.config.get("LOG_LEVEL", "INFO"))
    # Flask's own handler on app.logger would write "Exception on /l/<token>" unfiltered, and twice: the root's only.
    app.logger.removeHandler(default_handler)
    # First of the hooks, so that a request another hook answers early (a rate limit) has its id and its line too.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_end)
    app.teardown_request(_forget)


def _begin() -> None:
    g.log_started = time.perf_counter()
    g.request_id = _request_id_from(request.headers.get(REQUEST_ID_HEADER, ""))
    g.request_id_token = _request_id.set(g.request_id)


def _request_id_from(sent: str) -> str:
    if SANE_REQUEST_ID.fullmatch(sent) and redact(sent) == sent:
        return sent
    return uuid.uuid4().hex


def _end(response):
    """The request's one line (method, route rule, status, time) and its id in the answer's X-Request-ID."""
    request_id = g.get("request_id") or _request_id_from("")
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("log_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    request_log.info("%s %s %s %s ms", request.method, route, response.status_code, duration_ms,
                     extra={"method": request.method, "route": route, "status": response.status_code,
                            "duration_ms": duration_ms})
    return response


def _forget(_exc) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            _request_id.reset(token)
        except ValueError:  # set in another context (never in Flask's one-context-per-request): leave it
            pass


# Jobs ------------------------------------------------------------------------------------------------------------


@contextmanager
def job_context(job):
    """While a worker runs this job (RQ's lines about it included): the id of the request that enqueued it."""
    token = _request_id.set((job.meta or {}).get(REQUEST_ID_META))
    try:
        yield
    finally:
        _request_id.reset(token)


class TracedQueue(Queue):
    """The queue the web and the workers enqueue on: each job it makes carries the current request id in its meta,
    where current_request_id() finds it while the job runs (and a job's own follow-up jobs carry it on)."""

    def create_job(self, *args, meta: dict | None = None, **kwargs):
        request_id = current_request_id()
        if request_id is not None:
            meta = {**(meta or {}), REQUEST_ID_META: request_id}
        return super().create_job(*args, meta=meta, **kwargs)
