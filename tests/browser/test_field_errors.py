"""Forms submitted wrong in Chromium: the page comes back with an error summary that has focus, its link moves focus
to the field, and axe-core finds nothing at 1280 and 390 px (no sideways scrolling either)."""

from __future__ import annotations

import pytest

from tests.browser.accessibility import Audit
from tests.browser.test_accessibility import open_personal_link, sign_in
from tests.factories import make_document, make_network, open_round, participant
from workflows.domain import rounds

pytestmark = pytest.mark.browser
# Short headings: this test is about the error states (the sweep in test_accessibility.py covers long words).
TEXT = """# Afspraken

## Artikel 1 Doel

De partijen werken samen aan goede zorg voor mensen met een zeldzame aandoening.

## Artikel 2 Taken

Het expertisecentrum brengt de medische kennis in.
"""


def _focused(page) -> str:
    return page.evaluate("() => document.activeElement ? document.activeElement.id : ''")


def _refused(page, audit: Audit, name: str, field_id: str) -> None:
    """The page a refused form answered: the summary has focus; audited; its link for the field focuses it."""
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'error-summary'")
    assert page.title().startswith(("Fout:", "Error:"))
    assert page.locator(f"#{field_id}").get_attribute("aria-invalid") == "true"
    audit.visit(page, f"error {name}", reload=False)
    page.locator(f"#error-summary a[href='#{field_id}']").click()
    page.wait_for_function(f"() => document.activeElement && document.activeElement.id === '{field_id}'")
    assert _focused(page) == field_id


def test_refused_forms_show_their_errors_at_the_field_accessibly(browser_page, live_server, db):
    page = browser_page
    network, coordinator, people = make_network(db, members=2)
    document, _version = make_document(db, network, coordinator, text=TEXT)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    comment = rounds.add_comment(db, member, body="Artikel 4 is onduidelijk.", block_id=None)
    quiet, _quiet_version = make_document(db, network, coordinator, text=TEXT)  # no open round: the upload needs no tick
    db.commit()
    audit = Audit()

    sign_in(page, live_server, db, coordinator)
    page.goto(f"{live_server.url}/n/{network.id}")
    page.fill("#name", "Jan Jansen")
    page.fill("#email", "jan@")
    page.locator("section[aria-labelledby='add-member'] button[type='submit']").click()
    _refused(page, audit, "add member", "email")
    assert page.input_value("#email") == "jan@" and page.input_value("#name") == "Jan Jansen"

    page.goto(f"{live_server.url}/d/{quiet.id}")
    page.locator("summary", has_text="nieuwe versie").first.click()
    page.set_input_files("#file", files=[{"name": "logo.png", "mimeType": "image/png",
                                          "buffer": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64}])
    page.fill("#change_note", "Artikel 4 herschreven")
    page.locator("form[action$='/versions'] button[type='submit']").click()
    _refused(page, audit, "upload not word", "file")
    assert page.input_value("#change_note") == "Artikel 4 herschreven"

    page.goto(f"{live_server.url}/r/{round_.id}/processing")
    page.select_option(f"#disposition-{comment.id}", "niet_overgenomen")
    page.locator(f"form[action*='/comments/{comment.id}/process'] button[type='submit']").click()
    _refused(page, audit, "processing without answer", f"answer-{comment.id}")
    assert page.input_value(f"#disposition-{comment.id}") == "niet_overgenomen"

    page.context.clear_cookies()
    open_personal_link(page, live_server, db, member.id)
    page.check("#value-2")  # niet akkoord
    page.locator("form[action$='/verdict'] button[type='submit']").click()
    _refused(page, audit, "niet akkoord without reason", "reason")
    assert page.is_checked("#value-2")

    audit.check(set())
