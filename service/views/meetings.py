"""Network meetings: the staff's list, planning, agenda and attendance pages and the network's .ics feed; the
member's sign-up page, reached by the personal link from the invitation (a GET shows, only a POST records)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from service.web import auth, db, limits
from service.web.extensions import limiter
from service.web.field_errors import refuse
from service.web.forms import ConfirmForm
from service.web.i18n import error_message
from service.web.meeting_forms import AgendaItemForm, AnswerForm, MeetingForm
from service.web.minutes_document_forms import MinutesRoundForm, minutes_round_form
from service.web.rendering import download, page_response, rendered_blocks
from service.web.templating import when
from storage.database.models import (
    STAFF_ROLES,
    Document,
    Membership,
    Network,
    Organisation,
    Round,
    Version,
    utcnow,
)
from workflows.domain import meeting_calendar, meetings, minutes, minutes_document, people
from workflows.domain.wording import TIMEZONE
from workflows.errors import DomainError, InvalidInput
from workflows.outbound import emails
from workflows.text import redlines

bp = Blueprint("meetings", __name__)

# The form field each refusal of the rule names (its `field` parameter); anything else: the title.
_FIELDS = {"title": "title", "starts_at": "starts_at", "duration_minutes": "duration_minutes", "place": "place",
           "online_url": "online_url", "message": "message", "chair_id": "chair", "minute_taker_id": "minute_taker",
           "audience": "audience", "organisation_ids": "organisations", "presenter_id": "presenter",
           "minutes": "minutes", "link": "link", "answer": "answer", "remark": "remark"}


def _refuse(form, error: InvalidInput) -> None:
    name = _FIELDS.get(error.params.get("field", ""), "title")
    refuse(form[name] if name in form else next(iter(form)), error)


def _network(network_id: int) -> Network:
    network = db.session().get(Network, network_id)
    if network is None:
        abort(404)
    return network


def _staff(network_id: int):
    network = _network(network_id)
    person, own = auth.require_role(network.id, *STAFF_ROLES)
    return network, person, own


def _meeting(network: Network, meeting_id: int):
    try:
        return meetings.get(db.session(), network.id, meeting_id)
    except DomainError:
        abort(404)


def _member_label(m: Membership) -> str:
    return f"{m.name} ({m.organisation.name})" if m.organisation else m.name


def _choose_members(form, *names: str, network_id: int) -> None:
    members = people.active_members(db.session(), network_id)
    choices = [("", _("Nobody chosen"))] + [(str(m.id), _member_label(m)) for m in members]
    for name in names:
        form[name].choices = choices


# The network's meetings ------------------------------------------------------------------------------------------

@bp.get("/n/<int:network_id>/meetings")
def index(network_id: int):
    network, person, own = _staff(network_id)
    upcoming, past = meetings.of_network(db.session(), network.id)
    return render_template("staff/meetings.html", network=network, own=own, upcoming=upcoming, past=past)


@bp.get("/n/<int:network_id>/meetings.ics")
def feed(network_id: int):
    """Every meeting of the network as one calendar, for the staff to import. Not a subscription URL with a secret
    in it: a meeting's online link lets anyone in, and a feed URL ends up in calendar services' logs."""
    network, person, own = _staff(network_id)
    session = db.session()
    upcoming, past = meetings.of_network(session, network.id)
    locale = str(get_locale())
    entries = []
    for meeting in upcoming + past:
        description = emails.meeting_description(
            locale, meeting=meeting, agenda=meetings.agenda_entries(session, meeting),
            chair=meeting.chair.name if meeting.chair else "",
            minute_taker=meeting.minute_taker.name if meeting.minute_taker else "")
        entries.append((meeting, description))
    organiser = meeting_calendar.Party(network.name, person.email)
    data = meeting_calendar.feed(entries, name=network.name, organizer=organiser)
    return download(data, "text/calendar; charset=utf-8", f"{network.name} bijeenkomsten.ics")


def _meeting_form(network_id: int, meeting=None) -> MeetingForm:
    session = db.session()
    form = MeetingForm() if request.method == "POST" else MeetingForm(formdata=None)
    _choose_members(form, "chair", "minute_taker", network_id=network_id)
    form.organisations.choices = [(str(o.id), o.name) for o in session.scalars(
        select(Organisation).where(Organisation.network_id == network_id, Organisation.left_at.is_(None))
        .order_by(Organisation.name))]
    if request.method != "POST" and meeting is not None:
        form.title.data, form.duration_minutes.data = meeting.title, meeting.duration_minutes
        form.starts_at.data = meeting.starts_at.astimezone(TIMEZONE).replace(tzinfo=None)
        form.place.data, form.online_url.data, form.message.data = meeting.place, meeting.online_url, meeting.message
        form.chair.data = str(meeting.chair_id or "")
        form.minute_taker.data = str(meeting.minute_taker_id or "")
        form.audience.data = meeting.audience
        form.organisations.data = [str(o) for o in meetings.organisation_ids(session, meeting)]
    return form


def _plan_from(form: MeetingForm) -> meetings.Plan:
    return meetings.Plan(
        title=form.title.data or "", starts_at=form.starts_at.data.replace(tzinfo=TIMEZONE),
        duration_minutes=form.duration_minutes.data, place=form.place.data or "",
        online_url=form.online_url.data or "", message=form.message.data or "",
        chair_id=int(form.chair.data) if form.chair.data else None,
        minute_taker_id=int(form.minute_taker.data) if form.minute_taker.data else None,
        audience=form.audience.data or "everyone",
        organisation_ids=[int(o) for o in form.organisations.data or [] if o.isdigit()])


@bp.route("/n/<int:network_id>/meetings/new", methods=["GET", "POST"])
def plan(network_id: int):
    network, person, own = _staff(network_id)
    form = _meeting_form(network.id)
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                meeting = meetings.plan_meeting(db.session(), network, _plan_from(form), actor=person,
                                                host=request.host.split(":")[0] or "akkoord")
            except InvalidInput as error:
                db.session().rollback()
                _refuse(form, error)
            else:
                flash(_("The meeting is planned. Add the agenda, then send the invitations."))
                return redirect(url_for("meetings.meeting", network_id=network.id, meeting_id=meeting.id), 303)
        return render_template("staff/meeting_form.html", network=network, own=own, form=form, meeting=None), 400
    return render_template("staff/meeting_form.html", network=network, own=own, form=form, meeting=None)


@bp.route("/n/<int:network_id>/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
def edit(network_id: int, meeting_id: int):
    network, person, own = _staff(network_id)
    meeting = _meeting(network, meeting_id)
    form = _meeting_form(network.id, meeting)
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                sequence = meeting.sequence
                meetings.change_meeting(db.session(), meeting, _plan_from(form), actor=person)
            except InvalidInput as error:
                db.session().rollback()
                _refuse(form, error)
            else:
                if meeting.sequence != sequence and meeting.invited_at is not None:
                    flash(_("The meeting was changed. Everyone invited receives the new time and place, with an "
                            "updated calendar entry."))
                else:
                    flash(_("The meeting was changed."))
                return redirect(url_for("meetings.meeting", network_id=network.id, meeting_id=meeting.id), 303)
        return render_template("staff/meeting_form.html", network=network, own=own, form=form, meeting=meeting), 400
    if meeting.is_cancelled:
        abort(409)
    return render_template("staff/meeting_form.html", network=network, own=own, form=form, meeting=meeting)


def _link_choices(network_id: int) -> list[tuple[str, str]]:
    """What an agenda item can be about, per document of the network: its versions, the changes between each two
    that follow each other, its rounds, and the contested comments of each round."""
    session = db.session()
    choices = [("", _("Nothing in particular"))]
    documents = session.scalars(select(Document).where(Document.network_id == network_id).order_by(Document.id))
    for document in documents:
        versions = list(session.scalars(select(Version).where(Version.document_id == document.id)
                                        .order_by(Version.number)))
        for version in versions:
            choices.append((f"version:{version.id}", _("Version %(number)s of “%(title)s”", number=version.number,
                                                       title=document.title)))
        for older, newer in zip(versions, versions[1:], strict=False):
            choices.append((f"redline:{older.id}:{newer.id}", _(
                "Changes from version %(old)s to version %(new)s of “%(title)s”", old=older.number, new=newer.number,
                title=document.title)))
        for round_ in session.scalars(select(Round).where(Round.document_id == document.id).order_by(Round.number)):
            choices.append((f"round:{round_.id}", _("Round %(number)s of “%(title)s”", number=round_.number,
                                                    title=document.title)))
            choices.append((f"comments:{round_.id}:niet_overgenomen", _(
                "Comments not taken over in round %(number)s of “%(title)s”", number=round_.number,
                title=document.title)))
            choices.append((f"comments:{round_.id}:niet_akkoord", _(
                "Comments on passages by members who said niet akkoord in round %(number)s of “%(title)s”",
                number=round_.number, title=document.title)))
    return choices


def _agenda_link(value: str) -> meetings.AgendaLink:
    """The form's choice ("version:12", "redline:11:12", "round:3", "comments:3:niet_overgenomen") as a link."""
    kind, _sep, rest = (value or "").partition(":")
    parts = rest.split(":")
    try:
        if kind == "version" and len(parts) == 1:
            return meetings.AgendaLink(version_id=int(parts[0]))
        if kind == "redline" and len(parts) == 2:
            return meetings.AgendaLink(compare_version_id=int(parts[0]), version_id=int(parts[1]))
        if kind == "round" and len(parts) == 1:
            return meetings.AgendaLink(round_id=int(parts[0]))
        if kind == "comments" and len(parts) == 2:
            return meetings.AgendaLink(round_id=int(parts[0]), comment_selection=parts[1])
    except ValueError:
        pass
    if not value:
        return meetings.AgendaLink()
    raise InvalidInput("agenda_unknown_link", field="link")


