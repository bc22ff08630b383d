"""Template filters and labels: dates in Dutch time, the words for roles, states and statuses."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from flask import Flask, g
from flask_babel import format_date, format_datetime, get_locale, to_user_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from service.web.forms import KIND_CHOICES
from service.web.i18n import failure_text
from storage.blocks import block_text
from workflows.domain.wording import kenmerk

ROLES = {"coordinator": _l("coordinator"), "editor": _l("editor"), "member": _l("member"), "observer": _l("observer")}
STATES = {
    "akkoord": (_l("akkoord"), "ok"),
    "akkoord_met_opmerkingen": (_l("akkoord met opmerkingen"), "ok"),
    "niet_akkoord": (_l("niet akkoord"), "bad"),
    "no_verdict": (_l("no verdict yet"), "warn"),
    "not_invited": (_l("not asked about this version"), "warn"),
    # Per organisation (workflows.domain.decisions): an organisation nobody may answer for, a colleague's suggestion.
    "no_representative": (_l("no representative"), "bad"),
    "suggestion:akkoord": (_l("suggests akkoord"), "muted"),
    "suggestion:akkoord_met_opmerkingen": (_l("suggests akkoord met opmerkingen"), "muted"),
    "suggestion:niet_akkoord": (_l("suggests niet akkoord"), "muted"),
}
DOCUMENT_STATUSES = {"draft": (_l("draft"), "warn"), "in_review": (_l("in review"), "warn"),
                     "final": (_l("definitief"), "final"), "withdrawn": (_l("withdrawn"), "bad")}
CLOSE_REASONS = {"manual": _l("closed by the coordinator"), "deadline": _l("closed at the deadline"),
                 "superseded": _l("closed: a newer version came"), "finalised": _l("closed: document made final")}
FINDINGS = {"tracked_changes": _l("unaccepted changes (accepted on import)"), "word_comments": _l("Word comments"),
            "images": _l("images"), "footnotes": _l("footnotes or endnotes"),
            "hidden_text": _l("passages of hidden text (imported)"),
            "embedded_unread": _l("embedded parts that could not be read (left out)")}
DISPOSITION_WORDS = {"overgenomen": (_l("overgenomen"), "ok"), "deels_overgenomen": (_l("deels overgenomen"), "warn"),
                     "niet_overgenomen": (_l("niet overgenomen"), "bad"),
                     "voor_kennisgeving": (_l("voor kennisgeving"), "warn")}
PLACEMENTS = {"exact": (_l("passage unchanged"), "ok"), "moved": (_l("passage moved"), "ok"),
              "edited": (_l("passage changed"), "warn"), "removed": (_l("passage removed"), "bad")}
SAFE_SCHEMES = ("http://", "https://", "mailto:")


def badge(text, kind: str) -> Markup:
    # Escaped by hand: Markup.format's escaping formatter is slow, and a page may draw hundreds of badges.
    return Markup(f'<span class="badge {escape(kind)}">{escape(str(text))}</span>')


def _badge_of(words: dict, key: str) -> Markup:
    """The badge for `key` in one of the tables above, made once per request: translating its words is most of what
    a badge costs, and a page of who stands where draws the same few badges hundreds of times."""
    made = g.setdefault("akkoord_badges", {})
    found = made.get((id(words), key))
    if found is None:
        text, kind = words.get(key, (key, "warn"))
        found = made[(id(words), key)] = badge(text, kind)
    return found


def state_badge(state: str) -> Markup:
    return _badge_of(STATES, state)


def status_badge(status: str) -> Markup:
    return _badge_of(DOCUMENT_STATUSES, status)


def disposition_badge(disposition: str) -> Markup:
    return _badge_of(DISPOSITION_WORDS, disposition)


def placement_badge(status: str) -> Markup:
    return _badge_of(PLACEMENTS, status)


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


def day(value: dt.date | None) -> str:
    """A calendar day (a due date), as it is: no time zone to move it by."""
    return format_date(value, "d MMM y") if value else ""


def safe_href(url: str | None) -> str:
    """Links from uploaded documents: only web and mail addresses, never javascript: or data:."""
    if url and url.strip().lower().startswith(SAFE_SCHEMES):
        return url.strip()
    return "#"


# The state of something that leaves Akkoord (a mail, a webhook post), as a coordinator reads it: in plain words,
# not the mail system's ("sent", not "delivered to mail server"); the reason and the technical text come beside it.
OUTBOX_STATES = {
    "pending": (_l("waiting to be sent"), "warn"), "retrying": (_l("not sent yet, will try again"), "warn"),
    "sending": (_l("being sent"), "warn"), "sent": (_l("delivered"), "ok"),
    "failed": (_l("could not be delivered"), "bad"), "cancelled": (_l("not sent"), "warn"),
}
MAIL_KINDS = {
    "sign_in": _l("sign-in link"), "invitation": _l("invitation"), "verdict_confirmation": _l("confirmation of a verdict"),
    "final_document": _l("final document"), "reminder": _l("reminder"), "deadline_extended": _l("deadline extended"),
    "round_summary": _l("summary of the round"), "round_outcome": _l("outcome of the round"),
    "substitution_named": _l("substitute named"), "substitute_named": _l("named as substitute"),
    "substitute_invitation": _l("invitation as substitute"), "substitute_verdict": _l("verdict by a substitute"),
    "substitution_ended": _l("substitution ended"), "substitute_reminder": _l("reminder to a substitute"),
    "organisation_left": _l("organisation left the network"),
    "round_superseded": _l("round closed for a new version"),
    "meeting_invitation": _l("invitation to a meeting"), "meeting_reminder": _l("reminder of a meeting"),
    "meeting_cancelled": _l("meeting cancelled"),
    "action_point": _l("action point"), "action_reminder": _l("reminder of an action point"),
    "meeting_links": _l("links to meetings and action points"),
}


def attempt_time(value) -> str:
    """The time of a coming attempt: only the clock today, with the date on another day (Dutch time)."""
    today = to_user_timezone(dt.datetime.now(dt.UTC)).date()
    return format_datetime(value, "HH:mm" if to_user_timezone(value).date() == today else "d MMM, HH:mm")


@lru_cache(maxsize=64)
def _state_badge(state: str, channel: str, locale: str) -> Markup:
    """The badge of a state in a language, made once: a round page shows a thousand of them."""
    label, kind = OUTBOX_STATES.get(state, (state, "warn"))
    if state == "sent" and channel == "mail":
        label = _l("sent")  # to the receiving mail server: whether it reached the inbox, no one can tell
    return badge(str(label), kind)


def outbox_state(item) -> Markup:
    """A mail's or webhook post's state: delivered (when); waiting for its next attempt (why, in words, and when it
    comes); failed (why); not sent (why). Beside a reason, muted, the other side's own technical text."""
    state = "retrying" if item.status == "pending" and item.failure else item.status
    said = _state_badge(state, item.channel, str(get_locale()))
    if state == "sent":
        return Markup('{} <span class="muted">{}</span>').format(said, when(item.sent_at))
    if not item.failure:
        return said
    parts = [said, Markup("<br>{}").format(failure_text(item.failure))]
    if state == "retrying" and item.next_attempt_at:
        parts.append(Markup(" {}").format(_("Next attempt at %(time)s.", time=attempt_time(item.next_attempt_at))))
    if item.last_error:
        parts.append(Markup(' <span class="muted"><code>{}</code></span>').format(item.last_error[:200]))
    return Markup("").join(parts)


def init_app(app: Flask) -> None:
    kinds = {choice.value: choice.label for choice in KIND_CHOICES}
    app.jinja_env.filters.update(when=when, short_date=short_date, day=day, safe_href=safe_href, kenmerk=kenmerk)
    app.jinja_env.globals.update(
        get_locale=get_locale, badge=badge, disposition_badge=disposition_badge, placement_badge=placement_badge,
        block_text=block_text, state_badge=state_badge, status_badge=status_badge, round_status=round_status,
        findings_text=findings_text,
        role_label=lambda role: ROLES.get(role, role),
        kind_label=lambda kind: kinds.get(kind, kind),
        state_label=lambda state: STATES.get(state, (state,))[0],
        verdict_label=lambda value: STATES.get(value, (value,))[0],
        outbox_state=outbox_state, mail_kind=lambda kind: MAIL_KINDS.get(kind, kind),
    )


