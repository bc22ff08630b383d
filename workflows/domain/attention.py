"""What needs attention first: a round's overview, the staff dashboard across networks, a document's next step."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Row, func, or_, select
from sqlalchemy.orm import Session

from storage.database.models import (
    APPROVING_VERDICTS,
    STAFF_ROLES,
    VERDICTS,
    Comment,
    Document,
    Membership,
    Network,
    Participant,
    Round,
    Verdict,
    Version,
    utcnow,
)
from workflows.domain import decisions, finalising, undelivered

# The filters of a round page's list of everyone, as its ?toon= parameter spells them.
FILTERS = ("alle", "open", "niet-akkoord", "akkoord")
PENDING = "no_verdict"
# A round counts as closing soon when its deadline is this near.
CLOSING_SOON = dt.timedelta(days=3)
# Where a mail's delivery stands, in four words a coordinator can act on.
DELIVERY = {"sent": "arrived", "failed": "failed", "cancelled": "cancelled"}


@dataclass
class Entry:
    """One participant of a round, with what a coordinator needs to follow them up."""

    participant: Participant
    membership: Membership
    verdict: Verdict | None  # their current verdict (under the organisation rule perhaps a suggestion)
    invitation: Row | None  # the state of their latest invitation (`undelivered.latest_invitations`)
    party_value: str | None = None  # the verdict that counts for their party (themselves or their organisation)

    @property
    def name(self) -> str:
        return self.membership.name

    @property
    def organisation_name(self) -> str:
        return self.membership.organisation.name if self.membership.organisation is not None else ""

    @property
    def deciding(self) -> bool:
        return self.participant.can_vote and self.participant.removed_at is None

    @property
    def state(self) -> str:
        """Their own verdict's value, or PENDING (a suggestion is also shown as what it is)."""
        if self.verdict is None or self.verdict.value not in VERDICTS:
            return PENDING
        return f"suggestion:{self.verdict.value}" if self.verdict.suggestion else self.verdict.value

    @property
    def delivery(self) -> str:
        """arrived | failed | retrying | sending | cancelled (not sent, e.g. the round closed first) | none: where their
        invitation stands."""
        if self.invitation is None:
            return "none"
        if self.invitation.status == "pending" and self.invitation.failure:
            return "retrying"
        return DELIVERY.get(self.invitation.status, "sending")

    @property
    def opened(self) -> bool:
        return self.participant.first_opened_at is not None

    def shown_by(self, filter_: str) -> bool:
        """Whether the list of everyone shows this entry under the filter (`FILTERS`)."""
        if filter_ == "open":
            return self.deciding and self.party_value is None
        if filter_ == "niet-akkoord":
            return "niet_akkoord" in (self.party_value, self.state)
        if filter_ == "akkoord":
            return self.party_value in APPROVING_VERDICTS or self.state in APPROVING_VERDICTS
        return True

    @property
    def filters(self) -> list[str]:
        """The filters that show this entry (for the page's script that filters in place)."""
        return [f for f in FILTERS if self.shown_by(f)]


@dataclass
class Party:
    """One who decides in the round by its rule: a person, or an organisation with its people in the round."""

    name: str
    value: str | None  # the verdict value that counts, or None
    verdict: Verdict | None
    entries: list[Entry]  # the person, or the organisation's people (representatives first)
    is_organisation: bool = False


class Tally:
    """The figures of a round's verdicts, from `counts` (per verdict value, over the parties) and `invited`."""

    counts: dict[str, int]
    invited: int

    @property
    def decided(self) -> int:
        return sum(self.counts.values())

    @property
    def pending(self) -> int:
        return self.invited - self.decided

    @property
    def percent(self) -> int:
        return round(100 * self.decided / self.invited) if self.invited else 0


