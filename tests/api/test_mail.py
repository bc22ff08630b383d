"""The API on mail that did not arrive: the reason as a code and in the caller's language on participants,
webhook deliveries and the failed-mail list; sending again and correcting an address, for coordinators only."""

from __future__ import annotations

import datetime as dt

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from service.web.i18n import FAILURE_REASONS
from storage.database.models import AuditEvent, MailMessage, Person, WebhookDelivery, utcnow
from tests.api.conftest import auth
from tests.factories import fresh, make_network, unique
from workflows.domain import membership


def reason(app, code: str, locale: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return str(FAILURE_REASONS[code])


def invitation(db, world, member) -> MailMessage:
    return db.scalar(select(MailMessage).where(MailMessage.round_id == world.round.id,
                                               MailMessage.email == "invitation",
                                               MailMessage.person_id == member.person_id))


@pytest.fixture
def failures(db, world):
    """One member's invitation refused for good, another's waiting for its next attempt."""
    failed, waiting = invitation(db, world, world.members[1]), invitation(db, world, world.members[0])
    failed.status, failed.attempts, failed.failure, failed.next_attempt_at = "failed", 1, "address_refused", None
    failed.last_error = "550 5.1.1 No such user"
    waiting.attempts, waiting.failure, waiting.last_error = 2, "recipient_deferred", "452 4.2.2 Mailbox full"
    waiting.next_attempt_at = utcnow() + dt.timedelta(minutes=5)
    db.commit()
    return failed, waiting


def test_participants_carry_the_invitations_failure_in_the_callers_language(app, client, world, failures):
    failed, waiting = failures
    url = f"/api/v1/rounds/{world.round.id}/participants"
    for locale in ("en", "nl"):
        items = client.get(url, headers=auth(world.editor_token, **{"Accept-Language": locale})).get_json()["items"]
        by_person = {item["person"]["id"]: item for item in items}
        refused = by_person[failed.person_id]
        assert (refused["invitation_status"], refused["invitation_failure"]) == ("failed", "address_refused")
        assert refused["invitation_failure_text"] == reason(app, "address_refused", locale)
        assert refused["invitation_next_attempt_at"] is None
        later = by_person[waiting.person_id]
        assert (later["invitation_status"], later["invitation_failure"]) == ("pending", "recipient_deferred")
        assert later["invitation_failure_text"] == reason(app, "recipient_deferred", locale)
        assert dt.datetime.fromisoformat(later["invitation_next_attempt_at"]) == waiting.next_attempt_at
        others = [item for person, item in by_person.items() if person not in (failed.person_id, waiting.person_id)]
        assert others and all(item["invitation_failure"] is None and item["invitation_failure_text"] is None
                              for item in others)
    assert reason(app, "address_refused", "en").startswith("The receiving mail server refused this address")


def test_the_failed_mail_list_with_its_filter(app, client, db, world, failures):
    failed, waiting = failures
    url = f"/api/v1/networks/{world.network.id}/mail"
    headers = auth(world.editor_token, **{"Accept-Language": "en"})
    items = client.get(url, headers=headers).get_json()["items"]
    assert [item["id"] for item in items] == sorted([failed.id, waiting.id])
    [item] = client.get(f"{url}?status=failed", headers=headers).get_json()["items"]
    assert (item["id"], item["email"], item["status"], item["failure"]) == (failed.id, "invitation", "failed",
                                                                            "address_refused")
    assert item["failure_text"] == reason(app, "address_refused", "en") and "No such user" in item["last_error"]
    assert item["membership_id"] == world.members[1].id and item["to_address"] == world.members[1].person.email
    assert item["person"]["id"] == world.members[1].person_id and item["attempts"] == 1
    [item] = client.get(f"{url}?status=waiting", headers=headers).get_json()["items"]
    assert item["id"] == waiting.id and item["next_attempt_at"] is not None
    assert client.get(f"{url}?status=sent", headers=headers).status_code == 422
    page = client.get(f"{url}?limit=1", headers=headers)
    assert len(page.get_json()["items"]) == 1 and page.get_json()["next"] and "Link" in page.headers


def test_send_again_is_for_coordinators_and_failed_mail_only(client, db, world, failures):
    failed, waiting = failures
    assert client.post(f"/api/v1/mail/{failed.id}/send-again", headers=auth(world.editor_token)).status_code == 403
    refused = client.post(f"/api/v1/mail/{waiting.id}/send-again", headers=auth(world.coordinator_token))
    assert refused.status_code == 409 and refused.get_json()["code"] == "mail_not_failed"
    headers = auth(world.coordinator_token, **{"Idempotency-Key": "again-1"})
    answer = client.post(f"/api/v1/mail/{failed.id}/send-again", headers=headers)
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["status"], body["attempts"], body["failure"], body["failure_text"]) == ("pending", 0, None, None)
    replay = client.post(f"/api/v1/mail/{failed.id}/send-again", headers=headers)
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.get_json() == body
    fresh(db)
    assert db.scalars(select(AuditEvent.kind).where(AuditEvent.network_id == world.network.id)).all().count(
        "mail_resent") == 1


