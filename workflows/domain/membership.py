"""Networks, organisations and people: who belongs, with which role, since when and until when."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.database.engine import lock
from storage.database.models import (
    ROLES,
    Membership,
    Network,
    Organisation,
    Participant,
    Person,
    PersonalLink,
    Round,
    utcnow,
)
from workflows import audit
from workflows.domain import inputs, rounds, undelivered, web_sessions
from workflows.domain.people import active_membership, normalise_email, own_name
from workflows.errors import Conflict, CsvRejected, InvalidInput

# No control characters either: the address goes into the To header and the SMTP envelope.
_ADDRESS_PART = rf"[^@\s,;<>{inputs.LINE_REFUSED}]+"
EMAIL = re.compile(rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}$")
ROLE_WORDS = {
    "coordinator": "coordinator", "coördinator": "coordinator", "coordinatoren": "coordinator",
    "editor": "editor", "redacteur": "editor", "projectgroep": "editor",
    "member": "member", "lid": "member",
    "observer": "observer", "waarnemer": "observer", "toehoorder": "observer",
}
CSV_HEADERS = ({"naam", "email", "organisatie", "rol"}, {"name", "email", "organisation", "role"},
               {"naam", "e-mail", "organisatie", "rol"})


def parse_role(word: str) -> str | None:
    return ROLE_WORDS.get(word.strip().lower())


def create_network(session: Session, name: str, *, coordinator: Person, coordinator_name: str | None = None
                   ) -> Network:
    """A new network with its first coordinator, known there as `coordinator_name` (as they typed it; by default
    their own name, `people.own_name`)."""
    name = inputs.single_line(name, "name")
    if not name:
        raise InvalidInput("name_required")
    if coordinator_name is None:
        coordinator_name = own_name(session, coordinator.id)
    network = Network(name=name)
    session.add(network)
    session.flush()
    audit.record(session, network.id, "network_created", actor_id=coordinator.id, name=name)
    add_member(session, network, name=coordinator_name, email=coordinator.email, organisation_name="",
               role="coordinator", actor=coordinator)
    return network


def get_or_create_person(session: Session, *, name: str, email: str) -> Person:
    """The person with this address; made with `name` if new. A person already known keeps the name they were
    first stored with: each network's own name for them is on its membership (`add_member`)."""
    name, email = inputs.single_line(name, "name"), normalise_email(email)
    person = session.scalar(select(Person).where(Person.email == email))
    if person is None:
        person = Person(name=name, email=email)
        session.add(person)
        session.flush()
    return person


def get_or_create_organisation(session: Session, network: Network, name: str, actor: Person | None) -> Organisation | None:
    name = inputs.single_line(name, "organisation")
    if not name:
        return None
    organisation = session.scalar(
        select(Organisation).where(Organisation.network_id == network.id, Organisation.name == name)
    )
    if organisation is None:
        organisation = Organisation(network_id=network.id, name=name)
        session.add(organisation)
        session.flush()
        audit.record(session, network.id, "organisation_added", actor_id=actor.id if actor else None,
                     organisation_id=organisation.id, name=name)
    return organisation


def add_member(session: Session, network: Network, *, name: str, email: str, organisation_name: str, role: str,
               actor: Person | None) -> Membership:
    """Add a person to the network; during an open round they join it and are invited (invariant 4)."""
    name = inputs.single_line(name, "name")
    organisation_name = inputs.single_line(organisation_name, "organisation")
    problems = _member_problems(name, email, role)
    if problems:
        raise InvalidInput(problems[0])
    person = get_or_create_person(session, name=name, email=email)
    if active_membership(session, network.id, person.id) is not None:
        raise Conflict("already_member", email=person.email)
    organisation = get_or_create_organisation(session, network, organisation_name, actor)
    if organisation is not None and organisation.left_at is not None:  # the register says it left the network
        raise Conflict("organisation_already_left", name=organisation.name)
    membership = Membership(network_id=network.id, person_id=person.id, role=role, name=name,
                            organisation_id=organisation.id if organisation else None, joined_at=utcnow())
    session.add(membership)
    session.flush()
    audit.record(session, network.id, "member_joined", actor_id=actor.id if actor else None,
                 person_id=person.id, email=person.email, role=role,
                 organisation=organisation.name if organisation else "")
    for open_round in rounds.open_rounds_in_network(session, network.id):
        rounds.add_participant(session, open_round, membership, actor=actor)
    return membership


def _member_problems(name: str, email: str, role: str) -> list[str]:
    problems = []
    if not name.strip():
        problems.append("name_required")
    if not EMAIL.match(email.strip()):
        problems.append("bad_email")
    if role not in ROLES:
        problems.append("unknown_role")
    return problems


