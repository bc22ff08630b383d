"""Test data made through the workflows themselves, so every row is one a user could have made."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select

from storage.database.models import Participant, utcnow
from workflows.domain import documents, finalising, membership, rounds

_counter = itertools.count(1)

DRAFT_TEXT = """# Samenwerkingsovereenkomst

## Artikel 1 Doel

De partijen werken samen aan goede zorg voor mensen met een zeldzame aandoening.

## Artikel 2 Taken

- De patiëntenvereniging brengt de ervaringskennis in.
- Het expertisecentrum brengt de medische kennis in.

Dit document wordt definitief zodra iedereen akkoord is.
"""


def fresh(db) -> None:
    """Forget what the test's session has read, so it sees what the app and the worker committed since."""
    db.rollback()
    db.expire_all()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def make_network(db, *, members: int = 3, observers: int = 0, editors: int = 1):
    """A network with one coordinator, `editors` editors, `members` members and `observers` observers."""
    tag = unique("n")
    coordinator = membership.get_or_create_person(db, name=f"Coördinator {tag}", email=f"coord-{tag}@example.org")
    network = membership.create_network(db, f"Zorgnetwerk {tag}", coordinator=coordinator)
    people = []
    for role, count in (("editor", editors), ("member", members), ("observer", observers)):
        for i in range(count):
            people.append(membership.add_member(
                db, network, name=f"{role.title()} {i} {tag}", email=f"{role}{i}-{tag}@example.org",
                organisation_name=f"Organisatie {i % 2} {tag}", role=role, actor=coordinator))
    db.flush()
    return network, coordinator, people


def make_document(db, network, actor, text: str = DRAFT_TEXT, filename: str = "concept.md"):
    document = documents.create_document(db, network, kind="samenwerkingsovereenkomst", title=f"Overeenkomst {unique('d')}",
                                         actor=actor)
    version = documents.upload_version(db, document, filename=filename, data=text.encode(), change_note="eerste concept",
                                       actor=actor)
    return document, version


def participant(db, round_, membership):
    """The participant of `membership`'s person in `round_`."""
    return db.scalar(select(Participant).where(Participant.round_id == round_.id,
                                               Participant.person_id == membership.person_id))


def open_round(db, document, actor, days: int = 14):
    return rounds.open_round(db, document, deadline=utcnow() + dt.timedelta(days=days), message="Graag reageren", actor=actor)


def final_document(db, *, members: int = 2, observers: int = 1):
    """A network whose document everyone agreed to and a coordinator made final (not committed):
    (network, coordinator, people, document, version)."""
    network, coordinator, people = make_network(db, members=members, observers=observers)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    for voter in db.scalars(select(Participant).where(Participant.round_id == round_.id)):
        if voter.can_vote:
            rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    finalising.finalise_document(db, document, version, actor=coordinator)
    return network, coordinator, people, document, version
