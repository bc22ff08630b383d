"""Finalising: a document becomes final only when every current voter said akkoord to that exact version."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import lock
from storage.models import (
    APPROVING_VERDICTS,
    Document,
    Finalisation,
    Membership,
    Participant,
    Person,
    Round,
    Verdict,
    Version,
    utcnow,
)
from workflows import audit
from workflows.errors import AlreadyFinal, InvalidInput, NotUnanimous, StaleVersion
from workflows.membership import active_members
from workflows.notifications import queue_email
from workflows.rounds import close_round


@dataclass
class Standing:
    """Where one voting member stands on a version: their latest verdict there, or why there is none."""

    membership: Membership
    state: str  # akkoord | akkoord_met_opmerkingen | niet_akkoord | no_verdict | not_invited
    verdict: Verdict | None

    @property
    def approves(self) -> bool:
        return self.state in APPROVING_VERDICTS


def standings(session: Session, document: Document, version: Version) -> list[Standing]:
    voters = [m for m in active_members(session, document.network_id) if m.can_vote]
    rows = session.execute(
        select(Participant, Verdict)
        .join(Round, Participant.round_id == Round.id)
        .outerjoin(Verdict, Participant.current_verdict_id == Verdict.id)
        .where(Round.version_id == version.id, Participant.removed_at.is_(None))
        .order_by(Round.number)
    ).all()
    # Later rounds on the same version override earlier ones for the same person.
    latest: dict[int, tuple[Participant, Verdict | None]] = {}
    for participant, verdict in rows:
        if verdict is not None or participant.person_id not in latest:
            latest[participant.person_id] = (participant, verdict)
    result = []
    for membership in voters:
        participant, verdict = latest.get(membership.person_id, (None, None))
        if participant is None:
            state = "not_invited"
        elif verdict is None:
            state = "no_verdict"
        else:
            state = verdict.value
        result.append(Standing(membership=membership, state=state, verdict=verdict))
    return result


def finalise_document(session: Session, document: Document, version: Version, *, actor: Person) -> Finalisation:
    """Make the document final on `version`; checked under a lock inside this transaction (invariant 2)."""
    document = lock(session, Document, document.id)
    if document.status == "final":
        raise AlreadyFinal()
    if version.document_id != document.id:
        raise InvalidInput("wrong_document")
    newest = session.scalar(
        select(Version.id).where(Version.document_id == document.id).order_by(Version.number.desc()).limit(1)
    )
    if version.id != newest:
        raise StaleVersion()
    current = standings(session, document, version)
    missing = [s for s in current if not s.approves]
    if missing or not current:
        raise NotUnanimous(missing=[
            (s.membership.person.name, s.membership.organisation.name if s.membership.organisation else "", s.state)
            for s in missing
        ])
    open_round = session.scalar(select(Round).where(Round.document_id == document.id, Round.status == "open"))
    if open_round is not None:
        close_round(session, open_round, actor=actor, reason="finalised")
    finalisation = Finalisation(document_id=document.id, version_id=version.id, content_hash=version.content_hash,
                                finalised_by_id=actor.id, finalised_at=utcnow())
    session.add(finalisation)
    document.status = "final"
    document.final_version_id = version.id
    session.flush()
    audit.record(session, document.network_id, "document_finalised", actor_id=actor.id, document_id=document.id,
                 version_id=version.id, content_hash=version.content_hash,
                 approvals=[{"person_id": s.membership.person_id, "verdict_id": s.verdict.id} for s in current])
    for membership in active_members(session, document.network_id):
        queue_email(session, "final_document", membership.person, key=f"final_document:{document.id}:{membership.person_id}",
                    network_id=document.network_id, document_id=document.id)
    return finalisation
