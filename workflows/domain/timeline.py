"""A document's history at a glance: its versions and rounds in the order they happened, with each round's figures,
and the network meetings whose agenda refers to it between them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.database.models import (
    VERDICTS,
    AgendaItem,
    Comment,
    Document,
    Finalisation,
    Meeting,
    Participant,
    Round,
    Verdict,
    Version,
    VersionAddress,
    utcnow,
)
from workflows.domain import decisions


@dataclass
class RoundFigures:
    """Who was asked to decide in a round, what they said, and how far its comments are processed."""

    voters: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {value: 0 for value in VERDICTS})
    comments: int = 0
    processed: int = 0
    participants: int = 0  # everyone in it, with a vote or not
    messages: int = 0  # its comments with their replies
    taken: int = 0  # its proposals whose wording is taken (into the draft next version)

    @property
    def decided(self) -> int:
        return sum(self.counts.values())


@dataclass
class Discussion:
    """A meeting (not cancelled) whose agenda refers to the document, with the titles of those items."""

    meeting: Meeting
    items: list[str] = field(default_factory=list)

    @property
    def upcoming(self) -> bool:
        return self.meeting.ends_at > utcnow()


@dataclass
class Entry:
    """One moment: "version" (uploaded), "round_opened", "round_closed", "meeting" (its start) or "final"."""

    kind: str
    at: dt.datetime
    version: Version | None = None
    round: Round | None = None
    figures: RoundFigures | None = None
    addresses: int = 0
    discussion: Discussion | None = None


@dataclass
class Facts:
    """What the staff pages of a document read once: its versions and rounds (newest first), each round's figures,
    and how many comments each version says it addresses."""

    versions: list[Version]
    rounds: list[Round]
    figures: dict[int, RoundFigures]
    addresses: dict[int, int]
    meetings: list[Discussion] = field(default_factory=list)

    @property
    def latest(self) -> Version | None:
        return self.versions[0] if self.versions else None

    @property
    def last_round(self) -> Round | None:
        return self.rounds[0] if self.rounds else None

    @property
    def open_round(self) -> Round | None:
        return next((r for r in self.rounds if r.is_open), None)

    def rule_for(self, document: Document, version: Version) -> str:
        """`decisions.rule_for_version`, from the rounds read: that of the version's newest round, else the
        document's."""
        return next((r.decision_rule for r in self.rounds if r.version_id == version.id), None) or \
            decisions.rule_of(document)


def facts(session: Session, document: Document) -> Facts:
    """Five statements whatever the size of the network (and two more for each round decided per organisation)."""
    # With how many comments each version says it addresses, in the same statement (the page's budget is tight).
    addressed = select(func.count(VersionAddress.comment_id)).where(VersionAddress.version_id == Version.id) \
        .correlate(Version).scalar_subquery()
    rows = session.execute(select(Version, addressed).where(Version.document_id == document.id)
                           .order_by(Version.number.desc())).all()
    versions = [version for version, _count in rows]
    addresses = {version.id: count for version, count in rows if count}
    rounds = list(session.scalars(select(Round).where(Round.document_id == document.id).order_by(Round.number.desc())))
    figures = {r.id: RoundFigures() for r in rounds}
    voting = Participant.can_vote.is_(True)
    for round_id, value, voters, participants in session.execute(
        select(Participant.round_id, Verdict.value, func.count(case((voting, 1))), func.count(Participant.id))
        .join(Round, Participant.round_id == Round.id)
        .outerjoin(Verdict, Participant.current_verdict_id == Verdict.id)
        .where(Round.document_id == document.id, Participant.removed_at.is_(None))
        .group_by(Participant.round_id, Verdict.value)
    ):
        figures[round_id].voters += voters
        figures[round_id].participants += participants
        if value:
            figures[round_id].counts[value] += voters
    for r in rounds:
        if r.decision_rule == "organisation":  # the organisations (and those without one) decide, not each person
            values = [value for _name, value in decisions.round_parties(session, r)]
            figures[r.id].voters = len(values)
            figures[r.id].counts = {value: values.count(value) for value in VERDICTS}
    top = Comment.parent_id.is_(None)
    for round_id, total, processed, messages, taken in session.execute(
        select(Comment.round_id, func.count(case((top, 1))), func.count(case((top, Comment.processed_at))),
               func.count(Comment.id), func.count(Comment.taken_text))
        .join(Round, Comment.round_id == Round.id)
        .where(Round.document_id == document.id).group_by(Comment.round_id)
    ):
        figures[round_id].comments, figures[round_id].processed, figures[round_id].messages = total, processed, messages
        figures[round_id].taken = taken
    discussed: dict[int, Discussion] = {}
    for meeting, title in session.execute(
            select(Meeting, AgendaItem.title).join(AgendaItem, AgendaItem.meeting_id == Meeting.id)
            .where(AgendaItem.document_id == document.id, Meeting.status != "cancelled")
            .order_by(Meeting.starts_at, Meeting.id, AgendaItem.position, AgendaItem.id)):
        discussed.setdefault(meeting.id, Discussion(meeting)).items.append(title)
    return Facts(versions, rounds, figures, addresses, list(discussed.values()))


def timeline(session: Session, document: Document, known: Facts | None = None,
             finalisation: Finalisation | None = None) -> list[Entry]:
    """Every version, every round's opening and closing, the meetings about it, and the finalisation, oldest first
    (from `facts`, and the finalisation of a final document unless given)."""
    known = known or facts(session, document)
    entries = [Entry("version", v.created_at, version=v, addresses=known.addresses.get(v.id, 0))
               for v in known.versions]
    by_id = {v.id: v for v in known.versions}
    for r in known.rounds:
        figures = known.figures[r.id]
        entries.append(Entry("round_opened", r.opened_at, version=by_id.get(r.version_id), round=r, figures=figures))
        if r.closed_at is not None:
            entries.append(Entry("round_closed", r.closed_at, version=by_id.get(r.version_id), round=r,
                                 figures=figures))
    entries.extend(Entry("meeting", d.meeting.starts_at, discussion=d) for d in known.meetings)
    if finalisation is None and document.final_version_id is not None:
        finalisation = session.scalar(select(Finalisation).where(Finalisation.document_id == document.id))
    if finalisation is not None:
        entries.append(Entry("final", finalisation.finalised_at, version=by_id.get(finalisation.version_id)))
    order = {"version": 0, "round_closed": 1, "round_opened": 2, "meeting": 3, "final": 4}  # a superseded round closes as the
    return sorted(entries, key=lambda e: (e.at, order[e.kind]))              # new version arrives
