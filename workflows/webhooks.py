"""Webhooks: a network's URLs that receive signed JSON events, written in the deciding transaction and posted
by a worker after it commits (an outbox of their own)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.models import (
    VERDICTS,
    WEBHOOK_EVENTS,
    AuditEvent,
    Document,
    Participant,
    Person,
    Round,
    Verdict,
    Version,
    Webhook,
    WebhookDelivery,
    utcnow,
)
from workflows import audit
from workflows.errors import Conflict, InvalidInput, NotAllowed
from workflows.membership import active_membership

PENDING_DELIVERY_IDS = "akkoord_webhook_delivery_ids"  # read by workflows.jobs after commit

# The audit kinds that are also webhook events (see the audit.record calls in rounds and finalising).
EVENT_OF_KIND = {
    "round_opened": "round.opened",
    "round_closed": "round.closed",
    "verdict_given": "verdict.given",
    "document_finalised": "document.final",
}
RETRY_INTERVALS = [10, 60, 300, 1800, 3600]  # seconds between attempts, for RQ's Retry
MAX_ATTEMPTS = len(RETRY_INTERVALS) + 1
TIMEOUT = 5  # seconds, for connecting and for each read
CLAIM_TIMEOUT = dt.timedelta(minutes=2)  # a post takes at most a few timeouts; older claims are from dead workers
SWEEP_AFTER = dt.timedelta(seconds=30)
# A delivery that failed and was not tried again this long after has lost its retry job (e.g. Redis was wiped).
RETRY_LOST_AFTER = dt.timedelta(seconds=max(RETRY_INTERVALS) * 2)
MAX_WEBHOOKS = 10  # active webhooks per network: every event is a row and a post for each
MAX_URL_LENGTH = 2000
RESPONSE_EXCERPT = 200
USER_AGENT = "Akkoord-Webhooks/1"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Akkoord-Signature value: HMAC-SHA256 of "<timestamp>.<body>" under the webhook's secret."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


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
    url = url.strip()
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
        .values(status="cancelled", last_error="webhook disabled")
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
    if delivery.status != "failed":
        raise Conflict("webhook_not_failed")
    # claimed_at marks when it was handed over again, so the sweep waits for its job before enqueueing another.
    delivery.status, delivery.attempts, delivery.claimed_at = "pending", 0, utcnow()
    session.flush()
    audit.record(session, webhook.network_id, "webhook_redelivered", actor_id=actor.id, webhook_id=webhook.id,
                 delivery_id=delivery.id, event_id=delivery.event_id)
    session.info.setdefault(PENDING_DELIVERY_IDS, []).append(delivery.id)
    return delivery


def webhooks_of(session: Session, network_id: int) -> list[Webhook]:
    return list(session.scalars(select(Webhook).where(Webhook.network_id == network_id)
                                .order_by(Webhook.disabled_at.is_not(None), Webhook.id.desc())))


def deliveries_of(session: Session, network_id: int, *, page: int = 1, per_page: int = 50
                  ) -> tuple[list[tuple[WebhookDelivery, str]], bool]:
    """The network's deliveries, newest first, with their webhook's URL; and whether there is a next page."""
    rows = session.execute(
        select(WebhookDelivery, Webhook.url)
        .join(Webhook, WebhookDelivery.webhook_id == Webhook.id)
        .where(Webhook.network_id == network_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(per_page + 1).offset((max(page, 1) - 1) * per_page)
    ).all()
    return [tuple(row) for row in rows[:per_page]], len(rows) > per_page


# Emitting (called by audit.record, inside the deciding transaction) -----------------------------------------


def emit(session: Session, event: AuditEvent) -> list[WebhookDelivery]:
    """Write a delivery for each of the network's webhooks that wants this audit event; none if it is not one."""
    name = EVENT_OF_KIND.get(event.kind)
    if name is None:
        return []
    hooks = [hook for hook in session.scalars(
        select(Webhook).where(Webhook.network_id == event.network_id, Webhook.disabled_at.is_(None))
        .order_by(Webhook.id)
    ) if name in hook.events]
    if not hooks:
        return []
    event_id = str(uuid.uuid4())
    payload = {"id": event_id, "type": name, "created_at": event.created_at.isoformat(),
               "network_id": event.network_id, "data": _event_data(session, event)}
    deliveries = [WebhookDelivery(webhook_id=hook.id, event_id=event_id, event=name, payload=payload,
                                  status="pending", attempts=0, last_error="", created_at=event.created_at)
                  for hook in hooks]
    session.add_all(deliveries)
    session.flush()
    session.info.setdefault(PENDING_DELIVERY_IDS, []).extend(d.id for d in deliveries)
    return deliveries


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _round_figures(session: Session, round_id: int) -> dict:
    """How many current voters the round has and how many of them gave which verdict (their latest)."""
    counts = dict(session.execute(
        select(Verdict.value, func.count(Participant.id))
        .select_from(Participant)
        .outerjoin(Verdict, Participant.current_verdict_id == Verdict.id)
        .where(Participant.round_id == round_id, Participant.can_vote.is_(True), Participant.removed_at.is_(None))
        .group_by(Verdict.value)
    ).all())
    return {"voters": sum(counts.values()), "without_verdict": counts.pop(None, 0),
            "verdicts": {value: counts.get(value, 0) for value in VERDICTS}}


