"""Faults on real processes (issue 9's fault suite): Redis, two `flask worker` processes, gunicorn and an SMTP
server the test steers, on the suite's own database; each fault checked by counting at the SMTP server.

The outbox's clock is compressed through its settings (tests/faults/harness.py SETTINGS), the code paths are the
ones a server runs. Every scenario prints how long the system took to recover (the issue's benchmark figure).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, update

from storage.database.models import MailMessage, Participant, PersonalLink, Round, utcnow
from tests.factories import make_document, make_network
from tests.faults.harness import (
    CLAIM_TIMEOUT,
    DEFERRED,
    RETRY_SCHEDULE,
    SWEEP_GRACE,
    TICK_SECONDS,
    Stack,
    http_request,
    refusal,
)
from workflows.domain import api_tokens, reminders
from workflows.outbound import jobs

pytestmark = pytest.mark.slow

# How much later than its time a retry may come: RQ's scheduler looks every second and keeps times in whole
# seconds, and the worker may be busy a moment. Less than the sweep's grace, so a retry that only the sweep
# found again (its own job lost or run too early) counts as late.
LATE = 3.5
# What a recovery may take on top of the compressed timeouts: starting the job, sending the mails it finds.
SLACK = 6.0
# After Redis comes back empty: a worker tries again within a tick, the clock's next tick sweeps what is due for
# longer than the grace.
RECOVERY = SWEEP_GRACE + 3 * TICK_SECONDS + 30


@dataclass
class Network:
    """A network made in the test process through the workflows, and a coordinator's API token for it."""

    network_id: int
    document_id: int
    token: str
    addresses: list[str]


def build_network(sessions, members: int) -> Network:
    writing, _ = sessions
    with writing() as session:
        network, coordinator, people = make_network(session, members=members)
        document, _version = make_document(session, network, coordinator)
        _row, token = api_tokens.create_token(session, network, coordinator, role="coordinator", name="faults")
        session.commit()
        return Network(network.id, document.id, token, [coordinator.email] + [m.person.email for m in people])


def open_round(stack: Stack, network: Network, *, deadline: dt.datetime | None = None) -> tuple[int, dict, float]:
    """Open a round through the HTTP API, as a coordinator's script would: (status, body, seconds it took)."""
    deadline = deadline or utcnow() + dt.timedelta(days=14)
    started = time.monotonic()
    status, _headers, body = http_request(
        "POST", f"{stack.base_url}/api/v1/documents/{network.document_id}/rounds",
        {"deadline": deadline.isoformat(), "message": "Graag uw reactie."},
        {"Authorization": f"Bearer {network.token}"})
    took = time.monotonic() - started
    try:
        payload = json.loads(body)
    except ValueError:
        payload = {"raw": body[:2000].decode(errors="replace")}
    return status, payload, took


def mails(sessions, round_id: int, email: str = "invitation") -> list[MailMessage]:
    _, reading = sessions
    with reading() as session:
        return list(session.scalars(select(MailMessage).where(MailMessage.round_id == round_id,
                                                              MailMessage.email == email)
                                    .order_by(MailMessage.id)))


def received(stack: Stack, addresses: set[str]) -> Counter:
    """How many messages the SMTP server accepted for each of these addresses (those of the scenario's own people:
    an earlier scenario that failed may have left mail behind)."""
    return Counter(a for message in stack.store.list() for a in (t.lower() for t in message.to) if a in addresses)


def messages_to(stack: Stack, addresses: set[str]) -> list:
    return [m for m in stack.store.list() if {t.lower() for t in m.to} & addresses]


def link_path(message) -> str:
    paths = [urlsplit(url).path for url in message.links() if "/l/" in urlsplit(url).path]
    assert paths, f"no personal link in the mail to {message.to}"
    return paths[0]


def seconds(value: float) -> str:
    return f"{value:.1f} s"


# 1. kill -9 of a worker mid-batch -------------------------------------------------------------------------------