@dataclass
class RoundOverview(Tally):
    """A round at first sight: the figures, who still has to respond, who said niet akkoord, and everyone."""

    rule: str
    parties: list[Party]
    entries: list[Entry]
    counts: dict[str, int] = field(default_factory=dict)  # per verdict value, over the parties

    @property
    def invited(self) -> int:
        return len(self.parties)

    @property
    def waiting(self) -> list[Party]:
        """Who still has to respond: the parties without a verdict that counts."""
        return [p for p in self.parties if p.value is None]

    @property
    def against(self) -> list[Party]:
        return [p for p in self.parties if p.value == "niet_akkoord"]

    def shown(self, filter_: str) -> list[Entry]:
        return [e for e in self.entries if e.shown_by(filter_)]

    def filter_counts(self) -> dict[str, int]:
        return {f: len(self.shown(f)) for f in FILTERS}


def round_overview(session: Session, round_: Round) -> RoundOverview:
    """The round's overview by its rule; the parties and figures are those of `rounds.summary`. Three statements:
    the participants, their invitations, and (per organisation) the organisations' verdicts."""
    rows = session.execute(
        select(Participant, Membership, Verdict)
        .join(Membership, Participant.membership_id == Membership.id)
        .outerjoin(Verdict, Participant.current_verdict_id == Verdict.id)
        .where(Participant.round_id == round_.id)
        .order_by(Membership.name, Participant.id)
    ).all()
    mail = undelivered.latest_invitations(session, round_.id)
    entries = [Entry(p, m, v, mail.get(p.person_id)) for p, m, v in rows]
    parties: list[Party] = []
    if round_.decision_rule == "organisation":
        verdicts = {organisation_id: v for (_round_id, organisation_id), v
                    in decisions.organisation_cells(session, [round_.id]).items()}
        organisations: dict[int, Party] = {}
        for entry in entries:
            if not entry.deciding:
                continue
            organisation = entry.membership.organisation
            if organisation is None:
                value = entry.verdict.value if entry.verdict is not None and not entry.verdict.suggestion else None
                parties.append(Party(entry.name, value, entry.verdict if value else None, [entry]))
            elif decisions.counts(organisation):
                if organisation.id not in organisations:
                    verdict = verdicts.get(organisation.id)
                    organisations[organisation.id] = party = Party(
                        organisation.name, verdict.value if verdict is not None else None, verdict, [],
                        is_organisation=True)
                    parties.append(party)
                organisations[organisation.id].entries.append(entry)
        for party in organisations.values():
            party.entries.sort(key=lambda e: not e.membership.representative)
        parties.sort(key=lambda p: p.name.casefold())
    else:
        parties = [Party(e.name, e.verdict.value if e.verdict is not None else None, e.verdict, [e])
                   for e in entries if e.deciding]
    counts = {value: 0 for value in VERDICTS}
    for party in parties:
        if party.value in counts:
            counts[party.value] += 1
        for entry in party.entries:
            entry.party_value = party.value
    return RoundOverview(rule=round_.decision_rule, parties=parties, entries=entries, counts=counts)


def chosen_filter(value: str | None) -> str:
    return value if value in FILTERS else "alle"


# The staff dashboard ----------------------------------------------------------------------------------------------

@dataclass
class ClosingRound:
    round: Round
    document: Document
    network: Network
    pending: int
    invited: int


@dataclass
class CommentsToProcess:
    round: Round
    document: Document
    network: Network
    unprocessed: int
    total: int


@dataclass
class ReadyToFinalise:
    document: Document
    network: Network
    version: Version


@dataclass
class FailedMail:
    network: Network
    count: int


@dataclass
class FailedWebhooks:
    """A network's webhook deliveries that failed for good: they wait for a coordinator to send them again."""

    network: Network
    count: int


@dataclass
class Attention:
    """What needs a staff member's attention across their networks, most pressing first within each kind."""

    closing: list[ClosingRound]
    to_process: list[CommentsToProcess]
    ready: list[ReadyToFinalise]
    failed_mail: list[FailedMail]
    staff: bool = True  # whether the person is coordinator or editor anywhere (else there is nothing to show)
    failed_webhooks: list[FailedWebhooks] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.closing or self.to_process or self.ready or self.failed_mail or self.failed_webhooks)


