"""The minutes of a network meeting (notulen): notes per agenda item, decisions (besluiten) that may refer to the
comments an item brought, action points (actiepunten) with an owner and a due date, and who attended."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from storage.database.engine import lock
from storage.database.models import (
    STAFF_ROLES,
    ActionPoint,
    AgendaItem,
    AgendaItemComment,
    Meeting,
    MeetingDecision,
    MeetingDecisionComment,
    MeetingInvitation,
    Membership,
    Organisation,
    Person,
    utcnow,
)
from workflows import audit
from workflows.domain import action_followup, inputs
from workflows.domain.people import active_membership
from workflows.domain.wording import TIMEZONE
from workflows.errors import Conflict, InvalidInput, NotAllowed, NotFound

MAX_NOTES_LENGTH = 20_000
MAX_TEXT_LENGTH = 2_000
MAX_DONE_NOTE_LENGTH = 2_000


def today(now: dt.datetime | None = None) -> dt.date:
    """The day it is in the Netherlands: due dates are Dutch days."""
    return (now or utcnow()).astimezone(TIMEZONE).date()


# Who may write them, and when ------------------------------------------------------------------------------------

def may_write(session: Session, meeting: Meeting, person: Person) -> bool:
    """The network's coordinators and editors, and the meeting's minute-taker."""
    own = active_membership(session, meeting.network_id, person.id)
    return own is not None and (own.role in STAFF_ROLES or own.id == meeting.minute_taker_id)


def _writable(session: Session, meeting: Meeting, actor: Person, now: dt.datetime) -> Meeting:
    """The meeting, locked: minutes are written from its start on, of a meeting that took place."""
    meeting = lock(session, Meeting, meeting.id)
    if not may_write(session, meeting, actor):
        raise NotAllowed()
    if meeting.is_cancelled:
        raise Conflict("meeting_cancelled")
    if meeting.starts_at > now:
        raise Conflict("minutes_before_meeting")
    if meeting.minutes_document_id is not None:  # they went into a document: they change as its versions
        raise Conflict("minutes_in_document")
    return meeting


def _item_of(session: Session, meeting: Meeting, item_id: int | None, *, required: bool = True) -> AgendaItem | None:
    if item_id is None and not required:
        return None
    item = session.get(AgendaItem, item_id) if item_id is not None else None
    if item is None or item.meeting_id != meeting.id:
        raise InvalidInput("minutes_unknown_item", field="agenda_item_id")
    return item


def _text(value: str, field: str, *, limit: int = MAX_TEXT_LENGTH, required: str | None = None) -> str:
    value = inputs.text(value or "", field).strip()
    if required and not value:
        raise InvalidInput(required, field=field)
    if len(value) > limit:
        raise InvalidInput("too_long", field=field, limit=limit)
    return value


# Notes -----------------------------------------------------------------------------------------------------------

def write_notes(session: Session, meeting: Meeting, item_id: int, notes: str, *, actor: Person,
                now: dt.datetime | None = None) -> AgendaItem:
    """What was said under an agenda item, as the minute-taker writes it (the whole text; empty clears it)."""
    now = now or utcnow()
    meeting = _writable(session, meeting, actor, now)
    item = _item_of(session, meeting, item_id)
    notes = _text(notes, "notes", limit=MAX_NOTES_LENGTH)
    if notes == item.notes:
        return item
    item.notes = notes
    meeting.updated_at = now
    session.flush()
    audit.record(session, meeting.network_id, "minutes_notes_written", actor_id=actor.id, meeting_id=meeting.id,
                 item_id=item.id, length=len(notes))
    return item


# Decisions -------------------------------------------------------------------------------------------------------

def _checked_comments(session: Session, item: AgendaItem, comment_ids: list[int]) -> list[int]:
    """The comments a decision refers to: only those its agenda item brought to the table."""
    wanted = sorted(set(comment_ids))
    if not wanted:
        return []
    brought = set(session.scalars(select(AgendaItemComment.comment_id).where(
        AgendaItemComment.agenda_item_id == item.id, AgendaItemComment.comment_id.in_(wanted))))
    if brought != set(wanted):
        raise InvalidInput("decision_unknown_comment", field="comment_ids")
    return wanted


def decision_comments(session: Session, decision_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {d: [] for d in decision_ids}
    if decision_ids:
        for decision_id, comment_id in session.execute(
                select(MeetingDecisionComment.decision_id, MeetingDecisionComment.comment_id)
                .where(MeetingDecisionComment.decision_id.in_(decision_ids))
                .order_by(MeetingDecisionComment.comment_id)):
            found[decision_id].append(comment_id)
    return found


def _set_comments(session: Session, decision: MeetingDecision, comment_ids: list[int]) -> None:
    session.execute(delete(MeetingDecisionComment).where(MeetingDecisionComment.decision_id == decision.id))
    session.add_all(MeetingDecisionComment(decision_id=decision.id, comment_id=c) for c in comment_ids)


def add_decision(session: Session, meeting: Meeting, item_id: int, text: str, *, comment_ids: list[int] = (),
                 actor: Person, now: dt.datetime | None = None) -> MeetingDecision:
    """A decision taken under an agenda item, e.g. "versie 3 gaat in commentaarronde"; the comments it refers to
    then say they were discussed at this meeting."""
    now = now or utcnow()
    meeting = _writable(session, meeting, actor, now)
    item = _item_of(session, meeting, item_id)
    text = _text(text, "text", required="decision_text_required")
    referred = _checked_comments(session, item, list(comment_ids))
    decision = MeetingDecision(meeting_id=meeting.id, agenda_item_id=item.id, text=text, created_by_id=actor.id,
                               created_at=now, updated_at=now)
    session.add(decision)
    session.flush()
    _set_comments(session, decision, referred)
    session.flush()
    audit.record(session, meeting.network_id, "decision_added", actor_id=actor.id, meeting_id=meeting.id,
                 item_id=item.id, decision_id=decision.id, text=text, comment_ids=referred)
    return decision


def _decision_of(session: Session, meeting: Meeting, decision_id: int) -> MeetingDecision:
    decision = session.get(MeetingDecision, decision_id)
    if decision is None or decision.meeting_id != meeting.id:
        raise NotFound()
    return decision


def change_decision(session: Session, meeting: Meeting, decision_id: int, text: str, *, comment_ids: list[int] = (),
                    actor: Person, now: dt.datetime | None = None) -> MeetingDecision:
    now = now or utcnow()
    meeting = _writable(session, meeting, actor, now)
    decision = _decision_of(session, meeting, decision_id)
    item = session.get(AgendaItem, decision.agenda_item_id)
    text = _text(text, "text", required="decision_text_required")
    referred = _checked_comments(session, item, list(comment_ids))
    before = {"text": decision.text, "comment_ids": decision_comments(session, [decision.id])[decision.id]}
    decision.text, decision.updated_at = text, now
    _set_comments(session, decision, referred)
    session.flush()
    audit.record(session, meeting.network_id, "decision_changed", actor_id=actor.id, meeting_id=meeting.id,
                 decision_id=decision.id, before=before, after={"text": text, "comment_ids": referred})
    return decision


def remove_decision(session: Session, meeting: Meeting, decision_id: int, *, actor: Person,
                    now: dt.datetime | None = None) -> None:
    now = now or utcnow()
    meeting = _writable(session, meeting, actor, now)
    decision = _decision_of(session, meeting, decision_id)
    text = decision.text
    session.execute(delete(MeetingDecisionComment).where(MeetingDecisionComment.decision_id == decision.id))
    session.delete(decision)
    session.flush()
    audit.record(session, meeting.network_id, "decision_removed", actor_id=actor.id, meeting_id=meeting.id,
                 decision_id=decision_id, text=text)


@dataclass
class Discussed:
    """A meeting a comment was discussed at, by a decision that refers to it."""

    meeting_id: int
    title: str
    starts_at: dt.datetime


def discussed_in(session: Session, comment_ids: list[int]) -> dict[int, list[Discussed]]:
    """For each comment, the meetings (not cancelled) whose decisions refer to it, earliest first: one statement."""
    found: dict[int, list[Discussed]] = {}
    if not comment_ids:
        return found
    for comment_id, meeting_id, title, starts_at in session.execute(
            select(MeetingDecisionComment.comment_id, Meeting.id, Meeting.title, Meeting.starts_at).distinct()
            .join(MeetingDecision, MeetingDecisionComment.decision_id == MeetingDecision.id)
            .join(Meeting, MeetingDecision.meeting_id == Meeting.id)
            .where(MeetingDecisionComment.comment_id.in_(comment_ids), Meeting.status != "cancelled")
            .order_by(Meeting.starts_at, Meeting.id)):
        found.setdefault(comment_id, []).append(Discussed(meeting_id, title, starts_at))
    return found


# Action points ---------------------------------------------------------------------------------------------------

@dataclass
class ActionInput:
    """An action point as typed: what, who (a membership of the network), by when, and under which item."""

    text: str
    owner_id: int | None
    due_on: dt.date | None
    agenda_item_id: int | None = None


def _checked_action(session: Session, meeting: Meeting, given: ActionInput) -> ActionInput:
    text = _text(given.text, "text", required="action_text_required")
    owner = session.get(Membership, given.owner_id) if given.owner_id is not None else None
    if owner is None or owner.network_id != meeting.network_id or owner.left_at is not None:
        raise InvalidInput("action_owner_required", field="owner_id")
    if given.due_on is None:
        raise InvalidInput("action_due_required", field="due_on")
    if given.due_on < meeting.starts_at.astimezone(TIMEZONE).date():
        raise InvalidInput("action_due_before_meeting", field="due_on")
    item = _item_of(session, meeting, given.agenda_item_id, required=False)
    return ActionInput(text=text, owner_id=owner.id, due_on=given.due_on, agenda_item_id=item.id if item else None)


def add_action_point(session: Session, meeting: Meeting, given: ActionInput, *, actor: Person,
                     now: dt.datetime | None = None) -> ActionPoint:
    """A task the meeting gave to a person of the network, due on a day (Dutch time)."""
    now = now or utcnow()
    meeting = _writable(session, meeting, actor, now)
    given = _checked_action(session, meeting, given)
    action = ActionPoint(meeting_id=meeting.id, agenda_item_id=given.agenda_item_id, text=given.text,
                         owner_id=given.owner_id, due_on=given.due_on, status="open", created_by_id=actor.id,
                         created_at=now, updated_at=now)
    session.add(action)
    session.flush()
    audit.record(session, meeting.network_id, "action_point_added", actor_id=actor.id, meeting_id=meeting.id,
                 action_point_id=action.id, text=action.text, owner_id=action.owner_id,
                 due_on=action.due_on.isoformat(), item_id=action.agenda_item_id)
    action_followup.tell_owner(session, action)
    return action


def _action_of(session: Session, meeting: Meeting, action_id: int) -> ActionPoint:
    action = session.get(ActionPoint, action_id)
    if action is None or action.meeting_id != meeting.id:
        raise NotFound()
    return action


def _as_dict(action: ActionPoint) -> dict:
    return {"text": action.text, "owner_id": action.owner_id, "due_on": action.due_on.isoformat(),
            "item_id": action.agenda_item_id}


def change_action_point(session: Session, meeting: Meeting, action_id: int, given: ActionInput, *, actor: Person,
                        now: dt.datetime | None = None) -> ActionPoint:
    now = now or utcnow()
    meeting = _writable(session, meeting, actor, now)
    action = _action_of(session, meeting, action_id)
    given = _checked_action(session, meeting, given)
    before = _as_dict(action)
    action.text, action.owner_id, action.due_on = given.text, given.owner_id, given.due_on
    action.agenda_item_id, action.updated_at = given.agenda_item_id, now
    session.flush()
    after = _as_dict(action)
    audit.record(session, meeting.network_id, "action_point_changed", actor_id=actor.id, meeting_id=meeting.id,
                 action_point_id=action.id, before={k: v for k, v in before.items() if after[k] != v},
                 after={k: v for k, v in after.items() if before[k] != v})
    if after["due_on"] != before["due_on"]:
        action_followup.due_changed(session, action)
    if after["owner_id"] != before["owner_id"] and action.status == "open":
        action_followup.owner_changed(session, action)  # the new owner is told; the earlier one's link dies
    return action


def remove_action_point(session: Session, meeting: Meeting, action_id: int, *, actor: Person,
                        now: dt.datetime | None = None) -> None:
    now = now or utcnow()
    meeting = _writable(session, meeting, actor, now)
    action = _action_of(session, meeting, action_id)
    text = action.text
    action_followup.forget_links(session, action.id)
    session.delete(action)
    session.flush()
    audit.record(session, meeting.network_id, "action_point_removed", actor_id=actor.id, meeting_id=meeting.id,
                 action_point_id=action_id, text=text)


def mark_done(session: Session, meeting: Meeting, action_id: int, *, note: str = "", actor: Person,
              now: dt.datetime | None = None) -> ActionPoint:
    """The action point is done (by the network's staff, with an optional note); done once, as with a verdict the
    first record stands and a second mark is refused."""
    now = now or utcnow()
    meeting = lock(session, Meeting, meeting.id)
    own = active_membership(session, meeting.network_id, actor.id)
    if own is None or own.role not in STAFF_ROLES:
        raise NotAllowed()
    action = lock(session, ActionPoint, _action_of(session, meeting, action_id).id)
    if action.status == "done":
        raise Conflict("action_already_done")
    note = _text(note, "done_note", limit=MAX_DONE_NOTE_LENGTH)
    action.status, action.done_note, action.done_at, action.done_by_id = "done", note, now, actor.id
    action.updated_at = now
    session.flush()
    audit.record(session, meeting.network_id, "action_point_done", actor_id=actor.id, meeting_id=meeting.id,
                 action_point_id=action.id, note=note)
    return action


@dataclass
class ActionEntry:
    """An action point as pages and mails show it: with its owner's name as the network knows them."""

    action: ActionPoint
    owner: str
    meeting_title: str
    meeting_starts_at: dt.datetime
    network_id: int
    overdue: bool


def _entries(rows, day: dt.date) -> list[ActionEntry]:
    return [ActionEntry(action=a, owner=name, meeting_title=title, meeting_starts_at=starts_at, network_id=network_id,
                        overdue=a.status == "open" and a.due_on < day)
            for a, name, title, starts_at, network_id in rows]


def _listed():
    return (select(ActionPoint, Membership.name, Meeting.title, Meeting.starts_at, Meeting.network_id)
            .join(Membership, ActionPoint.owner_id == Membership.id)
            .join(Meeting, ActionPoint.meeting_id == Meeting.id))


def action_points(session: Session, meeting: Meeting, *, now: dt.datetime | None = None) -> list[ActionEntry]:
    """The meeting's action points, by due date."""
    return _entries(session.execute(_listed().where(ActionPoint.meeting_id == meeting.id)
                                    .order_by(ActionPoint.due_on, ActionPoint.id)).all(), today(now))


def open_before(session: Session, meeting: Meeting, *, now: dt.datetime | None = None) -> list[ActionEntry]:
    """The standing agenda item of a meeting to come: the action points still open from the network's earlier
    meetings (not from this one, nor from a cancelled one), by due date. Nothing for a meeting that is over or
    cancelled: what was open then is not known afterwards."""
    now = now or utcnow()
    if meeting.is_cancelled or meeting.ends_at <= now:
        return []
    return _entries(session.execute(
        _listed().where(Meeting.network_id == meeting.network_id, Meeting.status != "cancelled",
                        Meeting.starts_at < meeting.starts_at, ActionPoint.status == "open")
        .order_by(ActionPoint.due_on, ActionPoint.id)).all(), today(now))


def overdue(session: Session, network_ids: list[int], *, now: dt.datetime | None = None,
            limit: int = 50) -> list[ActionEntry]:
    """The open action points whose due day has passed, of these networks, most overdue first: one statement
    whatever the number of networks."""
    if not network_ids:
        return []
    day = today(now)
    return _entries(session.execute(
        _listed().where(Meeting.network_id.in_(network_ids), Meeting.status != "cancelled",
                        ActionPoint.status == "open", ActionPoint.due_on < day)
        .order_by(ActionPoint.due_on, ActionPoint.id).limit(limit)).all(), day)


def action_points_of(network_id: int, *, status: str | None = None, overdue: bool = False,
                     now: dt.datetime | None = None) -> Select:
    """The network's action points as a query a caller pages through: all, those of a status, or only the overdue
    ones (as `overdue` says: open, of a meeting not cancelled, their due day passed)."""
    statement = (select(ActionPoint).join(Meeting, ActionPoint.meeting_id == Meeting.id)
                 .where(Meeting.network_id == network_id))
    if status is not None:
        statement = statement.where(ActionPoint.status == status)
    if overdue:
        statement = statement.where(ActionPoint.status == "open", Meeting.status != "cancelled",
                                    ActionPoint.due_on < today(now))
    return statement


# Attendance ------------------------------------------------------------------------------------------------------

def record_attendance(session: Session, meeting: Meeting, present: list[int], *, actor: Person,
                      now: dt.datetime | None = None) -> int:
    """Who came, by invitation: those in `present` attended, every other current invitation did not. Returns how
    many attended."""
    now = now or utcnow()
    meeting = _writable(session, meeting, actor, now)
    invitations = list(session.scalars(select(MeetingInvitation).where(
        MeetingInvitation.meeting_id == meeting.id, MeetingInvitation.removed_at.is_(None))
        .order_by(MeetingInvitation.id)))
    wanted = set(present)
    if not wanted <= {i.id for i in invitations}:
        raise InvalidInput("attendance_unknown_person", field="present")
    changed = []
    for invitation in invitations:
        came = invitation.id in wanted
        if invitation.attended is not came:
            invitation.attended = came
            changed.append(invitation.person_id)
    session.flush()
    if changed:
        audit.record(session, meeting.network_id, "attendance_recorded", actor_id=actor.id, meeting_id=meeting.id,
                     attended=sorted(i.person_id for i in invitations if i.id in wanted), changed=changed)
    return len(wanted)


@dataclass
class Present:
    """Who attended, per organisation (by name; "" for members without one), and whether it was recorded."""

    recorded: bool
    by_organisation: list[tuple[str, list[str]]]
    count: int


def present(session: Session, meeting: Meeting) -> Present:
    rows = session.execute(
        select(MeetingInvitation.attended, Membership.name, Organisation.name)
        .join(Membership, MeetingInvitation.membership_id == Membership.id)
        .outerjoin(Organisation, Membership.organisation_id == Organisation.id)
        .where(MeetingInvitation.meeting_id == meeting.id, MeetingInvitation.removed_at.is_(None))
        .order_by(Membership.name)).all()
    per: dict[str, list[str]] = {}
    for attended, name, organisation in rows:
        if attended:
            per.setdefault(organisation or "", []).append(name)
    counts = Counter(attended for attended, _name, _organisation in rows)
    return Present(recorded=counts[True] + counts[False] > 0, count=counts[True],
                   by_organisation=sorted(per.items(), key=lambda pair: (pair[0] == "", pair[0].casefold())))


# The minutes as a whole ------------------------------------------------------------------------------------------

@dataclass
class Minutes:
    """A meeting's minutes for its pages: decisions per agenda item (with the comments they refer to), the action
    points, and who attended."""

    decisions: dict[int, list[MeetingDecision]]
    referred: dict[int, list[int]]
    actions: list[ActionEntry]
    present: Present

    @property
    def empty(self) -> bool:
        return not (any(self.decisions.values()) or self.actions or self.present.recorded)


def minutes(session: Session, meeting: Meeting, item_ids: list[int], *, now: dt.datetime | None = None) -> Minutes:
    decisions: dict[int, list[MeetingDecision]] = {i: [] for i in item_ids}
    for decision in session.scalars(select(MeetingDecision).where(MeetingDecision.meeting_id == meeting.id)
                                    .order_by(MeetingDecision.id)):
        decisions.setdefault(decision.agenda_item_id, []).append(decision)
    all_ids = [d.id for found in decisions.values() for d in found]
    return Minutes(decisions=decisions, referred=decision_comments(session, all_ids),
                   actions=action_points(session, meeting, now=now), present=present(session, meeting))
