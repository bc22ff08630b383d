"""The operator's commands (flask --app service ...), run through Click against the real database, Redis, SMTP
server and worker: exit status 0 when done, 1 with a clear message on bad input, nothing half done."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from docx import Document as WordDocument
from openpyxl import load_workbook
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select, text, update

from storage.database.engine import make_engine, make_session_factory
from storage.database.models import AuditEvent, MailMessage, Membership, Network, Person
from tests.factories import fresh, make_document, make_network, open_round, participant
from workflows.domain import rounds
from workflows.outbound import jobs


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(args=[str(a) for a in args])

    return run


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    """resend-mail without --network takes every pending row, also those other tests committed without a worker."""
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.commit()


def members_of(db, network_id: int) -> list[str]:
    fresh(db)
    return sorted(db.scalars(select(Person.email).join(Membership, Membership.person_id == Person.id).where(
        Membership.network_id == network_id, Membership.left_at.is_(None))))


# create-network ---------------------------------------------------------------------------------------------


def test_create_network_makes_the_network_and_its_coordinator(cli, db):
    result = cli("create-network", "Huisartsenzorg Regio Oost", "--coordinator-name", "Karin Mulder",
                 "--coordinator-email", "Karin.Mulder@HAZO.example")
    assert result.exit_code == 0, result.output
    assert "sign in: http://localhost/signin/" in result.output
    fresh(db)
    network = db.scalar(select(Network).where(Network.name == "Huisartsenzorg Regio Oost").order_by(Network.id.desc()))
    assert members_of(db, network.id) == ["karin.mulder@hazo.example"]
    role = db.scalar(select(Membership.role).where(Membership.network_id == network.id))
    assert role == "coordinator"


@pytest.mark.parametrize("args, message", [
    (["Netwerk", "--coordinator-name", "Karin", "--coordinator-email", "geen-adres"], "not a valid email address"),
    (["Netwerk", "--coordinator-name", " ", "--coordinator-email", "k@example.org"], "name is empty"),
    (["  ", "--coordinator-name", "Karin", "--coordinator-email", "k@example.org"], "A name is required."),
])
def test_create_network_refuses_bad_input_and_makes_nothing(cli, db, args, message):
    before = db.scalar(select(func.count(Network.id)))
    result = cli("create-network", *args)
    assert result.exit_code == 1 and message in result.output
    fresh(db)
    assert db.scalar(select(func.count(Network.id))) == before


# import-members ---------------------------------------------------------------------------------------------


def test_import_members_adds_everyone_in_the_file(cli, db, tmp_path):
    network, coordinator, _ = make_network(db, members=0, editors=0)
    db.commit()
    path = tmp_path / "leden.csv"
    path.write_text("naam,email,organisatie,rol\n"
                    "Piet Smit,piet@praktijk-smit.example,Huisartsenpraktijk Smit,lid\n"
                    "Joke Kok,joke@apotheek.example,Apotheek Centrum,redacteur\n", encoding="utf-8")
    result = cli("import-members", network.id, path, "--by", coordinator.email)
    assert result.exit_code == 0, result.output
    assert "2 people imported" in result.output
    assert members_of(db, network.id) == sorted([coordinator.email, "piet@praktijk-smit.example",
                                                 "joke@apotheek.example"])
    actors = db.scalars(select(AuditEvent.actor_id).where(AuditEvent.network_id == network.id,
                                                          AuditEvent.kind == "member_joined")).all()
    assert actors[-2:] == [coordinator.id, coordinator.id]


def test_import_members_lists_every_bad_row_and_imports_nothing(cli, db, tmp_path):
    network, coordinator, _ = make_network(db, members=0, editors=0)
    db.commit()
    path = tmp_path / "leden.csv"
    path.write_text("naam,email,organisatie,rol\n"
                    "Piet Smit,piet@praktijk-smit.example,Huisartsenpraktijk Smit,lid\n"
                    "Joke Kok,joke-at-apotheek,Apotheek Centrum,lid\n"
                    ",anon@example.org,,lid\n"
                    "Kees,kees@example.org,,baas\n", encoding="utf-8")
    result = cli("import-members", network.id, path)
    assert result.exit_code == 1
    assert "line 3: not a valid email address (joke-at-apotheek)" in result.output
    assert "line 4: the name is missing" in result.output
    assert "line 5: unknown role (baas)" in result.output
    assert "nothing was imported" in result.output
    assert members_of(db, network.id) == [coordinator.email]


def test_import_members_refuses_an_unknown_network_or_actor(cli, db, tmp_path):
    network, _coordinator, people = make_network(db, members=1, editors=0)
    db.commit()
    path = tmp_path / "leden.csv"
    path.write_text("Piet Smit,piet@example.org,,lid\n", encoding="utf-8")
    result = cli("import-members", 999_999_999, path)
    assert result.exit_code == 1 and "no network with id 999999999" in result.output
    result = cli("import-members", network.id, path, "--by", people[0].person.email)
    assert result.exit_code == 1 and "is not a coordinator" in result.output
    assert cli("import-members", network.id, tmp_path / "missing.csv").exit_code == 2  # Click: no such file
    assert "piet@example.org" not in members_of(db, network.id)


# export-commentaartabel -------------------------------------------------------------------------------------


def test_export_commentaartabel_writes_docx_and_xlsx(cli, db, tmp_path):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    rounds.add_comment(db, participant(db, round_, people[1]), body="Artikel 2 mist de huisartsen.")
    db.commit()
    target = tmp_path / "tabel.docx"
    result = cli("export-commentaartabel", round_.id, "--output", target)
    assert result.exit_code == 0, result.output
    word = WordDocument(io.BytesIO(target.read_bytes()))
    cells = [cell.text for table in word.tables for row in table.rows for cell in row.cells]
    assert "Artikel 2 mist de huisartsen." in cells

    result = cli("export-commentaartabel", round_.id, "--format", "xlsx", "--language", "en",
                 "--output", tmp_path / "table.xlsx")
    assert result.exit_code == 0, result.output
    sheet = load_workbook(tmp_path / "table.xlsx").active
    assert "Artikel 2 mist de huisartsen." in [c.value for row in sheet.iter_rows() for c in row]


def test_export_commentaartabel_of_an_unknown_round_fails(cli, tmp_path):
    result = cli("export-commentaartabel", 999_999_999, "--output", tmp_path / "x.docx")
    assert result.exit_code == 1 and "no round with id 999999999" in result.output
    assert not (tmp_path / "x.docx").exists()
    assert cli("export-commentaartabel", 1, "--format", "pdf").exit_code == 2


def test_export_commentaartabel_defaults_to_its_own_name(cli, db, tmp_path, monkeypatch):
    network, coordinator, _ = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    monkeypatch.chdir(tmp_path)
    result = cli("export-commentaartabel", round_.id)
    assert result.exit_code == 0, result.output
    [written] = list(tmp_path.iterdir())
    assert written.name.startswith("Commentaartabel") and written.suffix == ".docx"
    assert zipfile.is_zipfile(written)


# resend-mail ------------------------------------------------------------------------------------------------


def test_resend_mail_hands_pending_and_failed_mail_to_the_worker(cli, db, run_worker, mail_store):
    network, coordinator, _people = make_network(db, members=2, editors=0)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    jobs.current().redis.flushdb()  # the enqueued deliveries are lost, as when Redis was down
    invitations = db.scalars(select(MailMessage).where(MailMessage.round_id == round_.id)
                             .order_by(MailMessage.id)).all()
    assert len(invitations) == 3
    failed, cancelled = invitations[0], invitations[1]
    failed.status, failed.attempts, failed.last_error = "failed", 6, "SMTPServerDisconnected"
    cancelled.status = "cancelled"
    db.commit()

    result = cli("resend-mail", "--network", network.id)
    assert result.exit_code == 0, result.output
    assert "2 messages handed to the workers (1 pending, 1 failed)" in result.output
    run_worker()
    fresh(db)
    statuses = {m.id: m.status for m in db.scalars(select(MailMessage).where(MailMessage.round_id == round_.id))}
    assert statuses == {failed.id: "sent", cancelled.id: "cancelled", invitations[2].id: "sent"}
    assert len(mail_store.list()) == 2

    again = cli("resend-mail", "--network", network.id)
    assert again.exit_code == 0 and "0 messages" in again.output
    assert cli("resend-mail", "--network", 999_999_999).exit_code == 1


def test_resend_mail_can_leave_failed_mail_alone(cli, db):
    network, coordinator, _ = make_network(db, members=1, editors=0)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    first = db.scalar(select(MailMessage).where(MailMessage.round_id == round_.id).order_by(MailMessage.id))
    first.status = "failed"
    db.commit()
    result = cli("resend-mail", "--no-failed")
    assert result.exit_code == 0 and "(1 pending)" in result.output
    fresh(db)
    assert db.get(MailMessage, first.id).status == "failed"


# failed-jobs and retry-failed-jobs --------------------------------------------------------------------------


def test_failed_jobs_are_listed_and_retried(cli, db, run_worker, mail_store, monkeypatch, tmp_path):
    network, coordinator, _ = make_network(db, members=0, editors=0)
    document, _ = make_document(db, network, coordinator)
    open_round(db, document, coordinator)
    db.commit()
    jobs.current().redis.flushdb()
    message = db.scalar(select(MailMessage).where(MailMessage.network_id == network.id,
                                                    MailMessage.email == "invitation"))
    with monkeypatch.context() as down:
        # The database cannot be reached: the job fails (no RQ retries: the outbox keeps its own schedule).
        unreachable = make_session_factory(make_engine(f"sqlite:///{tmp_path}/no-such-folder/akkoord.db"))
        down.setattr(jobs.current(), "read_session_factory", unreachable)
        job = jobs.queue().enqueue(jobs.deliver_mail, [message.id])
        run_worker()
    assert job.id in FailedJobRegistry(queue=jobs.queue()).get_job_ids()

    listing = cli("failed-jobs")
    assert listing.exit_code == 0
    assert job.id in listing.output and "workflows.outbound.jobs.deliver_mail" in listing.output
    assert "OperationalError" in listing.output and "1 failed jobs" in listing.output

    assert cli("retry-failed-jobs").exit_code == 2  # say which, or --all
    unknown = cli("retry-failed-jobs", "no-such-job")
    assert unknown.exit_code == 1 and "not a failed job: no-such-job" in unknown.output
    result = cli("retry-failed-jobs", job.id)
    assert result.exit_code == 0 and "1 jobs back on the queue" in result.output
    run_worker()
    fresh(db)
    assert db.get(MailMessage, message.id).status == "sent"
    assert [m.to for m in mail_store.list()] == [[coordinator.email]]
    assert "0 failed jobs" in cli("failed-jobs").output
    assert cli("retry-failed-jobs", "--all").exit_code == 0


# verify-audit -----------------------------------------------------------------------------------------------


def test_verify_audit_says_intact_or_where_the_chain_is_broken(cli, db):
    network, coordinator, _ = make_network(db, members=2)
    document, _ = make_document(db, network, coordinator)
    open_round(db, document, coordinator)
    db.commit()
    result = cli("verify-audit", network.id)
    assert result.exit_code == 0, result.output
    assert f"network {network.id} ({network.name}): intact" in result.output

    third = db.scalar(select(AuditEvent).where(AuditEvent.network_id == network.id, AuditEvent.seq == 3))
    original = db.execute(text("SELECT data FROM audit_events WHERE id = :id"), {"id": third.id}).scalar_one()
    db.execute(text("UPDATE audit_events SET data = :d WHERE id = :id"), {"d": '{"role": "coordinator"}', "id": third.id})
    db.commit()
    try:
        result = cli("verify-audit", network.id)
        assert result.exit_code == 1
        assert f"network {network.id} ({network.name}): BROKEN at event 3 of" in result.output
        assert "has been changed" in result.output
    finally:
        db.execute(text("UPDATE audit_events SET data = :d WHERE id = :id"),
                   {"d": original if isinstance(original, str) else json.dumps(original), "id": third.id})
        db.commit()
    assert cli("verify-audit", network.id).exit_code == 0
    unknown = cli("verify-audit", 999_999_999)
    assert unknown.exit_code == 1 and "no network with id 999999999" in unknown.output


def test_commands_that_need_redis_say_so_when_it_is_down(cli, db, monkeypatch):
    from redis import Redis

    network, coordinator, _ = make_network(db, members=0, editors=0)
    document, _ = make_document(db, network, coordinator)
    open_round(db, document, coordinator)
    db.commit()
    monkeypatch.setattr(jobs.current(), "redis", Redis.from_url("redis://127.0.0.1:1/0"))
    for args in (["failed-jobs"], ["retry-failed-jobs", "--all"]):
        result = cli(*args)
        assert result.exit_code == 1 and "Redis cannot be reached" in result.output
    result = cli("resend-mail", "--network", network.id)
    assert result.exit_code == 1 and "1 messages are due" in result.output and "sweep" in result.output
    fresh(db)
    assert db.scalar(select(MailMessage.status).where(MailMessage.network_id == network.id,
                                                        MailMessage.email == "invitation")) == "pending"
