"""The member's path by keyboard alone, in Chromium on real parts: the invitation mail's link is opened, Tab reaches a
passage's comment link (named after the passage), the comment form opens below the passage, the member names a few
words of it (first words that are not there: the error at the field; then the right ones), saves and is back at the
passage, opens another passage's comments, and says niet akkoord with a reason; and with caret browsing, selects a
few words with Shift+arrows and comments on them. Only page.keyboard acts on the page (no clicks); axe-core audits
every page visited, at 1280 and 390 px, with no sideways scroll."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from storage.blocks import block_text
from storage.database.models import Comment, Participant, Verdict
from tests.browser.accessibility import Audit
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, screenshot
from tests.factories import fresh, make_document, make_network, open_round, participant
from workflows.domain import rounds

pytestmark = pytest.mark.browser

ACTIVE = """() => {
  const el = document.activeElement;
  return {tag: el.tagName.toLowerCase(), name: el.getAttribute('name'), href: el.getAttribute('href'),
          id: el.id, value: el.value === undefined ? null : el.value, text: (el.textContent || '').trim(),
          details: el.tagName === 'SUMMARY' ? el.parentElement.id : null};
}"""
IN_VIEW = """(selector) => {
  const box = document.querySelector(selector).getBoundingClientRect();
  return box.top >= 0 && box.bottom <= window.innerHeight;
}"""


def tab_to(page, matches, *, limit: int = 120, backwards: bool = False) -> dict:
    """Press Tab (or Shift+Tab) until the focused element satisfies `matches`; returns it."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        active = page.evaluate(ACTIVE)
        if matches(active):
            return active
    raise AssertionError(f"Tab never reached the element; last focused: {page.evaluate(ACTIVE)}")


def test_a_member_comments_on_words_and_gives_a_verdict_by_keyboard(db, live_server, browser_page, mail_store,
                                                                   run_worker):
    page = browser_page
    audit = Audit()
    network, coordinator, people = make_network(db, members=3)
    member, other = [m for m in people if m.role == "member"][:2]
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    paragraph = next(b for b in version.blocks if "zeldzame" in block_text(b))
    last = next(b for b in version.blocks if "definitief" in block_text(b))
    # Another member's comment on the last passage, for this member to open beside it.
    rounds.add_comment(db, participant(db, round_, other), body="Wanneer precies is iedereen akkoord?",
                       block_id=last["id"])
    db.commit()
    participant_id = db.scalar(select(Participant.id).where(Participant.round_id == round_.id,
                                                            Participant.person_id == member.person_id))
    email = member.person.email
    db.rollback()  # end the read: on SQLite every transaction here holds the write lock the server and worker need

    run_worker()
    invitation = next(m for m in mail_store.wait_for(lambda ms: any(m.to == [email] for m in ms)) if m.to == [email])
    link = next(url for url in invitation.links() if "/l/" in url)
    page.goto(live_server.rewrite(link))
    review_url = page.url
    assert review_url == f"{live_server.url}/review/{participant_id}/"
    audit.visit(page, "keyboard/review")

    # Tab to the paragraph's comment link; its name says which passage it is for.
    href = f"comment?block={paragraph['id']}"
    tab_to(page, lambda a: a["href"] == href)
    name = page.locator(f'a.comment-link[href="{href}"]').evaluate(
        "(a) => a.textContent.replace(/\\s+/g, ' ').trim()")
    visible = page.locator(f'a.comment-link[href="{href}"]').evaluate("(a) => a.firstChild.data")
    assert name.startswith(visible + " ") and "“De partijen werken samen" in name, name

    # Enter opens the form below the passage, with focus in its first field: the words.
    page.keyboard.press("Enter")
    panel = page.locator(".doc .comment-panel")
    panel.wait_for()
    page.wait_for_function("() => document.activeElement.name === 'words'")
    assert page.evaluate("(id) => document.getElementById(id).nextElementSibling.matches('.comment-panel')",
                         paragraph["id"])
    page.keyboard.type("slechte zorg")  # not in the passage
    page.keyboard.press("Tab")
    assert page.evaluate(ACTIVE)["name"] == "body"
    comment = "Schrijf liever 'passende zorg'."
    page.keyboard.type(comment)
    screenshot(page, "keyboard-comment-in-place")
    audit.visit(page, "keyboard/comment form in place", reload=False)
    page.locator('.comment-panel textarea[name="body"]').focus()  # the audit's resizing may move focus
    # On by the proposal's field (the passage, left as it is), the tick to delete, the type: to the button.
    assert tab_to(page, lambda a: a["tag"] == "button", limit=5)["text"] == "Commentaar opslaan"
    page.keyboard.press("Enter")

    # The words are not there: the comment page says so at the field, with what was typed kept.
    page.wait_for_url(re.compile(rf"/review/{participant_id}/comments$"))
    assert page.locator("#words-error").is_visible()
    assert page.locator('textarea[name="body"]').input_value() == comment
    audit.visit(page, "keyboard/comment words not found", reload=False)
    tab_to(page, lambda a: a["name"] == "words", backwards=True)
    page.keyboard.press("Control+A")
    page.keyboard.type("Goede zorg")  # as typed, not as written: found all the same
    tab_to(page, lambda a: a["tag"] == "button")
    page.keyboard.press("Enter")

    # Back at the passage, told there that the comment was saved.
    page.wait_for_url(f"{review_url}#{paragraph['id']}")
    status = page.locator("#saved")
    assert status.is_visible() and page.evaluate(IN_VIEW, "#saved")
    assert page.evaluate("(id) => document.getElementById(id).nextElementSibling.id", paragraph["id"]) == "saved"
    own = page.locator(f"#comments-{paragraph['id']}[open] article.comment", has_text=comment)
    assert own.count() == 1 and own.locator("blockquote").inner_text() == "“goede zorg”"
    screenshot(page, "keyboard-back-at-the-passage")
    audit.visit(page, "keyboard/back at the passage", reload=False)

    # The last passage's comments: Tab to its count and open it.
    page.reload()  # the audit opened every <details>: the page as served again, still at the passage
    summary = tab_to(page, lambda a: a["details"] == f"comments-{last['id']}")
    assert summary["text"].endswith(": 1")
    assert not page.locator(f"#comments-{last['id']}").evaluate("(d) => d.open")
    page.keyboard.press("Enter")
    assert page.locator(f"#comments-{last['id']}").evaluate("(d) => d.open")
    assert page.locator(f"#comments-{last['id']} article.comment").inner_text().count("Wanneer precies") == 1

    # Niet akkoord, with a reason.
    radio = tab_to(page, lambda a: a["name"] == "value")
    for _ in range(3):
        if radio["value"] == "niet_akkoord":
            break
        page.keyboard.press("ArrowDown")
        radio = page.evaluate(ACTIVE)
    assert radio["value"] == "niet_akkoord"
    page.keyboard.press("Tab")
    assert page.evaluate(ACTIVE)["name"] == "reason"
    page.keyboard.type("Eerst de rol van de huisartsenpost regelen.")
    tab_to(page, lambda a: a["tag"] == "button")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{review_url}#verdict")
    assert page.locator("#verdict p[role=status]").is_visible()
    audit.visit(page, "keyboard/verdict given")
    audit.check(set())

    fresh(db)
    verdict = db.scalar(select(Verdict).where(Verdict.participant_id == participant_id))
    assert (verdict.value, verdict.reason) == ("niet_akkoord", "Eerst de rol van de huisartsenpost regelen.")
    stored = db.scalar(select(Comment).where(Comment.participant_id == participant_id))
    assert (stored.quote, stored.block_id, stored.body) == ("goede zorg", paragraph["id"], comment)
    db.rollback()


