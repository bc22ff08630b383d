"""The network's parties: organisations with their kind and vote, the register of toe- en uittreding (joined and
left, each with the decision that said so), its .xlsx export, and the import of organisations with their
representatives by CSV (all of it or nothing)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.database.engine import lock
from storage.database.models import (
    ORGANISATION_KINDS,
    Membership,
    Network,
    Organisation,
    Participant,
    Person,
    Round,
    utcnow,
)
from storage.formats.table_xlsx import write_table_xlsx
from workflows import audit
from workflows.domain import inputs, membership, rounds
from workflows.domain.exports import safe_filename
from workflows.domain.notifications import Recipient, queue_emails
from workflows.domain.people import active_membership, normalise_email
from workflows.domain.wording import TIMEZONE, translator
from workflows.errors import Conflict, CsvRejected, InvalidInput, NotFound

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NAME_LIMIT = 200
REFERENCE_LIMIT = 500

# The words a CSV file may use for a kind: the handbooks' Dutch, with or without the diaeresis, and the codes.
KIND_WORDS = {
    "patientenorganisatie": "patientenorganisatie", "patiëntenorganisatie": "patientenorganisatie",
    "patientenvereniging": "patientenorganisatie", "patiëntenvereniging": "patientenorganisatie",
    "expertisecentrum": "expertisecentrum", "erkend expertisecentrum": "expertisecentrum",
    "huisartsenpraktijk": "huisartsenpraktijk", "praktijk": "huisartsenpraktijk",
    "huisartsenpost": "huisartsenpost", "hap": "huisartsenpost",
    "apotheek": "apotheek", "ziekenhuis": "ziekenhuis", "gemeente": "gemeente", "zorgverzekeraar": "zorgverzekeraar",
    "anders": "other", "overig": "other", "other": "other",
}
YES = {"ja", "j", "yes", "y", "1", "waar", "true", "x"}
NO = {"nee", "n", "no", "0", "onwaar", "false", ""}

# The CSV columns (Dutch, or their English names), in the order the page documents them.
CSV_COLUMNS = ("organisatie", "soort", "stem", "toegetreden", "besluit", "naam", "email", "rol", "vertegenwoordiger")
CSV_ALIASES = {
    "organisatie": "organisatie", "organisation": "organisatie", "organization": "organisatie",
    "soort": "soort", "kind": "soort", "type": "soort",
    "stem": "stem", "vote": "stem", "has_vote": "stem",
    "toegetreden": "toegetreden", "joined": "toegetreden", "datum toetreding": "toegetreden",
    "besluit": "besluit", "decision": "besluit", "reference": "besluit",
    "naam": "naam", "name": "naam",
    "email": "email", "e-mail": "email", "e-mailadres": "email", "emailadres": "email",
    "rol": "rol", "role": "rol",
    "vertegenwoordiger": "vertegenwoordiger", "representative": "vertegenwoordiger",
}
_DATE = re.compile(r"^(?:(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}))$")


def kind_labels(locale: str = "nl") -> dict[str, str]:
    """The kinds in words (also marked for the catalogue here: the pages use the same texts)."""
    _ = translator(locale)
    return {
        "patientenorganisatie": _("Patient organisation"), "expertisecentrum": _("Expertise centre"),
        "huisartsenpraktijk": _("GP practice"), "huisartsenpost": _("GP out-of-hours service"),
        "apotheek": _("Pharmacy"), "ziekenhuis": _("Hospital"), "gemeente": _("Municipality"),
        "zorgverzekeraar": _("Health insurer"), "other": _("Other"),
    }


def parse_kind(word: str) -> str | None:
    return KIND_WORDS.get(" ".join(word.strip().lower().split()))


def parse_yes_no(word: str, default: bool) -> bool | None:
    word = word.strip().lower()
    if not word:
        return default
    return True if word in YES else False if word in NO else None


def parse_date(word: str) -> dt.date | None:
    """25-03-2026, 25/3/2026 or 2026-03-25 (None when it is none of these or no real day)."""
    match = _DATE.match(word.strip())
    if not match:
        return None
    year, month, day = (match.group(1), match.group(2), match.group(3)) if match.group(1) else \
        (match.group(6), match.group(5), match.group(4))
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def day_start(day: dt.date) -> dt.datetime:
    """A register date as the moment it began in Dutch time (shown as that same day on every page)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=TIMEZONE).astimezone(dt.UTC)


