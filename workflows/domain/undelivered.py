"""Mail that did not go out: the state of each invitation, the list a coordinator works through, sending again; and
what failed of every channel (mail and webhook posts), per network and across networks."""

from __future__ import annotations

from sqlalchemy import Row, and_, func, or_, select
from sqlalchemy.orm import Session

from storage.database.engine import lock
from storage.database.models import Document, MailMessage, Membership, OutboxItem, Person, Round, WebhookDelivery
from workflows import audit
from workflows.domain.notifications import send_again
from workflows.domain.people import active_membership
from workflows.errors import Conflict, NotAllowed

# What the list shows: mail that failed for good, and mail waiting for its next attempt after a failure.
KINDS = ("failed", "waiting")
FAILED = MailMessage.status == "failed"
WAITING = and_(MailMessage.status == "pending", MailMessage.failure.is_not(None))
# What a page shows of a mail's state.
STATE = (MailMessage.id, MailMessage.channel, MailMessage.person_id, MailMessage.status, MailMessage.attempts,
         MailMessage.failure, MailMessage.last_error, MailMessage.next_attempt_at, MailMessage.sent_at)


def require_coordinator(session: Session, network_id: int | None, actor: Person) -> None:
    own = active_membership(session, network_id, actor.id) if network_id is not None else None
    if own is None or own.role != "coordinator":
        raise NotAllowed()


def latest_invitations(session: Session, round_id: int) -> dict[int, Row]:
    """Per person, the state of the round's latest invitation (a new link is a new invitation), with its reason:
    rows, not objects, so that a round of 1,000 costs milliseconds."""
    return {row.person_id: row for row in session.execute(
        select(*STATE).where(MailMessage.round_id == round_id, MailMessage.email == "invitation")
        .order_by(MailMessage.id))}  # the latest invitation wins


def count_undelivered(session: Session, network_id: int) -> int:
    return undelivered_counts(session, [network_id]).get(network_id, 0)


def undelivered_counts(session: Session, network_ids) -> dict[int, int]:
    """Per network, its mails that failed or wait for another attempt after a failure; networks without any are
    left out. One statement."""
    network_ids = list(network_ids)
    if not network_ids:
        return {}
    return dict(session.execute(
        select(MailMessage.network_id, func.count(MailMessage.id))
        # The statuses named first: they read the outbox's status index, not all of a network's mail.
        .where(MailMessage.status.in_(("failed", "pending")), MailMessage.network_id.in_(network_ids),
               or_(FAILED, WAITING))
        .group_by(MailMessage.network_id)).all())


def failed_webhook_counts(session: Session, network_ids) -> dict[int, int]:
    """Per network, its webhook deliveries that failed for good (a coordinator sends them again on the webhooks
    page); networks without any are left out. One statement."""
    network_ids = list(network_ids)
    if not network_ids:
        return {}
    return dict(session.execute(
        select(WebhookDelivery.network_id, func.count(WebhookDelivery.id))
        .where(WebhookDelivery.network_id.in_(network_ids), WebhookDelivery.status == "failed")
        .group_by(WebhookDelivery.network_id)).all())


def failed_work(session: Session, network_id: int | None = None) -> list[Row]:
    """What did not go out, across networks (or in one): rows of (network id, channel, status, failure, count,
    oldest created_at) for items that failed, or wait for their next attempt after a failure. One statement."""
    statement = (
        select(OutboxItem.network_id, OutboxItem.channel, OutboxItem.status, OutboxItem.failure,
               func.count(OutboxItem.id).label("count"), func.min(OutboxItem.created_at).label("oldest"))
        .where(or_(OutboxItem.status == "failed",
                   and_(OutboxItem.status == "pending", OutboxItem.failure.is_not(None))))
        .group_by(OutboxItem.network_id, OutboxItem.channel, OutboxItem.status, OutboxItem.failure)
        .order_by(OutboxItem.network_id, OutboxItem.channel, OutboxItem.status, OutboxItem.failure)
    )
    if network_id is not None:
        statement = statement.where(OutboxItem.network_id == network_id)
    return list(session.execute(statement).all())


def undelivered_mail(session: Session, network_id: int, *, kind: str | None = None, person_id: int | None = None,
                     page: int = 1, per_page: int = 50) -> tuple[list, bool]:
    """The network's mail that failed or waits for a retry after a failure, newest first: rows of (mail, person,
    the person's membership of the network if still active, the title of the document its round is about);
    and whether there is a next page."""
    statement = (
        select(MailMessage, Person, Membership, Document.title)
        .join(Person, MailMessage.person_id == Person.id)
        .outerjoin(Membership, and_(Membership.person_id == MailMessage.person_id,
                                    Membership.network_id == network_id, Membership.left_at.is_(None)))
        .outerjoin(Round, MailMessage.round_id == Round.id)
        .outerjoin(Document, Round.document_id == Document.id)
        .where(MailMessage.network_id == network_id)
        .where({"failed": FAILED, "waiting": WAITING}.get(kind, or_(FAILED, WAITING)))
    )
    if person_id is not None:
        statement = statement.where(MailMessage.person_id == person_id)
    rows = session.execute(statement.order_by(MailMessage.id.desc()).limit(per_page + 1)
                           .offset((max(page, 1) - 1) * per_page)).all()
    return [tuple(row) for row in rows[:per_page]], len(rows) > per_page


def resend_mail(session: Session, item: MailMessage, *, actor: Person) -> MailMessage:
    """A coordinator sends a failed (or cancelled) mail again, to the person's current address."""
    require_coordinator(session, item.network_id, actor)
    item = lock(session, OutboxItem, item.id)  # a worker does not take it meanwhile
    if item.status not in ("failed", "cancelled"):
        raise Conflict("mail_not_failed")
    failure, old_address = item.failure, item.to_address
    send_again(session, item)
    audit.record(session, item.network_id, "mail_resent", actor_id=actor.id, round_id=item.round_id,
                 mail_id=item.id, email=item.email, person_id=item.person_id, failure=failure,
                 old_address=old_address, address=item.to_address)
    return item


def resend_after_correction(session: Session, person: Person, network_id: int) -> list[MailMessage]:
    """After a person's address was corrected: their mail of this network that failed or waits after a failure
    goes again now, and every mail of theirs not yet tried takes the new address."""
    wanted = session.scalars(select(MailMessage.id).where(
        MailMessage.person_id == person.id, or_(
            and_(MailMessage.network_id == network_id, or_(FAILED, WAITING)),
            and_(MailMessage.status == "pending", MailMessage.failure.is_(None)),
        )).order_by(MailMessage.id)).all()
    resent = []
    for item_id in wanted:  # in id order, as the workers claim them, so the two never wait on each other in a cycle
        item = lock(session, OutboxItem, item_id)
        if item.status == "pending" and item.failure is None:
            item.to_address = person.email
        elif item.network_id == network_id and (item.status == "failed" or item.status == "pending"):
            resent.append(send_again(session, item))
    session.flush()
    return resent
