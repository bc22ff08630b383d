"""Text people type: what a single line (a name, an organisation, a title) and a longer text (a message, a comment)
may hold, whichever way it comes in (a form, a CSV file, the API, the command line)."""

from __future__ import annotations

import csv
import io
import re

from workflows.errors import CsvRejected, InvalidInput

# Refused in a single line, as a regular-expression character class (Python, JSON Schema/ECMA-262 and Rust's regex
# read it alike, so the API's schema states the same rule):
# - Unicode category Cc: C0 (U+0000-U+001F: NUL, tab, line feed, carriage return, ...), DEL and C1 (U+007F-U+009F,
#   with NEL). A name goes into an email's To header, a PDF, a Word file and a CSV export, where a line break
#   splits or starts a header or a row, and a NUL cannot be stored at all (PostgreSQL).
# - U+2028 and U+2029, the line and paragraph separators: line breaks by another name.
# - The explicit bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069). An unclosed one
#   reorders the text around the name wherever it is shown -- the approval annex, the commentaartabel, the list of
#   who has not answered -- so a name could make a record read otherwise than it says ("Trojan Source",
#   CVE-2021-42574). No name needs them: the bidi algorithm orders Arabic and Hebrew letters by itself.
# Kept: the marks and joiners real writing and input methods use (LRM/RLM U+200E/U+200F, ALM U+061C, ZWJ/ZWNJ
# U+200C/U+200D, needed in Persian and Indic scripts) and other invisible format characters (zero-width space, soft
# hyphen), which reorder nothing and break no line; refusing them would refuse names people paste in good faith.
LINE_REFUSED = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
# Refused in a longer text that may span lines (a round's message, a comment, a reason): C0 controls other than
# tab, line feed and carriage return. A NUL cannot be stored in PostgreSQL, and XML 1.0 (a .docx export) can hold
# none of these.
TEXT_REFUSED = r"\x00-\x08\x0b\x0c\x0e-\x1f"

_LINE = re.compile(f"[{LINE_REFUSED}]")
_TEXT = re.compile(f"[{TEXT_REFUSED}]")


def refused_in_line(value: str) -> bool:
    """Whether the value holds a character a single line may not hold."""
    return _LINE.search(value) is not None


def refused_in_text(value: str) -> bool:
    """Whether the value holds a character a longer text may not hold."""
    return _TEXT.search(value) is not None


def single_line(value: str, field: str) -> str:
    """The value without the whitespace around it (a trailing line break is no part of a name); InvalidInput
    "control_characters" naming `field` when what is left holds a line break, a tab or another control character."""
    value = value.strip()
    if refused_in_line(value):
        raise InvalidInput("control_characters", field=field)
    return value


def text(value: str, field: str) -> str:
    """The value without the whitespace around it; InvalidInput "text_control_characters" naming `field` when it
    holds a control character other than tab and line breaks."""
    value = value.strip()
    if refused_in_text(value):
        raise InvalidInput("text_control_characters", field=field)
    return value


def visible(value: str) -> str:
    """The value with each refused character shown as a symbol (a line feed as ␊, a tab as ␉), so a person can
    see where it is; for messages about a value, never for storing it."""
    return _LINE.sub(lambda match: _symbol(match.group()), value)


def _symbol(character: str) -> str:
    if character < " ":
        return chr(0x2400 + ord(character))  # the Control Pictures block: ␀ to ␟
    return "\N{SYMBOL FOR DELETE}" if character == "\x7f" else "\N{REPLACEMENT CHARACTER}"


def csv_rows(data: bytes) -> list[list[str]]:
    """The rows of an uploaded CSV file (UTF-8, with or without BOM; comma, semicolon or tab as Excel writes them).
    A file that is not UTF-8, or that the CSV reader cannot read (a stray carriage return inside a field, a NUL
    byte), is rejected as a whole with the reason, never a 500."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvRejected(problems=[(0, "not_utf8", "")]) from None
    dialect = csv.excel
    try:
        dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;\t")
    except csv.Error:
        pass
    try:
        return list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error:
        raise CsvRejected(problems=[(0, "not_csv", "")]) from None
