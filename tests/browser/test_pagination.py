"""The page links under a long list (templates/partials/pagination.html, issue 13), in a real Chromium at 1280 and
390 px: axe-core finds nothing and nothing scrolls sideways on the network page (all members and a search), the
round page's second page and the document page's "who stands where" on its second page; the links have names, the
current page says so (aria-current), and they work from the keyboard. Screenshots:
tests/browser/screenshots/a11y-pagination-*.png."""

from __future__ import annotations

import re

import pytest

from tests.browser.accessibility import Audit
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_accessibility import say, sign_in
from tests.factories import make_document, make_network, open_round
from workflows.domain.listing import PER_PAGE

pytestmark = pytest.mark.browser

MEMBERS = PER_PAGE + 10  # with the coordinator and the editor: two pages of members, voters and participants


def check_pages(page, label: str, current: int, pages: int) -> None:
    """The page links named `label`: every one has a name, only the current one is aria-current."""
    nav = page.get_by_role("navigation", name=label)
    assert nav.count() == 1, f"no navigation named {label!r}"
    links = nav.get_by_role("link")
    assert all(name.strip() for name in links.all_inner_texts())
    assert nav.locator("[aria-current]").count() == 1
    assert nav.get_by_role("link", name=f"Pagina {current}", exact=True).get_attribute("aria-current") == "page"
    for number in range(1, pages + 1):
        assert nav.get_by_role("link", name=f"Pagina {number}", exact=True).count() == 1
    assert nav.get_by_role("link", name="Volgende pagina").count() == (1 if current < pages else 0)
    assert nav.get_by_role("link", name="Vorige pagina").count() == (1 if current > 1 else 0)


def test_page_links_are_accessible_and_work_from_the_keyboard(db, live_server, browser_page):
    page = browser_page
    network, coordinator, people = make_network(db, members=MEMBERS)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    for member in people[1:4]:
        say(db, round_, member, "akkoord")
    say(db, round_, people[-1], "niet_akkoord", "De taakverdeling klopt niet.")
    db.commit()
    network_id, round_id, document_id = network.id, round_.id, document.id
    sign_in(page, live_server, db, coordinator)
    db.rollback()
    audit = Audit()

    page.goto(f"{live_server.url}/n/{network_id}")
    check_pages(page, "Pagina's van de leden", current=1, pages=2)
    audit.visit(page, "pagination/network")
    # From the keyboard: Tab reaches the page links in order, Enter follows one.
    nav = page.get_by_role("navigation", name="Pagina's van de leden")
    nav.get_by_role("link", name="Pagina 1", exact=True).focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Pagina 2"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"  # focus shows
    box = nav.bounding_box()  # with a margin, so that the focus ring shows whole
    page.screenshot(path=str(SCREENSHOTS / "a11y-pagination-focus.png"),
                    clip={"x": box["x"] - 10, "y": box["y"] - 10, "width": box["width"] + 20, "height": box["height"] + 20})
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"[?&]page=2#members$"))
    check_pages(page, "Pagina's van de leden", current=2, pages=2)
    nav.get_by_role("link", name="Vorige pagina").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/n/{network_id}#members$"))

    page.goto(f"{live_server.url}/n/{network_id}?q=Member")  # every member's name: a search of two pages
    assert page.locator("main [role='status']").inner_text().startswith(str(MEMBERS))
    check_pages(page, "Pagina's van de leden", current=1, pages=2)
    page.get_by_role("navigation", name="Pagina's van de leden").get_by_role("link", name="Volgende pagina").click()
    assert "q=Member" in page.url and "page=2" in page.url  # the search stays on the next page
    audit.visit(page, "pagination/network search, page 2")

    page.goto(f"{live_server.url}/r/{round_id}?page=2")
    check_pages(page, "Pagina's van de lijst met iedereen", current=2, pages=2)
    audit.visit(page, "pagination/round, page 2")

    page.goto(f"{live_server.url}/d/{document_id}?page=2")
    check_pages(page, "Pagina's van wie waar staat", current=2, pages=2)
    audit.visit(page, "pagination/document, who stands where page 2")
    audit.check(set())
