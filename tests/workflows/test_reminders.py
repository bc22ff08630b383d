"""Reminders with the clock set by the test, a real worker and a real SMTP server; deadline extensions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from storage.database.models import MailMessage
from tests.factories import make_document, make_network, participant
from workflows.domain import reminders, rounds
from workflows.errors import Conflict, InvalidInput
from workflows.outbound import jobs

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.commit()


@pytest.fixture
def round_in_two_weeks(db, run_worker, mail_store):
    network, coordinator, people = make_network(db, members=2, observers=1)
    document, _ = make_document(db, network, coordinator)
    deadline = dt.datetime(2031, 3, 20, 17, 0, tzinfo=AMSTERDAM)
    round_ = rounds.open_round(db, document, deadline=deadline, message="", actor=coordinator,
                               now=deadline - dt.timedelta(days=14))
    decided = participant(db, round_, people[1])
    rounds.record_verdict(db, decided, value="akkoord", reason="", evidence=rounds.Evidence())
    db.commit()
    run_worker()
    mail_store.clear()
    return round_, coordinator, people, deadline


def queued(db, round_) -> int:
    """Reminder mails queued for this round (other tests' rounds may be open too)."""
    db.flush()
    return db.scalar(select(func.count()).select_from(MailMessage).where(
        MailMessage.round_id == round_.id, MailMessage.email == "reminder"))


def reminded(mail_store) -> list[str]:
    return sorted(m.to[0] for m in mail_store.list() if "Herinnering" in m.subject)


def test_reminders_follow_the_schedule_and_go_only_to_voters_without_a_verdict(db, run_worker, mail_store,
                                                                              round_in_two_weeks):
    round_, coordinator, people, deadline = round_in_two_weeks
    undecided = sorted([coordinator.email, people[0].person.email, people[2].person.email])  # not the observer
    at = lambda day, hour: dt.datetime(2031, 3, day, hour, 0, tzinfo=AMSTERDAM).isoformat()  # noqa: E731

    def tick(day, hour) -> int:
        jobs.tick(at(day, hour))
        db.rollback()
        return queued(db, round_)

    assert tick(13, 8) == 0  # before 7 days ahead at 09:00
    assert tick(13, 9) == 3
    run_worker()
    assert reminded(mail_store) == undecided
    assert tick(13, 12) == 3  # the same slot never twice

    mail_store.clear()
    assert tick(18, 9) == 6  # 2 days ahead
    run_worker()
    assert tick(20, 8) == 9  # the deadline's morning
    run_worker()
    assert tick(20, 18) == 9  # past the deadline: no reminder
    assert len(reminded(mail_store)) == 6
    assert reminders.reminders_sent(db, round_.id) == 3


def test_a_late_tick_sends_one_reminder_not_all_missed_ones(db, round_in_two_weeks):
    round_, *_ = round_in_two_weeks
    late = dt.datetime(2031, 3, 19, 10, 0, tzinfo=AMSTERDAM)  # both the 7- and 2-day slots have passed
    reminders.send_due(db, now=late)
    assert queued(db, round_) == 3
    reminders.send_due(db, now=late)
    assert queued(db, round_) == 3
    assert reminders.reminders_sent(db, round_.id) == 1


def test_at_most_three_reminders_and_sensible_schedules(db, round_in_two_weeks):
    round_, coordinator, _people, _deadline = round_in_two_weeks
    for _ in range(3):
        reminders.send_now(db, round_, actor=coordinator)
    with pytest.raises(Conflict):
        reminders.send_now(db, round_, actor=coordinator)
    reminders.send_due(db, now=round_.deadline - dt.timedelta(hours=1))
    assert queued(db, round_) == 9
    with pytest.raises(InvalidInput):
        reminders.set_schedule(db, round_, [10, 5, 3, 1], actor=coordinator)
    reminders.set_schedule(db, round_, [3], actor=coordinator)
    assert round_.reminder_days == [3]


def test_extending_the_deadline_tells_everyone_with_a_calendar_entry(db, run_worker, mail_store, round_in_two_weeks):
    round_, coordinator, people, deadline = round_in_two_weeks
    with pytest.raises(InvalidInput):
        reminders.extend_deadline(db, round_, deadline - dt.timedelta(days=1), actor=coordinator)
    later = deadline + dt.timedelta(days=7)
    reminders.extend_deadline(db, round_, later, actor=coordinator)
    db.commit()
    run_worker()
    mails = mail_store.wait_for(lambda ms: len(ms) == 5)  # everyone in the round, observers and the decided too
    (name, content_type, data), = mails[0].attachments()
    ics = data.decode()
    assert name == "deadline.ics" and content_type == "text/calendar"
    assert "DTEND:20310327T160000Z" in ics and ics.count("BEGIN:VEVENT") == 1
    assert all(len(line.encode()) <= 75 for line in ics.split("\r\n"))
    assert not rounds.close_round_if_due(db, round_.id, now=deadline + dt.timedelta(hours=1))


def test_a_closing_round_sends_a_summary_to_staff_and_the_outcome_to_everyone(db, run_worker, mail_store,
                                                                              round_in_two_weeks):
    round_, coordinator, people, _deadline = round_in_two_weeks
    rounds.close_round(db, round_, actor=coordinator)
    db.commit()
    run_worker()
    mails = mail_store.wait_for(lambda ms: len(ms) == 7)  # 2 staff summaries + 5 participants' outcomes
    summaries = [m for m in mails if "is gesloten:" in m.subject]
    assert sorted(m.to[0] for m in summaries) == sorted([coordinator.email, people[0].person.email])
    text = summaries[0].text_body()
    assert "1 van 4 leden met stemrecht (25%)" in text and people[0].person.name in text  # who did not respond
    outcome = next(m for m in mails if m.to == [people[1].person.email] and m not in summaries)
    assert "Uw oordeel: akkoord." in outcome.text_body()


def _round_opened_before_deadline(db, days: int, deadline: dt.datetime):
    network, coordinator, people = make_network(db, members=2)
    document, _ = make_document(db, network, coordinator)
    opened = deadline - dt.timedelta(days=days)
    round_ = rounds.open_round(db, document, deadline=deadline, message="", actor=coordinator, now=opened)
    db.commit()
    assert round_.reminder_days == [7, 2, 0]  # the default schedule
    return round_, opened


def _slots(db, round_) -> list[str]:
    db.rollback()
    return sorted({m.params["slot"] for m in db.scalars(select(MailMessage).where(
        MailMessage.round_id == round_.id, MailMessage.email == "reminder"))})


def test_a_round_opened_three_days_ahead_gets_no_seven_day_reminder(db, run_worker, mail_store):
    deadline = dt.datetime(2032, 3, 20, 17, 0, tzinfo=AMSTERDAM)
    round_, opened = _round_opened_before_deadline(db, 3, deadline)
    # The first tick after opening, 30 s after the invitation: the 7-days-before slot passed before the round existed.
    jobs.tick((opened + dt.timedelta(seconds=30)).isoformat())
    jobs.tick((opened + dt.timedelta(hours=12)).isoformat())
    assert _slots(db, round_) == []
    jobs.tick(dt.datetime(2032, 3, 18, 8, 59, tzinfo=AMSTERDAM).isoformat())
    assert _slots(db, round_) == []
    jobs.tick(dt.datetime(2032, 3, 18, 9, 0, tzinfo=AMSTERDAM).isoformat())  # 2 days before, 09:00
    assert _slots(db, round_) == ["d2"]
    assert queued(db, round_) == 4  # every voter: no one has decided
    run_worker()
    assert len(reminded(mail_store)) == 4


def test_a_round_opened_ten_days_ahead_gets_the_seven_day_reminder(db):
    deadline = dt.datetime(2032, 4, 20, 17, 0, tzinfo=AMSTERDAM)
    round_, opened = _round_opened_before_deadline(db, 10, deadline)
    jobs.tick((opened + dt.timedelta(seconds=30)).isoformat())
    assert _slots(db, round_) == []
    jobs.tick(dt.datetime(2032, 4, 13, 9, 0, tzinfo=AMSTERDAM).isoformat())  # 7 days before, 09:00
    assert _slots(db, round_) == ["d7"]
    jobs.tick(dt.datetime(2032, 4, 18, 9, 0, tzinfo=AMSTERDAM).isoformat())
    assert _slots(db, round_) == ["d2", "d7"]