def staff_networks(session: Session, person_id: int) -> dict[int, Membership]:
    """network id -> the person's active membership, where they are coordinator or editor."""
    return {m.network_id: m for m in session.scalars(
        select(Membership).where(Membership.person_id == person_id, Membership.left_at.is_(None),
                                 Membership.role.in_(STAFF_ROLES)))}


def dashboard(session: Session, person_id: int, *, now: dt.datetime | None = None,
              within: dt.timedelta = CLOSING_SOON) -> Attention:
    """Rounds closing within `within` (with how many verdicts are missing), closed rounds with comments still to
    process, documents every party agrees on, and (for coordinators) mail and webhook posts that did not go out."""
    now = now or utcnow()
    memberships = staff_networks(session, person_id)
    if not memberships:
        return Attention([], [], [], [], staff=False)
    networks = {n.id: n for n in session.scalars(select(Network).where(Network.id.in_(memberships)))}
    documents = {d.id: d for d in session.scalars(
        select(Document).where(Document.network_id.in_(memberships), Document.status.in_(("draft", "in_review"))))}

    closing = []
    for round_ in session.scalars(select(Round).where(Round.document_id.in_(documents), Round.status == "open",
                                                      Round.deadline <= now + within).order_by(Round.deadline)):
        invited, decided = _figures(session, round_)
        document = documents[round_.document_id]
        closing.append(ClosingRound(round_, document, networks[document.network_id], invited - decided, invited))

    newest = dict(session.execute(select(Version.document_id, func.max(Version.number))
                                  .where(Version.document_id.in_(documents)).group_by(Version.document_id)).all())
    to_process = []
    for round_, number, total, processed in session.execute(
        select(Round, Version.number, func.count(Comment.id), func.count(Comment.processed_at))
        .join(Version, Round.version_id == Version.id).join(Comment, Comment.round_id == Round.id)
        .where(Round.document_id.in_(documents), Round.status != "open", Comment.parent_id.is_(None))
        .group_by(Round.id, Version.number).order_by(Round.closed_at, Round.id)
    ).all():
        # Once a newer version is uploaded it was made from these comments: the dashboard no longer asks.
        if processed < total and number == newest.get(round_.document_id):
            document = documents[round_.document_id]
            to_process.append(CommentsToProcess(round_, document, networks[document.network_id], total - processed,
                                                total))

    ready = []
    for document in sorted(documents.values(), key=lambda d: d.title.casefold()):
        version = _latest_with_a_round(session, document.id, newest.get(document.id))
        if version is not None and _agreed(session, document, version):
            ready.append(ReadyToFinalise(document, networks[document.network_id], version))

    failed_mail = []
    for network_id, own in memberships.items():
        if own.role == "coordinator":
            count = undelivered.count_undelivered(session, network_id)
            if count:
                failed_mail.append(FailedMail(networks[network_id], count))
    failed_mail.sort(key=lambda f: f.network.name.casefold())
    coordinated = [network_id for network_id, own in memberships.items() if own.role == "coordinator"]
    failed_webhooks = sorted((FailedWebhooks(networks[network_id], count) for network_id, count
                              in undelivered.failed_webhook_counts(session, coordinated).items()),
                             key=lambda f: f.network.name.casefold())
    return Attention(closing, to_process, ready, failed_mail, failed_webhooks=failed_webhooks)


