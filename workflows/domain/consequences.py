"""What an irreversible action would do, for its confirmation step: who is affected, how many, and what follows.
Each function raises the refusal the action itself would give now, so the step never offers what cannot be done."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.database.models import Comment, Document, Membership, Participant, Round, Version
from workflows.domain import deciders, decisions, finalising, reminders, timeline
from workflows.domain.people import active_members
from workflows.errors import Conflict, RoundClosed


@dataclass(frozen=True)
class Closing:
    """Closing a round now: who can no longer respond, and who is told."""

    round: Round
    undecided: list[str]  # voters (per organisation: representatives) who have not given a verdict yet
    participants: int  # each gets the outcome by mail
    staff: int  # coordinators and editors, who get a summary


@dataclass(frozen=True)
class Reminding:
    """A reminder now: to whom, and how many of the round's reminders are left after it."""

    round: Round
    names: list[str]
    sent: int
    limit: int


@dataclass(frozen=True)
class Finalising:
    """Making a version final: who receives it, and the open round it closes."""

    members: int
    open_round: Round | None
    open_round_participants: int


@dataclass(frozen=True)
class Removing:
    """A member leaving: the open rounds they drop out of."""

    membership: Membership
    open_rounds: list[Round]


@dataclass(frozen=True)
class Superseding:
    """An upload closes the open round on an older version: its members are told."""

    round: Round
    participants: int
    comments: int


def _names(session: Session, participants: list[Participant]) -> list[str]:
    """By the names the round's network knows them (`memberships.name`)."""
    ids = [p.membership_id for p in participants]
    if not ids:
        return []
    return sorted(session.scalars(select(Membership.name).where(Membership.id.in_(ids))))


def _participant_count(session: Session, round_id: int) -> int:
    return session.scalar(select(func.count(Participant.id)).where(
        Participant.round_id == round_id, Participant.removed_at.is_(None))) or 0


def open_round_of(session: Session, document_id: int) -> Round | None:
    return session.scalar(select(Round).where(Round.document_id == document_id, Round.status == "open"))


def closing_round(session: Session, round_: Round) -> Closing:
    if not round_.is_open:
        raise RoundClosed()
    staff = sum(1 for m in active_members(session, round_.document.network_id) if m.is_staff)
    return Closing(round=round_, undecided=_names(session, decisions.undecided(session, round_)),
                   participants=_participant_count(session, round_.id), staff=staff)


def reminding_now(session: Session, round_: Round) -> Reminding:
    if not round_.is_open:
        raise RoundClosed()
    sent = reminders.reminders_sent(session, round_.id)
    if sent >= reminders.MAX_REMINDERS:
        raise Conflict("too_many_reminders", limit=reminders.MAX_REMINDERS)
    return Reminding(round=round_, names=_names(session, decisions.undecided(session, round_)), sent=sent,
                     limit=reminders.MAX_REMINDERS)


def finalising_version(session: Session, document: Document, version: Version) -> Finalising:
    finalising.check_finalisable(session, document, version)
    open_ = open_round_of(session, document.id)
    return Finalising(members=len(deciders.members(session, document)), open_round=open_,
                      open_round_participants=_participant_count(session, open_.id) if open_ else 0)


def removing_member(session: Session, membership: Membership) -> Removing:
    if membership.left_at is not None:
        raise Conflict("already_left")
    rounds = session.scalars(select(Round).join(Participant, Participant.round_id == Round.id).where(
        Participant.membership_id == membership.id, Participant.removed_at.is_(None), Round.status == "open")
        .order_by(Round.id)).all()
    return Removing(membership=membership, open_rounds=list(rounds))


def superseding_round(session: Session, document: Document, known: timeline.Facts | None = None) -> Superseding | None:
    """What an upload would close now; None when no round is open (counted already when the page read `known`)."""
    if known is not None:
        open_ = known.open_round
        if open_ is None:
            return None
        figures = known.figures[open_.id]
        return Superseding(round=open_, participants=figures.participants, comments=figures.messages)
    open_ = open_round_of(session, document.id)
    if open_ is None:
        return None
    comments = session.scalar(select(func.count(Comment.id)).where(Comment.round_id == open_.id)) or 0
    return Superseding(round=open_, participants=_participant_count(session, open_.id), comments=comments)
