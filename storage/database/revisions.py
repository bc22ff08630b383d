"""Which schema revision the code expects (the Alembic heads) and which one a database is at."""

from __future__ import annotations

import functools

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.orm import Session

from storage.database.engine import alembic_config


@functools.cache
def head_revisions() -> frozenset[str]:
    """The revisions the migrations end at. Read from the migration files once per process: they do not change
    while it runs, and parsing them takes milliseconds a readiness probe should not spend each time."""
    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())


def current_revisions(session: Session) -> frozenset[str]:
    """The revisions the database says it is at (Alembic's own table), in one statement; raises when that table is
    not there (a database the migrations never ran on)."""
    return frozenset(session.scalars(text("SELECT version_num FROM alembic_version")))
