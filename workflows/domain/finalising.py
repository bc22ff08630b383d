"""Finalising: a document becomes final only when every current voter said akkoord to that exact version."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.database.engine import lock
from storage.database.models import (
    APPROVING_VERDICTS,
    Document,
    Finalisation,
    MailMessage,
    Membership,
    Participant,
    Person,
    Round,
    Verdict,
    Version,
    utcnow,
)
from workflows import audit
from workflows.domain import decisions
from workflows.domain.exports import FinalFiles, store_blob
from workflows.domain.notifications import Recipient, queue_emails, release
from workflows.domain.people import active_members
from workflows.domain.rounds import close_round
from workflows.errors import AlreadyFinal, InvalidInput, NotUnanimous, StaleVersion


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


def parties(session: Session, document: Document, version: Version) -> list[decisions.Party]:
    """Who decides on the version by its rule (`decisions.rule_for_version`), and where each stands."""
    if decisions.rule_for_version(session, document, version) == "organisation":
        return decisions.organisation_standings(session, document, version)
    return [decisions.person_party(s.membership, s.state, s.verdict) for s in standings(session, document, version)]


def check_finalisable(session: Session, document: Document, version: Version) -> list[decisions.Party]:
    """Raise what refuses making `version` final now, else return the parties who all approve: under
    `finalise_document`'s locks, and unlocked for its confirmation step (which may only say it would be refused)."""
    if document.status == "final":
        raise AlreadyFinal()
    if version.document_id != document.id:
        raise InvalidInput("wrong_document")
    newest = session.scalar(
        select(Version.id).where(Version.document_id == document.id).order_by(Version.number.desc()).limit(1)
    )
    if version.id != newest:
        raise StaleVersion()
    current = parties(session, document, version)
    missing = [p for p in current if not p.approves]
    if missing or not current:
        raise NotUnanimous(missing=[(p.name, p.organisation_name, p.state) for p in missing])
    return current


def finalise_document(session: Session, document: Document, version: Version, *, actor: Person) -> Finalisation:
    """Make the document final on `version`; checked under a lock inside this transaction (invariant 2)."""
    document = lock(session, Document, document.id)
    # The open round's lock before the standings are read: a verdict being given now has either committed (and is
    # read below) or waits for this transaction and then finds its round closed. Members joining or leaving take
    # the same lock.
    open_round_id = session.scalar(select(Round.id).where(Round.document_id == document.id, Round.status == "open"))
    open_round = lock(session, Round, open_round_id) if open_round_id is not None else None
    current = check_finalisable(session, document, version)
    if open_round is not None:
        close_round(session, open_round, actor=actor, reason="finalised")
    finalisation = Finalisation(document_id=document.id, version_id=version.id, content_hash=version.content_hash,
                                finalised_by_id=actor.id, finalised_at=utcnow())
    session.add(finalisation)
    document.status = "final"
    document.final_version_id = version.id
    session.flush()
    # Its audit event also has the final files made once this commits (workflows.outbound.jobs subscribes to it).
    audit.record(session, document.network_id, "document_finalised", actor_id=actor.id, document_id=document.id,
                 version_id=version.id, content_hash=version.content_hash,
                 approvals=[{"person_id": p.membership.person_id, "verdict_id": p.verdict.id} if p.membership else
                            {"organisation_id": p.organisation.id, "verdict_id": p.verdict.id} for p in current])
    # Held until the final files exist: every mail carries exactly the files made once (`store_final_files`).
    queue_emails(session, "final_document", [
        Recipient(m.person, f"final_document:{document.id}:{m.person_id}", {"document_id": document.id})
        for m in active_members(session, document.network_id)], network_id=document.network_id, held=True)
    return finalisation


def store_final_files(session: Session, document_id: int, files: FinalFiles) -> Finalisation:
    """Keep the final .docx and PDF (made outside the transaction) as the final document's files, note their
    hashes in the audit trail, and release the final mails that wait for them. Made meanwhile by another
    worker: those files stay, these are dropped."""
    document = lock(session, Document, document_id)
    finalisation = session.scalar(select(Finalisation).where(Finalisation.document_id == document_id))
    if finalisation.docx_sha256 is not None:
        return finalisation
    hashes = [store_blob(session, data) for data in (files.docx, files.pdf)]
    finalisation.docx_sha256, finalisation.pdf_sha256 = hashes
    finalisation.files_made_at = utcnow()
    audit.record(session, document.network_id, "final_files_made", document_id=document.id,
                 version_id=finalisation.version_id, docx_sha256=hashes[0], docx_size=len(files.docx),
                 pdf_sha256=hashes[1], pdf_size=len(files.pdf))
    release(session, list(session.scalars(select(MailMessage).where(
        MailMessage.email == "final_document", MailMessage.network_id == document.network_id,
        MailMessage.params["document_id"].as_integer() == document.id))))
    return finalisation


def without_files(session: Session, finalised_before) -> list[int]:
    """Documents made final before this time whose files were not made (their job was lost)."""
    return list(session.scalars(select(Finalisation.document_id).where(
        Finalisation.docx_sha256.is_(None), Finalisation.finalised_at < finalised_before)))
