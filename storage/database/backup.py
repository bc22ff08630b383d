"""Backup and restore of everything Akkoord keeps: the database with every stored file in it (uploads, final documents,
dossiers: the `blobs` table), through SQLite's online backup API or pg_dump, the instance's secret key when the
service uses one, and a manifest (time, schema revision, rows per table, size and sha256 of each file) that a
restore checks before it touches anything."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, make_url

from storage.database.models import utcnow

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "akkoord.sqlite3"
POSTGRESQL_FILE = "akkoord.pgdump"
SECRET_KEY_FILE = "secret_key"
ASIDE = "akkoord_before_restore"  # the schema a restore replaces, kept until the new one is in


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why, for an operator."""


def dialect(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"backups are made of SQLite and PostgreSQL databases, not {name}")
    return name


# Backing up ---------------------------------------------------------------------------------------------------------


def back_up(url: str, directory: Path, *, secret_key: Path | None = None) -> dict:
    """Write a backup of the database at `url` (and the secret key file, if given) into `directory`, which must be
    new or empty; returns the manifest. Safe while the service runs: each database is read as one snapshot."""
    kind = dialect(url)
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{directory} is not empty: a backup goes into a new or empty directory")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)  # it holds every person's data and the secret key
    if kind == "sqlite":
        facts = _back_up_sqlite(_sqlite_path(url), directory / SQLITE_FILE)
    else:
        facts = _back_up_postgresql(url, directory / POSTGRESQL_FILE)
    if secret_key is not None and secret_key.exists():
        shutil.copyfile(secret_key, directory / SECRET_KEY_FILE)
    manifest = {"format": FORMAT, "made_at": utcnow().isoformat(timespec="seconds"), "database": kind, **facts,
                "files": {}}
    for path in sorted(directory.iterdir()):
        os.chmod(path, 0o600)
        manifest["files"][path.name] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.chmod(directory / MANIFEST, 0o600)
    return manifest


def _back_up_sqlite(source: Path, target: Path) -> dict:
    if not source.exists():
        raise BackupError(f"there is no database at {source}")
    reading = sqlite3.connect(source)
    copy = sqlite3.connect(target)
    try:
        reading.execute("PRAGMA busy_timeout=30000")
        # In one step: one read snapshot of the database (in WAL mode, writers carry on meanwhile).
        reading.backup(copy)
        # One self-contained file (the service's WAL mode would make a restore look for a -wal file beside it).
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        reading.close()
        copy.close()
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as connection:
            return _facts(connection)
    finally:
        engine.dispose()


def _back_up_postgresql(url: str, target: Path) -> dict:
    """pg_dump reads the snapshot this transaction exported, so the manifest's figures and the dump agree."""
    engine = create_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, connection.begin():
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            facts = _facts(connection)
            _run(["pg_dump", "--format=custom", "--no-password", f"--snapshot={snapshot}", f"--file={target}"], url)
    finally:
        engine.dispose()
    facts["pg_dump"] = _run(["pg_dump", "--version"], url).strip()
    return facts


def _facts(connection: Connection) -> dict:
    """The schema revision, the rows of each table and the stored files' count and bytes, as this snapshot holds."""
    tables = sorted(inspect(connection).get_table_names())
    quote = connection.dialect.identifier_preparer.quote
    rows = {table: connection.scalar(text(f"SELECT count(*) FROM {quote(table)}")) for table in tables}
    revision = connection.scalar(text("SELECT version_num FROM alembic_version")) if "alembic_version" in tables else None
    stored = connection.execute(text("SELECT count(*), coalesce(sum(size), 0) FROM blobs")).one() \
        if "blobs" in tables else (0, 0)
    return {"alembic_revision": revision, "tables": rows, "stored_files": {"count": stored[0], "bytes": int(stored[1])}}


# Restoring ----------------------------------------------------------------------------------------------------------


def read_manifest(directory: Path) -> dict:
    """The backup's manifest, after checking that every file it lists is there with its size and sha256."""
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{directory} holds no readable {MANIFEST}: not an Akkoord backup ({error})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r} is not one this version restores ({FORMAT})")
    for name, expected in manifest["files"].items():
        path = directory / name
        if not path.is_file():
            raise BackupError(f"{name} is missing from the backup")
        if path.stat().st_size != expected["size"] or _sha256(path) != expected["sha256"]:
            raise BackupError(f"{name} is not the file the backup made (its size or sha256 differs): not restored")
    database_file = SQLITE_FILE if manifest["database"] == "sqlite" else POSTGRESQL_FILE
    if database_file not in manifest["files"]:
        raise BackupError(f"the manifest lists no {database_file}")
    return manifest


