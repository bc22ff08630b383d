"""gunicorn's settings for Akkoord's web processes (the Procfile's web line and the dev stack name it; gunicorn also
reads it by itself when started in this folder). Settings given on the command line win over these.

Set here: logging, and the metrics hook for a web process that ends (child_exit). The access log goes to standard
output, one line a request with the request id the app gave it (X-Request-ID), and every access and error line
redacted (workflows.redaction), so that a personal link (/l/<token>) or a sign-in link (/signin/<token>) never
reaches a log. With LOG_FORMAT=json the access and error lines are JSON objects, as the app's are. Workers, threads
and the address stay on the command line (Procfile), where the platform sets them. The master process imports only
the redaction (standard library), python-json-logger and prometheus_client, not the application: a HUP still loads
new code into new workers."""

import logging
import os

from gunicorn import glogging
from prometheus_client import multiprocess
from pythonjsonlogger.json import JsonFormatter

from workflows.redaction import RedactingFilter, redact

# The app reads the same setting (service/config.py); here only "json" or not, as the master loads no application.
JSON_LINES = os.environ.get("LOG_FORMAT", "text").strip().lower() == "json"


class JsonLinesFormatter(JsonFormatter):
    """JSON lines like the app's (service/web/logs.py): time, level, logger, message, and an access line's fields;
    a traceback redacted as it is formatted again (past the filter's exc_text)."""

    def __init__(self):
        super().__init__("%(levelname)s %(name)s %(message)s", timestamp="time",
                         rename_fields={"levelname": "level", "name": "logger"})

    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))


class RedactingLogger(glogging.Logger):
    """gunicorn's logger with its access and error lines redacted: the request line of /l/<token> and
    /signin/<token>, a Referer or an error that quotes one. With LOG_FORMAT=json every line is a JSON object."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                    handler.addFilter(RedactingFilter())
                if JSON_LINES:
                    handler.setFormatter(JsonLinesFormatter())

    def access(self, resp, req, environ, request_time):
        """In JSON, the access line's parts as fields of their own; every text field redacted here, since the
        filter sees only the message. In text, gunicorn's line in access_log_format."""
        if not JSON_LINES:
            return super().access(resp, req, environ, request_time)
        if not self.access_log_enabled:
            return None
        atoms = self.atoms(resp, req, environ, request_time)
        method, path, status = atoms["m"] or "-", redact(environ.get("RAW_URI") or "-"), atoms["s"]
        fields = {
            "remote": atoms["h"], "method": method, "path": path,
            "status": int(status) if str(status).isdigit() else status, "bytes": atoms["B"],
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "request_id": redact(atoms.get("{x-request-id}o") or "-"),
            "user_agent": redact(atoms["a"]), "referer": redact(atoms["f"]),
        }
        log = self.access_log
        if log.isEnabledFor(logging.INFO):
            # Made by hand, not with extra=: in a web process the app's record factory has set request_id already,
            # and extra= may not replace a field; this line's id is the one the app answered with.
            record = log.makeRecord(log.name, logging.INFO, __file__, 0, "%s %s %s", (method, path, status), None)
            record.__dict__.update(fields)
            log.handle(record)
        return None


accesslog = "-"
errorlog = "-"
logger_class = RedactingLogger
# Client, request line (redacted), status, bytes, time in ms, request id, user agent.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s "%(a)s"'


def child_exit(server, worker):
    """A web process ended: with metrics in multiprocess mode (PROMETHEUS_MULTIPROC_DIR, README "Metrics and failed
    work"), its live gauges no longer count; its counters stay in the sums."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
