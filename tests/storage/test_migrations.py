"""The migrations build exactly the schema the models describe, and step down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.database.engine import make_engine, upgrade
from storage.database.models import Base


def _differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_the_migrated_schema_matches_the_models(database_url):
    differences = [d for d in _differences(database_url)
                   # SQLite does not report named check constraints back, so they are not compared.
                   if not (isinstance(d, tuple) and d[0] in ("add_ck", "remove_ck"))]
    assert differences == []


def test_the_newest_migration_steps_down_and_up(tmp_path):
    from alembic import command

    from storage.database.engine import alembic_config

    url = f"sqlite:///{tmp_path / 'steps.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "0003")  # below threads (0004) and the API (0005)
    engine = make_engine(url)
    assert "version_addresses" not in inspect(engine).get_table_names()
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    assert "version_addresses" in inspect(engine).get_table_names()
    assert {c["name"] for c in inspect(engine).get_columns("comments")} >= {"parent_id", "start_offset"}
    engine.dispose()
