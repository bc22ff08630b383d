""""Opened" on the round page is what a person did, not what a mail scanner does: loading the member's page in a
real browser (scripts and all, as Safe Links-style scanners do) records nothing; the first scroll, tap or key
press does, once."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from storage.database.models import Participant
from tests.factories import make_document, make_network, open_round

pytestmark = pytest.mark.browser


def opened_at(db, participant_id: int):
    db.rollback()
    db.expire_all()
    value = db.scalar(select(Participant.first_opened_at).where(Participant.id == participant_id))
    db.rollback()  # end the read: on SQLite the test's transaction would hold the lock the server needs
    return value


def wait_for_opened(db, participant_id: int, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while (value := opened_at(db, participant_id)) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def test_loading_the_page_records_nothing_and_the_first_scroll_marks_it_opened(db, live_server, browser_page,
                                                                                mail_store, run_worker):
    page = browser_page
    network, coordinator, people = make_network(db, members=1)
    member = next(m for m in people if m.role == "member")
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    participant_id = db.scalar(select(Participant.id).where(Participant.round_id == round_.id,
                                                            Participant.person_id == member.person_id))
    db.rollback()
    run_worker()
    invitation = next(m for m in mail_store.wait_for(lambda ms: any(m.to == [member.person.email] for m in ms))
                      if m.to == [member.person.email])
    link = next(url for url in invitation.links() if "/l/" in url)

    reports = []
    page.on("request", lambda request: reports.append(request) if request.url.endswith("/seen") else None)
    # What a scanner that renders pages does: follow the link, run the page's scripts, wait, leave.
    page.goto(live_server.rewrite(link))
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)
    assert opened_at(db, participant_id) is None

    # A person scrolls through the text with the mouse wheel.
    page.mouse.move(300, 300)
    page.mouse.wheel(0, 600)
    first = wait_for_opened(db, participant_id)
    assert first is not None, "the first scroll did not mark the page as opened"

    # Only the first one per page load: further key presses and scrolls send nothing more.
    page.keyboard.press("Tab")
    page.mouse.wheel(0, 300)
    page.wait_for_timeout(1000)
    assert len(reports) == 1 and reports[0].method == "POST"
    assert opened_at(db, participant_id) == first
