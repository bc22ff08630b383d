"""An action point's owner marks it done in Chromium from the link in their mail, on a phone: the page with its
note field, and the page once done. axe-core finds nothing at 1280 and 390 px and nothing scrolls
sideways."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from storage.database.models import ActionPoint, MailMessage, utcnow
from tests.browser.accessibility import Audit
from tests.factories import fresh, make_network
from workflows.domain import meetings, minutes

pytestmark = pytest.mark.browser


def test_the_owner_marks_an_action_point_done(browser_page, live_server, db, run_worker, mail_store):
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    network, coordinator, people = make_network(db, members=1)
    owner = people[1]
    starts_at = utcnow() - dt.timedelta(days=1)
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title="Netwerkbijeenkomst", starts_at=starts_at, duration_minutes=150, place="Utrecht"),
        actor=coordinator, now=starts_at - dt.timedelta(days=30))
    action = minutes.add_action_point(db, meeting, minutes.ActionInput(
        "De sociale kaart bijwerken", owner.id, minutes.today() + dt.timedelta(days=7)), actor=coordinator)
    db.commit()
    run_worker()
    mail_store.wait_for(lambda ms: any(m.to == [owner.person.email] for m in ms))
    mail = next(m for m in mail_store.list() if m.to == [owner.person.email])
    link = next(link for link in mail.links() if "/a/" in link)
    audit = Audit()

    phone = browser_page.context.browser.new_context(viewport={"width": 390, "height": 844}, locale="nl-NL")
    page = phone.new_page()
    try:
        page.goto(live_server.rewrite(link))
        page.wait_for_url(f"{live_server.url}/action/*/")
        assert "De sociale kaart bijwerken" in page.locator("main").inner_text()
        audit.visit(page, "action point")
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.locator("#note").get_attribute("maxlength") == "2000"  # a longer note cannot be typed
        page.fill("#note", "Bijgewerkt en rondgestuurd.")
        page.locator("main form button[type='submit']").click()
        page.wait_for_selector(".flash")
        audit.visit(page, "action point done")
    finally:
        phone.close()
    fresh(db)
    assert db.get(ActionPoint, action.id).done_note == "Bijgewerkt en rondgestuurd."
    audit.check(set())
