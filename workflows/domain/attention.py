"""What needs attention first: a round's overview, the staff dashboard across networks, a document's next step."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session, aliased

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
from workflows.domain import decisions, finalising, minutes, timeline, undelivered

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
class OverdueAction:
    """An action point of one of the person's networks past its due date, still open."""

    entry: minutes.ActionEntry
    network: Network


@dataclass
class Attention:
    """What needs a staff member's attention across their networks, most pressing first within each kind."""

    closing: list[ClosingRound]
    to_process: list[CommentsToProcess]
    ready: list[ReadyToFinalise]
    failed_mail: list[FailedMail]
    staff: bool = True  # whether the person is coordinator or editor anywhere (else there is nothing to show)
    failed_webhooks: list[FailedWebhooks] = field(default_factory=list)
    overdue_actions: list[OverdueAction] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.closing or self.to_process or self.ready or self.failed_mail or self.failed_webhooks
                    or self.overdue_actions)


def staff_networks(session: Session, person_id: int) -> dict[int, Membership]:
    """network id -> the person's active membership, where they are coordinator or editor."""
    return {m.network_id: m for m in session.scalars(
        select(Membership).where(Membership.person_id == person_id, Membership.left_at.is_(None),
                                 Membership.role.in_(STAFF_ROLES)))}


def dashboard(session: Session, person_id: int, *, now: dt.datetime | None = None,
              within: dt.timedelta = CLOSING_SOON, memberships: list[tuple[Membership, Network]] | None = None,
              ) -> Attention:
    """Rounds closing within `within` (with how many verdicts are missing), closed rounds with comments still to
    process, documents every party agrees on, and (for coordinators) mail and webhook posts that did not go out.
    The same number of statements whatever the number of networks, documents and members (and two more for each
    round or version decided per organisation); a page that read the person's (membership, network) pairs passes
    them in."""
    now = now or utcnow()
    if memberships is None:
        memberships = session.execute(
            select(Membership, Network).join(Network, Membership.network_id == Network.id)
            .where(Membership.person_id == person_id, Membership.left_at.is_(None))).all()
    staff = {m.network_id: m for m, _network in memberships if m.role in STAFF_ROLES}
    if not staff:
        return Attention([], [], [], [], staff=False)
    networks = {n.id: n for _m, n in memberships}
    documents = {d.id: d for d in session.scalars(
        select(Document).where(Document.network_id.in_(staff), Document.status.in_(("draft", "in_review"))))}

    closing_rounds = list(session.scalars(select(Round).where(
        Round.document_id.in_(documents), Round.status == "open", Round.deadline <= now + within)
        .order_by(Round.deadline)))
    figures = _round_figures(session, closing_rounds)
    closing = []
    for round_ in closing_rounds:
        invited, decided = figures[round_.id]
        document = documents[round_.document_id]
        closing.append(ClosingRound(round_, document, networks[document.network_id], invited - decided, invited))

    # Each document's newest version, when a round was held on it (no round: nobody could have agreed yet), with the
    # rule of its newest round; comments on an older version were answered by the newer one.
    newer = aliased(Version)
    newest_number = (select(func.max(newer.number)).where(newer.document_id == Version.document_id)
                     .scalar_subquery())
    newest: dict[int, tuple[Version, str]] = {}
    for version, rule in session.execute(
        select(Version, Round.decision_rule).join(Round, Round.version_id == Version.id)
        .where(Version.document_id.in_(documents), Version.number == newest_number).order_by(Round.number)
    ):
        newest[version.document_id] = (version, rule)  # the newest round's rule last, so it wins
    to_process = []
    for round_, total, processed in session.execute(
        select(Round, func.count(Comment.id), func.count(Comment.processed_at))
        .join(Comment, Comment.round_id == Round.id)
        .where(Round.document_id.in_(documents), Round.status != "open", Comment.parent_id.is_(None))
        .group_by(Round.id).order_by(Round.closed_at, Round.id)
    ).all():
        # Once a newer version is uploaded it was made from these comments: the dashboard no longer asks.
        latest = newest.get(round_.document_id)
        if processed < total and latest is not None and round_.version_id == latest[0].id:
            document = documents[round_.document_id]
            to_process.append(CommentsToProcess(round_, document, networks[document.network_id], total - processed,
                                                total))

    approvals = finalising.person_approvals(session, [v.id for v, rule in newest.values() if rule == "person"])
    ready = []
    for document in sorted(documents.values(), key=lambda d: d.title.casefold()):
        if document.id not in newest:
            continue
        version, rule = newest[document.id]
        if rule == "person":
            total, approving = approvals.get(version.id, (0, 0))
            agreed = total > 0 and approving == total
        else:
            agreed = _agreed(session, document, version, rule)
        if agreed:
            ready.append(ReadyToFinalise(document, networks[document.network_id], version))

    coordinated = [network_id for network_id, own in staff.items() if own.role == "coordinator"]
    failed_mail = sorted((FailedMail(networks[network_id], count) for network_id, count
                          in undelivered.undelivered_counts(session, coordinated).items()),
                         key=lambda f: f.network.name.casefold())
    failed_webhooks = sorted((FailedWebhooks(networks[network_id], count) for network_id, count
                              in undelivered.failed_webhook_counts(session, coordinated).items()),
                             key=lambda f: f.network.name.casefold())
    # The meetings' action points past their due date, of every network the person works in (one statement).
    overdue_actions = [OverdueAction(entry, networks[entry.network_id])
                       for entry in minutes.overdue(session, list(staff), now=now)]
    return Attention(closing, to_process, ready, failed_mail, failed_webhooks=failed_webhooks,
                     overdue_actions=overdue_actions)


