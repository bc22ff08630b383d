"""Pages of a network's register of organisations (toe- en uittreding, its .xlsx, the CSV import) and of its own
record (purpose, target group, privacy statement, kerngroep/bestuur and the checks that warn)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from service.web import auth, db
from service.web.field_errors import refuse
from service.web.forms import ConfirmForm
from service.web.i18n import CSV_PROBLEMS, ERRORS, ORGANISATION_CSV_PROBLEMS, record_warning
from service.web.register_forms import (
    KIND_LABELS,
    BoardForm,
    OrganisationCsvForm,
    OrganisationEditForm,
    OrganisationForm,
    RecordForm,
    RegisterEntryForm,
)
from service.web.rendering import download
from storage.database.models import Membership, Network
from workflows.domain import network_record, organisations, people
from workflows.errors import CsvRejected, InvalidInput

bp = Blueprint("organisations", __name__)

COORDINATOR = ("coordinator",)
STAFF = ("coordinator", "editor")


def _network(network_id: int) -> Network:
    network = db.session().get(Network, network_id)
    if network is None:
        abort(404)
    return network


def _register_page(network: Network, status: int = 200, **forms):
    person, own = auth.require_role(network.id, *STAFF)
    context = dict(network=network, own=own, rows=organisations.register(db.session(), network.id),
                   kind_labels=KIND_LABELS, add_form=OrganisationForm(), csv_form=OrganisationCsvForm(),
                   entry_form=RegisterEntryForm(), confirm=ConfirmForm(), csv_problems=None,
                   columns=organisations.CSV_COLUMNS)
    context.update(forms)
    return render_template("staff/organisations.html", **context), status


@bp.get("/n/<int:network_id>/organisations")
def register(network_id: int):
    return _register_page(_network(network_id))


@bp.get("/n/<int:network_id>/organisations.xlsx")
def register_xlsx(network_id: int):
    network = _network(network_id)
    auth.require_role(network.id, *STAFF)
    filename, mimetype, data = organisations.register_xlsx(db.session(), network, str(get_locale()))
    return download(data, mimetype, filename)


@bp.post("/n/<int:network_id>/organisations")
def add_organisation(network_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    form = OrganisationForm()
    if not form.validate_on_submit():
        return _register_page(network, 400, add_form=form)
    try:
        organisations.add_organisation(db.session(), network, name=form.name.data, kind=form.kind.data,
                                       has_vote=form.has_vote.data, joined_on=form.joined_on.data,
                                       joined_reference=form.joined_reference.data or "", actor=person)
    except InvalidInput as refused:  # at the field it is about
        db.session().rollback()
        refuse(form.joined_on if refused.code.startswith("register_date") else
               form.kind if refused.code == "unknown_organisation_kind" else form.name, refused)
        return _register_page(network, 400, add_form=form)
    flash(_("%(name)s was added to the register.", name=form.name.data.strip()))
    return redirect(url_for("organisations.register", network_id=network.id), 303)


@bp.post("/n/<int:network_id>/organisations/<int:organisation_id>")
def update_organisation(network_id: int, organisation_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    organisation = organisations.organisation_in(db.session(), network.id, organisation_id)
    form = OrganisationEditForm()
    if not form.validate_on_submit():
        return _register_page(network, 400)
    organisations.update_organisation(db.session(), organisation, kind=form.kind.data, has_vote=form.has_vote.data,
                                      actor=person)
    flash(_("%(name)s was changed.", name=organisation.name))
    return redirect(url_for("organisations.register", network_id=network.id), 303)


@bp.post("/n/<int:network_id>/organisations/<int:organisation_id>/join")
def record_joining(network_id: int, organisation_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    organisation = organisations.organisation_in(db.session(), network.id, organisation_id)
    form = RegisterEntryForm()
    form.on.id, form.reference.id = f"join-on-{organisation_id}", f"join-ref-{organisation_id}"  # the row's fields
    if not form.validate_on_submit():
        return _register_page(network, 400, entry_form=form)
    added = organisations.record_joining(db.session(), organisation, on=form.on.data,
                                         reference=form.reference.data or "", actor=person)
    flash(_("The joining of %(name)s is recorded; %(count)s of its people were invited to open rounds.",
            name=organisation.name, count=len(added)))
    return redirect(url_for("organisations.register", network_id=network.id), 303)


@bp.post("/n/<int:network_id>/organisations/<int:organisation_id>/leave")
def record_leaving(network_id: int, organisation_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    organisation = organisations.organisation_in(db.session(), network.id, organisation_id)
    form = RegisterEntryForm()
    form.on.id, form.reference.id = f"leave-on-{organisation_id}", f"leave-ref-{organisation_id}"  # the row's fields
    if not form.validate_on_submit():
        return _register_page(network, 400, entry_form=form)
    left = organisations.record_leaving(db.session(), organisation, on=form.on.data,
                                        reference=form.reference.data or "", actor=person)
    flash(_("The leaving of %(name)s is recorded; %(count)s of its people left the network with it and are told "
            "by email.", name=organisation.name, count=len(left)))
    return redirect(url_for("organisations.register", network_id=network.id), 303)


@bp.post("/n/<int:network_id>/organisations/import")
def import_organisations(network_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    form = OrganisationCsvForm()
    if not form.validate_on_submit():
        return _register_page(network, 400, csv_form=form)
    try:
        made, added = organisations.import_csv(db.session(), network, form.file.data.read(), actor=person)
    except CsvRejected as rejected:
        words = CSV_PROBLEMS | ORGANISATION_CSV_PROBLEMS
        problems = [(line, str(words.get(code, code)), value) for line, code, value in rejected.params["problems"]]
        refuse(form.file, str(ERRORS["csv_rejected"]))  # at the file input, which names the list of lines
        return _register_page(network, 400, csv_problems=problems, csv_form=form)
    flash(_("%(organisations)s organisations and %(people)s people were imported.", organisations=len(made),
            people=len(added)))
    return redirect(url_for("organisations.register", network_id=network.id), 303)


# The network's own record ------------------------------------------------------------------------------------


def _record_page(network: Network, status: int = 200, **forms):
    person, own = auth.require_role(network.id, *STAFF)
    session = db.session()
    board = network_record.board_members(session, network.id)
    board_form = BoardForm()
    board_form.membership_id.choices = _member_choices(session, network.id)
    record_form = RecordForm(obj=network)
    record_form.board_kind.data = network.board_kind or ""
    context = dict(network=network, own=own, board=board, kind_labels=KIND_LABELS,
                   warnings=[record_warning(w.code, w.params) for w in network_record.warnings(session, network.id)],
                   record_form=record_form, board_form=board_form, confirm=ConfirmForm())
    context.update(forms)
    return render_template("staff/record.html", **context), status


def _member_choices(session, network_id: int) -> list[tuple[int, str]]:
    return [(m.id, f"{m.name} ({m.organisation.name})" if m.organisation else m.name)
            for m in sorted(people.active_members(session, network_id), key=lambda m: m.name.lower())]


@bp.get("/n/<int:network_id>/record")
def record(network_id: int):
    return _record_page(_network(network_id))


@bp.post("/n/<int:network_id>/record")
def update_record(network_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    form = RecordForm()
    if not form.validate_on_submit():
        return _record_page(network, 400, record_form=form)
    network_record.update_record(db.session(), network, purpose=form.purpose.data or "",
                                 target_group=form.target_group.data or "",
                                 privacy_statement=form.privacy_statement.data or "",
                                 board_kind=form.board_kind.data or None, actor=person)
    flash(_("The network's record was saved."))
    return redirect(url_for("organisations.record", network_id=network.id), 303)


@bp.post("/n/<int:network_id>/board")
def set_board(network_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    form = BoardForm()
    form.membership_id.choices = _member_choices(db.session(), network.id)
    if not form.validate_on_submit():
        return _record_page(network, 400, board_form=form)
    member = db.session().get(Membership, form.membership_id.data)
    network_record.set_board(db.session(), member, board=True, discipline=form.discipline.data or "", actor=person)
    flash(_("%(name)s is in the kerngroep/bestuur.", name=member.name))
    return redirect(url_for("organisations.record", network_id=network.id), 303)


@bp.post("/n/<int:network_id>/board/<int:membership_id>/remove")
def remove_from_board(network_id: int, membership_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, *COORDINATOR)
    member = db.session().get(Membership, membership_id)
    if member is None or member.network_id != network.id or not ConfirmForm().validate_on_submit():
        abort(400)
    network_record.set_board(db.session(), member, board=False, discipline=member.discipline, actor=person)
    flash(_("%(name)s is no longer in the kerngroep/bestuur.", name=member.name))
    return redirect(url_for("organisations.record", network_id=network.id), 303)