def _event_data(session: Session, event: AuditEvent) -> dict:
    """What a receiver needs to act on the event without calling back: ids, numbers, the content hash."""
    document = session.get(Document, event.document_id)
    data: dict = {"document": {"id": document.id, "title": document.title, "kind": document.kind,
                               "status": document.status}}
    version_id = event.data.get("version_id")
    if event.round_id is not None:
        round_ = session.get(Round, event.round_id)
        version_id = round_.version_id
        data["round"] = {"id": round_.id, "number": round_.number, "status": round_.status,
                         "opened_at": _iso(round_.opened_at), "deadline": _iso(round_.deadline),
                         "closed_at": _iso(round_.closed_at), "close_reason": round_.close_reason,
                         **_round_figures(session, round_.id)}
    if version_id is not None:
        version = session.get(Version, version_id)
        data["version"] = {"id": version.id, "number": version.number, "content_hash": version.content_hash}
    if event.kind == "verdict_given":
        verdict = session.get(Verdict, event.data["verdict_id"])
        data["verdict"] = {"id": verdict.id, "value": verdict.value, "person_email": verdict.person_email,
                           "person_name": verdict.person_name, "organisation": verdict.organisation_name,
                           "created_at": _iso(verdict.created_at)}
    if event.kind == "document_finalised":
        data["finalised_at"] = _iso(event.created_at)
        data["approvals"] = len(event.data.get("approvals", []))
    return data


# Delivering (the worker) -----------------------------------------------------------------------------------


@dataclass
class PostResult:
    ok: bool
    status: int | None = None
    error: str = ""


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand, whatever the name resolves to by then."""

    def __init__(self, host: str, port: int | None, address: str, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int | None, address: str, **kwargs):
        super().__init__(host, port, context=ssl.create_default_context(), **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the URL's host name, not the address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, secret: str, event: str, event_id: str, body: bytes, *, allow_private: bool) -> PostResult:
    """One signed POST: 5 s timeouts, redirects not followed, only a 2xx answer counts."""
    try:
        addresses = resolve(url, allow_private=allow_private)
    except InvalidInput as refused:
        return PostResult(False, None, f"refused: {refused.code}")
    parts = urlsplit(url)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Akkoord-Event": event,
        "X-Akkoord-Delivery": event_id,
        "X-Akkoord-Timestamp": timestamp,
        "X-Akkoord-Signature": sign(secret, timestamp, body),
    }
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = kind(parts.hostname, parts.port, addresses[0], timeout=TIMEOUT)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(RESPONSE_EXCERPT).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as error:
        return PostResult(False, None, f"{type(error).__name__}: {error}"[:1000])
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return PostResult(True, response.status)
    if 300 <= response.status < 400:
        return PostResult(False, response.status, f"HTTP {response.status}: redirects are not followed")
    return PostResult(False, response.status, f"HTTP {response.status}: {excerpt}".strip()[:1000])


def claim(session: Session, delivery_id: int, now: dt.datetime) -> WebhookDelivery | None:
    """Take the delivery if it is still to be posted, so that no other worker posts it at the same time."""
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .where(or_(WebhookDelivery.status == "pending",
                   (WebhookDelivery.status == "sending") & (WebhookDelivery.claimed_at < now - CLAIM_TIMEOUT)))
        .values(status="sending", claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.status == "sending", WebhookDelivery.claimed_at == now))


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def deliver(session_factory: sessionmaker, delivery_id: int, *, allow_private: bool) -> str:
    """Claim in one short transaction, post outside any transaction, record the outcome in another.

    Returns the delivery's status afterwards: "sent", "pending" (to be retried), "failed" (no retries
    left), "cancelled" (its webhook was disabled), or "skipped" when there was nothing to post (already
    sent, or being posted by another worker): a retried job never posts a delivery twice over.
    """
    with session_factory() as session:
        delivery = claim(session, delivery_id, utcnow())
        if delivery is None:
            session.commit()
            return "skipped"
        webhook = session.get(Webhook, delivery.webhook_id)
        if webhook.disabled_at is not None:
            delivery.status, delivery.last_error = "cancelled", "webhook disabled"
            session.commit()
            return "cancelled"
        url, secret, event, event_id, body = webhook.url, webhook.secret, delivery.event, delivery.event_id, \
            body_of(delivery)
        session.commit()

    result = post(url, secret, event, event_id, body, allow_private=allow_private)

    with session_factory() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        delivery.attempts += 1
        delivery.response_status = result.status
        if result.ok:
            delivery.status, delivery.last_error, delivery.delivered_at = "sent", "", utcnow()
        else:
            delivery.last_error = result.error
            delivery.status = "failed" if delivery.attempts >= MAX_ATTEMPTS else "pending"
        status = delivery.status
        session.commit()
    return status


def stale_delivery_ids(session: Session, now: dt.datetime) -> list[int]:
    """Deliveries the sweep enqueues: never enqueued (Redis was down at commit), lost their retry job, or
    claimed by a worker that died."""
    return list(session.scalars(
        select(WebhookDelivery.id).where(or_(
            (WebhookDelivery.status == "pending") & (WebhookDelivery.attempts == 0)
            & (func.coalesce(WebhookDelivery.claimed_at, WebhookDelivery.created_at) < now - SWEEP_AFTER),
            (WebhookDelivery.status == "pending") & (WebhookDelivery.attempts > 0)
            & (WebhookDelivery.claimed_at < now - RETRY_LOST_AFTER),
            (WebhookDelivery.status == "sending") & (WebhookDelivery.claimed_at < now - CLAIM_TIMEOUT),
        )).order_by(WebhookDelivery.id)
    ))