def _agenda_form(network_id: int) -> AgendaItemForm:
    form = AgendaItemForm() if request.method == "POST" else AgendaItemForm(formdata=None)
    _choose_members(form, "presenter", network_id=network_id)
    form.link.choices = _link_choices(network_id)
    return form


def _meeting_page(network: Network, meeting, own, *, item_form: AgendaItemForm | None = None, status: int = 200,
                  error: str | None = None, minutes_form: MinutesRoundForm | None = None):
    """`minutes_form`: putting the minutes to a round, refused (service.views.minutes_document)."""
    session = db.session()
    agenda = meetings.agenda_entries(session, meeting)
    return render_template(
        "staff/meeting.html", network=network, own=own, meeting=meeting, agenda=agenda,
        attendance=meetings.attendance(session, meeting),
        # The minutes once it has begun; before it, the standing item of the action points still open.
        record=minutes.minutes(session, meeting, [e.item.id for e in agenda]),
        open_actions=minutes.open_before(session, meeting), started=meeting.starts_at <= utcnow(),
        organisations=[o.name for o in session.scalars(select(Organisation).where(
            Organisation.id.in_(meetings.organisation_ids(session, meeting))).order_by(Organisation.name))],
        item_form=item_form or _agenda_form(network.id), confirm=ConfirmForm(), error=error,
        over=meeting.ends_at <= utcnow(), max_reminders=meetings.MAX_REMINDERS,
        # The minutes as a document of their own: put to a round, in one, or final.
        minutes_state=minutes_document.state(session, meeting), minutes_form=minutes_form or minutes_round_form()), \
        status


