"""Comments on selected text in a real browser: a member selects a few words in a passage (a paragraph, a numbered
list item, a paragraph with bold and italic runs), follows the bar that offers a comment on them, sees exactly those
words marked on the comment page, saves, and finds them highlighted in the text; a reply joins the comment's thread;
on a phone the bar is there and easy to tap. Screenshots land in /tmp/akkoord-shots/ (outside the repository)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.blocks import block_text
from storage.database.models import Comment
from tests.browser.conftest import DESKTOP, PHONE
from tests.factories import fresh, make_network, open_round, participant, unique
from workflows.domain import documents, rounds

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/akkoord-shots")

TEXT = """# Samenwerkingsovereenkomst

## Artikel 1 Doel

De partijen werken samen aan goede zorg voor mensen met een zeldzame aandoening in de regio.

## Artikel 2 Taken

1. De patiëntenvereniging brengt de ervaringskennis van de leden in.
2. Het expertisecentrum brengt de medische kennis en de zorgpaden in.

De huisarts blijft **de eerste aanspreekpersoon** voor de patiënt en *het expertisecentrum adviseert* op verzoek.

Dit document wordt definitief zodra iedereen akkoord is.
"""

# Select the words `words` inside the passage with id `block`, as a DOM Range over its text nodes (the same nodes a
# reader's mouse would cover: the passage's own text, not its list label or comment link).
SELECT_WORDS = """([block, words]) => {
  const el = document.getElementById(block);
  const own = (n) => !n.parentElement.closest('.comment-link, .label, .backlink');
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const nodes = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) if (own(n)) nodes.push(n);
  const whole = nodes.map((n) => n.data).join('');
  const at = whole.indexOf(words);
  if (at < 0) throw new Error(`"${words}" is not in ${block}: "${whole}"`);
  const point = (offset, isEnd) => {
    let seen = 0;
    for (const n of nodes) {
      if (offset < seen + n.length || (isEnd && offset === seen + n.length)) return [n, offset - seen];
      seen += n.length;
    }
    throw new Error('offset outside the passage');
  };
  const range = document.createRange();
  range.setStart(...point(at, false));
  range.setEnd(...point(at + words.length, true));
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return selection.toString();
}"""

# A selection from the middle of one passage to the middle of the next.
SELECT_ACROSS = """([first, second]) => {
  const start = document.getElementById(first).firstChild;
  const end = document.getElementById(second).firstChild;
  const range = document.createRange();
  range.setStart(start, 5);
  range.setEnd(end, 5);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return selection.toString();
}"""


def shot(page, name: str, *, full_page: bool = True) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def word_file() -> bytes:
    """A Word file as people write one: bold and italic runs, a numbered list, a table with an empty cell."""
    import io

    import docx

    document = docx.Document()
    document.add_heading("Afspraken", 1)
    paragraph = document.add_paragraph("De apotheek levert ")
    paragraph.add_run("binnen twee werkdagen").bold = True
    paragraph.add_run(" de ")
    paragraph.add_run("voorgeschreven middelen").italic = True
    paragraph.add_run(" aan huis.")
    document.add_paragraph("Eerste taak van de coördinator in het netwerk.", style="List Number")
    document.add_paragraph("Tweede taak: het overleg voorzitten.", style="List Number")
    table = document.add_table(rows=2, cols=3)
    for row, texts in zip(table.rows, [("Partij", "Taak", ""), ("Huisarts", "Eerste aanspreekpunt", "Wekelijks")]):
        for cell, text in zip(row.cells, texts):
            cell.text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def open_link(db, live_server, page, *, upload: tuple[str, bytes]):
    network, coordinator, people = make_network(db, members=2)
    member = next(m for m in people if m.role == "member")
    document = documents.create_document(db, network, kind="samenwerkingsovereenkomst",
                                         title=f"Overeenkomst {unique('d')}", actor=coordinator)
    version = documents.upload_version(db, document, filename=upload[0], data=upload[1], change_note="concept",
                                       actor=coordinator)
    round_ = open_round(db, document, coordinator)
    member_participant = participant(db, round_, member)
    token = rounds.mint_link(db, member_participant.id)
    db.commit()
    ids = (round_.id, member_participant.id)
    blocks = version.blocks
    db.rollback()  # end the read: on SQLite every transaction here holds the write lock the server needs

    response = page.goto(f"{live_server.url}/l/{token}")
    assert response is not None and response.ok
    assert page.url == f"{live_server.url}/review/{ids[1]}/"
    return page, page.url, ids[0], ids[1], blocks


@pytest.fixture
def reading(db, live_server, browser_page):
    """A member with their personal link opened in Chromium: (page, review URL, round, participant, blocks)."""
    return open_link(db, live_server, browser_page, upload=("concept.md", TEXT.encode()))


def block_of(blocks, type_: str, containing: str) -> dict:
    return next(b for b in blocks if b["type"] == type_ and containing in block_text(b))


def select_words(page, block_id: str, words: str) -> None:
    assert page.evaluate(SELECT_WORDS, [block_id, words]) == words
    bar = page.locator("#selection-bar")
    bar.wait_for(state="visible")
    # The bar offers exactly this selection.
    href = bar.locator("a").get_attribute("href")
    assert href.startswith("comment?") and f"block={block_id}&" in href


def comment_panel(page):
    """The comment form the script opened below a passage (the comment page's, in place)."""
    panel = page.locator(".doc .comment-panel")
    panel.wait_for()
    return panel


def comment_on_selection(page, review_url: str, block: dict, words: str, body: str) -> int:
    """Select `words` in `block`, follow the bar, check the form that opens below the passage and save; returns the
    comment's id (the member is back at the passage, its comments listed below it)."""
    page.goto(review_url)
    select_words(page, block["id"], words)
    page.locator("#selection-bar a").click()
    panel = comment_panel(page)
    assert panel.get_attribute("aria-label") == "Commentaar op de geselecteerde tekst"
    assert panel.locator("blockquote.passage mark").inner_text() == words
    assert panel.locator(".flash").count() == 0  # no "not found" note: the offsets held
    form = panel.locator('form[action$="/comments"]')
    form.locator('textarea[name="body"]').fill(body)
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(rf"/review/\d+/#{block['id']}$"))
    comment = page.locator(f"#comments-{block['id']}[open] .comment", has_text=body)
    assert comment.count() == 1
    return int(comment.get_attribute("id").removeprefix("in-comment-"))


