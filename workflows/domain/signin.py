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


def request_sign_in(session: Session, email: str) -> bool:
    """Mail a sign-in link if the address belongs to a coordinator or editor; silently nothing otherwise. The new
    link replaces the earlier unused ones: only the newest mail signs in (and one left in a mailbox dies).
    Run by a worker (workflows.domain.address_requests), never in the request: the page does the same work for
    every address."""
    person = session.scalar(select(Person).where(Person.email == normalise_email(email)))
    if person is None or not is_staff(session, person.id):
        return False
    now = utcnow()
    session.execute(update(SignInToken).where(
        SignInToken.person_id == person.id, SignInToken.used_at.is_(None), SignInToken.expires_at > now,
    ).values(expires_at=now).execution_options(synchronize_session=False))
    row = SignInToken(person_id=person.id, created_at=now, expires_at=now + LIFETIME)
    session.add(row)
    session.flush()
    queue_email(session, "sign_in", person, key=f"sign_in:{row.id}", sign_in_token_id=row.id)
    return True


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
        newer = session.scalar(select(SignInToken.id).where(SignInToken.person_id == row.person_id,
                                                            SignInToken.id > row.id).limit(1))
        raise LinkInvalid("sign_in_replaced" if newer is not None else "sign_in_expired")
    return row


def complete_sign_in(session: Session, token: str) -> Person:
    """Use the token: one conditional UPDATE, so of two requests with the same token exactly one signs in (the
    other's UPDATE finds it used, after waiting for the first on PostgreSQL; SQLite serialises writers)."""
    now = utcnow()
    token_hash = hash_token(token)
    used = session.execute(update(SignInToken).where(
        SignInToken.token_hash == token_hash, SignInToken.used_at.is_(None), SignInToken.expires_at > now,
    ).values(used_at=now).execution_options(synchronize_session=False))
    if used.rowcount != 1:
        find_token(session, token)  # raises with the reason
        raise LinkInvalid("sign_in_used_or_unknown")
    return session.scalar(select(Person).join(SignInToken, SignInToken.person_id == Person.id)
                          .where(SignInToken.token_hash == token_hash))
