"""A second app on the suite's database, Redis and SMTP server with some settings changed (an https BASE_URL, a
proxy in front), built by create_app as in production; the suite's own app stays the one the jobs use."""

from __future__ import annotations

from contextlib import contextmanager

from service import create_app
from workflows.outbound import jobs

SHARED = ("TESTING", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SMTP_URL", "BASE_URL", "MAIL_FROM", "MAILBOX_DIR")


@contextmanager
def app_with(app, **settings):
    runtime = jobs.current()
    variant = create_app({**{name: app.config[name] for name in SHARED}, **settings})
    jobs.configure(runtime)  # create_app pointed the jobs at the variant: back to the suite's app
    try:
        yield variant
    finally:
        variant.extensions["akkoord_engine"].dispose()
