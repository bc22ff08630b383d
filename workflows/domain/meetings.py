"""Network meetings (bijeenkomsten): plan, change and cancel a meeting, its agenda tied to the documents, the
invitations with a personal link to sign up or cancel (aanmelden / afmelden), reminders and the counts."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from storage.blocks import block_text
from storage.database.engine import lock
from storage.database.models import (
    AGENDA_COMMENT_SELECTIONS,
    MEETING_AUDIENCES,
    ActionPoint,
    AgendaItem,
    AgendaItemComment,
    Comment,
    Document,
    Meeting,
    MeetingDecision,
    MeetingDecisionComment,
    MeetingInvitation,
    MeetingLink,
    MeetingOrganisation,
    Membership,
    Network,
    Organisation,
    Participant,
    Person,
    Round,
    Verdict,
    Version,
    utcnow,
)
from workflows import audit
from workflows.domain import inputs
from workflows.domain.notifications import Recipient, queue_emails
from workflows.domain.people import active_members
from workflows.domain.rounds import check_link_dates
from workflows.domain.wording import TIMEZONE
from workflows.errors import Conflict, InvalidInput, LinkInvalid, NotFound
from workflows.tokens import hash_token, new_token

MIN_DURATION, MAX_DURATION = 15, 12 * 60
MAX_ITEM_MINUTES = 8 * 60
MAX_REMARK_LENGTH = 500
MAX_MESSAGE_LENGTH = 5_000
MAX_REMINDERS = 3
REMINDER_TIME = dt.time(9, 0)  # reminders go at the start of the working day, Dutch time
# A personal link keeps showing the meeting (and later its minutes) this long after it ended.
LINK_LIFETIME_AFTER_MEETING = dt.timedelta(days=30)
ANSWERS = ("aanmelden", "afmelden")


@dataclass
class Plan:
    """What a coordinator or editor says about a meeting, as typed (times in UTC)."""

    title: str
    starts_at: dt.datetime
    duration_minutes: int
    place: str = ""
    online_url: str = ""
    message: str = ""
    chair_id: int | None = None
    minute_taker_id: int | None = None
    audience: str = "everyone"
    organisation_ids: list[int] = field(default_factory=list)


@dataclass
class AgendaLink:
    """What an agenda item is about: a version, a round, a redline (from `compare_version_id` to `version_id`), or
    comments of a round (`comment_selection`, and for "chosen" the `comment_ids`)."""

    version_id: int | None = None
    compare_version_id: int | None = None
    round_id: int | None = None
    comment_selection: str | None = None
    comment_ids: list[int] = field(default_factory=list)


# Planning and changing -------------------------------------------------------------------------------------------

def _member_of(session: Session, network_id: int, membership_id: int | None, field_name: str) -> int | None:
    if membership_id is None:
        return None
    membership = session.get(Membership, membership_id)
    if membership is None or membership.network_id != network_id or membership.left_at is not None:
        raise InvalidInput("meeting_not_member", field=field_name)
    return membership.id


def _checked(session: Session, network_id: int, plan: Plan, *, now: dt.datetime) -> Plan:
    title = inputs.single_line(plan.title or "", "title")
    if not title:
        raise InvalidInput("meeting_title_required", field="title")
    if len(title) > 300:
        raise InvalidInput("too_long", field="title", limit=300)
    if plan.starts_at.tzinfo is None:
        raise ValueError("naive datetime given; use UTC-aware datetimes")
    if plan.starts_at <= now:
        raise InvalidInput("meeting_in_past", field="starts_at")
    if not MIN_DURATION <= plan.duration_minutes <= MAX_DURATION:
        raise InvalidInput("meeting_duration", field="duration_minutes", low=MIN_DURATION, high=MAX_DURATION)
    place = inputs.text(plan.place or "", "place")
    online_url = inputs.single_line(plan.online_url or "", "online_url")
    if online_url and not online_url.lower().startswith(("https://", "http://")):
        raise InvalidInput("meeting_link_not_web", field="online_url")
    if len(online_url) > 2000 or len(place) > 1000:
        raise InvalidInput("too_long", field="online_url" if len(online_url) > 2000 else "place",
                           limit=2000 if len(online_url) > 2000 else 1000)
    if not place and not online_url:
        raise InvalidInput("meeting_place_required", field="place")
    message = inputs.text(plan.message or "", "message")
    if len(message) > MAX_MESSAGE_LENGTH:
        raise InvalidInput("too_long", field="message", limit=MAX_MESSAGE_LENGTH)
    if plan.audience not in MEETING_AUDIENCES:
        raise InvalidInput("meeting_unknown_audience", field="audience")
    organisation_ids = sorted(set(plan.organisation_ids)) if plan.audience == "organisations" else []
    if plan.audience == "organisations":
        if not organisation_ids:
            raise InvalidInput("meeting_organisations_required", field="organisation_ids")
        found = set(session.scalars(select(Organisation.id).where(Organisation.id.in_(organisation_ids),
                                                                  Organisation.network_id == network_id)))
        if found != set(organisation_ids):
            raise InvalidInput("meeting_organisations_required", field="organisation_ids")
    starts_at = plan.starts_at.astimezone(dt.UTC).replace(second=0, microsecond=0)  # to the minute, as typed
    return Plan(title=title, starts_at=starts_at, duration_minutes=plan.duration_minutes,
                place=place, online_url=online_url, message=message,
                chair_id=_member_of(session, network_id, plan.chair_id, "chair_id"),
                minute_taker_id=_member_of(session, network_id, plan.minute_taker_id, "minute_taker_id"),
                audience=plan.audience, organisation_ids=organisation_ids)


def plan_meeting(session: Session, network: Network, plan: Plan, *, actor: Person, host: str = "akkoord",
                 now: dt.datetime | None = None) -> Meeting:
    """A new meeting, not yet announced (`invite` sends the invitations). Its calendar UID is made here, once."""
    now = now or utcnow()
    plan = _checked(session, network.id, plan, now=now)
    meeting = Meeting(network_id=network.id, title=plan.title, starts_at=plan.starts_at,
                      duration_minutes=plan.duration_minutes, place=plan.place, online_url=plan.online_url,
                      message=plan.message, chair_id=plan.chair_id, minute_taker_id=plan.minute_taker_id,
                      audience=plan.audience, status="planned", uid=f"meeting-{uuid.uuid4()}@{host}", sequence=0,
                      created_by_id=actor.id, created_at=now, updated_at=now)
    session.add(meeting)
    session.flush()
    session.add_all(MeetingOrganisation(meeting_id=meeting.id, organisation_id=o) for o in plan.organisation_ids)
    session.flush()
    audit.record(session, network.id, "meeting_planned", actor_id=actor.id, meeting_id=meeting.id,
                 title=meeting.title, starts_at=meeting.starts_at.isoformat(), duration=meeting.duration_minutes,
                 audience=meeting.audience, organisation_ids=plan.organisation_ids)
    return meeting


def organisation_ids(session: Session, meeting: Meeting) -> list[int]:
    return list(session.scalars(select(MeetingOrganisation.organisation_id)
                                .where(MeetingOrganisation.meeting_id == meeting.id)
                                .order_by(MeetingOrganisation.organisation_id)))


def _lock_planned(session: Session, meeting: Meeting) -> Meeting:
    meeting = lock(session, Meeting, meeting.id)
    if meeting.is_cancelled:
        raise Conflict("meeting_cancelled")
    return meeting


def change_meeting(session: Session, meeting: Meeting, plan: Plan, *, actor: Person,
                   now: dt.datetime | None = None) -> Meeting:
    """Change what was planned. A new time or place raises the calendar SEQUENCE and, once invitations went out,
    sends everyone invited the changed invitation with its .ics; a new audience invites those it adds and sends
    those it drops a cancellation."""
    now = now or utcnow()
    meeting = _lock_planned(session, meeting)
    if meeting.ends_at <= now:
        raise Conflict("meeting_over")
    plan = _checked(session, meeting.network_id, plan, now=now)
    before = {"title": meeting.title, "starts_at": meeting.starts_at.isoformat(),
              "duration": meeting.duration_minutes, "place": meeting.place, "online_url": meeting.online_url,
              "audience": meeting.audience, "organisation_ids": organisation_ids(session, meeting)}
    moved = (plan.starts_at != meeting.starts_at or plan.duration_minutes != meeting.duration_minutes
             or plan.place != meeting.place or plan.online_url != meeting.online_url)
    meeting.title, meeting.starts_at, meeting.duration_minutes = plan.title, plan.starts_at, plan.duration_minutes
    meeting.place, meeting.online_url, meeting.message = plan.place, plan.online_url, plan.message
    meeting.chair_id, meeting.minute_taker_id, meeting.audience = plan.chair_id, plan.minute_taker_id, plan.audience
    meeting.updated_at = now
    if before["organisation_ids"] != plan.organisation_ids:
        session.execute(MeetingOrganisation.__table__.delete().where(MeetingOrganisation.meeting_id == meeting.id))
        session.add_all(MeetingOrganisation(meeting_id=meeting.id, organisation_id=o) for o in plan.organisation_ids)
    if moved:
        meeting.sequence += 1
        meeting.reminder_slots = []  # a new date has its own reminders
    session.flush()
    after = {"title": meeting.title, "starts_at": meeting.starts_at.isoformat(),
             "duration": meeting.duration_minutes, "place": meeting.place, "online_url": meeting.online_url,
             "audience": meeting.audience, "organisation_ids": plan.organisation_ids}
    audit.record(session, meeting.network_id, "meeting_changed", actor_id=actor.id, meeting_id=meeting.id,
                 sequence=meeting.sequence, before={k: v for k, v in before.items() if after[k] != v},
                 after={k: v for k, v in after.items() if before[k] != v})
    if meeting.invited_at is not None:
        if moved:
            _queue_invitations(session, meeting, _current_invitations(session, meeting))
        _sync_audience(session, meeting, actor=actor, now=now)
    return meeting


def cancel_meeting(session: Session, meeting: Meeting, *, actor: Person, now: dt.datetime | None = None) -> Meeting:
    """Call the meeting off: everyone invited gets a cancellation (its .ics says METHOD:CANCEL, a higher SEQUENCE)."""
    now = now or utcnow()
    meeting = _lock_planned(session, meeting)
    meeting.status, meeting.cancelled_at, meeting.updated_at = "cancelled", now, now
    meeting.sequence += 1
    session.flush()
    invited = _current_invitations(session, meeting) if meeting.invited_at is not None else []
    _queue_cancellations(session, meeting, invited)
    audit.record(session, meeting.network_id, "meeting_cancelled", actor_id=actor.id, meeting_id=meeting.id,
                 sequence=meeting.sequence, told=len(invited))
    return meeting


# The agenda ------------------------------------------------------------------------------------------------------

def agenda(session: Session, meeting_id: int) -> list[AgendaItem]:
    return list(session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                                .order_by(AgendaItem.position, AgendaItem.id)))


def agenda_comments(session: Session, item_ids: list[int]) -> dict[int, list[Comment]]:
    """The comments each agenda item brings to the table, in their order in the round."""
    found: dict[int, list[Comment]] = {item_id: [] for item_id in item_ids}
    if not item_ids:
        return found
    for item_id, comment in session.execute(
            select(AgendaItemComment.agenda_item_id, Comment)
            .join(Comment, AgendaItemComment.comment_id == Comment.id)
            .where(AgendaItemComment.agenda_item_id.in_(item_ids)).order_by(Comment.id)):
        found[item_id].append(comment)
    return found


@dataclass
class AgendaEntry:
    """An agenda item as pages and mails show it: with its presenter's name (as the network knows them) and what
    it links to."""

    item: AgendaItem
    presenter: str
    comments: list[Comment]

    @property
    def has_link(self) -> bool:
        return self.item.document_id is not None


def agenda_entries(session: Session, meeting: Meeting) -> list[AgendaEntry]:
    items = agenda(session, meeting.id)
    presenter_ids = {i.presenter_id for i in items if i.presenter_id}
    names = dict(session.execute(select(Membership.id, Membership.name)
                                 .where(Membership.id.in_(presenter_ids))).all()) if presenter_ids else {}
    comments = agenda_comments(session, [i.id for i in items])
    return [AgendaEntry(item=i, presenter=names.get(i.presenter_id, ""), comments=comments[i.id]) for i in items]


def _in_network(session: Session, network_id: int, document_id: int) -> Document:
    document = session.get(Document, document_id)
    if document is None or document.network_id != network_id:
        raise InvalidInput("agenda_unknown_link", field="link")
    return document


def selection_ids(session: Session, round_id: int, selection: str) -> list[int]:
    """The ids of the round's comments (not replies) a selection by rule names: "niet_overgenomen", or
    "niet_akkoord" (the passages members said niet akkoord about: their comments on passages)."""
    top = select(Comment.id).where(Comment.round_id == round_id, Comment.parent_id.is_(None))
    if selection == "niet_overgenomen":
        return list(session.scalars(top.where(Comment.disposition == "niet_overgenomen").order_by(Comment.id)))
    return list(session.scalars(
        top.join(Participant, Comment.participant_id == Participant.id)
        .join(Verdict, Participant.current_verdict_id == Verdict.id)
        .where(Verdict.value == "niet_akkoord", Comment.block_id.is_not(None)).order_by(Comment.id)))


def _selected_comments(session: Session, round_: Round, link: AgendaLink) -> list[int]:
    """The ids of the round's comments (not replies) the selection names."""
    top = select(Comment.id).where(Comment.round_id == round_.id, Comment.parent_id.is_(None))
    if link.comment_selection == "chosen":
        wanted = set(link.comment_ids)
        found = set(session.scalars(top.where(Comment.id.in_(wanted)))) if wanted else set()
        if not wanted or found != wanted:
            raise InvalidInput("agenda_no_comments", field="link")
        return sorted(found)
    ids = selection_ids(session, round_.id, link.comment_selection)
    if not ids:
        raise InvalidInput("agenda_no_comments", field="link")
    return ids


