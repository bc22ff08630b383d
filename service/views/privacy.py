"""A coordinator's privacy pages (AVG/GDPR): what the network holds about a person as JSON (art. 15), and erasing
them from the network (art. 17); the operator's commands do the same across every network (service/cli.py)."""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from service.web import auth, db
from service.web.forms import ConfirmForm
from service.web.rendering import download
from storage.database.models import Membership, Network
from workflows.domain import personal_data
from workflows.domain.exports import safe_filename

bp = Blueprint("privacy", __name__)

COORDINATOR = ("coordinator",)


def _network(network_id: int) -> Network:
    network = db.session().get(Network, network_id)
    if network is None:
        abort(404)
    return network


def _member(network: Network, membership_id: int) -> Membership:
    member = db.session().get(Membership, membership_id)
    if member is None or member.network_id != network.id:
        abort(404)
    return member


@bp.get("/n/<int:network_id>/privacy")
def index(network_id: int):
    """The network's people, present and past: a request about a former member is answered here too."""
    network = _network(network_id)
    _person, own = auth.require_role(network.id, *COORDINATOR)
    return render_template("staff/privacy.html", network=network, own=own,
                           members=personal_data.network_memberships(db.session(), network.id))


def _member_page(network: Network, member: Membership, *, status: int = 200, unconfirmed: bool = False):
    _person, own = auth.require_role(network.id, *COORDINATOR)
    return render_template("staff/privacy_member.html", network=network, own=own, member=member,
                           confirm=ConfirmForm(), unconfirmed=unconfirmed,
                           field_problems=[("#confirm-erase", _("Tick the box to confirm."))] if unconfirmed else []
                           ), status


@bp.get("/n/<int:network_id>/members/<int:membership_id>/privacy")
def member(network_id: int, membership_id: int):
    network = _network(network_id)
    auth.require_role(network.id, *COORDINATOR)
    return _member_page(network, _member(network, membership_id))


@bp.post("/n/<int:network_id>/members/<int:membership_id>/export")
def export(network_id: int, membership_id: int):
    """The network's data about the person as a JSON file (a POST: the export is recorded in the audit trail)."""
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    member = _member(network, membership_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    data = personal_data.export(db.session(), member.person, network_id=network.id, actor=person)
    body = json.dumps(data, ensure_ascii=False, indent=2).encode()
    return download(body, "application/json", safe_filename(f"persoonsgegevens {member.name}", ".json"))


@bp.post("/n/<int:network_id>/members/<int:membership_id>/erase")
def erase(network_id: int, membership_id: int):
    """Erase the person from the network, after the page's explicit confirmation (a GET never erases)."""
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    member = _member(network, membership_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if request.form.get("confirm") != "yes":
        return _member_page(network, member, status=400, unconfirmed=True)
    done = personal_data.erase_in_network(db.session(), network.id, member.person, actor=person)
    # The pseudonym, not the name: the message waits in the session until it is shown.
    flash(_("The person was removed from the network and erased here; they are now shown as %(pseudonym)s.",
            pseudonym=done["pseudonym"]))
    return redirect(url_for("privacy.index", network_id=network.id), 303)
