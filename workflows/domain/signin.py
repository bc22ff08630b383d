"""Sign-in for coordinators and editors by a one-time link sent by email (no passwords)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.database.models import Person, SignInToken, utcnow
from workflows.domain.notifications import queue_email
from workflows.domain.people import is_staff, normalise_email
from workflows.errors import LinkInvalid
from workflows.tokens import hash_token, new_token

LIFETIME = dt.timedelta(minutes=30)


def request_sign_in(session: Session, email: str) -> None:
    """Mail a sign-in link if the address belongs to a coordinator or editor; silently nothing otherwise."""
    person = session.scalar(select(Person).where(Person.email == normalise_email(email)))
    if person is None or not is_staff(session, person.id):
        return
    row = SignInToken(person_id=person.id, expires_at=utcnow() + LIFETIME)
    session.add(row)
    session.flush()
    queue_email(session, "sign_in", person, key=f"sign_in:{row.id}", sign_in_token_id=row.id)


def mint(session: Session, sign_in_token_id: int) -> str:
    """Make the token at delivery time, so it exists only in the email and as a hash here; a token made for an
    earlier attempt at the same mail dies with it."""
    token, token_hash = new_token()
    session.execute(update(SignInToken).where(SignInToken.id == sign_in_token_id).values(token_hash=token_hash))
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
