"""A meeting's minutes (notulen) for the staff: notes per agenda item, decisions that may refer to the comments an
item brought, action points with an owner and a due date (and marking one done), and who attended; and the page
where an action point's owner, by the personal link from its mail, marks it done (a GET shows, only a POST
records)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from service.web import auth, db, limits
from service.web.extensions import limiter
from service.web.field_errors import refuse
from service.web.forms import ConfirmForm
from service.web.i18n import error_message
from service.web.minutes_forms import ActionPointForm, AttendanceForm, DecisionForm, DoneForm, NotesForm
from storage.database.models import STAFF_ROLES, Meeting, Membership, Network, utcnow
from workflows.domain import action_followup, meetings, minutes, people
from workflows.errors import DomainError, InvalidInput

bp = Blueprint("minutes", __name__)

# The form field each refusal of the rule names (its `field` parameter); anything else: the form's first field.
_FIELDS = {"notes": "notes", "text": "text", "comment_ids": "comments", "owner_id": "owner", "due_on": "due_on",
           "agenda_item_id": "item", "done_note": "note", "present": "present"}


def _staff_meeting(network_id: int, meeting_id: int) -> tuple[Network, object, Membership, Meeting]:
    network = db.session().get(Network, network_id)
    if network is None:
        abort(404)
    person, own = auth.require_role(network.id, *STAFF_ROLES)
    try:
        meeting = meetings.get(db.session(), network.id, meeting_id)
    except DomainError:
        abort(404)
    return network, person, own, meeting


def _label(m: Membership) -> str:
    return f"{m.name} ({m.organisation.name})" if m.organisation else m.name


def _forms(network: Network, meeting: Meeting, agenda: list[meetings.AgendaEntry], record: minutes.Minutes,
           invitations: list) -> dict[str, object]:
    """Every form of the page, empty or as the minutes hold them (none reads the request: a refused one replaces
    its own entry)."""
    members = [("", _("Nobody chosen"))] + [(str(m.id), _label(m))
                                             for m in people.active_members(db.session(), network.id)]
    items = [("", _("None in particular"))] + [(str(e.item.id), f"{n}. {e.item.title}")
                                               for n, e in enumerate(agenda, start=1)]
    forms: dict[str, object] = {}
    for entry in agenda:
        item = entry.item
        forms[f"notes-{item.id}"] = NotesForm(formdata=None, prefix=f"notes-{item.id}", notes=item.notes)
        comment_choices = [(str(c.id), _comment_label(c)) for c in entry.comments]
        form = DecisionForm(formdata=None, prefix=f"decision-{item.id}")
        form.comments.choices = comment_choices
        forms[f"decision-{item.id}"] = form
        for decision in record.decisions.get(item.id, []):
            form = DecisionForm(formdata=None, prefix=f"decision-edit-{decision.id}", text=decision.text,
                                comments=[str(c) for c in record.referred.get(decision.id, [])])
            form.comments.choices = comment_choices
            forms[f"decision-edit-{decision.id}"] = form
    form = ActionPointForm(formdata=None, prefix="action")
    form.owner.choices, form.item.choices = members, items
    forms["action"] = form
    for entry in record.actions:
        action = entry.action
        form = ActionPointForm(formdata=None, prefix=f"action-edit-{action.id}", text=action.text,
                               owner=str(action.owner_id), due_on=action.due_on,
                               item=str(action.agenda_item_id or ""))
        form.owner.choices, form.item.choices = members, items
        forms[f"action-edit-{action.id}"] = form
        forms[f"done-{action.id}"] = DoneForm(formdata=None, prefix=f"done-{action.id}")
    # Who attended: as recorded, or else those who signed up, to start from.
    recorded = any(i.attended is not None for i in invitations)
    form = AttendanceForm(formdata=None, prefix="attendance", present=[
        str(i.id) for i in invitations if (i.attended if recorded else i.answer == "aanmelden")])
    form.present.choices = [(str(i.id), _label(i.membership)) for i in invitations]
    forms["attendance"] = form
    return forms


def _comment_label(comment) -> str:
    text = comment.body if len(comment.body) <= 120 else comment.body[:119] + "…"
    if comment.quote:
        quote = comment.quote if len(comment.quote) <= 60 else comment.quote[:59] + "…"
        return f"“{quote}” — {text}"
    return text


def _page(network: Network, own: Membership, meeting: Meeting, *, failed: tuple[str, object] | None = None,
          status: int = 200, error: str | None = None):
    session = db.session()
    agenda = meetings.agenda_entries(session, meeting)
    record = minutes.minutes(session, meeting, [e.item.id for e in agenda])
    invitations = meetings.attendance(session, meeting).invitations
    forms = _forms(network, meeting, agenda, record, invitations)
    if failed is not None:
        key, form = failed
        kept = forms.get(key)
        for name in ("comments", "owner", "item", "present"):
            if kept is not None and name in form:
                form[name].choices = kept[name].choices
        forms[key] = form
    comments = {c.id: c for e in agenda for c in e.comments}
    return render_template(
        "staff/meeting_minutes.html", network=network, own=own, meeting=meeting, agenda=agenda, record=record,
        forms=forms, comments=comments, confirm=ConfirmForm(), error=error, failed_key=failed[0] if failed else None,
        started=meeting.starts_at <= utcnow(), invited=bool(invitations)), status


def _back(network: Network, meeting: Meeting, anchor: str | None = None):
    return redirect(url_for("minutes.page", network_id=network.id, meeting_id=meeting.id, _anchor=anchor), 303)


def _refused(network, own, meeting, key: str, form, error: DomainError):
    """A rule refused: at its field when it names one, else as the page's error; nothing was saved."""
    db.session().rollback()
    if isinstance(error, InvalidInput):
        name = _FIELDS.get(error.params.get("field", ""))
        refuse(form[name] if name in form else next(iter(form)), error)
        return _page(network, own, meeting, failed=(key, form), status=400)
    return _page(network, own, meeting, status=error.status, error=error_message(error.code, error.params))


