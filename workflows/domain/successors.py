"""Where a member goes from a round that is over: the newer round of the document, or its final version."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from storage.database.models import Finalisation, Participant, Round, Version


@dataclass(frozen=True)
class Onward:
    """What followed a round, for its member's page. `newer_round`: the document's newest round when it is not this
    one; `newer_participant_id`: this person's place in it (None: they were not invited, or were taken off);
    `final_version`: the number of the version that was made final, if the document is final."""

    newer_round: Round | None = None
    newer_participant_id: int | None = None
    final_version: int | None = None


def onward(session: Session, round_: Round, person_id: int) -> Onward:
    newest = session.scalar(select(Round).where(Round.document_id == round_.document_id)
                            .order_by(Round.number.desc()).limit(1))
    newer = newest if newest is not None and newest.id != round_.id else None
    place = session.scalar(select(Participant.id).where(
        Participant.round_id == newer.id, Participant.person_id == person_id,
        Participant.removed_at.is_(None))) if newer else None
    final = session.scalar(select(Version.number).join(Finalisation, Finalisation.version_id == Version.id)
                           .where(Finalisation.document_id == round_.document_id))
    return Onward(newer_round=newer, newer_participant_id=place, final_version=final)


def onward_columns(document_id, person_id) -> tuple:
    """What `onward` depends on, as scalar subqueries for a cached page's one state query (the arguments are the
    outer query's columns): the id and status of the document's newest round, and the person's place in it.
    (Whether the document is final, the page's key has already.)"""
    newest = aliased(Round)
    newest_round = (select(newest.id).where(newest.document_id == document_id)
                    .order_by(newest.number.desc()).limit(1).correlate_except(newest))
    place = aliased(Participant)
    newest_place = (select(place.id).where(place.round_id == newest_round.scalar_subquery(),
                                           place.person_id == person_id, place.removed_at.is_(None))
                    .correlate_except(place))
    status = select(newest.status).where(newest.document_id == document_id).order_by(newest.number.desc()).limit(1)
    return (newest_round.scalar_subquery(), status.correlate_except(newest).scalar_subquery(),
            newest_place.scalar_subquery())
