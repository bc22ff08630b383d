"""Many processes (issue 13): two gunicorn and two `flask worker` processes on the suite's database run a round of 300
members over HTTP and real SMTP, from the coordinator's sign-in by mail to the final document in every mailbox:
no server error, no deadlock, every mail exactly once, the audit chain whole.

The processes, Redis and the SMTP server are the fault suite's (tests/faults/harness.py: its compressed clock, the
same code paths); the people's browsers and the deadlock count are the race suite's (tests/races).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from email.parser import BytesHeaderParser
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, make_url, select

from storage.database.models import Document, MailMessage, OutboxItem, Round, Verdict
from tests.conftest import csrf_token
from tests.factories import make_document, make_network
from tests.faults.harness import Stack
from tests.races.checks import message_id
from tests.races.conftest import APPLICATION_NAME, DeadlockCount
from tests.races.harness import Answer, Browser
from workflows import audit
from workflows.domain.wording import TIMEZONE

pytestmark = pytest.mark.slow

MEMBERS = 300
CLIENTS = 16  # member browsers at once
KINDS = ("invitation", "verdict_confirmation", "final_document")
MAIL_TIMEOUT = 90.0  # for one stage's mail; on this 2-core machine 301 mails take a few seconds


# --- Reading pages and mailboxes ---------------------------------------------------------------------------------


class _Forms(HTMLParser):
    """The named fields of every form on a page with their values (hidden and text inputs), by the form's action."""

    def __init__(self):
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self._current: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self._current = self.forms.setdefault(urlsplit(attributes.get("action") or "").path, {})
        elif tag == "input" and self._current is not None and attributes.get("name"):
            if attributes.get("type") not in ("radio", "checkbox") or "checked" in attributes:
                self._current[attributes["name"]] = attributes.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def form_on(page: Answer, action: str) -> dict[str, str]:
    """The fields of the form that posts to `action`, as the page filled them in (CSRF token included)."""
    parser = _Forms()
    parser.feed(page.text)
    assert action in parser.forms, f"no form posting to {action} on the page: {page}"
    return parser.forms[action]


def location(answer: Answer) -> str:
    return urlsplit(answer.header("Location") or "").path


def kinds_by_message_id(sessions) -> dict[str, str]:
    """What each mail the service made is (its outbox row's `email`), by the Message-ID it goes out with."""
    _, reading = sessions
    with reading() as session:
        return {message_id(key): kind for key, kind in session.execute(
            select(MailMessage.idempotency_key, MailMessage.email))}


def by_kind(stack: Stack, sessions) -> dict[str | None, list]:
    """The messages the SMTP server accepted, by kind; a Message-ID the service never made is kind None."""
    kinds = kinds_by_message_id(sessions)
    parser = BytesHeaderParser()
    found: dict[str | None, list] = {}
    for message in stack.store.list():
        found.setdefault(kinds.get(str(parser.parsebytes(message.raw)["Message-ID"]).strip()), []).append(message)
    return found


def outbox_settled(sessions) -> bool:
    """Nothing left to send: no row pending with a time, none being sent."""
    _, reading = sessions
    with reading() as session:
        return not session.scalar(select(func.count(OutboxItem.id)).where(
            (OutboxItem.status == "sending")
            | ((OutboxItem.status == "pending") & OutboxItem.next_attempt_at.is_not(None))))


def wait_for_mail(stack: Stack, count: int, what: str) -> None:
    stack.wait(lambda: stack.store.count() >= count, MAIL_TIMEOUT, what, interval=0.25, check_children=True)


# --- The round --------------------------------------------------------------------------------------------------


def sign_in_by_mail(stack: Stack, email: str) -> Browser:
    """The coordinator asks for a sign-in link, opens it from the mail and presses the button."""
    browser = Browser(stack.web_port)
    page = browser.get("/signin")
    assert page.status == 200, page
    asked = browser.post("/signin", {"csrf_token": csrf_token(page.text), "email": email})
    assert asked.status == 200, asked
    wait_for_mail(stack, 1, "the sign-in mail")
    mail, = stack.store.list()
    path = next(urlsplit(url).path for url in mail.links() if "/signin/" in url)
    confirm = browser.get(path)
    assert confirm.status == 200, confirm
    done = browser.post(path, {"csrf_token": csrf_token(confirm.text)})
    assert done.status == 303, done
    return browser


def respond(port: int, link: str) -> list[Answer]:
    """One member: the personal link from the mail, the review page, akkoord through the page's verdict form."""
    browser = Browser(port)
    opened = browser.get(link)
    if opened.status != 303:
        return [opened]
    review_path = location(opened)
    review = browser.get(review_path)
    if review.status != 200:
        return [opened, review]
    verdict = browser.post(f"{review_path}verdict", {**form_on(review, f"{review_path}verdict"),
                                                     "value": "akkoord", "reason": ""})
    return [opened, review, verdict]


def milliseconds(answers: list[Answer]) -> str:
    times = sorted(a.seconds * 1000 for a in answers)
    if not times:
        return "-"
    return f"p50 {statistics.median(times):.0f} ms, p95 {times[int(0.95 * (len(times) - 1))]:.0f} ms"


