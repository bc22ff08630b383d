"""Searching a version's text as a reader types: without regard to case or accents ("Patiënt" finds "patient"),
spaces matching any run of white space, each hit named by its passage and the heading it stands under."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from storage.blocks import block_text

# A query longer than this is cut: no reader types one, and the pattern stays small.
MAX_QUERY = 200
# Characters of context shown before the first match of a passage, and at most in the whole snippet.
BEFORE = 80
SNIPPET = 320
_SPACE = re.compile(r"\s+")  # a table's tabs and newlines read as spaces in a snippet


def fold(text: str) -> str:
    """Case- and accent-free: NFKD without its combining marks, casefolded ("Één" -> "een", "ß" -> "ss")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class Passage:
    """A top-level passage's text, folded, with where each folded character came from in the original text."""

    id: str
    kind: str
    label: str  # a list item's label ("3.", "a)"), else ""
    heading: str  # the heading the passage stands under (a heading: itself), "" before the first
    text: str
    folded: str
    origin: tuple[int, ...] | None  # None: the folded text lines up with the text character for character


@dataclass(frozen=True)
class Hit:
    """A passage with matches: its snippet as (text, is_match) pieces, and how many matches it holds."""

    id: str
    kind: str
    label: str
    heading: str
    pieces: tuple[tuple[str, bool], ...]
    matches: int


@dataclass(frozen=True)
class Found:
    hits: tuple[Hit, ...]
    passages: int  # passages that match, also those beyond the limit
    matches: int


def index(blocks: list[dict]) -> tuple[Passage, ...]:
    """The searchable passages of a version: the running text and its notes (not Word's headers and footers),
    made once per version and kept by the caller."""
    passages: list[Passage] = []
    heading = ""
    for block in blocks:
        kind = block.get("type")
        if kind in ("header", "footer", "image") or not block.get("id"):
            continue
        text = block_text(block)
        if kind == "heading":
            heading = " ".join(text.split())
        if not text.strip():
            continue
        folded, origin = _folded(text)
        passages.append(Passage(id=block["id"], kind=kind, label=block.get("label", "") if kind == "list_item" else "",
                                heading=heading, text=text, folded=folded, origin=origin))
    return tuple(passages)


def _folded(text: str) -> tuple[str, tuple[int, ...] | None]:
    if text.isascii():
        return text.lower(), None  # ASCII lowercases one for one: no map needed
    pieces: list[str] = []
    origin: list[int] = []
    for position, char in enumerate(text):
        folded = fold(char)
        pieces.append(folded)
        origin.extend([position] * len(folded))
    return "".join(pieces), tuple(origin)


def pattern(query: str) -> re.Pattern[str] | None:
    """The query's words, folded, in order, with any white space between them; None when there are none."""
    words = fold(query[:MAX_QUERY]).split()
    if not words:
        return None
    return re.compile(r"\s+".join(re.escape(word) for word in words))


def search(passages: tuple[Passage, ...], query: str, *, limit: int = 50) -> Found:
    """The passages holding the query, in reading order (at most `limit` of them, with the totals of all)."""
    found = pattern(query)
    if found is None:
        return Found(hits=(), passages=0, matches=0)
    hits: list[Hit] = []
    passage_count = match_count = 0
    for passage in passages:
        spans = [_original(passage, m.start(), m.end()) for m in found.finditer(passage.folded)]
        if not spans:
            continue
        passage_count += 1
        match_count += len(spans)
        if len(hits) < limit:
            hits.append(Hit(id=passage.id, kind=passage.kind, label=passage.label, heading=passage.heading,
                            pieces=_snippet(passage.text, spans), matches=len(spans)))
    return Found(hits=tuple(hits), passages=passage_count, matches=match_count)


def _original(passage: Passage, start: int, end: int) -> tuple[int, int]:
    if passage.origin is None:
        return start, end
    return passage.origin[start], passage.origin[end - 1] + 1


def _snippet(text: str, spans: list[tuple[int, int]]) -> tuple[tuple[str, bool], ...]:
    """Some context around the first match, with every match inside it marked; "…" where text was left out."""
    first = spans[0][0]
    start = 0 if first <= BEFORE else text.rfind(" ", 0, first - BEFORE) + 1
    end = max(start + SNIPPET, spans[0][1])
    if end < len(text):
        cut = text.find(" ", end)
        end = len(text) if cut < 0 else cut
    else:
        end = len(text)
    pieces: list[tuple[str, bool]] = [("…", False)] if start > 0 else []
    position = start
    for s, e in spans:
        if s < position or s >= end:
            continue
        pieces += [(text[position:s], False), (text[s:e], True)]
        position = e
    pieces.append((text[position:end], False))
    if end < len(text):
        pieces.append(("…", False))
    return tuple((_SPACE.sub(" ", piece), marked) for piece, marked in pieces if piece)
