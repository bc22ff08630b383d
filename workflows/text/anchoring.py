"""Re-anchoring: where each comment on one version lands in the next, or that its passage is gone.

A comment is anchored by the passage's block id, the quoted text and a little context before and
after it. The blocks of a new version keep the ids of the passages they continue
(`workflows.text.passages.carry_ids`), so each anchor is looked for in the same passage first, in order:

1. the quote is still there, at the offset the word diff of the block pair maps it to, or once in
   the block: "exact" ("moved" when the passage moved among the others);
2. the old span mapped through the word diff (`workflows.text.redlines.diff_words`) is sound (most of
   the quote's characters were kept) and its new text still resembles the quote: "edited";
3. a bounded fuzzy search (diff-match-patch's `match_main`) near the mapped position in the same
   passage, then in the new blocks right beside it (a paragraph split in two), verified against
   the whole quote: "edited";
4. otherwise "removed".

Every placement but "removed" holds text at least `SIMILARITY` like the quote: a comment shown on
text it did not quote would be worse than one shown as removed.
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from diff_match_patch import diff_match_patch

from storage.blocks import block_text
from workflows.text.redlines import DELETE, EQUAL, INSERT, diff_words

# How much context a new anchor keeps on either side of its quote.
CONTEXT_CHARS = 40
# A placed span must be at least this similar to the quote (difflib's ratio) to count as the quote.
SIMILARITY = 0.8
# A mapped span is sound when at least this share of the quote's characters were kept by the diff.
SOUND_SHARE = 0.5
# diff-match-patch's bitap matches patterns up to Match_MaxBits (32) characters.
MATCH_BITS = 32
# The fuzzy search: how far from the expected place a match may be, and how many errors it may have
# (bitap score = errors / pattern length + distance / MATCH_DISTANCE, at most MATCH_THRESHOLD).
MATCH_DISTANCE = 200
MATCH_THRESHOLD = 0.4
# A quote this long that occurs once in both versions of a passage is the same text, even where the
# diff says it was deleted and inserted (moved within the passage); a shorter one needs its context.
SELF_EVIDENT_LENGTH = 32

EXACT, MOVED, EDITED, REMOVED = "exact", "moved", "edited", "removed"


@dataclass(frozen=True)
class Anchor:
    """A comment's place in the version it was made on."""

    block_id: str | None
    quote: str
    before: str = ""
    after: str = ""


@dataclass(frozen=True)
class Placement:
    """Where an anchor lands in the new version: offsets into `block_text` of that block, and the
    text there. "removed" has no block, no offsets and an empty quote. An anchor without a quote
    (on a whole passage) lands on its passage with no offsets."""

    status: str  # "exact" | "moved" | "edited" | "removed"
    block_id: str | None
    start: int | None
    end: int | None
    quote: str


REMOVED_PLACEMENT = Placement(REMOVED, None, None, None, "")


def anchor_at(block: dict, start: int, end: int, context: int = CONTEXT_CHARS) -> Anchor:
    """The anchor of a selection [start, end) in a block, with `context` characters either side."""
    text = block_text(block)
    return Anchor(block["id"], text[start:end], text[max(0, start - context):start], text[end:end + context])


def locate_selection(text: str, start: int, end: int, selected: str = "") -> tuple[int, int] | None:
    """The span [start, end) of `text` a reader selected, trimmed of surrounding white space.

    A browser reports the selection's offsets and its text; where the offsets do not hold that text
    (a table's cells, a browser's own line breaks) the text is looked for, white space counting as
    any white space, and the occurrence nearest the reported start is taken. None: not in `text`.
    """
    if selected and not selected.strip():
        return None  # only white space was selected
    if 0 <= start < end <= len(text) and (not selected or _same_words(text[start:end], selected)):
        span = (start, end)
    elif selected:
        words = selected.split()
        pattern = re.compile(r"\s+".join(re.escape(word) for word in words))
        found = [(abs(m.start() - start), m.start(), m.end()) for m in pattern.finditer(text)]
        if not found:
            return None
        _distance, s, e = min(found)
        span = (s, e)
    else:
        return None
    s, e = span
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return (s, e) if s < e else None


def _same_words(a: str, b: str) -> bool:
    return a.split() == b.split()


