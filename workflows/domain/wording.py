"""The network's own words and clock: verdicts and dispositions as members say them, Dutch time, and gettext for
documents and mails made outside a request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.support import Translations

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
TIMEZONE = ZoneInfo("Europe/Amsterdam")
LOCALES = ("nl", "en")

# The network's own words for verdicts and dispositions, the same in mails and exports.
VERDICT_WORDS = {"akkoord": "akkoord", "akkoord_met_opmerkingen": "akkoord met opmerkingen", "niet_akkoord": "niet akkoord"}
DISPOSITION_WORDS = {"overgenomen": "overgenomen", "deels_overgenomen": "deels overgenomen",
                     "niet_overgenomen": "niet overgenomen", "voor_kennisgeving": "voor kennisgeving"}


def format_when(value: dt.datetime, locale: str) -> str:
    return format_datetime(value.astimezone(TIMEZONE), "EEEE d MMMM y, HH:mm", locale=locale)


@cache
def catalogue(locale: str) -> Translations:
    return Translations.load(str(TRANSLATIONS), [locale if locale in LOCALES else "nl"])


def translator(locale: str) -> Callable[..., str]:
    """gettext with %(name)s parameters, for documents made outside a request."""
    messages = catalogue(locale)

    def _(message: str, **params) -> str:
        return messages.gettext(message) % params if params else messages.gettext(message)

    return _


def kenmerk(digest: str | None) -> str:
    """A content hash as people read it outside the evidence: its first 8 characters, upper-case, in two groups of
    four ("3FA2 9C01"). Enough to tell versions apart at a glance; the full SHA-256 stays where someone checks
    evidence (the approval annex, the evidence dossier, the audit trail)."""
    if not digest:
        return ""
    head = digest[:8].upper()
    return f"{head[:4]} {head[4:]}"