def assert_stored(db, comment_id: int, block: dict, words: str, body: str) -> None:
    fresh(db)
    comment = db.get(Comment, comment_id)
    assert comment.body == body and comment.block_id == block["id"]
    assert comment.quote == words
    assert block_text(block)[comment.start_offset:comment.start_offset + len(comment.quote)] == comment.quote
    db.rollback()


def highlighted(page, comment_id: int) -> str:
    """The text of the marks of one comment on the review page (a span over bold and italic runs has several)."""
    marks = page.locator(f'.doc mark.comment-mark[data-comment="{comment_id}"]')
    marks.first.wait_for()
    return "".join(marks.all_inner_texts())


def test_a_member_comments_on_words_selected_in_a_paragraph(db, reading):
    page, review_url, _round_id, participant_id, blocks = reading
    block = block_of(blocks, "paragraph", "zeldzame aandoening")
    words = "goede zorg voor mensen"
    body = "Schrijf liever 'passende zorg': goede zorg belooft meer dan we kunnen waarmaken."

    select_words(page, block["id"], words)
    assert page.locator("#selection-bar a").inner_text() == "Commentaar op de geselecteerde tekst"
    shot(page, "review-selection-bar", full_page=False)
    assert re.fullmatch(rf"comment\?block={block['id']}&start=\d+&end=\d+&text=.+",
                        page.locator("#selection-bar a").get_attribute("href"))
    page.locator("#selection-bar a").click()
    panel = comment_panel(page)  # the form opens below the passage, the page stays
    assert page.url == review_url
    assert panel.locator("blockquote.passage mark").inner_text() == words
    # The rest of the passage stands around the mark, unmarked.
    assert panel.locator("blockquote.passage").inner_text() == block_text(block)
    form = panel.locator('form[action$="/comments"]')
    assert page.evaluate("() => document.activeElement.name") == "body"
    form.locator('textarea[name="body"]').fill(body)
    shot(page, "comment-in-place")
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(rf"/review/{participant_id}/#{block['id']}$"))
    comment = page.locator("#comments .comment", has_text=body)
    comment_id = int(comment.get_attribute("id").removeprefix("comment-"))
    assert comment.locator("blockquote").inner_text() == f"“{words}”"

    assert_stored(db, comment_id, block, words, body)

    # Back in the text the words are highlighted, and the highlight leads to the comment.
    page.goto(review_url)
    assert highlighted(page, comment_id) == words
    assert page.locator(".doc mark.comment-mark").count() == 1
    assert page.locator(f"#{block['id']}").inner_text().startswith(block_text(block))  # the text is unchanged
    shot(page, "review-highlight")
    # A tap on it opens the comment in place: below the passage, not at the end of the page.
    page.locator(f'mark.comment-mark[data-comment="{comment_id}"]').click()
    page.wait_for_function("(id) => document.activeElement.id === 'in-comment-' + id", arg=comment_id)
    assert page.locator(f"#comments-{block['id']}").evaluate("(d) => d.open")
    assert page.url == review_url

    # The highlight is a link for the keyboard too: focus it and press Enter.
    page.goto(review_url)
    highlight = page.locator(f'mark.comment-mark[data-comment="{comment_id}"][tabindex="0"]')
    assert highlight.get_attribute("role") == "link"
    assert highlight.get_attribute("aria-label") == f"Commentaar op deze tekst: {words}"
    highlight.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("(id) => document.activeElement.id === 'in-comment-' + id", arg=comment_id)


