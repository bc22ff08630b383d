"""Choosing comments one by one for an agenda item in Chromium, without JavaScript of our own: from the meeting page
to the choosing page, ticking "niet overgenomen" beforehand, one box more, saving; the meeting page then lists them.
axe-core finds nothing at 1280 and 390 px and nothing scrolls sideways."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from storage.database.models import AgendaItemComment, utcnow
from tests.browser.accessibility import Audit
from tests.browser.test_accessibility import sign_in
from tests.factories import fresh, make_document, make_network, open_round, participant
from workflows.domain import comments as comment_rules
from workflows.domain import meetings, rounds

pytestmark = pytest.mark.browser


def test_choosing_comments_for_an_agenda_item(browser_page, live_server, db):
    network, coordinator, people = make_network(db, members=3)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    said = [rounds.add_comment(db, participant(db, round_, people[i]), body=body, block_id=block)
            for i, body, block in ((1, "Graag de apotheek noemen.", version.blocks[1]["id"]),
                                   (2, "Dit artikel is te lang en mag korter.", version.blocks[1]["id"]),
                                   (3, "Algemeen: een goed stuk.", None))]
    rounds.close_round(db, round_, actor=coordinator)
    for comment, disposition in zip(said, ("niet_overgenomen", "overgenomen", "voor_kennisgeving"), strict=True):
        comment_rules.process_comment(db, comment, disposition=disposition, answer="Zo is het.", actor=coordinator)
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title="Netwerkbijeenkomst", starts_at=utcnow() + dt.timedelta(days=14), duration_minutes=150,
        place="Utrecht"), actor=coordinator)
    item = meetings.add_agenda_item(db, meeting, title="De opmerkingen uit ronde 1", actor=coordinator,
                                    link=meetings.AgendaLink(round_id=round_.id))
    db.commit()
    page = browser_page
    audit = Audit()
    sign_in(page, live_server, db, coordinator)
    meeting_url = f"{live_server.url}/n/{network.id}/meetings/{meeting.id}"
    page.goto(meeting_url)
    page.locator(f"a[href$='/agenda/{item.id}/comments']").click()
    choose_url = f"{meeting_url}/agenda/{item.id}/comments"
    page.wait_for_url(choose_url)
    audit.visit(page, "choose comments")

    page.locator("input[name='kies'][value='niet_overgenomen']").check()
    page.locator("main form[method='get'] button[type='submit']").click()
    page.wait_for_url(f"{choose_url}?kies=niet_overgenomen")
    assert page.locator(f"input[name='comment'][value='{said[0].id}']").is_checked()
    assert not page.locator(f"input[name='comment'][value='{said[1].id}']").is_checked()
    audit.visit(page, "choose comments preselected")
    page.locator(f"input[name='comment'][value='{said[2].id}']").check()
    page.locator("main form[method='post'] button[type='submit']").click()
    page.wait_for_url(f"{meeting_url}#item-{item.id}")
    assert "Algemeen: een goed stuk." in page.locator(f"#item-{item.id}").inner_text()
    audit.visit(page, "meeting with chosen comments")
    fresh(db)
    assert set(db.scalars(select(AgendaItemComment.comment_id).where(
        AgendaItemComment.agenda_item_id == item.id))) == {said[0].id, said[2].id}
    audit.check(set())
