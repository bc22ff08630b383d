"""Failed work, visible: a webhook delivery a real receiver refused is on the network page, the dashboard and the
webhooks page (only the failed ones, the reason in words), is sent again by a coordinator (POST with CSRF, an audit
event) and then arrives; the operator's failed-work command lists it beside the mail a real SMTP server refused."""

from __future__ import annotations

import re

from flask_babel import force_locale
from markupsafe import escape
from prometheus_client import REGISTRY
from sqlalchemy import select

from service.web.i18n import FAILURE_REASONS
from storage.database.models import AuditEvent, MailMessage, WebhookDelivery
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round
from tests.service.test_failed_mail import refusing_smtp  # noqa: F401 - a fixture: a real SMTP server that refuses
from tests.service.test_staff_pages import signed_in
from tests.webhooks.conftest import verify
from workflows.domain import webhooks


def attempts(outcome: str) -> float:
    """The webhook deliveries' attempts with this outcome, as /metrics reports them (this process's counter)."""
    return REGISTRY.get_sample_value("akkoord_outbox_attempts_total", {"channel": "webhook", "outcome": outcome}) or 0


def words(app, code: str, locale: str = "nl") -> str:
    with app.test_request_context(), force_locale(locale):
        return str(FAILURE_REASONS[code])


def test_a_refused_delivery_is_shown_where_staff_look_and_sent_again(app, db, receiver, make_receiver, run_worker):
    network, coordinator, people = make_network(db, members=1)
    editor = people[0].person
    document, _version = make_document(db, network, coordinator)
    refusing, _secret = webhooks.register(db, network.id, url=receiver.url, actor=coordinator, allow_private=True)
    working_receiver = make_receiver()
    webhooks.register(db, network.id, url=working_receiver.url, actor=coordinator, allow_private=True)
    receiver.status = 400  # refused for good: not tried again by itself
    failed_before, sent_before = attempts("failed"), attempts("sent")
    open_round(db, document, coordinator)
    db.commit()
    run_worker()
    assert (attempts("failed"), attempts("sent")) == (failed_before + 1, sent_before + 1)
    fresh(db)
    [failed] = db.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id == refusing.id)).all()
    assert failed.status == "failed" and failed.failure == "http_refused"
    assert working_receiver.requests  # the other webhook's delivery arrived

    client = signed_in(app, db, coordinator)
    only_failed = f"/n/{network.id}/webhooks?status=failed"
    network_page = client.get(f"/n/{network.id}").get_data(as_text=True)
    assert f'href="{only_failed}#deliveries"' in network_page
    dashboard = client.get("/").get_data(as_text=True)
    assert 'id="attention-webhooks"' in dashboard and f'href="{only_failed}#deliveries"' in dashboard

    page = client.get(only_failed).get_data(as_text=True)
    rows = re.findall(r'id="delivery-(\d+)"', page)
    assert rows == [str(failed.id)]  # only the failed one, not the delivery that arrived
    assert str(escape(words(app, "http_refused"))) in page and "HTTP 400: receiver says no" in page
    resend = f"/n/{network.id}/webhooks/deliveries/{failed.id}/redeliver?status=failed"
    assert f'action="{escape(resend)}"' in page
    everything = client.get(f"/n/{network.id}/webhooks").get_data(as_text=True)
    assert len(re.findall(r'id="delivery-(\d+)"', everything)) == 2 and f'href="{only_failed}#deliveries"' in everything

    fresh(db)  # the pages may have written since the test's last read
    editor_page = signed_in(app, db, editor).get(only_failed).get_data(as_text=True)
    assert f'id="delivery-{failed.id}"' in editor_page and "redeliver" not in editor_page  # editors only look

    assert client.post(resend).status_code == 400  # no CSRF token
    fresh(db)
    assert db.get(WebhookDelivery, failed.id).status == "failed"
    receiver.status = 200
    answer = client.post(resend, data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"{only_failed}#deliveries")
    fresh(db)
    event = db.scalar(select(AuditEvent).where(AuditEvent.network_id == network.id)
                      .order_by(AuditEvent.seq.desc()).limit(1))
    assert event.kind == "webhook_redelivered" and event.actor_id == coordinator.id
    assert event.data["delivery_id"] == failed.id and event.data["failure"] == "http_refused"
    run_worker()
    fresh(db)
    assert db.get(WebhookDelivery, failed.id).status == "sent"
    assert attempts("sent") == sent_before + 2
    assert receiver.requests[-1].json["id"] == failed.event_id and verify(refusing.secret, receiver.requests[-1])
    assert f'href="{only_failed}#deliveries"' not in client.get(f"/n/{network.id}").get_data(as_text=True)
    assert 'id="attention-webhooks"' not in client.get("/").get_data(as_text=True)
    assert client.post(resend, data={"csrf_token": csrf_token(page)}).status_code == 409  # sent: nothing to resend


def test_the_failed_work_command_lists_webhook_deliveries_and_mail_across_networks(
        app, db, receiver, run_worker, refusing_smtp):  # noqa: F811 - the fixture imported above
    network, coordinator, people = make_network(db, members=1, editors=0)
    member = people[0]
    refusing_smtp.refused.add(member.person.email)
    document, _version = make_document(db, network, coordinator)
    webhooks.register(db, network.id, url=receiver.url, actor=coordinator, allow_private=True)
    receiver.status = 410
    other, _coordinator, _people = make_network(db, members=0, editors=0)
    open_round(db, document, coordinator)
    db.commit()
    run_worker()
    fresh(db)
    refused_mail = db.scalar(select(MailMessage).where(MailMessage.person_id == member.person_id,
                                                       MailMessage.network_id == network.id))
    assert refused_mail.status == "failed" and refused_mail.failure == "address_refused"

    runner = app.test_cli_runner()
    listed = runner.invoke(args=["failed-work"])
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.output.splitlines() if line.startswith(f"network {network.id} ")]
    assert any("  webhook  failed  1  " in line and f"http_refused: {words(app, 'http_refused', 'en')}" in line
               for line in lines), listed.output
    assert any("  mail  failed  " in line and "address_refused" in line for line in lines), listed.output
    assert not any(line.startswith(f"network {other.id} ") for line in listed.output.splitlines())
    one = runner.invoke(args=["failed-work", "--network", str(network.id)])
    assert one.exit_code == 0 and all(line.startswith(f"network {network.id} ")
                                      for line in one.output.splitlines()[:-1]), one.output
    assert one.output.splitlines()[-1].endswith("webhook deliveries not delivered")
    assert "1 webhook deliveries" in one.output.splitlines()[-1]
    missing = runner.invoke(args=["failed-work", "--network", "999999"])
    assert missing.exit_code == 1 and "no network with id 999999" in missing.output