@bp.get("/n/<int:network_id>/meetings/<int:meeting_id>")
def meeting(network_id: int, meeting_id: int):
    network, person, own = _staff(network_id)
    return _meeting_page(network, _meeting(network, meeting_id), own)


def _back(network: Network, meeting, anchor: str | None = None):
    return redirect(url_for("meetings.meeting", network_id=network.id, meeting_id=meeting.id, _anchor=anchor), 303)


@bp.post("/n/<int:network_id>/meetings/<int:meeting_id>/agenda")
def add_item(network_id: int, meeting_id: int):
    network, person, own = _staff(network_id)
    meeting = _meeting(network, meeting_id)
    form = _agenda_form(network.id)
    if form.validate_on_submit():
        try:
            meetings.add_agenda_item(db.session(), meeting, title=form.title.data or "",
                                     presenter_id=int(form.presenter.data) if form.presenter.data else None,
                                     minutes=form.minutes.data, link=_agenda_link(form.link.data), actor=person)
        except InvalidInput as error:
            db.session().rollback()
            _refuse(form, error)
        except DomainError as error:
            return _meeting_page(network, meeting, own, item_form=form, status=error.status,
                                 error=error_message(error.code, error.params))
        else:
            return _back(network, meeting, "agenda")
    return _meeting_page(network, meeting, own, item_form=form, status=400)


@bp.post("/n/<int:network_id>/meetings/<int:meeting_id>/agenda/<int:item_id>/move")
def move_item(network_id: int, meeting_id: int, item_id: int):
    network, person, own = _staff(network_id)
    meeting = _meeting(network, meeting_id)
    if not ConfirmForm().validate_on_submit() or request.form.get("direction") not in ("up", "down"):
        abort(400)
    meetings.move_agenda_item(db.session(), meeting, item_id, up=request.form["direction"] == "up", actor=person)
    return _back(network, meeting, f"item-{item_id}")


