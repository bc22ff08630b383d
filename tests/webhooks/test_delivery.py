"""Webhook events: written in the deciding transaction, posted after commit by a real worker to a real HTTP
receiver, signed, retried, never posted twice once sent, and only to the network they belong to."""

from __future__ import annotations

import datetime as dt

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select, update

from storage.database.models import Participant, Webhook, WebhookDelivery, utcnow
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.webhooks.conftest import verify
from workflows.domain import documents, finalising, rounds, webhooks
from workflows.outbound import jobs
from workflows.outbound import webhooks as posting

DELIVER = "workflows.outbound.jobs.deliver_webhooks"


def register(db, network, coordinator, receiver, events=None) -> tuple[Webhook, str]:
    webhook, secret = webhooks.register(db, network.id, url=receiver.url, events=events, actor=coordinator,
                                        allow_private=True)
    db.commit()
    return webhook, secret


def come_due(db, delivery_id: int, *, overdue: dt.timedelta = dt.timedelta(0)) -> None:
    """Time passes: the delivery's next attempt is due now (or long since)."""
    fresh(db)  # a tick since the test's last read may have written (it deletes finished browser sessions)
    db.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
               .values(next_attempt_at=utcnow() - overdue))
    db.commit()


def deliveries(db, **where) -> list[WebhookDelivery]:
    fresh(db)
    query = select(WebhookDelivery)
    for key, value in where.items():
        query = query.where(getattr(WebhookDelivery, key) == value)
    return db.scalars(query.order_by(WebhookDelivery.id)).all()


@pytest.fixture
def network_with_draft(db):
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    db.commit()
    return network, coordinator, people, document, version


def test_a_round_opening_is_posted_signed_by_the_worker_after_commit(db, run_worker, receiver, network_with_draft):
    network, coordinator, _people, document, version = network_with_draft
    webhook, secret = register(db, network, coordinator, receiver)
    round_ = open_round(db, document, coordinator)
    assert not any(job.func_name == DELIVER for job in jobs.queue().jobs)
    db.commit()
    # Written in the deciding transaction (as it commits, with the audit event), handed to a worker after it.
    pending = deliveries(db, webhook_id=webhook.id)
    assert [(d.event, d.status) for d in pending] == [("round.opened", "pending")]
    assert sum(job.func_name == DELIVER for job in jobs.queue().jobs) == 1
    run_worker()

    [received] = receiver.requests
    assert received.path == "/hooks/akkoord?source=test"
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["X-Akkoord-Event"] == "round.opened"
    assert verify(secret, received)
    assert not verify("whsec_someone-else", received)
    event = received.json
    assert event["id"] == received.headers["X-Akkoord-Delivery"] == pending[0].event_id
    assert event["type"] == "round.opened" and event["network_id"] == network.id
    assert dt.datetime.fromisoformat(event["created_at"]).tzinfo is not None
    data = event["data"]
    assert data["document"] == {"id": document.id, "title": document.title, "kind": document.kind,
                                "status": "in_review"}
    assert data["round"]["id"] == round_.id and data["round"]["number"] == 1 and data["round"]["status"] == "open"
    assert data["round"]["voters"] == data["round"]["without_verdict"] == 4  # coordinator, editor, two members
    assert data["round"]["verdicts"] == {"akkoord": 0, "akkoord_met_opmerkingen": 0, "niet_akkoord": 0}
    assert data["version"] == {"id": version.id, "number": 1, "content_hash": version.content_hash}

    [delivery] = deliveries(db, webhook_id=webhook.id)
    assert (delivery.status, delivery.attempts, delivery.response_status, delivery.last_error) == ("sent", 1, 200, "")
    assert delivery.delivered_at is not None


