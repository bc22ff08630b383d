"""Long lists on the staff pages a page at a time, counted in SQL: the cost of a page does not grow with the network."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Row, and_, case, false, func, null, or_, select, true
from sqlalchemy.orm import Session, aliased, contains_eager

from storage.database.models import (
    APPROVING_VERDICTS,
    VERDICTS,
    VOTING_ROLES,
    Comment,
    MailMessage,
    Membership,
    Organisation,
    Participant,
    Person,
    Round,
    Verdict,
)
from workflows.domain import attention, comments, reminders, undelivered

PER_PAGE = 50  # rows of a long list on one page
ATTENTION_LIMIT = 50  # people under "no verdict yet" and parties under "niet akkoord" shown before "see the list"


@dataclass
class Page:
    """One page of a long list: its rows, which page it is and how many rows the whole list has."""

    items: list
    number: int
    total: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def complete(self) -> bool:
        """Whether this page holds the whole list."""
        return self.pages == 1

    def numbers(self, around: int = 2) -> list[int | None]:
        """The page numbers to link to: the first, the last and those near this one; None where some are left out."""
        shown = sorted({1, self.pages, *range(max(1, self.number - around), min(self.pages, self.number + around) + 1)})
        result: list[int | None] = []
        for n in shown:
            if result and n - result[-1] > 1:
                result.append(None)
            result.append(n)
        return result


def page_of(statement, session: Session, number: int, total: int, per_page: int = PER_PAGE) -> Page:
    """The rows of `statement` (already ordered) on page `number`; a number past the end shows the last page."""
    pages = max(1, -(-total // per_page))
    number = min(max(number, 1), pages)
    rows = session.execute(statement.limit(per_page).offset((number - 1) * per_page)).all() if total else []
    return Page(rows, number, total, per_page)


# A round's people ---------------------------------------------------------------------------------------------------

@dataclass
class Against:
    """A party that said niet akkoord: a person, or an organisation through its representative."""

    name: str
    verdict: Row  # created_at, person_name, substitution_id, on_behalf_of_name, reason
    is_organisation: bool
    organisation_name: str  # a person's organisation


@dataclass
class RoundPeople(attention.Tally):
    """What the round page shows of its people: the figures by its rule, who still has to respond and who said niet
    akkoord (the first `ATTENTION_LIMIT`), and one page of everyone under a filter. Same figures as
    `attention.round_overview`, counted in SQL."""

    rule: str
    counts: dict[str, int]
    invited: int
    filters: dict[str, int]
    waiting: list[attention.Party]
    waiting_entries: int  # how many people the waiting parties hold in all (the list shows the first few)
    against: list[Against]
    everyone: Page
    entries: list[attention.Entry] = field(default_factory=list)

    @property
    def waiting_shown(self) -> int:
        return sum(len(p.entries) for p in self.waiting)

    def filter_counts(self) -> dict[str, int]:
        return self.filters


class _Columns:
    """The SQL for one participant's standing in the round by its rule (see `attention.Entry`)."""

    def __init__(self, round_: Round):
        self.round = round_
        self.deciding = and_(Participant.can_vote.is_(True), Participant.removed_at.is_(None))
        self.own_value = case((Verdict.suggestion.is_(False), Verdict.value), else_=None)
        self.by_organisation = round_.decision_rule == "organisation"
        if self.by_organisation:
            latest = (select(Verdict.organisation_id, func.max(Verdict.id).label("verdict_id"))
                      .join(Participant, Verdict.participant_id == Participant.id)
                      .where(Verdict.round_id == round_.id, Verdict.organisation_id.is_not(None),
                             Verdict.suggestion.is_(False), Participant.removed_at.is_(None))
                      .group_by(Verdict.organisation_id).subquery())
            self.latest = latest
            self.organisation_verdict = aliased(Verdict, name="organisation_verdict")
            counts = and_(Organisation.id.is_not(None), Organisation.has_vote.is_(True), Organisation.left_at.is_(None))
            self.counts = counts
            self.party_value = case((and_(self.deciding, Organisation.id.is_(None)), self.own_value),
                                    (and_(self.deciding, counts), self.organisation_verdict.value), else_=None)
            self.member = and_(self.deciding, or_(Organisation.id.is_(None), counts))
            self.party_organisation = case((counts, Organisation.id), else_=None)
            self.party_name = case((counts, Organisation.name), else_=Membership.name)
        else:
            self.party_value = case((self.deciding, Verdict.value), else_=None)
            self.member = self.deciding
            self.counts = false()
            self.party_organisation = null()
            self.party_name = Membership.name
        approving = tuple(APPROVING_VERDICTS)
        self.filters = {
            "alle": true(),
            "open": and_(self.deciding, self.party_value.is_(None)),
            "niet-akkoord": or_(self.party_value == "niet_akkoord", self.own_value == "niet_akkoord"),
            "akkoord": or_(self.party_value.in_(approving), self.own_value.in_(approving)),
        }

    def joined(self, statement):
        """`statement` over the round's participants with their membership, organisation and verdicts joined."""
        statement = (statement.select_from(Participant)
                     .join(Membership, Participant.membership_id == Membership.id)
                     .outerjoin(Organisation, Membership.organisation_id == Organisation.id)
                     .outerjoin(Verdict, Participant.current_verdict_id == Verdict.id))
        if self.by_organisation:
            statement = (statement.outerjoin(self.latest, self.latest.c.organisation_id == Organisation.id)
                         .outerjoin(self.organisation_verdict, self.organisation_verdict.id == self.latest.c.verdict_id))
        return statement.where(Participant.round_id == self.round.id)


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def round_people(session: Session, round_: Round, *, shown: str = "alle", page: int = 1,
                 per_page: int = PER_PAGE, limit: int = ATTENTION_LIMIT) -> RoundPeople:
    """The round page's people in five statements whatever the size of the round: the counts per filter with the
    figures per party, the first who still have to respond, one page of everyone under `shown` (`attention.FILTERS`),
    the first who said niet akkoord, and the latest invitations of the people shown."""
    c = _Columns(round_)
    # The filters' counts, and the parties by their verdict (a person counts once, an organisation once however many
    # of its people take part), in one statement.
    def parties(condition):
        return (func.count(func.distinct(case((and_(condition, c.party_organisation.is_not(None)),
                                                c.party_organisation))))
                + _count_if(and_(condition, c.party_organisation.is_(None))))

    figures = list(session.execute(c.joined(select(
        *(_count_if(c.filters[f]) for f in attention.FILTERS), _count_if(and_(c.member, c.party_value.is_(None))),
        parties(c.member), *(parties(and_(c.member, c.party_value == value)) for value in VERDICTS),
    ))).one())
    filters = dict(zip(attention.FILTERS, figures[:len(attention.FILTERS)], strict=True))
    waiting_entries, invited, *by_value = figures[len(attention.FILTERS):]
    counts = dict(zip(VERDICTS, by_value, strict=True))

    entity_columns = (Participant, Membership, Verdict, c.party_value.label("party_value"),
                      c.party_organisation.label("party_organisation"))

    def entries(statement):
        return statement.options(contains_eager(Membership.organisation))

    # Per organisation its people stay together, representatives first (as `attention.round_overview` lists them).
    order = ((func.lower(c.party_name), c.party_organisation, Membership.representative.desc(), Membership.name,
              Participant.id) if c.by_organisation else (Membership.name, Participant.id))
    waiting_rows = session.execute(entries(c.joined(select(*entity_columns))).where(c.member, c.party_value.is_(None))
                                   .order_by(*order).limit(limit)).all()
    everyone = page_of(entries(c.joined(select(*entity_columns))).where(c.filters[shown])
                       .order_by(Membership.name, Participant.id), session, page, filters[shown], per_page)

    verdict = c.organisation_verdict if c.by_organisation else Verdict
    is_organisation = c.counts if c.by_organisation else false()
    against_rows = session.execute(
        c.joined(select(verdict.id, verdict.created_at, verdict.person_name, verdict.substitution_id,
                        verdict.on_behalf_of_name, verdict.reason, c.party_name.label("name"),
                        is_organisation.label("is_organisation"),
                        func.coalesce(Organisation.name, "").label("organisation_name"),
                        func.lower(c.party_name).label("sort")))
        .where(c.member, c.party_value == "niet_akkoord").distinct().order_by("sort", verdict.id).limit(limit)
    ).all()
    # Each shown person's latest invitation in the round (a new link is a new invitation).
    mail = latest_invitations(session, round_.id, {row[0].person_id for row in waiting_rows}
                              | {row[0].person_id for row in everyone.items})

    def entry(row) -> attention.Entry:
        participant, membership, verdict_, party_value, _party = row
        return attention.Entry(participant, membership, verdict_, mail.get(participant.person_id), party_value)

    waiting: list[attention.Party] = []
    for row in waiting_rows:
        party_id = row.party_organisation
        current = waiting[-1] if waiting else None
        if party_id is not None and current is not None and current.is_organisation \
                and current.entries[0].membership.organisation_id == party_id:
            current.entries.append(entry(row))
            continue
        made = entry(row)
        name = made.organisation_name if party_id is not None else made.name
        waiting.append(attention.Party(name, None, None, [made], is_organisation=party_id is not None))
    everyone.items = [entry(row) for row in everyone.items]
    against = [Against(row.name, row, bool(row.is_organisation), row.organisation_name) for row in against_rows]
    return RoundPeople(rule=round_.decision_rule, counts=counts, invited=invited, filters=filters, waiting=waiting,
                       waiting_entries=waiting_entries, against=against, everyone=everyone,
                       entries=everyone.items)


