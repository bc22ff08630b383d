"""The commentaartabel as a member sees it: of a round that is over and processed, for the people who took part in
it, within the round's visibility (where only the project group sees every comment, a member sees their own rows)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.database.models import Comment, Participant, Round
from storage.formats.commentaartabel import CommentRow
from workflows.domain import commentaartabel, comments, rounds
from workflows.errors import NotFound


@dataclass(frozen=True)
class MemberTable:
    round: Round
    rows: list[CommentRow]
    own_only: bool  # a round whose comments only the project group sees: the member's own rows


def is_processed(session: Session, round_: Round) -> bool:
    """Over, and every comment processed; or settled by a newer version (then nothing changes any more, and what
    stayed unprocessed shows as such)."""
    if round_.is_open:
        return False
    progress = comments.progress(session, round_.id)
    return progress.processed == progress.total or comments.newer_version(session, round_) is not None


def _taking_part(session: Session, round_id: int, person_id: int) -> Participant | None:
    return session.scalar(select(Participant).where(Participant.round_id == round_id,
                                                    Participant.person_id == person_id).limit(1))


def table_for(session: Session, round_id: int, person_id: int, document_id: int, locale: str = "nl") -> MemberTable:
    """The table of one round of `document_id` for a person who took part in it; NotFound when the round is of
    another document, still open or not yet processed, or the person was not in it."""
    round_ = session.get(Round, round_id)
    if round_ is None or round_.document_id != document_id:
        raise NotFound()
    participant = _taking_part(session, round_.id, person_id)
    if participant is None or not is_processed(session, round_):
        raise NotFound()
    limited = rounds.threads_limited_to(round_.comment_visibility, person_id, is_staff=participant.membership.is_staff)
    rows = commentaartabel.rows_for_round(session, round_.id, locale, only_person=limited)
    return MemberTable(round=round_, rows=rows, own_only=limited is not None)


def tables_to_show(session: Session, document_id: int, person_id: int) -> list[Round]:
    """The rounds of a document whose table this person may read and that have something in it for them: over,
    processed, they took part, and (where only the project group sees every comment) they commented. Oldest first."""
    found = session.scalars(
        select(Round).where(Round.document_id == document_id, Round.status != "open",
                            Round.id.in_(select(Participant.round_id).where(Participant.person_id == person_id)))
        .order_by(Round.number)
    ).all()
    shown = []
    for round_ in found:
        visible = select(func.count(Comment.id)).where(Comment.round_id == round_.id, Comment.parent_id.is_(None))
        if round_.comment_visibility == "group":
            visible = visible.where(Comment.person_id == person_id)
        if session.scalar(visible) and is_processed(session, round_):
            shown.append(round_)
    return shown