def test_selections_in_a_list_item_and_over_bold_and_italic_runs(db, reading):
    page, review_url, _round_id, _participant_id, blocks = reading
    item = block_of(blocks, "list_item", "expertisecentrum")
    assert item["label"] == "2."
    styled = block_of(blocks, "paragraph", "aanspreekpersoon")
    assert styled.get("runs")  # bold and italic runs, rendered as <strong> and <em>
    page.goto(review_url)
    assert page.locator(f"#{styled['id']} strong").count() == 1 and page.locator(f"#{styled['id']} em").count() == 1

    cases = [
        (item, "de medische kennis", "Ook de verpleegkundige kennis."),
        # Within the bold run, then from plain text over bold, plain and italic text.
        (styled, "eerste aanspreekpersoon", "Ook voor de mantelzorger?"),
        (styled, "blijft de eerste aanspreekpersoon voor de patiënt en het expertisecentrum",
         "Zo staat de rolverdeling er duidelijk."),
    ]
    made = []
    for block, words, body in cases:
        comment_id = comment_on_selection(page, review_url, block, words, body)
        assert_stored(db, comment_id, block, words, body)
        made.append((comment_id, words))

    # A comment on the whole of the first item, through its own link: the passage is marked as commented.
    first_item = block_of(blocks, "list_item", "patiëntenvereniging")
    page.goto(review_url)
    page.locator(f'#{first_item["id"]} a.comment-link').click()
    panel = comment_panel(page)
    panel.locator('textarea[name="body"]').fill("Welke leden precies?")
    panel.locator('form[action$="/comments"] button[type="submit"]').click()
    page.wait_for_url(re.compile(rf"#{first_item['id']}$"))

    page.goto(review_url)
    for comment_id, words in made:
        assert highlighted(page, comment_id) == words
    assert page.locator(".doc .block.commented").count() == 1
    assert page.locator(f"#{first_item['id']}.commented mark").count() == 0
    # The list's label is not part of the passage, nor of any mark.
    assert page.locator(f"#{item['id']} .label mark").count() == 0
    assert page.locator(f"#{item['id']} .label").inner_text() == "2."
    shot(page, "review-highlights-list-and-runs")


