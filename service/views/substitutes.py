"""Substitutes (plaatsvervangers): named by the absent member from their own pages or by a coordinator; the
substitute's verdict on behalf of an absent colleague."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from service.views import member
from service.web import auth, db
from service.web.field_errors import refuse
from service.web.forms import ConfirmForm, SubstituteForm, on_behalf_verdict_form
from service.web.i18n import error_message
from service.web.templating import when
from storage.database.models import Membership, Network, Person, Substitution, utcnow
from workflows.domain import people, rounds, substitutes
from workflows.domain.wording import TIMEZONE
from workflows.errors import DomainError, InvalidInput

bp = Blueprint("substitutes", __name__)


def _form(candidates: list[Membership], absentees: list[Membership] | None = None) -> SubstituteForm:
    form = SubstituteForm()
    form.substitute.choices = [(str(m.id), _choice_label(m)) for m in candidates]
    form.absent.choices = [(str(m.id), _choice_label(m)) for m in absentees or []]
    if not form.is_submitted():
        now = utcnow().astimezone(TIMEZONE).replace(second=0, microsecond=0, tzinfo=None)
        form.starts_at.data = now
    return form


# The field each refusal of the rule (workflows.domain.substitutes) is about; any other: the substitute.
_FIELD_OF = {"substitute_absent_no_vote": "absent", "substitution_ends_before_start": "ends_at",
             "substitution_in_past": "ends_at"}


def _refuse(form: SubstituteForm, error: DomainError) -> None:
    field = _FIELD_OF.get(error.code, "substitute")
    if field == "absent" and not form.absent.choices:  # the member's own page: they are the one away
        field = "substitute"
    refuse(form[field], error)


def _choice_label(m: Membership) -> str:
    return f"{m.name} ({m.organisation.name})" if m.organisation else m.name


def _name(form: SubstituteForm, absent: Membership, actor: Person) -> Substitution:
    return substitutes.name_substitute(
        db.session(), absent, int(form.substitute.data), actor=actor,
        starts_at=form.starts_at.data.replace(tzinfo=TIMEZONE), ends_at=form.ends_at.data.replace(tzinfo=TIMEZONE))


# The member's side: their own substitutes, from the page their personal link opens. ------------------------------

def _member_page(participant, form: SubstituteForm | None = None, status: int = 200, error: str | None = None):
    session = db.session()
    own = participant.membership
    network_id = participant.round.document.network_id
    return render_template(
        "member/substitutes.html", participant=participant, round=participant.round,
        document=participant.round.document, own=own, form=form or _form(substitutes.candidates(session, own)),
        mine=substitutes.of_person(session, network_id, participant.person_id), confirm=ConfirmForm(),
        error=error), status


@bp.get("/review/<int:participant_id>/substitutes")
def member_page(participant_id: int):
    participant, _link = auth.require_participant(participant_id)
    return _member_page(participant)


@bp.post("/review/<int:participant_id>/substitutes")
def member_name(participant_id: int):
    participant, link = auth.require_participant(participant_id)
    own = participant.membership
    form = _form(substitutes.candidates(db.session(), own))
    if not form.validate_on_submit():
        return _member_page(participant, form, 400)
    try:
        substitution = _name(form, own, participant.person)
    except InvalidInput as error:  # shown at its field, the transaction rolled back (a 4xx answer)
        db.session().rollback()
        _refuse(form, error)
        return _member_page(participant, form, 400)
    except DomainError as error:
        return _member_page(participant, form, error.status, error_message(error.code, error.params))
    rounds.note_link_used(db.session(), link)
    flash(_("%(name)s is your substitute from %(start)s until %(end)s. You both receive an email.",
            name=substitution.substitute.name, start=when(substitution.starts_at), end=when(substitution.ends_at)))
    return redirect(url_for("substitutes.member_page", participant_id=participant_id), 303)


@bp.post("/review/<int:participant_id>/substitutes/<int:substitution_id>/end")
def member_end(participant_id: int, substitution_id: int):
    """The absent person takes over again."""
    participant, link = auth.require_participant(participant_id)
    substitution = substitutes.get(db.session(), participant.round.document.network_id, substitution_id)
    if substitution.absent.person_id != participant.person_id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    substitutes.end_substitution(db.session(), substitution, actor=participant.person)
    rounds.note_link_used(db.session(), link)
    flash(_("You have taken over again: %(name)s no longer acts for you.", name=substitution.substitute.name))
    return redirect(auth.safe_next(request.form.get("next"),
                                   url_for("substitutes.member_page", participant_id=participant_id)), 303)


@bp.post("/review/<int:participant_id>/namens/<int:substitution_id>")
def give_verdict_for(participant_id: int, substitution_id: int):
    """The substitute gives the verdict on behalf of the absent colleague (recorded as theirs, with namens)."""
    participant, link = auth.require_participant(participant_id)
    form = on_behalf_verdict_form(substitution_id)
    if not form.validate_on_submit():
        return member.review(participant_id, status=400, on_behalf=(substitution_id, form))
    evidence = rounds.Evidence(ip_address=request.remote_addr or "", user_agent=request.user_agent.string,
                               link_id=link.id)
    try:
        verdict = substitutes.record_verdict_for(db.session(), participant, substitution_id, value=form.value.data,
                                                 reason=form.reason.data or "", evidence=evidence)
    except InvalidInput as refused:  # niet akkoord without a reason: at the reason, the choice kept
        db.session().rollback()
        refuse(form.value if refused.code == "unknown_verdict" else form.reason, refused)
        return member.review(participant_id, status=400, on_behalf=(substitution_id, form))
    rounds.note_link_used(db.session(), link)
    flash(_("Your verdict on behalf of %(name)s was saved. You and %(name)s receive an email.",
            name=verdict.on_behalf_of_name))
    return redirect(url_for("member.review", participant_id=participant_id, _anchor=f"namens-{substitution_id}"), 303)


# The coordinator's side: every substitute of the network. ---------------------------------------------------------

def _network_page(network: Network, form: SubstituteForm | None = None, status: int = 200, error: str | None = None):
    person, own = auth.require_role(network.id, "coordinator", "editor")
    session = db.session()
    members = [m for m in people.active_members(session, network.id) if m.can_vote]
    return render_template(
        "staff/substitutes.html", network=network, own=own, form=form or _form(members, members),
        current=substitutes.of_network(session, network.id), confirm=ConfirmForm(), error=error), status


def _network(network_id: int) -> Network:
    network = db.session().get(Network, network_id)
    if network is None:
        abort(404)
    return network


@bp.get("/n/<int:network_id>/substitutes")
def network_page(network_id: int):
    return _network_page(_network(network_id))


@bp.post("/n/<int:network_id>/substitutes")
def network_name(network_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, "coordinator")
    members = [m for m in people.active_members(db.session(), network.id) if m.can_vote]
    form = _form(members, members)
    if not form.validate_on_submit() or not form.absent.data:
        if not form.absent.errors and not form.absent.data:
            form.absent.errors = [str(error_message("invalid", {}))]
        return _network_page(network, form, 400)
    absent = db.session().get(Membership, int(form.absent.data))
    if absent is None or absent.network_id != network.id:
        refuse(form.absent, error_message("substitute_not_member", {}))
        return _network_page(network, form, 400)
    try:
        substitution = _name(form, absent, person)
    except InvalidInput as error:
        db.session().rollback()
        _refuse(form, error)
        return _network_page(network, form, 400)
    except DomainError as error:
        return _network_page(network, form, error.status, error_message(error.code, error.params))
    flash(_("%(substitute)s stands in for %(absent)s from %(start)s until %(end)s; both receive an email.",
            substitute=substitution.substitute.name, absent=absent.name, start=when(substitution.starts_at),
            end=when(substitution.ends_at)))
    return redirect(url_for("substitutes.network_page", network_id=network.id), 303)


@bp.post("/n/<int:network_id>/substitutes/<int:substitution_id>/end")
def network_end(network_id: int, substitution_id: int):
    network = _network(network_id)
    person, _own = auth.require_role(network.id, "coordinator")
    substitution = substitutes.get(db.session(), network.id, substitution_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    substitutes.end_substitution(db.session(), substitution, actor=person)
    flash(_("The substitution of %(absent)s by %(substitute)s has ended.", absent=substitution.absent.name,
            substitute=substitution.substitute.name))
    return redirect(url_for("substitutes.network_page", network_id=network.id), 303)