def test_verdicts_closing_and_finalising_each_reach_the_receiver(db, run_worker, receiver, network_with_draft):
    network, coordinator, _people, document, version = network_with_draft
    _webhook, secret = register(db, network, coordinator, receiver)
    round_ = open_round(db, document, coordinator)
    voters = db.scalars(select(Participant).where(Participant.round_id == round_.id).order_by(Participant.id)).all()
    db.commit()
    for voter in voters:  # each in its own transaction, as each member's own request
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
        db.commit()
    finalising.finalise_document(db, document, version, actor=coordinator)
    db.commit()
    run_worker()

    assert sorted(receiver.events()) == sorted(
        ["round.opened"] + ["verdict.given"] * len(voters) + ["round.closed", "document.final"])
    assert all(verify(secret, r) for r in receiver.requests)
    by_type = {}
    for r in receiver.requests:
        by_type.setdefault(r.json["type"], []).append(r.json)
    emails = sorted(e["data"]["verdict"]["person_email"] for e in by_type["verdict.given"])
    assert emails == sorted(v.person.email for v in voters)
    verdict = by_type["verdict.given"][0]["data"]
    assert verdict["verdict"]["value"] == "akkoord" and verdict["round"]["id"] == round_.id
    assert verdict["version"]["content_hash"] == version.content_hash
    closed = by_type["round.closed"][0]["data"]["round"]
    assert closed["status"] == "closed" and closed["close_reason"] == "finalised"
    assert closed["verdicts"]["akkoord"] == closed["voters"] == len(voters) and closed["without_verdict"] == 0
    progress = sorted(e["data"]["round"]["verdicts"]["akkoord"] for e in by_type["verdict.given"])
    assert progress == list(range(1, len(voters) + 1))  # each verdict event says how far the round is
    final = by_type["document.final"][0]["data"]
    assert final["document"]["status"] == "final" and final["version"]["number"] == 1
    assert final["version"]["content_hash"] == version.content_hash and final["approvals"] == len(voters)
    assert len({r.headers["X-Akkoord-Delivery"] for r in receiver.requests}) == len(receiver.requests)


def test_a_new_version_closes_the_open_round_as_superseded(db, run_worker, receiver, network_with_draft):
    network, coordinator, _people, document, _version = network_with_draft
    open_round(db, document, coordinator)
    db.commit()
    register(db, network, coordinator, receiver, events=["round.closed"])
    documents.upload_version(db, document, filename="v2.md", data=b"# Nieuw\n\nTweede concept.", change_note="",
                             actor=coordinator)
    db.commit()
    run_worker()
    [received] = receiver.requests
    assert received.json["data"]["round"]["status"] == "superseded"


def test_a_webhook_gets_only_the_events_it_asked_for(db, run_worker, receiver, network_with_draft):
    network, coordinator, _people, document, _version = network_with_draft
    register(db, network, coordinator, receiver, events=["document.final", "verdict.given"])
    round_ = open_round(db, document, coordinator)
    rounds.record_verdict(db, participant(db, round_, _people[0]), value="niet_akkoord", reason="Artikel 2 klopt niet",
                          evidence=rounds.Evidence())
    rounds.close_round(db, round_, actor=coordinator)
    db.commit()
    run_worker()
    assert receiver.events() == ["verdict.given"]
    assert receiver.requests[0].json["data"]["verdict"]["value"] == "niet_akkoord"


def test_a_rolled_back_transaction_posts_nothing(db, run_worker, receiver, network_with_draft):
    network, coordinator, _people, document, _version = network_with_draft
    webhook, _secret = register(db, network, coordinator, receiver)
    open_round(db, document, coordinator)
    db.rollback()
    assert deliveries(db, webhook_id=webhook.id) == []
    assert jobs.queue().count == 0
    run_worker()
    assert receiver.requests == []


def test_a_network_never_receives_another_networks_events(db, run_worker, make_receiver):
    receiver_a, receiver_b = make_receiver(), make_receiver()
    network_a, coordinator_a, _ = make_network(db, members=1)
    network_b, coordinator_b, _ = make_network(db, members=1)
    document_b, _ = make_document(db, network_b, coordinator_b)
    db.commit()
    register(db, network_a, coordinator_a, receiver_a)
    register(db, network_b, coordinator_b, receiver_b)
    round_b = open_round(db, document_b, coordinator_b)
    rounds.close_round(db, round_b, actor=coordinator_b)
    db.commit()
    run_worker()
    assert receiver_a.requests == []
    assert receiver_b.events() == ["round.opened", "round.closed"]
    assert {r.json["network_id"] for r in receiver_b.requests} == {network_b.id}


def test_a_receiver_that_fails_first_gets_the_same_event_on_the_retry(db, run_worker, receiver, network_with_draft):
    network, coordinator, _people, document, _version = network_with_draft
    webhook, secret = register(db, network, coordinator, receiver)
    receiver.plan = [503]
    open_round(db, document, coordinator)
    db.commit()
    run_worker()
    [delivery] = deliveries(db, webhook_id=webhook.id)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 503)
    assert delivery.last_error.startswith("HTTP 503")
    registry = ScheduledJobRegistry(queue=jobs.queue())
    retries = [job for job in map(jobs.queue().fetch_job, registry.get_job_ids())
               if job.func_name == DELIVER]
    wait = dt.timedelta(seconds=jobs.current().schedule.retry_after[0])
    assert len(retries) == 1 and retries[0].args == ([delivery.id],)  # at the schedule's next time
    assert abs(registry.get_scheduled_time(retries[0]) - delivery.next_attempt_at) < dt.timedelta(seconds=1)
    assert delivery.next_attempt_at - utcnow() > wait - dt.timedelta(seconds=5)
    assert run_worker() == 0  # not before its time
    assert jobs.tick()["webhooks"] == 0  # nor does the sweep take it earlier

    come_due(db, delivery.id)
    run_worker(scheduled_until=utcnow() + wait * 2)
    [delivery] = deliveries(db, webhook_id=webhook.id)
    assert (delivery.status, delivery.attempts, delivery.response_status, delivery.last_error) == ("sent", 2, 200, "")
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["X-Akkoord-Delivery"] == second.headers["X-Akkoord-Delivery"] == delivery.event_id
    assert verify(secret, first) and verify(secret, second)


