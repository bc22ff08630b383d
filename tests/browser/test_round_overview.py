"""The coordinator's round page and dashboard lead with what needs attention (issue 12, problems 1 and 6), in a real
Chromium at 1280 and 390 px: axe-core finds nothing and nothing scrolls sideways, on the round page (person and
organisation rule), its filtered views and the dashboard; the filter works in place with the script, and by
loading the filtered page without it. Screenshots: tests/browser/screenshots/a11y-overview-*.png."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from storage.database.models import MailMessage, utcnow
from tests.browser.accessibility import Audit
from tests.browser.test_accessibility import organisation_network, say, sign_in
from tests.factories import fresh, make_document, make_network, open_round, participant
from workflows.domain import rounds

pytestmark = pytest.mark.browser


def voted_round(db):
    """A round closing in two days: akkoord, akkoord met opmerkingen, niet akkoord (with a long reason), people
    without a verdict (one opened, one whose invitation failed), an observer; and a closed round with a comment."""
    network, coordinator, people = make_network(db, members=5, observers=1)
    _editor, first, second, third, fourth, fifth, _observer = people
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator, days=2)
    say(db, round_, first, "akkoord")
    say(db, round_, second, "akkoord_met_opmerkingen", "Artikel 3 kan korter.")
    say(db, round_, third, "niet_akkoord", "De financiering van de coördinatie ontbreekt; zonder afspraak daarover "
                                           "kan onze organisatie niet tekenen. Graag een paragraaf over de kosten.")
    rounds.note_opened(db, participant(db, round_, fourth))
    other, _v = make_document(db, network, coordinator)
    closed = open_round(db, other, coordinator)
    rounds.add_comment(db, participant(db, closed, first), body="Graag een termijn noemen.")
    rounds.close_round(db, closed, actor=coordinator)
    return network, coordinator, people, round_, fifth, closed


def test_the_round_page_and_dashboard_lead_with_what_needs_attention(db, live_server, browser_page, run_worker):
    page = browser_page
    network, coordinator, people, round_, fifth, closed = voted_round(db)
    o_network, o_coordinator, o_people = organisation_network(db)
    o_document, _ = make_document(db, o_network, o_coordinator)
    o_round = open_round(db, o_document, o_coordinator)
    say(db, o_round, o_people[2], "niet_akkoord", "Niet haalbaar voor de apotheek.")
    db.commit()
    run_worker()  # the invitations go out
    fresh(db)
    failed = db.scalar(select(MailMessage).where(MailMessage.round_id == round_.id,
                                                 MailMessage.person_id == fifth.person_id))
    failed.status, failed.failure, failed.last_error = "failed", "address_refused", "550 5.1.1 No such user"
    db.commit()
    round_id, o_round_id = round_.id, o_round.id
    closed_id, closed_document_id = closed.id, closed.document_id
    sign_in(page, live_server, db, coordinator)
    db.rollback()

    audit = Audit()
    page.goto(f"{live_server.url}/")
    assert page.locator("#attention-closing").is_visible() and page.locator("#attention-mail").is_visible()
    audit.visit(page, "overview/dashboard")
    page.goto(f"{live_server.url}/r/{round_id}")
    # The figures come first, as text and as a progress bar with that text as its name.
    progress = page.locator("progress[aria-labelledby='round-progress-text']")
    assert progress.get_attribute("value") == "3" and progress.get_attribute("max") == "7"
    assert page.locator("#waiting").is_visible() and page.locator("#against").is_visible()
    audit.visit(page, "overview/round")

    # With the script: the list filters in place, the link becomes current, the address says which filter.
    table = page.locator("#everyone-table")
    assert table.locator("tbody tr:visible").count() == 8
    page.locator("nav.filters a[data-filter='niet-akkoord']").click()
    assert table.locator("tbody tr:visible").count() == 1
    assert page.locator("nav.filters a[aria-current='page']").get_attribute("data-filter") == "niet-akkoord"
    assert page.url.endswith("toon=niet-akkoord#everyone")
    assert "(1)" in page.locator("#everyone-shown").inner_text()
    page.locator("nav.filters a[data-filter='open']").click()
    assert table.locator("tbody tr:visible").count() == 4  # coordinator, editor, fourth, fifth
    page.set_viewport_size({"width": 390, "height": 844})  # stacked rows hide as well
    assert table.locator("tbody tr:visible").count() == 4
    page.set_viewport_size({"width": 1280, "height": 900})

    for name, query in [("not yet", "open"), ("niet akkoord", "niet-akkoord"), ("akkoord", "akkoord")]:
        page.goto(f"{live_server.url}/r/{round_id}?toon={query}")
        audit.visit(page, f"overview/round, filter {name}")
    page.goto(f"{live_server.url}/r/{round_id}?toon=open")
    assert page.locator("#everyone-table tbody tr").count() == 4  # the server filtered: no script needed
    # The next step where a round closed with a comment: process it, from the document and the round page.
    for name, path in [("document, comments to process", f"/d/{closed_document_id}"),
                       ("closed round", f"/r/{closed_id}")]:
        page.goto(live_server.url + path)
        assert page.locator(f"#next-step-heading ~ p a[href='/r/{closed_id}/processing?show=todo']").is_visible()
        audit.visit(page, f"overview/{name}")

    sign_in(page, live_server, db, o_coordinator)
    db.rollback()
    page.goto(f"{live_server.url}/r/{o_round_id}")
    waiting = page.locator("#waiting ~ ul.attention-list").first
    assert "Praktijk Centrum" in waiting.inner_text() and "Apotheek Noord" not in waiting.inner_text()
    assert "Niet haalbaar voor de apotheek." in page.locator("#against ~ ul.attention-list").first.inner_text()
    audit.visit(page, "overview/round, per organisation")
    page.goto(f"{live_server.url}/")
    audit.visit(page, "overview/dashboard, nothing closing soon")
    audit.check(set())


def test_without_javascript_the_filter_links_load_the_filtered_list(db, live_server, chromium):
    network, coordinator, people, round_, _fifth, _closed = voted_round(db)
    round_.deadline = utcnow() + dt.timedelta(days=10)
    db.commit()
    round_id = round_.id
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="nl-NL", java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, live_server, db, coordinator)
        db.rollback()
        page.goto(f"{live_server.url}/r/{round_id}")
        assert page.locator("#everyone-table tbody tr").count() == 8
        page.locator("nav.filters a[data-filter='niet-akkoord']").click()
        page.wait_for_url(f"**/r/{round_id}?toon=niet-akkoord#everyone")
        assert page.locator("#everyone-table tbody tr").count() == 1
        assert page.locator("nav.filters a[aria-current='page']").get_attribute("data-filter") == "niet-akkoord"
    finally:
        context.close()
