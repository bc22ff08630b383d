"""API: the network's mail that did not arrive, with the reason in words; send it again, or correct a member's
address (their failed mail of the network then goes again)."""

from __future__ import annotations

from sqlalchemy import select

from service.api import schemas as s
from service.api.auth import caller
from service.api.blueprint import bp
from service.api.helpers import check_network, failure_words, load, page
from service.api.networks import TAG as MEMBERS_TAG
from service.api.registry import operation
from service.web import db
from storage.database.models import MailMessage, Membership, Person
from workflows.domain import membership, people, undelivered
from workflows.errors import NotFound

TAG = "Mail"
COORDINATOR = ("coordinator",)


def mail_out(item: MailMessage, memberships: dict[int, int] | None = None,
             recipients: dict[int, Person] | None = None, names: dict[int, str] | None = None) -> s.MailOut:
    """`memberships` (person id -> active membership id in the network), `recipients` and `names` (person id -> the
    name the network knows them by): when the caller has them."""
    if memberships is None:
        memberships = _active_memberships(item.network_id, [item.person_id])
    if names is None:
        names = people.names_in_network(db.session(), item.network_id, [item.person_id])
    person = (recipients or {}).get(item.person_id) or db.session().get(Person, item.person_id)
    return s.MailOut(
        id=item.id, network_id=item.network_id, round_id=item.round_id, email=item.email,
        person=s.PersonOut.known_as(person, names.get(item.person_id, "")),
        membership_id=memberships.get(item.person_id), to_address=item.to_address, status=item.status,
        failure=item.failure, failure_text=failure_words(item.failure), last_error=item.last_error,
        attempts=item.attempts, next_attempt_at=item.next_attempt_at, last_attempt_at=item.claimed_at,
        created_at=item.created_at, sent_at=item.sent_at)


def _active_memberships(network_id: int, person_ids: list[int] | None = None) -> dict[int, int]:
    statement = select(Membership.person_id, Membership.id).where(Membership.network_id == network_id,
                                                                  Membership.left_at.is_(None))
    if person_ids is not None:
        statement = statement.where(Membership.person_id.in_(person_ids))
    return dict(db.session().execute(statement).all())


@operation(bp, "GET", "/networks/{network_id}/mail", summary="The network's mail that failed, or waits for a new "
           "attempt after a failure, with the reason", tag=TAG, query=s.MailQuery, response=s.MailPage,
           paginated=True)
def list_mail(network_id: int, query: s.MailQuery):
    check_network(network_id)
    which = {"failed": undelivered.FAILED, "waiting": undelivered.WAITING}
    statement = select(MailMessage).where(MailMessage.network_id == network_id,
                                          which.get(query.status, undelivered.FAILED | undelivered.WAITING))
    session = db.session()
    # The page's recipients in one query (then in the session's identity map), not one per mail.
    recipients = statement.with_only_columns(MailMessage.person_id).where(MailMessage.id > query.after) \
        .order_by(MailMessage.id).limit(query.limit)
    found = {person.id: person for person in session.scalars(select(Person).where(Person.id.in_(recipients)))}
    names = people.names_in_network(session, network_id, found)
    memberships = _active_memberships(network_id)
    return page(statement, MailMessage.id, query, lambda item: mail_out(item, memberships, found, names), s.MailPage)


@operation(bp, "POST", "/mail/{mail_id}/send-again", summary="Send a failed mail again, to the person's current "
           "address", tag=TAG, roles=COORDINATOR, response=s.MailOut, errors=(409,), idempotent=True)
def send_mail_again(mail_id: int):
    item = load(MailMessage, mail_id)
    undelivered.resend_mail(db.session(), item, actor=caller().person)
    return mail_out(item)


@operation(bp, "POST", "/networks/{network_id}/members/{membership_id}/email", summary="Correct a member's "
           "address; their failed mail of the network goes again", tag=MEMBERS_TAG, roles=COORDINATOR,
           body=s.EmailIn, response=s.EmailCorrection, errors=(400, 409), idempotent=True,
           description="Refused (409 `address_shared`) when the person is also a member of another network: the "
                       "address is theirs in every network, so they settle it themselves.")
def correct_member_email(network_id: int, membership_id: int, body: s.EmailIn):
    check_network(network_id)
    member = load(Membership, membership_id)
    if member.network_id != network_id:
        raise NotFound()
    resent = membership.correct_email(db.session(), member, body.email, actor=caller().person)
    return s.EmailCorrection(membership=s.MembershipOut.model_validate(member), resent=[item.id for item in resent])
