"""The pages work under the Content-Security-Policy (issue 10), in a real Chromium: on the member's path (the
personal link, the review page, a comment on selected words, the verdict) and the coordinator's (sign in by mail,
the network, the document, opening a round, the round page, the processing page, a redline, an error page), every
page is served with the strict policy and the browser reports no violation of it, in the console or as a
`securitypolicyviolation` event; the scripts still do their work (the selection bar, the highlights). The mailbox of
the embedded stack shows a mail's inline styles in its frame, and its own page stays strict."""

from __future__ import annotations

import datetime as dt
import re
import threading
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from service.embedded.servers import MailStore
from storage.database.models import Round
from tests.browser.test_selection import TEXT, block_of, select_words
from tests.factories import fresh, make_network, open_round, participant, unique
from tests.variant_app import app_with
from workflows.domain import documents, rounds

pytestmark = pytest.mark.browser

# Runs in every document before its own scripts; the binding reports to the test.
LISTEN = """document.addEventListener('securitypolicyviolation', (e) => {
  window.reportViolation([location.pathname, e.effectiveDirective, e.blockedURI, (e.sample || '').slice(0, 80)]
    .join(' | '));
}, true);"""


class Watch:
    """Every CSP violation the browser reports, and every page (document) answered without the strict policy."""

    def __init__(self, page):
        self.page = page
        self.violations: list[str] = []
        self.unprotected: list[str] = []
        self.pages: list[str] = []
        page.context.expose_function("reportViolation", self._violation)
        page.context.add_init_script(LISTEN)
        page.on("console", self._console)
        page.on("response", self._response)

    def _violation(self, text: str) -> None:
        self.violations.append(text)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.violations.append(f"console: {message.text}")

    def _response(self, response) -> None:
        if response.request.resource_type != "document" or response.status in (301, 302, 303):
            return
        self.pages.append(response.url)
        policy = response.headers.get("content-security-policy", "")
        if response.frame == self.page.main_frame and not (
                "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy):
            self.unprotected.append(f"{response.url}: {policy!r}")

    def clean(self, where: str) -> None:
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(100)  # a violation from a late script is reported after load
        assert self.violations == [], f"{where}: {self.violations}"
        assert self.unprotected == [], f"{where}: {self.unprotected}"


def test_the_members_path_runs_under_the_policy(db, live_server, browser_page):
    page = browser_page
    watch = Watch(page)
    network, coordinator, people = make_network(db, members=2)
    member = next(m for m in people if m.role == "member")
    document = documents.create_document(db, network, kind="samenwerkingsovereenkomst",
                                         title=f"Overeenkomst {unique('d')}", actor=coordinator)
    version = documents.upload_version(db, document, filename="concept.md", data=TEXT.encode(),
                                       change_note="concept", actor=coordinator)
    round_ = open_round(db, document, coordinator)
    reader = participant(db, round_, member)
    token = rounds.mint_link(db, reader.id)
    db.commit()
    reader_id, blocks = reader.id, version.blocks
    db.rollback()  # end the read: on SQLite it would hold the lock the server needs

    page.goto(f"{live_server.url}/l/{token}")
    page.wait_for_url(f"{live_server.url}/review/{reader_id}/")
    watch.clean("review page")

    # Comment on selected words: review.js shows the bar and builds its link.
    block = block_of(blocks, "paragraph", "zeldzame aandoening")
    select_words(page, block["id"], "goede zorg voor mensen")
    page.locator("#selection-bar a").click()  # the comment page's form, fetched and opened below the passage
    panel = page.locator(".doc .comment-panel")
    panel.wait_for()
    assert panel.locator("blockquote.passage mark").inner_text() == "goede zorg voor mensen"
    watch.clean("comment form in place")
    form = panel.locator('form[action$="/comments"]')
    form.locator('textarea[name="body"]').fill("Liever 'passende zorg'.")
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(rf"/review/\d+/#{block['id']}$"))
    # review.js marked the words in the text.
    page.locator(".doc mark.comment-mark").first.wait_for()
    watch.clean("review page with a comment")

    verdict = page.locator('form[action$="/verdict"]')
    verdict.locator('input[type="radio"][name="value"][value="akkoord"]').check()
    verdict.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/review/\d+/#verdict$"))
    page.mouse.wheel(0, 200)  # seen.js reports the first scroll to this site (connect-src)
    watch.clean("review page after the verdict")

    page.goto(f"{live_server.url}/review/{reader_id}/comments")
    watch.clean("all comments")
    assert len(watch.pages) >= 4  # the comment form opened in place: no page of its own


