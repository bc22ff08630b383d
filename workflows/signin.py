"""Sign-in for coordinators and editors by a one-time link sent by email (no passwords)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import STAFF_ROLES, Membership, Person, SignInToken, utcnow
from workflows.errors import LinkInvalid
from workflows.membership import normalise_email
from workflows.notifications import queue_email
from workflows.tokens import hash_token, new_token

LIFETIME = dt.timedelta(minutes=30)


def is_staff(session: Session, person_id: int) -> bool:
    return session.scalar(
        select(Membership.id).where(Membership.person_id == person_id, Membership.left_at.is_(None),
                                    Membership.role.in_(STAFF_ROLES)).limit(1)
    ) is not None


def request_sign_in(session: Session, email: str) -> None:
    """Mail a sign-in link if the address belongs to a coordinator or editor; silently nothing otherwise."""
    person = session.scalar(select(Person).where(Person.email == normalise_email(email)))
    if person is None or not is_staff(session, person.id):
        return
    row = SignInToken(person_id=person.id, expires_at=utcnow() + LIFETIME)
    session.add(row)
    session.flush()
    queue_email(session, "sign_in", person, key=f"sign_in:{row.id}", sign_in_token_id=row.id)


def mint(session: Session, row: SignInToken) -> str:
    """Make the token at delivery time, so it exists only in the email and as a hash here."""
    token, row.token_hash = new_token()
    session.flush()
    return token


def issue_link_token(session: Session, person: Person, lifetime: dt.timedelta = LIFETIME) -> str:
    """For the command line: a sign-in token printed once to the operator."""
    token, token_hash = new_token()
    session.add(SignInToken(person_id=person.id, token_hash=token_hash, expires_at=utcnow() + lifetime))
    session.flush()
    return token


def find_token(session: Session, token: str) -> SignInToken:
    row = session.scalar(select(SignInToken).where(SignInToken.token_hash == hash_token(token)))
    if row is None or row.used_at is not None:
        raise LinkInvalid("sign_in_used_or_unknown")
    if utcnow() >= row.expires_at:
        raise LinkInvalid("sign_in_expired")
    return row


def complete_sign_in(session: Session, token: str) -> Person:
    row = find_token(session, token)
    row.used_at = utcnow()
    return session.get(Person, row.person_id)