def restore(url: str, directory: Path, *, force: bool = False, secret_key: Path | None = None) -> dict:
    """Restore the backup in `directory` into the database at `url` (and its secret key into `secret_key`); the
    files are checked against the manifest first, and a database that holds something is replaced only with
    `force`. The key goes with its database (the sessions it signed live there). Returns the manifest, with
    `restored_tables`: the rows of each table as restored, and `secret_key_restored` (it was another)."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    kind = dialect(url)
    if manifest["database"] != kind:
        raise BackupError(f"this is a backup of a {manifest['database']} database; the target is {kind} "
                          "(restore it into the same kind, then move the data if you must)")
    key_in_backup = directory / SECRET_KEY_FILE if SECRET_KEY_FILE in manifest["files"] else None
    if not force:
        tables = existing_tables(url)
        if tables:
            raise BackupError(f"the target database is not empty ({len(tables)} tables); give --force to replace it")
    if kind == "sqlite":
        _restore_sqlite(directory / SQLITE_FILE, _sqlite_path(url))
    else:
        _restore_postgresql(directory / POSTGRESQL_FILE, url)
    key_replaced = key_in_backup is not None and secret_key is not None and not (
        secret_key.exists() and secret_key.read_bytes() == key_in_backup.read_bytes())
    if key_replaced:
        secret_key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        aside = secret_key.with_name(f".{secret_key.name}.restoring")
        shutil.copyfile(key_in_backup, aside)
        os.chmod(aside, 0o600)
        os.replace(aside, secret_key)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            restored = _facts(connection)
    finally:
        engine.dispose()
    if restored["tables"] != manifest["tables"]:
        differ = sorted(t for t in set(restored["tables"]) | set(manifest["tables"])
                        if restored["tables"].get(t) != manifest["tables"].get(t))
        raise BackupError("restored, but the rows differ from the manifest's in: " + ", ".join(differ))
    return {**manifest, "restored_tables": restored["tables"],
            "secret_key_restored": key_replaced}


def existing_tables(url: str) -> list[str]:
    if dialect(url) == "sqlite" and not _sqlite_path(url).exists():
        return []
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return sorted(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def _restore_sqlite(source: Path, target: Path) -> None:
    """Page by page into the target through the backup API, which takes the target's write lock and leaves no
    stale -wal file behind (copying the file over a database in WAL mode could)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    reading = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    writing = sqlite3.connect(target)
    try:
        writing.execute("PRAGMA busy_timeout=30000")
        reading.backup(writing)
    finally:
        reading.close()
        writing.close()


def _restore_postgresql(dump: Path, url: str) -> None:
    """Into a new, empty public schema, in one transaction; what was there is set aside first and dropped only once
    the restore succeeded (a failed one puts it back)."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            replacing = bool(connection.scalar(text(
                "SELECT count(*) FROM pg_namespace WHERE nspname = 'public'")))
            if replacing:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {ASIDE} CASCADE"))
                connection.execute(text(f"ALTER SCHEMA public RENAME TO {ASIDE}"))
            connection.execute(text("CREATE SCHEMA public"))
        database = make_url(url).database
        try:
            # The objects become the target role's: a backup restores into another server or role as well.
            _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
                  "--no-password", f"--dbname={database}", str(dump)], url)
        except BackupError:
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                if replacing:
                    connection.execute(text(f"ALTER SCHEMA {ASIDE} RENAME TO public"))
            raise
        if replacing:
            with engine.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {ASIDE} CASCADE"))
    finally:
        engine.dispose()


# Helpers ------------------------------------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    return Path(database)


def postgresql_environment(url: str) -> dict[str, str]:
    """libpq's environment for the URL: the password and user travel here, never in a command line that `ps` shows
    to every user of the machine."""
    parsed = make_url(url)
    values = {"PGHOST": parsed.host or parsed.query.get("host"), "PGPORT": parsed.port, "PGUSER": parsed.username,
              "PGPASSWORD": parsed.password, "PGDATABASE": parsed.database,
              "PGSSLMODE": parsed.query.get("sslmode"), "PGSSLROOTCERT": parsed.query.get("sslrootcert"),
              "PGSSLCERT": parsed.query.get("sslcert"), "PGSSLKEY": parsed.query.get("sslkey")}
    return {name: str(value) for name, value in values.items() if value not in (None, "")}


def _run(command: list[str], url: str) -> str:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL's client tools, the server's major version or "
                          "newer)")
    environment = {**os.environ, **postgresql_environment(url)}
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
