"""Template filters and labels: dates in Dutch time, the words for roles, states and statuses."""

from __future__ import annotations

from flask import Flask
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from service.web.forms import KIND_CHOICES
from service.web.i18n import error_message
from storage.blocks import block_text

ROLES = {"coordinator": _l("coordinator"), "editor": _l("editor"), "member": _l("member"), "observer": _l("observer")}
STATES = {
    "akkoord": (_l("akkoord"), "ok"),
    "akkoord_met_opmerkingen": (_l("akkoord met opmerkingen"), "ok"),
    "niet_akkoord": (_l("niet akkoord"), "bad"),
    "no_verdict": (_l("no verdict yet"), "warn"),
    "not_invited": (_l("not in a round on this version"), "warn"),
}
DOCUMENT_STATUSES = {"draft": (_l("draft"), "warn"), "in_review": (_l("in review"), "warn"),
                     "final": (_l("definitief"), "final"), "withdrawn": (_l("withdrawn"), "bad")}
MAIL = {None: _l("not planned"), "pending": _l("queued"), "sending": _l("sending"), "sent": _l("delivered to mail server"),
        "failed": _l("failed"), "cancelled": _l("not sent")}
CLOSE_REASONS = {"manual": _l("closed by the coordinator"), "deadline": _l("closed at the deadline"),
                 "superseded": _l("superseded by a newer version"), "finalised": _l("closed: document made final")}
FINDINGS = {"tracked_changes": _l("unaccepted changes (accepted on import)"), "word_comments": _l("Word comments"),
            "images": _l("images"), "footnotes": _l("footnotes or endnotes"),
            "hidden_text": _l("passages of hidden text (imported)")}
DISPOSITION_WORDS = {"overgenomen": (_l("overgenomen"), "ok"), "deels_overgenomen": (_l("deels overgenomen"), "warn"),
                     "niet_overgenomen": (_l("niet overgenomen"), "bad"),
                     "voor_kennisgeving": (_l("voor kennisgeving"), "warn")}
PLACEMENTS = {"exact": (_l("passage unchanged"), "ok"), "moved": (_l("passage moved"), "ok"),
              "edited": (_l("passage changed"), "warn"), "removed": (_l("passage removed"), "bad")}
SAFE_SCHEMES = ("http://", "https://", "mailto:")


def badge(text, kind: str) -> Markup:
    return Markup('<span class="badge {}">{}</span>').format(kind, text)


def state_badge(state: str) -> Markup:
    text, kind = STATES.get(state, (state, "warn"))
    return badge(text, kind)


def status_badge(status: str) -> Markup:
    text, kind = DOCUMENT_STATUSES.get(status, (status, "warn"))
    return badge(text, kind)


def disposition_badge(disposition: str) -> Markup:
    text, kind = DISPOSITION_WORDS.get(disposition, (disposition, "warn"))
    return badge(text, kind)


def placement_badge(status: str) -> Markup:
    text, kind = PLACEMENTS.get(status, (status, "warn"))
    return badge(text, kind)


def round_status(round_) -> str:
    if round_.is_open:
        return str(_l("open"))
    return str(CLOSE_REASONS.get(round_.close_reason, _l("closed")))


def findings_text(findings: dict) -> str:
    """Only the counts; the Word comments themselves are kept in the findings too."""
    return ", ".join(f"{count} {FINDINGS.get(key, key)}" for key, count in findings.items()
                     if isinstance(count, int) and count)


def when(value) -> str:
    return format_datetime(value, "d MMM y, HH:mm") if value else ""


def short_date(value) -> str:
    return format_datetime(value, "d MMM y") if value else ""


def safe_href(url: str | None) -> str:
    """Links from uploaded documents: only web and mail addresses, never javascript: or data:."""
    if url and url.strip().lower().startswith(SAFE_SCHEMES):
        return url.strip()
    return "#"


DELIVERY_ERRORS = {
    "TimeoutError": _l("No answer within 5 seconds."),
    "ConnectionRefusedError": _l("The connection was refused: nothing listens at that address."),
    "SSLCertVerificationError": _l("The address's certificate could not be verified."),
    "RemoteDisconnected": _l("The other side closed the connection without an answer."),
}


def delivery_error(text: str) -> Markup:
    """A webhook delivery's error in words a coordinator reads, with the technical text kept beside it."""
    if text.startswith("refused: "):
        said = error_message(text.removeprefix("refused: "), {})
    elif text == "webhook disabled":
        said = str(_l("The webhook was disabled before this was sent."))
    elif text.startswith("HTTP ") and "redirects are not followed" in text:
        said = str(_l("The address answered with a redirect; redirects are not followed."))
    elif text.startswith("HTTP "):
        said = str(_l("The address answered with an error (%(status)s).", status=text[5:8]))
    else:
        known = DELIVERY_ERRORS.get(text.split(":", 1)[0])
        said = str(known) if known else ""
    if not said:
        return Markup("<code>{}</code>").format(text[:200])
    return Markup('{} <span class="muted"><code>{}</code></span>').format(said, text[:200])


def init_app(app: Flask) -> None:
    kinds = {choice.value: choice.label for choice in KIND_CHOICES}
    app.jinja_env.filters.update(when=when, short_date=short_date, safe_href=safe_href, delivery_error=delivery_error)
    app.jinja_env.globals.update(
        get_locale=get_locale, badge=badge, disposition_badge=disposition_badge, placement_badge=placement_badge,
        block_text=block_text, state_badge=state_badge, status_badge=status_badge, round_status=round_status,
        findings_text=findings_text,
        role_label=lambda role: ROLES.get(role, role),
        kind_label=lambda kind: kinds.get(kind, kind),
        state_label=lambda state: STATES.get(state, (state,))[0],
        verdict_label=lambda value: STATES.get(value, (value,))[0],
        mail_status=lambda status: MAIL.get(status, status),
    )


