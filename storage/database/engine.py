"""Engine and sessions for SQLite and PostgreSQL, and the Alembic upgrade that builds the schema."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Sessions made with this execution option start a deferred (read) transaction on SQLite;
# everything else starts with BEGIN IMMEDIATE so that a writer holds the lock from its first
# read, which is what SQLite offers in place of SELECT ... FOR UPDATE.
READ_ONLY = "akkoord_read_only"


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from the driver so "begin" below decides the mode.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def insert_unless_present(session: Session, table, **values) -> None:
    """INSERT ... ON CONFLICT DO NOTHING (the primary key decides), on PostgreSQL and on SQLite alike."""
    dialect = session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table).values(**values)
    session.execute(statement.on_conflict_do_nothing())


def lock(session: Session, model, id_: int):
    """Load one row for update: on PostgreSQL a FOR NO KEY UPDATE lock, which does not block the key-share locks
    that inserting a row referring to it takes (so an insert's foreign-key check never waits on a workflow lock
    and takes no part in a lock cycle); on SQLite the IMMEDIATE transaction already serialises writers.
    Take locks in the order of docs/DESIGN.md (document -> round -> participant; the audit chain at commit)."""
    return session.execute(
        select(model).where(model.id == id_).with_for_update(key_share=True).execution_options(populate_existing=True)
    ).scalar_one_or_none()


# PostgreSQL's deadlock_detected and serialization_failure: the transaction lost a race and may simply run again.
RETRYABLE_SQLSTATES = ("40P01", "40001")
TRANSACTION_ATTEMPTS = 3
T = TypeVar("T")


def is_retryable(error: BaseException) -> bool:
    """A failure that running the same transaction again can cure: a deadlock or serialisation failure on
    PostgreSQL, or SQLite still locked after its busy timeout."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    if getattr(original, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return isinstance(original, sqlite3.OperationalError) and "locked" in str(original)


def pause_before_retry(attempt: int) -> None:
    """A short random wait, so the two sides of a deadlock do not meet again at once."""
    time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))


def run_transaction(sessions: sessionmaker | Session, work: Callable[[Session], T],
                    attempts: int = TRANSACTION_ATTEMPTS) -> T:
    """Run `work(session)` and commit; when the database reports a lost race, run all of it again (bounded).
    `sessions`: a sessionmaker (a session per attempt), or a session to use for one transaction after another
    (a worker's loop over a batch: no new session and connection for each)."""
    for attempt in range(attempts):
        session = sessions() if isinstance(sessions, sessionmaker) else sessions
        try:
            result = work(session)
            session.commit()
            return result
        except DBAPIError as error:
            session.rollback()
            if attempt == attempts - 1 or not is_retryable(error):
                raise
        finally:
            if session is not sessions:
                session.close()
        pause_before_retry(attempt)
    raise AssertionError("unreachable")