def _checked_link(session: Session, network_id: int, link: AgendaLink) -> tuple[dict, list[int]]:
    """The columns of an agenda item's link, checked to be of this network, and the comments it names."""
    columns = {"document_id": None, "version_id": None, "compare_version_id": None, "round_id": None,
               "comment_selection": None}
    comment_ids: list[int] = []
    if link.round_id is not None:
        round_ = session.get(Round, link.round_id)
        if round_ is None:
            raise InvalidInput("agenda_unknown_link", field="link")
        _in_network(session, network_id, round_.document_id)
        columns.update(round_id=round_.id, document_id=round_.document_id)
        if link.comment_selection is not None:
            if link.comment_selection not in AGENDA_COMMENT_SELECTIONS:
                raise InvalidInput("agenda_unknown_link", field="link")
            comment_ids = _selected_comments(session, round_, link)
            columns["comment_selection"] = link.comment_selection
    elif link.comment_selection is not None:
        raise InvalidInput("agenda_unknown_link", field="link")
    if link.version_id is not None:
        version = session.get(Version, link.version_id)
        if version is None:
            raise InvalidInput("agenda_unknown_link", field="link")
        _in_network(session, network_id, version.document_id)
        if columns["document_id"] not in (None, version.document_id):
            raise InvalidInput("agenda_unknown_link", field="link")
        columns.update(version_id=version.id, document_id=version.document_id)
        if link.compare_version_id is not None:
            earlier = session.get(Version, link.compare_version_id)
            if earlier is None or earlier.document_id != version.document_id or earlier.id == version.id:
                raise InvalidInput("agenda_redline_versions", field="link")
            columns["compare_version_id"] = earlier.id
    elif link.compare_version_id is not None:
        raise InvalidInput("agenda_redline_versions", field="link")
    return columns, comment_ids


