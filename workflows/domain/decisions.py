"""Decision rules: who decides on a version (every person with a vote, or every organisation with a vote through its
representatives), where each of them stands, and who may give which kind of verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from storage.database.engine import lock
from storage.database.models import (
    APPROVING_VERDICTS,
    DECISION_RULES,
    VERDICTS,
    Comment,
    Document,
    Membership,
    Network,
    Organisation,
    Participant,
    Person,
    Round,
    Verdict,
    Version,
)
from workflows import audit
from workflows.domain import deciders
from workflows.errors import Conflict, InvalidInput, NotAllowed

# What a participant's verdict is under the round's rule (`capacity`).
PERSON = "person"  # counts for themselves (per person; or per organisation, for someone without an organisation)
REPRESENTATIVE = "representative"  # counts for their organisation
COLLEAGUE = "colleague"  # a suggestion to their organisation's representatives: counts for nothing
NO_VOTE = "no_vote"  # an observer, or a member of an organisation without a vote (or that left): comments only


# Setting the rule -------------------------------------------------------------------------------------------

def rule_of(document: Document) -> str:
    """The rule a round opened now on this document decides by: its own, else its network's."""
    return document.decision_rule or document.network.decision_rule


def _checked_rule(rule: str | None, *, optional: bool = False) -> str | None:
    if rule is None and optional:
        return None
    if rule not in DECISION_RULES:
        raise InvalidInput("unknown_decision_rule")
    return rule


def set_network_rule(session: Session, network: Network, rule: str, *, actor: Person) -> None:
    """The rule of the network's documents that do not set their own. Refused while a round of such a document is
    open: its documents are locked first (the lock order starts at the document), so no round opens meanwhile
    with the rule about to change."""
    rule = _checked_rule(rule)
    following = session.scalars(select(Document.id).where(Document.network_id == network.id,
                                                          Document.decision_rule.is_(None)).order_by(Document.id)).all()
    for document_id in following:
        lock(session, Document, document_id)
    if following and session.scalar(select(Round.id).where(Round.document_id.in_(following),
                                                           Round.status == "open").limit(1)) is not None:
        raise Conflict("decision_rule_round_open")
    if network.decision_rule == rule:
        return
    previous, network.decision_rule = network.decision_rule, rule
    audit.record(session, network.id, "decision_rule_set", actor_id=actor.id, rule=rule, previous=previous)


def set_document_rule(session: Session, document: Document, rule: str | None, *, actor: Person) -> None:
    """A document's own rule (None: the network's), only before its first round: verdicts given under one rule are
    never counted under another."""
    rule = _checked_rule(rule, optional=True)
    document = lock(session, Document, document.id)
    had_round = session.scalar(select(Round.status).where(Round.document_id == document.id)
                               .order_by(Round.status != "open").limit(1))
    if had_round == "open":
        raise Conflict("decision_rule_round_open")
    if had_round is not None:
        raise Conflict("decision_rule_after_first_round")
    if document.decision_rule == rule:
        return
    previous, document.decision_rule = document.decision_rule, rule
    audit.record(session, document.network_id, "decision_rule_set", actor_id=actor.id, document_id=document.id,
                 rule=rule, previous=previous)


def set_representative(session: Session, membership: Membership, representative: bool, *, actor: Person) -> None:
    """Mark (or unmark) a member as a representative of their organisation. A verdict a representative already gave
    keeps counting for the organisation when they are unmarked: it was given on its behalf (evidence is never
    rewritten); from now on their verdicts are suggestions."""
    if membership.left_at is not None:
        raise Conflict("already_left")
    if representative and membership.organisation_id is None:
        raise InvalidInput("representative_needs_organisation")
    if representative and not membership.can_vote:
        raise InvalidInput("representative_needs_vote")
    if membership.representative == representative:
        return
    membership.representative = representative
    audit.record(session, membership.network_id, "representative_set" if representative else "representative_unset",
                 actor_id=actor.id, person_id=membership.person_id, membership_id=membership.id,
                 organisation_id=membership.organisation_id,
                 organisation=membership.organisation.name if membership.organisation else "")