def test_kill_9_of_a_worker_mid_batch_everyone_gets_the_invitation_once_with_one_live_link(stack, sessions, figures):
    stack.launch()
    network = build_network(sessions, members=120)
    stack.ready()
    stack.handler.delay = 0.05  # a batch of 50 takes seconds, so the kill lands in the middle of one
    status, body, _ = open_round(stack, network)
    assert status == 201, stack.explain(f"opening the round answered {status}: {body}")
    invitations = mails(sessions, body["id"])
    assert len(invitations) == len(network.addresses) > 2 * jobs.MAIL_BATCH
    addresses = {m.to_address.lower() for m in invitations}

    stack.wait(lambda: sum(received(stack, addresses).values()) >= 20, 30, "the first 20 invitations")
    killed_at = time.time()
    victim = stack.kill_worker(0)
    assert not victim.alive()
    # What the dead worker held: the item it was sending (claimed before the kill, not recorded a second later);
    # the rest of its batch is pending and its job died with it.
    time.sleep(1.0)
    held = [m.id for m in mails(sessions, body["id"])
            if m.status == "sending" and m.claimed_at.timestamp() < killed_at]

    def everyone() -> bool:
        return addresses <= set(received(stack, addresses)) and all(m.status == "sent"
                                                                     for m in mails(sessions, body["id"]))

    bound = CLAIM_TIMEOUT + TICK_SECONDS + SWEEP_GRACE + SLACK
    stack.wait(everyone, bound + 10, "every member's invitation after the kill")
    last_arrival = max(min(m.received_at.timestamp() for m in messages_to(stack, {a})) for a in addresses)
    recovered = last_arrival - killed_at
    picked_up = [m.claimed_at.timestamp() - killed_at for m in mails(sessions, body["id"]) if m.id in held]
    # Nothing more comes: a few ticks later the count is the same.
    time.sleep(2 * TICK_SECONDS)
    counts = received(stack, addresses)
    twice = sorted(a for a, n in counts.items() if n > 1)
    print(f"\nkill -9: held {held}, picked up after {[seconds(p) for p in picked_up]}; everyone had the invitation "
          f"{seconds(recovered)} after the kill (bound {seconds(bound)}); twice: {twice}")
    figures.append(f"kill -9 of a worker mid-batch ({len(addresses)} invitations): the item it held picked up after "
                   f"{', '.join(seconds(p) for p in picked_up) or '(it held none)'}, every invitation delivered "
                   f"{seconds(recovered)} after the kill (claim timeout {CLAIM_TIMEOUT} s, tick {TICK_SECONDS} s, "
                   f"grace {SWEEP_GRACE} s)")

    assert len(twice) <= 1 and max(counts.values()) <= 2, stack.explain(
        f"more than one duplicate for one killed worker: {[(a, counts[a]) for a in twice]}")
    assert all(p <= bound for p in picked_up), stack.explain(f"held items picked up after {picked_up} s, bound {bound}")
    assert recovered <= bound, stack.explain(f"the last invitation came {recovered:.1f} s after the kill")

    # No person holds two live personal links: one per invitation (and so per participant) ...
    _, reading = sessions
    with reading() as session:
        live = Counter(session.scalars(select(PersonalLink.outbox_id).where(
            PersonalLink.outbox_id.in_([m.id for m in invitations]), PersonalLink.revoked_at.is_(None))))
        per_participant = Counter(session.scalars(
            select(PersonalLink.participant_id).join(Participant, Participant.id == PersonalLink.participant_id)
            .where(Participant.round_id == body["id"], PersonalLink.revoked_at.is_(None))))
    assert set(live) == {m.id for m in invitations} and set(live.values()) == {1}, live
    assert set(per_participant.values()) == {1}, per_participant
    # ... and over HTTP: whoever got two mails finds the older link dead and the newer one working; everyone
    # else's link works.
    for address in addresses:
        got = sorted(messages_to(stack, {address}), key=lambda m: m.id)
        *older, newest = got
        status, _, _ = http_request("GET", stack.base_url + link_path(newest))
        assert status == 303, f"the link in the newest mail to {address} answered {status}"
        for message in older:
            status, _, _ = http_request("GET", stack.base_url + link_path(message))
            assert status == 410, f"the link in the earlier mail to {address} answered {status}"