def today() -> dt.date:
    return utcnow().astimezone(TIMEZONE).date()


def _name(name: str) -> str:
    name = inputs.single_line(name, "organisation")
    if not name:
        raise InvalidInput("organisation_name_required")
    if len(name) > NAME_LIMIT:
        raise InvalidInput("too_long", limit=NAME_LIMIT)
    return name


def _reference(reference: str) -> str:
    reference = inputs.single_line(reference or "", "reference")
    if len(reference) > REFERENCE_LIMIT:
        raise InvalidInput("too_long", limit=REFERENCE_LIMIT)
    return reference


# The register's earliest date: before it a date is a typing mistake (and year 1 does not survive the time zone).
REGISTER_FROM = dt.date(1900, 1, 1)


def _day(day: dt.date | None) -> dt.date:
    day = day or today()
    if day > today():
        raise InvalidInput("register_date_in_future")
    if day < REGISTER_FROM:
        raise InvalidInput("register_date_too_early")
    return day


def _kind(kind: str) -> str:
    if kind not in ORGANISATION_KINDS:
        raise InvalidInput("unknown_organisation_kind")
    return kind


def organisation_in(session: Session, network_id: int, organisation_id: int) -> Organisation:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or organisation.network_id != network_id:
        raise NotFound()
    return organisation


# The register -------------------------------------------------------------------------------------------------


def add_organisation(session: Session, network: Network, *, name: str, kind: str, has_vote: bool,
                     joined_on: dt.date | None, joined_reference: str, actor: Person) -> Organisation:
    """A new party in the network, joined on `joined_on` (today when not given) by the decision named."""
    name, kind, joined_reference = _name(name), _kind(kind), _reference(joined_reference)
    day = _day(joined_on)
    if session.scalar(select(Organisation.id).where(Organisation.network_id == network.id,
                                                    Organisation.name == name)) is not None:
        raise Conflict("organisation_exists", name=name)
    organisation = Organisation(network_id=network.id, name=name, kind=kind, has_vote=has_vote)
    session.add(organisation)
    session.flush()
    audit.record(session, network.id, "organisation_added", actor_id=actor.id, organisation_id=organisation.id,
                 name=name, organisation_kind=kind, has_vote=has_vote)
    record_joining(session, organisation, on=day, reference=joined_reference, actor=actor)
    return organisation


def update_organisation(session: Session, organisation: Organisation, *, kind: str, has_vote: bool,
                        actor: Person) -> Organisation:
    """Its kind and whether it has a vote (the name is how people and files know it: it stays)."""
    kind = _kind(kind)
    organisation = lock(session, Organisation, organisation.id)
    before = {"kind": organisation.kind, "has_vote": organisation.has_vote}
    organisation.kind, organisation.has_vote = kind, has_vote
    session.flush()
    audit.record(session, organisation.network_id, "organisation_changed", actor_id=actor.id,
                 organisation_id=organisation.id, name=organisation.name, before=before,
                 after={"kind": kind, "has_vote": has_vote})
    return organisation


def record_joining(session: Session, organisation: Organisation, *, on: dt.date | None, reference: str,
                   actor: Person) -> list[Participant]:
    """Toetreding: the date and the decision go into the register; an organisation that left joins again. Its
    people not yet taking part in an open round are added to it and invited (invariant 4); people added to it
    later are invited by `membership.add_member`."""
    reference, day = _reference(reference), _day(on)
    open_rounds = rounds.open_rounds_in_network(session, organisation.network_id)
    for open_round in open_rounds:  # the lock order: every round (by id) before the rows under them
        lock(session, Round, open_round.id)
    organisation = lock(session, Organisation, organisation.id)
    rejoined = organisation.left_at is not None
    organisation.joined_at, organisation.joined_reference = day_start(day), reference
    organisation.left_at, organisation.left_reference = None, ""
    session.flush()
    audit.record(session, organisation.network_id, "organisation_joined", actor_id=actor.id,
                 organisation_id=organisation.id, name=organisation.name, joined_on=day.isoformat(),
                 reference=reference, rejoined=rejoined)
    members = _active_members_of(session, organisation)
    added = []
    for open_round in open_rounds:
        taking_part = set(session.scalars(select(Participant.person_id).where(
            Participant.round_id == open_round.id, Participant.removed_at.is_(None))))
        for member in members:
            if member.person_id not in taking_part:
                participant = rounds.add_participant(session, open_round, member, actor=actor)
                if participant is not None:
                    added.append(participant)
    return added