def add_agenda_item(session: Session, meeting: Meeting, *, title: str, presenter_id: int | None = None,
                    minutes: int | None = None, link: AgendaLink | None = None, actor: Person) -> AgendaItem:
    meeting = _lock_planned(session, meeting)
    title = inputs.single_line(title or "", "title")
    if not title:
        raise InvalidInput("agenda_title_required", field="title")
    if len(title) > 300:
        raise InvalidInput("too_long", field="title", limit=300)
    if minutes is not None and not 1 <= minutes <= MAX_ITEM_MINUTES:
        raise InvalidInput("agenda_minutes", field="minutes", limit=MAX_ITEM_MINUTES)
    presenter_id = _member_of(session, meeting.network_id, presenter_id, "presenter_id")
    columns, comment_ids = _checked_link(session, meeting.network_id, link or AgendaLink())
    position = (session.scalar(select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting.id))
                or 0) + 1
    item = AgendaItem(meeting_id=meeting.id, position=position, title=title, presenter_id=presenter_id,
                      minutes=minutes, created_at=utcnow(), **columns)
    session.add(item)
    session.flush()
    if comment_ids:
        session.execute(insert(AgendaItemComment.__table__),
                        [{"agenda_item_id": item.id, "comment_id": c} for c in comment_ids])
    meeting.updated_at = utcnow()
    audit.record(session, meeting.network_id, "agenda_item_added", actor_id=actor.id, meeting_id=meeting.id,
                 item_id=item.id, title=title, document_id=columns["document_id"], round_id=columns["round_id"],
                 version_id=columns["version_id"], compare_version_id=columns["compare_version_id"],
                 comment_selection=columns["comment_selection"], comments=len(comment_ids))
    return item