# Who gives what kind of verdict -------------------------------------------------------------------------------

def counts(organisation: Organisation | None) -> bool:
    """Whether an organisation decides under the per-organisation rule."""
    return organisation is not None and organisation.has_vote and organisation.left_at is None


def capacity(round_: Round, participant: Participant) -> str:
    """What this participant's verdict is in this round (PERSON, REPRESENTATIVE, COLLEAGUE or NO_VOTE)."""
    if not participant.can_vote:
        return NO_VOTE
    if round_.decision_rule != "organisation":
        return PERSON
    membership = participant.membership
    organisation = membership.organisation
    if organisation is None:  # without an organisation: a party of one, as under the per-person rule
        return PERSON
    if not counts(organisation):
        return NO_VOTE
    return REPRESENTATIVE if membership.representative else COLLEAGUE


def verdict_kind(round_: Round, participant: Participant) -> tuple[int | None, bool]:
    """(the organisation a verdict counts for, whether it is a suggestion) for a verdict given now; refused when
    the participant has no say under the round's rule."""
    kind = capacity(round_, participant)
    if kind == NO_VOTE:
        raise NotAllowed("organisation_no_vote" if participant.can_vote else "observer_no_verdict")
    if kind == REPRESENTATIVE:
        return participant.membership.organisation_id, False
    return None, kind == COLLEAGUE


# Where each party stands -----------------------------------------------------------------------------------

@dataclass
class Party:
    """One who decides on a version: a person (per person, or per organisation without an organisation) or an
    organisation, with its verdict that counts there, or why there is none."""

    name: str
    state: str  # a verdict value | no_verdict | not_invited | no_representative
    verdict: Verdict | None
    organisation: Organisation | None = None  # the deciding organisation, or the person's own
    membership: Membership | None = None  # the deciding person; None for an organisation
    members: list[Membership] = field(default_factory=list)  # its voting members, representatives first

    @property
    def approves(self) -> bool:
        return self.state in APPROVING_VERDICTS

    @property
    def is_organisation(self) -> bool:
        return self.membership is None

    @property
    def organisation_name(self) -> str:
        return self.organisation.name if self.organisation is not None else ""


def person_party(membership: Membership, state: str, verdict: Verdict | None) -> Party:
    return Party(name=membership.name, state=state, verdict=verdict, organisation=membership.organisation,
                 membership=membership, members=[membership])


def rule_for_version(session: Session, document: Document, version: Version) -> str:
    """The rule the version is decided by: that of its newest round, else the one a round would open with."""
    rule = session.scalar(select(Round.decision_rule).where(Round.version_id == version.id)
                          .order_by(Round.number.desc()).limit(1))
    return rule or rule_of(document)


def organisation_standings(session: Session, document: Document, version: Version) -> list[Party]:
    """Under the per-organisation rule: every counting organisation with a voting member, then everyone with a
    vote and no organisation. Three statements whatever the size: the members, the participants on this version
    (with their current verdicts), and the organisations' verdicts on it (the latest counts)."""
    voters = deciders.voters(session, document)
    rows = session.execute(
        select(Participant.person_id, Verdict)
        .join(Round, Participant.round_id == Round.id)
        .outerjoin(Verdict, Participant.current_verdict_id == Verdict.id)
        .where(Round.version_id == version.id, Participant.removed_at.is_(None))
        .order_by(Round.number)
    ).all()
    invited = {person_id for person_id, _verdict in rows}
    own = {}
    for person_id, verdict in rows:  # later rounds on the same version override earlier ones
        if verdict is not None and not verdict.suggestion:
            own[person_id] = verdict
    for_organisation = {verdict.organisation_id: verdict for verdict in session.scalars(
        select(Verdict).join(Participant, Verdict.participant_id == Participant.id)
        .join(Round, Verdict.round_id == Round.id)
        .where(Round.version_id == version.id, Verdict.organisation_id.is_not(None),
               Verdict.suggestion.is_(False), Participant.removed_at.is_(None))
        .order_by(Verdict.id))}  # the newest last, so it wins
    organisations: dict[int, list[Membership]] = {}
    individuals = []
    for membership in voters:
        if membership.organisation is None:
            individuals.append(membership)
        elif counts(membership.organisation):
            organisations.setdefault(membership.organisation_id, []).append(membership)
    result = []
    for members in sorted(organisations.values(), key=lambda ms: ms[0].organisation.name.lower()):
        organisation = members[0].organisation
        members.sort(key=lambda m: (not m.representative, m.name.lower()))
        verdict = for_organisation.get(organisation.id)
        if verdict is not None:
            state = verdict.value
        elif not any(m.person_id in invited for m in members):
            state = "not_invited"
        elif not any(m.representative for m in members):
            state = "no_representative"
        else:
            state = "no_verdict"
        result.append(Party(name=organisation.name, state=state, verdict=verdict, organisation=organisation,
                            members=members))
    for membership in individuals:
        verdict = own.get(membership.person_id)
        state = verdict.value if verdict else "no_verdict" if membership.person_id in invited else "not_invited"
        result.append(person_party(membership, state, verdict))
    return result


