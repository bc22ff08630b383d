"""The outbox (invariant 6): rows written in the deciding transaction, delivered after commit by a real worker
to a real SMTP server, at least once, never twice to the same person for the same key."""

from __future__ import annotations

import datetime as dt

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, update

from storage.database.models import MailMessage, Round, utcnow
from tests.factories import fresh, make_document, make_network, open_round
from workflows.domain.notifications import queue_email
from workflows.outbound import jobs


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    """The sweep takes every pending row older than 30 s, also those other tests committed without a worker,
    and sends the reminders due in rounds other tests left open: neither may land in these tests' mailbox."""
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.execute(update(Round).where(Round.status == "open").values(reminder_days=[]))
    db.commit()


def outbox(db, **where):
    fresh(db)
    query = select(MailMessage)
    for key, value in where.items():
        query = query.where(getattr(MailMessage, key) == value)
    return db.scalars(query.order_by(MailMessage.id)).all()


def test_invitations_are_enqueued_only_after_commit_and_delivered_once(db, run_worker, mail_store):
    network, coordinator, people = make_network(db, members=2)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    assert jobs.queue().count == 0  # nothing leaves before the commit
    db.commit()
    assert jobs.queue().count == 1  # one batch job for all four invitations
    run_worker()
    messages = mail_store.wait_for(lambda ms: len(ms) == 4)
    assert sorted(m.to[0] for m in messages) == sorted([coordinator.email] + [p.person.email for p in people])
    assert all(m.message["Message-ID"].endswith("@akkoord>") for m in messages)
    assert {m.status for m in outbox(db, round_id=round_.id)} == {"sent"}

    # A retried job (or a second copy of it) finds every message sent and sends nothing.
    jobs.enqueue_items(jobs.queue(), [m.id for m in outbox(db, round_id=round_.id)], [])
    run_worker()
    assert len(mail_store.list()) == 4


def test_a_rolled_back_transaction_sends_nothing(db, run_worker, mail_store):
    network, coordinator, _ = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    open_round(db, document, coordinator)
    db.rollback()
    assert jobs.queue().count == 0
    run_worker()
    assert mail_store.list() == []


def test_the_same_idempotency_key_gives_one_row(db):
    network, coordinator, _ = make_network(db, members=0)
    first = queue_email(db, "sign_in", coordinator, key="test-key-1", sign_in_token_id=0)
    second = queue_email(db, "sign_in", coordinator, key="test-key-1", sign_in_token_id=0)
    assert first.id == second.id


def test_the_sweep_delivers_mail_whose_enqueue_was_lost(db, run_worker, mail_store):
    network, coordinator, _ = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    jobs.queue().empty()  # as if Redis lost the jobs
    db.execute(update(MailMessage).where(MailMessage.round_id == round_.id)
               .values(next_attempt_at=utcnow() - dt.timedelta(minutes=5)))
    db.commit()
    assert jobs.tick()["enqueued"] == 3
    run_worker()
    assert len(mail_store.wait_for(lambda ms: len(ms) == 3)) == 3
    assert {m.status for m in outbox(db, round_id=round_.id)} == {"sent"}


def test_an_smtp_failure_is_retried_on_the_schedule_and_shown_as_pending(app, db, run_worker, mail_store):
    network, coordinator, _ = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    runtime = jobs.current()
    working_url = runtime.smtp_url
    runtime.smtp_url = "smtp://127.0.0.1:9"  # nothing listens there: a real connection refused
    jobs.configure(runtime)  # a new SMTP connection, to the new address
    try:
        db.commit()
        before = utcnow()
        run_worker()
    finally:
        runtime.smtp_url = working_url
        jobs.configure(runtime)
    rows = outbox(db, round_id=round_.id)
    assert {r.status for r in rows} == {"pending"} and {r.failure for r in rows} == {"smtp_unreachable"}
    assert all(r.attempts == 1 and "refused" in r.last_error.lower() for r in rows)
    first_wait = dt.timedelta(seconds=runtime.schedule.retry_after[0])
    assert all(before + first_wait <= r.next_attempt_at <= utcnow() + first_wait for r in rows)
    assert mail_store.list() == []
    # The retry waits for its time: the sweep does not take it earlier.
    assert jobs.tick()["enqueued"] == 0
    # Its job is scheduled at that time; when it has come (the rows say so), the worker delivers.
    registry = ScheduledJobRegistry(queue=jobs.queue())
    assert len(registry.get_job_ids()) >= 1
    db.execute(update(MailMessage).where(MailMessage.round_id == round_.id).values(next_attempt_at=utcnow()))
    db.commit()
    run_worker(scheduled_until=utcnow() + first_wait * 2)
    rows = outbox(db, round_id=round_.id)
    assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {2}
    assert len(mail_store.list()) == 3


def test_the_deadline_close_is_scheduled_in_rq_and_closes_the_round(db, run_worker):
    network, coordinator, _ = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator, days=3)
    db.commit()
    registry = ScheduledJobRegistry(queue=jobs.queue())
    scheduled = [jobs.queue().fetch_job(job_id) for job_id in registry.get_job_ids()]
    close_jobs = [job for job in scheduled if job.func_name == "workflows.outbound.jobs.close_round_if_due"]
    assert [job.args for job in close_jobs] == [(round_.id,)]
    assert abs(registry.get_scheduled_time(close_jobs[0]).timestamp() - round_.deadline.timestamp()) < 2

    db.execute(update(Round).where(Round.id == round_.id).values(deadline=utcnow() - dt.timedelta(seconds=1)))
    db.commit()
    run_worker(scheduled_until=utcnow() + dt.timedelta(days=4))
    fresh(db)
    closed = db.get(Round, round_.id)
    assert closed.status == "closed" and closed.close_reason == "deadline"
