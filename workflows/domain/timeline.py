"""A document's history at a glance: its versions and rounds in the order they happened, with each round's figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.database.models import (
    VERDICTS,
    Comment,
    Document,
    Finalisation,
    Participant,
    Round,
    Verdict,
    Version,
    VersionAddress,
)
from workflows.domain import decisions


@dataclass
class RoundFigures:
    """Who was asked to decide in a round, what they said, and how far its comments are processed."""

    voters: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {value: 0 for value in VERDICTS})
    comments: int = 0
    processed: int = 0

    @property
    def decided(self) -> int:
        return sum(self.counts.values())


@dataclass
class Entry:
    """One moment: "version" (uploaded), "round_opened", "round_closed" or "final"."""

    kind: str
    at: dt.datetime
    version: Version | None = None
    round: Round | None = None
    figures: RoundFigures | None = None
    addresses: int = 0


def timeline(session: Session, document: Document) -> list[Entry]:
    """Every version, every round's opening and closing, and the finalisation, oldest first (five queries, and two
    more for each round decided per organisation)."""
    versions = session.scalars(select(Version).where(Version.document_id == document.id)).all()
    rounds = session.scalars(select(Round).where(Round.document_id == document.id)).all()
    figures = {r.id: RoundFigures() for r in rounds}
    for round_id, value, number in session.execute(
        select(Participant.round_id, Verdict.value, func.count(Participant.id))
        .join(Round, Participant.round_id == Round.id)
        .outerjoin(Verdict, Participant.current_verdict_id == Verdict.id)
        .where(Round.document_id == document.id, Participant.removed_at.is_(None), Participant.can_vote.is_(True))
        .group_by(Participant.round_id, Verdict.value)
    ):
        figures[round_id].voters += number
        if value:
            figures[round_id].counts[value] += number
    for r in rounds:
        if r.decision_rule == "organisation":  # the organisations (and those without one) decide, not each person
            values = [value for _name, value in decisions.round_parties(session, r)]
            figures[r.id].voters = len(values)
            figures[r.id].counts = {value: values.count(value) for value in VERDICTS}
    for round_id, total, processed in session.execute(
        select(Comment.round_id, func.count(Comment.id), func.count(Comment.processed_at))
        .join(Round, Comment.round_id == Round.id)
        .where(Round.document_id == document.id, Comment.parent_id.is_(None)).group_by(Comment.round_id)
    ):
        figures[round_id].comments, figures[round_id].processed = total, processed
    addresses = dict(session.execute(
        select(VersionAddress.version_id, func.count(VersionAddress.comment_id))
        .join(Version, VersionAddress.version_id == Version.id)
        .where(Version.document_id == document.id).group_by(VersionAddress.version_id)
    ).all())
    entries = [Entry("version", v.created_at, version=v, addresses=addresses.get(v.id, 0)) for v in versions]
    by_id = {v.id: v for v in versions}
    for r in rounds:
        entries.append(Entry("round_opened", r.opened_at, version=by_id.get(r.version_id), round=r, figures=figures[r.id]))
        if r.closed_at is not None:
            entries.append(Entry("round_closed", r.closed_at, version=by_id.get(r.version_id), round=r,
                                 figures=figures[r.id]))
    final = session.scalar(select(Finalisation).where(Finalisation.document_id == document.id))
    if final is not None:
        entries.append(Entry("final", final.finalised_at, version=by_id.get(final.version_id)))
    order = {"version": 0, "round_closed": 1, "round_opened": 2, "final": 3}  # a superseded round closes as the
    return sorted(entries, key=lambda e: (e.at, order[e.kind]))              # new version arrives
