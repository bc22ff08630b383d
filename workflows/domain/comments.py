"""Processing the comments (verwerking): the project group accounts for every comment with a disposition and an answer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from storage.database.engine import lock
from storage.database.models import (
    DISPOSITIONS,
    Comment,
    Document,
    Participant,
    Person,
    Round,
    Version,
    VersionAddress,
    utcnow,
)
from workflows import audit
from workflows.domain import inputs, proposals
from workflows.domain.people import name_in_network
from workflows.errors import AlreadyFinal, Conflict, InvalidInput
from workflows.text.anchoring import Placement, anchor_of, reanchor

MAX_ANSWER_LENGTH = 10_000
MAX_TAKEN_LENGTH = 5_000  # as long as a proposal may be (rounds.MAX_SELECTION_LENGTH)
# The member is owed the reason their comment was not (wholly) taken over.
ANSWER_REQUIRED = ("deels_overgenomen", "niet_overgenomen")


@dataclass
class Progress:
    processed: int
    total: int
    # The proposals, and those whose wording is taken (what the draft next version carries).
    proposals: int = 0
    taken: int = 0

    @property
    def done(self) -> bool:
        return self.processed == self.total


def own_threads(person_id) -> ColumnElement[bool]:
    """The comments of the threads a person started: their own comments and every reply to them. In a round
    whose comments only the project group sees, that is what a member sees (`workflows.domain.rounds.can_see_thread`).
    `person_id` is a value or a column (correlated in a larger query)."""
    root = aliased(Comment)
    return or_(and_(Comment.parent_id.is_(None), Comment.person_id == person_id),
               Comment.parent_id.in_(select(root.id).where(root.person_id == person_id, root.parent_id.is_(None))
                                     .correlate_except(root)))


def process_comment(session: Session, comment: Comment, *, disposition: str, answer: str, actor: Person,
                    taken_text: str | None = None) -> Comment:
    """Give a comment its disposition (overgenomen / deels / niet overgenomen / voor kennisgeving) and an answer;
    it may be changed until the next version is uploaded, each change leaves an audit event. A final document's
    comments are settled.

    A proposal's wording goes into the draft next version when it is taken: as it is when overgenomen, as the
    project group edited it (`taken_text`) when deels overgenomen (without one, none of its wording). Of the
    proposals on the same words at most one is taken (`proposals.collides`): the others are chosen against, or
    their wording is written into the one taken."""
    actor_id = actor.id  # read before anything changes: a stale actor reloads, and would flush half a processing
    round_ = lock(session, Round, comment.round_id)  # one decision at a time on a round's overlapping proposals
    document = session.get(Document, round_.document_id)
    if document.status == "final":
        raise AlreadyFinal()
    if comment.parent_id is not None:
        raise InvalidInput("reply_not_processed")  # a reply is part of its comment's thread
    if disposition not in DISPOSITIONS:
        raise InvalidInput("unknown_disposition")
    answer = inputs.text(answer, "answer")
    if len(answer) > MAX_ANSWER_LENGTH:
        raise InvalidInput("too_long", limit=MAX_ANSWER_LENGTH)
    if disposition in ANSWER_REQUIRED and not answer:
        raise InvalidInput("answer_required")
    if comment.processed_at is not None and newer_version(session, round_) is not None:
        raise Conflict("processing_settled")  # the next version was made from it: what it says stays as it was
    taken = _taken_wording(session, comment, disposition, taken_text)
    comment.disposition, comment.answer, comment.taken_text = disposition, answer, taken
    comment.processed_by_id, comment.processed_at = actor_id, utcnow()
    session.flush()
    audit.record(session, document.network_id, "comment_processed", actor_id=actor_id, document_id=document.id,
                 round_id=round_.id, comment_id=comment.id, disposition=disposition, wording_taken=taken is not None)
    return comment


def _taken_wording(session: Session, comment: Comment, disposition: str, taken_text: str | None) -> str | None:
    if comment.proposed_text is None:
        if taken_text is not None:
            raise InvalidInput("not_a_proposal")
        return None
    if disposition == "overgenomen":
        taken = comment.proposed_text
    elif disposition == "deels_overgenomen" and taken_text is not None:
        taken = taken_text.replace("\r\n", "\n").replace("\r", "\n")
        if inputs.refused_in_text(taken):
            raise InvalidInput("text_control_characters", field="taken_text")
        if len(taken) > MAX_TAKEN_LENGTH:
            raise InvalidInput("too_long", limit=MAX_TAKEN_LENGTH)
        if taken == comment.quote:
            raise InvalidInput("proposal_unchanged")
    else:
        return None
    other = proposals.taken_collision(session, comment)
    if other is not None:
        raise Conflict("proposal_collision", number=numbered(session, comment.round_id).index(other) + 1)
    return taken


def newer_version(session: Session, round_: Round) -> int | None:
    """The number of the newest version of the round's document after the round's own, if one was uploaded."""
    return session.scalar(
        select(func.max(Version.number)).where(
            Version.document_id == round_.document_id,
            Version.number > select(Version.number).where(Version.id == round_.version_id).scalar_subquery()))


@dataclass
class Followed:
    """A comment made on an earlier version, and where its passage is in the version now under review."""

    comment: Comment
    version_number: int
    placement: Placement


def followed_comments(session: Session, person_id: int, version: Version) -> list[Followed]:
    """This person's comments on earlier versions of the document, placed onto `version`
    (exact, moved, edited, or passage removed: never attached to the wrong text)."""
    earlier = session.execute(
        select(Comment, Version.number)
        .join(Version, Comment.version_id == Version.id)
        .where(Comment.person_id == person_id, Comment.parent_id.is_(None),
               Version.document_id == version.document_id, Version.number < version.number)
        .order_by(Version.number, Comment.id)
    ).all()
    by_version: dict[int, list[Comment]] = {}
    for comment, _number in earlier:
        by_version.setdefault(comment.version_id, []).append(comment)
    placed: dict[int, Placement] = {}
    for version_id, group in by_version.items():
        old = session.get(Version, version_id)
        for comment, placement in zip(group, reanchor(old.blocks, version.blocks, [anchor_of(c) for c in group])):
            placed[comment.id] = placement
    return [Followed(comment, number, placed[comment.id]) for comment, number in earlier]


def last_reviewed_version(session: Session, person_id: int, version: Version) -> Version | None:
    """The newest earlier version of the document this person took part in a round on: what they last read."""
    return last_reviewed_versions(session, {person_id}, version).get(person_id)


def last_reviewed_versions(session: Session, person_ids: set[int], version: Version) -> dict[int, Version]:
    """`last_reviewed_version` for many people at once (an invitation batch)."""
    newest = dict(session.execute(
        select(Participant.person_id, func.max(Version.number)).join(Round, Participant.round_id == Round.id)
        .join(Version, Round.version_id == Version.id)
        .where(Participant.person_id.in_(person_ids), Version.document_id == version.document_id,
               Version.number < version.number)
        .group_by(Participant.person_id)
    ).all())
    if not newest:
        return {}
    by_number = {v.number: v for v in session.scalars(select(Version).where(
        Version.document_id == version.document_id, Version.number.in_(set(newest.values()))))}
    return {person_id: by_number[number] for person_id, number in newest.items()}


def processed_for(session: Session, person_id: int, version: Version) -> list[Comment]:
    """This person's comments on earlier versions that the project group has processed."""
    return processed_for_people(session, {person_id}, version).get(person_id, [])


