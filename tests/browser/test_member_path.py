"""The member's path in a real browser, on real parts: the invitation mail is delivered over SMTP by the worker, its
personal link is opened in Chromium, the member comments on a passage and says akkoord, and the confirmation mail
arrives. Elements are found by structure, form actions and names, never by translated text, so the test holds in
Dutch and in English. Screenshots (phone and desktop) land in tests/browser/screenshots/."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from storage.database.models import Comment, Participant, Verdict
from tests.browser.conftest import DESKTOP, PHONE, SMALL_PHONE, screenshot
from tests.factories import make_document, make_network, open_round
from workflows.domain.wording import kenmerk

pytestmark = pytest.mark.browser

# Every visible form control must have an accessible name: a <label for>, a wrapping <label>, aria-label or
# aria-labelledby (buttons may be named by their text). Returns a description of each control that has none.
UNLABELLED_CONTROLS = """() => {
  const named = (el) => {
    if ((el.getAttribute('aria-label') || '').trim()) return true;
    const ids = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
    if (ids.some((id) => (document.getElementById(id)?.textContent || '').trim())) return true;
    if (el.labels && Array.from(el.labels).some((l) => l.textContent.trim())) return true;
    if (el.tagName === 'BUTTON' && el.textContent.trim()) return true;
    return false;
  };
  return Array.from(document.querySelectorAll('input, textarea, select, button'))
    .filter((el) => el.type !== 'hidden')
    .filter((el) => !named(el))
    .map((el) => el.outerHTML.slice(0, 160));
}"""


def test_member_comments_and_says_akkoord_in_a_browser(db, live_server, browser_page, mail_store, run_worker):
    page = browser_page
    network, coordinator, people = make_network(db, members=3)
    member = next(m for m in people if m.role == "member")
    email = member.person.email
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    participant_id = db.scalar(select(Participant.id).where(Participant.round_id == round_.id,
                                                            Participant.person_id == member.person_id))
    db.rollback()  # end the read: on SQLite every transaction here holds the write lock the server and worker need

    # The invitations really go out: the worker delivers them to the SMTP server.
    run_worker()
    messages = mail_store.wait_for(lambda ms: any(m.to == [email] for m in ms))
    invitation = next(m for m in messages if m.to == [email])
    link = next(url for url in invitation.links() if "/l/" in url)
    token = link.rsplit("/l/", 1)[1]
    assert len(token) >= 22  # at least 128 bits (invariant 7)

    # Opening the personal link: the token is exchanged for a cookie and leaves the address bar.
    response = page.goto(live_server.rewrite(link))
    assert response is not None and response.ok
    assert token not in page.url
    assert re.fullmatch(re.escape(live_server.url) + rf"/review/{participant_id}/", page.url), page.url
    review_url = page.url

    check_accessibility(page)
    page.set_viewport_size(PHONE)
    screenshot(page, "review-phone")
    assert_no_horizontal_overflow(page)
    page.set_viewport_size(SMALL_PHONE)
    assert_no_horizontal_overflow(page)
    page.set_viewport_size(DESKTOP)
    screenshot(page, "review-desktop")

    # Comment on a paragraph (not a heading) through the link next to it.
    block = page.locator(".doc p.block").first
    block_id = block.get_attribute("id")
    link = block.locator(f'a.comment-link[href="comment?block={block_id}"]')
    passage = block.inner_text().strip().removesuffix(link.inner_text()).strip()
    assert passage
    link.click()  # the comment form opens below the passage (without JavaScript: the comment page)
    panel = page.locator(".doc .comment-panel")
    panel.wait_for()
    check_accessibility(page)
    assert page.evaluate("(id) => document.getElementById(id).nextElementSibling.matches('.comment-panel')",
                         block_id)
    form = panel.locator('form[action$="/comments"]')
    comment_text = "Graag ook de huisartsenpost noemen in dit artikel."
    form.locator('textarea[name="body"]').fill(comment_text)
    page.set_viewport_size(PHONE)
    screenshot(page, "comment-phone")
    page.set_viewport_size(DESKTOP)
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(rf"/review/{participant_id}/#{block_id}$"))  # back at the passage
    assert page.locator(f"#comments-{block_id} .comment", has_text=comment_text).count() == 1
    comments = page.locator("#comments .comment")
    assert comments.count() == 1
    assert comment_text in comments.first.inner_text()
    assert comments.first.locator(f'blockquote a[href="#{block_id}"]').count() == 1
    assert page.locator(".flash[role=status]").count() == 1

    # Say akkoord.
    verdict_form = page.locator('form[action$="/verdict"]')
    verdict_form.locator('input[type="radio"][name="value"][value="akkoord"]').check()
    verdict_form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(rf"/review/{participant_id}/#verdict$"))
    assert page.locator(".flash[role=status]").is_visible()
    assert page.locator("#verdict p[role=status]").is_visible()  # "You said: akkoord (...)"
    assert page.locator('form[action$="/verdict"] input[value="akkoord"]').is_checked()
    assert page.locator("#comments .comment").count() == 1
    check_accessibility(page)
    screenshot(page, "verdict-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "verdict-phone")
    assert_no_horizontal_overflow(page)
    page.set_viewport_size(SMALL_PHONE)
    assert_no_horizontal_overflow(page)
    assert page.url.startswith(review_url)

    # What the browser did is in the database, with the browser's evidence.
    db.expire_all()
    verdict = db.scalar(select(Verdict).where(Verdict.participant_id == participant_id))
    assert verdict is not None and verdict.value == "akkoord"
    assert verdict.content_hash == version.content_hash
    assert verdict.ip_address == "127.0.0.1" and "Chrome" in verdict.user_agent
    comment = db.scalar(select(Comment).where(Comment.round_id == round_.id))
    assert comment.body == comment_text and comment.block_id == block_id
    db.rollback()

    # The confirmation mail goes out (invariant 8): it names the version by its reference (kenmerk), not the full
    # hash, and repeats the personal link (its own, minted for this mail) while the round is open.
    run_worker()
    reference = kenmerk(version.content_hash)
    confirmations = mail_store.wait_for(
        lambda ms: [m for m in ms if m.to == [email] and reference in (m.text_body() or "")])
    confirmation = next(m for m in confirmations if m.to == [email] and reference in (m.text_body() or ""))
    assert version.content_hash not in (confirmation.text_body() or "")
    assert any("/l/" in url for url in confirmation.links())


def check_accessibility(page) -> None:
    assert page.evaluate("() => document.documentElement.lang.trim()"), "the page has no lang"
    assert page.locator("h1").count() == 1, "a page has exactly one h1"
    unlabelled = page.evaluate(UNLABELLED_CONTROLS)
    assert unlabelled == [], f"form controls without an accessible name on {page.url}: {unlabelled}"
    # The accessibility tree agrees: every textbox and radio has a name.
    tree = page.locator("main").aria_snapshot()
    for line in tree.splitlines():
        if re.match(r"\s*- (textbox|radio|combobox|checkbox)\b", line):
            assert re.match(r'\s*- \w+ "[^"]+"', line), f"unnamed control in the accessibility tree: {line.strip()}"


def assert_no_horizontal_overflow(page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths[0]}px content in a {widths[1]}px viewport"
    # Nor does any text stick out of its own box, e.g. a long Dutch word in a heading of the text.
    sticking_out = page.evaluate("""() => Array.from(document.querySelectorAll(
        'main :is(h1, h2, h3, h4, h5, h6, p, li, blockquote, td, th, label, legend, fieldset, section, div)'))
      .filter((el) => el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1)
      .map((el) => `<${el.tagName.toLowerCase()}> "${el.textContent.trim().slice(0, 40)}": ${el.scrollWidth}px in ${el.clientWidth}px`)""")
    assert sticking_out == [], f"content wider than its box: {sticking_out}"
