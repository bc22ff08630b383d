"""A member returns their edited Word file in Chromium, on a phone: from the review page's section to the upload
page, the page of what was found (a change as old → new, a Word comment), and back after submitting. axe-core
finds nothing at 1280 and 390 px and nothing scrolls sideways."""

from __future__ import annotations

import io

import docx
import pytest
from sqlalchemy import select, update

from storage.database.models import Comment, MailMessage
from tests.browser.accessibility import Audit
from tests.factories import fresh, make_document, make_network, open_round
from workflows.domain.exports import version_docx

pytestmark = pytest.mark.browser


def edited_copy(db, version) -> bytes:
    """The version's Word export with one word changed (typed, untracked) and a Word comment on the last line."""
    word = docx.Document(io.BytesIO(version_docx(db, version)[1]))
    paragraph = next(p for p in word.paragraphs if "goede zorg" in p.text)
    text = paragraph.text.replace("goede zorg", "passende zorg")
    for run in paragraph.runs[1:]:
        run._r.getparent().remove(run._r)
    paragraph.runs[0].text = text
    last = [p for p in word.paragraphs if p.runs][-1]
    word.add_comment(last.runs, text="Wie bedoelen we met iedereen?", author="Lid")
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def test_a_member_uploads_reviews_and_submits_their_word_file(browser_page, live_server, db, run_worker, mail_store,
                                                               tmp_path):
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    network, coordinator, people = make_network(db, members=1)
    member = people[1]
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    run_worker()
    mail = mail_store.wait_for(lambda ms: any(m.to == [member.person.email] for m in ms))
    link = next(link for m in mail if m.to == [member.person.email] for link in m.links() if "/l/" in link)
    upload = tmp_path / "mijn versie.docx"
    upload.write_bytes(edited_copy(db, version))
    audit = Audit()

    phone = browser_page.context.browser.new_context(viewport={"width": 390, "height": 844}, locale="nl-NL")
    page = phone.new_page()
    try:
        page.goto(live_server.rewrite(link))
        page.wait_for_url(f"{live_server.url}/review/*/")
        review = page.url
        # Sent without a file: the upload page says so at its field.
        page.locator("#word-bestand button[type='submit']").click()
        page.wait_for_selector("#returned-file[aria-invalid='true'], .error-summary")
        audit.visit(page, "returned upload refused")
        page.goto(review)
        page.set_input_files("#word-bestand input[type='file']", str(upload))
        page.locator("#word-bestand button[type='submit']").click()
        page.wait_for_selector("main ins")
        found = page.locator("main").inner_text()
        assert "passende" in found and "Wie bedoelen we met iedereen?" in found
        audit.visit(page, "returned found")
        page.set_viewport_size({"width": 390, "height": 844})
        page.get_by_role("button", name="Indienen", exact=True).click()
        page.wait_for_selector(".flash")
        page.goto(review)
        page.locator("#word-bestand a").click()
        page.wait_for_selector("main")
        assert "mijn versie.docx" in page.locator("main").inner_text()
        audit.visit(page, "returned files")
    finally:
        phone.close()
    fresh(db)
    made = db.scalars(select(Comment).where(Comment.round_id == round_.id).order_by(Comment.id)).all()
    assert [(c.proposed_text is not None, c.returned_file_id is not None) for c in made] == [(True, True),
                                                                                           (False, True)]
    audit.check(set())