def processed_for_people(session: Session, person_ids: set[int], version: Version) -> dict[int, list[Comment]]:
    """`processed_for` for many people at once (an invitation batch)."""
    found: dict[int, list[Comment]] = {}
    for comment in session.scalars(
        select(Comment).join(Version, Comment.version_id == Version.id)
        .where(Comment.person_id.in_(person_ids), Comment.parent_id.is_(None),
               Version.document_id == version.document_id, Version.number < version.number,
               Comment.processed_at.is_not(None))
        .order_by(Comment.id)
    ):
        found.setdefault(comment.person_id, []).append(comment)
    return found


def earlier_count(session: Session, person_id: int, version: Version) -> int:
    return session.scalar(
        select(func.count(Comment.id)).join(Version, Comment.version_id == Version.id)
        .where(Comment.person_id == person_id, Comment.parent_id.is_(None),
               Version.document_id == version.document_id, Version.number < version.number)
    )


def progress(session: Session, round_id: int) -> Progress:
    total, processed, proposed, taken = session.execute(
        select(func.count(Comment.id), func.count(Comment.processed_at), func.count(Comment.proposed_text),
               func.count(Comment.taken_text))
        .where(Comment.round_id == round_id, Comment.parent_id.is_(None))
    ).one()
    return Progress(processed=processed, total=total, proposals=proposed, taken=taken)


# The order of a round's comments in its commentaartabel: comment number n is the n-th.
TABLE_ORDER = (Comment.created_at, Comment.id)
TAKEN_OVER = ("overgenomen", "deels_overgenomen")
MAX_NUMBERS = 5_000


