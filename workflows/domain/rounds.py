"""Comment rounds: open, invite, personal links, verdicts, comments, close and supersede."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import EllipsisType

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from storage.blocks import block_text
from storage.database.engine import lock
from storage.database.models import (
    COMMENT_KINDS,
    COMMENT_VISIBILITIES,
    VERDICTS,
    Comment,
    Document,
    MailMessage,
    Membership,
    Participant,
    Person,
    PersonalLink,
    Round,
    Verdict,
    Version,
    utcnow,
)
from storage.formats.docx_draft import TEXT_TYPES
from workflows import audit
from workflows.domain import deciders, decisions, inputs
from workflows.domain.notifications import Recipient, queue_email, queue_emails
from workflows.domain.people import active_members, active_membership, normalise_email
from workflows.domain.versions import WORD_COMMENTS, latest_version
from workflows.errors import (
    AlreadyFinal,
    Conflict,
    InvalidInput,
    LinkInvalid,
    NotAllowed,
    RoundClosed,
    StaleVersion,
)
from workflows.text.anchoring import anchor_at, locate_selection
from workflows.tokens import hash_token, new_token

LINK_LIFETIME_AFTER_CLOSE = dt.timedelta(days=30)
MAX_COMMENT_LENGTH = 10_000
MAX_REASON_LENGTH = 5_000
QUOTE_LENGTH = 300
MAX_SELECTION_LENGTH = 5_000


def open_rounds_in_network(session: Session, network_id: int) -> list[Round]:
    return list(session.scalars(
        select(Round).join(Document, Round.document_id == Document.id)
        .where(Document.network_id == network_id, Round.status == "open")
        .order_by(Round.id)  # callers lock them in this order: two transactions never wait on each other in a cycle
    ))


def open_round(session: Session, document: Document, *, deadline: dt.datetime, message: str, actor: Person,
               version_id: int | None = None, now: dt.datetime | None = None,
               bring_in_word_comments: bool = False, comment_visibility: str = "all") -> Round:
    """Open a round on the latest version and invite every current member (HTML + text email, personal link).
    Optionally the comments found in the uploaded Word file become comments of the uploader in this round.
    `comment_visibility`: "all" shows every comment to every participant; "group" only to the project group
    (coordinators and editors), each member seeing their own threads (for consortia of competitors)."""
    now = now or utcnow()
    if comment_visibility not in COMMENT_VISIBILITIES:
        raise InvalidInput("unknown_visibility")
    message = inputs.text(message, "message")
    document = lock(session, Document, document.id)
    if document.status == "final":
        raise AlreadyFinal()
    version = latest_version(session, document.id)
    if version is None:
        raise InvalidInput("no_version")
    if version_id is not None and version_id != version.id:
        raise StaleVersion()
    if deadline <= now:
        raise InvalidInput("deadline_in_past")
    if session.scalar(select(Round.id).where(Round.document_id == document.id, Round.status == "open")):
        raise Conflict("round_already_open")
    number = (session.scalar(select(func.max(Round.number)).where(Round.document_id == document.id)) or 0) + 1
    round_ = Round(document_id=document.id, version_id=version.id, number=number, deadline=deadline,
                   message=message, opened_by_id=actor.id, opened_at=now, status="open",
                   comment_visibility=comment_visibility, decision_rule=decisions.rule_of(document))
    session.add(round_)
    document.status = "in_review"
    session.flush()
    members = deciders.members(session, document)  # the network, or a meeting's attendees
    participants = [
        Participant(round_id=round_.id, person_id=m.person_id, membership_id=m.id, can_vote=m.can_vote, added_at=now)
        for m in members
    ]
    session.add_all(participants)
    session.flush()
    queue_emails(session, "invitation", [Recipient(m.person, f"invitation:{p.id}:1", {"participant_id": p.id})
                                         for p, m in zip(participants, members)],
                 network_id=document.network_id, round_id=round_.id)
    # Its audit event also has the round closed at its deadline (workflows.outbound.jobs subscribes to it).
    audit.record(session, document.network_id, "round_opened", actor_id=actor.id, document_id=document.id,
                 round_id=round_.id, version_id=version.id, content_hash=version.content_hash,
                 deadline=deadline.isoformat(), participants=len(participants), comment_visibility=comment_visibility,
                 decision_rule=round_.decision_rule)
    if bring_in_word_comments:
        _bring_in_word_comments(session, round_, version, participants)
    return round_


def _bring_in_word_comments(session: Session, round_: Round, version: Version, participants: list[Participant]) -> None:
    """The Word file's comments become the uploader's comments in the round: on the text Word marked where it
    is still found in its passage, and a Word reply becomes a reply in its thread."""

    uploader = next((p for p in participants if p.person_id == version.author_id), None)
    word_comments = version.findings.get(WORD_COMMENTS, [])
    if uploader is None or not word_comments:
        return
    added: dict[int, Comment] = {}
    for index, comment in enumerate(word_comments):
        # The Word author may not be the uploader: keep their name with the text.
        body = f"{comment['text']} — {comment['author']} (Word)"[:MAX_COMMENT_LENGTH]
        parent = added.get(comment.get("parent")) if comment.get("parent") is not None else None
        if parent is not None:
            added[index] = add_reply(session, parent.id, body=body, participant=uploader)
            continue
        try:
            added[index] = add_comment(session, uploader, body=body, block_id=comment.get("block_id"),
                                       selected=comment.get("quote") or "")
        except InvalidInput:  # the marked text is not in the passage as read: the whole passage, as Word quoted it
            added[index] = add_comment(session, uploader, body=body, block_id=comment.get("block_id"))
            if comment.get("quote"):
                added[index].quote = comment["quote"][:QUOTE_LENGTH]


def add_participant(session: Session, round_: Round, membership: Membership, *, actor: Person | None,
                    standing_in: bool = False) -> Participant | None:
    """A member who joins during an open round is added to it and invited (invariant 4); under the round's lock,
    so a finalisation sees them or the round they would join is closed by then (then None). Not added (None) to
    the round of a document they have no say on (a meeting's minutes put to its attendees), unless they stand in
    for someone who has (`standing_in`: a substitute)."""
    round_ = lock(session, Round, round_.id)
    if not round_.is_open:
        return None
    if not standing_in and not deciders.takes_part(session, round_.document, membership):
        return None
    participant = session.scalar(
        select(Participant).where(Participant.round_id == round_.id, Participant.person_id == membership.person_id)
    )
    if participant is None:
        participant = Participant(round_id=round_.id, person_id=membership.person_id, membership_id=membership.id,
                                  can_vote=membership.can_vote)
        session.add(participant)
    else:  # rejoined during the same round
        participant.membership_id = membership.id
        participant.can_vote = membership.can_vote
        participant.removed_at = None
    session.flush()
    _queue_invitation(session, participant, round_)
    audit.record(session, round_.document.network_id, "participant_added", actor_id=actor.id if actor else None,
                 document_id=round_.document_id, round_id=round_.id, person_id=membership.person_id)
    return participant


def _queue_invitation(session: Session, participant: Participant, round_: Round, *,
                      requested: bool = False) -> MailMessage:
    """`requested`: the person asked for it (a lost link); its link replaces the earlier ones once used."""
    sent_before = session.scalar(
        select(func.count()).select_from(MailMessage).where(
            MailMessage.email == "invitation", MailMessage.round_id == round_.id,
            MailMessage.person_id == participant.person_id,
        )
    )
    extra = {"requested": True} if requested else {}
    return queue_email(session, "invitation", participant.person, key=f"invitation:{participant.id}:{sent_before + 1}",
                       network_id=round_.document.network_id, round_id=round_.id, participant_id=participant.id,
                       **extra)


def resend_link(session: Session, participant: Participant, *, actor: Person) -> None:
    """Send a fresh personal link; every earlier link of this participant dies now (a coordinator's deliberate
    act, e.g. when a link went to the wrong person; a lost-link request by address revokes nothing)."""
    round_ = lock(session, Round, participant.round_id)
    if participant.removed_at is not None:
        raise NotAllowed("participant_removed")
    _revoke_links(session, participant)
    _queue_invitation(session, participant, round_)
    audit.record(session, round_.document.network_id, "link_resent", actor_id=actor.id,
                 document_id=round_.document_id, round_id=round_.id, person_id=participant.person_id)


def resend_links_for(session: Session, email: str) -> int:
    """A member who lost their link asks again: a fresh link for each open round they are in. Nothing is revoked
    now (anyone can ask in anyone's name): the earlier links die when the person first acts with the fresh one
    (note_link_used). Run by a worker (workflows.domain.address_requests), never in the request."""
    person = session.scalar(select(Person).where(Person.email == normalise_email(email)))
    if person is None:
        return 0
    participants = session.scalars(
        select(Participant).join(Round, Participant.round_id == Round.id)
        .where(Participant.person_id == person.id, Participant.removed_at.is_(None), Round.status == "open")
        .order_by(Participant.round_id)
    ).all()
    for participant in participants:
        if not lock(session, Round, participant.round_id).is_open:
            continue
        _queue_invitation(session, participant, participant.round, requested=True)
        audit.record(session, participant.round.document.network_id, "link_requested", actor_id=person.id,
                     document_id=participant.round.document_id, round_id=participant.round_id)
    return len(participants)


def _revoke_links(session: Session, participant: Participant) -> None:
    now = utcnow()
    for link in session.scalars(select(PersonalLink).where(
            PersonalLink.participant_id == participant.id, PersonalLink.revoked_at.is_(None))):
        link.revoked_at = now


def mint_link(session: Session, participant_id: int, *, outbox_id: int | None = None,
              revoke_earlier: bool = True) -> str:
    """Create a personal link at delivery time; return the token for the email (only its hash is stored). The link
    an earlier attempt at the same mail made dies now: a mail sent twice leaves one live link, the newest.
    (Core statements: a worker mints one per mail, a thousand at a time.)"""
    if outbox_id is not None and revoke_earlier:
        revoke_mail_links(session, outbox_id)
    closed_at = session.execute(_ROUND_CLOSED_AT, {"participant_id": participant_id}).scalar()
    token, token_hash = new_token()
    session.execute(_NEW_LINK, {"participant_id": participant_id, "outbox_id": outbox_id, "token_hash": token_hash,
                                "created_at": utcnow(),
                                "expires_at": closed_at + LINK_LIFETIME_AFTER_CLOSE if closed_at else None})
    return token


# Built once: a worker mints a link for each mail that carries one, a thousand in a row.
_ROUND_CLOSED_AT = (select(Round.__table__.c.closed_at)
                    .join(Participant.__table__, Participant.__table__.c.round_id == Round.__table__.c.id)
                    .where(Participant.__table__.c.id == bindparam("participant_id")))
_NEW_LINK = insert(PersonalLink.__table__)


def revoke_mail_links(session: Session, outbox_id: int) -> None:
    """The links minted for this mail die: a new attempt at it carries a new one, or it will not go out at all."""
    session.execute(update(PersonalLink.__table__).where(
        PersonalLink.outbox_id == outbox_id, PersonalLink.revoked_at.is_(None)).values(revoked_at=utcnow()))


def use_link(session: Session, token: str, *, now: dt.datetime | None = None) -> PersonalLink:
    """Resolve a personal link; writes nothing (mail scanners open links before people do: invariant 5)."""
    link = session.scalar(select(PersonalLink).where(PersonalLink.token_hash == hash_token(token)))
    if link is None:
        raise LinkInvalid("link_unknown")
    check_link(link, now=now)
    return link


def note_opened(session: Session, participant: Participant, *, now: dt.datetime | None = None) -> bool:
    """A person used their page (their browser reported a first scroll, tap or key, or they commented or gave a
    verdict): what a coordinator sees as "opened". A scanner that only fetches the link never gets here.
    Returns whether this was the first time."""
    now = now or utcnow()
    first = participant.first_opened_at is None
    participant.first_opened_at = participant.first_opened_at or now
    participant.last_opened_at = now
    return first


def note_link_used(session: Session, link: PersonalLink, *, now: dt.datetime | None = None) -> None:
    """The person acted with this link: their page reported a first tap, scroll or key, or they commented, replied
    or gave a verdict (a POST with its CSRF token; never a GET, which mail scanners make too: invariant 5). A link
    sent because someone asked for it by address replaces the participant's earlier links from this first act on;
    until then those keep working, so a stranger who asks in someone's name cuts nobody off."""
    if link.first_used_at is not None:
        return
    now = now or utcnow()
    link.first_used_at = now
    if link.outbox_id is None:
        return
    params = session.scalar(select(MailMessage.params).where(MailMessage.id == link.outbox_id)) or {}
    if not params.get("requested"):
        return
    revoked = session.execute(update(PersonalLink.__table__).where(
        PersonalLink.participant_id == link.participant_id, PersonalLink.id < link.id,
        PersonalLink.revoked_at.is_(None)).values(revoked_at=now)).rowcount
    if revoked:
        round_ = link.participant.round
        audit.record(session, round_.document.network_id, "earlier_links_revoked", actor_id=link.participant.person_id,
                     document_id=round_.document_id, round_id=round_.id, link_id=link.id, revoked=revoked)


def check_link(link: PersonalLink, *, now: dt.datetime | None = None) -> None:
    check_link_dates(link.revoked_at, link.participant.removed_at, link.expires_at, now=now)


def check_link_dates(revoked_at: dt.datetime | None, removed_at: dt.datetime | None, expires_at: dt.datetime | None,
                     *, now: dt.datetime | None = None) -> None:
    """A link works until it is revoked, its person leaves, or 30 days after its round closed."""
    now = now or utcnow()
    if revoked_at is not None or removed_at is not None:
        raise LinkInvalid("link_revoked")
    if expires_at is not None and now >= expires_at:
        raise LinkInvalid("link_expired")


@dataclass
class Evidence:
    """What is kept with a verdict to show who gave it, where from and through which link."""

    ip_address: str = ""
    user_agent: str = ""
    link_id: int | None = None


@dataclass
class OnBehalf:
    """A verdict a substitute (plaatsvervanger) gives for an absent person: the substitution and the substitute's
    own participant in the round (whose name, address and link are the verdict's evidence)."""

    substitution_id: int
    substitute: Participant


def lock_open_round(session: Session, participant: Participant) -> Round:
    """The participant's round, locked, while it is open and they are in it (what a member may act in)."""
    round_ = lock(session, Round, participant.round_id)
    if not round_.is_open:
        raise RoundClosed()
    if participant.removed_at is not None:
        raise NotAllowed("participant_removed")
    return round_


def record_verdict(session: Session, participant: Participant, *, value: str, reason: str, evidence: Evidence,
                   on_behalf: OnBehalf | None = None) -> Verdict:
    """Record a verdict on the round's version; the last one before the round closes counts. `on_behalf`: a
    substitute gives it for the absent `participant` (workflows.domain.substitutes checks the substitution)."""
    round_ = lock_open_round(session, participant)
    if not participant.can_vote:
        raise NotAllowed("observer_no_verdict")
    # Per organisation: a representative's verdict counts for the organisation, a colleague's is a suggestion.
    organisation_id, suggestion = decisions.verdict_kind(round_, participant)
    if value not in VERDICTS:
        raise InvalidInput("unknown_verdict")
    reason = inputs.text(reason, "reason")
    if value == "niet_akkoord" and not reason:
        raise InvalidInput("reason_required")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput("too_long", limit=MAX_REASON_LENGTH)
    # Who pressed the button: the participant, or their substitute (then it is recorded on whose behalf).
    acting = on_behalf.substitute if on_behalf else participant
    person = acting.person
    # The name and organisation as this network knows the person (its membership's), never another network's.
    organisation = acting.membership.organisation
    version = session.get(Version, round_.version_id)
    verdict = Verdict(
        round_id=round_.id, participant_id=participant.id, value=value, reason=reason, version_id=version.id,
        content_hash=version.content_hash, person_name=acting.membership.name, person_email=person.email,
        organisation_name=organisation.name if organisation else "", ip_address=evidence.ip_address[:64],
        user_agent=evidence.user_agent[:500], link_id=evidence.link_id, created_at=utcnow(),
        organisation_id=organisation_id, suggestion=suggestion,
        substitution_id=on_behalf.substitution_id if on_behalf else None,
        on_behalf_of_name=participant.membership.name if on_behalf else "",
        on_behalf_of_email=participant.person.email if on_behalf else "",
    )
    session.add(verdict)
    session.flush()
    participant.current_verdict_id = verdict.id
    note_opened(session, acting)
    audit.record(session, round_.document.network_id, "verdict_given", actor_id=person.id,
                 document_id=round_.document_id, round_id=round_.id, verdict_id=verdict.id, value=value,
                 content_hash=version.content_hash, ip_address=verdict.ip_address, link_id=evidence.link_id,
                 organisation_id=organisation_id, suggestion=suggestion,
                 **({"substitution_id": on_behalf.substitution_id, "on_behalf_of_person_id": participant.person_id}
                    if on_behalf else {}))
    # The confirmation repeats the personal link (of whoever pressed the button), so the verdict can be changed.
    queue_email(session, "verdict_confirmation", person, key=f"verdict_confirmation:{verdict.id}",
                network_id=round_.document.network_id, round_id=round_.id, verdict_id=verdict.id,
                participant_id=acting.id)
    return verdict


def add_comment(session: Session, participant: Participant, *, body: str, block_id: str | None = None,
                start: int | None = None, end: int | None = None, selected: str = "", kind: str = "general",
                proposed_text: str | None = None) -> Comment:
    """A general comment, one on a passage of the round's version, or one on a span of text selected in a
    passage ([start, end) of its text, with the text the reader saw selected); quoted, with a little context.

    `kind`: general, technical or editorial (algemeen, inhoudelijk, redactioneel). `proposed_text` makes it a
    proposal: that wording instead of the selection (the whole passage when nothing is selected; at `start`
    when start == end and nothing is selected, an insertion); its reason (`body`) may then be left empty."""
    round_ = lock_open_round(session, participant)
    if kind not in COMMENT_KINDS:
        raise InvalidInput("unknown_comment_kind")
    if proposed_text is None:
        body = _checked_body(body)
    else:
        body = _checked_body(body, required=False)
        proposed_text = _checked_proposal(proposed_text)
        if not block_id:
            raise InvalidInput("proposal_needs_passage")
    version = session.get(Version, round_.version_id)
    quote = before = after = ""
    offset = None
    if block_id:
        block = next((b for b in version.blocks if b["id"] == block_id), None)
        if block is None:
            raise InvalidInput("unknown_passage")
        if proposed_text is not None and block["type"] not in TEXT_TYPES:
            # A table, an image or a note has no wording a tracked change in the draft next version could replace.
            raise InvalidInput("proposal_not_text")
        text = block_text(block)
        if proposed_text is not None and not selected and (start is None or start == end):
            # A proposal for the whole passage, or text to insert at one place.
            span = (0, len(text)) if start is None else (start, start)
            if not 0 <= span[0] <= len(text):
                raise InvalidInput("selection_not_found")
            if span[1] - span[0] > MAX_SELECTION_LENGTH:
                raise InvalidInput("too_long", limit=MAX_SELECTION_LENGTH)
            offset = span[0]
        elif start is not None or end is not None or selected:
            span = locate_selection(text, start or 0, end if end is not None else 0, selected)
            if span is None:
                raise InvalidInput("selection_not_found")
            if span[1] - span[0] > MAX_SELECTION_LENGTH:
                raise InvalidInput("too_long", limit=MAX_SELECTION_LENGTH)
            offset = span[0]
        else:
            # A whole passage: its beginning is the quote a later version's placement works from.
            span = (0, min(len(text), QUOTE_LENGTH))
        anchor = anchor_at(block, *span)
        quote, before, after = anchor.quote, anchor.before, anchor.after
        if proposed_text is not None and proposed_text == quote:
            raise InvalidInput("proposal_unchanged")
    note_opened(session, participant)
    comment = Comment(round_id=round_.id, version_id=version.id, participant_id=participant.id,
                      person_id=participant.person_id, block_id=block_id or None, quote=quote, start_offset=offset,
                      context_before=before, context_after=after, body=body, created_at=utcnow(), kind=kind,
                      proposed_text=proposed_text)
    session.add(comment)
    session.flush()
    audit.record(session, round_.document.network_id, "comment_added", actor_id=participant.person_id,
                 document_id=round_.document_id, round_id=round_.id, comment_id=comment.id, block_id=block_id,
                 comment_kind=kind, proposal=proposed_text is not None)
    return comment


def _checked_body(body: str, *, required: bool = True) -> str:
    body = inputs.text(body or "", "body")
    if not body and required:
        raise InvalidInput("comment_required")
    if len(body) > MAX_COMMENT_LENGTH:
        raise InvalidInput("too_long", limit=MAX_COMMENT_LENGTH)
    return body


def _checked_proposal(text: str) -> str:
    """Proposed wording as typed: its spaces count (" en partners" inserted after a word), only line breaks
    are made one kind."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if inputs.refused_in_text(text):
        raise InvalidInput("text_control_characters", field="proposed_text")
    if len(text) > MAX_SELECTION_LENGTH:
        raise InvalidInput("too_long", limit=MAX_SELECTION_LENGTH)
    return text


def thread_root(session: Session, comment_id: int, round_id: int | None = None) -> Comment:
    """The comment a thread hangs from (a reply to a reply joins its thread)."""
    comment = session.get(Comment, comment_id)
    if comment is not None and comment.parent_id is not None:
        comment = session.get(Comment, comment.parent_id)
    if comment is None or (round_id is not None and comment.round_id != round_id):
        raise InvalidInput("unknown_comment")
    return comment


def threads_limited_to(visibility: str, person_id: int, *, is_staff: bool) -> int | None:
    """Every participant sees every thread, unless the round shows comments to the project group only: then a
    member sees only the threads they started. The person whose threads they are limited to; None: all of them."""
    return person_id if visibility == "group" and not is_staff else None


def comment_viewer(participant: Participant) -> int | None:
    """`threads_limited_to` for a round's participant."""
    return threads_limited_to(participant.round.comment_visibility, participant.person_id,
                              is_staff=participant.membership.is_staff)


def can_see_thread(round_: Round, root: Comment, person_id: int, *, is_staff: bool) -> bool:
    limit = threads_limited_to(round_.comment_visibility, person_id, is_staff=is_staff)
    return limit is None or root.person_id == limit


def add_reply(session: Session, parent_id: int, *, body: str, participant: Participant | None = None,
              staff: Person | None = None) -> Comment:
    """A reply in a comment's thread: by a round's participant while the round is open (and only where they
    can see the thread), or by a coordinator or editor of the network at any time before the document is final."""
    body = _checked_body(body)
    if (participant is None) == (staff is None):
        raise ValueError("a reply comes from a participant or from the project group")
    if participant is not None:
        round_ = lock_open_round(session, participant)
        root = thread_root(session, parent_id, round_.id)
        is_staff = participant.membership.is_staff
        if not can_see_thread(round_, root, participant.person_id, is_staff=is_staff):
            raise InvalidInput("unknown_comment")
        person_id = participant.person_id
    else:
        root = thread_root(session, parent_id)
        round_ = lock(session, Round, root.round_id)
        membership = active_membership(session, round_.document.network_id, staff.id)
        if membership is None or not membership.is_staff:
            raise NotAllowed()
        if round_.document.status == "final":
            raise AlreadyFinal()
        person_id = staff.id
    reply = Comment(round_id=root.round_id, version_id=root.version_id, person_id=person_id, parent_id=root.id,
                    participant_id=participant.id if participant else None, body=body, created_at=utcnow())
    session.add(reply)
    session.flush()
    audit.record(session, round_.document.network_id, "comment_replied", actor_id=person_id,
                 document_id=round_.document_id, round_id=round_.id, comment_id=reply.id, parent_id=root.id)
    return reply


def close_round(session: Session, round_: Round, *, actor: Person | None, reason: str = "manual",
                status: str = "closed", now: dt.datetime | None = None) -> Round:
    # The document first (its status may change below): the lock order is document -> round.
    lock(session, Document, round_.document_id)
    round_ = lock(session, Round, round_.id)
    if not round_.is_open:
        raise RoundClosed()
    now = now or utcnow()
    round_.status = status
    round_.closed_at = now
    round_.close_reason = reason
    for link in session.scalars(select(PersonalLink).join(Participant).where(Participant.round_id == round_.id)):
        if link.expires_at is None:
            link.expires_at = now + LINK_LIFETIME_AFTER_CLOSE
    document = round_.document
    if document.status == "in_review" and status != "superseded" and reason != "finalised":
        document.status = "draft"
    audit.record(session, document.network_id, "round_closed", actor_id=actor.id if actor else None,
                 document_id=document.id, round_id=round_.id, reason=reason, status=status)
    if reason in ("manual", "deadline"):
        _queue_close_mails(session, round_)
    return round_


def _queue_close_mails(session: Session, round_: Round) -> None:
    """Coordinators and editors get a summary; every participant gets the outcome. A superseded round is
    followed by a new invitation and a finalised one by the final document, so those are not told twice."""
    network_id = round_.document.network_id
    queue_emails(session, "round_summary", [
        Recipient(m.person, f"round_summary:{round_.id}:{m.person_id}", {}) for m in active_members(session, network_id)
        if m.is_staff], network_id=network_id, round_id=round_.id)
    queue_emails(session, "round_outcome", [
        Recipient(p.person, f"round_outcome:{round_.id}:{p.id}", {"participant_id": p.id})
        for p in session.scalars(select(Participant).where(Participant.round_id == round_.id,
                                                            Participant.removed_at.is_(None)))],
        network_id=network_id, round_id=round_.id)


@dataclass
class Summary:
    """A closed round in figures: who was asked, who answered what, and who did not answer."""

    voters: int
    decided: int
    counts: dict[str, int]
    comments: int
    silent: list[str]

    @property
    def response_rate(self) -> int:
        return round(100 * self.decided / self.voters) if self.voters else 0


def summary(session: Session, round_: Round) -> Summary:
    """The figures, by the round's rule (per organisation: the organisations and those without one); who did not
    answer by the names the round's network knows them by."""
    rows = decisions.summary_rows(session, round_)
    counts = {value: 0 for value in VERDICTS}
    for _name, value in rows:
        if value:
            counts[value] += 1
    comments = session.scalar(select(func.count(Comment.id)).where(Comment.round_id == round_.id,
                                                                   Comment.parent_id.is_(None)))
    return Summary(voters=len(rows), decided=sum(counts.values()), counts=counts, comments=comments,
                   silent=sorted(name for name, value in rows if value is None))


def supersede_open_round(session: Session, document: Document, *, by: Version, actor: Person,
                         confirmed: int | None | EllipsisType = ...) -> None:
    """A new version closes an open round on an older one; verdicts never carry over (invariant 3). Its members are
    told. `confirmed`: the id of the round the uploader agreed to close (None: they saw none open), checked under the
    document's lock so that a round opened meanwhile is not closed unseen; left out, whatever is open closes."""
    open_ = session.scalar(select(Round).where(Round.document_id == document.id, Round.status == "open"))
    if confirmed is not ... and (open_.id if open_ is not None else None) != confirmed:
        raise Conflict("supersede_unconfirmed")
    if open_ is not None and open_.version_id != by.id:
        close_round(session, open_, actor=actor, reason="superseded", status="superseded")
        document.status = "draft"
        _queue_superseded_mails(session, open_, by)


def _queue_superseded_mails(session: Session, round_: Round, by: Version) -> None:
    """Everyone still in the round hears that it closed for a newer version, that their comments stay, and that a new
    round brings a new link (the next invitation is that link)."""
    written = dict(session.execute(
        select(Comment.participant_id, func.count(Comment.id))
        .where(Comment.round_id == round_.id, Comment.parent_id.is_(None), Comment.participant_id.is_not(None))
        .group_by(Comment.participant_id)).all())
    queue_emails(session, "round_superseded", [
        Recipient(p.person, f"round_superseded:{round_.id}:{p.id}",
                  {"participant_id": p.id, "new_version_id": by.id, "comments": written.get(p.id, 0)})
        for p in session.scalars(select(Participant).where(Participant.round_id == round_.id,
                                                           Participant.removed_at.is_(None)).order_by(Participant.id))],
        network_id=round_.document.network_id, round_id=round_.id)


def close_round_if_due(session: Session, round_id: int, *, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    round_ = session.get(Round, round_id)
    if round_ is None or not round_.is_open or round_.deadline > now:
        return False
    try:
        close_round(session, round_, actor=None, reason="deadline", now=now)
    except RoundClosed:  # closed meanwhile (by hand, a new version or the other worker's tick)
        return False
    return True


def overdue_round_ids(session: Session, *, now: dt.datetime | None = None) -> list[int]:
    now = now or utcnow()
    return list(session.scalars(select(Round.id).where(Round.status == "open", Round.deadline <= now)))
