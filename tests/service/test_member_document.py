"""The member's document tools over HTTP: a table of contents, search in the text, the version of the round as
.docx, PDF and print view marked as a draft, and the final document once there is one; only for the holder of
the personal link, and no GET changes anything."""

from __future__ import annotations

import io
from urllib.parse import quote

from docx import Document as WordDocument
from flask_babel import force_locale, gettext
from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import func, select

from storage.database.models import AuditEvent, Participant, Person
from tests.factories import final_document, make_network, open_round, participant
from tests.service.test_sessions import member_client
from workflows.domain import documents, exports, membership, rounds
from workflows.domain.exports import DOCX, PDF

TEXT = """# Zorgafspraken

## Artikel 1 Doel

De patiëntenvereniging en het expertisecentrum werken samen aan goede zorg.

## Artikel 2 Taken

### 2.1 Verwijzing

De huisarts verwijst de patiënt binnen twee weken. De PATIENT krijgt daarover bericht.

## Artikel 3 Slotbepaling

Dit document wordt definitief zodra iedereen akkoord is.
"""
TITLE = "Zorgafspraken cliënt Één — ’s-Hertogenbosch"


def message(app, msgid: str, **params) -> str:
    """A message as the Dutch pages show it (the English text until its translation is in the catalogue)."""
    with app.test_request_context(), force_locale("nl"):
        return str(escape(gettext(msgid, **params)))


def reading(app, db, *, title: str = TITLE):
    """A member holding the link of an open round on TEXT: (browser, review path, member, round, version)."""
    network, coordinator, people = make_network(db, members=1)
    document = documents.create_document(db, network, kind="samenwerkingsovereenkomst", title=title,
                                         actor=coordinator)
    version = documents.upload_version(db, document, filename="zorg.md", data=TEXT.encode(), change_note="",
                                       actor=coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    token = rounds.mint_link(db, member.id)
    db.commit()
    browser, review = member_client(app, token)
    return browser, review, member, round_, version


def heading_ids(version) -> dict[str, str]:
    return {b["text"]: b["id"] for b in version.blocks if b["type"] == "heading"}


def test_the_review_page_offers_contents_search_and_the_draft_to_keep(app, db):
    browser, review, member, round_, version = reading(app, db)
    page = browser.get(review).get_data(as_text=True)
    ids = heading_ids(version)
    tools = page[page.index('id="document-tools"'):page.index('class="doc"')]
    assert '<nav class="toc"' in tools
    for text, block_id in ids.items():
        assert f'<a href="#{block_id}">{escape(text)}</a>' in tools
        assert f'id="{block_id}"' in page  # the anchor it leads to
    # Nested by level: 2.1 inside Artikel 2's list, Artikel 1 inside the title's.
    assert tools.index("Artikel 2 Taken") < tools.index('toc-depth-3') < tools.index("2.1 Verwijzing")
    assert f'action="{review}search"' in tools and 'name="zoek"' in tools
    for path in ("version.docx", "version.pdf", "print"):
        assert f'href="{review}{path}"' in tools
    assert "final.docx" not in tools  # not final yet


def test_search_finds_passages_whatever_the_accents_and_case(app, db):
    browser, review, member, round_, version = reading(app, db)
    ids = heading_ids(version)
    answer = browser.get(review + "search?zoek=Patiënt")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert message(app, "Passages that hold “%(query)s”: %(num)s.", num=2, query="Patiënt") in page
    assert "De <mark>patiënt</mark>envereniging" in page
    assert "verwijst de <mark>patiënt</mark> binnen" in page and "De <mark>PATIENT</mark> krijgt" in page
    passage = next(b["id"] for b in version.blocks if "huisarts" in b.get("text", ""))
    assert f'href="{review}#{passage}">2.1 Verwijzing</a>' in page  # the passage's heading, linked to its place
    assert f'href="{review}#{passage}"' in page and ids["2.1 Verwijzing"] != passage
    assert 'value="Patiënt"' in page  # the form keeps what was asked

    spaced = browser.get(review + "search?zoek=" + quote("  binnen   TWEE  ")).get_data(as_text=True)
    assert "<mark>binnen twee</mark>" in spaced


def test_a_search_that_finds_nothing_says_so_and_an_empty_one_changes_nothing(app, db):
    browser, review, member, round_, version = reading(app, db)
    page = browser.get(review + "search?zoek=apotheek").get_data(as_text=True)
    assert message(app, "Nothing in version %(number)s holds “%(query)s”. Check the spelling, or search for a "
                        "single word or part of one.", number=version.number, query="apotheek") in page
    assert "<mark>" not in page and 'class="search-results"' not in page
    for empty in ("search", "search?zoek=", "search?zoek=+++"):
        answer = browser.get(review + empty)
        assert answer.status_code == 303 and answer.headers["Location"] == review + "#document-tools"
    markup = browser.get(review + "search?zoek=" + quote("<b>zorg</b>")).get_data(as_text=True)
    assert "<b>zorg</b>" not in markup and "&lt;b&gt;zorg&lt;/b&gt;" in markup


def test_the_draft_downloads_say_which_round_they_are_for(app, db):
    browser, review, member, round_, version = reading(app, db)
    notice = message(app, "Draft for review in round %(round)s (version %(version)s). This is not the final text.",
                     round=round_.number, version=version.number)

    docx = browser.get(review + "version.docx")
    assert docx.status_code == 200 and docx.mimetype == DOCX
    disposition = docx.headers["Content-Disposition"]
    assert disposition.isascii() and disposition.startswith('attachment; filename="Zorgafspraken_client_Een')
    assert "filename*=UTF-8''Zorgafspraken_cli%C3%ABnt_%C3%89%C3%A9n" in disposition and disposition.endswith(".docx")
    paragraphs = [p.text for p in WordDocument(io.BytesIO(docx.get_data())).paragraphs]
    assert paragraphs[0] == notice and "Artikel 2 Taken" in paragraphs

    pdf = browser.get(review + "version.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == PDF and pdf.get_data().startswith(b"%PDF")
    assert "filename*=UTF-8''" in pdf.headers["Content-Disposition"] and pdf.headers["Content-Disposition"].endswith(
        '.pdf')
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf.get_data())).pages]
    assert all(" ".join(notice.split()) in " ".join(text.split()) for text in pages)  # on every page
    assert "definitief zodra iedereen akkoord" in " ".join(" ".join(pages).split())
    assert browser.get(review + "version.pdf").get_data() == pdf.get_data()  # made once