def test_with_caret_browsing_a_member_selects_words_and_comments_on_them_by_keyboard(db, live_server, chromium):
    """Caret browsing (F7 in Chromium; here the browser's switch): Tab to a passage's comment link puts the caret
    there, Shift+Ctrl+Left selects the words before it, and Tab goes on to the selection bar's link, whose Enter
    opens the comment form on exactly those words."""
    network, coordinator, people = make_network(db, members=2)
    member = next(m for m in people if m.role == "member")
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    paragraph = next(b for b in version.blocks if "zeldzame" in block_text(b))
    token = rounds.mint_link(db, participant(db, round_, member).id)
    db.commit()
    round_id = round_.id
    db.rollback()

    browser = chromium.browser_type.launch(executable_path=str(CHROMIUM), headless=True,
                                           args=[*CHROMIUM_ARGS, "--enable-caret-browsing"])
    try:
        page = browser.new_context(viewport=DESKTOP, locale="nl-NL").new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{live_server.url}/l/{token}")
        href = f"comment?block={paragraph['id']}"
        tab_to(page, lambda a: a["href"] == href)
        page.keyboard.press("ArrowLeft")  # the caret leaves the link for the passage's text
        for _ in range(2):
            page.keyboard.press("Control+Shift+ArrowLeft")
        selected = page.evaluate("() => window.getSelection().toString().trim()")
        assert selected and selected in block_text(paragraph) and len(selected.split()) <= 3, selected
        page.locator("#selection-bar").wait_for()  # the bar offers the selection
        page.keyboard.press("Tab")  # from the caret, Tab goes on to the bar's link
        assert page.evaluate("() => document.activeElement.closest('#selection-bar') !== null")
        page.keyboard.press("Enter")
        panel = page.locator(".doc .comment-panel")
        panel.wait_for()
        assert panel.locator("blockquote.passage mark").inner_text() == selected
        assert page.evaluate("() => document.activeElement.name") == "body"
        page.keyboard.type("Welke aandoeningen vallen hieronder?")
        audit = Audit()
        audit.visit(page, "keyboard/comment on a caret selection", reload=False)
        audit.check(set())
        page.locator('.comment-panel textarea[name="body"]').focus()  # the audit's resizing may move focus
        tab_to(page, lambda a: a["tag"] == "button", limit=5)  # by the proposal's field, the tick, the type
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf"#{paragraph['id']}$"))
    finally:
        browser.close()
    fresh(db)
    stored = db.scalar(select(Comment).where(Comment.round_id == round_id))
    assert (stored.quote, stored.block_id) == (selected, paragraph["id"])
    db.rollback()
