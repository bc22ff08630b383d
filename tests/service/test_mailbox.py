"""The mailbox pages, on a minimal app with only this blueprint and a stand-in base.html.

The fixtures are not named `app` and `client`: those names belong to the full
app of tests/conftest.py, whose autouse fixtures prepare a queue for it.
"""

import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, DictLoader

from service.embedded.servers import MailStore
from service.views import mailbox

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
BASE = "<!doctype html><title>{% block title %}{% endblock %}</title><main>{% block content %}{% endblock %}</main>"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def mailbox_app(tmp_path):
    app = Flask(__name__, template_folder=str(TEMPLATES))
    app.config.update(
        TESTING=True,
        SECRET_KEY="test",
        WTF_CSRF_ENABLED=False,
        MAILBOX_DIR=str(tmp_path / "mailbox"),
        BABEL_DEFAULT_LOCALE="en",
    )
    app.jinja_loader = ChoiceLoader([DictLoader({"base.html": BASE}), app.jinja_loader])
    Babel(app)
    CSRFProtect(app)
    app.register_blueprint(mailbox.bp)
    return app


@pytest.fixture
def store(mailbox_app):
    return MailStore(mailbox_app.config["MAILBOX_DIR"])


@pytest.fixture
def mailbox_client(mailbox_app):
    return mailbox_app.test_client()


def _invitation(to="anna@example.org", subject="Commentaarronde: <Ambitieverklaring>"):
    message = EmailMessage()
    message["From"] = "Akkoord <noreply@akkoord.example>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Lees en reageer: https://akkoord.example/l/abc?x=1&y=2.\n<script>alert(1)</script>\n")
    message.add_alternative(
        '<p>Lees <a href="https://akkoord.example/l/abc?x=1&amp;y=2">de ambitieverklaring</a>.</p>'
        '<script>alert("frame")</script>',
        subtype="html",
    )
    message.add_attachment(b"PK\x03\x04 docx", maintype="application", subtype=DOCX.split("/")[1],
                           filename="ambitieverklaring.docx")
    return message.as_bytes()


def test_list_shows_newest_first_with_links(mailbox_client, store):
    first = store.save(_invitation(to="anna@example.org", subject="Eerste"))
    second = store.save(_invitation(to="bram@example.org", subject="Tweede <b>"))

    response = mailbox_client.get("/mailbox/")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.index("Tweede &lt;b&gt;") < page.index("Eerste")
    assert "bram@example.org" in page and "anna@example.org" in page
    assert f'href="/mailbox/{second}"' in page and f'href="/mailbox/{first}"' in page
    assert 'name="csrf_token"' in page
    assert response.headers["Cache-Control"] == "no-store"


def test_empty_list(mailbox_client):
    response = mailbox_client.get("/mailbox/")

    assert response.status_code == 200
    assert "The mailbox is empty." in response.get_data(as_text=True)


def test_message_page_has_a_clickable_link_and_a_sandboxed_html_body(mailbox_client, store):
    message_id = store.save(_invitation())

    response = mailbox_client.get(f"/mailbox/{message_id}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Commentaarronde: &lt;Ambitieverklaring&gt;" in page
    # The plain text: the URL is a link, the rest is escaped.
    assert '<a href="https://akkoord.example/l/abc?x=1&amp;y=2">https://akkoord.example/l/abc?x=1&amp;y=2</a>.' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # The HTML body lives only inside a sandboxed frame that runs no scripts, loaded from this site (a srcdoc
    # frame would take the page's Content-Security-Policy, which refuses the mail's inline styles).
    iframe = re.search(r"<iframe[^>]*>", page, re.S).group(0)
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"' in iframe
    assert f'src="/mailbox/{message_id}/html"' in iframe and "srcdoc" not in iframe
    assert "<script>" not in page
    assert "frame-src 'self'" in response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    body = mailbox_client.get(f"/mailbox/{message_id}/html")
    assert body.status_code == 200 and body.mimetype == "text/html"
    assert body.get_data(as_text=True).startswith('<base target="_top">')
    assert '<a href="https://akkoord.example/l/abc?x=1&amp;y=2">' in body.get_data(as_text=True)
    # Its own policy: the mail's inline styles, nothing that runs, framed only by this site, sandboxed also alone.
    policy = {part.split()[0]: part.split()[1:] for part in body.headers["Content-Security-Policy"].split("; ")}
    assert policy["default-src"] == ["'none'"] and policy["style-src"] == ["'unsafe-inline'"]
    assert "script-src" not in policy and policy["frame-ancestors"] == ["'self'"]
    assert policy["sandbox"] == ["allow-popups", "allow-popups-to-escape-sandbox",
                                 "allow-top-navigation-by-user-activation"]
    assert body.headers["X-Frame-Options"] == "SAMEORIGIN" and body.headers["Cache-Control"] == "no-store"
    # Headers and the attachment.
    assert "anna@example.org" in page
    assert f'href="/mailbox/{message_id}/attachments/1"' in page
    assert "ambitieverklaring.docx" in page


def test_attachment_downloads(mailbox_client, store):
    message_id = store.save(_invitation())

    response = mailbox_client.get(f"/mailbox/{message_id}/attachments/1")

    assert response.status_code == 200
    assert response.data == b"PK\x03\x04 docx"
    assert response.mimetype == DOCX
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "ambitieverklaring.docx" in response.headers["Content-Disposition"]
    assert mailbox_client.get(f"/mailbox/{message_id}/attachments/2").status_code == 404
    assert mailbox_client.get(f"/mailbox/{message_id}/attachments/0").status_code == 404


def test_raw_message_downloads(mailbox_client, store):
    raw = _invitation()
    message_id = store.save(raw)

    response = mailbox_client.get(f"/mailbox/{message_id}/raw")

    assert response.status_code == 200
    assert response.data == raw


@pytest.mark.parametrize(
    "path",
    [
        "/mailbox/does-not-exist",
        "/mailbox/01795356842096760744-18afeed3fb4b4501b62ef9e3580fdef5",
        "/mailbox/..%2F..%2Fsecret",
        "/mailbox/01795356842096760744-18afeed3fb4b4501b62ef9e3580fdef5/attachments/1",
        "/mailbox/..%2Fsecret/raw",
    ],
)
def test_unknown_or_bad_ids_are_404(mailbox_client, store, path):
    store.save(_invitation())

    assert mailbox_client.get(path).status_code == 404


def test_clear_empties_the_mailbox(mailbox_client, store):
    store.save(_invitation())

    response = mailbox_client.post("/mailbox/clear")

    assert response.status_code == 302
    assert response.headers["Location"] == "/mailbox/"
    assert store.list() == []


def test_clear_needs_the_csrf_token_from_the_page(mailbox_app, mailbox_client, store):
    mailbox_app.config["WTF_CSRF_ENABLED"] = True
    store.save(_invitation())

    assert mailbox_client.post("/mailbox/clear").status_code == 400
    assert len(store.list()) == 1

    page = mailbox_client.get("/mailbox/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert mailbox_client.post("/mailbox/clear", data={"csrf_token": token}).status_code == 302
    assert store.list() == []
