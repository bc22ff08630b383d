"""Processing the comments (verwerking): the project group accounts for every comment with a disposition and an answer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import DISPOSITIONS, Comment, Document, Person, Round, utcnow
from workflows import audit
from workflows.errors import AlreadyFinal, InvalidInput

MAX_ANSWER_LENGTH = 10_000


@dataclass
class Progress:
    processed: int
    total: int

    @property
    def done(self) -> bool:
        return self.processed == self.total


def process_comment(session: Session, comment: Comment, *, disposition: str, answer: str, actor: Person) -> Comment:
    """Give a comment its disposition (overgenomen / deels / niet overgenomen / voor kennisgeving) and an answer;
    it may be changed later, each change leaves an audit event. A final document's comments are settled."""
    round_ = session.get(Round, comment.round_id)
    document = session.get(Document, round_.document_id)
    if document.status == "final":
        raise AlreadyFinal()
    if disposition not in DISPOSITIONS:
        raise InvalidInput("unknown_disposition")
    answer = answer.strip()
    if len(answer) > MAX_ANSWER_LENGTH:
        raise InvalidInput("too_long", limit=MAX_ANSWER_LENGTH)
    if disposition in ("deels_overgenomen", "niet_overgenomen") and not answer:
        raise InvalidInput("answer_required")  # the member is owed the reason their comment was not taken over
    comment.disposition, comment.answer = disposition, answer
    comment.processed_by_id, comment.processed_at = actor.id, utcnow()
    session.flush()
    audit.record(session, document.network_id, "comment_processed", actor_id=actor.id, document_id=document.id,
                 round_id=round_.id, comment_id=comment.id, disposition=disposition)
    return comment


def progress(session: Session, round_id: int) -> Progress:
    total, processed = session.execute(
        select(func.count(Comment.id), func.count(Comment.processed_at)).where(Comment.round_id == round_id)
    ).one()
    return Progress(processed=processed, total=total)