def latest_invitations(session: Session, round_id: int, person_ids: set[int]) -> dict[int, Row]:
    """`undelivered.latest_invitations` for these people only (the ones a page shows)."""
    if not person_ids:
        return {}
    return {row.person_id: row for row in session.execute(
        select(*undelivered.STATE).where(MailMessage.round_id == round_id, MailMessage.email == "invitation",
                                         MailMessage.person_id.in_(sorted(person_ids)))
        .order_by(MailMessage.id))}


# A network's members ------------------------------------------------------------------------------------------------

def members_page(session: Session, network_id: int, *, search: str = "", page: int = 1,
                 per_page: int = PER_PAGE) -> tuple[Page, int]:
    """One page of the network's current members (by name), those whose name, organisation or address holds `search`;
    and how many members the network has in all. Two statements."""
    condition = and_(Membership.network_id == network_id, Membership.left_at.is_(None))
    everyone, found = session.execute(
        select(func.count(Membership.id), _count_if(_matches(search)))
        .select_from(Membership).join(Person, Membership.person_id == Person.id)
        .outerjoin(Organisation, Membership.organisation_id == Organisation.id).where(condition)).one()
    statement = (select(Membership).join(Person, Membership.person_id == Person.id)
                 .outerjoin(Organisation, Membership.organisation_id == Organisation.id)
                 .options(contains_eager(Membership.person), contains_eager(Membership.organisation))
                 .where(condition, _matches(search)).order_by(Membership.name, Membership.id))
    result = page_of(statement, session, page, found, per_page)
    result.items = [row[0] for row in result.items]
    return result, everyone