def _ids(values) -> list[int]:
    return [int(v) for v in values or [] if v.isascii() and v.isdigit() and len(v) < 10]


def _id(value: str | None) -> int | None:
    ids = _ids([value] if value else [])
    return ids[0] if ids else None


@bp.get("/n/<int:network_id>/meetings/<int:meeting_id>/minutes")
def page(network_id: int, meeting_id: int):
    network, person, own, meeting = _staff_meeting(network_id, meeting_id)
    return _page(network, own, meeting)


def _submit(network_id: int, meeting_id: int, key: str, form_type, act, *, done: str | Callable[[object], str],
            anchor: str | None, missing_is_404: bool = False):
    """The shape every form of the minutes shares: the staff's meeting, the form (with its prefix `key`) checked,
    `act(meeting, form, person)` run by the rule, then a flash (`done`, or `done(result)`) and back to `anchor`; a
    refusal shows the page again with the form as sent. `missing_is_404`: the rule's NotFound (a decision or action
    point not of this meeting) is a 404 page rather than the minutes with an error."""
    network, person, own, meeting = _staff_meeting(network_id, meeting_id)
    form = form_type(prefix=key)
    if not form.validate_on_submit():
        return _page(network, own, meeting, failed=(key, form), status=400)
    try:
        result = act(meeting, form, person)
    except DomainError as error:
        if missing_is_404 and error.status == 404:
            abort(404)
        return _refused(network, own, meeting, key, form, error)
    flash(done(result) if callable(done) else done)
    return _back(network, meeting, anchor)


@bp.post("/n/<int:network_id>/meetings/<int:meeting_id>/minutes/items/<int:item_id>/notes")
def notes(network_id: int, meeting_id: int, item_id: int):
    return _submit(network_id, meeting_id, f"notes-{item_id}", NotesForm, lambda meeting, form, person:
                   minutes.write_notes(db.session(), meeting, item_id, form.notes.data or "", actor=person),
                   done=_("The notes are saved."), anchor=f"item-{item_id}")


@bp.post("/n/<int:network_id>/meetings/<int:meeting_id>/minutes/items/<int:item_id>/decisions")
def add_decision(network_id: int, meeting_id: int, item_id: int):
    return _submit(network_id, meeting_id, f"decision-{item_id}", DecisionForm, lambda meeting, form, person:
                   minutes.add_decision(db.session(), meeting, item_id, form.text.data or "",
                                        comment_ids=_ids(form.comments.data), actor=person),
                   done=_("The decision is added to the minutes."), anchor=f"item-{item_id}")


@bp.post("/n/<int:network_id>/meetings/<int:meeting_id>/minutes/decisions/<int:decision_id>")
def change_decision(network_id: int, meeting_id: int, decision_id: int):
    return _submit(network_id, meeting_id, f"decision-edit-{decision_id}", DecisionForm, lambda meeting, form, person:
                   minutes.change_decision(db.session(), meeting, decision_id, form.text.data or "",
                                           comment_ids=_ids(form.comments.data), actor=person),
                   done=_("The decision is changed."), anchor=f"decision-{decision_id}", missing_is_404=True)


