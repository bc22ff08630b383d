"""Redlines that do not rely on colour alone, and the member's commentaartabel, in a real Chromium (issue 12): the
member's changes page, the member's commentaartabel of a processed round and the staff compare page pass axe-core
at 1280 and 390 px without sideways scrolling; changed words carry visible bracket markers and words for screen
readers, and the list of changes leads to each changed passage."""

from __future__ import annotations

import datetime as dt

import pytest

from storage.database.models import utcnow
from tests.browser.accessibility import Audit
from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import SECOND_DRAFT, open_personal_link, sign_in
from tests.factories import make_document, make_network, participant
from workflows.domain import comments, documents, rounds

pytestmark = pytest.mark.browser

# Inside a changed passage, for the computed style of its changed words.
MARKERS = """() => {
  const ins = document.querySelector('.redline-changed ins');
  const del = document.querySelector('.redline-changed del');
  const style = (el, pseudo) => getComputedStyle(el, pseudo);
  return {ins: style(ins, '::before').content, insAfter: style(ins, '::after').content,
          del: style(del, '::before').content, insLine: style(ins).textDecorationLine,
          delLine: style(del).textDecorationLine,
          said: ins.querySelector('.visually-hidden').textContent + '|' + del.querySelector('.visually-hidden').textContent};
}"""


def two_rounds(db):
    """Round 1 on version 1, commented by a member and processed, closed; round 2 open on version 2."""
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    first = rounds.open_round(db, document, deadline=utcnow() + dt.timedelta(days=7), message="", actor=coordinator)
    member = people[1]
    block_id = next(b["id"] for b in version.blocks if b["type"] == "paragraph")
    said = [rounds.add_comment(db, participant(db, first, member), body="Graag 'goede zorg' uitleggen.",
                               block_id=block_id),
            rounds.add_comment(db, participant(db, first, people[2]), body="Wie betaalt de coördinatie?")]
    for comment, disposition in zip(said, ("overgenomen", "voor_kennisgeving")):
        comments.process_comment(db, comment, disposition=disposition, answer="Zie versie 2.", actor=coordinator)
    rounds.close_round(db, first, actor=coordinator)
    # Words added and one replaced ("zeldzame" by "chronische"), a passage and a table added.
    documents.upload_version(db, document, filename="concept2.md", data=SECOND_DRAFT.replace(
                                 "zeldzame", "chronische").encode(),
                             change_note="tweede concept", actor=coordinator)
    second = rounds.open_round(db, document, deadline=utcnow() + dt.timedelta(days=7),
                               message="Zie de commentaartabel van ronde 1.", actor=coordinator)
    return coordinator, member, document, first, second


def test_redlines_and_the_members_commentaartabel_in_a_browser(db, live_server, browser_page, run_worker):
    page = browser_page
    coordinator, member, document, first, second = two_rounds(db)
    reader = participant(db, second, member).id
    open_personal_link(page, live_server, db, reader)
    audit = Audit()

    # The member's changes since version 1: markers that are not colour, and a list of changes that leads there.
    page.goto(f"{live_server.url}/review/{reader}/changes")
    audit.visit(page, "words/member changes")
    markers = page.evaluate(MARKERS)
    assert "[+" in markers["ins"] and "]" in markers["insAfter"] and "[\u2212" in markers["del"], markers
    assert markers["insLine"] == "underline" and markers["delLine"] == "line-through"
    assert markers["said"] == "ingevoegd: |verwijderd: " or markers["said"] == "inserted: |deleted: ", markers
    listed = page.locator(".redline-changes a")
    assert listed.count() >= 2
    target = listed.first.get_attribute("href")
    listed.first.click()
    assert page.url.endswith(target) and page.locator(target).is_visible()
    screenshot(page, "words-member-changes-at-first-change")

    # From the review page of round 2 to the commentaartabel of round 1.
    page.goto(f"{live_server.url}/review/{reader}/")
    page.locator(f'a[href="/review/{reader}/commentaartabel"]').click()
    audit.visit(page, "words/member commentaartabel list")
    page.locator(f'a[href="/review/{reader}/commentaartabel/{first.id}"]').click()
    assert page.locator("table.list tbody tr").count() == 2
    assert "Wie betaalt de coördinatie?" in page.locator("main").inner_text()
    audit.visit(page, "words/member commentaartabel")

    # The staff compare page: the same redline.
    sign_in(page, live_server, db, coordinator)
    db.rollback()
    page.goto(f"{live_server.url}/d/{document.id}/compare")
    assert page.locator(".redline-changes li").count() >= 2
    audit.visit(page, "words/staff compare")
    audit.check(set())
    run_worker()  # the round's mails: none left waiting for another test's outbox sweep