def _matches(search: str):
    words = search.split()
    if not words:
        return true()
    return and_(*(or_(*(func.lower(column).contains(word.casefold(), autoescape=True)
                        for column in (Membership.name, Organisation.name, Person.email))) for word in words[:5]))


# A document's people × rounds ---------------------------------------------------------------------------------------

def voters_page(session: Session, network_id: int, *, page: int = 1, per_page: int = PER_PAGE,
                total: int | None = None, among=None) -> Page:
    """One page of the network's current members with a vote (in the order they joined), with their organisation;
    counted unless the caller knows how many there are (`finalising.agreement` counts them per person). `among`:
    a further condition on the members (`deciders.among`: a meeting's minutes are decided by its attendees)."""
    condition = and_(Membership.network_id == network_id, Membership.left_at.is_(None),
                     Membership.role.in_(VOTING_ROLES), *(() if among is None else (among,)))
    if total is None:
        total = session.scalar(select(func.count(Membership.id)).where(condition))
    result = page_of(select(Membership).outerjoin(Organisation, Membership.organisation_id == Organisation.id)
                     .options(contains_eager(Membership.organisation)).where(condition).order_by(Membership.id),
                     session, page, total, per_page)
    result.items = [row[0] for row in result.items]
    return result


def matrix_cells(session: Session, round_ids: list[int], person_ids: list[int]) -> dict[tuple[int, int], str | None]:
    """(round id, person id) -> where these people stood in these rounds: their verdict's value (a colleague's
    suggestion as "suggestion:<value>"), None without one; absent when they were not in the round."""
    if not round_ids or not person_ids:
        return {}
    return {(round_id, person_id): (f"suggestion:{value}" if suggestion else value)
            for round_id, person_id, value, suggestion in session.execute(
        select(Participant.round_id, Participant.person_id, Verdict.value, Verdict.suggestion)
        .outerjoin(Verdict, Participant.current_verdict_id == Verdict.id)
        .where(Participant.round_id.in_(round_ids), Participant.person_id.in_(person_ids),
               Participant.removed_at.is_(None)))}


# A round's comments -------------------------------------------------------------------------------------------------

def comment_figures(session: Session, round_id: int) -> tuple[tuple, comments.Progress, int]:
    """In one statement: the stats of the round's comments `service.web.rendering.comment_stats` keys its cache by
    (count, newest id, last processing time), how far they are processed (with how many proposals there are and
    how many have their wording taken), and how many reminders the round had."""
    top = Comment.parent_id.is_(None)
    count, newest, processed_at, processed, proposed, taken, reminded = session.execute(
        select(_count_if(top), func.max(Comment.id), func.max(Comment.processed_at),
               func.count(case((top, Comment.processed_at))), func.count(Comment.proposed_text),
               func.count(Comment.taken_text), reminders.reminders_sent_query(round_id).scalar_subquery())
        .where(Comment.round_id == round_id)).one()
    return ((count, newest, processed_at),
            comments.Progress(processed=processed, total=count, proposals=proposed, taken=taken), reminded or 0)


def comment_page_count(total: int, per_page: int = PER_PAGE) -> int:
    return max(1, -(-total // per_page))


def comments_on_page(round_id: int, page: int, per_page: int = PER_PAGE) -> list:
    """The conditions for one page of a round's comments in order (their replies come with them)."""
    ids = (select(Comment.id).where(Comment.round_id == round_id, Comment.parent_id.is_(None))
           .order_by(Comment.id).limit(per_page).offset((page - 1) * per_page))
    return [Comment.round_id == round_id, Comment.id.in_(ids)]