@bp.post("/n/<int:network_id>/meetings/<int:meeting_id>/minutes/decisions/<int:decision_id>/remove")
def remove_decision(network_id: int, meeting_id: int, decision_id: int):
    network, person, own, meeting = _staff_meeting(network_id, meeting_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        minutes.remove_decision(db.session(), meeting, decision_id, actor=person)
    except DomainError as error:
        if error.status == 404:
            abort(404)
        return _refused(network, own, meeting, "", ConfirmForm(), error)
    flash(_("The decision is removed from the minutes."))
    return _back(network, meeting)


def _action_input(form: ActionPointForm) -> minutes.ActionInput:
    return minutes.ActionInput(text=form.text.data or "", owner_id=_id(form.owner.data), due_on=form.due_on.data,
                               agenda_item_id=_id(form.item.data))


@bp.post("/n/<int:network_id>/meetings/<int:meeting_id>/minutes/actions")
def add_action(network_id: int, meeting_id: int):
    return _submit(network_id, meeting_id, "action", ActionPointForm, lambda meeting, form, person:
                   minutes.add_action_point(db.session(), meeting, _action_input(form), actor=person),
                   done=_("The action point is added to the minutes."), anchor="actions")


@bp.post("/n/<int:network_id>/meetings/<int:meeting_id>/minutes/actions/<int:action_id>")
def change_action(network_id: int, meeting_id: int, action_id: int):
    return _submit(network_id, meeting_id, f"action-edit-{action_id}", ActionPointForm, lambda meeting, form, person:
                   minutes.change_action_point(db.session(), meeting, action_id, _action_input(form), actor=person),
                   done=_("The action point is changed."), anchor=f"action-{action_id}", missing_is_404=True)


@bp.post("/n/<int:network_id>/meetings/<int:meeting_id>/minutes/actions/<int:action_id>/remove")
def remove_action(network_id: int, meeting_id: int, action_id: int):
    network, person, own, meeting = _staff_meeting(network_id, meeting_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        minutes.remove_action_point(db.session(), meeting, action_id, actor=person)
    except DomainError as error:
        if error.status == 404:
            abort(404)
        return _refused(network, own, meeting, "", ConfirmForm(), error)
    flash(_("The action point is removed from the minutes."))
    return _back(network, meeting, "actions")


@bp.post("/n/<int:network_id>/meetings/<int:meeting_id>/minutes/actions/<int:action_id>/done")
def action_done(network_id: int, meeting_id: int, action_id: int):
    return _submit(network_id, meeting_id, f"done-{action_id}", DoneForm, lambda meeting, form, person:
                   minutes.mark_done(db.session(), meeting, action_id, note=form.note.data or "", actor=person),
                   done=_("The action point is marked done."), anchor=f"action-{action_id}", missing_is_404=True)


@bp.post("/n/<int:network_id>/meetings/<int:meeting_id>/minutes/attendance")
def attendance(network_id: int, meeting_id: int):
    return _submit(network_id, meeting_id, "attendance", AttendanceForm, lambda meeting, form, person:
                   minutes.record_attendance(db.session(), meeting, _ids(form.present.data), actor=person),
                   done=lambda came: _("Attendance is recorded: %(count)s present.", count=came), anchor="attended")


# The owner's side -----------------------------------------------------------------------------------------------

@bp.route("/a/<token>", methods=["GET", "HEAD"])
@limiter.shared_limit(limits.token_links, scope=limits.TOKEN_LINKS)
@limiter.shared_limit(limits.failed_secrets, scope=limits.FAILED_SECRETS, deduct_when=limits.refused)
def open_action_link(token: str):
    """Exchange the token for a cookie and leave the URL that carries it; records nothing (mail scanners follow
    every link before the person does)."""
    link = action_followup.use_link(db.session(), token)
    auth.remember_action_link(link)
    generate_csrf()
    return redirect(url_for("minutes.owner_page", action_id=link.action_point_id), 303)


def _owner_page(action, form: DoneForm | None = None, status: int = 200, error: str | None = None):
    session = db.session()
    meeting = session.get(Meeting, action.meeting_id)
    return render_template(
        "member/action.html", action=action, meeting=meeting, network=session.get(Network, meeting.network_id),
        form=form or DoneForm(formdata=None), error=error), status


@bp.get("/action/<int:action_id>/")
def owner_page(action_id: int):
    action, _link = auth.require_action_link(action_id)
    return _owner_page(action)


@bp.post("/action/<int:action_id>/")
def owner_done(action_id: int):
    action, link = auth.require_action_link(action_id)
    form = DoneForm()
    if not form.validate_on_submit():
        return _owner_page(action, form, 400)
    try:
        action_followup.mark_done_by_owner(db.session(), link, note=form.note.data or "")
    except InvalidInput as error:
        db.session().rollback()
        refuse(form.note, error)
        return _owner_page(action, form, 400)
    except DomainError as error:
        db.session().rollback()
        return _owner_page(action, form, error.status, error_message(error.code, error.params))
    flash(_("Thank you: the action point is marked done."))
    return redirect(url_for("minutes.owner_page", action_id=action_id), 303)