def choose_agenda_comments(session: Session, meeting: Meeting, item_id: int, comment_ids: list[int], *,
                           actor: Person) -> int:
    """The comments of its round an agenda item brings to the table, chosen one by one (they replace what it
    brought); none chosen: the item is about the round only. A comment a decision under the item refers to stays
    chosen (the minutes rest on it). Returns how many are chosen."""
    meeting = _lock_planned(session, meeting)
    item = _item_of(session, meeting, item_id)
    if item.round_id is None:
        raise NotFound()
    wanted = sorted(set(comment_ids))
    decided = set(session.scalars(
        select(MeetingDecisionComment.comment_id).join(MeetingDecision)
        .where(MeetingDecision.agenda_item_id == item.id)))
    if not decided <= set(wanted):
        raise InvalidInput("agenda_comment_decided", field="comments")
    if wanted:
        wanted = _selected_comments(session, item.round, AgendaLink(comment_selection="chosen", comment_ids=wanted))
    session.execute(AgendaItemComment.__table__.delete().where(AgendaItemComment.agenda_item_id == item.id))
    if wanted:
        session.execute(insert(AgendaItemComment.__table__),
                        [{"agenda_item_id": item.id, "comment_id": c} for c in wanted])
    item.comment_selection = "chosen" if wanted else None
    meeting.updated_at = utcnow()
    session.flush()
    audit.record(session, meeting.network_id, "agenda_comments_chosen", actor_id=actor.id, meeting_id=meeting.id,
                 item_id=item.id, round_id=item.round_id, comments=wanted)
    return len(wanted)


