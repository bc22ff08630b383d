"""gunicorn's settings for Akkoord's web processes (the Procfile's web line and the dev stack name it; gunicorn also
reads it by itself when started in this folder). Settings given on the command line win over these.

Set here: logging, and the metrics hook for a web process that ends (child_exit). The access log goes to standard
output, one line a request with the request id the app gave it (X-Request-ID), and every access and error line
redacted (workflows.redaction), so that a personal link (/l/<token>) or a sign-in link (/signin/<token>) never
reaches a log. Workers, threads and the address stay on the command line (Procfile), where the platform sets them.
The master process imports only the redaction (standard library) and prometheus_client, not the application: a HUP
still loads new code into new workers."""

import os

from gunicorn import glogging
from prometheus_client import multiprocess

from workflows.redaction import RedactingFilter


class RedactingLogger(glogging.Logger):
    """gunicorn's logger with its access and error lines redacted: the request line of /l/<token> and
    /signin/<token>, a Referer or an error that quotes one."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                    handler.addFilter(RedactingFilter())


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