def test_after_the_last_retry_the_delivery_has_failed_and_can_be_sent_again(db, run_worker, receiver,
                                                                          network_with_draft):
    network, coordinator, _people, document, _version = network_with_draft
    webhook, _secret = register(db, network, coordinator, receiver)
    receiver.status = 500
    open_round(db, document, coordinator)
    db.commit()
    run_worker()
    attempts = jobs.current().schedule.max_attempts
    for _ in range(attempts - 1):
        [delivery] = deliveries(db, webhook_id=webhook.id)
        come_due(db, delivery.id)
        run_worker(scheduled_until=utcnow() + dt.timedelta(days=1))
    [delivery] = deliveries(db, webhook_id=webhook.id)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", attempts, 500)
    assert delivery.failure == "http_error"
    assert len(receiver.requests) == attempts

    receiver.status = 204
    webhooks.redeliver(db, delivery, actor=coordinator)
    db.commit()
    run_worker()
    [delivery] = deliveries(db, webhook_id=webhook.id)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("sent", 1, 204)
    assert len({r.headers["X-Akkoord-Delivery"] for r in receiver.requests}) == 1


def test_a_retried_or_duplicated_job_never_posts_a_sent_delivery_again(db, run_worker, receiver, network_with_draft):
    network, coordinator, _people, document, _version = network_with_draft
    webhook, _secret = register(db, network, coordinator, receiver)
    open_round(db, document, coordinator)
    db.commit()
    run_worker()
    [delivery] = deliveries(db, webhook_id=webhook.id)
    assert delivery.status == "sent"
    jobs.enqueue_items(jobs.queue(), [], [delivery.id, delivery.id])
    run_worker()
    assert jobs.deliver_webhooks([delivery.id])["skipped"] == 1
    assert len(receiver.requests) == 1
    assert deliveries(db, webhook_id=webhook.id)[0].attempts == 1


def test_redirects_are_not_followed(db, run_worker, receiver, network_with_draft):
    network, coordinator, _people, document, _version = network_with_draft
    webhook, _secret = register(db, network, coordinator, receiver)
    receiver.plan = [302]
    open_round(db, document, coordinator)
    db.commit()
    run_worker()
    assert [r.path for r in receiver.requests] == ["/hooks/akkoord?source=test"]  # never /elsewhere
    [delivery] = deliveries(db, webhook_id=webhook.id)
    # A redirect will not go away by asking again: failed at once, with its reason.
    assert (delivery.status, delivery.response_status, delivery.failure) == ("failed", 302, "http_redirect")
    assert "redirect" in delivery.last_error


def test_a_slow_receiver_times_out(db, run_worker, receiver, network_with_draft, monkeypatch):
    network, coordinator, _people, document, _version = network_with_draft
    webhook, _secret = register(db, network, coordinator, receiver)
    monkeypatch.setattr(posting, "TIMEOUT", 0.3)  # 5 s in production
    receiver.delay = 1.0
    open_round(db, document, coordinator)
    db.commit()
    run_worker()
    [delivery] = deliveries(db, webhook_id=webhook.id)
    assert (delivery.status, delivery.response_status, delivery.failure) == ("pending", None, "webhook_unreachable")
    assert "timed out" in delivery.last_error.lower()


def test_the_worker_checks_the_address_again_and_refuses_a_private_one(db, run_worker, receiver, network_with_draft,
                                                                       monkeypatch):
    network, coordinator, _people, document, _version = network_with_draft
    webhook, _secret = register(db, network, coordinator, receiver)
    monkeypatch.setattr(jobs.current(), "webhook_allow_private", False)  # as on a server
    open_round(db, document, coordinator)
    db.commit()
    run_worker()
    assert receiver.requests == []
    [delivery] = deliveries(db, webhook_id=webhook.id)
    assert (delivery.status, delivery.failure) == ("failed", "webhook_address")
    assert delivery.last_error == "refused: webhook_url_private"


