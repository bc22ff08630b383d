"""The outbox (invariant 6): rows written in the deciding transaction, delivered after commit by a real worker
to a real SMTP server, at least once, never twice to the same person for the same key."""

from __future__ import annotations

import datetime as dt

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select, update

from storage.database.models import ActionPoint, MailMessage, Meeting, OutboxItem, PersonalLink, Round, utcnow
from tests.factories import fresh, make_document, make_network, open_round, unique
from workflows.domain.notifications import queue_email, release
from workflows.outbound import jobs, outbox


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    """The sweep takes every pending row older than 30 s, also those other tests committed without a worker (mail
    and webhook posts alike), and the tick sends the reminders due in rounds and meetings other tests left open and
    those of their open action points (with their action.due posts): none may land in these tests' mailbox or
    sweeps."""
    db.execute(update(OutboxItem).where(OutboxItem.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.execute(update(Round).where(Round.status == "open").values(reminder_days=[]))
    db.execute(update(Meeting).where(Meeting.status == "planned").values(reminder_days=[]))
    db.execute(update(ActionPoint).where(ActionPoint.status == "open").values(due_on=dt.date(2999, 12, 31)))
    db.commit()


def mails(db, **where):
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
    assert {m.status for m in mails(db, round_id=round_.id)} == {"sent"}

    # A retried job (or a second copy of it) finds every message sent and sends nothing.
    jobs.enqueue_items(jobs.queue(), [m.id for m in mails(db, round_id=round_.id)], [])
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
    assert {m.status for m in mails(db, round_id=round_.id)} == {"sent"}


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
    rows = mails(db, round_id=round_.id)
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
    rows = mails(db, round_id=round_.id)
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


# The life cycle of one item: claim -> send -> record, on the retry schedule -----------------------------------


SCHEDULE = outbox.Schedule(retry_after=(60, 300, 900), claim_timeout=90, sweep_grace=60)


def queued(db, network, person, key: str) -> MailMessage:
    message = queue_email(db, "sign_in", person, key=unique(key), network_id=network.id, sign_in_token_id=0)
    db.info.pop("akkoord_outbox_ids", None)  # driven by hand in these tests, not by a worker
    db.commit()
    return message


def deliver_at(app, item_id: int, now: dt.datetime, outcome: outbox.Outcome) -> dict:
    """One delivery attempt at a given time, whose send comes to `outcome` (the channel is beside the point)."""
    return outbox.deliver(app.extensions["akkoord_sessions"], [item_id], schedule=SCHEDULE,
                          prepare=lambda session, held: None, send=lambda held, prepared: outcome,
                          clock=lambda: now)


def test_a_temporary_failure_waits_for_the_schedule_and_a_permanent_one_stops_at_once(app, db):
    network, coordinator, _ = make_network(db, members=0, editors=0)
    message = queued(db, network, coordinator, "schedule")
    start = utcnow()
    busy = outbox.temporary("smtp_deferred", "451 4.3.0 try again later")
    assert deliver_at(app, message.id, start, busy)["retry"] == [(message.id, start + dt.timedelta(seconds=60))]
    fresh(db)
    row = db.get(MailMessage, message.id)
    assert (row.status, row.attempts, row.failure, row.last_error) == ("pending", 1, "smtp_deferred",
                                                                       "451 4.3.0 try again later")
    # Before its time nobody takes it: not a worker, not the sweep.
    assert deliver_at(app, message.id, start + dt.timedelta(seconds=59), busy)["skipped"] == [message.id]
    assert outbox.sweep(db, start + dt.timedelta(seconds=59), SCHEDULE) == ([], [])
    assert outbox.sweep(db, start + dt.timedelta(seconds=60 + 59), SCHEDULE) == ([], [])  # its own job may come
    assert outbox.sweep(db, start + dt.timedelta(seconds=60 + 61), SCHEDULE) == ([message.id], [])
    # The second attempt at its time, the third after the schedule's second wait.
    second = start + dt.timedelta(seconds=60)
    assert deliver_at(app, message.id, second, busy)["retry"] == [(message.id, second + dt.timedelta(seconds=300))]
    refused = outbox.permanent("address_refused", "550 5.1.1 no such user")
    assert deliver_at(app, message.id, second + dt.timedelta(seconds=300), refused)["failed"] == [message.id]
    fresh(db)
    row = db.get(MailMessage, message.id)
    assert (row.status, row.attempts, row.failure, row.next_attempt_at) == ("failed", 3, "address_refused", None)
    assert "550" in row.last_error


def test_the_schedule_ends_after_its_last_attempt(app, db):
    network, coordinator, _ = make_network(db, members=0, editors=0)
    message = queued(db, network, coordinator, "last")
    now = utcnow()
    busy = outbox.temporary("smtp_unreachable", "ConnectionRefusedError")
    for wait in (*SCHEDULE.retry_after, None):
        result = deliver_at(app, message.id, now, busy)
        if wait is None:
            assert result["failed"] == [message.id]
        else:
            assert result["pending"] == [message.id]
            now += dt.timedelta(seconds=wait)
    fresh(db)
    assert (db.get(MailMessage, message.id).status, db.get(MailMessage, message.id).attempts) == ("failed", 4)


def test_a_claim_of_a_dead_worker_is_taken_over_and_its_late_record_is_ignored(app, db):
    network, coordinator, _ = make_network(db, members=0, editors=0)
    message = queued(db, network, coordinator, "crash")
    factory = app.extensions["akkoord_sessions"]
    then = utcnow()
    with factory() as session:
        dead = outbox.claim(session, message.id, then, SCHEDULE)  # a worker takes it, and dies
        session.commit()
    assert dead.attempts == 1
    assert outbox.sweep(db, then + dt.timedelta(seconds=89), SCHEDULE) == ([], [])
    assert outbox.sweep(db, then + dt.timedelta(seconds=91), SCHEDULE) == ([message.id], [])
    later = then + dt.timedelta(seconds=91)
    assert deliver_at(app, message.id, later, outbox.SENT)["sent"] == [message.id]
    with factory() as session:  # the first worker was only slow: its record comes too late and changes nothing
        assert outbox.record(session, dead, outbox.temporary("smtp_timeout"), later, SCHEDULE) == ("skipped", None)
        session.commit()
    fresh(db)
    row = db.get(MailMessage, message.id)
    assert (row.status, row.attempts, row.failure) == ("sent", 2, None)


def test_an_item_that_kills_its_worker_every_time_ends_failed(app, db):
    network, coordinator, _ = make_network(db, members=0, editors=0)
    message = queued(db, network, coordinator, "poison")
    factory = app.extensions["akkoord_sessions"]
    now = utcnow()
    for _ in range(SCHEDULE.max_attempts):
        with factory() as session:
            assert outbox.claim(session, message.id, now, SCHEDULE) is not None
            session.commit()
        now += dt.timedelta(seconds=SCHEDULE.claim_timeout + 1)
    with factory() as session:
        assert outbox.claim(session, message.id, now, SCHEDULE) is None  # no attempts left
        assert outbox.give_up_crashed(session, now, SCHEDULE) == 1
        session.commit()
    fresh(db)
    row = db.get(MailMessage, message.id)
    assert (row.status, row.failure) == ("failed", "worker_crashed")


def test_a_held_item_waits_until_it_is_released(app, db):
    network, coordinator, _ = make_network(db, members=0, editors=0)
    message = queue_email(db, "sign_in", coordinator, key=unique("held"), network_id=network.id,
                          sign_in_token_id=0, held=True)
    assert db.info.get("akkoord_outbox_ids") is None  # nothing handed to the workers
    db.commit()
    far = utcnow() + dt.timedelta(days=30)
    assert outbox.sweep(db, far, SCHEDULE) == ([], [])
    assert deliver_at(app, message.id, far, outbox.SENT)["skipped"] == [message.id]
    release(db, [message])
    assert db.info["akkoord_outbox_ids"] == [("mail", message.id)]
    db.info.pop("akkoord_outbox_ids")
    db.commit()
    assert deliver_at(app, message.id, utcnow(), outbox.SENT)["sent"] == [message.id]


def test_an_invitation_sent_again_after_a_crash_leaves_one_live_link(app, db, run_worker, mail_store):
    network, coordinator, people = make_network(db, members=1, editors=0)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    run_worker()
    member = people[0].person
    [first] = [m for m in mail_store.wait_for(lambda ms: len(ms) == 2) if m.to == [member.email]]
    invitation = db.scalar(select(MailMessage).where(MailMessage.round_id == round_.id,
                                                     MailMessage.person_id == member.id))
    # As if the worker died after the server took the mail and before it noted so: the claim stays "sending".
    db.execute(update(MailMessage).where(MailMessage.id == invitation.id)
               .values(status="sending", claimed_at=utcnow() - dt.timedelta(minutes=5), sent_at=None))
    db.commit()
    assert jobs.tick()["enqueued"] == 1
    run_worker()
    second = next(m for m in mail_store.wait_for(lambda ms: len(ms) == 3) if m.to == [member.email] and m.id != first.id)
    old_link, new_link = (next(u for u in m.links() if "/l/" in u) for m in (first, second))
    assert old_link != new_link
    assert second.message["Message-ID"] == first.message["Message-ID"]  # the same mail, sent again
    client = app.test_client()
    assert client.get(old_link.replace("http://localhost", "")).status_code == 410
    assert app.test_client().get(new_link.replace("http://localhost", "")).status_code == 303
    fresh(db)
    live = db.scalar(select(func.count(PersonalLink.id)).where(PersonalLink.outbox_id == invitation.id,
                                                               PersonalLink.revoked_at.is_(None)))
    assert live == 1


def test_the_periodic_tick_runs_once_per_interval_however_many_workers_enqueue_it(app):
    """Every worker's clock enqueues the tick; the first to run it in an interval does the work, the others see
    that and return."""
    jobs.current().redis.delete(jobs.TICK_LOCK)
    first = jobs.periodic_tick()
    second = jobs.periodic_tick()
    assert "enqueued" in first and "skipped" in second
    jobs.current().redis.delete(jobs.TICK_LOCK)  # the interval is over
    assert "enqueued" in jobs.periodic_tick()
