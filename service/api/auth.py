"""Who calls the API: a staff member's API token or a member's personal round token, from the Authorization
header only (never the browser's session cookie, so CSRF cannot reach the API)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, current_app, g, request
from sqlalchemy import select

from service.api import problems
from service.web import db
from storage.database.models import ApiToken, Participant, Person, PersonalLink
from workflows.domain import api_tokens
from workflows.domain.rounds import check_link
from workflows.errors import DomainError
from workflows.tokens import hash_token


@dataclass
class Caller:
    kind: str  # "staff" or "member"
    network_id: int
    person: Person
    role: str | None = None  # staff: the token's role now
    token: ApiToken | None = None
    participant: Participant | None = None
    link: PersonalLink | None = None

    @property
    def key(self) -> str:
        """Whose Idempotency-Keys these are."""
        return f"token:{self.token.id}" if self.token is not None else f"link:{self.link.id}"


def bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def resolve_caller(op) -> Caller | Response | None:
    if op.caller == "public":
        return None
    raw = bearer()
    if raw is None:
        return problems.problem(401, "token_missing", headers={"WWW-Authenticate": 'Bearer realm="akkoord"'})
    _note_use(raw)
    session = db.session()
    try:
        caller = _staff(session, raw) or _member(session, raw)
    except DomainError as error:
        return problems.problem(401, error.code, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if caller is None:
        return problems.problem(401, "token_invalid", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if op.caller != caller.kind:
        return problems.problem(403, f"{op.caller}_token_required")
    if caller.kind == "staff" and caller.role not in op.roles:
        return problems.problem(403, "not_allowed")
    return caller


def _staff(session, raw: str) -> Caller | None:
    if session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(raw))) is None:
        return None
    token = api_tokens.authenticate(session, raw)
    return Caller(kind="staff", network_id=token.network_id, person=token.person,
                  role=api_tokens.effective_role(session, token), token=token)


def _member(session, raw: str) -> Caller | None:
    link = session.scalar(select(PersonalLink).where(PersonalLink.token_hash == hash_token(raw)))
    if link is None:
        return None
    check_link(link)
    participant = link.participant
    return Caller(kind="member", network_id=participant.round.document.network_id, person=participant.person,
                  participant=participant, link=link)


def _note_use(raw: str) -> None:
    """last_used_at in a transaction of its own, before the request's own begins (a read stays a read, and
    on SQLite two writers in one request would wait for each other); written at most once a minute."""
    with current_app.extensions["akkoord_read_sessions"]() as session:
        token_id = api_tokens.use_due(session, raw)
    if token_id is not None:
        with current_app.extensions["akkoord_sessions"]() as session:
            api_tokens.note_use(session, token_id)
            session.commit()


def caller() -> Caller:
    return g.api_caller
