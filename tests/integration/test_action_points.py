"""An action point followed up over HTTP on real parts (worker, SMTP, database): the minute-taker adds it on the
minutes page, its owner's mail arrives (Dutch, HTML and text) with a personal link (a scanner's GET records
nothing), the reminder 3 days before the due day arrives from the tick, and the owner marks it done with a note
through the link in that mail; the reminder on the day then goes no more."""

from __future__ import annotations

import datetime as dt

import pytest
from babel.dates import format_date
from sqlalchemy import func, select, update

from storage.database.models import ActionPoint, AuditEvent, MailMessage, utcnow
from tests.conftest import csrf_token
from tests.factories import fresh, make_network
from tests.integration.test_whole_loop import path_of
from tests.service.test_staff_pages import signed_in
from workflows.domain import meetings
from workflows.domain.wording import TIMEZONE
from workflows.outbound import jobs

DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.commit()


def _link(message) -> str:
    return next(link for link in message.links() if "/a/" in link)


def test_an_action_point_mailed_reminded_and_marked_done_by_its_owner(app, db, mail_store, run_worker):
    network, coordinator, people = make_network(db, members=2)
    owner = people[1]
    starts_at = utcnow() - DAY
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title="Eerste netwerkbijeenkomst", starts_at=starts_at, duration_minutes=150, place="Utrecht"),
        actor=coordinator, now=starts_at - 30 * DAY)
    db.commit()
    run_worker()
    mail_store.clear()

    # Added on the minutes page, due in ten days.
    staff = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/meetings/{meeting.id}/minutes"
    due = dt.datetime.now(TIMEZONE).date() + 10 * DAY
    token = csrf_token(staff.get(page).get_data(as_text=True))
    response = staff.post(f"{page}/actions", data={
        "action-csrf_token": token, "action-text": "De sociale kaart bijwerken", "action-owner": str(owner.id),
        "action-due_on": due.isoformat()})
    assert response.status_code == 303
    run_worker()
    # (Other tests' owners may be told or reminded by the same worker and tick: only this owner's mail counts.)
    def theirs(ms):
        return [m for m in ms if m.to == [owner.person.email]]

    [told] = theirs(mail_store.wait_for(lambda ms: len(theirs(ms)) == 1))
    assert format_date(due, "d MMM y", locale="nl") in told.subject  # the due day, as a Dutch day
    text, html = told.text_body(), told.html_body()
    for body in (text, html):
        assert "De sociale kaart bijwerken" in body and "Eerste netwerkbijeenkomst" in body
    first_link = _link(told)
    assert first_link in text

    # A scanner follows the link: it lands on the page and records nothing.
    events = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.network_id == network.id))
    db.rollback()
    scanner = app.test_client()
    landed = scanner.get(path_of(first_link))
    assert landed.status_code == 303 and "/a/" not in landed.headers["Location"]
    assert scanner.get(landed.headers["Location"]).status_code == 200
    fresh(db)
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.network_id == network.id)) == events
    [action] = db.scalars(select(ActionPoint).where(ActionPoint.meeting_id == meeting.id))
    assert action.status == "open"

    # Three days before the due day, at 09:00 Dutch time, the tick sends the reminder.
    mail_store.clear()
    jobs.tick(dt.datetime.combine(due - 3 * DAY, dt.time(9, 5), tzinfo=TIMEZONE).isoformat())
    run_worker()
    [reminder] = theirs(mail_store.wait_for(lambda ms: len(theirs(ms)) == 1))
    assert "De sociale kaart bijwerken" in reminder.text_body()

    # The owner marks it done through the link in the reminder, with a note.
    person = app.test_client()
    done_page = person.get(path_of(_link(reminder))).headers["Location"]
    html = person.get(done_page).get_data(as_text=True)
    response = person.post(done_page, data={"csrf_token": csrf_token(html), "note": "Bijgewerkt en rondgestuurd."})
    assert response.status_code == 303
    fresh(db)
    action = db.get(ActionPoint, action.id)
    assert (action.status, action.done_note) == ("done", "Bijgewerkt en rondgestuurd.")
    # (Signed in again: the tick at the compressed time ended the sessions that time had run out.)
    assert "Bijgewerkt en rondgestuurd." in signed_in(app, db, coordinator).get(page).get_data(as_text=True)

    # On the due day: nothing more to remind of.
    jobs.tick(dt.datetime.combine(due, dt.time(9, 5), tzinfo=TIMEZONE).isoformat())
    db.rollback()
    assert db.scalar(select(func.count()).select_from(MailMessage).where(
        MailMessage.email == "action_reminder", MailMessage.params["action_point_id"].as_integer() == action.id)) == 1
