"""A network's mail that did not arrive: why, in words; a coordinator sends it again or corrects the address."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from service.web import auth, db, routing
from service.web.field_errors import refuse
from service.web.forms import AddressForm, ConfirmForm
from service.web.i18n import error_message
from storage.database.models import MailMessage, Membership, Network
from workflows.domain import membership, people, undelivered
from workflows.errors import Conflict, DomainError, InvalidInput

bp = Blueprint("mail", __name__)

COORDINATOR = ("coordinator",)
STAFF = ("coordinator", "editor")
MAIL_PAGE = 50


def _network(network_id: int) -> Network:
    network = db.session().get(Network, network_id)
    if network is None:
        abort(404)
    return network


def _page(network: Network, status: int = 200, *, error: str | None = None,
          failed_address: tuple[int, AddressForm] | None = None):
    """`failed_address`: a member's refused address (membership id, form), shown again at that member's field."""
    _person, own = auth.require_role(network.id, *STAFF)
    session = db.session()
    kind = request.args.get("status") if request.args.get("status") in undelivered.KINDS else None
    person_id = routing.id_arg("person")  # from the round page: one person's mail
    page = routing.page_arg()
    rows, more = undelivered.undelivered_mail(session, network.id, kind=kind, person_id=person_id, page=page,
                                              per_page=MAIL_PAGE)
    # Each recipient by the name this network knows them by.
    names = people.names_in_network(session, network.id, {person.id for _item, person, _member, _title in rows})
    return render_template("staff/mail.html", network=network, own=own, rows=rows, names=names, more=more, page=page,
                           kind=kind, person_id=person_id, confirm=ConfirmForm(),
                           address_form=AddressForm(formdata=None), error=error,
                           failed_address=failed_address), status


def _back(network: Network) -> str:
    return auth.safe_next(request.form.get("next"), url_for("mail.index", network_id=network.id))


@bp.get("/n/<int:network_id>/mail")
def index(network_id: int):
    return _page(_network(network_id))


@bp.post("/n/<int:network_id>/mail/<int:mail_id>/send-again")
def send_again(network_id: int, mail_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    item = db.session().get(MailMessage, mail_id)
    if item is None or item.network_id != network.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        undelivered.resend_mail(db.session(), item, actor=person)
    except DomainError as refused:
        db.session().rollback()
        return _page(network, refused.status, error=error_message(refused.code, refused.params))
    flash(_("The mail to %(address)s is being sent again.", address=item.to_address))
    return redirect(_back(network), 303)


@bp.post("/n/<int:network_id>/members/<int:membership_id>/email")
def correct_email(network_id: int, membership_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    member = db.session().get(Membership, membership_id)
    if member is None or member.network_id != network.id:
        abort(404)
    form = AddressForm()
    form.email.id = f"address-{member.id}"  # the page has a form per member: this one's field
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        form.email.errors = [error_message("bad_email", {})]
        return _page(network, 400, failed_address=(member.id, form))
    name = member.name
    try:
        resent = membership.correct_email(db.session(), member, form.email.data, actor=person)
    except (InvalidInput, Conflict) as refused:  # a wrong address, or one another member has: at the field
        db.session().rollback()
        refuse(form.email, refused)
        return _page(network, refused.status, failed_address=(member.id, form))
    except DomainError as refused:
        db.session().rollback()
        return _page(network, refused.status, error=error_message(refused.code, refused.params))
    flash(_("The address of %(name)s is now %(email)s; %(count)s mails are being sent again.", name=name,
            email=member.person.email, count=len(resent)))
    return redirect(_back(network), 303)
