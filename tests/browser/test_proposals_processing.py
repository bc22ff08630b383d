"""The processing page with proposals in Chromium: the change old → new, the proposals on the same words linked to each
other, a collision refused at the field with the error summary focused, and the commentaartabel with its type and
proposed change columns; axe-core finds nothing at 1280 and 390 px (no sideways scrolling either)."""

from __future__ import annotations

import pytest

from storage.blocks import block_text
from tests.browser.accessibility import Audit
from tests.browser.test_accessibility import sign_in
from tests.browser.test_field_errors import _refused
from tests.factories import make_document, make_network, open_round, participant
from workflows.domain import comments, rounds

pytestmark = pytest.mark.browser
TEXT = """# Afspraken

## Artikel 1 Duur

De overeenkomst geldt voor 60 maanden en wordt daarna stilzwijgend verlengd.
"""
PASSAGE = "De overeenkomst geldt voor 60 maanden en wordt daarna stilzwijgend verlengd."


def test_proposals_are_processed_accessibly(browser_page, live_server, db):
    page = browser_page
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator, text=TEXT)
    round_ = open_round(db, document, coordinator)
    block_id = next(b["id"] for b in version.blocks if block_text(b) == PASSAGE)
    made = []
    for member, words, text in ((people[1], "60 maanden", "12 maanden"), (people[2], "voor 60 maanden", "voor 24 maanden")):
        start = PASSAGE.index(words)
        made.append(rounds.add_comment(db, participant(db, round_, member), body="Korter graag.", block_id=block_id,
                                       start=start, end=start + len(words), selected=words, proposed_text=text,
                                       kind="technical"))
    comments.process_comment(db, made[0], disposition="overgenomen", answer="", actor=coordinator)
    db.commit()
    audit = Audit()

    sign_in(page, live_server, db, coordinator)
    page.goto(f"{live_server.url}/r/{round_.id}/processing")
    assert "voor 60 maanden" in page.locator(f"#comment-{made[1].id} del.proposal-old").inner_text()
    audit.visit(page, "processing with proposals")
    # The collision note links to the other proposal on the page.
    page.locator(f"#comment-{made[1].id} .proposal-collisions a").click()
    assert page.url.endswith(f"#comment-{made[0].id}")

    page.select_option(f"#disposition-{made[1].id}", "overgenomen")
    page.locator(f"form[action*='/comments/{made[1].id}/process'] button[type='submit']").click()
    _refused(page, audit, "proposal collision", f"disposition-{made[1].id}")

    page.goto(f"{live_server.url}/r/{round_.id}/commentaartabel")
    assert "«60 maanden» → «12 maanden»" in page.locator("table").inner_text()
    audit.visit(page, "commentaartabel with proposals")
    audit.check(set())
