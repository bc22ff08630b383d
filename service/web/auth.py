"""Who is asking: signed-in staff (session person) and members holding a personal link (session participants)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from flask import current_app
from flask import session as cookie
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from service.web import db
from service.web.sessions import ACTION_LINKS, LINKS, MEETING_LINKS, PERSON
from storage.database.models import (
    STAFF_ROLES,
    ActionLink,
    ActionPoint,
    Comment,
    Document,
    MeetingInvitation,
    MeetingLink,
    Membership,
    Network,
    Participant,
    Person,
    PersonalLink,
    Round,
    utcnow,
)
from workflows.domain import action_followup, decisions, meetings, substitutes, successors, web_sessions
from workflows.domain.comments import own_threads
from workflows.domain.membership import active_membership
from workflows.domain.rounds import check_link, check_link_dates, threads_limited_to
from workflows.errors import NotAllowed, NotFound

# What a browser drops from a URL (tabs, line breaks, leading spaces) or reads as "/" (a backslash): a target with
# any of it may be read as another host than it seems ("/\t/evil.example" is "//evil.example").
_MISREAD = re.compile(r"[\x00-\x20\x7f\\]")


def safe_next(target: str | None, default: str) -> str:
    """A redirect target from a form or a link, kept on this site: parsed, it must be a path (no scheme, no host,
    one leading "/"); what is sent back is rebuilt from its path, query and fragment only. Anything else: `default`."""
    if not target or _MISREAD.search(target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return default
    if target.startswith("//"):  # "///evil.example": urllib reads an empty host and a path, a browser the host
        return default
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))


def sign_in(person: Person) -> None:
    """A new session (a new token) for the person: nothing of the browser's earlier session comes along."""
    cookie.clear()
    cookie[PERSON] = person.id
    cookie.regenerate(renew_lifetime=True)


def sign_out() -> None:
    """Ends this browser's session, the signed-in person's and the personal links' alike."""
    cookie.end()


def sign_out_everywhere(person: Person) -> int:
    """Ends every session of the person, in every browser (this one too); the number ended."""
    ended = web_sessions.end_all(db.session(), person.id, now=current_app.session_interface.clock())
    cookie.end()
    return ended


def is_link_session() -> bool:
    """A member's session: personal links, nobody signed in."""
    return bool(cookie.get(LINKS) or cookie.get(MEETING_LINKS) or cookie.get(ACTION_LINKS)) and not cookie.get(PERSON)


def current_person() -> Person | None:
    """The signed-in person. What they may do is asked of their memberships on every request (`require_role`), so
    a role lowered or a network left counts at once; leaving one's last staff role also ends one's sessions
    (`workflows.domain.web_sessions.end_unless_staff`)."""
    person_id = cookie.get(PERSON)
    return db.session().get(Person, person_id) if person_id else None


def require_person() -> Person:
    person = current_person()
    if person is None:
        raise NotAllowed("sign_in_required")
    return person


def require_role(network_id: int, *roles: str) -> tuple[Person, Membership]:
    person = require_person()
    membership = active_membership(db.session(), network_id, person.id)
    if membership is None or (roles and membership.role not in roles):
        raise NotAllowed()
    return person, membership


def remember_link(link: PersonalLink) -> None:
    links = dict(cookie.get(LINKS, {}))
    links[str(link.participant_id)] = link.id
    cookie[LINKS] = links
    # A new token for the session (a planted cookie is left behind). A member's session starts its lifetime
    # again, as the link proves itself anew; a signed-in person's keeps the end their sign-in gave it.
    cookie.regenerate(renew_lifetime=PERSON not in cookie)


def remember_meeting_link(link: MeetingLink) -> None:
    """As `remember_link`, for a meeting's sign-up page: the cookie holds the link, the URL no longer does."""
    links = dict(cookie.get(MEETING_LINKS, {}))
    links[str(link.invitation_id)] = link.id
    cookie[MEETING_LINKS] = links
    cookie.regenerate(renew_lifetime=PERSON not in cookie)


def require_invitation(invitation_id: int) -> tuple[MeetingInvitation, MeetingLink]:
    """The invitation this browser holds a still-valid meeting link for."""
    link_id = cookie.get(MEETING_LINKS, {}).get(str(invitation_id))
    if link_id is None:
        raise NotFound()
    link = db.session().get(MeetingLink, link_id)
    if link is None or link.invitation_id != invitation_id:
        raise NotFound()
    meetings.check_link(link)
    return link.invitation, link


def remember_action_link(link: ActionLink) -> None:
    """As `remember_meeting_link`, for the page where an action point's owner marks it done."""
    links = dict(cookie.get(ACTION_LINKS, {}))
    links[str(link.action_point_id)] = link.id
    cookie[ACTION_LINKS] = links
    cookie.regenerate(renew_lifetime=PERSON not in cookie)