@dataclass
class Passage:
    """A passage of the round's version (or "general": no passage) with the comments on it, for choosing."""

    label: str
    comments: list[tuple[Comment, str]]  # with the name the network knows its author by


def comments_by_passage(session: Session, round_: Round) -> list[Passage]:
    """The round's comments (not replies), grouped by passage in the order of the text, general comments last;
    two statements."""
    rows = session.execute(
        select(Comment, Membership.name).join(Participant, Comment.participant_id == Participant.id)
        .join(Membership, Participant.membership_id == Membership.id)
        .where(Comment.round_id == round_.id, Comment.parent_id.is_(None)).order_by(Comment.id)).all()
    blocks = session.scalar(select(Version.blocks).where(Version.id == round_.version_id)) or []
    order = {block["id"]: n for n, block in enumerate(blocks)}
    texts = {block["id"]: block_text(block) for block in blocks}
    grouped: dict[str | None, list[tuple[Comment, str]]] = {}
    for comment, name in rows:
        grouped.setdefault(comment.block_id if comment.block_id in order else None, []).append((comment, name))
    return [Passage(label=texts[block_id] if block_id is not None else "", comments=found)
            for block_id, found in sorted(grouped.items(), key=lambda pair: order.get(pair[0], len(order)))]


def _item_of(session: Session, meeting: Meeting, item_id: int) -> AgendaItem:
    item = session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting.id:
        raise NotFound()
    return item


def move_agenda_item(session: Session, meeting: Meeting, item_id: int, *, up: bool, actor: Person) -> None:
    """One place up or down (the agenda is renumbered 1, 2, 3, ... on the way)."""
    meeting = _lock_planned(session, meeting)
    items = agenda(session, meeting.id)
    index = next((i for i, it in enumerate(items) if it.id == item_id), None)
    if index is None:
        raise NotFound()
    other = index - 1 if up else index + 1
    if not 0 <= other < len(items):
        return
    items[index], items[other] = items[other], items[index]
    for position, item in enumerate(items, start=1):
        item.position = position
    meeting.updated_at = utcnow()
    audit.record(session, meeting.network_id, "agenda_reordered", actor_id=actor.id, meeting_id=meeting.id,
                 order=[item.id for item in items])


def remove_agenda_item(session: Session, meeting: Meeting, item_id: int, *, actor: Person) -> None:
    meeting = _lock_planned(session, meeting)
    item = _item_of(session, meeting, item_id)
    # The minutes keep what was decided under an item: an item with decisions or action points stays.
    decided = select(MeetingDecision.id).where(MeetingDecision.agenda_item_id == item.id)
    given = select(ActionPoint.id).where(ActionPoint.agenda_item_id == item.id)
    if session.scalar(select(decided.exists())) or session.scalar(select(given.exists())):
        raise Conflict("agenda_item_has_minutes")
    session.execute(AgendaItemComment.__table__.delete().where(AgendaItemComment.agenda_item_id == item.id))
    title = item.title
    session.delete(item)
    session.flush()
    for position, rest in enumerate(agenda(session, meeting.id), start=1):
        rest.position = position
    meeting.updated_at = utcnow()
    audit.record(session, meeting.network_id, "agenda_item_removed", actor_id=actor.id, meeting_id=meeting.id,
                 item_id=item_id, title=title)


