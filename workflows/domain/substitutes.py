"""Substitutes (plaatsvervangers): a colleague of the same organisation acts for an absent person for a period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ScalarSelect, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from storage.database.engine import lock
from storage.database.models import (
    Document,
    MailMessage,
    Membership,
    Participant,
    Person,
    Round,
    Substitution,
    Verdict,
    utcnow,
)
from workflows import audit
from workflows.domain import rounds
from workflows.domain.notifications import Recipient, queue_email, queue_emails
from workflows.errors import Conflict, InvalidInput, NotAllowed, NotFound, RoundClosed

_Absent = aliased(Membership, name="absent_membership")
_Substitute = aliased(Membership, name="substitute_membership")


def is_active(substitution: Substitution, now: dt.datetime | None = None) -> bool:
    """Within its period and not ended early."""
    now = now or utcnow()
    return substitution.ended_at is None and substitution.starts_at <= now < substitution.ends_at


def candidates(session: Session, absent: Membership) -> list[Membership]:
    """Who may stand in for `absent`: the active members of the same network and organisation with a vote."""
    if absent.organisation_id is None:
        return []
    return [m for m in session.scalars(
        select(Membership).where(Membership.network_id == absent.network_id, Membership.left_at.is_(None),
                                 Membership.organisation_id == absent.organisation_id, Membership.id != absent.id)
        .order_by(Membership.name, Membership.id)) if m.can_vote]


def name_substitute(session: Session, absent: Membership, substitute_membership_id: int, *, starts_at: dt.datetime,
                    ends_at: dt.datetime, actor: Person, now: dt.datetime | None = None) -> Substitution:
    """`absent` (or a coordinator for them) names a colleague of the same organisation to act for them from
    `starts_at` to `ends_at`; both are told by mail, and the substitute is invited to the open rounds once the
    period has begun. Refused, with nothing changed: no organisation, another organisation, oneself, no vote, a
    period that ends before it starts or is over, one that overlaps another substitution of the same person."""
    now = now or utcnow()
    # The absent person's membership first: two namings at once for the same person cannot both miss the other.
    # (Only its own row: a membership loads its person and organisation by outer joins, which PostgreSQL won't lock.)
    session.execute(select(Membership.id).where(Membership.id == absent.id).with_for_update(key_share=True))
    absent = session.get(Membership, absent.id, populate_existing=True)
    if absent.left_at is not None:
        raise Conflict("already_left")
    if not absent.can_vote:
        raise InvalidInput("substitute_absent_no_vote")
    if absent.organisation_id is None:
        raise InvalidInput("substitute_no_organisation")
    substitute = session.get(Membership, substitute_membership_id)
    if substitute is None or substitute.network_id != absent.network_id or substitute.left_at is not None:
        raise InvalidInput("substitute_not_member")
    if substitute.person_id == absent.person_id:
        raise InvalidInput("substitute_self")
    if substitute.organisation_id != absent.organisation_id:
        raise InvalidInput("substitute_other_organisation")
    if not substitute.can_vote:
        raise InvalidInput("substitute_no_vote")
    if ends_at <= starts_at:
        raise InvalidInput("substitution_ends_before_start")
    if ends_at <= now:
        raise InvalidInput("substitution_in_past")
    starts_at = max(starts_at, now)  # a period cannot begin before it was named: no verdict is given back in time
    if session.scalar(select(Substitution.id).where(
            Substitution.absent_membership_id == absent.id, Substitution.ended_at.is_(None),
            Substitution.starts_at < ends_at, Substitution.ends_at > starts_at).limit(1)):
        raise Conflict("substitution_overlaps")
    substitution = Substitution(network_id=absent.network_id, absent_membership_id=absent.id,
                                substitute_membership_id=substitute.id, starts_at=starts_at, ends_at=ends_at,
                                created_by_id=actor.id, created_at=now)
    session.add(substitution)
    session.flush()
    audit.record(session, absent.network_id, "substitute_named", actor_id=actor.id, substitution_id=substitution.id,
                 absent_person_id=absent.person_id, substitute_person_id=substitute.person_id,
                 starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat())
    queue_email(session, "substitution_named", absent.person, key=f"substitution_named:{substitution.id}",
                network_id=absent.network_id, substitution_id=substitution.id)
    queue_email(session, "substitute_named", substitute.person, key=f"substitute_named:{substitution.id}",
                network_id=absent.network_id, substitution_id=substitution.id)
    if starts_at <= now:
        invite(session, substitution)
    return substitution


def end_substitution(session: Session, substitution: Substitution, *, actor: Person,
                     now: dt.datetime | None = None) -> Substitution:
    """The absent person takes over again (or a coordinator ends it): from now on the substitute no longer acts
    for them; verdicts given so far stay as given. The substitute is told."""
    substitution = lock(session, Substitution, substitution.id)
    now = now or utcnow()  # read under the lock: a verdict it waited for was given before it ended
    if substitution.ended_at is not None or substitution.ends_at <= now:
        raise Conflict("substitution_over")
    substitution.ended_at = now
    audit.record(session, substitution.network_id, "substitution_ended", actor_id=actor.id,
                 substitution_id=substitution.id, absent_person_id=substitution.absent.person_id,
                 substitute_person_id=substitution.substitute.person_id)
    queue_email(session, "substitution_ended", substitution.substitute.person,
                key=f"substitution_ended:{substitution.id}", network_id=substitution.network_id,
                substitution_id=substitution.id)
    return substitution


def invite(session: Session, substitution: Substitution) -> int:
    """Invite the substitute to each open round the absent person decides in: a participant row if they have none
    (with the usual invitation), and a mail with a personal link saying they may act for the absent person. Once
    per round (the mail's key); returns how many rounds were new."""
    absent_person_id = substitution.absent.person_id
    round_ids = session.scalars(
        select(Round.id).join(Document, Round.document_id == Document.id)
        .join(Participant, and_(Participant.round_id == Round.id, Participant.person_id == absent_person_id))
        .where(Document.network_id == substitution.network_id, Round.status == "open",
               Participant.removed_at.is_(None), Participant.can_vote.is_(True))
        .order_by(Round.id)
    ).all()
    keys = {round_id: _invitation_key(substitution, round_id) for round_id in round_ids}
    sent = set(session.scalars(select(MailMessage.idempotency_key).where(
        MailMessage.idempotency_key.in_(list(keys.values()))))) if keys else set()
    return sum(_invite_to(session, substitution, session.get(Round, round_id)) is not None
               for round_id in round_ids if keys[round_id] not in sent)


def _invitation_key(substitution: Substitution, round_id: int) -> str:
    return f"substitute_invitation:{substitution.id}:{round_id}"


def _invite_to(session: Session, substitution: Substitution, round_: Round) -> Participant | None:
    """Invite the substitute to one open round (see `invite`); their participant, or None if the round closed."""
    mine = session.scalar(select(Participant).where(Participant.round_id == round_.id,
                                                    Participant.person_id == substitution.substitute.person_id))
    if mine is None or mine.removed_at is not None:
        mine = rounds.add_participant(session, round_, substitution.substitute, actor=None, standing_in=True)
        if mine is None:  # the round closed meanwhile
            return None
    queue_email(session, "substitute_invitation", substitution.substitute.person,
                key=_invitation_key(substitution, round_.id), network_id=substitution.network_id,
                round_id=round_.id, participant_id=mine.id, substitution_id=substitution.id)
    audit.record(session, substitution.network_id, "substitute_invited", actor_id=None,
                 document_id=round_.document_id, round_id=round_.id, substitution_id=substitution.id,
                 person_id=substitution.substitute.person_id)
    return mine


def remind(session: Session, round_: Round, reminded: list[Participant], slot: str, *,
           now: dt.datetime | None = None) -> int:
    """With a reminder of the round (under its lock): the substitute of each reminded person who is absent now gets
    one too, saying they may act on that person's behalf, with their own personal link; under either rule, as the
    reminder goes to the voters (per person) or the representatives (per organisation) without a verdict. A
    substitute not yet invited to the round gets the invitation now instead (it says the same, and more); under
    the per-organisation rule one reminded as a representative already gets no second mail for the same verdict.
    Returns how many reminders were queued."""
    now = now or utcnow()
    by_person = {p.person_id: p for p in reminded}
    if not by_person:
        return 0
    running = session.scalars(
        select(Substitution).join(_Absent, Substitution.absent_membership_id == _Absent.id)
        .where(Substitution.network_id == round_.document.network_id, _Absent.person_id.in_(list(by_person)),
               Substitution.ended_at.is_(None), Substitution.starts_at <= now, Substitution.ends_at > now)
        .order_by(Substitution.id)).all()
    invited = set(session.scalars(select(MailMessage.idempotency_key).where(MailMessage.idempotency_key.in_(
        [_invitation_key(s, round_.id) for s in running])))) if running else set()
    recipients = []
    for substitution in running:
        substitute = substitution.substitute
        if substitute.left_at is not None or not substitute.can_vote:
            continue
        if round_.decision_rule == "organisation" and substitute.person_id in by_person:
            continue
        if _invitation_key(substitution, round_.id) not in invited:
            _invite_to(session, substitution, round_)
            continue
        mine = session.scalar(select(Participant).where(Participant.round_id == round_.id,
                                                        Participant.person_id == substitute.person_id))
        if mine is None or mine.removed_at is not None:
            continue  # taken out of the round since they were invited: no link of theirs works here
        recipients.append(Recipient(substitute.person, f"substitute_reminder:{round_.id}:{slot}:{substitution.id}", {
            "participant_id": mine.id, "slot": slot, "substitution_id": substitution.id,
            "absent_participant_id": by_person[substitution.absent.person_id].id}))
    queue_emails(session, "substitute_reminder", recipients, network_id=round_.document.network_id,
                 round_id=round_.id)
    return len(recipients)


def invite_due(session: Session, *, now: dt.datetime | None = None) -> int:
    """The periodic tick: substitutes whose period has begun, and rounds opened during a period, get their
    invitations (a substitution named for later, or a round opened after it was named)."""
    now = now or utcnow()
    active = session.scalars(select(Substitution).where(
        Substitution.ended_at.is_(None), Substitution.starts_at <= now, Substitution.ends_at > now)
        .order_by(Substitution.id)).all()
    return sum(invite(session, substitution) for substitution in active)


def record_verdict_for(session: Session, substitute: Participant, substitution_id: int, *, value: str, reason: str,
                       evidence: rounds.Evidence, now: dt.datetime | None = None) -> Verdict:
    """The substitute gives the verdict for the absent person during the period: it is recorded on the absent
    person's participant (it counts for them, or for their organisation as theirs would), with the substitute's
    name as the one who gave it and the absent person's as on whose behalf. The absent person is told by mail.
    Locks the round, then the substitution (the order: document -> round -> participant -> the rest)."""
    round_ = lock(session, Round, substitute.round_id)
    substitution = lock(session, Substitution, substitution_id)
    now = now or utcnow()  # read under the locks: a take-over that went first is seen
    if substitution is None or substitution.network_id != round_.document.network_id \
            or substitution.substitute.person_id != substitute.person_id:
        raise NotFound()
    if not round_.is_open:
        raise RoundClosed()
    if substitute.removed_at is not None or substitution.substitute.left_at is not None:
        raise NotAllowed("participant_removed")
    if not is_active(substitution, now):
        raise NotAllowed("substitution_not_active")
    absent = session.scalar(select(Participant).where(Participant.round_id == round_.id,
                                                      Participant.person_id == substitution.absent.person_id))
    if absent is None or absent.removed_at is not None or not absent.can_vote:
        raise NotAllowed("substitution_absent_not_in_round")
    verdict = rounds.record_verdict(session, absent, value=value, reason=reason, evidence=evidence,
                                    on_behalf=rounds.OnBehalf(substitution_id=substitution.id, substitute=substitute))
    queue_email(session, "substitute_verdict", substitution.absent.person, key=f"substitute_verdict:{verdict.id}",
                network_id=substitution.network_id, round_id=round_.id, participant_id=absent.id,
                verdict_id=verdict.id, substitution_id=substitution.id)
    return verdict


@dataclass(frozen=True)
class ActingFor:
    """On the substitute's page: an absent colleague they may act for in this round, and where that stands."""

    substitution_id: int
    absent_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    verdict_value: str | None
    verdict_by: str | None
    verdict_at: dt.datetime | None


@dataclass(frozen=True)
class Absence:
    """On the absent person's page: who stands in for them, when."""

    substitution_id: int
    substitute_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    active: bool


@dataclass(frozen=True)
class PageState:
    """What a member's round page shows about substitutes (hashable: it keys the page's cache)."""

    acting_for: tuple[ActingFor, ...]
    absences: tuple[Absence, ...]


NOTHING = PageState(acting_for=(), absences=())


def involving(membership_id, now) -> ScalarSelect:
    """For a query of a member's page (correlated on the membership id column, `now` a bound parameter): how many
    substitutions that are not over name this membership either way round; none, and the page needs no more."""
    return (select(func.count(Substitution.id))
            .where(or_(Substitution.absent_membership_id == membership_id,
                       Substitution.substitute_membership_id == membership_id),
                   Substitution.ended_at.is_(None), Substitution.ends_at > now)
            .scalar_subquery())


def page_state(session: Session, person_id: int, round_id: int, *, now: dt.datetime | None = None) -> PageState:
    """For the person's page in the round: whom they may act for now, and who acts (or will act) for them."""
    now = now or utcnow()
    network_id = select(Document.network_id).join(Round, Round.document_id == Document.id) \
        .where(Round.id == round_id).scalar_subquery()
    acting = session.execute(
        select(Substitution.id, _Absent.name, Substitution.starts_at, Substitution.ends_at, Verdict.value,
               Verdict.person_name, Verdict.created_at)
        .join(_Substitute, Substitution.substitute_membership_id == _Substitute.id)
        .join(_Absent, Substitution.absent_membership_id == _Absent.id)
        .join(Participant, and_(Participant.round_id == round_id, Participant.person_id == _Absent.person_id))
        .outerjoin(Verdict, Participant.current_verdict_id == Verdict.id)
        .where(_Substitute.person_id == person_id, _Substitute.left_at.is_(None), Substitution.network_id == network_id,
               Substitution.ended_at.is_(None), Substitution.starts_at <= now, Substitution.ends_at > now,
               Participant.removed_at.is_(None), Participant.can_vote.is_(True))
        .order_by(Substitution.id)
    ).all()
    absences = session.execute(
        select(Substitution.id, _Substitute.name, Substitution.starts_at, Substitution.ends_at)
        .join(_Substitute, Substitution.substitute_membership_id == _Substitute.id)
        .join(_Absent, Substitution.absent_membership_id == _Absent.id)
        .where(_Absent.person_id == person_id, Substitution.network_id == network_id,
               Substitution.ended_at.is_(None), Substitution.ends_at > now)
        .order_by(Substitution.starts_at, Substitution.id)
    ).all()
    return PageState(
        acting_for=tuple(ActingFor(*row) for row in acting),
        absences=tuple(Absence(*row, active=row.starts_at <= now) for row in absences),
    )


def of_network(session: Session, network_id: int, *, now: dt.datetime | None = None) -> list[Substitution]:
    """The network's substitutions that are current or still to come, soonest first."""
    now = now or utcnow()
    return list(session.scalars(select(Substitution).where(
        Substitution.network_id == network_id, Substitution.ended_at.is_(None), Substitution.ends_at > now)
        .order_by(Substitution.starts_at, Substitution.id)))


def of_person(session: Session, network_id: int, person_id: int, *,
              now: dt.datetime | None = None) -> list[Substitution]:
    """The person's own substitutions in the network, either way round (absent or substitute), current or to come."""
    return [s for s in of_network(session, network_id, now=now)
            if person_id in (s.absent.person_id, s.substitute.person_id)]


def get(session: Session, network_id: int, substitution_id: int) -> Substitution:
    substitution = session.get(Substitution, substitution_id)
    if substitution is None or substitution.network_id != network_id:
        raise NotFound()
    return substitution
