"""The headers a security review expects (issue 10): a Content-Security-Policy without 'unsafe-inline' for scripts and
styles on every answer, no framing, HSTS only when BASE_URL is https, no-store on every page, export and API answer
(static files and /hello may be kept); and no inline script, style or handler left in a page or a template."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import csrf_token
from tests.factories import DRAFT_TEXT, make_document, make_network, open_round, participant
from tests.variant_app import app_with
from workflows.domain import api_tokens, documents, rounds, signin

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
API = "/api/v1"


def signed_in(app, db, person):
    token = signin.issue_link_token(db, person)
    db.commit()
    client = app.test_client()
    page = client.get(f"/signin/{token}")
    assert client.post(f"/signin/{token}", data={"csrf_token": csrf_token(page.get_data(as_text=True))}).status_code == 303
    return client


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request.path}"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name.lower()] = values
    return directives


def assert_strict(response, where: str) -> None:
    directives = policy(response)
    for name in ("script-src", "style-src"):
        sources = directives.get(name, directives.get("default-src"))
        assert sources is not None, f"{where}: no {name}"
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, f"{where}: {name} {sources}"
        assert "*" not in sources and not any(s.endswith(":") for s in sources), f"{where}: {name} {sources}"
    assert directives.get("frame-ancestors") == ["'none'"], where
    assert directives.get("default-src") == ["'none'"], where
    assert directives.get("object-src", directives["default-src"]) == ["'none'"], where
    assert directives.get("base-uri") == ["'none'"], where
    assert response.headers.get("X-Frame-Options") == "DENY", where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where


class InlineCode(HTMLParser):
    """What a strict policy would refuse in a page: <script> without src (a JSON data block is not run), <style>,
    style="" and on…="" attributes, javascript: links."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and "src" not in attributes and attributes.get("type") != "application/json":
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name == "style":
                self.found.append(f'<{tag} style="{value}">')
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value}>")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


@pytest.fixture
def answers(app, db):
    """One answer of every kind: staff pages and exports, a member's pages, the sign-in and error pages, the API's
    JSON, files and problems, its reference page; and what may be kept (a static file, /hello)."""
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    documents.upload_version(db, document, filename="concept2.md", data=DRAFT_TEXT.replace("goede", "passende").encode(),
                             change_note="tweede concept", actor=coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, next(m for m in people if m.role == "member"))
    link = rounds.mint_link(db, member.id)
    _token, secret = api_tokens.create_token(db, network, coordinator, role="coordinator", name="headers")
    db.commit()
    staff = signed_in(app, db, coordinator)
    reader = app.test_client()
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {secret}"}
    anonymous = app.test_client()
    personal = {
        "dashboard": staff.get("/"),
        "network page": staff.get(f"/n/{network.id}"),
        "document page": staff.get(f"/d/{document.id}"),
        "version page": staff.get(f"/v/{version.id}"),
        "compare page": staff.get(f"/d/{document.id}/compare"),
        "round page": staff.get(f"/r/{round_.id}"),
        "processing page": staff.get(f"/r/{round_.id}/processing"),
        "mail page": staff.get(f"/n/{network.id}/mail"),
        "version export (.docx)": staff.get(f"/v/{version.id}/download.docx"),
        "commentaartabel export (.xlsx)": staff.get(f"/r/{round_.id}/commentaartabel?format=xlsx"),
        "personal link": reader.get(f"/l/{link}"),
        "review page": reader.get(f"/review/{member.id}/"),
        "sign-in page": anonymous.get("/signin"),
        "error page": staff.get("/d/2147483647"),
        "API list": api.get(f"{API}/networks", headers=bearer),
        "API version (ETag)": api.get(f"{API}/versions/{version.id}", headers=bearer),
        "API export (.docx)": api.get(f"{API}/versions/{version.id}/docx", headers=bearer),
        "API problem": api.get(f"{API}/networks"),
        "API reference page": anonymous.get(f"{API}/docs"),
    }
    kept = {"static file": anonymous.get("/static/app.css"), "/hello": anonymous.get("/hello")}
    return personal, kept


def test_every_answer_carries_a_strict_policy_and_no_page_is_kept(answers):
    personal, kept = answers
    for where, response in {**personal, **kept}.items():
        assert response.status_code < 500, where
        assert_strict(response, where)
        assert "Strict-Transport-Security" not in response.headers, f"{where}: HSTS on http"
    for where, response in personal.items():
        assert response.headers.get("Cache-Control") == "no-store", f"{where}: {response.headers.get('Cache-Control')}"
    for where, response in kept.items():
        assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", ""), where


def test_no_page_holds_inline_script_or_style(answers):
    personal, _kept = answers
    pages = {where: r for where, r in personal.items() if r.mimetype == "text/html" and r.status_code != 303}
    assert len(pages) >= 12 and pages["error page"].status_code == 404
    for where, response in pages.items():
        assert inline_code(response.get_data(as_text=True)) == [], where


def page_templates() -> list[Path]:
    """Every template that makes a page or part of one. Not the mails (mail clients read no style sheets, so they
    are styled inline) and not the API's redline fragment (shown on the client's own site, it carries its style)."""
    return sorted(path for path in TEMPLATES.rglob("*.html")
                  if path.relative_to(TEMPLATES).parts[0] != "emails" and path != TEMPLATES / "api" / "redline.html")


@pytest.mark.parametrize("template", page_templates(), ids=lambda path: path.relative_to(TEMPLATES).as_posix())
def test_no_template_of_a_page_holds_inline_script_or_style(template):
    source = re.sub(r"{#.*?#}", "", template.read_text(), flags=re.S)  # comments are not sent
    assert inline_code(source) == []


def test_hsts_only_when_the_base_url_is_https(app, db):
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/signin").headers
    with app_with(app, BASE_URL="https://akkoord.example") as secure:
        for path in ("/signin", "/hello", "/static/app.css", f"{API}/networks"):
            hsts = secure.test_client().get(path, base_url="https://akkoord.example").headers.get(
                "Strict-Transport-Security")
            assert hsts is not None and re.fullmatch(r"max-age=(\d+)", hsts), (path, hsts)
            assert int(hsts.split("=")[1]) >= 180 * 24 * 3600, path


def test_api_versions_keep_their_etag_but_are_not_stored(app, db):
    network, coordinator, _people = make_network(db, members=1)
    _document, version = make_document(db, network, coordinator)
    _token, secret = api_tokens.create_token(db, network, coordinator, role="coordinator", name="etag")
    db.commit()
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {secret}"}
    first = client.get(f"{API}/versions/{version.id}/text", headers=bearer)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    again = client.get(f"{API}/versions/{version.id}/text", headers={**bearer, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Cache-Control"] == "no-store"
