"""Who must agree on a document: every current member of its network, or, for a meeting's minutes put to those who
attended it, the attendees who are still members. The one place that says so; rounds invite these people, and
finalising counts their verdicts."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from storage.database.models import Document, Meeting, MeetingInvitation, Membership
from workflows.domain.people import active_members

NETWORK = "network"
ATTENDEES = "attendees"


def _attended(document_id) -> ColumnElement[bool]:
    """The membership's person attended the meeting whose minutes the document holds (correlated to the outer
    query's Membership; `document_id` a value or a column). By person, not by membership: who came and later
    joined again still came."""
    return exists(select(MeetingInvitation.id).join(Meeting, MeetingInvitation.meeting_id == Meeting.id).where(
        Meeting.minutes_document_id == document_id, MeetingInvitation.person_id == Membership.person_id,
        MeetingInvitation.attended.is_(True)))


def among(document: Document) -> ColumnElement[bool] | None:
    """The condition on Membership (besides being an active member of the network) for this document; None when
    the whole network decides, so the queries of every other document stay as they were."""
    return _attended(document.id) if document.deciders == ATTENDEES else None


def among_documents() -> ColumnElement[bool]:
    """`among` for a query over many documents (joined as Document, their members as Membership)."""
    return or_(Document.deciders != ATTENDEES, _attended(Document.id))


def members(session: Session, document: Document) -> list[Membership]:
    """The current members whose place it is to take part in the document's rounds (observers too: they comment),
    in the order they joined."""
    condition = among(document)
    if condition is None:
        return active_members(session, document.network_id)
    return list(session.scalars(
        select(Membership).where(Membership.network_id == document.network_id, Membership.left_at.is_(None),
                                 condition).order_by(Membership.id)))


def voters(session: Session, document: Document) -> list[Membership]:
    """Those of `members` with a vote: all of them must say akkoord to one version for it to become final."""
    return [m for m in members(session, document) if m.can_vote]


def takes_part(session: Session, document: Document, membership: Membership) -> bool:
    """Whether a member belongs in the document's rounds (one who joins during an open round is added to it)."""
    condition = among(document)
    if condition is None:
        return True
    return session.scalar(select(Membership.id).where(Membership.id == membership.id, condition)) is not None