def test_a_round_of_300_members_on_two_web_and_two_worker_processes(stack, sessions, figures):
    started = time.monotonic()
    postgres = not stack.database_url.startswith("sqlite")
    deadlocks = DeadlockCount(stack.database_url)
    if postgres:  # the processes' connections under the name the deadlock count ends them by before reading
        stack.database_url = make_url(stack.database_url).update_query_dict(
            {"application_name": APPLICATION_NAME}).render_as_string(hide_password=False)
    try:
        stack.launch(workers=2, web=True)  # gunicorn -w 2 and two `flask --app service worker`
        writing, reading = sessions
        with writing() as session:
            network, coordinator, people = make_network(session, members=MEMBERS, editors=0)
            document, _version = make_document(session, network, coordinator)
            session.commit()
            network_id, document_id, coordinator_email = network.id, document.id, coordinator.email
            everyone = {coordinator.email.lower(), *(m.person.email.lower() for m in people)}
        assert len(everyone) == MEMBERS + 1
        stack.ready()
        built = time.monotonic()

        staff = sign_in_by_mail(stack, coordinator_email)

        # The coordinator opens the round through the document page's form.
        page = staff.get(f"/d/{document_id}")
        assert page.status == 200, page
        deadline = (dt.datetime.now(TIMEZONE) + dt.timedelta(days=14)).strftime("%Y-%m-%dT%H:%M")
        opened = staff.post(f"/d/{document_id}/rounds", {**form_on(page, f"/d/{document_id}/rounds"),
                                                         "deadline": deadline, "message": "Graag uw reactie."})
        assert opened.status == 303 and location(opened).startswith("/r/"), opened

        # Every invitation arrives; each person follows the link in their own mail.
        wait_for_mail(stack, 1 + len(everyone), "every invitation")
        invitations = {m.to[0].lower(): m for m in stack.store.list() if any("/l/" in url for url in m.links())}
        assert set(invitations) == everyone, stack.explain(f"invitations missing for {everyone - set(invitations)}")
        links = [next(urlsplit(url).path for url in m.links() if "/l/" in url) for m in invitations.values()]
        responding = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = [a for steps in pool.map(lambda link: respond(stack.web_port, link), links) for a in steps]
        responded = time.monotonic() - responding
        errors = [a for a in answers if a.status >= 500]
        assert not errors, stack.explain(f"{len(errors)} server errors, the first: {errors[0]}")
        unexpected = [a for a in answers if a.status not in (200, 303)]
        assert not unexpected, stack.explain(f"{len(unexpected)} unexpected answers, the first: {unexpected[0]}")
        verdicts = [a for a in answers if a.request.method == "POST"]
        reviews = [a for a in answers if a.request.method == "GET" and a.status == 200]
        assert len(verdicts) == len(everyone) and all(a.status == 303 for a in verdicts)
        wait_for_mail(stack, 1 + 2 * len(everyone), "every verdict's confirmation")

        # The coordinator makes the document final: the button on the document page, then the confirmation step.
        page = staff.get(f"/d/{document_id}")
        assert page.status == 200, page
        action = f"/d/{document_id}/finalise"
        confirm = staff.post(action, form_on(page, action))
        assert confirm.status == 200, confirm
        fields = form_on(confirm, action)
        assert fields.get("confirmed") == "yes", f"no confirmation step: {confirm}"
        final = staff.post(action, fields)
        assert final.status == 303, final
        wait_for_mail(stack, 1 + 3 * len(everyone), "every final mail")
        stack.wait(lambda: outbox_settled(sessions), MAIL_TIMEOUT, "the outbox to settle", interval=0.25)
        took = time.monotonic() - started

        # Every mail exactly once: counted at the SMTP server, by kind and recipient.
        found = by_kind(stack, sessions)
        for kind in KINDS:
            counts = Counter(address.lower() for m in found.get(kind, []) for address in m.to)
            wrong = {address: counts[address] for address in everyone | set(counts) if counts[address] != 1}
            assert not wrong, stack.explain(f"{kind}: not exactly one for {len(wrong)} people, e.g. "
                                            f"{sorted(wrong.items())[:5]}")
            assert len({m.subject for m in found[kind]}) == 1, f"{kind}: more than one subject"
        others = {kind: [m.to for m in found[kind]] for kind in set(found) - set(KINDS)}
        assert others == {"sign_in": [[coordinator_email]]}, f"other mail arrived: {others}"
        assert all(sorted(name.rsplit(".", 1)[1] for name, _, _ in m.attachments()) == ["docx", "pdf"]
                   for m in found["final_document"]), "a final mail without the .docx and the PDF"

        with reading() as session:
            assert audit.verify_chain(session, network_id) == [], "the audit chain is broken"
            assert session.get(Document, document_id).status == "final"
            values = Counter(session.scalars(select(Verdict.value).join(Round, Round.id == Verdict.round_id)
                                             .where(Round.document_id == document_id)))
        assert values == {"akkoord": len(everyone)}, values
        found_deadlocks = deadlocks.since_start()
        assert found_deadlocks == 0, stack.explain(f"PostgreSQL chose {found_deadlocks} deadlock victims")
    finally:
        deadlocks.close()

    database = "PostgreSQL" if postgres else "SQLite"
    line = (f"many processes ({database}): {len(everyone)} people, 2 web + 2 worker processes, {CLIENTS} clients; "
            f"sign-in to the last final mail {took - (built - started):.1f} s (test {took:.1f} s, setup "
            f"{built - started:.1f} s); responding {responded:.1f} s; review page {milliseconds(reviews)}; "
            f"verdict POST {milliseconds(verdicts)}; {len(answers)} requests, 0 errors, 0 deadlocks")
    print(f"\n{line}")
    figures.append(line)
