"""Proposing wording in a real browser, on a phone (390 px) and on a desktop (1280 px): a member selects words in a
passage, follows the selection bar, changes the words in the form that opens below the passage, gives a type and
saves; the proposal is stored with its span and shows beside the passage as a redline. The comment page without
script and the review page with the proposal are audited with axe-core."""

from __future__ import annotations

import re

import pytest

from storage.blocks import block_text
from storage.database.models import Comment
from tests.browser.accessibility import Audit
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_selection import TEXT, block_of, comment_panel, open_link, select_words
from tests.factories import fresh

pytestmark = pytest.mark.browser


@pytest.fixture
def reading(db, live_server, browser_page):
    return open_link(db, live_server, browser_page, upload=("concept.md", TEXT.encode()))


@pytest.mark.parametrize(("viewport", "words", "proposed", "kind"), [
    (PHONE, "goede zorg", "passende zorg", "editorial"),
    (DESKTOP, "in de regio", "in heel Nederland", "technical"),
], ids=["phone", "desktop"])
def test_a_member_proposes_other_words_for_a_selection(db, reading, viewport, words, proposed, kind):
    page, review_url, _round_id, participant_id, blocks = reading
    page.set_viewport_size(viewport)
    block = block_of(blocks, "paragraph", "zeldzame aandoening")
    page.goto(review_url)
    page.locator(f"#{block['id']}").scroll_into_view_if_needed()
    select_words(page, block["id"], words)
    page.locator("#selection-bar a").click()

    panel = comment_panel(page)  # the comment page's form, below the passage
    assert panel.locator("blockquote.passage mark").inner_text() == words
    form = panel.locator('form[action$="/comments"]')
    field = form.locator('textarea[name="proposed_text"]')
    assert field.input_value() == words  # the selected words, to change
    # Its label and hint are tied to it; the types are a group with a legend, algemeen chosen.
    assert form.locator(f'label[for="{field.get_attribute("id")}"]').count() == 1
    assert field.get_attribute("aria-describedby")
    assert form.locator("fieldset legend").count() == 1
    assert form.locator('input[name="kind"][value="general"]').is_checked()
    field.fill(proposed)
    form.locator(f'input[name="kind"][value="{kind}"]').check()
    # The form fits the screen: nothing sticks out sideways.
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(rf"/review/{participant_id}/#{block['id']}$"))

    # Beside the passage: the redline, old struck through and new underlined, read out as a sentence.
    beside = page.locator(f"#comments-{block['id']}[open] .comment .proposal")
    beside.wait_for()
    assert beside.locator("del").inner_text() == words and beside.locator("ins").inner_text() == proposed
    spoken = beside.locator("p").first.evaluate("(p) => p.textContent.replace(/\\s+/g, ' ').trim()")
    assert words in spoken and proposed in spoken and spoken.index(words) < spoken.index(proposed)
    assert beside.locator("del").evaluate("(el) => getComputedStyle(el).textDecorationLine") == "line-through"
    assert beside.locator("ins").evaluate("(el) => getComputedStyle(el).textDecorationLine") == "underline"

    fresh(db)
    [comment] = db.query(Comment).filter(Comment.participant_id == participant_id).all()
    assert (comment.quote, comment.proposed_text, comment.kind, comment.body) == (words, proposed, kind, "")
    assert block_text(block)[comment.start_offset:comment.span_end] == words
    db.rollback()
    page.set_viewport_size(DESKTOP)


def test_the_proposal_form_and_the_redline_pass_axe(db, reading):
    page, review_url, _round_id, participant_id, blocks = reading
    block = block_of(blocks, "paragraph", "zeldzame aandoening")
    audit = Audit()
    # The comment page as it is without script (the form the panel shows), on a selection.
    page.goto(review_url)
    select_words(page, block["id"], "goede zorg")
    page.goto(f"{review_url}{page.locator('#selection-bar a').get_attribute('href')}")
    audit.visit(page, "propose on a selection")
    # A refusal: no comment and the words left as they are.
    page.locator('main form[action$="/comments"] button[type="submit"]').click()
    page.wait_for_load_state()
    assert page.locator("#body-error").is_visible() and page.locator(".error-summary").is_visible()
    audit.visit(page, "propose refused", reload=False)
    page.fill('textarea[name="proposed_text"]', "passende zorg")
    page.locator('main form[action$="/comments"] button[type="submit"]').click()
    page.wait_for_url(re.compile(rf"/review/{participant_id}/#{block['id']}$"))
    page.goto(review_url)
    audit.visit(page, "review with a proposal")
    page.goto(f"{review_url}comments")
    assert page.locator(".proposal ins").inner_text() == "passende zorg"
    audit.visit(page, "all comments with a proposal")
    audit.check(set())
