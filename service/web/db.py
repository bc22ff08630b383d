"""One database transaction per request: opened on first use, committed once after the view, rolled back on error;
a view whose transaction lost a race with another (a deadlock on PostgreSQL) runs again, a few times at most."""

from __future__ import annotations

from flask import Flask, current_app, g, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from storage.database.engine import (
    TRANSACTION_ATTEMPTS,
    is_retryable,
    make_engine,
    make_session_factory,
    pause_before_retry,
)
from workflows.errors import Conflict
from workflows.outbound import jobs


class AkkoordFlask(Flask):
    def dispatch_request(self):
        """The view and its one commit. When the database reports a lost race (deadlock, serialisation failure,
        SQLite still locked), the transaction is rolled back and the view runs again from the start; after the
        last attempt the person gets a 409 saying so, never a 500."""
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                response = self.make_response(super().dispatch_request())
                _finish(response)
                return response
            except DBAPIError as error:
                _discard()
                if not is_retryable(error):
                    raise
                if attempt == TRANSACTION_ATTEMPTS - 1:
                    raise Conflict("busy") from error
                pause_before_retry(attempt)
                for upload in request.files.values():
                    upload.stream.seek(0)
        raise AssertionError("unreachable")


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["akkoord_engine"] = engine
    app.extensions["akkoord_sessions"] = make_session_factory(engine)
    app.extensions["akkoord_read_sessions"] = make_session_factory(engine, read_only=True)
    jobs.install(app.extensions["akkoord_sessions"])
    app.after_request(_commit)
    app.teardown_appcontext(_close)


def session(write: bool | None = None) -> Session:
    """The request's session; GET and HEAD read unless a view asks to write."""
    if "db" not in g:
        if write is None:
            write = request.method not in ("GET", "HEAD")
        factory = current_app.extensions["akkoord_sessions" if write else "akkoord_read_sessions"]
        g.db = factory()
    return g.db


def _finish(response) -> None:
    db = g.get("db")
    if db is not None:
        if response.status_code < 400:
            db.commit()  # after-commit hooks hand the outbox items and scheduled jobs to the workers
        else:
            db.rollback()  # bad input changes nothing
        g.pop("db").close()


def _discard() -> None:
    db = g.pop("db", None)
    if db is not None:
        db.rollback()
        db.close()


def _commit(response):
    """For answers made outside the view (an error page for a refusal): bad input changes nothing."""
    _finish(response)
    return response


def _close(_exc):
    _discard()