def record_leaving(session: Session, organisation: Organisation, *, on: dt.date | None, reference: str,
                   actor: Person) -> list[Membership]:
    """Uittreding: the date and the decision go into the register, and its people leave the network with it: in
    an open round they stop counting at once (`membership.remove_member`), and each is told by mail."""
    reference, day = _reference(reference), _day(on)
    if organisation.left_at is not None:
        raise Conflict("organisation_already_left", name=organisation.name)
    members = _active_members_of(session, organisation)
    if any(member.person_id == actor.id for member in members):
        raise Conflict("organisation_has_you", name=organisation.name)
    open_rounds = rounds.open_rounds_in_network(session, organisation.network_id)
    for open_round in open_rounds:  # the lock order: every round (by id) before its participants
        lock(session, Round, open_round.id)
    organisation = lock(session, Organisation, organisation.id)
    if organisation.left_at is not None:  # someone else recorded it meanwhile
        raise Conflict("organisation_already_left", name=organisation.name)
    # Who was taking part in which open round, before they leave: that is what their mail tells them.
    taking_part: dict[int, list[int]] = {}
    for person_id, round_id in session.execute(
            select(Participant.person_id, Participant.round_id)
            .where(Participant.round_id.in_([r.id for r in open_rounds]),
                   Participant.membership_id.in_([m.id for m in members]), Participant.removed_at.is_(None))
            .order_by(Participant.round_id)):
        taking_part.setdefault(person_id, []).append(round_id)
    organisation.left_at, organisation.left_reference = day_start(day), reference
    session.flush()
    for member in members:
        membership.remove_member(session, member, actor=actor)
    audit.record(session, organisation.network_id, "organisation_left", actor_id=actor.id,
                 organisation_id=organisation.id, name=organisation.name, left_on=day.isoformat(),
                 reference=reference, people=[m.person_id for m in members],
                 participants_removed=sum(len(ids) for ids in taking_part.values()))
    queue_emails(session, "organisation_left", [
        Recipient(member.person, f"organisation_left:{organisation.id}:{member.id}",
                  {"organisation_id": organisation.id, "round_ids": taking_part.get(member.person_id, [])})
        for member in members
    ], network_id=organisation.network_id)
    return members


def _active_members_of(session: Session, organisation: Organisation) -> list[Membership]:
    return list(session.scalars(select(Membership).where(
        Membership.organisation_id == organisation.id, Membership.left_at.is_(None)).order_by(Membership.id)))


@dataclass
class RegisterRow:
    organisation: Organisation
    people: int
    representatives: list[str]


def register(session: Session, network_id: int) -> list[RegisterRow]:
    """Every organisation the network has had, present ones first, each with its people and representatives."""
    organisations = list(session.scalars(select(Organisation).where(Organisation.network_id == network_id)
                                         .order_by(Organisation.left_at.is_not(None), Organisation.name)))
    counts: dict[int, int] = {}
    representatives: dict[int, list[str]] = {}
    for organisation_id, name, representative in session.execute(
            select(Membership.organisation_id, Membership.name, Membership.representative)
            .where(Membership.network_id == network_id, Membership.left_at.is_(None),
                   Membership.organisation_id.is_not(None)).order_by(Membership.name)):
        counts[organisation_id] = counts.get(organisation_id, 0) + 1
        if representative:
            representatives.setdefault(organisation_id, []).append(name)
    return [RegisterRow(o, counts.get(o.id, 0), representatives.get(o.id, [])) for o in organisations]


