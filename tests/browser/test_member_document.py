"""The member's document tools in Chromium: the table of contents (folded on a phone, open on a wide screen), search
in the text, the downloads and the print view, each page audited by axe-core at 1280 and 390 px. Elements are found
by structure and addresses, never by translated text."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.database.models import Participant
from tests.browser.accessibility import Audit
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.factories import final_document, make_network, open_round, participant
from workflows.domain import documents, rounds

pytestmark = pytest.mark.browser

TEXT = """# Samenwerkingsafspraken zorgnetwerk

## Artikel 1 Begrippen

In deze afspraken wordt verstaan onder de patiënt: iemand met een zeldzame aandoening die zorg ontvangt.

## Artikel 2 Taken van de partijen

### 2.1 De huisarts

De huisarts verwijst de patiënt binnen twee weken naar het expertisecentrum.

### 2.2 Het expertisecentrum

Het expertisecentrum stelt binnen vier weken een behandelplan op en bespreekt het met de patiënt.

## Artikel 3 Gegevens

Partijen delen alleen de gegevens die nodig zijn voor de zorg, met toestemming van de patiënt.

## Artikel 4 Slotbepaling

Deze afspraken gelden zodra iedereen akkoord is.
"""


def member_at_review(db, live_server, page) -> str:
    """A member's personal link opened in the browser: the review page's address."""
    network, coordinator, people = make_network(db, members=1)
    document = documents.create_document(db, network, kind="samenwerkingsovereenkomst",
                                         title="Zorgafspraken cliënt ’s-Hertogenbosch", actor=coordinator)
    documents.upload_version(db, document, filename="afspraken.md", data=TEXT.encode(), change_note="",
                             actor=coordinator)
    round_ = open_round(db, document, coordinator)
    token = rounds.mint_link(db, participant(db, round_, people[1]).id)
    db.commit()
    db.rollback()  # end the read: on SQLite a transaction here holds the lock the server needs
    page.goto(f"{live_server.url}/l/{token}")
    return page.url.split("#")[0]


def test_a_member_finds_their_way_and_keeps_the_document(db, live_server, browser_page):
    page, audit = browser_page, Audit()
    review = member_at_review(db, live_server, page)

    # On a phone the contents stay folded, so the text starts close to the top.
    page.set_viewport_size(PHONE)
    page.goto(review)
    assert page.eval_on_selector(".toc details", "d => d.open") is False
    tools_height = page.eval_on_selector("#document-tools", "e => e.getBoundingClientRect().height")
    assert tools_height < 360, tools_height
    screenshot(page, "member-document-tools-390")
    # On a wide screen they are open beside nothing else to click first.
    page.set_viewport_size(DESKTOP)
    page.goto(review)
    assert page.eval_on_selector(".toc details", "d => d.open") is True
    audit.visit(page, "member review with contents")

    # A heading in the contents leads to its place in the text.
    page.goto(review)  # loaded at 1280 px again: the audit left it as loaded at 390
    entry = page.locator(".toc-depth-3 a").first
    target = entry.get_attribute("href")
    entry.click()
    assert page.url.endswith(target)
    assert page.evaluate(f"() => {{ const r = document.querySelector('{target}').getBoundingClientRect();"
                         " return r.top >= 0 && r.top < window.innerHeight; }")

    # Search, without regard to accents: every passage about the patient, each leading to its place.
    page.goto(review)
    page.fill("#text-search-query", "patient")
    page.press("#text-search-query", "Enter")
    page.wait_for_load_state()
    assert "/search?zoek=patient" in page.url
    assert page.locator("ol.search-results > li").count() == 4
    assert page.locator("ol.search-results mark").first.inner_text().lower() == "patiënt"
    audit.visit(page, "member search results")
    first = page.locator("ol.search-results a.hit-where").first
    href = first.get_attribute("href")
    first.click()
    assert page.url == live_server.url + href

    page.goto(review + "search?zoek=apotheek")
    assert page.locator("ol.search-results").count() == 0 and page.locator("[role=status] .notice").count() == 1
    audit.visit(page, "member search nothing found")

    # The downloads arrive under the document's own name, as a draft of this round.
    page.goto(review)
    with page.expect_download() as pdf:
        page.click(f"a[href='{review.removeprefix(live_server.url)}version.pdf']")
    assert pdf.value.suggested_filename.startswith("Zorgafspraken_cliënt_s-Hertogenbosch")
    assert pdf.value.suggested_filename.endswith(".pdf")
    with page.expect_download() as docx:
        page.click(f"a[href='{review.removeprefix(live_server.url)}version.docx']")
    assert docx.value.suggested_filename.endswith(".docx")

    # The print view: title, version, round and status on top, no site navigation; on paper no buttons either.
    page.goto(review + "print")
    assert page.locator("header.site").count() == 0 and page.locator(".print-facts dt").count() == 3
    assert page.is_visible("button[data-print]")  # the script offers a Print button
    audit.visit(page, "member print view")
    page.emulate_media(media="print")
    assert not page.is_visible(".print-actions") and page.is_visible(".draft-mark")
    screenshot(page, "member-print-view-as-printed")
    page.emulate_media(media="screen")

    audit.check(set())


def test_a_member_keeps_and_prints_the_final_document(db, live_server, browser_page):
    page, audit = browser_page, Audit()
    network, coordinator, people, document, version = final_document(db, members=1, observers=0)
    token = rounds.mint_link(db, db.scalar(select(Participant.id).where(Participant.person_id == people[1].person_id)))
    db.commit()
    db.rollback()
    page.goto(f"{live_server.url}/l/{token}")
    review = page.url.split("#")[0]
    path = review.removeprefix(live_server.url)
    assert page.locator(f"#document-tools a[href='{path}final.pdf']").count() == 1
    assert page.locator(f"#document-tools a[href='{path}version.pdf']").count() == 0  # the final one is this one
    with page.expect_download() as pdf:
        page.click(f"a[href='{path}final.pdf']")
    assert pdf.value.suggested_filename.endswith(".pdf")
    page.click(f"a[href='{path}final/print']")
    assert page.locator(".draft-mark").count() == 0 and page.locator(".print-facts dt").count() == 2
    audit.visit(page, "member print view final")
    audit.check(set())
