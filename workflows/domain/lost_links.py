"""A lost-link request's meetings and action points: one mail with a fresh personal link to each upcoming meeting the
person is invited to and to each open action point they own (their round links go as the rounds' own invitations,
`rounds.resend_links_for`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.database.models import (
    ActionPoint,
    MailMessage,
    Meeting,
    MeetingInvitation,
    Membership,
    Person,
    utcnow,
)
from workflows import audit
from workflows.domain import action_followup, meetings
from workflows.domain.notifications import queue_email
from workflows.domain.people import normalise_email

EMAIL = "meeting_links"


@dataclass
class Due:
    """What the mail links to: the invitations and the action points, each still worth a link."""

    invitations: list[MeetingInvitation]
    actions: list[ActionPoint]

    def __bool__(self) -> bool:
        return bool(self.invitations or self.actions)


def _invitations(now: dt.datetime):
    """Invitations whose link still leads somewhere to act: the meeting planned and not begun, the invitation not
    withdrawn, the person still in the network (what the invitation mail itself checks)."""
    return (select(MeetingInvitation).join(Meeting, MeetingInvitation.meeting_id == Meeting.id)
            .join(Membership, MeetingInvitation.membership_id == Membership.id)
            .where(Meeting.status == "planned", Meeting.starts_at > now, MeetingInvitation.removed_at.is_(None),
                   Membership.left_at.is_(None)).order_by(Meeting.starts_at, MeetingInvitation.id))


def _actions():
    """Action points still open, of a meeting not cancelled, whose owner is still in the network."""
    return (select(ActionPoint).join(Meeting, ActionPoint.meeting_id == Meeting.id)
            .join(Membership, ActionPoint.owner_id == Membership.id)
            .where(ActionPoint.status == "open", Meeting.status == "planned", Membership.left_at.is_(None))
            .order_by(ActionPoint.due_on, ActionPoint.id))


def resend_links_for(session: Session, email: str, *, now: dt.datetime | None = None) -> int:
    """Queue the one mail, if the address is a person's with anything to link to; how many links it will carry.
    Nothing is revoked (anyone can ask in anyone's name). Run by a worker (workflows.domain.address_requests), never
    in the request, so the page answers the same whoever the address belongs to."""
    now = now or utcnow()
    person = session.scalar(select(Person).where(Person.email == normalise_email(email)))
    if person is None or person.erased_at is not None:
        return 0
    invitations = list(session.scalars(_invitations(now).where(MeetingInvitation.person_id == person.id)))
    actions = list(session.scalars(_actions().where(Membership.person_id == person.id)))
    if not invitations and not actions:
        return 0
    sent_before = session.scalar(select(func.count()).select_from(MailMessage).where(
        MailMessage.email == EMAIL, MailMessage.person_id == person.id))
    # A mail about no one network (the person may be in several): it shows them by their own name, as sign-in does.
    queue_email(session, EMAIL, person, key=f"{EMAIL}:{person.id}:{sent_before + 1}",
                invitation_ids=[i.id for i in invitations], action_point_ids=[a.id for a in actions])
    networks = {i.meeting.network_id for i in invitations} | {
        session.get(Meeting, a.meeting_id).network_id for a in actions}
    for network_id in sorted(networks):
        audit.record(session, network_id, "meeting_links_requested", actor_id=person.id,
                     meeting_ids=sorted({i.meeting_id for i in invitations if i.meeting.network_id == network_id}),
                     action_point_ids=[a.id for a in actions
                                       if session.get(Meeting, a.meeting_id).network_id == network_id])
    return len(invitations) + len(actions)


def still_due(session: Session, params: dict, *, now: dt.datetime | None = None) -> Due:
    """Of what the mail was queued with, what still calls for a link at delivery."""
    now = now or utcnow()
    invitation_ids, action_ids = params.get("invitation_ids") or [], params.get("action_point_ids") or []
    return Due(
        invitations=list(session.scalars(_invitations(now).where(MeetingInvitation.id.in_(invitation_ids))))
        if invitation_ids else [],
        actions=list(session.scalars(_actions().where(ActionPoint.id.in_(action_ids)))) if action_ids else [])


def mint(session: Session, message_id: int, params: dict, *, first_attempt: bool) -> dict[str, dict[int, str]]:
    """The mail's tokens, minted when it is claimed: {"meetings": {invitation id: token}, "actions": {action point
    id: token}}. An earlier attempt's links die first, so a mail sent again leaves one live link to each."""
    if not first_attempt:
        meetings.revoke_mail_links(session, message_id)
        action_followup.revoke_mail_links(session, message_id)
    due = still_due(session, params)
    return {
        "meetings": {i.id: meetings.mint_link(session, i.id, outbox_id=message_id, revoke_earlier=False)
                     for i in due.invitations},
        "actions": {a.id: action_followup.mint_link(session, a.id, outbox_id=message_id, revoke_earlier=False)
                    for a in due.actions},
    }