# A round under the per-organisation rule ------------------------------------------------------------------------

def round_parties(session: Session, round_: Round) -> list[tuple[str, str | None]]:
    """(name, the value that counts or None) of each party of an open or closed round under the per-organisation
    rule: each counting organisation among its participants, and each participant with a vote and no
    organisation. One statement for the participants, one for the organisations' verdicts."""
    rows = session.execute(
        select(Membership, Verdict.value, Verdict.suggestion).select_from(Participant)
        .join(Membership, Participant.membership_id == Membership.id)
        .outerjoin(Verdict, Participant.current_verdict_id == Verdict.id)
        .where(Participant.round_id == round_.id, Participant.removed_at.is_(None), Participant.can_vote.is_(True))
    ).all()
    values = _organisation_values(session, round_.id)
    parties: dict[tuple[str, int], tuple[str, str | None]] = {}
    for membership, value, suggestion in rows:
        organisation = membership.organisation
        if organisation is None:
            parties[("person", membership.id)] = (membership.name, None if suggestion else value)
        elif counts(organisation):
            parties[("organisation", organisation.id)] = (organisation.name, values.get(organisation.id))
    return list(parties.values())


def _organisation_values(session: Session, round_id: int) -> dict[int, str]:
    return {organisation_id: value for organisation_id, value in session.execute(
        select(Verdict.organisation_id, Verdict.value).join(Participant, Verdict.participant_id == Participant.id)
        .where(Verdict.round_id == round_id, Verdict.organisation_id.is_not(None), Verdict.suggestion.is_(False),
               Participant.removed_at.is_(None)).order_by(Verdict.id))}


def undecided(session: Session, round_: Round) -> list[Participant]:
    """Who a reminder goes to: per person, every voter without a verdict; per organisation, the representatives of
    each counting organisation without a verdict, and each voter without an organisation who has none."""
    participants = session.scalars(
        select(Participant).where(Participant.round_id == round_.id, Participant.can_vote.is_(True),
                                  Participant.removed_at.is_(None)).order_by(Participant.id)).all()
    if round_.decision_rule != "organisation":
        return [p for p in participants if p.current_verdict_id is None]
    decided = _organisation_values(session, round_.id)
    memberships = {m.id: m for m in session.scalars(
        select(Membership).where(Membership.id.in_([p.membership_id for p in participants])))} if participants else {}
    result = []
    for participant in participants:
        membership = memberships[participant.membership_id]
        if membership.organisation is None:
            if participant.current_verdict_id is None:
                result.append(participant)
        elif counts(membership.organisation) and membership.representative \
                and membership.organisation_id not in decided:
            result.append(participant)
    return result


