"""Browser sessions kept on the server (web_sessions): when one is alive, starting, keeping, ending and forgetting.

A session is a staff session when it carries a signed-in coordinator or editor (`person_id`), otherwise a member's
link session (personal links only). Each kind has its own inactivity timeout and absolute lifetime (`Lifetimes`,
from the settings). The cookie holds the token; a row keeps only its sha256, as for every other token here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from storage.database.models import WebSession
from workflows.domain.people import is_staff
from workflows.tokens import hash_token, new_token

# last_seen_at is written at most this often (and more often only when the idle timeout is very short): a
# session's every GET is not a write, and the idle timeout is kept to within this margin.
TOUCH_EVERY = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Lifetimes:
    """How long sessions live. The defaults are argued in the README ("Sessions"); service/config.py reads them
    from the environment."""

    staff_idle: dt.timedelta = dt.timedelta(hours=4)
    staff_absolute: dt.timedelta = dt.timedelta(hours=12)
    member_idle: dt.timedelta = dt.timedelta(days=7)
    member_absolute: dt.timedelta = dt.timedelta(days=30)
    # A session whose browser never came back after it was made (a mail scanner opening a personal link gets a
    # cookie, and mostly never sends it) is gone after this; the first request that does bring the cookie back
    # gives the session its full lifetime.
    first_return: dt.timedelta = dt.timedelta(hours=1)

    def idle(self, person_id: int | None) -> dt.timedelta:
        return self.staff_idle if person_id is not None else self.member_idle

    def absolute(self, person_id: int | None) -> dt.timedelta:
        return self.staff_absolute if person_id is not None else self.member_absolute

    @property
    def touch_every(self) -> dt.timedelta:
        return min(TOUCH_EVERY, min(self.staff_idle, self.member_idle) / 10)


@dataclass(frozen=True)
class Live:
    """A session found alive, as the request needs it."""

    id: int
    person_id: int | None
    data: dict[str, Any]
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime

    @property
    def returned(self) -> bool:
        """Has the browser come back since the session was made?"""
        return self.last_seen_at != self.created_at

    def due_for_touch(self, now: dt.datetime, lifetimes: Lifetimes) -> bool:
        return not self.returned or now - self.last_seen_at >= lifetimes.touch_every


_COLUMNS = (WebSession.id, WebSession.person_id, WebSession.data, WebSession.created_at, WebSession.last_seen_at,
            WebSession.expires_at, WebSession.ended_at)
_BY_HASH = select(*_COLUMNS).where(WebSession.token_hash == bindparam("token_hash"))  # built once: the hot path


def find(session: Session, token: str, *, now: dt.datetime, lifetimes: Lifetimes) -> Live | None:
    """The live session this token names; None when there is none, or it ended, expired or was left idle."""
    # On the session's connection: a Core row, without the ORM's result machinery (half the cost of this lookup).
    row = session.connection().execute(_BY_HASH, {"token_hash": hash_token(token)}).first()
    if row is None or row.ended_at is not None or now >= row.expires_at:
        return None
    if row.last_seen_at == row.created_at and now >= row.created_at + lifetimes.first_return:
        return None
    if now >= row.last_seen_at + lifetimes.idle(row.person_id):
        return None
    return Live(row.id, row.person_id, row.data, row.created_at, row.last_seen_at, row.expires_at)


def start(session: Session, data: dict[str, Any], *, person_id: int | None, now: dt.datetime, lifetimes: Lifetimes,
          expires_at: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    """A new session; returns its token (for the cookie, never stored) and its absolute end. `expires_at` keeps an
    earlier session's end when one only changes its token."""
    token, token_hash = new_token()
    end_at = now + lifetimes.absolute(person_id)
    if expires_at is not None:
        end_at = min(end_at, expires_at)
    session.execute(insert(WebSession).values(token_hash=token_hash, person_id=person_id, data=data, created_at=now,
                                              last_seen_at=now, expires_at=end_at))
    return token, end_at


def keep(session: Session, live: Live, *, now: dt.datetime, data: dict[str, Any] | None = None,
         person_id: int | None = None) -> None:
    """The browser was here (and changed what the session holds, when `data` is given). Never revives an ended
    session: a sign-out elsewhere in the meantime wins."""
    # Later than created_at, whatever the clock's resolution: the session has been come back to.
    values: dict[str, Any] = {"last_seen_at": max(now, live.created_at + dt.timedelta(microseconds=1))}
    if data is not None:
        values.update(data=data, person_id=person_id)
    session.execute(update(WebSession).where(WebSession.id == live.id, WebSession.ended_at.is_(None))
                    .values(**values))


def end(session: Session, session_id: int, *, now: dt.datetime) -> None:
    session.execute(update(WebSession).where(WebSession.id == session_id, WebSession.ended_at.is_(None))
                    .values(ended_at=now))


def end_all(session: Session, person_id: int, *, now: dt.datetime) -> int:
    """Sign out everywhere: every open session of this person ends, in every browser. The number ended."""
    return session.execute(update(WebSession).where(WebSession.person_id == person_id, WebSession.ended_at.is_(None))
                           .values(ended_at=now)).rowcount


def end_unless_staff(session: Session, person_id: int, *, now: dt.datetime) -> int:
    """A person who is no longer a coordinator or editor anywhere (they left their last network as one, or their
    role was lowered) keeps no staff session. Call after any change that can take a staff role away."""
    if is_staff(session, person_id):
        return 0
    return end_all(session, person_id, now=now)


def delete_finished(session: Session, now: dt.datetime, lifetimes: Lifetimes) -> int:
    """Forget sessions that can no longer be used: ended, past their absolute end, left idle, or never come back
    to. The number deleted (the periodic tick calls this)."""
    return session.execute(delete(WebSession).where(or_(
        WebSession.ended_at.is_not(None),
        WebSession.expires_at <= now,
        and_(WebSession.last_seen_at == WebSession.created_at, WebSession.created_at <= now - lifetimes.first_return),
        and_(WebSession.person_id.is_not(None), WebSession.last_seen_at <= now - lifetimes.staff_idle),
        and_(WebSession.person_id.is_(None), WebSession.last_seen_at <= now - lifetimes.member_idle),
    ))).rowcount
