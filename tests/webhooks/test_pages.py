"""The webhooks page of a network: coordinators register, disable, rotate and redeliver (POST with CSRF);
editors only look; a GET changes nothing; another network's webhooks and deliveries are out of reach."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask_babel import force_locale, format_datetime
from markupsafe import escape
from sqlalchemy import func, select

from service.web.i18n import FAILURE_REASONS
from service.web.templating import outbox_state
from storage.database.models import AuditEvent, Webhook, WebhookDelivery, utcnow
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round
from tests.service.test_staff_pages import signed_in
from tests.webhooks.conftest import verify
from workflows.domain import webhooks
from workflows.domain.wording import catalogue

SECRET = re.compile(r"<code>(whsec_[A-Za-z0-9_-]+)</code>")


def post(client, page: str, action: str, data: dict | None = None):
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **(data or {})})


def counts(db) -> tuple[int, int, int]:
    fresh(db)
    return (db.scalar(select(func.count(Webhook.id))), db.scalar(select(func.count(WebhookDelivery.id))),
            db.scalar(select(func.count(AuditEvent.id))))


@pytest.fixture
def setup(app, db):
    network, coordinator, people = make_network(db, members=1)
    document, _version = make_document(db, network, coordinator)
    db.commit()
    return network, coordinator, people[0].person, document


def test_a_coordinator_adds_a_webhook_and_sees_its_secret_once(app, db, setup, receiver, run_worker):
    network, coordinator, _editor, document = setup
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/webhooks"
    assert f'href="{page}"' in client.get(f"/n/{network.id}").get_data(as_text=True)  # linked from the network
    answer = post(client, page, page, {"url": receiver.url, "events": ["round.opened", "document.final"]})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    [secret] = SECRET.findall(html)
    fresh(db)
    webhook = db.scalar(select(Webhook).where(Webhook.network_id == network.id))
    assert webhook.url == receiver.url and webhook.events == ["round.opened", "document.final"]
    assert webhook.secret == secret
    assert db.scalar(select(AuditEvent.kind).where(AuditEvent.network_id == network.id)
                     .order_by(AuditEvent.seq.desc()).limit(1)) == "webhook_added"
    again = client.get(page).get_data(as_text=True)
    assert secret not in again and receiver.url.replace("&", "&amp;") in again

    open_round(db, document, coordinator)
    db.commit()
    run_worker()
    assert verify(secret, receiver.requests[0])
    log = client.get(page).get_data(as_text=True)
    assert "bezorgd" in log and "HTTP 200" in log  # the delivery log, in Dutch


def test_a_get_changes_nothing(app, db, setup, receiver):
    network, coordinator, _editor, document = setup
    webhooks.register(db, network.id, url=receiver.url, actor=coordinator, allow_private=True)
    open_round(db, document, coordinator)
    db.commit()
    client = signed_in(app, db, coordinator)
    before = counts(db)
    for path in (f"/n/{network.id}/webhooks", f"/n/{network.id}/webhooks?page=2"):
        assert client.get(path).status_code == 200
    assert counts(db) == before


def test_posts_need_the_csrf_token_and_a_coordinator(app, db, setup, receiver):
    network, coordinator, editor, _document = setup
    page = f"/n/{network.id}/webhooks"
    before = counts(db)
    coordinator_client = signed_in(app, db, coordinator)
    assert coordinator_client.post(page, data={"url": receiver.url, "events": ["round.opened"]}).status_code == 400
    editor_client = signed_in(app, db, editor)
    view = editor_client.get(page)
    assert view.status_code == 200
    html = view.get_data(as_text=True)
    assert 'name="url"' not in html  # editors see the list and the log, no forms
    assert post(editor_client, page, page, {"url": receiver.url, "events": ["round.opened"]}).status_code == 403
    _stranger, stranger_coordinator, _ = make_network(db, members=0, editors=0)
    db.commit()
    outsider = signed_in(app, db, stranger_coordinator)
    assert outsider.get(page).status_code == 403
    assert app.test_client().get(page, follow_redirects=False).status_code == 302  # to the sign-in page
    assert counts(db)[:2] == before[:2]


def test_a_bad_address_gets_a_clear_message_and_changes_nothing(app, db, setup):
    network, coordinator, *_ = setup
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/webhooks"
    before = counts(db)
    answer = post(client, page, page, {"url": "https://user:pw@example.org/x", "events": ["round.opened"]})
    assert answer.status_code == 400 and "volledig webadres" in answer.get_data(as_text=True)
    answer = post(client, page, page, {"url": "https://10.0.0.8/x", "events": ["round.opened"]})
    assert answer.status_code == 200  # the tests (like the dev stack) allow private addresses
    answer = post(client, page, page, {"url": "http://10.0.0.8/x", "events": ["round.opened"]})
    assert answer.status_code == 400 and "https://" in answer.get_data(as_text=True)
    answer = post(client, page, page, {"url": "https://10.0.0.8/x"})
    assert answer.status_code == 400 and "ten minste één" in answer.get_data(as_text=True)
    assert counts(db)[0] == before[0] + 1


def test_a_coordinator_disables_a_webhook_and_gives_it_a_new_secret(app, db, setup, receiver):
    network, coordinator, *_ = setup
    webhook, old_secret = webhooks.register(db, network.id, url=receiver.url, actor=coordinator, allow_private=True)
    db.commit()
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/webhooks"
    answer = post(client, page, f"{page}/{webhook.id}/secret")
    assert answer.status_code == 200
    [new_secret] = SECRET.findall(answer.get_data(as_text=True))
    fresh(db)
    assert new_secret != old_secret and db.get(Webhook, webhook.id).secret == new_secret
    assert post(client, page, f"{page}/{webhook.id}/disable").status_code == 303
    fresh(db)
    assert db.get(Webhook, webhook.id).disabled_at is not None
    assert post(client, page, f"{page}/{webhook.id}/disable").status_code == 409  # already disabled
    kinds = db.scalars(select(AuditEvent.kind).where(AuditEvent.network_id == network.id)
                       .order_by(AuditEvent.seq)).all()
    assert kinds[-3:] == ["webhook_added", "webhook_secret_rotated", "webhook_disabled"]


def test_the_log_is_paged_newest_first_and_a_failed_delivery_is_sent_again(app, db, setup, receiver, run_worker,
                                                                          monkeypatch):
    from service.views import webhooks as view

    network, coordinator, _editor, document = setup
    webhook, secret = webhooks.register(db, network.id, url=receiver.url, actor=coordinator, allow_private=True)
    receiver.status = 500
    round_ = open_round(db, document, coordinator)
    db.commit()
    from workflows.domain import rounds

    rounds.close_round(db, round_, actor=coordinator)
    db.commit()
    run_worker()
    fresh(db)
    opened, closed = db.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id)
                                .order_by(WebhookDelivery.id)).all()
    monkeypatch.setattr(view, "DELIVERIES_PAGE", 1)
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/webhooks"
    first = client.get(page).get_data(as_text=True)
    assert f'id="delivery-{closed.id}"' in first and f'id="delivery-{opened.id}"' not in first
    retrying = catalogue("nl").gettext("not sent yet, will try again")  # the state in plain words
    assert "HTTP 500: receiver says no" in first and retrying in first and "?page=2" in first
    assert str(escape(reason(app, "http_error"))) in first  # in words, the technical text beside it
    second = client.get(f"{page}?page=2").get_data(as_text=True)
    assert f'id="delivery-{opened.id}"' in second

    redeliver = f"{page}/deliveries/{opened.id}/redeliver"
    assert post(client, page, redeliver).status_code == 409  # only a failed delivery
    fresh(db)  # the page views since the test's last read may have written (a session's first return)
    db.get(WebhookDelivery, opened.id).status = "failed"
    db.commit()
    assert client.post(redeliver).status_code == 400  # no CSRF token
    receiver.status = 200
    assert post(client, page, redeliver).status_code == 303
    run_worker()
    fresh(db)
    assert db.get(WebhookDelivery, opened.id).status == "sent"
    assert verify(secret, receiver.requests[-1]) and receiver.requests[-1].json["id"] == opened.event_id


def test_another_networks_webhooks_and_deliveries_are_not_reachable(app, db, setup, receiver):
    network, coordinator, *_ = setup
    other, other_coordinator, _ = make_network(db, members=0, editors=0)
    other_document, _ = make_document(db, other, other_coordinator)
    other_webhook, _secret = webhooks.register(db, other.id, url=receiver.url, actor=other_coordinator,
                                               allow_private=True)
    open_round(db, other_document, other_coordinator)
    db.commit()
    fresh(db)
    other_delivery = db.scalar(select(WebhookDelivery).where(WebhookDelivery.webhook_id == other_webhook.id))
    other_delivery.status = "failed"
    db.commit()
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/webhooks"
    html = client.get(page).get_data(as_text=True)
    assert other_delivery.event_id not in html
    assert post(client, page, f"{page}/{other_webhook.id}/disable").status_code == 404
    assert post(client, page, f"{page}/{other_webhook.id}/secret").status_code == 404
    assert post(client, page, f"{page}/deliveries/{other_delivery.id}/redeliver").status_code == 404
    fresh(db)
    assert db.get(Webhook, other_webhook.id).disabled_at is None
    assert db.get(WebhookDelivery, other_delivery.id).status == "failed"


def reason(app, code: str) -> str:
    """A failure's reason as a Dutch page says it (in the catalogue's words, whatever they are)."""
    with app.test_request_context(), force_locale("nl"):
        return str(FAILURE_REASONS[code])


def test_delivery_states_are_said_in_words_with_the_technical_text_beside_them(app):
    failed = WebhookDelivery(status="failed", attempts=1, failure="webhook_address",
                             last_error="refused: webhook_url_private")
    waiting = WebhookDelivery(status="pending", attempts=2, failure="webhook_unreachable",
                              last_error="OSError: <script>", next_attempt_at=utcnow() + dt.timedelta(minutes=5))
    sent = WebhookDelivery(status="sent", attempts=1, failure=None, last_error="", sent_at=utcnow())
    with app.test_request_context(), force_locale("nl"):
        said = outbox_state(failed)
        assert str(escape(reason(app, "webhook_address"))) in said and "<code>refused: webhook_url_private</code>" in said
        said = outbox_state(waiting)
        assert str(escape(reason(app, "webhook_unreachable"))) in said
        assert "<script>" not in said and "&lt;script&gt;" in said  # the other side's text, escaped
        assert format_datetime(waiting.next_attempt_at, "HH:mm") in said
        assert "bezorgd" in outbox_state(sent) and "<code>" not in outbox_state(sent)
