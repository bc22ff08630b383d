"""The final .docx and PDF are made once, after the finalisation commits, by a real worker: no final mail leaves
before they exist, every final mail carries exactly the stored bytes, their hashes are in the audit trail, and a
lost job is made up for by the tick."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading

import pytest
from sqlalchemy import func, select, update

from storage.database.engine import run_transaction
from storage.database.models import AuditEvent, Blob, Finalisation, MailMessage, Round, utcnow
from tests.factories import final_document, fresh
from workflows.domain import exports, finalising
from workflows.outbound import jobs

MAKE_FINAL_FILES = "workflows.outbound.jobs.make_final_files"


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    """The tick sweeps every network's pending mail, sends reminders of rounds other tests left open and makes the
    final files of their documents: none of that may land in these tests' mailbox."""
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.execute(update(Round).where(Round.status == "open").values(reminder_days=[]))
    db.commit()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def final_mails(db, document) -> list[MailMessage]:
    fresh(db)
    return db.scalars(select(MailMessage).where(
        MailMessage.email == "final_document", MailMessage.params["document_id"].as_integer() == document.id)
        .order_by(MailMessage.id)).all()


def finalisation_of(db, document) -> Finalisation:
    fresh(db)
    return db.scalar(select(Finalisation).where(Finalisation.document_id == document.id))


def files_made_events(db, document) -> list[AuditEvent]:
    fresh(db)
    return db.scalars(select(AuditEvent).where(AuditEvent.document_id == document.id,
                                               AuditEvent.kind == "final_files_made")).all()


def received_finals(messages, addresses: set[str]):
    """Of the mails the SMTP server accepted, those with attachments for these addresses."""
    return [m for m in messages if m.to[0] in addresses and m.attachments()]


def queued_final_file_jobs(document) -> list:
    return [job for job in jobs.queue().jobs if job.func_name == MAKE_FINAL_FILES and job.args == (document.id,)]


def test_no_final_mail_leaves_before_the_files_exist_and_every_mail_carries_the_stored_files(db, run_worker,
                                                                                              mail_store):
    network, coordinator, people, document, version = final_document(db)
    addresses = {coordinator.email} | {m.person.email for m in people}
    db.commit()
    held = final_mails(db, document)
    assert len(held) == len(addresses) == 5
    assert all(m.status == "pending" and m.next_attempt_at is None for m in held)
    assert finalisation_of(db, document).docx_sha256 is None

    # The job the commit asked for is set aside: a real worker drains everything else and the tick sweeps, and
    # still no final mail leaves, because they wait for the files.
    [job] = queued_final_file_jobs(document)
    jobs.queue().remove(job)
    run_worker()
    jobs.tick()
    assert not queued_final_file_jobs(document)  # within the grace: the job is not thought lost yet
    run_worker()
    assert received_finals(mail_store.list(), addresses) == []
    assert all(m.status == "pending" and m.next_attempt_at is None and m.attempts == 0
               for m in final_mails(db, document))

    jobs.queue().enqueue_job(job)
    run_worker()
    finals = received_finals(mail_store.wait_for(lambda ms: len(received_finals(ms, addresses)) == 5), addresses)
    assert sorted(m.to[0] for m in finals) == sorted(addresses)
    assert {m.status for m in final_mails(db, document)} == {"sent"}

    finalisation = finalisation_of(db, document)
    assert finalisation.files_made_at is not None
    docx_files = {m.attachments()[0][2] for m in finals}
    pdf_files = {m.attachments()[1][2] for m in finals}
    assert len(docx_files) == len(pdf_files) == 1  # byte for byte the same in every mail
    [docx], [pdf] = docx_files, pdf_files
    assert docx[:2] == b"PK" and pdf[:5] == b"%PDF-"
    assert sha256(docx) == finalisation.docx_sha256 and sha256(pdf) == finalisation.pdf_sha256
    assert db.get(Blob, finalisation.docx_sha256).data == docx and db.get(Blob, finalisation.pdf_sha256).data == pdf
    assert [m.attachments()[0][0] for m in finals][0].endswith("definitief.docx")

    [event] = files_made_events(db, document)
    assert event.data == {"version_id": version.id, "docx_sha256": finalisation.docx_sha256, "docx_size": len(docx),
                          "pdf_sha256": finalisation.pdf_sha256, "pdf_size": len(pdf)}

    # The job again (a retry, a second copy): made already, nothing changes and nobody gets a second mail.
    assert jobs.make_final_files(document.id) == "nothing to do"
    run_worker()
    assert finalisation_of(db, document).files_made_at == finalisation.files_made_at
    assert len(files_made_events(db, document)) == 1
    assert len(received_finals(mail_store.list(), addresses)) == 5


def test_when_the_job_is_lost_the_tick_makes_the_files_after_the_grace(db, run_worker, mail_store):
    network, coordinator, people, document, _version = final_document(db)
    addresses = {coordinator.email} | {m.person.email for m in people}
    db.commit()
    jobs.current().redis.flushdb()  # Redis came back empty right after the commit
    assert run_worker() == 0
    jobs.tick()
    assert not queued_final_file_jobs(document)  # too soon: its own job may still be on its way
    grace = dt.timedelta(seconds=jobs.current().schedule.sweep_grace)
    db.execute(update(Finalisation).where(Finalisation.document_id == document.id)
               .values(finalised_at=utcnow() - grace - dt.timedelta(seconds=1)))
    db.commit()
    assert jobs.tick()["final_files"] >= 1
    assert len(queued_final_file_jobs(document)) == 1
    run_worker()
    finals = received_finals(mail_store.wait_for(lambda ms: len(received_finals(ms, addresses)) == 5), addresses)
    finalisation = finalisation_of(db, document)
    assert {sha256(m.attachments()[0][2]) for m in finals} == {finalisation.docx_sha256}
    assert {sha256(m.attachments()[1][2]) for m in finals} == {finalisation.pdf_sha256}
    assert {m.status for m in final_mails(db, document)} == {"sent"}
    # Made now: the next tick leaves the document alone.
    jobs.tick()
    assert not queued_final_file_jobs(document)


def test_two_storing_at_once_the_first_files_stay_and_the_others_are_dropped(app, db):
    _network, _coordinator, _people, document, _version = final_document(db)
    db.commit()
    jobs.queue().empty()
    document_id = document.id  # the threads use their own sessions, never the test's
    made = exports.final_files(db, document_id)
    db.rollback()
    other = exports.FinalFiles(docx=b"PK another build", pdf=b"%PDF- another build")
    barrier = threading.Barrier(2)
    errors = []

    def store(files):
        def work(session):
            barrier.wait(10)  # both before their first statement, so both race for the document's lock
            return finalising.store_final_files(session, document_id, files)

        try:
            run_transaction(app.extensions["akkoord_sessions"], work)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=store, args=(files,)) for files in (made, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    finalisation = finalisation_of(db, document)
    kept = made if finalisation.docx_sha256 == sha256(made.docx) else other
    dropped = other if kept is made else made
    assert (finalisation.docx_sha256, finalisation.pdf_sha256) == (sha256(kept.docx), sha256(kept.pdf))
    assert db.scalar(select(func.count()).select_from(Blob).where(
        Blob.sha256.in_([sha256(dropped.docx), sha256(dropped.pdf)]))) == 0
    [event] = files_made_events(db, document)
    assert event.data["docx_sha256"] == finalisation.docx_sha256