def test_the_coordinators_path_runs_under_the_policy(db, live_server, browser_page, mail_store, run_worker):
    page = browser_page
    watch = Watch(page)
    network, coordinator, _people = make_network(db, members=2)
    document = documents.create_document(db, network, kind="samenwerkingsovereenkomst",
                                         title=f"Overeenkomst {unique('d')}", actor=coordinator)
    documents.upload_version(db, document, filename="concept.md", data=TEXT.encode(), change_note="eerste concept",
                             actor=coordinator)
    documents.upload_version(db, document, filename="concept2.md", data=TEXT.replace("regio", "provincie").encode(),
                             change_note="tweede concept", actor=coordinator)
    db.commit()
    email, network_id, document_id = coordinator.email, network.id, document.id
    db.rollback()

    # Sign in as a person does: the form, the mail, its link, the button.
    page.goto(f"{live_server.url}/signin")
    watch.clean("sign-in page")
    page.locator('input[name="email"]').fill(email)
    page.locator('form[action$="/signin"] button[type="submit"]').click()
    page.wait_for_load_state("load")
    watch.clean("check your mail")
    for _ in range(5):  # the address is looked up by a worker, which then queues the mail
        run_worker()
        found = [m for m in mail_store.list() if m.to == [email] and any("/signin/" in u for u in m.links())]
        if found:
            break
    else:
        pytest.fail("no sign-in mail arrived")
    link = next(u for u in found[0].links() if "/signin/" in u)
    page.goto(live_server.rewrite(link))
    watch.clean("sign-in confirmation")
    page.locator("main form button[type='submit']").click()
    page.wait_for_url(f"{live_server.url}/")
    watch.clean("dashboard")

    page.goto(f"{live_server.url}/n/{network_id}")
    watch.clean("network page")
    page.goto(f"{live_server.url}/d/{document_id}")
    watch.clean("document page")

    # Open a round from the document page.
    form = page.locator('form[action$="/rounds"]')
    assert form.is_visible(), "opening a round is the next step: its form is not folded away"
    deadline = (dt.datetime.now() + dt.timedelta(days=14)).strftime("%Y-%m-%dT%H:%M")
    form.locator('input[name="deadline"]').fill(deadline)
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/r/\d+$"))
    watch.clean("round page")
    fresh(db)
    round_id = db.scalar(select(Round.id).where(Round.document_id == document_id))
    db.rollback()
    page.goto(f"{live_server.url}/r/{round_id}/processing")
    watch.clean("processing page")

    # The redline (its styles are a file of their own now), an error page (its Back link is a script).
    page.goto(f"{live_server.url}/d/{document_id}/compare")
    assert page.locator(".redline ins, .redline del").count() > 0
    colour = page.locator(".redline ins, .redline del").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent"), "the redline's style sheet did not apply"
    watch.clean("compare page")
    page.goto(f"{live_server.url}/d/2147483647")
    assert page.locator("a[data-back]").is_visible()
    watch.clean("error page")
    page.goto(f"{live_server.url}/api/v1/docs")
    watch.clean("API reference")
    assert len(watch.pages) >= 10


def test_the_mailbox_shows_a_styled_mail_under_the_policy(app, tmp_path, browser_page):
    page = browser_page
    watch = Watch(page)
    with app_with(app, MAILBOX_DIR=str(tmp_path / "mailbox")) as mailbox_app:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "akkoord@localhost", "anna@example.org", "Uitnodiging"
        mail.set_content("Lees: https://akkoord.example/l/abc")
        mail.add_alternative('<body style="background:#f3f6f9"><p id="styled" style="color:#0b5cab;font-weight:700">'
                             'Lees <a href="https://akkoord.example/l/abc">de overeenkomst</a>.</p></body>',
                             subtype="html")
        message_id = MailStore(tmp_path / "mailbox").save(mail.as_bytes())
        server = make_server("127.0.0.1", 0, mailbox_app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_port}/mailbox/"
            page.goto(url)
            watch.clean("mailbox")
            page.locator(f'a[href="/mailbox/{message_id}"]').click()
            page.wait_for_url(f"{url}{message_id}")
            styled = page.frame_locator("iframe").locator("#styled")
            assert styled.evaluate("e => getComputedStyle(e).color") == "rgb(11, 92, 171)"
            watch.clean("a mail in the mailbox")
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)
