"""Who belongs to a network now, and what each network calls them: the questions every rule asks about people
and their memberships.

A person (their address) is shared by every network they are in, but each network knows them by the name it
gave them: the name on their membership. What a network shows of a person is that name, never the name another
network stored. `Person.name` is only the name the person was first stored with; no network sees it."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, ScalarSelect, select
from sqlalchemy.orm import Session

from storage.database.models import STAFF_ROLES, Membership, Person


def normalise_email(email: str) -> str:
    return email.strip().lower()


def active_membership(session: Session, network_id: int, person_id: int) -> Membership | None:
    return session.scalar(
        select(Membership).where(
            Membership.network_id == network_id, Membership.person_id == person_id, Membership.left_at.is_(None)
        )
    )


def active_members(session: Session, network_id: int) -> list[Membership]:
    return list(session.scalars(
        select(Membership)
        .where(Membership.network_id == network_id, Membership.left_at.is_(None))
        .order_by(Membership.id)
    ))


def is_staff(session: Session, person_id: int) -> bool:
    """A coordinator or editor of any network (who may sign in)."""
    return session.scalar(
        select(Membership.id).where(Membership.person_id == person_id, Membership.left_at.is_(None),
                                    Membership.role.in_(STAFF_ROLES)).limit(1)
    ) is not None


def name_in_network(network_id: int | ColumnElement[int], person_id: int | ColumnElement[int]) -> ScalarSelect:
    """The person's name as the network knows it, for a query: the name on their newest membership there (their
    active one, if any: one can only join again after leaving). Both arguments are values or columns (correlated
    in a larger query); NULL when the person was never in the network."""
    # Its own memberships table even when the larger query joins memberships too (a participant's, say).
    return (select(Membership.name).where(Membership.network_id == network_id, Membership.person_id == person_id)
            .order_by(Membership.id.desc()).limit(1).correlate_except(Membership).scalar_subquery())


def names_in_network(session: Session, network_id: int, person_ids: Iterable[int]) -> dict[int, str]:
    """`name_in_network` for many people at once: person id -> name (people never in the network are left out)."""
    ids, names = sorted(set(person_ids)), {}
    for start in range(0, len(ids), 500):  # IN lists of bounded length
        names.update(session.execute(
            select(Membership.person_id, Membership.name)
            .where(Membership.network_id == network_id, Membership.person_id.in_(ids[start:start + 500]))
            .order_by(Membership.id)).all())  # the newest membership last, so its name wins
    return names


def own_names(session: Session, person_ids: Iterable[int]) -> dict[int, str]:
    """Where no network is involved (a sign-in mail, the staff's own dashboard), the person's own name is shown
    to the person alone: the name of their newest active membership, else of their newest membership, else the
    name they were first stored with. What a network typed most recently, not a name left behind in a network
    they have since left."""
    ids, names = sorted(set(person_ids)), {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        names.update(session.execute(select(Person.id, Person.name).where(Person.id.in_(chunk))).all())
        newest = session.execute(
            select(Membership.person_id, Membership.name).where(Membership.person_id.in_(chunk))
            .order_by(Membership.left_at.is_(None), Membership.id)).all()  # active ones last, the newest of them last
        names.update(newest)
    return names


def own_name(session: Session, person_id: int) -> str:
    return own_names(session, [person_id])[person_id]
