"""One database transaction per request: opened on first use, committed once after the view, rolled back on error."""

from __future__ import annotations

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from storage.db import make_engine, make_session_factory
from workflows import jobs


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["akkoord_engine"] = engine
    app.extensions["akkoord_sessions"] = make_session_factory(engine)
    app.extensions["akkoord_read_sessions"] = make_session_factory(engine, read_only=True)
    jobs.install(app.extensions["akkoord_sessions"])
    app.after_request(_commit)
    app.teardown_appcontext(_close)


def session(write: bool | None = None) -> Session:
    """The request's session; GET and HEAD read unless a view asks to write (e.g. noting a link was opened)."""
    if "db" not in g:
        if write is None:
            write = request.method not in ("GET", "HEAD")
        factory = current_app.extensions["akkoord_sessions" if write else "akkoord_read_sessions"]
        g.db = factory()
    return g.db


def _commit(response):
    db = g.get("db")
    if db is not None:
        if response.status_code < 400:
            db.commit()  # after-commit hooks enqueue the outbox deliveries and scheduled jobs
        else:
            db.rollback()  # bad input changes nothing
    return response


def _close(_exc):
    db = g.pop("db", None)
    if db is not None:
        db.rollback()
        db.close()