def edited_span(old: str, new: str) -> tuple[int, int, str] | None:
    """What a reader changed in a copy of `old`: (start, end, wording) such that old[:start] + wording +
    old[end:] == new, widened to whole words (a proposal reads "60 maanden → 12 maanden", not "6 → 1").
    None: nothing changed. Line breaks count alike whichever kind a browser sends."""
    new = new.replace("\r\n", "\n").replace("\r", "\n")
    if new == old:
        return None
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    tail = 0
    while tail < limit - start and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]:
        tail += 1
    end_old, end_new = len(old) - tail, len(new) - tail
    # Widen to whole words on both sides; the characters added are the same in both texts.
    while start > 0 and old[start - 1].isalnum() and (start < end_old and old[start].isalnum()
                                                      or start < end_new and new[start].isalnum()):
        start -= 1
    while end_old < len(old) and old[end_old].isalnum() and (end_old > start and old[end_old - 1].isalnum()
                                                             or end_new > start and new[end_new - 1].isalnum()):
        end_old += 1
        end_new += 1
    return start, end_old, new[start:end_new]


def anchor_of(comment) -> Anchor:
    """A stored comment's anchor (`storage.database.models.Comment`)."""
    return Anchor(comment.block_id, comment.quote or "", comment.context_before or "", comment.context_after or "")


def reanchor(old_blocks: list[dict], new_blocks: list[dict], anchors: list[Anchor]) -> list[Placement]:
    """Each anchor on `old_blocks` placed in `new_blocks`, in the same order.

    `new_blocks` carry the ids of the passages they continue (`workflows.text.passages.carry_ids`).
    Each block pair is diffed once, however many anchors it holds.
    """
    return _Reanchoring(old_blocks, new_blocks).place_all(anchors)


class _Reanchoring:
    def __init__(self, old_blocks: list[dict], new_blocks: list[dict]):
        self.old = {b["id"]: b for b in old_blocks if b.get("id")}
        self.new_index = {b["id"]: k for k, b in enumerate(new_blocks) if b.get("id")}
        self.new_blocks = new_blocks
        self.moved = _moved_ids(old_blocks, new_blocks)
        self.texts: dict[str, tuple[str, str]] = {}
        self.segments: dict[str, list[tuple[str, int, int, int, int]]] = {}

    def place_all(self, anchors: list[Anchor]) -> list[Placement]:
        return [self.place(anchor) for anchor in anchors]

    def pair(self, block_id: str) -> tuple[str, str]:
        if block_id not in self.texts:
            self.texts[block_id] = (block_text(self.old[block_id]),
                                    block_text(self.new_blocks[self.new_index[block_id]]))
        return self.texts[block_id]

    def offsets(self, block_id: str) -> list[tuple[str, int, int, int, int]]:
        """The block pair's word diff as (op, old start, old end, new start, new end)."""
        if block_id not in self.segments:
            old_text, new_text = self.pair(block_id)
            out, i, j = [], 0, 0
            for op, text in diff_words(old_text, new_text):
                di = len(text) if op != INSERT else 0
                dj = len(text) if op != DELETE else 0
                out.append((op, i, i + di, j, j + dj))
                i, j = i + di, j + dj
            self.segments[block_id] = out
        return self.segments[block_id]

    def place(self, anchor: Anchor) -> Placement:
        block_id, quote = anchor.block_id, anchor.quote
        if block_id is None or block_id not in self.new_index:
            return REMOVED_PLACEMENT
        if block_id not in self.old:
            # Not a passage of the old version: nothing to map from, only the search is left.
            new_text = block_text(self.new_blocks[self.new_index[block_id]])
            return self.searched(anchor, block_id, new_text, 0, None) or REMOVED_PLACEMENT
        old_text, new_text = self.pair(block_id)
        same_place = MOVED if block_id in self.moved else EXACT
        if not quote:
            return Placement(same_place if old_text == new_text else EDITED, block_id, None, None, "")
        old_start = _locate(old_text, quote, anchor.before, anchor.after)
        if old_start is not None and old_text == new_text:
            return Placement(same_place, block_id, old_start, old_start + len(quote), quote)

        length = len(quote)
        start = end = None
        share = 0.0
        if old_start is not None:
            start, end, share = _mapped(self.offsets(block_id), old_start, old_start + length)
            if new_text[start:end] == quote:
                return Placement(same_place, block_id, start, end, quote)
        found = _occurrences(new_text, quote)
        if found and start is not None:
            near = [s for s in found if s <= end and s + length >= start]
            if near:
                s = min(near, key=lambda s: abs(s - start))
                return Placement(same_place, block_id, s, s + length, quote)
        if start is not None and share >= SOUND_SHARE and end > start \
                and _similar(new_text[start:end], quote):
            return Placement(EDITED, block_id, start, end, new_text[start:end])
        if found:
            s = self.elsewhere(anchor, old_text, new_text, found)
            if s is not None:
                return Placement(same_place, block_id, s, s + length, quote)
        # The quote may recur in the passage, but not where its own words were: an edited version of
        # them may still be found near there, never the other occurrences.
        guess = start if start is not None else 0
        avoid = [(s, s + length) for s in found]
        return self.searched(anchor, block_id, new_text, guess, start, avoid) or self.beside(anchor, block_id) \
            or REMOVED_PLACEMENT

    def elsewhere(self, anchor: Anchor, old_text: str, new_text: str, found: list[int]) -> int | None:
        """An occurrence of the quote away from where the diff maps it: the text moved within the
        passage. Taken when the quote is unmistakable (long, once on both sides) or its context
        agrees; a short quote that merely recurs is other text."""
        quote = anchor.quote
        if len(found) == 1 and len(quote) >= SELF_EVIDENT_LENGTH and len(_occurrences(old_text, quote)) == 1:
            return found[0]
        scored = [(_context_score(new_text, s, s + len(quote), anchor.before, anchor.after), -s) for s in found]
        best, negative_s = max(scored)
        wanted = min(len(anchor.before), CONTEXT_CHARS) + min(len(anchor.after), CONTEXT_CHARS)
        if wanted and best >= wanted / 2 and sum(1 for score, _ in scored if score == best) == 1:
            return -negative_s
        return None

    def searched(self, anchor: Anchor, block_id: str, text: str, guess: int, mapped: int | None,
                 avoid: list[tuple[int, int]] = ()) -> Placement | None:
        span = _fuzzy(text, anchor.quote, guess, bounded=mapped is not None)
        if span is None or any(span[0] < e and s < span[1] for s, e in avoid):
            return None
        start, end = span
        if text[start:end] == anchor.quote:
            status = MOVED if block_id in self.moved else EXACT
            return Placement(status, block_id, start, end, anchor.quote)
        return Placement(EDITED, block_id, start, end, text[start:end])

    def beside(self, anchor: Anchor, block_id: str) -> Placement | None:
        """The quote in a new block right before or after its passage: the passage was split."""
        k = self.new_index[block_id]
        for neighbour, guess_at_end in ((k + 1, False), (k - 1, True)):
            if not 0 <= neighbour < len(self.new_blocks):
                continue
            block = self.new_blocks[neighbour]
            if block.get("id") in self.old:  # another passage, with comments of its own
                continue
            text = block_text(block)
            span = _fuzzy(text, anchor.quote, len(text) if guess_at_end else 0, bounded=False)
            if span is not None:
                start, end = span
                status = MOVED if text[start:end] == anchor.quote else EDITED
                return Placement(status, block["id"], start, end, text[start:end])
        return None


