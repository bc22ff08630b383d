"""Webhook events on the wire: for each audit event that is a webhook event, an outbox item per webhook that
wants it (written in the deciding transaction, as an audit subscriber), posted signed by a worker after it commits."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
import uuid
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.database.models import (
    VERDICTS,
    ActionPoint,
    AuditEvent,
    Document,
    Meeting,
    Membership,
    Participant,
    Round,
    Verdict,
    Version,
    Webhook,
    WebhookDelivery,
)
from workflows import audit
from workflows.domain import decisions
from workflows.domain.notifications import hand_over
from workflows.domain.webhooks import resolve
from workflows.errors import InvalidInput
from workflows.outbound.outbox import Claim, Outcome, permanent, sent, temporary

# The audit kinds that are also webhook events (see the audit.record calls in rounds and finalising).
EVENT_OF_KIND = {
    "round_opened": "round.opened",
    "round_closed": "round.closed",
    "verdict_given": "verdict.given",
    "document_finalised": "document.final",
    # Meetings (workflows.domain.meetings, action_followup; "minutes_finalised" when a meeting's minutes, put to a
    # round as a document, become final).
    "meeting_planned": "meeting.scheduled",
    "meeting_changed": "meeting.changed",
    "meeting_cancelled": "meeting.changed",
    "minutes_finalised": "meeting.minutes_final",
    "action_point_due": "action.due",
}
MEETING_KINDS = ("meeting_planned", "meeting_changed", "meeting_cancelled", "minutes_finalised", "action_point_due")
TIMEOUT = 5  # seconds, for connecting and for each read
RESPONSE_EXCERPT = 200
USER_AGENT = "Akkoord-Webhooks/1"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Akkoord-Signature value: HMAC-SHA256 of "<timestamp>.<body>" under the webhook's secret."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


# Emitting (an audit subscriber: inside the deciding transaction) ----------------------------------------------


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
    deliveries = [WebhookDelivery(idempotency_key=f"webhook:{hook.id}:{event_id}", network_id=event.network_id,
                                  webhook_id=hook.id, event_id=event_id, event=name, payload=payload,
                                  status="pending", attempts=0, last_error="", created_at=event.created_at,
                                  next_attempt_at=event.created_at)
                  for hook in hooks]
    session.add_all(deliveries)
    session.flush()
    hand_over(session, deliveries)
    return deliveries


audit.subscribe(emit)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _round_figures(session: Session, round_id: int) -> dict:
    """How many current voters the round has and how many of them gave which verdict (their latest); per
    organisation, the voters are the organisations (and the voters without one)."""
    round_ = session.get(Round, round_id)
    if round_.decision_rule == "organisation":
        values = [value for _name, value in decisions.round_parties(session, round_)]
        return {"decision_rule": "organisation", "voters": len(values), "without_verdict": values.count(None),
                "verdicts": {value: values.count(value) for value in VERDICTS}}
    counts = dict(session.execute(
        select(Verdict.value, func.count(Participant.id))
        .select_from(Participant)
        .outerjoin(Verdict, Participant.current_verdict_id == Verdict.id)
        .where(Participant.round_id == round_id, Participant.can_vote.is_(True), Participant.removed_at.is_(None))
        .group_by(Verdict.value)
    ).all())
    return {"decision_rule": "person", "voters": sum(counts.values()), "without_verdict": counts.pop(None, 0),
            "verdicts": {value: counts.get(value, 0) for value in VERDICTS}}


def _meeting(meeting: Meeting) -> dict:
    return {"id": meeting.id, "title": meeting.title, "starts_at": _iso(meeting.starts_at),
            "ends_at": _iso(meeting.ends_at), "duration_minutes": meeting.duration_minutes, "place": meeting.place,
            "online_url": meeting.online_url, "status": meeting.status, "sequence": meeting.sequence,
            "uid": meeting.uid, "invited_at": _iso(meeting.invited_at), "cancelled_at": _iso(meeting.cancelled_at)}


def _meeting_data(session: Session, event: AuditEvent) -> dict:
    """A meeting event: the meeting as it is now (and what changed); for action.due the action point and its owner
    by the name the network knows them by; for the minutes the document and its final version."""
    if event.kind == "action_point_due":
        action = session.get(ActionPoint, event.data["action_point_id"])
        owner = session.get(Membership, action.owner_id)
        return {"meeting": _meeting(session.get(Meeting, action.meeting_id)),
                "action_point": {"id": action.id, "text": action.text, "due_on": action.due_on.isoformat(),
                                 "status": action.status, "meeting_id": action.meeting_id,
                                 "owner": {"membership_id": owner.id, "name": owner.name,
                                           "email": owner.person.email}}}
    data: dict = {"meeting": _meeting(session.get(Meeting, event.data["meeting_id"]))}
    if event.kind == "meeting_changed":
        data["changes"] = {"before": event.data.get("before", {}), "after": event.data.get("after", {})}
    if event.kind == "minutes_finalised":
        document = session.get(Document, event.document_id or event.data["document_id"])
        version = session.get(Version, document.final_version_id) if document.final_version_id else None
        data["document"] = {"id": document.id, "title": document.title, "kind": document.kind,
                            "status": document.status}
        data["version"] = {"id": version.id, "number": version.number, "content_hash": version.content_hash} \
            if version else None
        data["finalised_at"] = _iso(event.created_at)
    return data


def _event_data(session: Session, event: AuditEvent) -> dict:
    """What a receiver needs to act on the event without calling back: ids, numbers, the content hash."""
    if event.kind in MEETING_KINDS:
        return _meeting_data(session, event)
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
                           "created_at": _iso(verdict.created_at),
                           # Per organisation: the organisation it counts for (given by a representative), or a
                           # colleague's suggestion that counts for nothing.
                           "organisation_id": verdict.organisation_id, "suggestion": verdict.suggestion,
                           # Given by a substitute: person_* is the substitute, this the absent person it counts for.
                           "on_behalf_of": {"substitution_id": verdict.substitution_id,
                                            "name": verdict.on_behalf_of_name, "email": verdict.on_behalf_of_email}
                           if verdict.substitution_id else None}
    if event.kind == "document_finalised":
        data["finalised_at"] = _iso(event.created_at)
        data["approvals"] = len(event.data.get("approvals", []))
    return data


# Delivering (the worker) -----------------------------------------------------------------------------------


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


def post(url: str, secret: str, event: str, event_id: str, body: bytes, *, allow_private: bool) -> Outcome:
    """One signed POST: 5 s timeouts, redirects not followed, only a 2xx answer counts. 5xx, 408 and 429 are worth
    trying again; another 4xx, a redirect or an address that may not be posted to is final."""
    try:
        addresses = resolve(url, allow_private=allow_private)
    except InvalidInput as refused:
        return permanent("webhook_address", f"refused: {refused.code}")
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
        return temporary("webhook_unreachable", f"{type(error).__name__}: {error}")
    finally:
        connection.close()
    status = response.status
    if 200 <= status < 300:
        return sent(status)
    if 300 <= status < 400:
        return permanent("http_redirect", f"HTTP {status}: redirects are not followed", status)
    detail = f"HTTP {status}: {excerpt}".strip()
    if status >= 500 or status in (408, 429):
        return temporary("http_error", detail, status)
    return permanent("http_refused", detail, status)


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def prepare(session: Session, held: Claim) -> tuple | Outcome:
    """In the claiming transaction: what the post needs, read while the claim is held."""
    delivery = session.get(WebhookDelivery, held.id)
    webhook = session.get(Webhook, delivery.webhook_id)
    if webhook.disabled_at is not None:
        return permanent("not_needed", "webhook disabled")
    return webhook.url, webhook.secret, delivery.event, delivery.event_id, body_of(delivery)


def send(allow_private: bool):
    """The outbox's send step for webhook deliveries."""

    def post_prepared(held: Claim, prepared: tuple) -> Outcome:
        url, secret, event, event_id, body = prepared
        return post(url, secret, event, event_id, body, allow_private=allow_private)

    return post_prepared
