"""Errors at the field on every form: bad input comes back with status 400, an error summary at the top of the page
linking to the field, the message tied to the input (aria-describedby, aria-invalid), what was typed kept, "Fout:"
before the title, and nothing changed in the database."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from storage.database.models import (
    ApiToken,
    AuditEvent,
    Comment,
    Document,
    Membership,
    Network,
    Organisation,
    OutboxItem,
    Round,
    Substitution,
    Verdict,
    Version,
    Webhook,
    utcnow,
)
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.service.test_staff_pages import signed_in
from workflows.domain import rounds
from workflows.domain.wording import TIMEZONE


@dataclass
class World:
    network: Network
    coordinator: object
    people: list
    document: Document
    round_: Round
    comment: Comment
    idle: Document  # a document with a version and no round
    member_token: str


@dataclass
class Case:
    """A form submitted wrong: as whom, from which page, to which action, and what must come back."""

    who: str  # "coordinator", "member" or "anonymous"
    page: str  # formatted with the World
    action: str
    data: dict
    field: str  # the id of the field the error is at
    kept: str | None = None  # markup that shows what was typed
    group: bool = False  # a fieldset of choices: the summary links to its first choice
    files: dict = field(default_factory=dict)
    checked: str | None = None  # the id of a choice that must still be chosen


def _local(days: int) -> str:
    return (utcnow() + dt.timedelta(days=days)).astimezone(TIMEZONE).strftime("%Y-%m-%dT%H:%M")


CASES = {
    "create network": Case("coordinator", "/", "/networks", {"name": "", "your_name": "Kees de Wit"}, "name",
                           'value="Kees de Wit"'),
    "add member": Case("coordinator", "/n/{w.network.id}", "/n/{w.network.id}/members",
                       {"name": "Jan Jansen", "email": "jan@", "organisation": "", "role": "member"}, "email",
                       'value="jan@"'),
    "import members": Case("coordinator", "/n/{w.network.id}", "/n/{w.network.id}/members/import", {}, "file",
                           files={"file": (b"naam,email\nJan Jansen,geen-adres\n", "leden.csv")}),
    "network decision rule": Case("coordinator", "/n/{w.network.id}", "/n/{w.network.id}/decision-rule",
                                  {"rule": "loting"}, "rule", group=True),
    "create document": Case("coordinator", "/n/{w.network.id}", "/n/{w.network.id}/documents",
                            {"kind": "notitie", "title": " "}, "title"),
    "upload a file that is not Word": Case(
        "coordinator", "/d/{w.document.id}", "/d/{w.document.id}/versions",
        {"change_note": "Artikel 4 herschreven", "close_open_round": "y", "supersedes": "{w.round_.id}"}, "file",
        "Artikel 4 herschreven</textarea>", files={"file": (b"PK\x03\x04 geen echt Word-bestand", "brief.docx")}),
    "open round in the past": Case("coordinator", "/d/{w.idle.id}", "/d/{w.idle.id}/rounds",
                                   {"deadline": "2020-01-06T10:00", "message": "Graag uw reactie",
                                    "comment_visibility": "all", "version_id": "{w.idle_version}"},
                                   "deadline", "Graag uw reactie</textarea>"),
    "extend deadline": Case("coordinator", "/r/{w.round_.id}", "/r/{w.round_.id}/deadline",
                            {"deadline": "2020-01-06T10:00"}, "deadline", 'value="2020-01-06T10:00"'),
    "reminder schedule": Case("coordinator", "/r/{w.round_.id}", "/r/{w.round_.id}/schedule", {"days": "7, 99"},
                              "days", 'value="7, 99"'),
    "niet overgenomen without answer": Case(
        "coordinator", "/r/{w.round_.id}/processing", "/comments/{w.comment.id}/process",
        {"disposition": "niet_overgenomen", "answer": " "}, "answer-{w.comment.id}",
        '<option value="niet_overgenomen" selected>'),
    "staff reply": Case("coordinator", "/r/{w.round_.id}/processing", "/comments/{w.comment.id}/reply",
                        {"body": ""}, "reply-{w.comment.id}"),
    "add organisation": Case("coordinator", "/n/{w.network.id}/organisations", "/n/{w.network.id}/organisations",
                             {"name": "Apotheek Oost", "kind": "apotheek", "joined_on": "2999-01-01"}, "joined_on",
                             'value="Apotheek Oost"'),
    "network substitute": Case("coordinator", "/n/{w.network.id}/substitutes", "/n/{w.network.id}/substitutes",
                               {"absent": "{w.people[1].id}", "substitute": "{w.people[0].id}",
                                "starts_at": _local(10), "ends_at": _local(9)}, "ends_at",
                               f'value="{_local(10)}"'),
    "webhook over http": Case("coordinator", "/n/{w.network.id}/webhooks", "/n/{w.network.id}/webhooks",
                              {"url": "http://hooks.example.org/akkoord", "events": ["round.opened"]}, "url",
                              'value="http://hooks.example.org/akkoord"'),
    "api token": Case("coordinator", "/n/{w.network.id}/api-tokens", "/n/{w.network.id}/api-tokens",
                      {"name": "", "role": "coordinator"}, "name", '<option selected value="coordinator">'),
    "erase unconfirmed": Case("coordinator", "/n/{w.network.id}/members/{w.people[2].id}/privacy",
                              "/n/{w.network.id}/members/{w.people[2].id}/erase", {}, "confirm-erase"),
    "niet akkoord without reason": Case("member", "/review/{w.participant}/", "/review/{w.participant}/verdict",
                                        {"value": "niet_akkoord", "reason": " "}, "reason",
                                        checked="value-2"),
    "empty comment": Case("member", "/review/{w.participant}/", "/review/{w.participant}/comments",
                          {"body": "   ", "block_id": ""}, "body"),
    "empty member reply": Case("member", "/review/{w.participant}/comment?reply={w.comment.id}",
                               "/review/{w.participant}/comments", {"body": "", "parent_id": "{w.comment.id}"},
                               "body"),
    "member substitute": Case("member", "/review/{w.participant}/substitutes", "/review/{w.participant}/substitutes",
                              {"substitute": "{w.people[0].id}", "starts_at": _local(10), "ends_at": _local(9)},
                              "ends_at", f'value="{_local(10)}"'),
    "returned file not Word": Case("member", "/review/{w.participant}/returned", "/review/{w.participant}/returned",
                                   {}, "file", files={"file": (b"De partijen werken samen.", "terug.txt")}),
    "request link": Case("anonymous", "/link", "/link", {"email": "geen-adres"}, "email", 'value="geen-adres"'),
    "sign in": Case("anonymous", "/signin", "/signin", {"email": "kees@"}, "email", 'value="kees@"'),
}


@pytest.fixture
def world(db):
    network, coordinator, people = make_network(db, members=2)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    comment = rounds.add_comment(db, member, body="Artikel 4 is onduidelijk.", block_id=None)
    idle, idle_version = make_document(db, network, coordinator)
    token = rounds.mint_link(db, member.id)
    db.commit()
    w = World(network, coordinator, people, document, round_, comment, idle, token)
    w.participant, w.idle_version = member.id, idle_version.id
    return w


def tally(db) -> tuple:
    """Rows that any of these forms would add or change, and the audit trail."""
    fresh(db)
    counts = tuple(db.scalar(select(func.count()).select_from(model)) for model in (
        AuditEvent, Network, Membership, Organisation, Document, Version, Round, Comment, Verdict, Substitution,
        Webhook, ApiToken, OutboxItem))
    processed = db.scalar(select(func.count()).select_from(Comment).where(Comment.processed_at.is_not(None)))
    return (*counts, processed)


def _client(app, db, w: World, who: str):
    if who == "coordinator":
        return signed_in(app, db, w.coordinator)
    client = app.test_client()
    if who == "member":
        assert client.get(f"/l/{w.member_token}").status_code == 303
    return client


def _dutch(app, msgid: str) -> str:
    with app.test_request_context(), force_locale("nl"):
        return gettext(msgid)


def tag(page: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    found = re.search(rf'<[a-z]+\b[^>]*\bid="{re.escape(element_id)}"[^>]*>', page)
    assert found, f"no element with id {element_id!r}"
    return found.group(0)


@pytest.mark.parametrize("name", CASES)
def test_bad_input_comes_back_at_the_field_and_changes_nothing(app, db, world, name):
    case = CASES[name]
    w = world
    fill = lambda text: text.format(w=w) if isinstance(text, str) else [t.format(w=w) for t in text]  # noqa: E731
    client = _client(app, db, w, case.who)
    before = tally(db)
    form_page = client.get(fill(case.page))
    assert form_page.status_code == 200
    data = {key: fill(value) for key, value in case.data.items()}
    data.update({key: (io.BytesIO(content), filename) for key, (content, filename) in case.files.items()})
    response = client.post(fill(case.action), data={"csrf_token": csrf_token(form_page.get_data(as_text=True)),
                                                    **data})
    page = response.get_data(as_text=True)

    assert response.status_code == 400, page[:2000]
    field_id = fill(case.field)
    title = re.search(r"<title>([^<]*)</title>", page).group(1)
    assert title.startswith(_dutch(app, "Error:") + " "), title
    # The summary at the top of the page, focusable, with a link to the field.
    summary = page[page.index("data-error-summary"):]
    summary = summary[:summary.index("</div>")]
    target = f"{field_id}-0" if case.group else field_id
    assert f'href="#{target}"' in summary
    assert 'tabindex="-1"' in tag(page, "error-summary")
    # The message at the field, named by the input (or its fieldset) and the input marked invalid.
    assert f'id="{field_id}-error"' in page and 'class="field-error"' in tag(page, f"{field_id}-error")
    if case.group:
        start = page.rindex("<fieldset", 0, page.index(f'id="{target}"'))
        described = re.search(r'aria-describedby="([^"]*)"', page[start:page.index(">", start)])
        assert described and f"{field_id}-error" in described.group(1).split()
        assert 'aria-invalid="true"' in tag(page, target)
    else:
        control = tag(page, field_id)
        described = re.search(r'aria-describedby="([^"]*)"', control)
        assert described and f"{field_id}-error" in described.group(1).split(), control
        assert 'aria-invalid="true"' in control
    if case.kept:
        assert case.kept in page
    if case.checked:
        assert " checked" in tag(page, case.checked)
    assert tally(db) == before
