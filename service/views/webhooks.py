"""A network's webhooks page: register, disable, rotate the secret, and the delivery log with redelivery."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from service.web import auth, db, routing
from service.web.field_errors import refuse
from service.web.forms import WEBHOOK_EVENT_CHOICES, ConfirmForm, WebhookForm
from service.web.i18n import error_message
from storage.database.models import Network, Webhook, WebhookDelivery
from workflows.domain import undelivered, webhooks
from workflows.errors import DomainError, InvalidInput

bp = Blueprint("webhooks", __name__)

COORDINATOR = ("coordinator",)
STAFF = ("coordinator", "editor")
DELIVERIES_PAGE = 50


def _message(error: DomainError) -> str:
    return error_message(error.code, error.params)


def _network(network_id: int) -> Network:
    network = db.session().get(Network, network_id)
    if network is None:
        abort(404)
    return network


def _webhook(network: Network, webhook_id: int) -> Webhook:
    webhook = db.session().get(Webhook, webhook_id)
    if webhook is None or webhook.network_id != network.id:
        abort(404)
    return webhook


def _page(network: Network, status: int = 200, *, form: WebhookForm | None = None, error: str | None = None,
          secret: str | None = None, secret_for: Webhook | None = None):
    _person, own = auth.require_role(network.id, *STAFF)
    session = db.session()
    page = routing.page_arg()
    failed_only = request.args.get("status") == "failed"  # from the network page and the dashboard
    deliveries, more = webhooks.deliveries_of(session, network.id, page=page, per_page=DELIVERIES_PAGE,
                                              failed_only=failed_only)
    failed = undelivered.failed_webhook_counts(session, [network.id]).get(network.id, 0)
    return render_template(
        "staff/webhooks.html", network=network, own=own, hooks=webhooks.webhooks_of(session, network.id),
        deliveries=deliveries, more=more, page=page, failed_only=failed_only, failed=failed,
        form=form or WebhookForm(formdata=None), confirm=ConfirmForm(),
        error=error, secret=secret, secret_for=secret_for,
        event_labels={choice.value: choice.label for choice in WEBHOOK_EVENT_CHOICES},
    ), status


@bp.get("/n/<int:network_id>/webhooks")
def index(network_id: int):
    return _page(_network(network_id))


@bp.post("/n/<int:network_id>/webhooks")
def add(network_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    form = WebhookForm()
    if not form.validate_on_submit():
        return _page(network, 400, form=form)
    try:
        webhook, secret = webhooks.register(
            db.session(), network.id, url=form.url.data, events=form.events.data, actor=person,
            allow_private=current_app.config.get("WEBHOOK_ALLOW_PRIVATE", False))
    except InvalidInput as refused:  # at the field it is about
        db.session().rollback()
        refuse(form.events if refused.code == "webhook_events" else form.url, refused)
        return _page(network, 400, form=form)
    except DomainError as refused:
        return _page(network, refused.status, form=form, error=_message(refused))
    # The secret is on this answer only (never in a redirect or the session cookie); it is not shown again.
    flash(_("The webhook is registered."))
    return _page(network, secret=secret, secret_for=webhook)


@bp.post("/n/<int:network_id>/webhooks/<int:webhook_id>/disable")
def disable(network_id: int, webhook_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    webhook = _webhook(network, webhook_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        webhooks.disable(db.session(), webhook, actor=person)
    except DomainError as refused:
        return _page(network, refused.status, error=_message(refused))
    flash(_("The webhook is disabled; it receives no more events."))
    return redirect(url_for("webhooks.index", network_id=network.id), 303)


@bp.post("/n/<int:network_id>/webhooks/<int:webhook_id>/secret")
def rotate_secret(network_id: int, webhook_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    webhook = _webhook(network, webhook_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        secret = webhooks.rotate_secret(db.session(), webhook, actor=person)
    except DomainError as refused:
        return _page(network, refused.status, error=_message(refused))
    flash(_("The webhook has a new secret; the old one no longer signs anything."))
    return _page(network, secret=secret, secret_for=webhook)


@bp.post("/n/<int:network_id>/webhooks/deliveries/<int:delivery_id>/redeliver")
def redeliver(network_id: int, delivery_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    delivery = db.session().get(WebhookDelivery, delivery_id)
    if delivery is None:
        abort(404)
    _webhook(network, delivery.webhook_id)  # a delivery of another network's webhook is not found here
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        webhooks.redeliver(db.session(), delivery, actor=person)
    except DomainError as refused:
        return _page(network, refused.status, error=_message(refused))
    flash(_("The delivery is being sent again."))
    # Back to the list it was sent again from (all deliveries, or only those that failed).
    failed_only = request.args.get("status") == "failed"
    return redirect(url_for("webhooks.index", network_id=network.id, status="failed" if failed_only else None,
                            _anchor="deliveries"), 303)