def register_xlsx(session: Session, network: Network, locale: str = "nl") -> tuple[str, str, bytes]:
    """The register as a sheet: (file name, media type, bytes)."""
    _ = translator(locale)
    kinds = kind_labels(locale)
    yes, no = _("yes"), _("no")

    def day(value: dt.datetime | None) -> str:
        return value.astimezone(TIMEZONE).date().isoformat() if value else ""

    headers = [_("Organisation"), _("Kind"), _("Vote"), _("Joined the network"), _("Decision (joining)"),
               _("Left the network"), _("Decision (leaving)"), _("People"), _("Representatives")]
    rows = [[row.organisation.name, kinds.get(row.organisation.kind, row.organisation.kind),
             yes if row.organisation.has_vote else no, day(row.organisation.joined_at),
             row.organisation.joined_reference, day(row.organisation.left_at), row.organisation.left_reference,
             str(row.people), ", ".join(row.representatives)] for row in register(session, network.id)]
    title = _("Register of joining and leaving: %(network)s", network=network.name)
    data = write_table_xlsx(title, headers, rows, widths=(36, 22, 8, 13, 36, 13, 36, 9, 40))
    return safe_filename(_("Register %(network)s", network=network.name), ".xlsx"), XLSX, data


# Import -------------------------------------------------------------------------------------------------------


@dataclass
class _ImportedOrganisation:
    name: str
    line: int
    existing: Organisation | None = None
    kind: str | None = None
    has_vote: bool | None = None
    joined_on: dt.date | None = None
    reference: str | None = None
    kind_given: bool = False  # a kind was typed (if unknown, that is the line's problem, not a missing kind)
    people: list[tuple[str, str, str, bool]] = field(default_factory=list)


def import_csv(session: Session, network: Network, data: bytes, *, actor: Person) -> tuple[list[Organisation],
                                                                                            list[Membership]]:
    """Organisations and their people from a CSV file with a header line (see README, "Organisations by CSV"):
    all of it, or nothing and every problem reported by line."""
    rows = inputs.csv_rows(data)
    if not rows:
        raise CsvRejected(problems=[(0, "no_rows", "")])
    header = [_column(cell) for cell in rows[0]]
    unknown = [cell for cell, column in zip(rows[0], header, strict=True) if column is None]
    if unknown or "organisatie" not in header or len(set(header)) != len(header):
        raise CsvRejected(problems=[(1, "organisation_header", ",".join(rows[0]))])
    problems: list[tuple[int, str, str]] = []
    wanted: dict[str, _ImportedOrganisation] = {}
    seen: dict[str, int] = {}
    for line_number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append((line_number, "organisation_columns", ",".join(row)))
            continue
        cells = {column: cell.strip() for column, cell in zip(header, row, strict=True)}
        _check_organisation_cells(session, network, cells, line_number, wanted, problems)
        if cells.get("naam") or cells.get("email"):
            _check_person_cells(session, network, cells, line_number, wanted, seen, problems)
    problems += [(item.line, "organisation_kind_required", item.name) for item in wanted.values()
                 if item.existing is None and not item.kind_given]
    problems.sort(key=lambda problem: problem[0])
    if problems:
        raise CsvRejected(problems=problems)
    if not wanted:
        raise CsvRejected(problems=[(0, "no_rows", "")])
    made, people = [], []
    for item in wanted.values():
        organisation = item.existing
        if organisation is None:
            organisation = add_organisation(
                session, network, name=item.name, kind=item.kind or "other",
                has_vote=True if item.has_vote is None else item.has_vote, joined_on=item.joined_on,
                joined_reference=item.reference or "", actor=actor)
            made.append(organisation)
        for name, email, role, representative in item.people:
            member = membership.add_member(session, network, name=name, email=email, organisation_name=organisation.name,
                                           role=role, actor=actor)
            member.representative = representative
            people.append(member)
    session.flush()
    audit.record(session, network.id, "organisations_imported", actor_id=actor.id,
                 organisations=[o.id for o in made], people=[m.person_id for m in people],
                 representatives=[m.person_id for m in people if m.representative])
    return made, people


def _column(cell: str) -> str | None:
    return CSV_ALIASES.get(" ".join(cell.strip().lower().split()))