def remove_member(session: Session, membership: Membership, *, actor: Person) -> None:
    """The member leaves: they stop counting, and their personal links die."""
    if membership.left_at is not None:
        raise Conflict("already_left")
    now = utcnow()
    membership.left_at = now
    participants = session.scalars(
        select(Participant).join(Round).where(
            Participant.membership_id == membership.id, Participant.removed_at.is_(None)
        ).order_by(Participant.round_id)
    ).all()
    for participant in participants:
        lock(session, Round, participant.round_id)  # the lock order: round before participant
        participant.removed_at = now
        for link in session.scalars(select(PersonalLink).where(
                PersonalLink.participant_id == participant.id, PersonalLink.revoked_at.is_(None))):
            link.revoked_at = now
    audit.record(session, membership.network_id, "member_left", actor_id=actor.id,
                 person_id=membership.person_id, email=membership.person.email)
    session.flush()
    web_sessions.end_unless_staff(session, membership.person_id, now=now)  # their last staff role: signed out


def correct_email(session: Session, membership: Membership, new_email: str, *, actor: Person) -> list:
    """A coordinator corrects a member's address (a mail server refused it, say) and their failed mail of this
    network goes again, to the new address. A person is shared by every network they belong to, so the address of
    someone who is also in another network is not changed from here: that is for the person to settle."""
    undelivered.require_coordinator(session, membership.network_id, actor)
    if membership.left_at is not None:
        raise Conflict("already_left")
    if not EMAIL.match(new_email.strip()):
        raise InvalidInput("bad_email")
    person = lock(session, Person, membership.person_id)
    old_email, new_email = person.email, normalise_email(new_email)
    if new_email == old_email:
        raise Conflict("email_unchanged", email=old_email)
    if session.scalar(select(Person.id).where(Person.email == new_email)) is not None:
        raise Conflict("email_taken", email=new_email)
    elsewhere = session.scalar(select(Membership.id).where(
        Membership.person_id == person.id, Membership.network_id != membership.network_id,
        Membership.left_at.is_(None)).limit(1))
    if elsewhere is not None:
        raise Conflict("address_shared", name=membership.name)
    person.email = new_email
    session.flush()
    resent = undelivered.resend_after_correction(session, person, membership.network_id)
    audit.record(session, membership.network_id, "member_email_corrected", actor_id=actor.id, person_id=person.id,
                 membership_id=membership.id, old_email=old_email, new_email=new_email,
                 resent=[item.id for item in resent])
    return resent


def import_members_csv(session: Session, network: Network, data: bytes, *, actor: Person) -> list[Membership]:
    """Import naam,email,organisatie,rol rows: all of them, or none and every bad row reported."""
    rows = inputs.csv_rows(data)
    problems: list[tuple[int, str, str]] = []
    wanted: list[tuple[str, str, str, str]] = []
    seen: dict[str, int] = {}
    start = 0
    if rows and {cell.strip().lower() for cell in rows[0]} in CSV_HEADERS:
        start = 1
    for line_number, row in enumerate(rows[start:], start=start + 1):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 4:
            problems.append((line_number, "wrong_columns", ",".join(row)))
            continue
        name, email, organisation, role_word = (cell.strip() for cell in row)
        role = parse_role(role_word)
        if not name:
            problems.append((line_number, "name_required", ""))
        # A line break in a quoted cell, a tab: refused here with the rest, so the file is corrected as a whole.
        if inputs.refused_in_line(name):
            problems.append((line_number, "name_control_characters", inputs.visible(name)))
        if inputs.refused_in_line(organisation):
            problems.append((line_number, "organisation_control_characters", inputs.visible(organisation)))
        if not EMAIL.match(email):
            problems.append((line_number, "bad_email", inputs.visible(email)))
        if role is None:
            problems.append((line_number, "unknown_role", role_word))
        key = normalise_email(email)
        if key in seen:
            problems.append((line_number, "duplicate_in_file", email))
        elif EMAIL.match(email):
            seen[key] = line_number
            person = session.scalar(select(Person).where(Person.email == key))
            if person is not None and active_membership(session, network.id, person.id) is not None:
                problems.append((line_number, "already_member", email))
        wanted.append((name, email, organisation, role or ""))
    if problems:
        raise CsvRejected(problems=problems)
    if not wanted:
        raise CsvRejected(problems=[(0, "no_rows", "")])
    return [
        add_member(session, network, name=name, email=email, organisation_name=organisation, role=role, actor=actor)
        for name, email, organisation, role in wanted
    ]
