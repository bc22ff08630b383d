"""Redirect targets and ids in URLs (issue 10): a `next` is parsed, and only a path on this site is followed (never
`/\\t/evil.example`, which a browser reads as //evil.example); an id no table can hold is a 404 on every route,
pages and API alike, never a 500 (an overflow on PostgreSQL)."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from service.web.auth import safe_next
from service.web.routing import MAX_ID
from tests.conftest import csrf_token
from tests.factories import make_document, make_network, open_round, participant
from workflows.domain import api_tokens, rounds, signin

DEFAULT = "/fallback"
HOSTILE = [
    "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "//evil.example", "///evil.example/x",
    "////evil.example", "/\\evil.example", "\\/evil.example", "/\\/evil.example", "https://evil.example/",
    "HTTPS://evil.example", "https:evil.example", "http:/evil.example", "javascript:alert(1)", "data:text/html,x",
    " //evil.example", "\x00//evil.example", "/\x00/evil.example", "/\x7f/evil.example", "\t/\t/evil.example",
    "evil.example", "./evil", "../evil", "?next=//evil.example", "#x", "", None,
]
SAFE = ["/", "/n/1", "/d/1?", "/r/1/processing?page=2#comment-3", "/n/1/mail?next=//evil.example",
        "/%2F%2Fevil.example", "/l/%E2%9C%93", "/d/1/é"]


@pytest.mark.parametrize("target", HOSTILE, ids=repr)
def test_a_target_off_this_site_gives_the_default(target):
    assert safe_next(target, DEFAULT) == DEFAULT


@pytest.mark.parametrize("target", SAFE, ids=repr)
def test_a_path_on_this_site_is_kept(target):
    kept = safe_next(target, DEFAULT)
    assert kept.rstrip("?") == target.rstrip("?")
    assert urlsplit(urljoin("https://akkoord.example/a/b", kept)).netloc == "akkoord.example"


@pytest.mark.parametrize("target", [t for t in HOSTILE if t] + ["//evil.example/%2e%2e"], ids=repr)
def test_the_language_switch_never_sends_a_browser_elsewhere(client, target):
    page = client.get("/signin")
    answer = client.post("/lang/en", data={"csrf_token": csrf_token(page.get_data(as_text=True)), "next": target})
    assert answer.status_code == 303
    location = answer.headers["Location"]
    # As a browser resolves it: tabs and line breaks dropped, a backslash read as a slash.
    as_read = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    assert urlsplit(urljoin("http://localhost/signin", as_read)).netloc == "localhost", location


def test_the_language_switch_returns_to_the_page_it_was_on(client):
    page = client.get("/signin")
    answer = client.post("/lang/en", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                           "next": "/signin?x=1"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/signin?x=1"


# --- Ids out of range ----------------------------------------------------------------------------------------------

OUT_OF_RANGE = [MAX_ID + 1, 2**63, 10**30]


def test_every_id_in_every_route_is_kept_in_range(app, db):
    """Every route with an id, every method, signed in as a coordinator (so the page's own checks do not stop it
    first) and with a valid CSRF token: an id past the largest one is a 404, a page or a problem."""
    network, coordinator, _people = make_network(db, members=1)
    _token, secret = api_tokens.create_token(db, network, coordinator, role="coordinator", name="ids")
    token = signin.issue_link_token(db, coordinator)
    db.commit()
    staff = app.test_client()
    confirm = staff.get(f"/signin/{token}")
    assert staff.post(f"/signin/{token}", data={"csrf_token": csrf_token(confirm.get_data(as_text=True))}
                      ).status_code == 303
    form_token = csrf_token(staff.get("/").get_data(as_text=True))
    bearer = {"Authorization": f"Bearer {secret}"}
    tried, wrong = 0, []
    for rule in app.url_map.iter_rules():
        ints = [name for name, converter in rule._converters.items() if type(converter).__name__ == "IntegerConverter"]
        if not ints:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for number in OUT_OF_RANGE if rule.endpoint in ("staff.document", "api.get_document") else OUT_OF_RANGE[:1]:
                path = rule.build({name: (number if name in ints else "x") for name in rule.arguments},
                                  append_unknown=False)[1]
                if path.startswith("/api/"):
                    answer = staff.open(path, method=method, headers=bearer, json={} if method != "GET" else None)
                    ok = answer.status_code == 404 and answer.mimetype == "application/problem+json"
                else:
                    answer = staff.open(path, method=method, data={"csrf_token": form_token} if method != "GET" else None)
                    ok = answer.status_code == 404 and answer.mimetype == "text/html"
                tried += 1
                if not ok:
                    wrong.append(f"{method} {path}: {answer.status_code} {answer.mimetype}")
    assert tried > 60
    assert wrong == []


@pytest.mark.parametrize("path", ["/d/0", "/n/00", f"/d/{'9' * 5000}", f"/api/v1/documents/{MAX_ID + 1}"])
def test_other_numbers_name_nothing_either(client, path):
    assert client.get(path).status_code == 404


def test_ids_and_pages_in_query_strings_and_forms_are_kept_in_range(app, db):
    """An id or page number past what a table or an offset holds, in a query string or a form's hidden field: a
    404 or a refused form, never an overflow."""
    network, coordinator, people = make_network(db, members=1)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[0])
    link = rounds.mint_link(db, member.id)
    token = signin.issue_link_token(db, coordinator)
    db.commit()
    staff = app.test_client()
    confirm = staff.get(f"/signin/{token}")
    assert staff.post(f"/signin/{token}", data={"csrf_token": csrf_token(confirm.get_data(as_text=True))}
                      ).status_code == 303
    huge = str(10**20)
    assert staff.get(f"/n/{network.id}/mail?person={huge}").status_code == 404
    assert staff.get(f"/n/{network.id}/mail?person={MAX_ID}").status_code == 200
    for path in (f"/n/{network.id}/mail?page={huge}", f"/r/{round_.id}/processing?page={huge}",
                 f"/n/{network.id}/webhooks?page={huge}", f"/n/{network.id}/mail?page=-3"):
        assert staff.get(path).status_code == 200, path
    form_token = csrf_token(staff.get(f"/d/{document.id}").get_data(as_text=True))
    assert staff.post(f"/d/{document.id}/finalise", data={"csrf_token": form_token, "version_id": huge}
                      ).status_code == 400
    assert staff.post(f"/d/{document.id}/rounds", data={
        "csrf_token": form_token, "version_id": huge, "deadline": "2031-01-01T10:00", "message": ""}).status_code == 400

    reader = app.test_client()
    assert reader.get(f"/l/{link}").status_code == 303
    for reply in (huge, "999999999999999999", str(MAX_ID + 1)):
        assert reader.get(f"/review/{member.id}/comment?reply={reply}").status_code == 404, reply
    review_token = csrf_token(reader.get(f"/review/{member.id}/").get_data(as_text=True))
    answer = reader.post(f"/review/{member.id}/comments", data={"csrf_token": review_token, "body": "Eens.",
                                                                "parent_id": "999999999999999999"})
    assert answer.status_code in (400, 404)