@bp.post("/n/<int:network_id>/meetings/<int:meeting_id>/agenda/<int:item_id>/remove")
def remove_item(network_id: int, meeting_id: int, item_id: int):
    network, person, own = _staff(network_id)
    meeting = _meeting(network, meeting_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    meetings.remove_agenda_item(db.session(), meeting, item_id, actor=person)
    return _back(network, meeting, "agenda")


@bp.post("/n/<int:network_id>/meetings/<int:meeting_id>/invite")
def invite(network_id: int, meeting_id: int):
    network, person, own = _staff(network_id)
    meeting = _meeting(network, meeting_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    invited = meetings.invite(db.session(), meeting, actor=person)
    flash(_("Invitations sent by email: %(count)s.", count=invited) if invited
          else _("Everyone it is for has been invited already."))
    return _back(network, meeting, "attendance")


@bp.post("/n/<int:network_id>/meetings/<int:meeting_id>/remind")
def remind(network_id: int, meeting_id: int):
    network, person, own = _staff(network_id)
    meeting = _meeting(network, meeting_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    reminded = meetings.remind_now(db.session(), meeting, actor=person)
    flash(_("Reminders sent to those who have not answered yet: %(count)s.", count=reminded))
    return _back(network, meeting, "attendance")


@bp.route("/n/<int:network_id>/meetings/<int:meeting_id>/cancel", methods=["GET", "POST"])
def cancel(network_id: int, meeting_id: int):
    """A GET asks whether to cancel (and changes nothing); the POST from that page cancels."""
    network, person, own = _staff(network_id)
    meeting = _meeting(network, meeting_id)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        meetings.cancel_meeting(db.session(), meeting, actor=person)
        flash(_("The meeting is cancelled. Everyone invited receives a cancellation that removes it from their "
                "calendar."))
        return _back(network, meeting)
    if meeting.is_cancelled:
        return _back(network, meeting)
    return render_template("staff/meeting_cancel.html", network=network, own=own, meeting=meeting, confirm=form,
                           attendance=meetings.attendance(db.session(), meeting))


# Which comments ("kies": "niet_overgenomen", "niet_akkoord", "geen"; else those the item brings now) a GET of the
# choosing page ticks before anyone touches a box.
PRESELECTIONS = ("niet_overgenomen", "niet_akkoord", "geen")


def _choose_page(network: Network, own, meeting, item, *, ticked: set[int], preselect: str = "", status: int = 200,
                 error: str | None = None):
    session = db.session()
    return render_template(
        "staff/meeting_comments.html", network=network, own=own, meeting=meeting, item=item,
        passages=meetings.comments_by_passage(session, item.round), ticked=ticked, preselect=preselect,
        niet_akkoord=set(meetings.selection_ids(session, item.round_id, "niet_akkoord")), confirm=ConfirmForm(),
        error=error), status


@bp.route("/n/<int:network_id>/meetings/<int:meeting_id>/agenda/<int:item_id>/comments", methods=["GET", "POST"])
def choose_comments(network_id: int, meeting_id: int, item_id: int):
    """Choose one by one the comments of its round an agenda item brings: a GET shows them with a box each, grouped
    by passage (ticked: those it brings now, or those a rule names, "?kies=niet_overgenomen"); the POST saves."""
    network, person, own = _staff(network_id)
    meeting = _meeting(network, meeting_id)
    item = next((i for i in meetings.agenda(db.session(), meeting.id) if i.id == item_id), None)
    if item is None or item.round_id is None:
        abort(404)
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        chosen = [int(v) for v in request.form.getlist("comment") if v.isascii() and v.isdigit() and len(v) < 10]
        try:
            count = meetings.choose_agenda_comments(db.session(), meeting, item.id, chosen, actor=person)
        except DomainError as error:
            db.session().rollback()
            return _choose_page(network, own, meeting, item, ticked=set(chosen), status=error.status,
                                error=error_message(error.code, error.params))
        flash(_("The agenda item brings %(count)s comments.", count=count) if count
              else _("The agenda item brings no comments one by one; it is about the round."))
        return _back(network, meeting, f"item-{item.id}")
    if meeting.is_cancelled:
        abort(409)
    preselect = request.args.get("kies", "")
    if preselect == "geen":
        ticked: set[int] = set()
    elif preselect in PRESELECTIONS:
        ticked = set(meetings.selection_ids(db.session(), item.round_id, preselect))
    else:
        preselect = ""
        ticked = {c.id for c in meetings.agenda_comments(db.session(), [item.id])[item.id]}
    return _choose_page(network, own, meeting, item, ticked=ticked, preselect=preselect)


# The member's side -----------------------------------------------------------------------------------------------

@bp.route("/m/<token>", methods=["GET", "HEAD"])
@limiter.shared_limit(limits.token_links, scope=limits.TOKEN_LINKS)
@limiter.shared_limit(limits.failed_secrets, scope=limits.FAILED_SECRETS, deduct_when=limits.refused)
def open_link(token: str):
    """Exchange the token for a cookie and leave the URL that carries it; records nothing (mail scanners follow
    every link before the person does)."""
    link = meetings.use_link(db.session(), token)
    auth.remember_meeting_link(link)
    generate_csrf()
    item = request.args.get("item", "")
    if item.isascii() and item.isdigit() and len(item) < 10:
        return redirect(url_for("meetings.item", invitation_id=link.invitation_id, item_id=int(item)), 303)
    return redirect(url_for("meetings.sign_up", invitation_id=link.invitation_id), 303)


def _sign_up_page(invitation, form: AnswerForm | None = None, status: int = 200, error: str | None = None):
    session = db.session()
    meeting = invitation.meeting
    network = session.get(Network, meeting.network_id)
    form = form or AnswerForm(formdata=None, answer=invitation.answer if invitation.answer != "none" else None,
                              remark=invitation.remark)
    return render_template(
        "member/meeting.html", invitation=invitation, meeting=meeting, network=network, form=form, error=error,
        agenda=meetings.agenda_entries(session, meeting), over=meeting.ends_at <= utcnow(),
        open_actions=minutes.open_before(session, meeting),
        chair=meeting.chair.name if meeting.chair else "",
        minute_taker=meeting.minute_taker.name if meeting.minute_taker else ""), status


@bp.get("/meeting/<int:invitation_id>/")
def sign_up(invitation_id: int):
    invitation, _link = auth.require_invitation(invitation_id)
    return _sign_up_page(invitation)


@bp.post("/meeting/<int:invitation_id>/")
def answer(invitation_id: int):
    invitation, link = auth.require_invitation(invitation_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _sign_up_page(invitation, form, 400)
    try:
        meetings.answer(db.session(), invitation, value=form.answer.data, remark=form.remark.data or "", link=link)
    except InvalidInput as error:
        db.session().rollback()
        _refuse(form, error)
        return _sign_up_page(invitation, form, 400)
    except DomainError as error:
        db.session().rollback()
        return _sign_up_page(invitation, form, error.status, error_message(error.code, error.params))
    meeting = invitation.meeting
    if form.answer.data == "aanmelden":
        flash(_("You have signed up for %(title)s on %(when)s. Thank you.", title=meeting.title,
                when=when(meeting.starts_at)))
    else:
        flash(_("You have said you will not come to %(title)s. Thank you for letting us know.", title=meeting.title))
    return redirect(url_for("meetings.sign_up", invitation_id=invitation_id), 303)


@bp.get("/meeting/<int:invitation_id>/item/<int:item_id>")
def item(invitation_id: int, item_id: int):
    """What an agenda item is about, for the invited: the version's text, the changes between two versions, or the
    comments brought to the table (without names; in a round whose comments only the project group sees, only
    how many)."""
    invitation, _link = auth.require_invitation(invitation_id)
    meeting = invitation.meeting
    entry = next((e for e in meetings.agenda_entries(db.session(), meeting) if e.item.id == item_id), None)
    if entry is None or not entry.has_link:
        abort(404)
    agenda_item = entry.item
    text = redline = None
    if agenda_item.compare_version_id:
        redline = redlines.redline(agenda_item.compare_version.blocks, agenda_item.version.blocks)
    elif agenda_item.version_id:
        text = rendered_blocks(agenda_item.version, mode="read")
    group_only = agenda_item.round is not None and agenda_item.round.comment_visibility == "group" \
        and invitation.membership.role not in STAFF_ROLES
    page = render_template("member/meeting_item.html", invitation=invitation, meeting=meeting, entry=entry,
                           text=text, redline=redline, group_only=group_only)
    return page_response(page, *([text] if text is not None else []))