def test_selections_in_a_word_file_with_runs_a_numbered_list_and_a_table(db, live_server, browser_page):
    page, review_url, _round_id, _participant_id, blocks = open_link(db, live_server, browser_page,
                                                                      upload=("concept.docx", word_file()))
    styled = block_of(blocks, "paragraph", "apotheek")
    item = block_of(blocks, "list_item", "overleg")
    table = next(b for b in blocks if b["type"] == "table")
    assert block_text(table) == "Partij\tTaak\t\nHuisarts\tEerste aanspreekpunt\tWekelijks"
    cases = [
        (styled, "twee werkdagen de voorgeschreven", "Ook in het weekend?"),
        (item, "het overleg", "Welk overleg: het netwerkoverleg of het MDO?"),
        (table, "aanspreekpunt", "Ook buiten kantooruren?"),  # after an empty cell and a row
    ]
    made = []
    for block, words, body in cases:
        comment_id = comment_on_selection(page, review_url, block, words, body)
        assert_stored(db, comment_id, block, words, body)
        made.append((comment_id, words))
    page.goto(review_url)
    for comment_id, words in made:
        assert highlighted(page, comment_id) == words
    shot(page, "review-highlights-word-file")


def test_a_double_or_triple_click_offers_a_comment_on_the_word_or_the_passage(reading):
    page, _review_url, _round_id, _participant_id, blocks = reading
    block = block_of(blocks, "paragraph", "definitief")
    passage = page.locator(f"#{block['id']}")
    bar = page.locator("#selection-bar")
    # A double click on a word: the selection is that word.
    box = passage.bounding_box()
    page.mouse.dblclick(box["x"] + 5, box["y"] + box["height"] / 2)
    bar.wait_for(state="visible")
    assert "block=" + block["id"] + "&start=0&end=3&text=Dit" in bar.locator("a").get_attribute("href")
    # A triple click selects the whole passage (in Chromium, up to the start of the next element).
    passage.click(click_count=3, position={"x": 5, "y": box["height"] / 2})
    page.wait_for_function("() => /end=(\\d+)/.exec(document.querySelector('#selection-bar a').href)[1] !== '3'")
    bar.locator("a").click()
    panel = comment_panel(page)
    assert panel.locator("blockquote.passage mark").inner_text() == block_text(block)
    assert panel.locator(".flash").count() == 0


def test_a_selection_across_two_passages_offers_no_comment(reading):
    page, _review_url, _round_id, _participant_id, blocks = reading
    first = block_of(blocks, "paragraph", "zeldzame aandoening")
    styled = block_of(blocks, "paragraph", "aanspreekpersoon")
    last = block_of(blocks, "paragraph", "definitief")
    bar = page.locator("#selection-bar")

    select_words(page, first["id"], "mensen met een")  # first the bar is there...
    selected = page.evaluate(SELECT_ACROSS, [styled["id"], last["id"]])
    assert "aanspreekpersoon" in selected and "Dit d" in selected
    bar.wait_for(state="hidden")  # ...then it goes: a comment sits in one passage
    page.wait_for_timeout(400)  # longer than the script's wait after a selection change
    assert bar.is_hidden()

    page.evaluate("() => window.getSelection().removeAllRanges()")
    select_words(page, last["id"], "definitief")
    page.evaluate("() => window.getSelection().removeAllRanges()")
    bar.wait_for(state="hidden")


