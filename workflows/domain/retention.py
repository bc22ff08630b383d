"""Retention: which rows nobody needs any more (dead personal links to rounds, meetings and action points, sign-in
tokens, delivered mail and webhook deliveries, stored API answers past their window), counted or deleted in bounded batches. Never evidence: a
verdict's link, the invitations a dossier lists, mail of a round still open (its keys stop a second mail), or any
row a foreign key points at; verdicts, finalisations, stored files and audit events are not touched at all."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, delete, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from storage.database.models import (
    OUTBOX_STATUSES,
    ActionLink,
    ActionPoint,
    IdempotencyRecord,
    Meeting,
    MeetingInvitation,
    MeetingLink,
    OutboxItem,
    PersonalLink,
    Round,
    SignInToken,
    Verdict,
)
from workflows.domain import idempotency
from workflows.domain.action_followup import LINK_LIFETIME_AFTER_DONE
from workflows.domain.meetings import LINK_LIFETIME_AFTER_MEETING, MAX_DURATION

# In this order: a link deleted first frees the mail it points at in the same run.
KINDS = ("personal_links", "meeting_links", "action_links", "sign_in_tokens", "outbox", "idempotency_records")
_OUTBOX = OutboxItem.__table__.c
# Every status but sent and cancelled, named: an IN list reads the outbox's status index, a NOT IN reads every row.
_UNDELIVERED = tuple(status for status in OUTBOX_STATUSES if status not in ("sent", "cancelled"))


@dataclass(frozen=True)
class Policy:
    """How long what is no longer used is kept. The defaults are argued in the README ("Retention");
    service/config.py reads them from the environment."""

    # Personal links and sign-in tokens, after they expired or were revoked: a member who clicks an old link within
    # this period is told it expired (and what followed), not that it is unknown.
    links: dt.timedelta = dt.timedelta(days=30)
    # Mail and webhook deliveries after they were delivered (or cancelled): the network's pages show recent ones.
    outbox: dt.timedelta = dt.timedelta(days=90)
    # Rows per delete: each batch is its own short transaction, so no lock is held for long.
    batch: int = 500


def _dead_link(cutoff: dt.datetime):
    """A link that stopped working before `cutoff` and that no verdict names. NULL-safe (FALSE, never NULL), so
    that its negation means "kept"."""
    return and_(
        or_(and_(PersonalLink.expires_at.is_not(None), PersonalLink.expires_at < cutoff),
            and_(PersonalLink.revoked_at.is_not(None), PersonalLink.revoked_at < cutoff)),
        ~exists().where(Verdict.link_id == PersonalLink.id),
    )


def _dead_meeting_link(cutoff: dt.datetime):
    """A meeting link that stopped working before `cutoff`, as `_dead_link` for a round's: revoked, its invitation
    withdrawn, its meeting cancelled (a cancellation ends what the link was for, as a revocation does), or 30 days
    after the meeting ended (`meetings.check_link`). The meeting's end is starts_at + duration, a sum the two
    databases write differently: it is taken as the longest a meeting may last, so a link is kept at most 12 hours
    longer than needed and the test reads the index on meetings.starts_at. No evidence names a meeting link (an
    answer's audit event keeps only its id)."""
    latest_start = cutoff - LINK_LIFETIME_AFTER_MEETING - dt.timedelta(minutes=MAX_DURATION)
    ended = select(Meeting.id).where(or_(Meeting.starts_at < latest_start, Meeting.cancelled_at < cutoff))
    return or_(MeetingLink.revoked_at < cutoff,
               MeetingLink.invitation_id.in_(select(MeetingInvitation.id).where(or_(
                   MeetingInvitation.removed_at < cutoff, MeetingInvitation.meeting_id.in_(ended)))))


def _dead_action_link(cutoff: dt.datetime):
    """An action link that stopped working before `cutoff`: revoked (another owner), or 30 days after its point was
    done (`action_followup.check_link`). A removed point's links went with it."""
    return or_(ActionLink.revoked_at < cutoff, ActionLink.action_point_id.in_(
        select(ActionPoint.id).where(ActionPoint.done_at < cutoff - LINK_LIFETIME_AFTER_DONE)))


def _candidates(kind: str, now: dt.datetime, policy: Policy):
    """The ids of the rows of `kind` that may go, as a SELECT."""
    links_cutoff = now - policy.links
    if kind == "personal_links":
        return select(PersonalLink.id).where(_dead_link(links_cutoff))
    if kind == "meeting_links":
        return select(MeetingLink.id).where(_dead_meeting_link(links_cutoff))
    if kind == "action_links":
        return select(ActionLink.id).where(_dead_action_link(links_cutoff))
    if kind == "sign_in_tokens":
        # A sign-in mail still to be sent (or resent after it failed) reads its token when it is rendered.
        unsent = select(_OUTBOX.id).where(
            _OUTBOX.channel == "mail", _OUTBOX.email == "sign_in", _OUTBOX.status.in_(_UNDELIVERED),
            OutboxItem.__table__.c.params["sign_in_token_id"].as_integer() == SignInToken.id)
        return select(SignInToken.id).where(SignInToken.expires_at < links_cutoff, ~exists(unsent))
    if kind == "outbox":
        kept_link = select(PersonalLink.id).where(PersonalLink.outbox_id == _OUTBOX.id,
                                                  not_(_dead_link(links_cutoff)))
        round_open = select(Round.id).where(Round.id == _OUTBOX.round_id, Round.status == "open")
        done, cutoff = _OUTBOX.status.in_(("sent", "cancelled")), now - policy.outbox
        return select(_OUTBOX.id).where(
            # Delivered (or cancelled, never sent) before the cutoff: coalesce(sent_at, created_at) < cutoff, written
            # as two branches so that both read the (status, sent_at) index instead of every row.
            or_(and_(done, _OUTBOX.sent_at < cutoff),
                and_(done, _OUTBOX.sent_at.is_(None), _OUTBOX.created_at < cutoff)),
            # The dossier lists every invitation of every round (evidence that people were asked).
            or_(_OUTBOX.email.is_(None), _OUTBOX.email != "invitation"),
            # A round still open asks the outbox whether a reminder or a substitute's mail went out already.
            ~exists(round_open),
            ~exists(kept_link),
        )
    if kind == "idempotency_records":
        return select(IdempotencyRecord.id).where(IdempotencyRecord.created_at < idempotency.oldest_kept(now))
    raise ValueError(f"unknown kind of row: {kind!r}")


_TABLES = {"personal_links": PersonalLink.__table__, "meeting_links": MeetingLink.__table__,
           "action_links": ActionLink.__table__, "sign_in_tokens": SignInToken.__table__,
           "outbox": OutboxItem.__table__, "idempotency_records": IdempotencyRecord.__table__}


def count(session: Session, now: dt.datetime, policy: Policy) -> dict[str, int]:
    """How many rows of each kind a prune at `now` would delete (what `prune --dry-run` shows)."""
    return {kind: session.scalar(select(func.count()).select_from(_candidates(kind, now, policy).subquery()))
            for kind in KINDS}


def delete_batch(session: Session, kind: str, now: dt.datetime, policy: Policy) -> int:
    """Delete at most `policy.batch` rows of `kind` that may go; the number deleted (fewer than a batch: done)."""
    # In no order: ordered by id, SQLite walks the whole table in id order instead of the indexes (migration 0011).
    ids = list(session.scalars(_candidates(kind, now, policy).limit(policy.batch)))
    if ids:
        table = _TABLES[kind]
        session.execute(delete(table).where(table.c.id.in_(ids)))
    return len(ids)
