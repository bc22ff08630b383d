"""Correcting a member's address and sending failed mail again: who may, which addresses are refused, and what
goes again to where."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.database.models import AuditEvent, MailMessage, Person
from tests.factories import fresh, make_document, make_network, open_round, unique
from workflows.domain import membership, reminders, undelivered
from workflows.errors import Conflict, InvalidInput, NotAllowed


def invitation(db, round_, person_id) -> MailMessage:
    return db.scalar(select(MailMessage).where(MailMessage.round_id == round_.id, MailMessage.email == "invitation",
                                               MailMessage.person_id == person_id))


def refused(item: MailMessage) -> MailMessage:
    """As the worker leaves a mail the recipient's server refused."""
    item.status, item.attempts, item.next_attempt_at = "failed", 1, None
    item.failure, item.last_error = "address_refused", "550 5.1.1 No such user"
    return item


@pytest.fixture
def setup(db):
    network, coordinator, people = make_network(db, members=2)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = people[1]
    refused(invitation(db, round_, member.person_id))
    db.commit()
    return network, coordinator, people, member, round_


def test_a_coordinator_corrects_the_address_and_the_failed_mail_goes_again(db, setup):
    network, coordinator, _people, member, round_ = setup
    old_email, new = member.person.email, f"nieuw.adres-{unique('a')}@example.org"
    resent = membership.correct_email(db, member, f"  {new.title()} ", actor=coordinator)
    mail = invitation(db, round_, member.person_id)
    assert [item.id for item in resent] == [mail.id]
    assert member.person.email == new
    assert (mail.status, mail.attempts, mail.failure, mail.last_error) == ("pending", 0, None, "")
    assert mail.to_address == new and mail.next_attempt_at is not None
    db.commit()
    event = db.scalar(select(AuditEvent).where(AuditEvent.network_id == network.id)
                      .order_by(AuditEvent.seq.desc()).limit(1))
    assert event.kind == "member_email_corrected" and event.actor_id == coordinator.id
    assert event.data == {"person_id": member.person_id, "membership_id": member.id, "old_email": old_email,
                          "new_email": new, "resent": [mail.id]}


def test_mail_not_yet_tried_takes_the_new_address_and_mail_that_went_stays_as_it_was(db, setup):
    _network, coordinator, _people, member, round_ = setup
    mail = invitation(db, round_, member.person_id)
    old_email = member.person.email
    mail.status, mail.failure, mail.sent_at = "sent", None, mail.created_at  # delivered after all
    reminders.send_now(db, round_, actor=coordinator)  # a second mail to the same person, not tried yet
    reminder = db.scalar(select(MailMessage).where(MailMessage.round_id == round_.id, MailMessage.email == "reminder",
                                                   MailMessage.person_id == member.person_id))
    db.flush()
    new = f"ander-{unique('a')}@example.org"
    assert membership.correct_email(db, member, new, actor=coordinator) == []
    assert (mail.status, mail.to_address) == ("sent", old_email)  # what went, went
    assert (reminder.status, reminder.to_address, reminder.attempts) == ("pending", new, 0)


def test_only_a_coordinator_of_the_network_corrects_an_address(db, setup):
    _network, _coordinator, people, member, _round = setup
    editor = people[0].person
    with pytest.raises(NotAllowed):
        membership.correct_email(db, member, "x@example.org", actor=editor)
    _other, stranger, _ = make_network(db, members=0, editors=0)
    with pytest.raises(NotAllowed):
        membership.correct_email(db, member, "x@example.org", actor=stranger)


@pytest.mark.parametrize("address, error, code", [
    ("geen-adres", InvalidInput, "bad_email"),
    ("twee@@example.org", InvalidInput, "bad_email"),
    ("naam@example.org, ander@example.org", InvalidInput, "bad_email"),
])
def test_a_bad_address_is_refused(db, setup, address, error, code):
    _network, coordinator, _people, member, _round = setup
    with pytest.raises(error) as refused_:
        membership.correct_email(db, member, address, actor=coordinator)
    assert refused_.value.code == code


