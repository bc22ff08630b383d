"""Who is asking: signed-in staff (session person) and members holding a personal link (session participants)."""

from __future__ import annotations

from flask import session as cookie
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from service.web import db
from storage.database.models import STAFF_ROLES, Comment, Membership, Participant, Person, PersonalLink, Round
from workflows.domain.comments import own_threads
from workflows.domain.membership import active_membership
from workflows.domain.rounds import check_link, check_link_dates, threads_limited_to
from workflows.errors import NotAllowed, NotFound

PERSON = "person_id"
LINKS = "links"  # participant id (str) -> personal link id used


def safe_next(target: str | None, default: str) -> str:
    """A redirect target from a form, kept on this site (a path, never //other.host)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return default


def sign_in(person: Person) -> None:
    cookie.clear()
    cookie[PERSON] = person.id
    cookie.permanent = True


def sign_out() -> None:
    cookie.pop(PERSON, None)


def current_person() -> Person | None:
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
    cookie.permanent = True


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
           _ROUND_COMMENTS.where(Comment.parent_id.is_(None), _VISIBLE).with_only_columns(func.count(Comment.id))
           .scalar_subquery().label("comment_count"),
           _ROUND_COMMENTS.with_only_columns(func.max(Comment.id)).scalar_subquery().label("newest_comment_id"),
           _ROUND_COMMENTS.with_only_columns(func.max(Comment.processed_at)).scalar_subquery().label("last_processed"))
    .join(Participant, PersonalLink.participant_id == Participant.id)
    .join(Membership, Participant.membership_id == Membership.id)
    .join(Round, Participant.round_id == Round.id)
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
    row = db.session().execute(_LINK_STATE, {"link_id": link_id, "participant_id": participant_id}).first()
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

