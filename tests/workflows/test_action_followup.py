"""Action points followed up: the owner's mail when a point is given (again when it gets another owner, not when
only its text changes), the owner's link to mark it done (an earlier owner's link dies; done once), and the
reminders 3 days before the due day and on it at 09:00 Dutch time, each once, from the tick."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from storage.database.models import ActionLink, AuditEvent, MailMessage, utcnow
from tests.factories import make_network
from workflows.domain import action_followup, meetings, membership, minutes
from workflows.domain.wording import TIMEZONE
from workflows.errors import Conflict, InvalidInput, LinkInvalid
from workflows.outbound import emails, jobs

DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.commit()


@pytest.fixture
def held(db):
    """A meeting held two days ago (planned a month before), with one agenda item."""
    network, coordinator, members = make_network(db, members=3)
    starts_at = utcnow() - 2 * DAY
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title="Netwerkbijeenkomst", starts_at=starts_at, duration_minutes=120, place="Utrecht"),
        actor=coordinator, now=starts_at - 30 * DAY)
    item = meetings.add_agenda_item(db, meeting, title="Het concept", actor=coordinator)
    db.commit()
    return network, coordinator, members, meeting, item


def mails(db, kind: str, action_id: int) -> list[MailMessage]:
    db.rollback()
    return list(db.scalars(select(MailMessage).where(
        MailMessage.email == kind, MailMessage.params["action_point_id"].as_integer() == action_id)
        .order_by(MailMessage.id)))


def test_the_owner_is_told_once_per_owner_and_an_earlier_owners_link_dies(db, held):
    network, coordinator, members, meeting, item = held
    due = minutes.today() + 14 * DAY
    action = minutes.add_action_point(db, meeting, minutes.ActionInput("Apotheek uitnodigen", members[1].id, due,
                                                                       agenda_item_id=item.id), actor=coordinator)
    db.commit()
    [told] = mails(db, "action_point", action.id)
    assert told.person_id == members[1].person_id and told.network_id == network.id
    first_link = action_followup.mint_link(db, action.id, outbox_id=told.id)
    db.commit()

    # Another text or day: no new mail. Another owner: their own mail, and the first owner's link opens nothing.
    minutes.change_action_point(db, meeting, action.id, minutes.ActionInput("Apotheek en huisartsen uitnodigen",
                                                                            members[1].id, due + DAY),
                                actor=coordinator)
    db.commit()
    assert len(mails(db, "action_point", action.id)) == 1
    minutes.change_action_point(db, meeting, action.id, minutes.ActionInput("Apotheek en huisartsen uitnodigen",
                                                                            members[2].id, due + DAY),
                                actor=coordinator)
    db.commit()
    told = mails(db, "action_point", action.id)
    assert [m.person_id for m in told] == [members[1].person_id, members[2].person_id]
    with pytest.raises(LinkInvalid):
        action_followup.use_link(db, first_link)
    # The first owner's mail, not sent yet, goes no more (it is of the earlier owner).
    batch = emails.Batch(db, told, "https://akkoord.test")
    with pytest.raises(emails.NothingToSend):
        batch.check(told[0])
    batch.check(told[1])
    # Given back to the first owner: they are told again, with a link of their own.
    minutes.change_action_point(db, meeting, action.id, minutes.ActionInput("Apotheek en huisartsen uitnodigen",
                                                                            members[1].id, due + DAY),
                                actor=coordinator)
    db.commit()
    assert [m.person_id for m in mails(db, "action_point", action.id)][-1] == members[1].person_id


def test_the_owner_marks_it_done_by_the_link_once_and_a_leaver_cannot(db, held):
    network, coordinator, members, meeting, item = held
    action = minutes.add_action_point(db, meeting, minutes.ActionInput("Verslag rondsturen", members[1].id,
                                                                       minutes.today() + 7 * DAY),
                                      actor=coordinator)
    other = minutes.add_action_point(db, meeting, minutes.ActionInput("Zaal regelen", members[2].id,
                                                                      minutes.today() + 7 * DAY), actor=coordinator)
    db.commit()
    token = action_followup.mint_link(db, action.id)
    other_token = action_followup.mint_link(db, other.id)
    db.commit()
    link = action_followup.use_link(db, token)
    assert link.first_used_at is None  # resolving writes nothing
    with pytest.raises(InvalidInput) as refused:
        action_followup.mark_done_by_owner(db, link, note="x" * 2_001)
    assert refused.value.params["field"] == "done_note"
    db.rollback()
    action_followup.mark_done_by_owner(db, action_followup.use_link(db, token), note="  Verstuurd op dinsdag. ")
    db.commit()
    db.refresh(action)
    assert (action.status, action.done_note, action.done_by_id) == ("done", "Verstuurd op dinsdag.",
                                                                      members[1].person_id)
    with pytest.raises(Conflict):
        action_followup.mark_done_by_owner(db, action_followup.use_link(db, token), note="Nog eens")
    db.rollback()
    event = db.scalar(select(AuditEvent).where(AuditEvent.network_id == network.id,
                                               AuditEvent.kind == "action_point_done"))
    assert event.actor_id == members[1].person_id and event.data["link_id"] == link.id
    # The link still shows the point for 30 days after it was done, then no more.
    action_followup.use_link(db, token, now=utcnow() + 29 * DAY)
    with pytest.raises(LinkInvalid):
        action_followup.use_link(db, token, now=utcnow() + 31 * DAY)

    # An owner who left the network: their link opens nothing.
    membership.remove_member(db, members[2], actor=coordinator)
    db.commit()
    with pytest.raises(LinkInvalid):
        action_followup.use_link(db, other_token)
    # A removed action point takes its links along.
    minutes.remove_action_point(db, meeting, other.id, actor=coordinator)
    db.commit()
    assert db.scalar(select(func.count()).select_from(ActionLink).where(ActionLink.action_point_id == other.id)) == 0


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TIMEZONE).astimezone(dt.UTC)


def test_reminders_three_days_before_and_on_the_day_each_once(db, held):
    network, coordinator, members, meeting, item = held
    due = minutes.today() + 10 * DAY
    action = minutes.add_action_point(db, meeting, minutes.ActionInput("Artikel 4 herschrijven", members[1].id,
                                                                       due), actor=coordinator)
    done = minutes.add_action_point(db, meeting, minutes.ActionInput("Klaar voor de herinnering", members[2].id,
                                                                     due), actor=coordinator)
    minutes.mark_done(db, meeting, done.id, actor=coordinator)
    db.commit()

    def reminders(action_id: int = action.id) -> list[str]:
        return [m.params["slot"] for m in mails(db, "action_reminder", action_id)]

    jobs.tick(at(due - 3 * DAY, 8, 55).isoformat())  # 3 days before, but before 09:00
    assert reminders() == []
    jobs.tick(at(due - 3 * DAY, 9, 5).isoformat())
    assert reminders() == [f"d3:{due}"]
    jobs.tick(at(due - 2 * DAY, 12, 0).isoformat())  # once
    assert reminders() == [f"d3:{due}"]
    jobs.tick(at(due, 9, 1).isoformat())
    jobs.tick(at(due, 9, 2).isoformat())
    assert reminders() == [f"d3:{due}", f"d0:{due}"]
    assert reminders(done.id) == []  # a point done has nothing to be reminded of
    # Overdue: no more reminders (the dashboard and the next agenda show it).
    jobs.tick(at(due + DAY, 9, 1).isoformat())
    assert len(reminders()) == 2

    # A new due day has reminders of its own; the reminder for the old day goes no more.
    waiting = mails(db, "action_reminder", action.id)
    minutes.change_action_point(db, meeting, action.id, minutes.ActionInput("Artikel 4 herschrijven",
                                                                            members[1].id, due + 7 * DAY),
                                actor=coordinator)
    db.commit()
    with pytest.raises(emails.NothingToSend):
        emails.Batch(db, waiting, "https://akkoord.test").check(waiting[0])
    jobs.tick(at(due + 7 * DAY, 9, 30).isoformat())  # a tick that missed the first slot sends only the latest
    assert reminders()[2:] == [f"d0:{due + 7 * DAY}"]


def test_a_point_given_two_days_before_its_day_is_reminded_on_the_day_only(db, held):
    network, coordinator, members, meeting, item = held
    due = minutes.today() + 2 * DAY
    action = minutes.add_action_point(db, meeting, minutes.ActionInput("Snel regelen", members[1].id, due),
                                      actor=coordinator)
    db.commit()
    jobs.tick(at(due - DAY, 10, 0).isoformat())
    assert mails(db, "action_reminder", action.id) == []
    jobs.tick(at(due, 9, 0).isoformat())
    assert [m.params["slot"] for m in mails(db, "action_reminder", action.id)] == [f"d0:{due}"]
