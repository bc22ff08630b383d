"""Operator commands for keeping the service: flask --app service backup | restore | prune (README, "Operating
Akkoord"); and the retention settings handed to the workers' job."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from storage.database.backup import BackupError, back_up, restore
from workflows.domain import retention
from workflows.outbound import housekeeping


def init_app(app: Flask) -> None:
    housekeeping.configure(housekeeping.Settings(
        policy=retention.Policy(links=app.config["RETENTION_LINKS"], outbox=app.config["RETENTION_OUTBOX"],
                                batch=app.config["RETENTION_BATCH"]),
        every=app.config["RETENTION_EVERY"], failed_jobs=app.config["RETENTION_FAILED_JOBS"]))
    for command in (backup_command, restore_command, prune_command):
        app.cli.add_command(command)


def _secret_key_file() -> Path | None:
    """The instance's key file, when it is the key this service signs with (not when SECRET_KEY is set outright:
    then the operator keeps it, with the rest of the environment)."""
    path = Path(current_app.instance_path) / "secret_key"
    if path.exists() and path.read_text().strip() == current_app.config["SECRET_KEY"]:
        return path
    return None


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e5 else f"{count} bytes"


@click.command("backup")
@with_appcontext
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def backup_command(directory: Path):
    """Back up the database (every stored file is in it) and the secret key into DIRECTORY (new or empty), with a
    manifest; safe while the service runs."""
    try:
        manifest = back_up(current_app.config["DATABASE_URL"], directory, secret_key=_secret_key_file())
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    stored = manifest["stored_files"]
    click.echo(f"backed up the {manifest['database']} database at revision {manifest['alembic_revision']} "
               f"({sum(manifest['tables'].values())} rows, {stored['count']} stored files of {_size(stored['bytes'])}) "
               f"into {directory}:")
    for name, file in manifest["files"].items():
        click.echo(f"  {name}  {_size(file['size'])}  sha256 {file['sha256']}")


@click.command("restore")
@with_appcontext
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database (and secret key) that holds something.")
def restore_command(directory: Path, force: bool):
    """Restore a backup made by `backup` into DATABASE_URL: its files are checked against the manifest first; stop
    the web and worker processes before, and run db-upgrade after if this version's schema is newer."""
    key = _secret_key_file()
    try:
        manifest = restore(current_app.config["DATABASE_URL"], directory, force=force, secret_key=key)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"restored the backup of {manifest['made_at']} (revision {manifest['alembic_revision']}, "
               f"{sum(manifest['restored_tables'].values())} rows, {manifest['stored_files']['count']} stored files); "
               "the rows of every table match the manifest")
    if manifest["secret_key_restored"]:
        click.echo(f"the backup's secret key is in {key}: start the processes again to use it")
    elif "secret_key" in manifest["files"] and key is None:
        click.echo("the backup's secret key was not put in place: SECRET_KEY is set in the environment")


@click.command("prune")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def prune_command(dry_run: bool):
    """Delete what is no longer needed (README, "Retention"): dead links and sign-in tokens, delivered mail and
    webhook deliveries, stored API answers and failed jobs past their period; never evidence."""
    counts = housekeeping.prune(dry_run=dry_run)
    for kind, count in counts.items():
        click.echo(f"{kind.replace('_', ' ')}: " + ("not reached (Redis cannot be reached; is REDIS_URL right?)"
                                                      if count is None else str(count)))
    click.echo(("would delete " if dry_run else "deleted ") + f"{sum(c or 0 for c in counts.values())} in all")
