"""API: a network's meetings (plan, change, cancel, invite; read one with its agenda, attendance and minutes) and
its action points (list, mark done), through the meeting pages' workflows."""

from __future__ import annotations

from flask import request
from sqlalchemy import select

from service.api import meeting_schemas as m
from service.api.auth import caller
from service.api.blueprint import bp
from service.api.helpers import check_network, load, page
from service.api.registry import operation
from service.web import db
from storage.database.models import ActionPoint, Meeting, Membership, Network, utcnow
from workflows.domain import meetings, minutes
from workflows.domain.wording import TIMEZONE

TAG_MEETINGS = "Meetings"
TAG_ACTIONS = "Action points"


def _person(membership: Membership | None) -> m.MeetingPerson | None:
    if membership is None:
        return None
    return m.MeetingPerson(membership_id=membership.id, person_id=membership.person_id, name=membership.name,
                           email=membership.person.email,
                           organisation=membership.organisation.name if membership.organisation else None)


def meeting_out(meeting: Meeting) -> m.MeetingOut:
    return m.MeetingOut(**_meeting_fields(meeting))


def _meeting_fields(meeting: Meeting) -> dict:
    return {
        "id": meeting.id, "network_id": meeting.network_id, "title": meeting.title, "status": meeting.status,
        "period": "upcoming" if meeting.ends_at > utcnow() else "past",
        "starts_at": meeting.starts_at, "ends_at": meeting.ends_at,
        "starts_at_local": meeting.starts_at.astimezone(TIMEZONE), "ends_at_local": meeting.ends_at.astimezone(TIMEZONE),
        "duration_minutes": meeting.duration_minutes, "place": meeting.place, "online_url": meeting.online_url,
        "message": meeting.message, "chair": _person(meeting.chair), "minute_taker": _person(meeting.minute_taker),
        "audience": meeting.audience, "organisation_ids": meetings.organisation_ids(db.session(), meeting),
        "uid": meeting.uid, "sequence": meeting.sequence, "invited_at": meeting.invited_at,
        "cancelled_at": meeting.cancelled_at, "created_at": meeting.created_at, "updated_at": meeting.updated_at,
    }


def action_out(action: ActionPoint, today=None) -> m.ActionPointOut:
    today = today or minutes.today()
    return m.ActionPointOut(
        id=action.id, meeting_id=action.meeting_id, agenda_item_id=action.agenda_item_id, text=action.text,
        owner=_person(action.owner), due_on=action.due_on, status=action.status,
        overdue=action.status == "open" and action.due_on < today, done_note=action.done_note,
        done_at=action.done_at, created_at=action.created_at)


def meeting_detail(meeting: Meeting) -> m.MeetingDetail:
    session = db.session()
    entries = meetings.agenda_entries(session, meeting)
    record = minutes.minutes(session, meeting, [e.item.id for e in entries])
    agenda = []
    for entry in entries:
        item = entry.item
        link = None if item.document_id is None else m.AgendaLinkOut(
            document_id=item.document_id, version_id=item.version_id, compare_version_id=item.compare_version_id,
            round_id=item.round_id, comment_selection=item.comment_selection,
            comment_ids=[c.id for c in entry.comments])
        agenda.append(m.AgendaItemOut(
            id=item.id, position=item.position, title=item.title, presenter=_person(item.presenter),
            minutes=item.minutes, link=link, notes=item.notes,
            decisions=[m.DecisionOut(id=d.id, text=d.text, comment_ids=record.referred.get(d.id, []),
                                     created_at=d.created_at, updated_at=d.updated_at)
                       for d in record.decisions.get(item.id, [])]))
    counts = meetings.attendance(session, meeting)
    present = dict(record.present.by_organisation)
    return m.MeetingDetail(
        **_meeting_fields(meeting), agenda=agenda,
        attendance=m.AttendanceCount(invited=counts.invited, aanmelden=counts.counts["aanmelden"],
                                     afmelden=counts.counts["afmelden"], no_answer=counts.counts["none"],
                                     attended=record.present.count if record.present.recorded else None),
        by_organisation=[m.OrganisationAttendance(organisation=name, aanmelden=c["aanmelden"], afmelden=c["afmelden"],
                                                  no_answer=c["none"], attended=present.get(name, []))
                         for name, c in counts.by_organisation],
        action_points=[action_out(e.action) for e in record.actions],
        open_action_points=[action_out(e.action) for e in minutes.open_before(session, meeting)])


def _meeting(meeting_id: int) -> Meeting:
    return meetings.get(db.session(), caller().network_id, meeting_id)


def _plan(body: m.MeetingIn) -> meetings.Plan:
    return meetings.Plan(title=body.title, starts_at=body.starts_at, duration_minutes=body.duration_minutes,
                         place=body.place, online_url=body.online_url, message=body.message, chair_id=body.chair_id,
                         minute_taker_id=body.minute_taker_id, audience=body.audience,
                         organisation_ids=body.organisation_ids)


# Meetings --------------------------------------------------------------------------------------------------------

