"""Over HTTP: a member proposes wording on the comment form (a selection, a whole passage, words named with the
keyboard), gives a comment a type, and sees proposals as an inline redline wherever comments are shown."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from flask_babel import gettext
from markupsafe import escape
from sqlalchemy import func, select

from storage.blocks import block_text
from storage.database.models import Comment, Round
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, open_round, participant
from tests.service.test_staff_pages import signed_in
from tests.service.test_threads import reading
from workflows.domain import comments, rounds

PASSAGE = "De partijen werken samen aan goede zorg voor mensen met een zeldzame aandoening."
TABLE_TEXT = "# Tarieven\n\nDe uren per taak:\n\n| Taak | Uren |\n| --- | --- |\n| Overleg | 12 |\n"


@pytest.fixture
def member(app, db):
    """(browser, review path, round, passage block, people, coordinator) for one member of an open round."""
    round_, readers, people, coordinator, version = reading(app, db, members=1)
    client, review = readers[1]
    block = next(b for b in version.blocks if block_text(b) == PASSAGE)
    return client, review, round_, block, people, coordinator


def said(app, message: str, **params) -> str:
    """A message as the app says it (Dutch once its catalogue has it), escaped as in the page."""
    with app.test_request_context():
        return str(escape(gettext(message, **params)))


def form_for(client, review: str, block: dict, words: str | None = None) -> tuple[str, dict]:
    """The comment form on `block` (on `words` of it, as the selection bar links it): (page, its fields)."""
    query = {"block": block["id"]}
    if words:
        start = block_text(block).index(words)
        query.update(start=str(start), end=str(start + len(words)), text=words)
    page = client.get(f"{review}comment?{urlencode(query)}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    fields = {name: value for name, value in re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', html)}
    fields = {key: value for key, value in fields.items() if key in ("block_id", "start", "end", "selected")}
    return html, {"csrf_token": csrf_token(html), **fields}


def textarea(html: str, name: str) -> str | None:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>\r?\n?(.*?)</textarea>', html, re.S)
    return found and found.group(1)


def comments_of(db, round_) -> list[Comment]:
    fresh(db)
    return list(db.scalars(select(Comment).where(Comment.round_id == round_.id).order_by(Comment.id)))


def test_a_proposal_on_selected_words_is_saved_with_its_type_and_shown_as_a_redline(app, db, member):
    client, review, round_, block, people, coordinator = member
    staff = signed_in(app, db, coordinator)
    html, fields = form_for(client, review, block, "goede zorg")
    # The form offers the selected words to change, a type (algemeen chosen), and no reason is needed.
    assert textarea(html, "proposed_text") == "goede zorg"
    assert re.search(r'<input[^>]*checked[^>]*value="general"|<input[^>]*value="general"[^>]*checked', html)
    assert "<legend>" in html and 'name="delete"' in html

    saved = client.post(f"{review}comments", data={**fields, "proposed_text": "passende zorg", "body": "",
                                                   "kind": "editorial"})
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"#{block['id']}")
    [proposal] = comments_of(db, round_)
    assert (proposal.quote, proposal.proposed_text, proposal.kind, proposal.body) == (
        "goede zorg", "passende zorg", "editorial", "")

    becomes, editorial = said(app, "becomes"), said(app, "Editorial")
    redline = f'<del>goede zorg</del><span class="visually-hidden"> {becomes} </span>'
    # On the review page (beside the passage and under the text), all comments, the reply page...
    for path in ("", "comments", f"comment?reply={proposal.id}"):
        page = client.get(f"{review}{path}").get_data(as_text=True)
        assert redline in page and "<ins>passende zorg</ins>" in page, path
        assert editorial in page and said(app, "Proposed change") in page
    # ...and on the staff round page.
    page = staff.get(f"/r/{round_.id}").get_data(as_text=True)
    assert redline in page and "<ins>passende zorg</ins>" in page
    # Once the round is over and processed, the member's commentaartabel has its type and the proposed change in
    # columns of their own.
    fresh(db)
    rounds.close_round(db, db.get(Round, round_.id), actor=coordinator)
    comments.process_comment(db, db.get(Comment, proposal.id), disposition="overgenomen", answer="",
                             actor=coordinator)
    db.commit()
    table = client.get(f"{review}commentaartabel/{round_.id}").get_data(as_text=True)
    assert f'data-label="{said(app, "Type")}">{editorial.lower()}</td>' in table
    assert "passende zorg" in table.split(f'data-label="{said(app, "Proposed change")}"', 1)[1].split("</td>", 1)[0]


def test_words_left_as_they_are_make_an_ordinary_comment(app, db, member):
    client, review, round_, block, *_ = member
    _html, fields = form_for(client, review, block, "goede zorg")
    saved = client.post(f"{review}comments", data={**fields, "proposed_text": "goede zorg",
                                                   "body": "Wat is goed?", "kind": "technical"})
    assert saved.status_code == 303
    [comment] = comments_of(db, round_)
    assert (comment.proposed_text, comment.kind, comment.quote) == (None, "technical", "goede zorg")
    # Nor does a line break a keyboard left in the field on its way to the button.
    assert client.post(f"{review}comments", data={**fields, "proposed_text": "goede zorg\r\n", "body": "Nog iets."}
                       ).status_code == 303
    assert comments_of(db, round_)[-1].proposed_text is None
    page = client.get(f"{review}comments").get_data(as_text=True)
    # An ordinary comment says its type when it is not algemeen; no redline.
    assert said(app, "Technical") in page and "<del>" not in page


def test_a_general_comment_does_not_say_its_type(app, db, member):
    client, review, round_, block, *_ = member
    _html, fields = form_for(client, review, block)
    assert client.post(f"{review}comments", data={**fields, "proposed_text": PASSAGE, "body": "Prima."}
                       ).status_code == 303
    page = client.get(f"{review}comments").get_data(as_text=True)
    assert "Prima." in page and 'class="badge kind"' not in page and "<del>" not in page


def test_the_reason_is_required_without_a_proposal_and_nothing_is_saved(app, db, member):
    client, review, round_, block, *_ = member
    _html, fields = form_for(client, review, block, "goede zorg")
    refused = client.post(f"{review}comments", data={**fields, "proposed_text": "goede zorg", "body": "  "})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    message = said(app, "Type your comment, or change the proposed text to propose other wording.")
    assert '<p class="field-error" id="body-error">' in html and message in html
    assert re.search(r'<textarea[^>]*aria-invalid="true"[^>]*name="body"|<textarea[^>]*name="body"[^>]*'
                     r'aria-invalid="true"', html)
    # The form is still on the selection, the words still offered to change.
    assert "<mark>goede zorg</mark>" in html and textarea(html, "proposed_text") == "goede zorg"
    assert comments_of(db, round_) == []


def test_deleting_words_is_a_tick_and_an_emptied_field_proposes_nothing(app, db, member):
    client, review, round_, block, *_ = member
    _html, fields = form_for(client, review, block, "samen ")
    assert client.post(f"{review}comments", data={**fields, "proposed_text": "samen", "delete": "y", "body": ""}
                       ).status_code == 303
    [deletion] = comments_of(db, round_)
    assert (deletion.quote, deletion.proposed_text) == ("samen", "")
    page = client.get(f"{review}comments").get_data(as_text=True)
    assert "<del>samen</del>" in page and said(app, "(delete)") in page

    # Emptied without the tick: no proposal, so a reason is needed.
    _html, fields = form_for(client, review, block, "goede zorg")
    refused = client.post(f"{review}comments", data={**fields, "proposed_text": "", "body": ""})
    assert refused.status_code == 400 and len(comments_of(db, round_)) == 1
    # Ticked and changed as well: unclear, refused at the proposal.
    refused = client.post(f"{review}comments", data={**fields, "proposed_text": "zorg", "delete": "y", "body": ""})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'id="proposed_text-error"' in html
    assert said(app, "Either delete the words or change them, not both: untick the box or undo the change.") in html
    assert len(comments_of(db, round_)) == 1


def test_editing_the_whole_passage_proposes_only_the_words_changed(app, db, member):
    client, review, round_, block, *_ = member
    html, fields = form_for(client, review, block)
    assert textarea(html, "proposed_text") == PASSAGE  # no selection: the passage to edit
    edited = PASSAGE.replace("goede zorg", "passende zorg").replace("samen aan", "samen nauw aan")
    # Two edits: one proposal spanning both, widened to whole words.
    assert client.post(f"{review}comments", data={**fields, "proposed_text": edited, "body": "Scherper."}
                       ).status_code == 303
    [proposal] = comments_of(db, round_)
    assert (proposal.quote, proposal.proposed_text) == ("aan goede", "nauw aan passende")
    assert PASSAGE[:proposal.start_offset] + proposal.proposed_text + PASSAGE[proposal.span_end:] == edited


def test_an_insertion_in_the_passage_shows_in_its_words(app, db, member):
    client, review, round_, block, *_ = member
    _html, fields = form_for(client, review, block)
    edited = PASSAGE.replace("samen aan", "samen nauw aan")
    assert client.post(f"{review}comments", data={**fields, "proposed_text": edited, "body": ""}).status_code == 303
    [insertion] = comments_of(db, round_)
    assert (insertion.quote, insertion.proposed_text, insertion.start_offset) == ("", "nauw ", PASSAGE.index("aan"))
    page = client.get(f"{review}comments").get_data(as_text=True)
    assert f'{said(app, "insert:")} </span><ins>nauw </ins>' in page


def test_words_named_with_the_keyboard_still_work_with_and_without_a_proposal(app, db, member):
    client, review, round_, block, *_ = member
    _html, fields = form_for(client, review, block)
    # Named words, the passage left as it is: a comment on those words.
    assert client.post(f"{review}comments", data={**fields, "words": "zeldzame aandoening",
                                                  "proposed_text": PASSAGE, "body": "Welke?"}).status_code == 303
    # Named words and the tick: those words deleted.
    assert client.post(f"{review}comments", data={**fields, "words": "zeldzame", "proposed_text": PASSAGE,
                                                  "delete": "y"}).status_code == 303
    # Named words that are not there: refused at the words, nothing saved.
    refused = client.post(f"{review}comments", data={**fields, "words": "zeldzaam", "proposed_text": PASSAGE,
                                                     "delete": "y"})
    assert refused.status_code == 400 and 'id="words-error"' in refused.get_data(as_text=True)
    first, second = comments_of(db, round_)
    assert (first.quote, first.proposed_text) == ("zeldzame aandoening", None)
    assert (second.quote, second.proposed_text) == ("zeldzame", "")


def test_a_table_takes_comments_but_no_proposal(app, db, member):
    client, review, round_, _block, people, coordinator = member
    document, version = make_document(db, round_.document.network, coordinator, text=TABLE_TEXT)
    other = open_round(db, document, coordinator)
    token = rounds.mint_link(db, participant(db, other, people[1]).id)
    db.commit()
    browser = app.test_client()
    path = browser.get(f"/l/{token}").headers["Location"]
    table = next(b for b in version.blocks if b["type"] == "table")
    html, fields = form_for(browser, path, table)
    assert 'name="proposed_text"' not in html and 'name="delete"' not in html and 'name="kind"' in html
    # A crafted proposal is refused in words and nothing is saved.
    refused = browser.post(f"{path}comments", data={**fields, "proposed_text": "Overleg | 6", "body": ""})
    assert refused.status_code == 400
    assert said(app, "Only text can be changed by a proposal, not a table, an image or a note. Describe the change "
                     "in your comment instead.") in refused.get_data(as_text=True)
    assert comments_of(db, other) == []
    assert browser.post(f"{path}comments", data={**fields, "body": "Liever 6 uur.", "kind": "technical"}
                        ).status_code == 303
    [comment] = comments_of(db, other)
    assert (comment.kind, comment.proposed_text) == ("technical", None)


def test_an_unknown_type_is_refused_at_its_choices(app, db, member):
    client, review, round_, block, *_ = member
    _html, fields = form_for(client, review, block, "goede zorg")
    refused = client.post(f"{review}comments", data={**fields, "proposed_text": "passende zorg", "kind": "urgent"})
    assert refused.status_code == 400 and 'id="kind-error"' in refused.get_data(as_text=True)
    assert db.scalar(select(func.count(Comment.id)).where(Comment.round_id == round_.id)) == 0


def test_a_reply_still_needs_its_text(app, db, member):
    client, review, round_, block, *_ = member
    _html, fields = form_for(client, review, block, "goede zorg")
    client.post(f"{review}comments", data={**fields, "proposed_text": "passende zorg"})
    [proposal] = comments_of(db, round_)
    page = client.get(f"{review}comment?reply={proposal.id}").get_data(as_text=True)
    refused = client.post(f"{review}comments", data={"csrf_token": csrf_token(page), "parent_id": proposal.id,
                                                     "body": " "})
    assert refused.status_code == 400 and 'id="body-error"' in refused.get_data(as_text=True)
    assert len(comments_of(db, round_)) == 1


def test_what_the_project_group_took_shows_when_it_differs(app, db, member):
    client, review, round_, block, people, coordinator = member
    _html, fields = form_for(client, review, block, "goede zorg")
    client.post(f"{review}comments", data={**fields, "proposed_text": "passende zorg"})
    page = client.get(f"{review}comments").get_data(as_text=True)  # cached before the processing
    assert said(app, "Taken over as") not in page
    [proposal] = comments_of(db, round_)
    comments.process_comment(db, proposal, disposition="deels_overgenomen", answer="Iets anders.",
                             actor=coordinator, taken_text="goede en passende zorg")
    db.commit()
    for path in ("comments", ""):
        page = client.get(f"{review}{path}").get_data(as_text=True)
        assert said(app, "Taken over as") in page and "<ins>goede en passende zorg</ins>" in page, path