# 2. SMTP 451 for longer than the first three retries, then healthy -----------------------------------------------


def test_smtp_451_then_healthy_every_message_once_on_the_retry_schedule(stack, sessions, figures):
    stack.launch()
    network = build_network(sessions, members=6)
    stack.ready()
    stack.handler.defer = True
    status, body, _ = open_round(stack, network)
    assert status == 201, stack.explain(f"opening the round answered {status}: {body}")
    addresses = {m.to_address.lower() for m in mails(sessions, body["id"])}

    # 451 through the first attempt and the first three retries (1 + 2 + 4 s after it) ... (waiting long enough
    # for retries that come late, so that the assertions below can say how late)
    stack.wait(lambda: all(len(stack.handler.attempts(a)) >= 4 for a in addresses),
               sum(RETRY_SCHEDULE[:3]) + 3 * (SWEEP_GRACE + TICK_SECONDS) + 5, "four deferred attempts per message")

    def waiting() -> bool:
        return all(m.status == "pending" and m.attempts == 4 for m in mails(sessions, body["id"]))

    stack.wait(waiting, 5, "every message pending after its fourth attempt")
    for message in mails(sessions, body["id"]):
        assert (message.failure, message.last_error) == ("smtp_deferred", DEFERRED), message.last_error
    # ... then healthy: the next attempt, 8 s after the fourth, goes through.
    stack.handler.defer = False
    healthy_at = time.time()
    stack.wait(lambda: addresses <= set(received(stack, addresses)), RETRY_SCHEDULE[3] + SWEEP_GRACE + TICK_SECONDS + 5,
               "every message delivered")
    delivered = max(m.received_at.timestamp() for m in messages_to(stack, addresses)) - healthy_at
    stack.wait(lambda: all(m.status == "sent" for m in mails(sessions, body["id"])), 5, "every message sent")
    time.sleep(TICK_SECONDS + 1)  # nothing more comes

    counts = received(stack, addresses)
    assert counts == Counter({a: 1 for a in addresses}), stack.explain(f"not exactly once each: {counts}")
    gaps_seen = []
    for message in mails(sessions, body["id"]):
        attempts = stack.handler.attempts(message.to_address)
        assert [a.answer for a in attempts] == [DEFERRED] * 4 + ["250 OK"], attempts
        assert message.attempts == len(attempts) == 5, (message.attempts, attempts)
        assert message.failure is None and message.status == "sent"
        gaps = [later.at - earlier.at for earlier, later in zip(attempts, attempts[1:])]
        gaps_seen.append(gaps)
        for wait, gap in zip(RETRY_SCHEDULE, gaps):
            assert wait <= gap <= wait + LATE, stack.explain(
                f"{message.to_address}: attempts {[round(g, 2) for g in gaps]} s apart, the schedule says "
                f"{RETRY_SCHEDULE[:4]} (at most {LATE} s later)")
    lateness = [gap - wait for gaps in gaps_seen for wait, gap in zip(RETRY_SCHEDULE, gaps)]
    print(f"\n451: retries later than their time by {min(lateness):.2f}..{max(lateness):.2f} s; delivered "
          f"{seconds(delivered)} after SMTP recovered")
    figures.append(f"SMTP 451 for {RETRY_SCHEDULE[0]}+{RETRY_SCHEDULE[1]}+{RETRY_SCHEDULE[2]} s and more: every "
                   f"message delivered once at its 5th attempt, {seconds(delivered)} after SMTP recovered (next "
                   f"retry due {RETRY_SCHEDULE[3]} s after the 4th); retries {min(lateness):.2f}..{max(lateness):.2f}"
                   f" s after their time")


# 3. One recipient refused with 550 -------------------------------------------------------------------------------


