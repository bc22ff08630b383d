"""Finalising: a document becomes final only when every current voter said akkoord to that exact version."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from storage.database.engine import lock
from storage.database.models import (
    APPROVING_VERDICTS,
    VOTING_ROLES,
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
from workflows.domain import deciders, decisions, minutes_document
from workflows.domain.exports import FinalFiles, store_blob
from workflows.domain.notifications import Recipient, queue_emails, release
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
    voters = deciders.voters(session, document)
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


@dataclass
class Agreement:
    """How the parties stand on a version: how many decide, how many said akkoord, and the first of them, those
    without akkoord first (a page holds a few, the counts hold everyone)."""

    total: int
    approving: int
    first: list[decisions.Party]

    @property
    def missing(self) -> int:
        return self.total - self.approving

    @property
    def unanimous(self) -> bool:
        return self.total > 0 and self.approving == self.total


def agreement(session: Session, document: Document, version: Version, *, rule: str | None = None,
              limit: int = 50) -> Agreement:
    """Where the parties stand on `version` (`parties`), for a page: the counts of everyone and the first `limit`.
    Per person it is counted in SQL, two statements whatever the size of the network (one with `limit` 0); per
    organisation (a party per organisation) it comes from `parties`' list."""
    if (rule or decisions.rule_for_version(session, document, version)) == "organisation":
        found = decisions.organisation_standings(session, document, version)
        approving = sum(1 for p in found if p.approves)
        return Agreement(len(found), approving, ([p for p in found if not p.approves] +
                                                 [p for p in found if p.approves])[:limit])
    total, approving = person_approvals(session, [version.id]).get(version.id, (0, 0))
    first = []
    if limit and total:
        latest = _latest_participations([version.id])
        circle = deciders.among(document)
        for membership, verdict, asked in session.execute(
            select(Membership, Verdict, latest.c.person_id)
            .outerjoin(latest, latest.c.person_id == Membership.person_id)
            .outerjoin(Verdict, Verdict.id == latest.c.verdict_id)
            .where(Membership.network_id == document.network_id, Membership.left_at.is_(None),
                   Membership.role.in_(VOTING_ROLES), *(() if circle is None else (circle,)))
            .order_by(case((Verdict.value.in_(APPROVING_VERDICTS), 1), else_=0), Membership.id).limit(limit)
        ):
            state = verdict.value if verdict is not None else "no_verdict" if asked is not None else "not_invited"
            first.append(decisions.person_party(membership, state, verdict))
    return Agreement(total, approving, first)


def person_approvals(session: Session, version_ids: list[int]) -> dict[int, tuple[int, int]]:
    """version id -> (how many current members with a vote must agree on it (its network's, or for a meeting's
    minutes those who attended: `deciders`), how many of them said akkoord to it), as `standings` decides per
    person: one statement for any number of versions."""
    if not version_ids:
        return {}
    latest = _latest_participations(version_ids)
    rows = session.execute(
        select(Version.id, func.count(Membership.id), func.count(case((Verdict.value.in_(APPROVING_VERDICTS), 1))))
        .join(Document, Document.id == Version.document_id)
        .join(Membership, and_(Membership.network_id == Document.network_id, Membership.left_at.is_(None),
                               Membership.role.in_(VOTING_ROLES), deciders.among_documents()))
        .outerjoin(latest, and_(latest.c.version_id == Version.id, latest.c.person_id == Membership.person_id))
        .outerjoin(Verdict, Verdict.id == latest.c.verdict_id)
        .where(Version.id.in_(version_ids)).group_by(Version.id))
    return {version_id: (total, approving) for version_id, total, approving in rows}


def _latest_participations(version_ids: list[int]):
    """Per version and person asked about it, the verdict that counts: that of the newest round on the version in
    which they gave one, which is their newest (the rounds on a version follow each other, so a later round's
    verdict has the higher id); NULL when they were asked and gave none. Grouped rather than latest, so that the
    planner knows how many rows to expect."""
    return (select(Round.version_id, Participant.person_id,
                   func.max(Participant.current_verdict_id).label("verdict_id"))
            .join(Round, Participant.round_id == Round.id)
            .where(Round.version_id.in_(version_ids), Participant.removed_at.is_(None))
            .group_by(Round.version_id, Participant.person_id)).subquery()


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
    minutes_document.note_final(session, document, actor=actor)  # a meeting's minutes: final with it
    # Held until the final files exist: every mail carries exactly the files made once (`store_final_files`).
    # To those who take part in its rounds (the network, or a meeting's attendees).
    queue_emails(session, "final_document", [
        Recipient(m.person, f"final_document:{document.id}:{m.person_id}", {"document_id": document.id})
        for m in deciders.members(session, document)], network_id=document.network_id, held=True)
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