# Positions -------------------------------------------------------------------------------------

def _occurrences(text: str, quote: str) -> list[int]:
    out, i = [], text.find(quote)
    while i != -1:
        out.append(i)
        i = text.find(quote, i + 1)
    return out


def _locate(text: str, quote: str, before: str, after: str) -> int | None:
    """Where the quote stands in the old text; among repeats, the one whose context agrees most."""
    found = _occurrences(text, quote)
    if len(found) <= 1:
        return found[0] if found else None
    return max(found, key=lambda s: (_context_score(text, s, s + len(quote), before, after), -s))


def _context_score(text: str, start: int, end: int, before: str, after: str) -> int:
    """Characters of context that agree: the end of `before` before `start`, the start of `after` after `end`."""
    before, after = before[-CONTEXT_CHARS:], after[:CONTEXT_CHARS]
    left = text[max(0, start - len(before)):start]
    right = text[end:end + len(after)]
    return len(os.path.commonprefix([left[::-1], before[::-1]])) + len(os.path.commonprefix([right, after]))


def _mapped(segments: list[tuple[str, int, int, int, int]], start: int, end: int) -> tuple[int, int, float]:
    """The old span [start, end) in new offsets, and the share of it the diff kept.

    A start inside deleted text maps to where the replacement begins and an end inside it to where
    the replacement ends, so a replaced word at the edge of the quote is part of the new span.
    """
    new_start = new_end = None
    kept = 0
    for k, (op, i0, i1, j0, _j1) in enumerate(segments):
        if op == INSERT:
            continue
        if new_start is None and start < i1:
            new_start = j0 + (start - i0) if op == EQUAL else j0
        if op == EQUAL:
            kept += max(0, min(end, i1) - max(start, i0))
        if new_end is None and end <= i1 and end > i0:
            if op == EQUAL:
                new_end = j0 + (end - i0)
            else:
                following = segments[k + 1] if k + 1 < len(segments) else None
                new_end = following[4] if following and following[0] == INSERT else j0
        if new_end is not None:
            break
    total_new = segments[-1][4] if segments else 0
    if new_start is None:
        new_start = total_new
    if new_end is None:
        new_end = total_new if end > 0 else 0
    new_end = max(new_end, new_start)
    return new_start, new_end, kept / (end - start) if end > start else 0.0