def test_smtp_550_for_one_recipient_fails_at_once_with_its_reason_the_others_unaffected(stack, sessions, figures):
    stack.launch()
    network = build_network(sessions, members=6)
    stack.ready()
    refused = network.addresses[len(network.addresses) // 2].lower()  # in the middle of the batch
    stack.handler.refuse = {refused}
    status, body, _ = open_round(stack, network)
    assert status == 201, stack.explain(f"opening the round answered {status}: {body}")
    invitations = mails(sessions, body["id"])
    assert len(invitations) < jobs.MAIL_BATCH  # one batch, one job
    others = {m.to_address.lower() for m in invitations} - {refused}

    def refused_item() -> MailMessage:
        return next(m for m in mails(sessions, body["id"]) if m.to_address.lower() == refused)

    (refusal_attempt,) = stack.wait(lambda: stack.handler.attempts(refused), 20, "the refused attempt")
    stack.wait(lambda: refused_item().status != "sending", 5, "the refusal recorded", interval=0.02)
    failed_after = time.time() - refusal_attempt.at
    stack.wait(lambda: all(m.status in ("sent", "failed") for m in mails(sessions, body["id"])), 20,
               "every invitation sent or failed")
    time.sleep(RETRY_SCHEDULE[0] + TICK_SECONDS + 1)  # no retry comes

    assert len(stack.handler.attempts(refused)) == 1, stack.handler.attempts(refused)
    item = refused_item()
    assert (item.status, item.attempts, item.failure) == ("failed", 1, "address_refused"), stack.explain(
        f"the refused mail: {item.status}, {item.attempts} attempt(s), {item.failure}: {item.last_error}")
    assert item.last_error == refusal(refused)  # the server's own words are kept
    assert received(stack, others | {refused}) == Counter({a: 1 for a in others})
    for message in mails(sessions, body["id"]):
        if message.id != item.id:
            assert (message.status, message.attempts, message.failure) == ("sent", 1, None)
            assert len(stack.handler.attempts(message.to_address)) == 1
    print(f"\n550: failed at its first attempt, recorded within {failed_after:.2f} s")
    figures.append("SMTP 550 5.1.1 for one recipient: failed at its first attempt (address_refused, the server's "
                   f"text kept), recorded within {failed_after:.2f} s; the other {len(others)} of the batch "
                   "delivered once each")


# 4. Redis stopped, a round opened, Redis started empty -----------------------------------------------------------


def deadline_with_a_due_reminder(reminder_days: list[int], opened_at: dt.datetime, now: dt.datetime) -> dt.datetime:
    """A deadline that makes one of a round's reminders due now. reminders.slot_time puts the slots at 09:00 Dutch
    time `days` days before the deadline's day (08:00 on the day itself), and a slot counts only when it falls after
    the round was opened and not after now: so the first deadline on the hour, at least an hour from now (the round
    stays open), that puts a slot between `opened_at` (a day ago) and now."""
    start = now.replace(minute=0, second=0, microsecond=0)
    for hours in range(1, 24 * 70):
        deadline = start + dt.timedelta(hours=hours)
        if any(opened_at < reminders.slot_time(deadline, days) <= now for days in reminder_days):
            return deadline
    raise AssertionError(f"no deadline puts a slot of {reminder_days} between {opened_at} and {now}")


def test_redis_away_then_back_empty_mail_closing_and_reminders_resume(stack, sessions, figures):
    stack.launch()
    opened = build_network(sessions, members=5)     # a round opened while Redis is away
    closing = build_network(sessions, members=2)    # a round whose deadline passes while Redis is away
    reminded = build_network(sessions, members=3)   # a round whose reminder falls due while Redis is away
    afterwards = build_network(sessions, members=1)  # a round opened after Redis is back, its mail deferred once
    stack.ready()

    # Both opened while Redis is up: the closing round's close job is scheduled in Redis, at its deadline.
    status, closing_round, _ = open_round(stack, closing, deadline=utcnow() + dt.timedelta(seconds=8))
    assert status == 201, stack.explain(f"{status}: {closing_round}")
    status, reminded_round, _ = open_round(stack, reminded)
    assert status == 201, stack.explain(f"{status}: {reminded_round}")
    before = {a.lower() for a in closing.addresses + reminded.addresses}
    stack.wait(lambda: before <= set(received(stack, before)), 20, "the first two rounds' invitations")
    connection = Redis.from_url(stack.redis_url)
    registry = ScheduledJobRegistry(queue=Queue(jobs.QUEUE_NAME, connection=connection))
    scheduled = [(job.func_name, job.args) for job in (Job.fetch(job_id, connection=connection)
                                                        for job_id in registry.get_job_ids())]
    connection.close()
    assert ("workflows.outbound.jobs.close_round_if_due", (closing_round["id"],)) in scheduled, scheduled

    stack.stop_redis()
    stopped_at = time.time()
    status, opened_round, took = open_round(stack, opened)
    assert status == 201, stack.explain(f"opening a round while Redis is away answered {status}: {opened_round}")
    # Make a reminder due (see deadline_with_a_due_reminder), now that no tick can send it before Redis is gone.
    now = utcnow()
    writing, _ = sessions
    with writing() as session:
        round_ = session.get(Round, reminded_round["id"])
        opened_at = now - dt.timedelta(days=1)
        deadline = deadline_with_a_due_reminder(round_.reminder_days, opened_at, now)
        session.execute(update(Round).where(Round.id == round_.id).values(opened_at=opened_at, deadline=deadline))
        session.commit()
    assert mails(sessions, reminded_round["id"], "reminder") == []

    # The closing round's deadline passes while Redis is away; nothing can close it meanwhile.
    deadline = dt.datetime.fromisoformat(closing_round["deadline"]).timestamp()
    time.sleep(max(0.0, deadline - time.time()) + 1.0)
    _, reading = sessions
    with reading() as session:
        assert session.get(Round, closing_round["id"]).status == "open"

    stack.start_redis()  # empty: a new data folder, on the same port
    restarted_at = time.time()
    outage = restarted_at - stopped_at
    opened_addresses = {a.lower() for a in opened.addresses}
    stack.wait(lambda: opened_addresses <= set(received(stack, opened_addresses)), RECOVERY,
               "the invitations of the round opened while Redis was away")
    invited = max(m.received_at.timestamp() for m in messages_to(stack, opened_addresses)) - restarted_at

    def closed():
        with reading() as session:
            return session.get(Round, closing_round["id"]).closed_at

    closed_at = stack.wait(closed, RECOVERY, "the overdue round closed").timestamp() - restarted_at
    reminder_addresses = {a.lower() for a in reminded.addresses}
    stack.wait(lambda: all(n == 2 for n in received(stack, reminder_addresses).values()), RECOVERY, "the reminders")
    reminder_at = max(m.received_at.timestamp() for m in messages_to(stack, reminder_addresses)) - restarted_at
    assert {m.status for m in mails(sessions, reminded_round["id"], "reminder")} == {"sent"}

    print(f"\nRedis away {seconds(outage)} (opening a round took {seconds(took)} meanwhile); after it came back "
          f"empty: invitations {seconds(invited)}, overdue round closed {seconds(closed_at)}, reminder "
          f"{seconds(reminder_at)}")
    figures.append(f"Redis away {seconds(outage)}, back empty: the invitations of a round opened meanwhile "
                   f"delivered after {seconds(invited)}, the overdue round closed after {seconds(closed_at)}, the "
                   f"due reminder delivered after {seconds(reminder_at)} (the POST took {seconds(took)} while "
                   "Redis was away)")

    # Jobs scheduled for later run on time again: a mail deferred once now is retried at its time by its own job
    # (not only by the sweep, a grace later). RQ's scheduler process, which hands such jobs over, died with the
    # connection; a worker must have started it again.
    deferred = {a.lower() for a in afterwards.addresses}
    stack.handler.defer = deferred
    status, afterwards_round, _ = open_round(stack, afterwards)
    assert status == 201, stack.explain(f"{status}: {afterwards_round}")
    stack.wait(lambda: all(stack.handler.attempts(a) for a in deferred), 10, "the first attempts")
    stack.handler.defer = False
    stack.wait(lambda: deferred <= set(received(stack, deferred)), RETRY_SCHEDULE[0] + SWEEP_GRACE + TICK_SECONDS + 5,
               "the retries")
    retried = [stack.handler.attempts(a)[1].at - stack.handler.attempts(a)[0].at for a in deferred]
    print(f"\nafter Redis came back: retries {[round(g, 2) for g in retried]} s after the first attempt "
          f"(due after {RETRY_SCHEDULE[0]} s)")
    assert all(RETRY_SCHEDULE[0] <= gap <= RETRY_SCHEDULE[0] + LATE for gap in retried), stack.explain(
        f"retried after {[round(g, 2) for g in retried]} s (due after {RETRY_SCHEDULE[0]} s): scheduled jobs do not "
        "run on time after Redis came back")


# 5. Redis goes away while the workers are in the middle of a batch ---------------------------------------------


def test_workers_busy_when_redis_goes_away_live_on_and_work_once_it_is_back(stack, sessions, figures):
    stack.launch()
    busy = build_network(sessions, members=30)      # a round whose batch is being sent when Redis goes
    later = build_network(sessions, members=2)      # a round opened after Redis is back: who sends it?
    stack.ready()
    stack.handler.delay = 0.15  # a batch of 32 takes about 5 s
    status, body, _ = open_round(stack, busy)
    assert status == 201, stack.explain(f"{status}: {body}")
    addresses = {a.lower() for a in busy.addresses}
    stack.wait(lambda: sum(received(stack, addresses).values()) >= 3, 20, "the batch under way")
    stack.stop_redis()  # in the middle of the job: RQ's own bookkeeping after it will find Redis gone
    stopped_at = time.time()
    # The job itself needs no Redis: it finishes its batch (the database and SMTP are there).
    stack.wait(lambda: addresses <= set(received(stack, addresses)), 30, "the batch finished without Redis")
    time.sleep(3.0)  # RQ's work loop has met the missing Redis by now
    assert all(worker.alive() for worker in stack.workers), stack.explain("a worker exited when Redis went away")

    stack.start_redis()  # empty
    back_at = time.time()
    stack.handler.delay = 0.0
    status, after, _ = open_round(stack, later)
    assert status == 201, stack.explain(f"{status}: {after}")
    fresh_addresses = {a.lower() for a in later.addresses}
    stack.wait(lambda: fresh_addresses <= set(received(stack, fresh_addresses)),
               max(float(TICK_SECONDS), 1.0) * 2 + SWEEP_GRACE + SLACK + 10, "the mail of a round opened afterwards")
    resumed = max(m.received_at.timestamp() for m in messages_to(stack, fresh_addresses)) - back_at
    assert all(worker.alive() for worker in stack.workers), stack.explain("a worker exited after Redis came back")
    assert received(stack, addresses) == Counter({a: 1 for a in addresses})
    print(f"\nRedis away {seconds(back_at - stopped_at)} during a batch: both workers lived on; the next round's mail "
          f"arrived {seconds(resumed)} after Redis came back")
    figures.append(f"Redis away for {seconds(back_at - stopped_at)} while the workers sent a batch: the batch "
                   f"finished, both workers lived on, and the next round's mail arrived {seconds(resumed)} after "
                   "Redis came back")


def test_a_worker_asked_to_stop_while_redis_is_away_stops(stack):
    """The other side of living on without Redis: an operator's SIGTERM still ends the worker, at once."""
    stack.launch(workers=1, web=False)
    stack.ready()
    stack.stop_redis()
    time.sleep(2.5)  # it is now retrying Redis, inside or between RQ's work loops
    worker = stack.workers[0]
    asked = time.monotonic()
    os.kill(worker.pid, signal.SIGTERM)
    try:
        worker.process.wait(10)
    except subprocess.TimeoutExpired:
        pytest.fail(stack.explain("the worker did not stop within 10 s of a SIGTERM while Redis was away"))
    assert worker.process.returncode == 0, stack.explain(f"the worker exited with {worker.process.returncode}")
    print(f"\nSIGTERM with Redis away: the worker stopped after {time.monotonic() - asked:.1f} s")
