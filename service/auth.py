"""Who is asking: signed-in staff (session person) and members holding a personal link (session participants)."""

from __future__ import annotations

from flask import session as cookie

from service import db
from storage.models import Membership, Participant, Person, PersonalLink
from workflows.errors import NotAllowed, NotFound
from workflows.membership import active_membership
from workflows.rounds import check_link

PERSON = "person_id"
LINKS = "links"  # participant id (str) -> personal link id used


def sign_in(person: Person) -> None:
    cookie.clear()
    cookie[PERSON] = person.id
    cookie.permanent = True


def sign_out() -> None:
    cookie.pop(PERSON, None)


def current_person() -> Person | None:
    person_id = cookie.get(PERSON)
    return db.session().get(Person, person_id) if person_id else None


def require_person() -> Person:
    person = current_person()
    if person is None:
        raise NotAllowed("sign_in_required")
    return person


def require_role(network_id: int, *roles: str) -> tuple[Person, Membership]:
    person = require_person()
    membership = active_membership(db.session(), network_id, person.id)
    if membership is None or (roles and membership.role not in roles):
        raise NotAllowed()
    return person, membership


def remember_link(link: PersonalLink) -> None:
    links = dict(cookie.get(LINKS, {}))
    links[str(link.participant_id)] = link.id
    cookie[LINKS] = links
    cookie.permanent = True


def require_participant(participant_id: int) -> tuple[Participant, PersonalLink]:
    """The participant this browser holds a still-valid personal link for."""
    link_id = cookie.get(LINKS, {}).get(str(participant_id))
    if link_id is None:
        raise NotFound()
    link = db.session().get(PersonalLink, link_id)
    if link is None or link.participant_id != participant_id:
        raise NotFound()
    check_link(link)
    return link.participant, link