def test_the_print_view_says_what_it_is_and_carries_no_navigation(app, db):
    browser, review, member, round_, version = reading(app, db)
    page = browser.get(review + "print").get_data(as_text=True)
    assert f"<h1>{escape(TITLE)}</h1>" in page
    assert 'media="print"' in page and "print.css" in page
    assert message(app, "Draft for review in round %(round)s (version %(version)s). This is not the final text.",
                   round=round_.number, version=version.number) in page
    assert message(app, "Draft, not final") in page
    assert 'class="site"' not in page and "sign-out" not in page and "comment?block=" not in page
    assert "De huisarts verwijst de patiënt binnen twee weken." in page
    assert browser.get("/static/print.css").status_code == 200


def test_once_final_members_keep_the_final_document(app, db):
    network, coordinator, people, document, version = final_document(db, members=1, observers=0)
    member = db.scalar(select(Participant).where(Participant.person_id == people[1].person_id))
    token = rounds.mint_link(db, member.id)
    db.commit()
    browser, review = member_client(app, token)
    page = browser.get(review).get_data(as_text=True)
    tools = page[page.index('id="document-tools"'):page.index('class="doc"')]
    for path in ("final.docx", "final.pdf", "final/print"):
        assert f'href="{review}{path}"' in tools
    assert "version.pdf" not in tools  # the version of this round is the final one: no draft beside it

    pdf = browser.get(review + "final.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == PDF
    db.expire_all()
    assert pdf.get_data() == exports.stored_final_file(db, document, "pdf")[2]  # the bytes mailed to everyone
    assert browser.get(review + "final.pdf").get_data() == pdf.get_data()
    docx = browser.get(review + "final.docx")
    assert docx.status_code == 200 and docx.mimetype == DOCX and docx.headers["Content-Disposition"].isascii()
    printed = browser.get(review + "final/print").get_data(as_text=True)
    assert message(app, "Draft, not final") not in printed
    assert message(app, "Final, agreed on %(when)s", when="@").split("@")[0] in printed
    assert "Dit document wordt definitief zodra iedereen akkoord is." in printed


def test_final_files_are_not_there_before_the_document_is_final(app, db):
    browser, review, member, round_, version = reading(app, db)
    for path in ("final.docx", "final.pdf", "final/print"):
        assert browser.get(review + path).status_code == 404, path


def test_only_the_holder_of_the_link_gets_the_documents_and_no_get_changes_anything(app, db):
    browser, review, member, round_, version = reading(app, db)
    paths = ("search?zoek=zorg", "version.docx", "version.pdf", "print")
    before = db.scalar(select(func.count(AuditEvent.id)))
    opened = db.get(Participant, member.id).first_opened_at
    for path in paths:
        assert browser.get(review + path).status_code == 200, path
    db.expire_all()
    assert db.scalar(select(func.count(AuditEvent.id))) == before  # a mail scanner's GET records nothing
    assert db.get(Participant, member.id).first_opened_at == opened

    stranger = app.test_client()
    for path in paths:
        assert stranger.get(review + path).status_code == 404, path  # no link in this browser
        assert browser.get(f"/review/{member.id + 100000}/{path}").status_code == 404, path  # not its participant

    # The member leaves the network: the link opens nothing any more, as the review page itself does not.
    held = db.get(Participant, member.id)
    membership.remove_member(db, held.membership, actor=db.get(Person, held.round.opened_by_id))
    db.commit()
    refused = browser.get(review).status_code
    assert refused in (404, 410)
    for path in (*paths, "final.pdf"):
        assert browser.get(review + path).status_code == refused, path
