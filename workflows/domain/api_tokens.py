"""Personal API tokens: made by a coordinator or editor for one network and a role no higher than their own,
shown once, kept as a sha256, revocable; their authority is re-checked against the maker's membership each use."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.database.models import STAFF_ROLES, ApiToken, Membership, Network, Person, utcnow
from workflows import audit
from workflows.domain import inputs
from workflows.domain.people import active_membership
from workflows.errors import DomainError, InvalidInput, NotAllowed, NotFound
from workflows.tokens import hash_token

PREFIX = "akk_"
MAX_NAME_LENGTH = 200
# Coordinators may do what editors may; a token never carries more than its maker now has.
RANK = {"editor": 1, "coordinator": 2}
# last_used_at is written at most this often, so reading does not turn every request into a write.
USE_RESOLUTION = dt.timedelta(minutes=1)


class TokenRefused(DomainError):
    """No valid staff token: unknown, revoked, or its person no longer holds a staff role in the network."""

    status = 401
    code = "token_invalid"


def create_token(session: Session, network: Network, person: Person, *, role: str, name: str) -> tuple[ApiToken, str]:
    """Make a token for `person` in `network` with `role`; returns the row and the token (shown once)."""
    name = inputs.single_line(name, "name")
    if not name:
        raise InvalidInput("name_required")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput("too_long", limit=MAX_NAME_LENGTH)
    if role not in STAFF_ROLES:
        raise InvalidInput("unknown_token_role")
    membership = active_membership(session, network.id, person.id)
    if membership is None or not membership.is_staff:
        raise NotAllowed()
    if RANK[role] > RANK[membership.role]:
        raise NotAllowed("token_role_too_high")
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(network_id=network.id, person_id=person.id, role=role, name=name, token_hash=hash_token(raw),
                     prefix=raw[:12], created_at=utcnow())
    session.add(token)
    session.flush()
    audit.record(session, network.id, "api_token_created", actor_id=person.id, token_id=token.id, role=role,
                 name=name)
    return token, raw


def tokens_of(session: Session, network_id: int, person_id: int) -> list[ApiToken]:
    return list(session.scalars(
        select(ApiToken).where(ApiToken.network_id == network_id, ApiToken.person_id == person_id)
        .order_by(ApiToken.id.desc())
    ))


def revoke(session: Session, token: ApiToken, *, actor: Person) -> ApiToken:
    """A token's maker revokes it; a coordinator may revoke any token of their network."""
    if token.person_id != actor.id:
        membership = active_membership(session, token.network_id, actor.id)
        if membership is None or membership.role != "coordinator":
            raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, token.network_id, "api_token_revoked", actor_id=actor.id, token_id=token.id)
    session.flush()
    return token


def authenticate(session: Session, raw: str) -> ApiToken:
    """The live token for `raw`, or TokenRefused. Also refused when its person has left the network or no
    longer has a staff role there."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    if token is None or token.revoked_at is not None:
        raise TokenRefused()
    if effective_role(session, token) is None:
        raise TokenRefused()
    return token


def effective_role(session: Session, token: ApiToken) -> str | None:
    """What the token may do now: its role, lowered to the person's current role; None when that is not staff."""
    membership: Membership | None = active_membership(session, token.network_id, token.person_id)
    if membership is None or not membership.is_staff:
        return None
    return token.role if RANK[token.role] <= RANK[membership.role] else membership.role


def use_due(session: Session, raw: str, *, now: dt.datetime | None = None) -> int | None:
    """The id of the live token for `raw` when its last use is older than a minute (None otherwise)."""
    now = now or utcnow()
    row = session.execute(select(ApiToken.id, ApiToken.last_used_at, ApiToken.revoked_at)
                          .where(ApiToken.token_hash == hash_token(raw))).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.last_used_at is not None and now - row.last_used_at < USE_RESOLUTION:
        return None
    return row.id


def note_use(session: Session, token_id: int, *, now: dt.datetime | None = None) -> None:
    """Record that a token was used (at most once a minute)."""
    now = now or utcnow()
    token = session.get(ApiToken, token_id)
    if token is not None and (token.last_used_at is None or now - token.last_used_at >= USE_RESOLUTION):
        token.last_used_at = now