def require_action_link(action_point_id: int) -> tuple[ActionPoint, ActionLink]:
    """The action point this browser holds a still-valid owner's link for."""
    link_id = cookie.get(ACTION_LINKS, {}).get(str(action_point_id))
    if link_id is None:
        raise NotFound()
    link = db.session().get(ActionLink, link_id)
    if link is None or link.action_point_id != action_point_id:
        raise NotFound()
    action_followup.check_link(link)
    return link.action_point, link


# Built once: checked on every request of a member's page, also when the page itself comes from the cache.
# The count is of what this participant sees: every comment, or (when the round shows comments to the project
# group only and they are not in it) the threads they started. The newest id and last processing time only key
# the cache, so they are the round's: a page is rendered again a little more often in a project-group round,
# and the query stays on the index. (The role test is spelled out: an IN list is compiled on every call.)
_STAFF = or_(*(Membership.role == role for role in STAFF_ROLES))
_VISIBLE = or_(Round.comment_visibility == "all", _STAFF, own_threads(Participant.person_id))
_ROUND_COMMENTS = select(Comment.id).where(Comment.round_id == Round.id)
_LINK_STATE = (
    select(PersonalLink.id.label("link_id"), PersonalLink.revoked_at, PersonalLink.expires_at,
           Participant.removed_at, Participant.current_verdict_id, Participant.person_id, Round.id.label("round_id"),
           Round.status, Round.deadline, Round.comment_visibility, Membership.role,
           Document.status.label("document_status"),
           substitutes.involving(Participant.membership_id, bindparam("now")).label("substitutions"),
           _ROUND_COMMENTS.where(Comment.parent_id.is_(None), _VISIBLE).with_only_columns(func.count(Comment.id))
           .scalar_subquery().label("comment_count"),
           _ROUND_COMMENTS.with_only_columns(func.max(Comment.id)).scalar_subquery().label("newest_comment_id"),
           _ROUND_COMMENTS.with_only_columns(func.max(Comment.processed_at)).scalar_subquery().label("last_processed"),
           # The network's privacy statement, shown on the page; under the per-organisation rule, the newest
           # verdict and comment of the participant's organisation (its internal view).
           Network.privacy_statement,
           # What followed the round (a member's page of a round that is over points there).
           *(column.label(name) for column, name in zip(
               successors.onward_columns(Round.document_id, Participant.person_id),
               ("newest_round_id", "newest_round_status", "newest_participant_id"), strict=True)),
           *(column.label(name) for column, name in zip(
               decisions.internal_view_columns(Round.id, Membership.organisation_id, Round.decision_rule),
               ("organisation_verdict_id", "organisation_comment_id"), strict=True)))
    .join(Participant, PersonalLink.participant_id == Participant.id)
    .join(Membership, Participant.membership_id == Membership.id)
    .join(Round, Participant.round_id == Round.id)
    .join(Document, Round.document_id == Document.id)
    .join(Network, Document.network_id == Network.id)
    .where(PersonalLink.id == bindparam("link_id"), Participant.id == bindparam("participant_id"))
)


def comment_viewer(state) -> int | None:
    """`workflows.domain.rounds.threads_limited_to` from the link state, without loading the participant."""
    return threads_limited_to(state.comment_visibility, state.person_id, is_staff=state.role in STAFF_ROLES)


def participant_state(participant_id: int):
    """The still-valid link this browser holds for the participant, with what a cached page depends on
    (among it the round's comment count and newest comment id)."""
    link_id = cookie.get(LINKS, {}).get(str(participant_id))
    if link_id is None:
        raise NotFound()
    row = db.session().execute(_LINK_STATE, {"link_id": link_id, "participant_id": participant_id,
                                             "now": utcnow()}).first()
    if row is None:
        raise NotFound()
    check_link_dates(row.revoked_at, row.removed_at, row.expires_at)
    return row


def require_participant(participant_id: int) -> tuple[Participant, PersonalLink]:
    """The participant this browser holds a still-valid personal link for."""
    link_id = cookie.get(LINKS, {}).get(str(participant_id))
    if link_id is None:
        raise NotFound()
    # One query for the link, its participant (with person), round, document and version.
    row = db.session().execute(
        select(PersonalLink, Participant)
        .join(Participant, PersonalLink.participant_id == Participant.id)
        .where(PersonalLink.id == link_id, Participant.id == participant_id)
        .options(contains_eager(PersonalLink.participant),
                 joinedload(Participant.round).joinedload(Round.document),
                 joinedload(Participant.round).joinedload(Round.version))
    ).first()
    if row is None:
        raise NotFound()
    link, participant = row
    check_link(link)
    return participant, link

