"""Secrets taken out of text before it is logged: a line may quote a URL, a header or an error that quotes one.

What is replaced by [redacted]: personal links (/l/<token>) and sign-in links (/signin/<token>), also URL-encoded in a
?next=; ?token= and other secret-named parameters and fields; Bearer and Basic credentials; passwords in URLs; API
tokens (akk_..., workflows.domain.api_tokens) and webhook secrets (whsec_..., workflows.domain.webhooks); and any bare
43-character token (workflows.tokens: links, sign-in and session tokens). Standard library only, so that gunicorn's
master process (gunicorn.conf.py) can use it without loading the application."""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

_SECRETS = (
    # Paths that carry a token: /l/<token>, /signin/<token>, also URL-encoded in a ?next= (%2Fl%2F...).
    (re.compile(r"(/(?:l|signin)/)[^/?#\s\"'<>\\]+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(%2F(?:l|signin)%2F)[^%&#\s\"'<>\\]+", re.IGNORECASE), rf"\g<1>{REDACTED}"),
    # Credentials in a header or a URL: Bearer and Basic, user:password@host.
    (re.compile(r"\b(Bearer\s+)[^\s,;\"'\\]+", re.IGNORECASE), rf"\g<1>{REDACTED}"),
    (re.compile(r"\b(Basic\s+)[A-Za-z0-9+/=]{8,}", re.IGNORECASE), rf"\g<1>{REDACTED}"),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@\"'\\]*:)[^@\s/\"'\\]+@", re.IGNORECASE), rf"\g<1>{REDACTED}@"),
    # Secret-named parameters and fields: ?token=, &csrf_token=, password=, "secret": "...".
    (re.compile(r"((?:[\w-]*token|secret|password|passwd)[\"']?\s*[:=]\s*[\"']?)(?!\[redacted\])[^\"'\s,&;#}\\]+",
                re.IGNORECASE), rf"\g<1>{REDACTED}"),
    # API tokens and webhook secrets by their prefix (workflows.domain.api_tokens, workflows.domain.webhooks).
    (re.compile(r"\b(akk_|whsec_)[A-Za-z0-9_-]+"), rf"\g<1>{REDACTED}"),
    # Any bare link, sign-in or session token: 32 random bytes, URL-safe base64 (workflows.tokens.new_token).
    (re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"), REDACTED),
)


def redact(text: str) -> str:
    """The text with every secret of a known shape replaced by [redacted]."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Replaces a record's message and arguments by the redacted message, and its traceback by a redacted one."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is logging's to report, not a reason to drop the line
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
