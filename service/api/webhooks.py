"""API: a network's webhooks (register, disable, new secret) and their delivery log (send a failed one again)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from service.api import schemas as s
from service.api.auth import caller
from service.api.blueprint import bp
from service.api.helpers import check_network, failure_words, load, page
from service.api.registry import operation
from service.web import db
from storage.database.models import Webhook, WebhookDelivery
from workflows.domain import webhooks

TAG = "Webhooks"
COORDINATOR = ("coordinator",)


def delivery_out(delivery: WebhookDelivery) -> s.WebhookDeliveryOut:
    out = s.WebhookDeliveryOut.model_validate(delivery)
    out.failure_text = failure_words(delivery.failure)
    return out


@operation(bp, "GET", "/networks/{network_id}/webhooks", summary="The network's webhooks (without their secrets)",
           tag=TAG, query=s.PageQuery, response=s.WebhookPage, paginated=True)
def list_webhooks(network_id: int, query: s.PageQuery):
    check_network(network_id)
    statement = select(Webhook).where(Webhook.network_id == network_id)
    return page(statement, Webhook.id, query, s.WebhookOut.model_validate, s.WebhookPage)


@operation(bp, "POST", "/networks/{network_id}/webhooks", summary="Register a URL for the network's events; the "
           "answer holds the signing secret, shown once", tag=TAG, roles=COORDINATOR, body=s.WebhookIn,
           response=s.WebhookWithSecret, status=201, errors=(400, 409), idempotent=True)
def create_webhook(network_id: int, body: s.WebhookIn):
    check_network(network_id)
    webhook, secret = webhooks.register(db.session(), network_id, url=body.url, events=body.events,
                                        actor=caller().person,
                                        allow_private=current_app.config.get("WEBHOOK_ALLOW_PRIVATE", False))
    return s.WebhookWithSecret(**s.WebhookOut.model_validate(webhook).model_dump(), secret=secret)


@operation(bp, "GET", "/webhooks/{webhook_id}", summary="A webhook", tag=TAG, response=s.WebhookOut)
def get_webhook(webhook_id: int):
    return s.WebhookOut.model_validate(load(Webhook, webhook_id))


@operation(bp, "POST", "/webhooks/{webhook_id}/disable", summary="Stop sending to a webhook (pending deliveries "
           "are cancelled)", tag=TAG, roles=COORDINATOR, response=s.WebhookOut, errors=(409,), idempotent=True)
def disable_webhook(webhook_id: int):
    webhook = load(Webhook, webhook_id)
    webhooks.disable(db.session(), webhook, actor=caller().person)
    return s.WebhookOut.model_validate(webhook)


@operation(bp, "POST", "/webhooks/{webhook_id}/secret", summary="Give a webhook a new signing secret (shown once)",
           tag=TAG, roles=COORDINATOR, response=s.WebhookWithSecret, errors=(409,), idempotent=True)
def rotate_webhook_secret(webhook_id: int):
    webhook = load(Webhook, webhook_id)
    secret = webhooks.rotate_secret(db.session(), webhook, actor=caller().person)
    return s.WebhookWithSecret(**s.WebhookOut.model_validate(webhook).model_dump(), secret=secret)


@operation(bp, "GET", "/networks/{network_id}/webhook-deliveries", summary="The delivery log of the network's "
           "webhooks", tag=TAG, query=s.PageQuery, response=s.WebhookDeliveryPage, paginated=True)
def list_webhook_deliveries(network_id: int, query: s.PageQuery):
    check_network(network_id)
    statement = (select(WebhookDelivery).join(Webhook, WebhookDelivery.webhook_id == Webhook.id)
                 .where(Webhook.network_id == network_id))
    return page(statement, WebhookDelivery.id, query, delivery_out, s.WebhookDeliveryPage)


@operation(bp, "POST", "/webhook-deliveries/{delivery_id}/redeliver", summary="Send a failed delivery again",
           tag=TAG, roles=COORDINATOR, response=s.WebhookDeliveryOut, errors=(409,), idempotent=True)
def redeliver_webhook(delivery_id: int):
    delivery = load(WebhookDelivery, delivery_id)
    webhooks.redeliver(db.session(), delivery, actor=caller().person)
    return delivery_out(delivery)