@operation(bp, "GET", "/networks/{network_id}/meetings", summary="The network's meetings, upcoming and past",
           tag=TAG_MEETINGS, query=m.MeetingQuery, response=m.MeetingPage, paginated=True)
def list_meetings(network_id: int, query: m.MeetingQuery):
    check_network(network_id)
    statement = select(Meeting).where(Meeting.network_id == network_id)
    if query.period is not None:
        upcoming, past = meetings.of_network(db.session(), network_id)
        chosen = upcoming if query.period == "upcoming" else past
        statement = statement.where(Meeting.id.in_([meeting.id for meeting in chosen]))
    return page(statement, Meeting.id, query, meeting_out, m.MeetingPage)


@operation(bp, "POST", "/networks/{network_id}/meetings", summary="Plan a meeting (not yet announced: the "
           "invitations go out with POST /meetings/{meeting_id}/invitations)", tag=TAG_MEETINGS, body=m.MeetingIn,
           response=m.MeetingDetail, status=201, errors=(400,), idempotent=True,
           description="Refused with a 400 problem naming the field, as on the planning page: a start in the past "
                       "(`meeting_in_past`), neither place nor online link (`meeting_place_required`), a chair or "
                       "minute-taker who is not a current member (`meeting_not_member`), ...")
def plan_meeting(network_id: int, body: m.MeetingIn):
    check_network(network_id)
    network = db.session().get(Network, network_id)
    meeting = meetings.plan_meeting(db.session(), network, _plan(body), actor=caller().person,
                                    host=request.host.split(":")[0] or "akkoord")
    return meeting_detail(meeting)


@operation(bp, "GET", "/meetings/{meeting_id}", summary="A meeting: when (UTC and Europe/Amsterdam), where, who, "
           "its agenda with links, attendance and minutes", tag=TAG_MEETINGS, response=m.MeetingDetail)
def get_meeting(meeting_id: int):
    return meeting_detail(_meeting(meeting_id))


@operation(bp, "PUT", "/meetings/{meeting_id}", summary="Change the meeting (the whole plan); a new time or place "
           "sends everyone invited the changed invitation with an updated .ics", tag=TAG_MEETINGS, body=m.MeetingIn,
           response=m.MeetingDetail, errors=(400, 409),
           description="As the meeting's edit page: a new time or place raises `sequence` (the .ics keeps its "
                       "`uid`); a new audience invites those it adds and sends those it drops a cancellation. 409 "
                       "`meeting_cancelled` or `meeting_over`.")
def change_meeting(meeting_id: int, body: m.MeetingIn):
    meeting = meetings.change_meeting(db.session(), _meeting(meeting_id), _plan(body), actor=caller().person)
    return meeting_detail(meeting)


@operation(bp, "POST", "/meetings/{meeting_id}/cancel", summary="Cancel the meeting: everyone invited gets a "
           "cancellation (.ics METHOD:CANCEL)", tag=TAG_MEETINGS, response=m.MeetingDetail, errors=(409,),
           idempotent=True, description="409 `meeting_cancelled` when it was cancelled already.")
def cancel_meeting(meeting_id: int):
    meeting = meetings.cancel_meeting(db.session(), _meeting(meeting_id), actor=caller().person)
    return meeting_detail(meeting)


@operation(bp, "POST", "/meetings/{meeting_id}/invitations", summary="Send the invitations (agenda, .ics and a "
           "personal link to sign up or cancel) to everyone it is for who was not invited yet", tag=TAG_MEETINGS,
           response=m.InvitationsOut, errors=(409,), idempotent=True,
           description="Again later: invites who joined the audience since. 409 `meeting_cancelled` or "
                       "`meeting_over`.")
def send_invitations(meeting_id: int):
    meeting = _meeting(meeting_id)
    invited = meetings.invite(db.session(), meeting, actor=caller().person)
    return m.InvitationsOut(invited=invited, meeting=meeting_detail(meeting))


# Action points ---------------------------------------------------------------------------------------------------

@operation(bp, "GET", "/networks/{network_id}/action-points", summary="The action points of the network's "
           "meetings", tag=TAG_ACTIONS, query=m.ActionPointQuery, response=m.ActionPointPage, paginated=True)
def list_action_points(network_id: int, query: m.ActionPointQuery):
    check_network(network_id)
    today = minutes.today()
    statement = minutes.action_points_of(network_id, status=query.status, overdue=query.overdue)
    return page(statement, ActionPoint.id, query, lambda action: action_out(action, today), m.ActionPointPage)


@operation(bp, "POST", "/action-points/{action_point_id}/done", summary="Mark an action point done, with an "
           "optional note", tag=TAG_ACTIONS, body=m.ActionDoneIn, response=m.ActionPointOut, errors=(400, 409),
           idempotent=True, description="Done once: 409 `action_already_done` when it was marked done already "
                                        "(the first note stands).")
def mark_action_point_done(action_point_id: int, body: m.ActionDoneIn):
    action = load(ActionPoint, action_point_id)
    meeting = db.session().get(Meeting, action.meeting_id)
    done = minutes.mark_done(db.session(), meeting, action.id, note=body.note, actor=caller().person)
    return action_out(done)