def numbered(session: Session, round_id: int) -> list[int]:
    """The ids of a round's comments (not replies) in commentaartabel order: number n is element n - 1."""
    return list(session.scalars(select(Comment.id).where(Comment.round_id == round_id, Comment.parent_id.is_(None))
                                .order_by(*TABLE_ORDER)))


def parse_numbers(text: str) -> list[int]:
    """Comment numbers as a person writes them: "3, 7, 12-15" (also ";" or spaces between)."""
    numbers: list[int] = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        if not part:
            continue
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise InvalidInput("bad_comment_numbers", text=part)
        first, last = int(low), int(high) if dash else int(low)
        if first < 1 or last < first or len(numbers) + last - first >= MAX_NUMBERS:
            raise InvalidInput("bad_comment_numbers", text=part)
        numbers.extend(range(first, last + 1))
    return list(dict.fromkeys(numbers))


def last_round(session: Session, document_id: int) -> Round | None:
    """The document's newest round: the one whose comments a new version answers."""
    return session.scalar(select(Round).where(Round.document_id == document_id).order_by(Round.number.desc()).limit(1))


def chosen_comments(session: Session, round_: Round, *, numbers: str = "", taken_over: bool = False) -> list[int]:
    """The comments of `round_` a new version says it addresses: by their numbers in the commentaartabel,
    and/or every comment the project group took over (wholly or partly)."""
    ids = numbered(session, round_.id)
    chosen: list[int] = []
    wanted = parse_numbers(numbers)
    unknown = [n for n in wanted if n > len(ids)]
    if unknown:
        raise InvalidInput("unknown_comment_numbers", numbers=", ".join(map(str, unknown[:10])), count=len(ids))
    chosen.extend(ids[n - 1] for n in wanted)
    if taken_over:
        chosen.extend(session.scalars(select(Comment.id).where(
            Comment.round_id == round_.id, Comment.parent_id.is_(None), Comment.disposition.in_(TAKEN_OVER))
            .order_by(*TABLE_ORDER)))
    return list(dict.fromkeys(chosen))


def record_addressed(session: Session, version: Version, comment_ids: list[int]) -> int:
    """Note that `version` addresses these comments, each of an earlier version of its document."""
    if not comment_ids:
        return 0
    found = set(session.scalars(
        select(Comment.id).join(Version, Comment.version_id == Version.id)
        .where(Comment.id.in_(comment_ids), Comment.parent_id.is_(None),
               Version.document_id == version.document_id, Version.number < version.number)))
    if found != set(comment_ids):
        raise InvalidInput("unknown_comment")
    session.add_all(VersionAddress(version_id=version.id, comment_id=comment_id) for comment_id in comment_ids)
    session.flush()
    return len(comment_ids)


def addressed_in(session: Session, comment_ids: list[int]) -> dict[int, list[int]]:
    """For each comment, the numbers of the versions that say they address it."""
    found: dict[int, list[int]] = {}
    for start in range(0, len(comment_ids), 500):
        for comment_id, number in session.execute(
            select(VersionAddress.comment_id, Version.number).join(Version, VersionAddress.version_id == Version.id)
            .where(VersionAddress.comment_id.in_(comment_ids[start:start + 500])).order_by(Version.number)
        ):
            found.setdefault(comment_id, []).append(number)
    return found


@dataclass
class Addressed:
    """A comment a version addresses, with its number in its round's commentaartabel."""

    comment: Comment
    round_number: int
    number: int
    name: str


def addressed_by(session: Session, version_id: int) -> list[Addressed]:
    """The comments `version` addresses, each with its author's name as the document's network knows them."""
    rows = session.execute(
        select(Comment, Round.number, func.coalesce(name_in_network(Document.network_id, Comment.person_id), ""))
        .join(VersionAddress, VersionAddress.comment_id == Comment.id)
        .join(Round, Comment.round_id == Round.id).join(Document, Round.document_id == Document.id)
        .where(VersionAddress.version_id == version_id).order_by(Round.number, *TABLE_ORDER)
    ).all()
    positions: dict[int, dict[int, int]] = {}
    out = []
    for comment, round_number, name in rows:
        if comment.round_id not in positions:
            positions[comment.round_id] = {cid: n for n, cid in enumerate(numbered(session, comment.round_id), 1)}
        out.append(Addressed(comment, round_number, positions[comment.round_id][comment.id], name))
    return out