def _check_organisation_cells(session: Session, network: Network, cells: dict[str, str], line: int,
                              wanted: dict[str, _ImportedOrganisation], problems: list) -> None:
    name = cells["organisatie"]
    if not name:
        problems.append((line, "organisation_required", ""))
        return
    if inputs.refused_in_line(name):
        problems.append((line, "organisation_control_characters", inputs.visible(name)))
        return
    if len(name) > NAME_LIMIT:
        problems.append((line, "organisation_too_long", name[:40] + "…"))
        return
    item = wanted.get(name)
    if item is None:
        existing = session.scalar(select(Organisation).where(Organisation.network_id == network.id,
                                                             Organisation.name == name))
        if existing is not None and existing.left_at is not None:
            problems.append((line, "organisation_left", name))
        item = wanted[name] = _ImportedOrganisation(name=name, line=line, existing=existing)
    kind_word, vote_word = cells.get("soort", ""), cells.get("stem", "")
    date_word, reference = cells.get("toegetreden", ""), cells.get("besluit", "")
    kind = parse_kind(kind_word) if kind_word else None
    item.kind_given = item.kind_given or bool(kind_word)
    if kind_word and kind is None:
        problems.append((line, "unknown_organisation_kind", kind_word))
    has_vote = parse_yes_no(vote_word, True) if vote_word else None
    if vote_word and has_vote is None:
        problems.append((line, "not_yes_no", vote_word))
    joined_on = parse_date(date_word) if date_word else None
    if date_word and joined_on is None:
        problems.append((line, "bad_date", date_word))
    elif joined_on is not None and joined_on > today():
        problems.append((line, "register_date_in_future", date_word))
    elif joined_on is not None and joined_on < REGISTER_FROM:
        problems.append((line, "register_date_too_early", date_word))
    if reference and (inputs.refused_in_line(reference) or len(reference) > REFERENCE_LIMIT):
        problems.append((line, "bad_reference", inputs.visible(reference[:40])))
    if item.existing is not None:
        # An organisation already in the network gains people here; its register entry is changed on its page.
        stored = {"kind": item.existing.kind, "has_vote": item.existing.has_vote}
        if (kind is not None and kind != stored["kind"]) or (has_vote is not None and has_vote != stored["has_vote"]) \
                or joined_on is not None or reference:
            problems.append((line, "organisation_exists_differs", name))
        return
    for attribute, value in (("kind", kind), ("has_vote", has_vote), ("joined_on", joined_on),
                             ("reference", reference or None)):
        if value is None:
            continue
        if getattr(item, attribute) is None:
            setattr(item, attribute, value)
        elif getattr(item, attribute) != value:
            problems.append((line, "organisation_lines_differ", name))


def _check_person_cells(session: Session, network: Network, cells: dict[str, str], line: int,
                        wanted: dict[str, _ImportedOrganisation], seen: dict[str, int], problems: list) -> None:
    name, email = cells.get("naam", ""), cells.get("email", "")
    role_word, representative_word = cells.get("rol", ""), cells.get("vertegenwoordiger", "")
    role = membership.parse_role(role_word) if role_word else "member"
    representative = parse_yes_no(representative_word, False)
    if not name:
        problems.append((line, "name_required", ""))
    elif inputs.refused_in_line(name):
        problems.append((line, "name_control_characters", inputs.visible(name)))
    if not membership.EMAIL.match(email):
        problems.append((line, "bad_email", inputs.visible(email)))
    if role is None:
        problems.append((line, "unknown_role", role_word))
    if representative is None:
        problems.append((line, "not_yes_no", representative_word))
    elif representative and role == "observer":
        problems.append((line, "observer_representative", name))
    key = normalise_email(email)
    if key in seen:
        problems.append((line, "duplicate_in_file", email))
    elif membership.EMAIL.match(email):
        seen[key] = line
        person = session.scalar(select(Person).where(Person.email == key))
        if person is not None and active_membership(session, network.id, person.id) is not None:
            problems.append((line, "already_member", email))
    item = wanted.get(cells["organisatie"])
    if item is not None:
        item.people.append((name, email, role or "member", bool(representative)))
