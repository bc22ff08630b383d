"""Proposals (voorgestelde wijzigingen): comments that propose wording for a span of a passage; which of them
are on the same words; and the draft next version, in which the wording the project group took is a Word
tracked change by the member who proposed it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.database.models import Comment, Document, Person, Round, Version
from storage.formats.docx_draft import TextChange, write_draft_docx
from workflows.domain.exports import image_bytes, safe_filename
from workflows.domain.people import names_in_network


def span(comment: Comment) -> tuple[int, int]:
    """The [start, end) of its passage's text a proposal replaces (start == end: it inserts there)."""
    return comment.start_offset, comment.span_end


def same_words(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether two spans of one passage collide: they share characters, or one inserts inside the other, or
    both insert at one place (which of them comes first would be a choice)."""
    (a1, a2), (b1, b2) = a, b
    if a1 == a2 and b1 == b2:
        return a1 == b1
    if a1 == a2:
        return b1 < a1 < b2
    if b1 == b2:
        return a1 < b1 < a2
    return max(a1, b1) < min(a2, b2)


def of_round(session: Session, round_id: int) -> list[Comment]:
    """The round's proposals in the order of the text."""
    return list(session.scalars(
        select(Comment).where(Comment.round_id == round_id, Comment.parent_id.is_(None),
                              Comment.proposed_text.is_not(None))
        .order_by(Comment.block_id, Comment.start_offset, Comment.id)))


def collisions(session: Session, round_id: int) -> dict[int, list[int]]:
    """Proposal id -> the ids of the round's other proposals on the same words (only those that have any)."""
    return _colliding((p.id, p.block_id, span(p)) for p in of_round(session, round_id))


def _colliding(spans) -> dict[int, list[int]]:
    """(id, block id, span) in the order of the text -> id: the ids on the same words of the same passage."""
    found: dict[int, list[int]] = {}
    by_passage: dict[str, list[tuple[int, tuple[int, int]]]] = {}
    for proposal_id, block_id, where in spans:
        by_passage.setdefault(block_id, []).append((proposal_id, where))
    for proposals in by_passage.values():
        for index, (one, one_span) in enumerate(proposals):
            for other, other_span in proposals[index + 1:]:
                if same_words(one_span, other_span):
                    found.setdefault(one, []).append(other)
                    found.setdefault(other, []).append(one)
    return found


@dataclass
class Overview:
    """What the processing page says of a round's proposals: the others on the same words, each one's number in
    the commentaartabel and place in the processing list (a link to it on another page), whose wording is taken."""

    collisions: dict[int, list[int]]
    numbers: dict[int, int]
    positions: dict[int, int]
    taken: set[int]


def overview(session: Session, round_id: int) -> Overview:
    """The round's proposals on the same words, in one statement whatever the size of the round."""
    top = select(Comment.id, Comment.block_id, Comment.start_offset, Comment.quote, Comment.proposed_text,
                 Comment.taken_text,
                 # The commentaartabel's numbers (comments.TABLE_ORDER) and the processing list's order (by id).
                 func.row_number().over(order_by=(Comment.created_at, Comment.id)).label("number"),
                 func.row_number().over(order_by=Comment.id).label("position")) \
        .where(Comment.round_id == round_id, Comment.parent_id.is_(None)).subquery()
    rows = session.execute(
        select(top.c.id, top.c.block_id, top.c.start_offset, top.c.quote, top.c.number, top.c.position,
               top.c.taken_text.is_not(None))
        .where(top.c.proposed_text.is_not(None)).order_by(top.c.block_id, top.c.start_offset, top.c.id)).all()
    return Overview(
        collisions=_colliding((row.id, row.block_id, (row.start_offset, row.start_offset + len(row.quote)))
                              for row in rows),
        numbers={row.id: row.number for row in rows}, positions={row.id: row.position for row in rows},
        taken={row.id for row in rows if row[-1]})


def taken_collision(session: Session, comment: Comment) -> int | None:
    """The id of another proposal of the round on the same words whose wording is already taken, if any."""
    for other in session.scalars(
            select(Comment).where(Comment.round_id == comment.round_id, Comment.block_id == comment.block_id,
                                  Comment.id != comment.id, Comment.taken_text.is_not(None))
            .order_by(Comment.id)):
        if same_words(span(comment), span(other)):
            return other.id
    return None


def draft_changes(session: Session, round_: Round) -> list[TextChange]:
    """The wording taken from the round's proposals, as tracked changes of the round's version: each by the
    member who proposed it (their name in the network) at the time they did, with the project group's answer
    as a Word comment where they gave one."""
    document = session.get(Document, round_.document_id)
    taken = [proposal for proposal in of_round(session, round_.id) if proposal.taken_text is not None]
    names = names_in_network(session, document.network_id,
                             {p.person_id for p in taken} | {p.processed_by_id for p in taken if p.processed_by_id})
    return [TextChange(block_id=p.block_id, start=p.start_offset, end=p.span_end, text=p.taken_text,
                       author=names.get(p.person_id) or p.person.name, date=p.created_at, comment=p.answer,
                       comment_author=names.get(p.processed_by_id) or _name(session, p.processed_by_id))
            for p in taken]


def draft_docx(session: Session, round_: Round) -> tuple[str, bytes]:
    """The draft next version as a .docx: the round's version with the taken wording as tracked changes.
    Accept all in Word gives the version with every taken proposal; Reject all the version as it is."""
    document = session.get(Document, round_.document_id)
    version = session.get(Version, round_.version_id)
    data = write_draft_docx(version.blocks, draft_changes(session, round_), title=document.title,
                            images=image_bytes(session, version.blocks))
    return safe_filename(f"{document.title} v{version.number + 1} concept", ".docx"), data


def _name(session: Session, person_id: int | None) -> str:
    person = session.get(Person, person_id) if person_id else None
    return person.name if person is not None else ""
