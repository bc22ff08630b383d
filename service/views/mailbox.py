"""The embedded mailbox as web pages, so a person trying the service reads its mails and clicks their links.

Registered only when MAILBOX_DIR is set (the embedded stack). It shows every
mail, sign-in links included, to whoever reaches it: never set MAILBOX_DIR on
a server that others can reach.
"""

from __future__ import annotations

import io
import re

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    send_file,
    url_for,
)
from markupsafe import Markup, escape

from service.embedded.servers import MailStore, StoredMessage, find_urls
from service.web.headers import content_security_policy

bp = Blueprint("mailbox", __name__, url_prefix="/mailbox")

# The list page parses only the newest messages; a benchmark can leave thousands.
LIST_LIMIT = 200

# Links in the HTML mail open in the whole window, i.e. in the app, not in the frame.
_BASE_TARGET = '<base target="_top">'
# What the frame may do, as its sandbox attribute says, and again in the mail's own answer (also when opened alone).
SANDBOX = "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
# A mail's HTML is styled inline (mail clients read no style sheets): its own policy allows that and nothing else
# (no scripts, no requests), and only this site's mailbox page may frame it.
MAIL_HTML_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; "
                    f"sandbox {SANDBOX}")
_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def _store() -> MailStore:
    # One store per directory and app: parsed messages are cached in it.
    directory = str(current_app.config["MAILBOX_DIR"])
    stores = current_app.extensions.setdefault("akkoord_mailbox", {})
    if directory not in stores:
        stores[directory] = MailStore(directory)
    return stores[directory]


def _message_or_404(message_id: str) -> StoredMessage:
    message = _store().get(message_id)
    if message is None:
        abort(404)
    return message


def linkify(text: str) -> Markup:
    """Text with its http(s) URLs made clickable; everything else escaped."""
    parts, position = [], 0
    for start, end, url in find_urls(text):
        parts.append(escape(text[position:start]))
        parts.append(Markup('<a href="{0}">{0}</a>').format(url))
        position = end
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


def _safe_filename(name: str) -> str:
    return _UNSAFE_FILENAME.sub("_", name).strip(" .") or "attachment"


@bp.after_request
def _not_cached(response):
    # The pages hold personal and sign-in links.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index():
    store = _store()
    messages = store.list(limit=LIST_LIMIT)
    return render_template("mailbox/list.html", messages=messages, total=store.count())


@bp.get("/<message_id>")
def message(message_id: str):
    message = _message_or_404(message_id)
    html = message.html_body()
    text = message.text_body()
    attachments = [
        {"filename": filename, "content_type": content_type, "size": len(content)}
        for filename, content_type, content in message.attachments()
    ]
    response = make_response(render_template(
        "mailbox/message.html",
        message=message,
        headers=list(message.message.items()),
        has_html=html is not None,
        sandbox=SANDBOX,
        text=None if text is None else linkify(text),
        attachments=attachments,
    ))
    # The mail's HTML comes in a frame from this site (a srcdoc frame would take this page's policy, which
    # refuses the mail's inline styles).
    response.headers["Content-Security-Policy"] = content_security_policy(frame_src="'self'")
    return response


@bp.get("/<message_id>/html")
def html(message_id: str):
    """The mail's HTML body alone, for the message page's sandboxed frame."""
    body = _message_or_404(message_id).html_body()
    if body is None:
        abort(404)
    response = Response(_BASE_TARGET + body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = MAIL_HTML_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.get("/<message_id>/attachments/<int:number>")
def attachment(message_id: str, number: int):
    attachments = _message_or_404(message_id).attachments()
    if not 1 <= number <= len(attachments):
        abort(404)
    filename, content_type, content = attachments[number - 1]
    return send_file(
        io.BytesIO(content),
        mimetype=content_type,
        as_attachment=True,
        download_name=_safe_filename(filename),
    )


@bp.get("/<message_id>/raw")
def raw(message_id: str):
    message = _message_or_404(message_id)
    return send_file(
        io.BytesIO(message.raw),
        mimetype="message/rfc822",
        as_attachment=True,
        download_name=f"{message.id}.eml",
    )


@bp.post("/clear")
def clear():
    _store().clear()
    return redirect(url_for("mailbox.index"))