# Invitations ----------------------------------------------------------------------------------------------------

def audience(session: Session, meeting: Meeting) -> list[Membership]:
    """The current members the meeting is for, and its chair and minute-taker whoever they are: everyone; the
    kerngroep or bestuur (members marked as its members, and the coordinators); the project group (editors and
    coordinators); or the people of the chosen organisations."""
    members = active_members(session, meeting.network_id)
    if meeting.audience == "board":
        chosen = [m for m in members if m.board or m.role == "coordinator"]
    elif meeting.audience == "project_group":
        chosen = [m for m in members if m.is_staff]
    elif meeting.audience == "organisations":
        wanted = set(organisation_ids(session, meeting))
        chosen = [m for m in members if m.organisation_id in wanted]
    else:
        chosen = members
    wanted = {m.id for m in chosen} | {meeting.chair_id, meeting.minute_taker_id}
    return [m for m in members if m.id in wanted]


def _current_invitations(session: Session, meeting: Meeting) -> list[MeetingInvitation]:
    """The invitations that stand: not withdrawn, of people still in the network."""
    return list(session.scalars(select(MeetingInvitation)
                                .join(Membership, MeetingInvitation.membership_id == Membership.id)
                                .where(MeetingInvitation.meeting_id == meeting.id,
                                       MeetingInvitation.removed_at.is_(None), Membership.left_at.is_(None))
                                .order_by(MeetingInvitation.id)))


def _queue_invitations(session: Session, meeting: Meeting, invitations: list[MeetingInvitation]) -> None:
    """The invitation as the meeting is now; one per SEQUENCE, so a change of time or place goes out again."""
    queue_emails(session, "meeting_invitation", [
        Recipient(i.person, f"meeting_invitation:{i.id}:{meeting.sequence}",
                  {"invitation_id": i.id, "meeting_id": meeting.id, "sequence": meeting.sequence,
                   "changed": meeting.sequence > 0})
        for i in invitations], network_id=meeting.network_id)


def _queue_cancellations(session: Session, meeting: Meeting, invitations: list[MeetingInvitation]) -> None:
    queue_emails(session, "meeting_cancelled", [
        Recipient(i.person, f"meeting_cancelled:{i.id}:{meeting.sequence}",
                  {"invitation_id": i.id, "meeting_id": meeting.id, "sequence": meeting.sequence})
        for i in invitations], network_id=meeting.network_id)


def _sync_audience(session: Session, meeting: Meeting, *, actor: Person | None, now: dt.datetime) -> tuple[int, int]:
    """Invite who is of the audience and not invited yet; withdraw the invitation of who no longer is (they get a
    cancellation). Returns (invited, withdrawn)."""
    wanted = {m.person_id: m for m in audience(session, meeting)}
    existing = {i.person_id: i for i in session.scalars(
        select(MeetingInvitation).where(MeetingInvitation.meeting_id == meeting.id))}
    new, withdrawn = [], []
    for person_id, membership in wanted.items():
        invitation = existing.get(person_id)
        if invitation is None:
            invitation = MeetingInvitation(meeting_id=meeting.id, person_id=person_id, membership_id=membership.id,
                                           invited_at=now)
            session.add(invitation)
            new.append(invitation)
        elif invitation.removed_at is not None:
            invitation.removed_at, invitation.membership_id = None, membership.id
            new.append(invitation)
    for person_id, invitation in existing.items():
        if person_id not in wanted and invitation.removed_at is None:
            invitation.removed_at = now
            withdrawn.append(invitation)
    session.flush()
    _queue_invitations(session, meeting, new)
    _queue_cancellations(session, meeting, withdrawn)
    if new or withdrawn:
        audit.record(session, meeting.network_id, "meeting_invitations_sent", actor_id=actor.id if actor else None,
                     meeting_id=meeting.id, invited=[i.person_id for i in new],
                     withdrawn=[i.person_id for i in withdrawn])
    return len(new), len(withdrawn)


def invite(session: Session, meeting: Meeting, *, actor: Person, now: dt.datetime | None = None) -> int:
    """Send the invitations: to everyone of the audience not invited yet (again: to who joined since). Each gets the
    agenda, the .ics and a personal link to sign up or cancel. Returns how many were invited now."""
    now = now or utcnow()
    meeting = _lock_planned(session, meeting)
    if meeting.ends_at <= now:
        raise Conflict("meeting_over")
    meeting.invited_at = meeting.invited_at or now
    invited, _withdrawn = _sync_audience(session, meeting, actor=actor, now=now)
    return invited


