"""Backup and restore with the operator commands, on the suite's database (SQLite, or PostgreSQL through pg_dump and
pg_restore): a backup with a final document in it, restored into a fresh database, has an intact audit trail, the
final document's stored files match the hashes the finalisation recorded, and its dossier holds; a restore refuses a
database that holds something (unless --force) and a backup whose files were changed."""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url

from storage.database.backup import (
    MANIFEST,
    POSTGRESQL_FILE,
    SQLITE_FILE,
    BackupError,
    back_up,
    postgresql_environment,
    restore,
)
from storage.database.engine import make_session_factory
from storage.database.models import Blob, Document, Finalisation, MailMessage, Round
from tests.factories import final_document, fresh
from tests.variant_app import app_with


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.execute(update(Round).where(Round.status == "open").values(reminder_days=[]))
    db.commit()


@contextmanager
def fresh_database(database_url: str, tmp_path):
    """An empty database of the suite's kind: a new SQLite file, or a new PostgreSQL database beside the suite's
    (the test role needs CREATEDB: scripts/test grants it), dropped afterwards."""
    if make_url(database_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'akkoord.db'}"
        return
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("PostgreSQL's client tools (pg_dump, pg_restore) are not installed")
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    name = f"{make_url(database_url).database}_restore_{secrets.token_hex(4)}"
    try:
        with admin.connect() as connection:
            if not connection.scalar(text("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")):
                pytest.fail("the test role may not create databases: ALTER ROLE ... CREATEDB (scripts/test does)")
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_backup_restored_into_a_fresh_database_keeps_the_evidence(app, db, run_worker, database_url, tmp_path):
    network, coordinator, people, document, version = final_document(db)
    db.commit()
    run_worker()  # the final files and the dossier
    fresh(db)
    finalisation = db.scalar(select(Finalisation).where(Finalisation.document_id == document.id))
    recorded = {finalisation.docx_sha256, finalisation.pdf_sha256, finalisation.dossier_json_sha256,
                finalisation.dossier_pdf_sha256}
    assert None not in recorded
    db.rollback()

    backup = tmp_path / "backup"
    made = app.test_cli_runner().invoke(args=["backup", str(backup)])
    assert made.exit_code == 0, made.output
    manifest = json.loads((backup / MANIFEST).read_text())
    dump = SQLITE_FILE if manifest["database"] == "sqlite" else POSTGRESQL_FILE
    assert set(manifest["files"]) == {dump}  # the suite's SECRET_KEY is set outright: no key file to keep
    assert manifest["files"][dump]["sha256"] == sha256((backup / dump).read_bytes())
    assert manifest["alembic_revision"] and manifest["tables"]["finalisations"] >= 1
    assert manifest["stored_files"]["count"] >= 4
    assert (backup.stat().st_mode & 0o777) == 0o700

    with fresh_database(database_url, tmp_path) as target, app_with(app, DATABASE_URL=target) as restored:
        runner = restored.test_cli_runner()
        result = runner.invoke(args=["restore", str(backup)])
        assert result.exit_code == 0, result.output
        assert "the rows of every table match the manifest" in result.output
        audit = runner.invoke(args=["verify-audit"])
        assert audit.exit_code == 0, audit.output
        assert f"network {network.id} ({network.name}): intact" in audit.output
        held = runner.invoke(args=["verify-dossier", "--document", str(document.id)])
        assert held.exit_code == 0, held.output
        with make_session_factory(restored.extensions["akkoord_engine"])() as session:
            restored_finalisation = session.scalar(select(Finalisation).where(Finalisation.document_id == document.id))
            assert {restored_finalisation.docx_sha256, restored_finalisation.pdf_sha256,
                    restored_finalisation.dossier_json_sha256, restored_finalisation.dossier_pdf_sha256} == recorded
            for digest in recorded:
                blob = session.get(Blob, digest)
                assert sha256(blob.data) == digest and len(blob.data) == blob.size
            assert session.get(Document, document.id).status == "final"

        # A database that holds something is replaced only when the operator says so.
        again = runner.invoke(args=["restore", str(backup)])
        assert again.exit_code == 1 and "not empty" in again.output and "--force" in again.output
        forced = runner.invoke(args=["restore", "--force", str(backup)])
        assert forced.exit_code == 0, forced.output
        assert runner.invoke(args=["verify-audit"]).exit_code == 0

        # A backup whose file was changed is refused before anything is touched.
        with (backup / dump).open("r+b") as file:
            file.seek(-1, 2)
            last = file.read(1)
            file.seek(-1, 2)
            file.write(bytes([last[0] ^ 1]))
        tampered = runner.invoke(args=["restore", "--force", str(backup)])
        assert tampered.exit_code == 1 and "sha256" in tampered.output
        assert runner.invoke(args=["verify-audit"]).exit_code == 0


def test_the_instance_key_goes_with_its_database(database_url, tmp_path):
    """The key file the service signs with is backed up and restored with the database (the sessions it signed live
    there); a backup goes into an empty directory only, never mixed with other files."""
    key = tmp_path / "instance" / "secret_key"
    key.parent.mkdir()
    key.write_text("k" * 64)
    backup = tmp_path / "backup"
    manifest = back_up(database_url, backup, secret_key=key)
    assert manifest["files"]["secret_key"]["sha256"] == sha256(b"k" * 64)
    assert (backup / "secret_key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(BackupError, match="not empty"):
        back_up(database_url, backup)
    elsewhere = tmp_path / "elsewhere" / "secret_key"
    elsewhere.parent.mkdir()
    elsewhere.write_text("a key made on the new machine")
    with fresh_database(database_url, tmp_path) as target:
        assert restore(target, backup, secret_key=elsewhere)["secret_key_restored"]
    assert elsewhere.read_text() == "k" * 64 and elsewhere.stat().st_mode & 0o777 == 0o600


def test_credentials_travel_in_the_environment():
    environment = postgresql_environment("postgresql+psycopg://ops:s3cret@db.example:5433/akkoord?sslmode=require")
    assert environment == {"PGHOST": "db.example", "PGPORT": "5433", "PGUSER": "ops", "PGPASSWORD": "s3cret",
                           "PGDATABASE": "akkoord", "PGSSLMODE": "require"}
