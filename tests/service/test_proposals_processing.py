"""Processing proposals over HTTP: the project group takes a proposal's wording as it is or edited, proposals on the
same words are shown together and at most one is taken, and the draft next version (.docx) carries the wording
taken as Word tracked changes by the members who proposed it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from storage.blocks import block_text
from storage.database.models import Comment, Membership
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.service.test_page_scale import MAX_STATEMENTS
from tests.service.test_staff_pages import signed_in
from tests.storage.tracked_changes import W, accepted, document_xml, rejected
from workflows.domain import comments, rounds

TEXT = ("# Samenwerkingsovereenkomst\n\n"
        "De overeenkomst geldt voor 60 maanden en wordt daarna stilzwijgend verlengd.\n\n"
        "Partijen overleggen ieder kwartaal over de voortgang.\n")
PASSAGE = "De overeenkomst geldt voor 60 maanden en wordt daarna stilzwijgend verlengd."


def message(app, msgid: str, **params) -> str:
    """A text as the Dutch pages show it (the English text until its translation is in the catalogue)."""
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("nl"):
        return str(gettext(msgid, **params))


def plural(app, singular: str, many: str, count: int) -> str:
    """A counted text as the Dutch pages show it."""
    from flask_babel import force_locale, ngettext

    with app.test_request_context(), force_locale("nl"):
        return str(ngettext(singular, many, count))


def error(app, code: str, **params) -> str:
    from flask_babel import force_locale
    from markupsafe import escape

    from service.web.i18n import error_message

    with app.test_request_context(), force_locale("nl"):
        return str(escape(str(error_message(code, params))))


@pytest.fixture
def world(db):
    """Two members with proposals on the same words ("60 maanden" and "voor 60 maanden"), one elsewhere, and a
    plain comment; the members' names in the network differ from their own, the draft must use the network's."""
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator, text=TEXT)
    round_ = open_round(db, document, coordinator)
    first, second = participant(db, round_, people[1]), participant(db, round_, people[2])
    for i, member in enumerate(people[1:3]):
        db.get(Membership, member.id).name = f"Lid {i + 1} van het netwerk"
    block_id = next(b["id"] for b in version.blocks if block_text(b) == PASSAGE)

    def propose(member, words: str, text: str, **extra) -> Comment:
        start = PASSAGE.index(words)
        return rounds.add_comment(db, member, body=extra.pop("body", ""), block_id=block_id, start=start,
                                  end=start + len(words), selected=words, proposed_text=text, **extra)

    made = {
        "short": propose(first, "60 maanden", "12 maanden", kind="technical", body="Graag korter."),
        "longer": propose(second, "voor 60 maanden", "voor 24 maanden"),
        "elsewhere": propose(second, "stilzwijgend", "", kind="editorial"),
        "plain": rounds.add_comment(db, first, body="Wie zit het overleg voor?", block_id=None),
    }
    db.commit()
    return coordinator, document, version, round_, made


def process(client, round_id: int, comment_id: int, **data):
    page = client.get(f"/r/{round_id}/processing").get_data(as_text=True)
    return client.post(f"/comments/{comment_id}/process", data={
        "csrf_token": csrf_token(page), "answer": "", "next": f"/r/{round_id}/processing", **data})


def form_of(html: str, comment_id: int) -> str:
    """The part of the processing page about one comment."""
    start = html.index(f'id="comment-{comment_id}"')
    end = html.find('<div class="comment', start)
    return html[start:end if end > 0 else None]


def test_the_form_shows_the_change_and_what_overgenomen_and_deels_take(app, db, world):
    coordinator, _document, _version, round_, made = world
    client = signed_in(app, db, coordinator)
    page = client.get(f"/r/{round_.id}/processing").get_data(as_text=True)
    assert "proposals-staff.css" in page

    short = form_of(page, made["short"].id)
    assert re.search(r'<del class="proposal-old">.*60 maanden.*</del> <span aria-hidden="true">→</span> '
                     r'<ins class="proposal-new">.*12 maanden.*</ins>', short)
    assert message(app, "Technical") in short and "Graag korter." in short
    hint = message(app, "Overgenomen takes the proposed text as it is; deels overgenomen the text below.")
    assert f'<p class="muted" id="disposition-{made["short"].id}-hint">{hint}</p>' in short
    assert f'aria-describedby="disposition-{made["short"].id}-hint"' in short
    # "Overgenomen tekst": prefilled with the proposed text to edit, ticked to be taken with deels overgenomen.
    assert re.search(rf'<textarea id="taken-text-{made["short"].id}" name="taken_text"[^>]*>\n12 maanden</textarea>',
                     short)
    assert re.search(rf'id="take-text-{made["short"].id}" name="take_text" value="y" checked>', short)
    assert message(app, "Text taken over") in short
    # A removal shows what goes; a plain comment has none of this.
    elsewhere = form_of(page, made["elsewhere"].id)
    assert message(app, "(nothing: the text is removed)") in elsewhere and "stilzwijgend" in elsewhere
    plain = form_of(page, made["plain"].id)
    assert 'name="taken_text"' not in plain and "proposal-old" not in plain

    # The proposals on the same words say so, each linked to the other (on this page), with its number.
    numbers = comments.numbered(db, round_.id)
    longer_number = numbers.index(made["longer"].id) + 1
    collides = message(app, "Collides with comment %(number)s", number=longer_number)
    assert f'<a href="#comment-{made["longer"].id}">{collides}</a>' in short
    assert message(app, "Collides with comment %(number)s", number=numbers.index(made["short"].id) + 1) \
        in form_of(page, made["longer"].id)
    assert 'class="proposal-collisions"' not in elsewhere  # on other words: nothing collides
    # Nothing taken yet: no draft next version is offered, the page says so.
    assert message(app, "No proposal's wording is taken yet: there is no draft next version.") in page
    assert f"/r/{round_.id}/draft" not in page


def test_overgenomen_takes_the_proposed_text_and_deels_the_edited_text(app, db, world):
    coordinator, _document, _version, round_, made = world
    client = signed_in(app, db, coordinator)
    taken = process(client, round_.id, made["short"].id, disposition="overgenomen", taken_text="iets anders",
                    take_text="y")
    assert taken.status_code == 303 and taken.headers["Location"].endswith(f"#comment-{made['short'].id}")
    edited = process(client, round_.id, made["elsewhere"].id, disposition="deels_overgenomen",
                     answer="Alleen 'stilzwijgend' korter.", take_text="y", taken_text="zo nodig")
    assert edited.status_code == 303
    fresh(db)
    # Overgenomen takes the proposal as it is, whatever the text field holds; deels the text as edited.
    assert db.get(Comment, made["short"].id).taken_text == "12 maanden"
    assert db.get(Comment, made["elsewhere"].id).taken_text == "zo nodig"

    page = client.get(f"/r/{round_.id}/processing").get_data(as_text=True)
    assert message(app, "wording taken") in form_of(page, made["short"].id)
    # The edited text shows below the proposal, and the text field keeps it to change again.
    elsewhere = form_of(page, made["elsewhere"].id)
    assert message(app, "Text taken over:") in elsewhere and "zo nodig</ins>" in elsewhere
    assert "\nzo nodig</textarea>" in elsewhere
    # Its colliding proposal says whose wording is taken.
    assert message(app, "its wording is taken") in form_of(page, made["longer"].id)

    # Deels overgenomen without ticking takes no wording.
    process(client, round_.id, made["elsewhere"].id, disposition="deels_overgenomen", answer="Toch niet.",
            taken_text="zo nodig")
    fresh(db)
    assert db.get(Comment, made["elsewhere"].id).taken_text is None
    assert db.get(Comment, made["elsewhere"].id).disposition == "deels_overgenomen"


def test_a_collision_is_refused_at_the_field_in_dutch_and_changes_nothing(app, db, world):
    coordinator, _document, _version, round_, made = world
    client = signed_in(app, db, coordinator)
    assert process(client, round_.id, made["short"].id, disposition="overgenomen").status_code == 303
    number = comments.numbered(db, round_.id).index(made["short"].id) + 1

    for data, field in ((dict(disposition="overgenomen"), "disposition"),
                        (dict(disposition="deels_overgenomen", answer="Iets aangepast.", take_text="y",
                              taken_text="voor 36 maanden"), "taken-text")):
        refused = process(client, round_.id, made["longer"].id, **data)
        assert refused.status_code == 409
        html = refused.get_data(as_text=True)
        text = error(app, "proposal_collision", number=number)
        assert f'<p class="field-error" id="{field}-{made["longer"].id}-error">' in html and f"</span>{text}</p>" in html
        assert f'href="#{field}-{made["longer"].id}"' in html  # the error summary links to the field
        assert 'aria-invalid="true"' in form_of(html, made["longer"].id)
        if field == "taken-text":
            assert "\nvoor 36 maanden</textarea>" in html  # what was typed is kept
        fresh(db)
        longer = db.get(Comment, made["longer"].id)
        assert (longer.disposition, longer.taken_text, longer.processed_at) == (None, None, None)
        assert db.get(Comment, made["short"].id).taken_text == "12 maanden"

    # Choosing the other: the first is not taken after all, then the second can be.
    assert process(client, round_.id, made["short"].id, disposition="niet_overgenomen",
                   answer="Wij kiezen 24 maanden.").status_code == 303
    assert process(client, round_.id, made["longer"].id, disposition="overgenomen").status_code == 303
    fresh(db)
    assert db.get(Comment, made["short"].id).taken_text is None
    assert db.get(Comment, made["longer"].id).taken_text == "voor 24 maanden"


def test_the_draft_next_version_carries_the_taken_wording_as_changes_by_the_members(app, db, world):
    coordinator, document, version, round_, made = world
    client = signed_in(app, db, coordinator)
    refused = client.get(f"/r/{round_.id}/draft")  # nothing taken: no empty draft, the page says why
    assert refused.status_code == 303 and refused.headers["Location"].endswith(f"/r/{round_.id}/processing")
    no_draft = message(app, "No proposal's wording is taken yet: there is no draft next version.")
    assert no_draft in client.get(refused.headers["Location"]).get_data(as_text=True)
    assert no_draft in client.get(f"/r/{round_.id}").get_data(as_text=True)

    process(client, round_.id, made["short"].id, disposition="overgenomen")
    process(client, round_.id, made["elsewhere"].id, disposition="deels_overgenomen", answer="Iets zachter.",
            take_text="y", taken_text="zo nodig")
    for path in (f"/r/{round_.id}/processing", f"/r/{round_.id}"):
        page = client.get(path).get_data(as_text=True)
        assert f'href="/r/{round_.id}/draft"' in page and no_draft not in page
        assert message(app, "Draft next version (.docx) with the text taken over") in page
        assert plural(app, "It carries the wording taken from %(num)d proposal, as a tracked change by the member "
                           "who proposed it.", "It carries the wording taken from %(num)d proposals, each as a "
                           "tracked change by the member who proposed it.", 2) in page

    response = client.get(f"/r/{round_.id}/draft")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=") and "_v2_concept.docx" in disposition
    data = response.data
    expected = PASSAGE.replace("60 maanden", "12 maanden").replace("stilzwijgend", "zo nodig")
    assert [block_text(b) for b in accepted(data)] == [block_text(b) if block_text(b) != PASSAGE else expected
                                                       for b in version.blocks]
    assert [block_text(b) for b in rejected(data)] == [block_text(b) for b in version.blocks]
    authors = {e.get(W + "author") for e in document_xml(data).iter(W + "ins", W + "del")}
    assert authors == {"Lid 1 van het netwerk", "Lid 2 van het netwerk"}

    # The next version's upload ticks the comments taken over, these proposals among them.
    upload = client.get(f"/d/{document.id}").get_data(as_text=True)
    assert re.search(r'<input checked id="taken_over" name="taken_over" type="checkbox" value="y">', upload)
    assert message(app, "Ticked for you: the wording of %(count)s proposals was taken, and the draft next version "
                        "carries it.", count=2) in upload


def test_a_round_without_proposals_says_nothing_of_a_draft(app, db):
    network, coordinator, people = make_network(db, members=1)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    rounds.add_comment(db, participant(db, round_, people[1]), body="Prima.", block_id=None)
    db.commit()
    client = signed_in(app, db, coordinator)
    for path in (f"/r/{round_.id}/processing", f"/r/{round_.id}"):
        page = client.get(path).get_data(as_text=True)
        assert "/draft" not in page and "draft-next" not in page
    upload = client.get(f"/d/{document.id}").get_data(as_text=True)
    assert re.search(r'<input id="taken_over" name="taken_over" type="checkbox" value="y">', upload)


def test_the_processing_page_with_proposals_stays_within_its_statements(app, db, world):
    coordinator, _document, _version, round_, made = world
    client = signed_in(app, db, coordinator)
    engine = app.extensions["akkoord_engine"]

    def statements() -> int:
        seen = []

        def count(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        client.get(f"/r/{round_.id}/processing")
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/r/{round_.id}/processing").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    some = statements()
    process(client, round_.id, made["short"].id, disposition="overgenomen")
    for key in ("longer", "elsewhere", "plain"):
        process(client, round_.id, made[key].id, disposition="voor_kennisgeving")
    fresh(db)
    assert db.scalar(select(Comment.id).where(Comment.round_id == round_.id, Comment.processed_at.is_(None))) is None
    every = statements()  # all processed: the next step shows too
    print(f"processing page with proposals: {some} statements, {every} once all are processed")
    assert some <= MAX_STATEMENTS and every <= MAX_STATEMENTS, (some, every)