# The personal link and the answer ------------------------------------------------------------------------------

def mint_link(session: Session, invitation_id: int, *, outbox_id: int | None = None,
              revoke_earlier: bool = True) -> str:
    """As `rounds.mint_link`: made when the mail is claimed, only its hash stored; the link an earlier attempt at
    the same mail made dies now."""
    if outbox_id is not None and revoke_earlier:
        revoke_mail_links(session, outbox_id)
    token, token_hash = new_token()
    session.execute(insert(MeetingLink.__table__), {"invitation_id": invitation_id, "outbox_id": outbox_id,
                                                    "token_hash": token_hash, "created_at": utcnow()})
    return token


def revoke_mail_links(session: Session, outbox_id: int) -> None:
    session.execute(update(MeetingLink.__table__).where(
        MeetingLink.outbox_id == outbox_id, MeetingLink.revoked_at.is_(None)).values(revoked_at=utcnow()))


def check_link(link: MeetingLink, *, now: dt.datetime | None = None) -> None:
    """A meeting link works until it is revoked, its invitation is withdrawn or its person left the network, or 30
    days after the meeting (the rule of a round's links, `rounds.check_link_dates`, with the meeting's end for the
    round's close)."""
    invitation = link.invitation
    check_link_dates(link.revoked_at, invitation.removed_at or invitation.membership.left_at,
                     invitation.meeting.ends_at + LINK_LIFETIME_AFTER_MEETING, now=now)


def use_link(session: Session, token: str, *, now: dt.datetime | None = None) -> MeetingLink:
    """Resolve a meeting link; writes nothing (mail scanners open links before people do: invariant 5)."""
    link = session.scalar(select(MeetingLink).where(MeetingLink.token_hash == hash_token(token)))
    if link is None:
        raise LinkInvalid("link_unknown")
    check_link(link, now=now)
    return link


def answer(session: Session, invitation: MeetingInvitation, *, value: str, remark: str = "",
           link: MeetingLink | None = None, now: dt.datetime | None = None) -> MeetingInvitation:
    """Aanmelden or afmelden, with an optional remark ("ik kom online"); the last answer counts. Only a POST from
    the person's page gets here (a GET of the link records nothing)."""
    now = now or utcnow()
    invitation = lock(session, MeetingInvitation, invitation.id)
    meeting = invitation.meeting
    if meeting.is_cancelled:
        raise Conflict("meeting_cancelled")
    if meeting.ends_at <= now:
        raise Conflict("meeting_over")
    if invitation.removed_at is not None:
        raise LinkInvalid("link_revoked")
    if value not in ANSWERS:
        raise InvalidInput("meeting_answer_required", field="answer")
    remark = inputs.text(remark or "", "remark")
    if len(remark) > MAX_REMARK_LENGTH:
        raise InvalidInput("too_long", field="remark", limit=MAX_REMARK_LENGTH)
    before = invitation.answer
    invitation.answer, invitation.remark, invitation.answered_at = value, remark, now
    if link is not None:
        link.first_used_at = link.first_used_at or now
        link.last_used_at = now
    session.flush()
    audit.record(session, meeting.network_id, "meeting_answered", actor_id=invitation.person_id,
                 meeting_id=meeting.id, invitation_id=invitation.id, answer=value, before=before,
                 link_id=link.id if link else None)
    return invitation


# Figures and lists -----------------------------------------------------------------------------------------------

@dataclass
class Attendance:
    """Who answered what: in all, and per organisation (by name; "" for members without one)."""

    counts: dict[str, int]
    by_organisation: list[tuple[str, dict[str, int]]]
    invitations: list[MeetingInvitation]

    @property
    def invited(self) -> int:
        return sum(self.counts.values())


def attendance(session: Session, meeting: Meeting) -> Attendance:
    invitations = list(session.scalars(
        select(MeetingInvitation).where(MeetingInvitation.meeting_id == meeting.id,
                                        MeetingInvitation.removed_at.is_(None), Membership.left_at.is_(None))
        .join(Membership, MeetingInvitation.membership_id == Membership.id).order_by(Membership.name)
        .options(selectinload(MeetingInvitation.membership))))
    organisations = dict(session.execute(
        select(Membership.id, Organisation.name).join(Organisation, Membership.organisation_id == Organisation.id)
        .where(Membership.id.in_([i.membership_id for i in invitations]))).all()) if invitations else {}
    counts = Counter({value: 0 for value in ("aanmelden", "afmelden", "none")})
    per: dict[str, Counter] = {}
    for invitation in invitations:
        counts[invitation.answer] += 1
        per.setdefault(organisations.get(invitation.membership_id, ""), Counter({"aanmelden": 0, "afmelden": 0,
                                                                                 "none": 0}))[invitation.answer] += 1
    return Attendance(counts=dict(counts), invitations=invitations,
                      by_organisation=sorted(((name, dict(c)) for name, c in per.items()),
                                             key=lambda pair: (pair[0] == "", pair[0].casefold())))


