"""Who belongs to a network now: the questions every rule asks about people and their memberships."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.database.models import STAFF_ROLES, Membership


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