def _round_figures(session: Session, rounds: list[Round]) -> dict[int, tuple[int, int]]:
    """round id -> (who decides, who has decided) in each round by its rule: the rounds decided per person in one
    statement, each one decided per organisation by `decisions.round_parties`."""
    figures = {r.id: (0, 0) for r in rounds}
    per_person = [r.id for r in rounds if r.decision_rule != "organisation"]
    if per_person:
        figures.update({round_id: (invited, decided) for round_id, invited, decided in session.execute(
            select(Participant.round_id, func.count(Participant.id), func.count(Participant.current_verdict_id))
            .where(Participant.round_id.in_(per_person), Participant.can_vote.is_(True),
                   Participant.removed_at.is_(None)).group_by(Participant.round_id))})
    for round_ in rounds:
        if round_.decision_rule == "organisation":
            figures[round_.id] = _figures(session, round_)
    return figures


def _figures(session: Session, round_: Round) -> tuple[int, int]:
    """(who decides, who has decided) in the round by its rule: per person one counting statement; per
    organisation the parties of `decisions.round_parties`."""
    if round_.decision_rule == "organisation":
        parties = decisions.round_parties(session, round_)
        return len(parties), sum(1 for _name, value in parties if value is not None)
    invited, decided = session.execute(
        select(func.count(Participant.id), func.count(Participant.current_verdict_id))
        .where(Participant.round_id == round_.id, Participant.can_vote.is_(True), Participant.removed_at.is_(None))
    ).one()
    return invited, decided


def _agreed(session: Session, document: Document, version: Version, rule: str | None = None) -> bool:
    """Whether every party said akkoord to the version: what `finalising.check_finalisable` asks, read unlocked and
    counted in SQL (per person)."""
    return finalising.agreement(session, document, version, rule=rule, limit=0).unanimous


# The next step on a document --------------------------------------------------------------------------------------

@dataclass
class NextStep:
    """The one thing to do next on a document: `action` names it, the rest is what the hint says and links to."""

    action: str  # upload_first | open_round | await_verdicts | process_comments | upload_new_version | finalise
    version: Version | None = None
    round: Round | None = None
    unprocessed: int = 0
    pending: int = 0


def next_step(session: Session, document: Document, known: timeline.Facts | None = None,
              agreed: bool | None = None) -> NextStep | None:
    """What comes next on the document, or None once it is final (or withdrawn). A page that read the document's
    `timeline.facts`, or knows whether everyone agrees on its newest version, passes them in."""
    if document.status not in ("draft", "in_review"):
        return None
    if known is not None:
        latest, last = known.latest, known.last_round
    else:
        # The newest version with the last round beside it, in one statement.
        last_id = (select(Round.id).where(Round.document_id == document.id).order_by(Round.number.desc()).limit(1)
                   .scalar_subquery())
        found = session.execute(select(Version, Round).outerjoin(Round, Round.id == last_id)
                                .where(Version.document_id == document.id).order_by(Version.number.desc())
                                .limit(1)).first()
        latest, last = found if found is not None else (None, None)
    if latest is None:
        return NextStep("upload_first")

    def everyone_agrees() -> bool:
        return agreed if agreed is not None else _agreed(session, document, latest)

    if last is not None and last.is_open:
        if last.version_id == latest.id and everyone_agrees():
            return NextStep("finalise", version=latest, round=last)
        if known is not None:
            figures = known.figures[last.id]
            invited, decided = figures.voters, figures.decided
        else:
            invited, decided = _figures(session, last)
        return NextStep("await_verdicts", version=latest, round=last, pending=invited - decided)
    if last is None or last.version_id != latest.id:  # a new version: its comments were answered by it
        return NextStep("open_round", version=latest, round=last)
    if everyone_agrees():
        return NextStep("finalise", version=latest, round=last)
    unprocessed = (known.figures[last.id].comments - known.figures[last.id].processed if known is not None
                   else _unprocessed(session, last.id))
    if unprocessed:
        return NextStep("process_comments", version=latest, round=last, unprocessed=unprocessed)
    return NextStep("upload_new_version", version=latest, round=last)


def _unprocessed(session: Session, round_id: int) -> int:
    return session.scalar(select(func.count(Comment.id)).where(
        Comment.round_id == round_id, Comment.parent_id.is_(None), Comment.processed_at.is_(None)))