def test_correcting_an_address_sends_the_failed_mail_again(client, db, world, failures):
    failed, _waiting = failures
    member = world.members[1]
    new = f"juist-{unique('a')}@example.org"
    url = f"/api/v1/networks/{world.network.id}/members/{member.id}/email"
    coordinator = auth(world.coordinator_token)
    assert client.post(url, json={"email": new}, headers=auth(world.editor_token)).status_code == 403
    bad = client.post(url, json={"email": "geen adres"}, headers=coordinator)
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["field"] == "email"
    taken = client.post(url, json={"email": world.members[0].person.email}, headers=coordinator)
    assert taken.status_code == 409 and taken.get_json()["code"] == "email_taken"
    answer = client.post(url, json={"email": new.upper()}, headers=coordinator)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["membership"]["person"]["email"] == new and body["resent"] == [failed.id]
    same = client.post(url, json={"email": new}, headers=coordinator)
    assert same.status_code == 409 and same.get_json()["code"] == "email_unchanged"
    fresh(db)
    mail = db.get(MailMessage, failed.id)
    assert (mail.status, mail.to_address, mail.attempts) == ("pending", new, 0)


def test_an_address_shared_with_another_network_is_refused(client, db, world, failures):
    member = world.members[1]
    other, other_coordinator, _ = make_network(db, members=0, editors=0)
    membership.add_member(db, other, name=member.person.name, email=member.person.email, organisation_name="",
                          role="member", actor=other_coordinator)
    db.commit()
    url = f"/api/v1/networks/{world.network.id}/members/{member.id}/email"
    answer = client.post(url, json={"email": f"nieuw-{unique('a')}@example.org"},
                         headers=auth(world.coordinator_token, **{"Accept-Language": "en"}))
    assert answer.status_code == 409 and answer.get_json()["code"] == "address_shared"
    assert member.person.name in answer.get_json()["detail"]
    fresh(db)
    assert db.get(Person, member.person_id).email == member.person.email
    assert db.get(MailMessage, failures[0].id).status == "failed"


def test_another_networks_mail_and_members_are_not_found(client, db, world, other, failures):
    headers = auth(world.coordinator_token)
    other_mail = invitation(db, other, other.members[1])
    assert client.post(f"/api/v1/mail/{other_mail.id}/send-again", headers=headers).status_code == 404
    # A member of the other network under this network's id: not found either.
    url = f"/api/v1/networks/{world.network.id}/members/{other.members[1].id}/email"
    assert client.post(url, json={"email": "x@example.org"}, headers=headers).status_code == 404


def test_a_webhook_delivery_says_why_it_waits(app, client, db, world):
    delivery = db.get(WebhookDelivery, world.delivery.id)
    delivery.status, delivery.attempts, delivery.failure = "pending", 1, "http_error"
    delivery.last_error, delivery.next_attempt_at = "HTTP 503: busy", utcnow() + dt.timedelta(minutes=1)
    db.commit()
    items = client.get(f"/api/v1/networks/{world.network.id}/webhook-deliveries",
                       headers=auth(world.editor_token, **{"Accept-Language": "nl"})).get_json()["items"]
    [item] = [item for item in items if item["id"] == delivery.id]
    assert (item["failure"], item["failure_text"]) == ("http_error", reason(app, "http_error", "nl"))
    assert item["next_attempt_at"] is not None and item["last_error"] == "HTTP 503: busy"