def _figures(session: Session, round_: Round) -> tuple[int, int]:
    """(who decides, who has decided) in the round by its rule: per person one counting statement, for a dashboard
    that lists many rounds; per organisation the parties of `decisions.round_parties`."""
    if round_.decision_rule == "organisation":
        parties = decisions.round_parties(session, round_)
        return len(parties), sum(1 for _name, value in parties if value is not None)
    invited, decided = session.execute(
        select(func.count(Participant.id), func.count(Participant.current_verdict_id))
        .where(Participant.round_id == round_.id, Participant.can_vote.is_(True), Participant.removed_at.is_(None))
    ).one()
    return invited, decided


def _latest_with_a_round(session: Session, document_id: int, number: int | None) -> Version | None:
    """The document's newest version if a round was held on it (no round: nobody could have agreed yet)."""
    if number is None:
        return None
    return session.scalar(select(Version).join(Round, Round.version_id == Version.id)
                          .where(Version.document_id == document_id, Version.number == number).limit(1))


def _surely_not_agreed(session: Session, version_id: int) -> bool:
    """A cheap first look for the dashboard: under the per-person rule, when the version had one round and a voter in
    it has no approving verdict, not everyone agrees (`all_agree` reads every standing to say the same)."""
    held = session.execute(select(Round.id, Round.decision_rule).where(Round.version_id == version_id)).all()
    if len(held) != 1 or held[0].decision_rule != "person":
        return False
    return bool(session.scalar(
        select(func.count(Participant.id)).outerjoin(Verdict, Participant.current_verdict_id == Verdict.id)
        .where(Participant.round_id == held[0].id, Participant.can_vote.is_(True), Participant.removed_at.is_(None),
               or_(Verdict.id.is_(None), Verdict.value.not_in(APPROVING_VERDICTS)))))


def _agreed(session: Session, document: Document, version: Version) -> bool:
    return not _surely_not_agreed(session, version.id) and all_agree(session, document, version)


def all_agree(session: Session, document: Document, version: Version) -> bool:
    """Whether every party said akkoord to the version: what `finalising.check_finalisable` asks, read unlocked."""
    current = finalising.parties(session, document, version)
    return bool(current) and all(p.approves for p in current)


# The next step on a document --------------------------------------------------------------------------------------

@dataclass
class NextStep:
    """The one thing to do next on a document: `action` names it, the rest is what the hint says and links to."""

    action: str  # upload_first | open_round | await_verdicts | process_comments | upload_new_version | finalise
    version: Version | None = None
    round: Round | None = None
    unprocessed: int = 0
    pending: int = 0


def next_step(session: Session, document: Document) -> NextStep | None:
    """What comes next on the document, or None once it is final (or withdrawn)."""
    if document.status not in ("draft", "in_review"):
        return None
    # The newest version with the last round beside it, in one statement (every staff page of a document asks).
    last_id = (select(Round.id).where(Round.document_id == document.id).order_by(Round.number.desc()).limit(1)
               .scalar_subquery())
    found = session.execute(select(Version, Round).outerjoin(Round, Round.id == last_id)
                            .where(Version.document_id == document.id).order_by(Version.number.desc()).limit(1)).first()
    if found is None:
        return NextStep("upload_first")
    latest, last = found
    if last is not None and last.is_open:
        if last.version_id == latest.id and _agreed(session, document, latest):
            return NextStep("finalise", version=latest, round=last)
        invited, decided = _figures(session, last)
        return NextStep("await_verdicts", version=latest, round=last, pending=invited - decided)
    if last is None or last.version_id != latest.id:  # a new version: its comments were answered by it
        return NextStep("open_round", version=latest, round=last)
    if _agreed(session, document, latest):
        return NextStep("finalise", version=latest, round=last)
    unprocessed = _unprocessed(session, last.id)
    if unprocessed:
        return NextStep("process_comments", version=latest, round=last, unprocessed=unprocessed)
    return NextStep("upload_new_version", version=latest, round=last)


def _unprocessed(session: Session, round_id: int) -> int:
    return session.scalar(select(func.count(Comment.id)).where(
        Comment.round_id == round_id, Comment.parent_id.is_(None), Comment.processed_at.is_(None)))