def test_another_persons_address_and_the_same_address_are_refused(db, setup):
    _network, coordinator, people, member, round_ = setup
    before = member.person.email
    with pytest.raises(Conflict) as taken:
        membership.correct_email(db, member, people[0].person.email.upper(), actor=coordinator)
    assert taken.value.code == "email_taken"
    with pytest.raises(Conflict) as same:
        membership.correct_email(db, member, before.upper(), actor=coordinator)
    assert same.value.code == "email_unchanged"
    fresh(db)
    assert db.get(Person, member.person_id).email == before


def test_an_address_shared_with_another_network_is_not_changed_from_here(db, setup):
    network, coordinator, _people, member, round_ = setup
    db.commit()
    other, other_coordinator, _ = make_network(db, members=0, editors=0)
    elsewhere = membership.add_member(db, other, name=member.person.name, email=member.person.email,
                                      organisation_name="", role="member", actor=other_coordinator)
    db.commit()
    with pytest.raises(Conflict) as shared:
        membership.correct_email(db, member, f"nieuw-{unique('a')}@example.org", actor=coordinator)
    assert shared.value.code == "address_shared" and shared.value.params == {"name": member.person.name}
    fresh(db)
    assert invitation(db, round_, member.person_id).status == "failed"
    # Once they have left the other network, the address is this network's to correct.
    membership.remove_member(db, elsewhere, actor=other_coordinator)
    assert len(membership.correct_email(db, member, f"nieuw-{unique('a')}@example.org", actor=coordinator)) == 1


def test_a_member_who_left_is_not_corrected(db, setup):
    _network, coordinator, _people, member, _round = setup
    membership.remove_member(db, member, actor=coordinator)
    with pytest.raises(Conflict) as left:
        membership.correct_email(db, member, f"nieuw-{unique('a')}@example.org", actor=coordinator)
    assert left.value.code == "already_left"


def test_failed_mail_is_sent_again_by_a_coordinator_only_and_only_when_it_failed(db, setup):
    network, coordinator, people, member, round_ = setup
    mail = invitation(db, round_, member.person_id)
    with pytest.raises(NotAllowed):
        undelivered.resend_mail(db, mail, actor=people[0].person)  # an editor
    pending = invitation(db, round_, people[0].person_id)
    with pytest.raises(Conflict) as not_failed:
        undelivered.resend_mail(db, pending, actor=coordinator)
    assert not_failed.value.code == "mail_not_failed"
    undelivered.resend_mail(db, mail, actor=coordinator)
    assert (mail.status, mail.attempts, mail.failure) == ("pending", 0, None)
    with pytest.raises(Conflict):
        undelivered.resend_mail(db, mail, actor=coordinator)  # it is on its way already
    db.commit()
    event = db.scalar(select(AuditEvent).where(AuditEvent.network_id == network.id)
                      .order_by(AuditEvent.seq.desc()).limit(1))
    assert event.kind == "mail_resent" and event.data["mail_id"] == mail.id
    assert event.data["failure"] == "address_refused" and event.data["address"] == member.person.email


def test_the_list_holds_failed_mail_and_mail_waiting_after_a_failure_newest_first(db, setup):
    network, _coordinator, people, member, round_ = setup
    waiting = invitation(db, round_, people[0].person_id)
    waiting.failure, waiting.attempts, waiting.last_error = "recipient_deferred", 1, "452 mailbox full"
    db.flush()
    failed = invitation(db, round_, member.person_id)
    rows, more = undelivered.undelivered_mail(db, network.id)
    assert [row[0].id for row in rows] == sorted([failed.id, waiting.id], reverse=True) and not more
    assert [row[0].id for row in undelivered.undelivered_mail(db, network.id, kind="failed")[0]] == [failed.id]
    assert [row[0].id for row in undelivered.undelivered_mail(db, network.id, kind="waiting")[0]] == [waiting.id]
    mail, person, member_row, title = undelivered.undelivered_mail(db, network.id, person_id=member.person_id)[0][0]
    assert (mail.id, person.id, member_row.id, title) == (failed.id, member.person_id, member.id,
                                                          round_.document.title)
    assert undelivered.count_undelivered(db, network.id) == 2
    assert undelivered.undelivered_mail(db, network.id, per_page=1) == (rows[:1], True)
