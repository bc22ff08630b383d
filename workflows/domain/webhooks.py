"""Webhooks: the URLs a network registers to receive signed JSON events, and the rules for what may be
registered (the events themselves are written and posted by workflows.outbound.webhooks)."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.database.engine import lock
from storage.database.models import WEBHOOK_EVENTS, OutboxItem, Person, Webhook, WebhookDelivery, utcnow
from workflows import audit
from workflows.domain import inputs
from workflows.domain.notifications import send_again
from workflows.domain.people import active_membership
from workflows.errors import Conflict, InvalidInput, NotAllowed

MAX_WEBHOOKS = 10  # active webhooks per network: every event is a row and a post for each
MAX_URL_LENGTH = 2000


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


# Registering ------------------------------------------------------------------------------------------------


def _address_allowed(address: str, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip.is_unspecified or ip.is_multicast:
        return False
    if ip.is_global:
        return True
    return allow_private and (ip.is_private or ip.is_loopback or ip.is_link_local)


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def resolve(url: str, *, allow_private: bool) -> list[str]:
    """Check a webhook URL and return the addresses it may be posted to; InvalidInput says why not.

    https only, to public addresses; with `allow_private` (tests, the dev stack) also private, loopback and
    link-local addresses, and plain http to loopback. Checked again at every post, against the addresses
    then resolved, and the connection goes to a checked address: a name that later resolves to an internal
    address (DNS rebinding) gets nothing.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput("webhook_url_invalid") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput("webhook_url_invalid")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise InvalidInput("webhook_url_invalid")
    try:
        infos = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise InvalidInput("webhook_url_unresolvable") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses or not all(_address_allowed(a, allow_private) for a in addresses):
        raise InvalidInput("webhook_url_private")
    if parts.scheme == "http" and not (allow_private and all(_is_loopback(a) for a in addresses)):
        raise InvalidInput("webhook_url_https_required")
    return addresses


def _check_events(events: list[str] | None) -> list[str]:
    chosen = list(WEBHOOK_EVENTS) if events is None else [e for e in WEBHOOK_EVENTS if e in events]
    if not chosen or len(set(events or chosen)) != len(chosen):
        raise InvalidInput("webhook_events")
    return chosen


def _require_coordinator(session: Session, network_id: int, actor: Person) -> None:
    membership = active_membership(session, network_id, actor.id)
    if membership is None or membership.role != "coordinator":
        raise NotAllowed()


def register(session: Session, network_id: int, *, url: str, events: list[str] | None = None, actor: Person,
             allow_private: bool = False) -> tuple[Webhook, str]:
    """Register a URL for the network's events; returns the webhook and its secret (shown once)."""
    _require_coordinator(session, network_id, actor)
    # urlsplit drops tabs and line breaks silently (as browsers do): refused instead, so what is stored and shown
    # is the address that is posted to.
    url = inputs.single_line(url, "url")
    if not url or len(url) > MAX_URL_LENGTH:
        raise InvalidInput("webhook_url_invalid")
    chosen = _check_events(events)
    resolve(url, allow_private=allow_private)
    active = session.scalar(select(func.count(Webhook.id)).where(Webhook.network_id == network_id,
                                                                  Webhook.disabled_at.is_(None)))
    if active >= MAX_WEBHOOKS:
        raise Conflict("too_many_webhooks", limit=MAX_WEBHOOKS)
    secret = new_secret()
    webhook = Webhook(network_id=network_id, url=url, secret=secret, events=chosen, created_by_id=actor.id,
                      created_at=utcnow())
    session.add(webhook)
    session.flush()
    audit.record(session, network_id, "webhook_added", actor_id=actor.id, webhook_id=webhook.id, url=url,
                 events=chosen)
    return webhook, secret


def disable(session: Session, webhook: Webhook, *, actor: Person) -> Webhook:
    """Stop sending to the webhook; deliveries not yet posted are cancelled."""
    _require_coordinator(session, webhook.network_id, actor)
    if webhook.disabled_at is not None:
        raise Conflict("webhook_disabled")
    webhook.disabled_at = utcnow()
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook.id, WebhookDelivery.status == "pending")
        .values(status="cancelled", failure="not_needed", last_error="webhook disabled", next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    audit.record(session, webhook.network_id, "webhook_disabled", actor_id=actor.id, webhook_id=webhook.id,
                 url=webhook.url)
    return webhook


def rotate_secret(session: Session, webhook: Webhook, *, actor: Person) -> str:
    """A new secret (shown once); deliveries from now on are signed with it, also retries of older events."""
    _require_coordinator(session, webhook.network_id, actor)
    if webhook.disabled_at is not None:
        raise Conflict("webhook_disabled")
    webhook.secret = new_secret()
    audit.record(session, webhook.network_id, "webhook_secret_rotated", actor_id=actor.id, webhook_id=webhook.id)
    return webhook.secret


def redeliver(session: Session, delivery: WebhookDelivery, *, actor: Person) -> WebhookDelivery:
    """Post a failed delivery again, with a fresh set of retries; the receiver sees the same event id."""
    webhook = session.get(Webhook, delivery.webhook_id)
    _require_coordinator(session, webhook.network_id, actor)
    if webhook.disabled_at is not None:
        raise Conflict("webhook_disabled")
    delivery = lock(session, OutboxItem, delivery.id)  # two clicks at once: one sends it again, the other is told
    if delivery.status != "failed":
        raise Conflict("webhook_not_failed")
    failure = delivery.failure
    send_again(session, delivery)
    audit.record(session, webhook.network_id, "webhook_redelivered", actor_id=actor.id, webhook_id=webhook.id,
                 delivery_id=delivery.id, event_id=delivery.event_id, failure=failure)
    return delivery


def webhooks_of(session: Session, network_id: int) -> list[Webhook]:
    return list(session.scalars(select(Webhook).where(Webhook.network_id == network_id)
                                .order_by(Webhook.disabled_at.is_not(None), Webhook.id.desc())))


def deliveries_of(session: Session, network_id: int, *, page: int = 1, per_page: int = 50, failed_only: bool = False
                  ) -> tuple[list[tuple[WebhookDelivery, str]], bool]:
    """The network's deliveries (or only those that failed), newest first, with their webhook's URL; and whether
    there is a next page."""
    statement = (
        select(WebhookDelivery, Webhook.url)
        .join(Webhook, WebhookDelivery.webhook_id == Webhook.id)
        .where(Webhook.network_id == network_id)
    )
    if failed_only:
        statement = statement.where(WebhookDelivery.status == "failed")
    rows = session.execute(
        statement
        .order_by(WebhookDelivery.id.desc())
        .limit(per_page + 1).offset((max(page, 1) - 1) * per_page)
    ).all()
    return [tuple(row) for row in rows[:per_page]], len(rows) > per_page


