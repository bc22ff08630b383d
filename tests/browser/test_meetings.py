"""Planning a meeting and signing up for it in Chromium, without JavaScript of our own: the staff's form (with an
error at its field), the meeting page, and the member's sign-up page from the link in the mail; then writing a
meeting's minutes. axe-core finds nothing at 1280 and 390 px and nothing scrolls sideways."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from storage.database.models import MailMessage, MeetingInvitation, utcnow
from tests.browser.accessibility import Audit
from tests.browser.test_accessibility import sign_in
from tests.factories import fresh, make_document, make_network, open_round, participant
from workflows.domain import meetings, minutes, rounds
from workflows.domain.wording import TIMEZONE

pytestmark = pytest.mark.browser


def test_planning_a_meeting_and_signing_up(browser_page, live_server, db, run_worker, mail_store):
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    network, coordinator, people = make_network(db, members=2)
    document, _version = make_document(db, network, coordinator)
    open_round(db, document, coordinator)
    db.commit()
    run_worker()
    mail_store.clear()
    page = browser_page
    audit = Audit()

    sign_in(page, live_server, db, coordinator)
    page.goto(f"{live_server.url}/n/{network.id}")
    page.get_by_role("link", name="Bijeenkomsten").or_(page.get_by_role("link", name="Meetings")).first.click()
    audit.visit(page, "meetings list")
    page.locator("main a.button").first.click()
    audit.visit(page, "plan a meeting")

    day = (dt.datetime.now(TIMEZONE) + dt.timedelta(days=21)).date()
    page.fill("#title", "Netwerkbijeenkomst over het concept")
    page.fill("#starts_at", f"{day}T14:00")
    page.fill("#duration_minutes", "150")
    page.fill("#online_url", "https://meet.example.org/netwerk")
    page.locator("main form button[type='submit']").click()  # no place and the link alone: fine; planned
    page.wait_for_url(f"{live_server.url}/n/{network.id}/meetings/*")
    meeting_url = page.url

    # An agenda item without a title: refused at its field.
    page.locator("#link").select_option(index=1)
    page.locator("form[action$='/agenda'] button[type='submit']").click()
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'error-summary'")
    assert page.locator("#title").get_attribute("aria-invalid") == "true"
    audit.visit(page, "meeting agenda error", reload=False)
    page.fill("#title", "Het concept")
    page.fill("#minutes", "60")
    page.locator("form[action$='/agenda'] button[type='submit']").click()
    page.wait_for_url(f"{meeting_url}#agenda")
    page.locator("form[action$='/invite'] button[type='submit']").click()
    page.wait_for_url(f"{meeting_url}#attendance")
    audit.visit(page, "meeting page")

    run_worker()
    member = people[1]
    mail_store.wait_for(lambda ms: any(m.to == [member.person.email] for m in ms))
    mail = next(m for m in mail_store.list() if m.to == [member.person.email])
    link = next(link for link in mail.links() if "/m/" in link and "?item=" not in link)

    phone = page.context.browser.new_context(viewport={"width": 390, "height": 844}, locale="nl-NL")
    signup = phone.new_page()
    try:
        signup.goto(live_server.rewrite(link))
        signup.wait_for_url(f"{live_server.url}/meeting/*/")
        audit.visit(signup, "sign up")
        signup.set_viewport_size({"width": 390, "height": 844})
        signup.locator("main form button[type='submit']").click()  # no choice made
        signup.wait_for_function("() => document.activeElement && document.activeElement.id === 'error-summary'")
        audit.visit(signup, "sign up error", reload=False)
        signup.locator("#answer-0").check()
        signup.fill("#remark", "Ik kom online.")
        signup.locator("main form button[type='submit']").click()
        signup.wait_for_selector(".flash")
        audit.visit(signup, "signed up")
    finally:
        phone.close()
    fresh(db)
    row = db.scalar(select(MeetingInvitation).where(MeetingInvitation.person_id == member.person_id))
    assert (row.answer, row.remark) == ("aanmelden", "Ik kom online.")
    audit.check(set())


def test_writing_the_minutes(browser_page, live_server, db):
    """The minute-taker's page in Chromium: notes, a decision about a comment the item brought, an action point
    (first refused at its field), who attended; the meeting page and the dashboard show them. axe-core finds nothing
    at 1280 and 390 px, with every folded form open."""
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    comment = rounds.add_comment(db, participant(db, round_, people[1]), body="Graag de apotheek noemen.",
                                 block_id=version.blocks[1]["id"])
    rounds.close_round(db, round_, actor=coordinator)
    starts_at = utcnow() - dt.timedelta(days=2)
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title="Netwerkbijeenkomst", starts_at=starts_at, duration_minutes=150, place="Utrecht",
        minute_taker_id=people[0].id), actor=coordinator, now=starts_at - dt.timedelta(days=30))
    item = meetings.add_agenda_item(db, meeting, title="Het concept", actor=coordinator, link=meetings.AgendaLink(
        round_id=round_.id, comment_selection="chosen", comment_ids=[comment.id]))
    meetings.invite(db, meeting, actor=coordinator, now=starts_at - dt.timedelta(days=30))
    db.commit()
    page = browser_page
    audit = Audit()
    sign_in(page, live_server, db, coordinator)
    page.goto(f"{live_server.url}/n/{network.id}/meetings/{meeting.id}")
    page.locator(f"a[href$='/meetings/{meeting.id}/minutes']").click()
    page.wait_for_url(f"{live_server.url}/n/{network.id}/meetings/{meeting.id}/minutes")
    minutes_url = page.url
    audit.visit(page, "minutes empty")

    page.fill(f"#notes-{item.id}-notes", "Artikel 4 is besproken.")
    page.locator(f"form[action$='/items/{item.id}/notes'] button[type='submit']").click()
    page.wait_for_url(f"{minutes_url}#item-{item.id}")
    page.locator(f"form[action$='/items/{item.id}/decisions']").locator("xpath=..").locator("summary").click()
    page.fill(f"#decision-{item.id}-text", "Artikel 4 wordt herschreven.")
    page.locator(f"#decision-{item.id}-comments-0").check()
    page.locator(f"form[action$='/items/{item.id}/decisions'] button[type='submit']").click()
    page.wait_for_url(f"{minutes_url}#item-{item.id}")

    # An action point without an owner: refused at its field, the summary focused.
    page.fill("#action-text", "Artikel 4 herschrijven")
    page.fill("#action-due_on", (minutes.today() + dt.timedelta(days=14)).isoformat())
    page.locator("form[action$='/minutes/actions'] button[type='submit']").click()
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'error-summary'")
    assert page.locator("#action-owner").get_attribute("aria-invalid") == "true"
    audit.visit(page, "minutes action error", reload=False)
    page.locator("#action-owner").select_option(str(people[1].id))
    page.locator("form[action$='/minutes/actions'] button[type='submit']").click()
    page.wait_for_url(f"{minutes_url}#actions")
    page.locator("#attendance-present-1").check()
    page.locator("form[action$='/minutes/attendance'] button[type='submit']").click()
    page.wait_for_url(f"{minutes_url}#attended")
    audit.visit(page, "minutes written")

    page.goto(f"{live_server.url}/n/{network.id}/meetings/{meeting.id}")
    body = page.locator("main").inner_text()
    assert "Artikel 4 wordt herschreven." in body and "Artikel 4 herschrijven" in body
    assert "Organisatie 0" in body  # who attended, per organisation
    audit.visit(page, "meeting with minutes")
    page.goto(f"{live_server.url}/r/{round_.id}/processing")
    assert page.locator(f"#comment-{comment.id} a[href$='#minutes']").count() == 1
    fresh(db)
    assert [d.text for d in minutes.minutes(db, meeting, [item.id]).decisions[item.id]] == \
        ["Artikel 4 wordt herschreven."]
    assert minutes.discussed_in(db, [comment.id])[comment.id][0].meeting_id == meeting.id
    audit.check(set())