def summary_rows(session: Session, round_: Round) -> list[tuple[str, str | None]]:
    """(name, value or None) of each one who decides in the round, by its rule: for `rounds.summary`."""
    if round_.decision_rule == "organisation":
        return round_parties(session, round_)
    return [(name, None if value not in VERDICTS else value) for name, value in session.execute(
        select(Membership.name, Verdict.value).select_from(Participant)
        .join(Membership, Participant.membership_id == Membership.id)
        .outerjoin(Verdict, Participant.current_verdict_id == Verdict.id)
        .where(Participant.round_id == round_.id, Participant.removed_at.is_(None), Participant.can_vote.is_(True))
    ).all()]


@dataclass
class InternalView:
    """What a member of an organisation with a vote sees of their organisation in a round: its verdict that counts
    (and who gave it), their colleagues' suggestions, and their colleagues' comments."""

    organisation: Organisation
    verdict: Verdict | None
    suggestions: list[tuple[str, Verdict]]  # (colleague's name, their latest suggestion)
    comments: list[tuple[str, Comment]]  # (colleague's name, comment), newest first


def internal_view(session: Session, participant: Participant) -> InternalView | None:
    """The organisation's internal view for this participant, or None when the round does not decide per
    organisation or they do not belong to a counting organisation."""
    round_ = participant.round
    organisation = participant.membership.organisation
    if round_.decision_rule != "organisation" or not counts(organisation):
        return None
    colleagues = session.execute(
        select(Participant, Membership).join(Membership, Participant.membership_id == Membership.id)
        .where(Participant.round_id == round_.id, Membership.organisation_id == organisation.id,
               Participant.removed_at.is_(None))).all()
    names = {p.id: m.name for p, m in colleagues}
    verdict = session.scalar(
        select(Verdict).where(Verdict.round_id == round_.id, Verdict.organisation_id == organisation.id,
                              Verdict.suggestion.is_(False), Verdict.participant_id.in_(names))
        .order_by(Verdict.id.desc()).limit(1)) if names else None
    current = [p.current_verdict_id for p, _m in colleagues if p.current_verdict_id and p.id != participant.id]
    suggestions = [(names[v.participant_id], v) for v in session.scalars(
        select(Verdict).where(Verdict.id.in_(current), Verdict.suggestion.is_(True)).order_by(Verdict.id))] \
        if current else []
    others = [p.id for p, _m in colleagues if p.id != participant.id]
    comments = [(names[c.participant_id], c) for c in session.scalars(
        select(Comment).where(Comment.round_id == round_.id, Comment.participant_id.in_(others))
        .order_by(Comment.id.desc()).limit(50))] if others else []
    return InternalView(organisation=organisation, verdict=verdict, suggestions=suggestions, comments=comments)


def internal_view_columns(round_id, organisation_id, decision_rule) -> tuple:
    """What a cached review page depends on beyond the participant's own state, as two scalar subqueries for the
    page's one link-state query: the newest verdict and comment of the participant's organisation in the round
    (NULL outside the per-organisation rule). The arguments are the outer query's columns."""
    colleague, place = aliased(Participant), aliased(Membership)
    colleagues = (select(colleague.id).join(place, colleague.membership_id == place.id)
                  .where(colleague.round_id == round_id, place.organisation_id == organisation_id,
                         decision_rule == "organisation"))
    newest_verdict = select(func.max(Verdict.id)).where(Verdict.participant_id.in_(colleagues)).scalar_subquery()
    newest_comment = select(func.max(Comment.id)).where(Comment.participant_id.in_(colleagues)).scalar_subquery()
    return newest_verdict, newest_comment


# The people × rounds matrix, per organisation ---------------------------------------------------------------------

def organisation_cells(session: Session, round_ids: list[int]) -> dict[tuple[int, int], Verdict]:
    """(round id, organisation id) -> the organisation's verdict that counts in that round (one statement)."""
    if not round_ids:
        return {}
    return {(v.round_id, v.organisation_id): v for v in session.scalars(
        select(Verdict).join(Participant, Verdict.participant_id == Participant.id)
        .where(Verdict.round_id.in_(round_ids), Verdict.organisation_id.is_not(None),
               Verdict.suggestion.is_(False), Participant.removed_at.is_(None)).order_by(Verdict.id))}