def of_network(session: Session, network_id: int, *, now: dt.datetime | None = None
               ) -> tuple[list[Meeting], list[Meeting]]:
    """(upcoming, past): the upcoming soonest first, the past newest first."""
    now = now or utcnow()
    meetings = list(session.scalars(select(Meeting).where(Meeting.network_id == network_id)
                                    .order_by(Meeting.starts_at, Meeting.id)))
    upcoming = [m for m in meetings if m.ends_at > now]
    past = [m for m in reversed(meetings) if m.ends_at <= now]
    return upcoming, past


def get(session: Session, network_id: int, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or meeting.network_id != network_id:
        raise NotFound()
    return meeting


# Reminders -------------------------------------------------------------------------------------------------------

def slot_time(starts_at: dt.datetime, days_before: int) -> dt.datetime:
    day = starts_at.astimezone(TIMEZONE).date() - dt.timedelta(days=days_before)
    return dt.datetime.combine(day, REMINDER_TIME, tzinfo=TIMEZONE).astimezone(dt.UTC)


def _remind(session: Session, meeting: Meeting, slot: str, *, actor: Person | None) -> int:
    """Under the meeting's lock: the slot is noted on the meeting, the mails' keys name it too."""
    meeting.reminder_slots = [*meeting.reminder_slots, slot]
    silent = [i for i in _current_invitations(session, meeting) if i.answer == "none"]
    queue_emails(session, "meeting_reminder", [
        Recipient(i.person, f"meeting_reminder:{meeting.id}:{meeting.sequence}:{slot}:{i.id}",
                  {"invitation_id": i.id, "meeting_id": meeting.id, "slot": slot}) for i in silent],
        network_id=meeting.network_id)
    audit.record(session, meeting.network_id, "meeting_reminder_sent", actor_id=actor.id if actor else None,
                 meeting_id=meeting.id, slot=slot, reminded=len(silent))
    return len(silent)


def remind_now(session: Session, meeting: Meeting, *, actor: Person, now: dt.datetime | None = None) -> int:
    """A reminder now to everyone invited who has not answered; at most three reminders a meeting."""
    now = now or utcnow()
    meeting = _lock_planned(session, meeting)
    if meeting.invited_at is None:
        raise Conflict("meeting_not_invited")
    if meeting.starts_at <= now:
        raise Conflict("meeting_over")
    if len(meeting.reminder_slots) >= MAX_REMINDERS:
        raise Conflict("meeting_too_many_reminders", limit=MAX_REMINDERS)
    return _remind(session, meeting, f"now{len(meeting.reminder_slots) + 1}", actor=actor)


def send_due_reminders(session: Session, *, now: dt.datetime | None = None) -> int:
    """The periodic tick: the latest due reminder slot (09:00 Dutch time, `reminder_days` before the meeting) of every
    announced meeting still to come, once (the outbox's keys and the slot in its params say whether it went)."""
    now = now or utcnow()
    queued = 0
    for meeting_id, starts_at, invited_at, days, used in session.execute(
            select(Meeting.id, Meeting.starts_at, Meeting.invited_at, Meeting.reminder_days, Meeting.reminder_slots)
            .where(Meeting.status == "planned", Meeting.invited_at.is_not(None), Meeting.starts_at > now)
            .order_by(Meeting.id)).all():
        due = [d for d in sorted(days, reverse=True) if invited_at < slot_time(starts_at, d) <= now]
        if not due or f"d{due[-1]}" in used or len(used) >= MAX_REMINDERS:
            continue  # nothing due, or sent already: no lock taken
        meeting = lock(session, Meeting, meeting_id)  # and asked again under it: a tick running twice sends once
        if meeting.is_cancelled or f"d{due[-1]}" in meeting.reminder_slots \
                or len(meeting.reminder_slots) >= MAX_REMINDERS:
            continue
        queued += _remind(session, meeting, f"d{due[-1]}", actor=None)
    return queued