def test_a_disabled_webhook_gets_nothing_more(db, run_worker, receiver, network_with_draft):
    network, coordinator, _people, document, _version = network_with_draft
    webhook, _secret = register(db, network, coordinator, receiver)
    round_ = open_round(db, document, coordinator)
    db.commit()
    webhooks.disable(db, db.get(Webhook, webhook.id), actor=coordinator)  # before the worker posted it
    db.commit()
    rounds.close_round(db, round_, actor=coordinator)
    db.commit()
    run_worker()
    assert receiver.requests == []
    assert [d.status for d in deliveries(db, webhook_id=webhook.id)] == ["cancelled"]


def test_the_sweep_posts_deliveries_whose_job_was_lost(db, run_worker, receiver, network_with_draft):
    network, coordinator, _people, document, _version = network_with_draft
    webhook, secret = register(db, network, coordinator, receiver)
    open_round(db, document, coordinator)
    db.commit()
    jobs.current().redis.flushdb()  # as if Redis was down at commit time
    run_worker()
    assert receiver.requests == []
    assert jobs.tick()["webhooks"] == 0  # not yet: the job may still come
    [delivery] = deliveries(db, webhook_id=webhook.id)
    come_due(db, delivery.id, overdue=dt.timedelta(seconds=jobs.current().schedule.sweep_grace + 1))
    jobs.queue().empty()  # what earlier ticks handed over (other tests' leftovers) would count as a backlog
    assert jobs.tick()["webhooks"] == 1
    run_worker()
    assert receiver.events() == ["round.opened"] and verify(secret, receiver.requests[0])
    assert [d.status for d in deliveries(db, webhook_id=webhook.id)] == ["sent"]


def test_only_a_coordinator_registers_and_the_secret_is_random(db, network_with_draft, receiver):
    network, coordinator, people, _document, _version = network_with_draft
    from workflows.errors import NotAllowed

    editor = people[0].person
    with pytest.raises(NotAllowed):
        webhooks.register(db, network.id, url=receiver.url, actor=editor, allow_private=True)
    other_network, other_coordinator, _ = make_network(db, members=0, editors=0)
    with pytest.raises(NotAllowed):
        webhooks.register(db, network.id, url=receiver.url, actor=other_coordinator, allow_private=True)
    _one, first = webhooks.register(db, network.id, url=receiver.url, actor=coordinator, allow_private=True)
    _two, second = webhooks.register(db, network.id, url=receiver.url, actor=coordinator, allow_private=True)
    assert first != second and first.startswith("whsec_") and len(first) > 40
    assert db.scalar(select(func.count(Webhook.id)).where(Webhook.network_id == other_network.id)) == 0
    db.rollback()


def test_the_sweep_waits_for_a_retry_and_takes_one_whose_job_was_lost(db, run_worker, receiver, network_with_draft):
    network, coordinator, _people, document, _version = network_with_draft
    webhook, _secret = register(db, network, coordinator, receiver)
    receiver.plan = [500]
    open_round(db, document, coordinator)
    db.commit()
    run_worker()
    [delivery] = deliveries(db, webhook_id=webhook.id)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    jobs.current().redis.flushdb()  # its retry job is lost
    assert jobs.tick()["webhooks"] == 0  # its time has not come
    come_due(db, delivery.id)
    assert jobs.tick()["webhooks"] == 0  # its time has come, and its job may still come
    come_due(db, delivery.id, overdue=dt.timedelta(seconds=jobs.current().schedule.sweep_grace + 1))
    jobs.queue().empty()  # what earlier ticks handed over (other tests' leftovers) would count as a backlog
    assert jobs.tick()["webhooks"] == 1  # that job is lost
    run_worker()
    assert [d.status for d in deliveries(db, webhook_id=webhook.id)] == ["sent"]
    assert len(receiver.requests) == 2


def test_a_redelivery_whose_job_was_lost_is_swept_too(db, run_worker, receiver, network_with_draft):
    network, coordinator, _people, document, _version = network_with_draft
    webhook, _secret = register(db, network, coordinator, receiver)
    open_round(db, document, coordinator)
    db.commit()
    fresh(db)
    delivery = db.scalar(select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id))
    delivery.status, delivery.attempts = "failed", jobs.current().schedule.max_attempts  # as after the last retry
    delivery.next_attempt_at = None
    db.commit()
    jobs.current().redis.flushdb()
    webhooks.redeliver(db, delivery, actor=coordinator)
    db.commit()
    jobs.current().redis.flushdb()  # its job is lost
    assert jobs.tick()["webhooks"] == 0
    come_due(db, delivery.id, overdue=dt.timedelta(seconds=jobs.current().schedule.sweep_grace + 1))
    jobs.queue().empty()  # what earlier ticks handed over (other tests' leftovers) would count as a backlog
    assert jobs.tick()["webhooks"] == 1
    run_worker()
    assert [d.status for d in deliveries(db, webhook_id=webhook.id)] == ["sent"]