def test_a_member_replies_to_a_comment(db, reading):
    page, review_url, round_id, participant_id, blocks = reading
    block = block_of(blocks, "paragraph", "zeldzame aandoening")
    comment_id = comment_on_selection(page, review_url, block, "zeldzame aandoening",
                                      "Welke aandoeningen vallen hieronder?")

    page.locator(f"#comment-{comment_id} a.reply-link").click()
    page.wait_for_url(re.compile(rf"/review/{participant_id}/comment\?reply={comment_id}$"))
    assert page.locator("h1").inner_text() == "Reageren op een commentaar"
    assert "Welke aandoeningen vallen hieronder?" in page.locator(f"#comment-{comment_id}").inner_text()
    reply = "Alle aandoeningen met minder dan 1 op 2.000 patiënten, zie de bijlage."
    form = page.locator('form[action$="/comments"]')
    form.locator('textarea[name="body"]').fill(reply)
    shot(page, "reply-page")
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(rf"/review/{participant_id}/comments#comment-\d+$"))
    reply_id = int(page.url.rsplit("#comment-", 1)[1])

    thread = page.locator(f"#comment-{comment_id}")
    assert thread.locator(f"ol.replies > li#comment-{reply_id}").inner_text().endswith(reply)
    assert page.locator(".flash[role=status]").count() == 1
    shot(page, "all-comments-with-reply")

    fresh(db)
    stored = db.get(Comment, reply_id)
    assert stored.parent_id == comment_id and stored.body == reply and stored.round_id == round_id
    assert db.scalar(select(Comment.id).where(Comment.parent_id == comment_id)) == reply_id
    db.rollback()

    # A reply is no highlight of its own: the text still shows the one comment.
    page.goto(review_url)
    assert highlighted(page, comment_id) == "zeldzame aandoening"
    assert page.locator(".doc mark.comment-mark").count() == 1
    # The review page, cached under what it shows, shows the reply under the comment too.
    assert page.locator(f"#comments #comment-{comment_id} ol.replies > li#comment-{reply_id}").count() == 1


def test_on_a_phone_the_bar_is_visible_and_easy_to_tap(reading):
    page, review_url, _round_id, _participant_id, blocks = reading
    page.set_viewport_size(PHONE)
    page.goto(review_url)
    block = block_of(blocks, "paragraph", "definitief")
    page.locator(f"#{block['id']}").scroll_into_view_if_needed()
    select_words(page, block["id"], "definitief zodra")

    bar = page.locator("#selection-bar")
    box = bar.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"] + 0.5
    assert box["x"] == 0 and box["width"] == PHONE["width"]
    link = bar.locator("a").bounding_box()
    assert link["height"] >= 24 and link["width"] >= 24
    # The bar is on top: a tap on the middle of the link reaches the link.
    at = page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('#selection-bar a') !== null",
                       [link["x"] + link["width"] / 2, link["y"] + link["height"] / 2])
    assert at
    # The page does not scroll sideways while the bar is shown.
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "phone-selection-bar", full_page=False)
    # Scrolled to the end, the page's last lines stand above the bar, not under it.
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function("() => window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 1")
    assert bar.is_visible()
    footer = page.locator("footer.site").bounding_box()
    assert footer["y"] + footer["height"] <= bar.bounding_box()["y"] + 0.5
    shot(page, "phone-selection-bar-end-of-page", full_page=False)
    page.set_viewport_size(DESKTOP)


def test_words_selected_then_the_passages_link_by_keyboard_comment_on_those_words(db, reading):
    """A keyboard user selects with caret browsing and tabs on to the passage's own link: that link then offers the
    selection, not the whole passage (here the selection is made by script, the rest by keyboard)."""
    page, review_url, _round_id, _participant_id, blocks = reading
    block = block_of(blocks, "paragraph", "zeldzame aandoening")
    select_words(page, block["id"], "zeldzame aandoening")
    page.locator(f'#{block["id"]} a.comment-link').focus()
    page.keyboard.press("Enter")
    panel = comment_panel(page)
    assert panel.locator("blockquote.passage mark").inner_text() == "zeldzame aandoening"
    assert page.evaluate("() => document.activeElement.name") == "body"
    page.keyboard.type("Welke aandoeningen?")
    for _ in range(5):  # on by the proposal's field (the words, left as they are), the tick, the type
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.type") == "submit":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"#{block['id']}$"))
    comment = page.locator(f"#comments-{block['id']} .comment", has_text="Welke aandoeningen?")
    comment_id = int(comment.get_attribute("id").removeprefix("in-comment-"))
    assert_stored(db, comment_id, block, "zeldzame aandoening", "Welke aandoeningen?")