# Fuzzy search ----------------------------------------------------------------------------------

def _matcher(bounded: bool) -> diff_match_patch:
    dmp = diff_match_patch()
    dmp.Match_Threshold = MATCH_THRESHOLD
    # Without a mapped position there is no "near": the whole passage is searched.
    dmp.Match_Distance = MATCH_DISTANCE if bounded else 100_000
    return dmp


def _fuzzy(text: str, quote: str, guess: int, bounded: bool) -> tuple[int, int] | None:
    """The span of `text` near `guess` most like `quote`, if at least `SIMILARITY` like it.

    Bitap matches at most 32 characters, so the quote's head (and, failing that, its tail) is
    matched and the whole span is then verified against the whole quote.
    """
    if not text or not quote:
        return None
    dmp = _matcher(bounded)
    length = len(quote)
    guess = max(0, min(guess, len(text)))
    head, tail = quote[:MATCH_BITS], quote[-MATCH_BITS:]
    starts = []
    at = dmp.match_main(text, head, guess)
    if at != -1:
        starts.append(at)
    if length > MATCH_BITS:
        at = dmp.match_main(text, tail, min(len(text), guess + length - len(tail)))
        if at != -1:
            starts.append(max(0, at + len(tail) - length))
    best: tuple[float, int, int] | None = None
    for start in starts:
        for end in _ends(dmp, text, quote, start):
            score = _ratio(text[start:end], quote)
            if best is None or score > best[0]:
                best = (score, start, end)
    if best is None or best[0] < SIMILARITY:
        return None
    return best[1], best[2]


def _ends(dmp: diff_match_patch, text: str, quote: str, start: int) -> list[int]:
    """Candidate ends for a span starting at `start`: the quote's length on, and where its tail matches."""
    length = len(quote)
    ends = {min(len(text), start + length)}
    if length > MATCH_BITS:
        tail = quote[-MATCH_BITS:]
        at = dmp.match_main(text, tail, min(len(text), start + length - len(tail)))
        if at != -1 and at + len(tail) > start:
            ends.add(at + len(tail))
    return sorted(e for e in ends if e > start)


def _ratio(a: str, b: str) -> float:
    # difflib's ratio depends on the order of its arguments (its matching blocks are found greedily
    # from the second one's side); the lower of the two keeps a placement from passing by luck.
    if a == b:
        return 1.0
    forward = SequenceMatcher(None, a, b, autojunk=False)
    if forward.quick_ratio() < SIMILARITY:  # an upper bound, from the letters alone
        return forward.quick_ratio()
    return min(forward.ratio(), SequenceMatcher(None, b, a, autojunk=False).ratio())


def _similar(a: str, b: str) -> bool:
    return _ratio(a, b) >= SIMILARITY


# Moves -----------------------------------------------------------------------------------------

def _moved_ids(old_blocks: list[dict], new_blocks: list[dict]) -> set[str]:
    """Ids of passages that changed place: those outside the longest run kept in the same order."""
    old_position = {b["id"]: k for k, b in enumerate(old_blocks) if b.get("id")}
    kept = [(old_position[b["id"]], b["id"]) for b in new_blocks if b.get("id") in old_position]
    # Longest increasing subsequence of old positions, in new order (patience sorting).
    tops: list[int] = []
    top_index: list[int] = []
    previous: list[int] = []
    for index, (position, _) in enumerate(kept):
        k = bisect.bisect_left(tops, position)
        if k == len(tops):
            tops.append(position)
            top_index.append(index)
        else:
            tops[k] = position
            top_index[k] = index
        previous.append(top_index[k - 1] if k else -1)
    in_order = set()
    index = top_index[-1] if top_index else -1
    while index != -1:
        in_order.add(kept[index][1])
        index = previous[index]
    return {block_id for _, block_id in kept} - in_order
