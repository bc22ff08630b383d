"""Action points followed up: the owner's mail with a personal link to mark the point done (with a note), and the
reminders before and on its due day (09:00 Dutch time), each at most once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from storage.database.engine import lock
from storage.database.models import ActionLink, ActionPoint, Meeting, Membership, utcnow
from workflows import audit
from workflows.domain import inputs
from workflows.domain.notifications import Recipient, queue_emails
from workflows.domain.rounds import check_link_dates
from workflows.domain.wording import TIMEZONE
from workflows.errors import Conflict, InvalidInput, LinkInvalid
from workflows.tokens import hash_token, new_token

# Days before the due day a reminder goes to the owner of an open action point: 3 days before, and on the day.
REMINDER_DAYS = (3, 0)
REMINDER_TIME = dt.time(9, 0)  # the start of the working day, Dutch time
MAX_DONE_NOTE_LENGTH = 2_000
# In reminder_slots with the due day ("due:2026-05-04"): the point's `action_point_due` event was recorded. Named by
# the day like the reminder slots, so a new due day falls due again.
DUE_MARK = "due:"
# A personal link keeps showing a done action point this long after it was done.
LINK_LIFETIME_AFTER_DONE = dt.timedelta(days=30)


# The owner's mail ------------------------------------------------------------------------------------------------

def tell_owner(session: Session, action: ActionPoint) -> None:
    """The owner's mail about the action point (with its link); once per owner (`sequence`). Links an earlier owner
    holds die now: only the owner marks it done."""
    owner = session.get(Membership, action.owner_id)
    revoke_links_of(session, action.id, except_owner_id=owner.id)
    meeting = session.get(Meeting, action.meeting_id)
    queue_emails(session, "action_point", [Recipient(
        owner.person, f"action_point:{action.id}:{action.sequence}",
        {"action_point_id": action.id, "meeting_id": action.meeting_id, "sequence": action.sequence})],
        network_id=meeting.network_id)


def owner_changed(session: Session, action: ActionPoint) -> None:
    """A new owner: a new sequence (their own mail), and reminders start over for them (the point fell due once,
    whoever owns it: that mark stays)."""
    action.sequence += 1
    action.reminder_slots = [s for s in action.reminder_slots if s.startswith(DUE_MARK)]
    session.flush()
    tell_owner(session, action)


def due_changed(session: Session, action: ActionPoint) -> None:
    """A new due day has its own reminders (their slots name the day)."""
    action.reminder_slots = [s for s in action.reminder_slots if s.endswith(action.due_on.isoformat())]


# The personal link -----------------------------------------------------------------------------------------------

def mint_link(session: Session, action_point_id: int, *, outbox_id: int | None = None,
              revoke_earlier: bool = True) -> str:
    """As `meetings.mint_link`: made when the mail is claimed, for the owner of that moment, only its hash stored."""
    if outbox_id is not None and revoke_earlier:
        revoke_mail_links(session, outbox_id)
    owner_id = session.scalar(select(ActionPoint.owner_id).where(ActionPoint.id == action_point_id))
    token, token_hash = new_token()
    session.execute(insert(ActionLink.__table__), {"action_point_id": action_point_id, "owner_id": owner_id,
                                                   "outbox_id": outbox_id, "token_hash": token_hash,
                                                   "created_at": utcnow()})
    return token


def revoke_mail_links(session: Session, outbox_id: int) -> None:
    session.execute(update(ActionLink.__table__).where(
        ActionLink.outbox_id == outbox_id, ActionLink.revoked_at.is_(None)).values(revoked_at=utcnow()))


def revoke_links_of(session: Session, action_point_id: int, *, except_owner_id: int | None = None) -> None:
    query = update(ActionLink.__table__).where(ActionLink.action_point_id == action_point_id,
                                               ActionLink.revoked_at.is_(None))
    if except_owner_id is not None:
        query = query.where(ActionLink.owner_id != except_owner_id)
    session.execute(query.values(revoked_at=utcnow()))


def forget_links(session: Session, action_point_id: int) -> None:
    """The action point is removed: its links go with it."""
    session.execute(ActionLink.__table__.delete().where(ActionLink.action_point_id == action_point_id))


def check_link(link: ActionLink, *, now: dt.datetime | None = None) -> None:
    """An action link works until it is revoked, the point has another owner, its owner left the network, or 30
    days after the point was done (the rule of a round's links, `rounds.check_link_dates`)."""
    action = link.action_point
    if action.owner_id != link.owner_id:
        raise LinkInvalid("link_revoked")
    check_link_dates(link.revoked_at, link.owner.left_at,
                     action.done_at + LINK_LIFETIME_AFTER_DONE if action.done_at else None, now=now)


def use_link(session: Session, token: str, *, now: dt.datetime | None = None) -> ActionLink:
    """Resolve an action link; writes nothing (mail scanners open links before people do)."""
    link = session.scalar(select(ActionLink).where(ActionLink.token_hash == hash_token(token)))
    if link is None:
        raise LinkInvalid("link_unknown")
    check_link(link, now=now)
    return link


def mark_done_by_owner(session: Session, link: ActionLink, *, note: str = "",
                       now: dt.datetime | None = None) -> ActionPoint:
    """The owner says it is done, through their link, with an optional note; only a POST from their page gets here.
    Done once: a second mark is refused, the first note stands."""
    now = now or utcnow()
    meeting = lock(session, Meeting, link.action_point.meeting_id)
    action = lock(session, ActionPoint, link.action_point_id)
    check_link(link, now=now)
    if action.status == "done":
        raise Conflict("action_already_done")
    note = inputs.text(note or "", "done_note").strip()
    if len(note) > MAX_DONE_NOTE_LENGTH:
        raise InvalidInput("too_long", field="done_note", limit=MAX_DONE_NOTE_LENGTH)
    owner = session.get(Membership, action.owner_id)
    action.status, action.done_note, action.done_at, action.done_by_id = "done", note, now, owner.person_id
    action.updated_at = now
    link.first_used_at = link.first_used_at or now
    link.last_used_at = now
    session.flush()
    audit.record(session, meeting.network_id, "action_point_done", actor_id=owner.person_id, meeting_id=meeting.id,
                 action_point_id=action.id, note=note, link_id=link.id)
    return action


# Reminders -------------------------------------------------------------------------------------------------------

def slot_time(due_on: dt.date, days_before: int) -> dt.datetime:
    return dt.datetime.combine(due_on - dt.timedelta(days=days_before), REMINDER_TIME,
                               tzinfo=TIMEZONE).astimezone(dt.UTC)


def _due_slot(due_on: dt.date, created_at: dt.datetime, now: dt.datetime) -> str | None:
    """The latest reminder slot that has come (and came after the point was given), named with its day."""
    due = [d for d in REMINDER_DAYS if created_at < slot_time(due_on, d) <= now]
    return f"d{min(due)}:{due_on.isoformat()}" if due else None


def send_due_reminders(session: Session, *, now: dt.datetime | None = None) -> int:
    """The periodic tick: the owner of each open action point (of a meeting not cancelled) is reminded 3 days
    before its due day and on it, at 09:00 Dutch time, each once; a tick that missed the first sends only the
    latest. Asked again under the point's lock, so two ticks send once."""
    now = now or utcnow()
    today = now.astimezone(TIMEZONE).date()
    queued = 0
    for action_id, due_on, created_at, used in session.execute(
            select(ActionPoint.id, ActionPoint.due_on, ActionPoint.created_at, ActionPoint.reminder_slots)
            .join(Meeting, ActionPoint.meeting_id == Meeting.id)
            .join(Membership, ActionPoint.owner_id == Membership.id)
            .where(ActionPoint.status == "open", Meeting.status != "cancelled", Membership.left_at.is_(None),
                   ActionPoint.due_on >= today,
                   ActionPoint.due_on <= today + dt.timedelta(days=max(REMINDER_DAYS)))
            .order_by(ActionPoint.id)).all():
        slot = _due_slot(due_on, created_at, now)
        if slot is None or slot in used:
            continue
        action = lock(session, ActionPoint, action_id)
        slot = _due_slot(action.due_on, action.created_at, now)
        if action.status != "open" or slot is None or slot in action.reminder_slots:
            continue
        action.reminder_slots = [*action.reminder_slots, slot]
        owner = session.get(Membership, action.owner_id)
        meeting = session.get(Meeting, action.meeting_id)
        queue_emails(session, "action_reminder", [Recipient(
            owner.person, f"action_reminder:{action.id}:{action.sequence}:{slot}",
            {"action_point_id": action.id, "meeting_id": action.meeting_id, "sequence": action.sequence,
             "slot": slot, "due_on": action.due_on.isoformat()})], network_id=meeting.network_id)
        audit.record(session, meeting.network_id, "action_reminder_sent", actor_id=None, meeting_id=meeting.id,
                     action_point_id=action.id, slot=slot, owner_id=owner.id)
        queued += 1
    return queued


# Falling due -----------------------------------------------------------------------------------------------------

def record_due(session: Session, *, now: dt.datetime | None = None) -> int:
    """The periodic tick: an open action point (of a meeting not cancelled) falls due at 09:00 Dutch time on its due
    day, when the due-day reminder goes. Its `action_point_due` event (the `action.due` webhook) is recorded once,
    whether or not its owner can be mailed; a day the tick missed altogether is not caught up, as with reminders.
    Asked again under the point's lock, so two ticks record it once. Returns how many fell due."""
    now = now or utcnow()
    today = now.astimezone(TIMEZONE).date()
    if now < slot_time(today, 0):
        return 0
    mark = f"{DUE_MARK}{today.isoformat()}"
    recorded = 0
    for action_id, used in session.execute(
            select(ActionPoint.id, ActionPoint.reminder_slots)
            .join(Meeting, ActionPoint.meeting_id == Meeting.id)
            .where(ActionPoint.status == "open", Meeting.status != "cancelled", ActionPoint.due_on == today)
            .order_by(ActionPoint.id)).all():
        if mark in used:
            continue
        action = lock(session, ActionPoint, action_id)
        if action.status != "open" or action.due_on != today or mark in action.reminder_slots:
            continue
        action.reminder_slots = [*action.reminder_slots, mark]
        meeting = session.get(Meeting, action.meeting_id)
        audit.record(session, meeting.network_id, "action_point_due", actor_id=None, meeting_id=meeting.id,
                     action_point_id=action.id, due_on=action.due_on.isoformat(), owner_id=action.owner_id)
        recorded += 1
    return recorded
