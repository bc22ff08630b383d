"""Redlines: what changed between two versions of a document, block by block and word by word.

Two passes. First the blocks are aligned as wholes: each block's (type, level, text) becomes one
character, so the alignment diffs a string as long as the document has blocks. Within every range
where old blocks were replaced by new ones, similar blocks are paired up as "changed" and the rest
are inserted or deleted. Then each changed pair is diffed inside: words, whitespace runs and
punctuation marks each become one character, the encoded strings are diffed, the result is decoded
and given diff-match-patch's semantic cleanup.

Nothing here depends on diff-match-patch's Diff_Timeout, which silently answers "delete everything,
insert everything" when it runs out of time, so the answer would depend on the machine's speed.
Encoded inputs short enough to diff exactly (`EXACT_LIMIT` characters) are diffed with the timeout
off; longer ones are first cut, patience-diff style, at items that occur once on each side.

Changed blocks are shown word by word by default: a replaced word is replaced whole. That counts
more changed characters than the smallest character diff, because different words share letters
("beslag" -> "bewaart" is 13 changed letters as words, 7 as be[sl→wa]a[g→rt]); on the generated
agreement about 27% more. `granularity="char"` re-diffs every replaced stretch letter by letter and
is minimal, at the price of redlines like that one, which a reviewer cannot read.
"""

from __future__ import annotations

import bisect
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain

from diff_match_patch import diff_match_patch

from storage.blocks import block_text

# Longest encoded input (old + new characters) diffed exactly. Myers' algorithm costs about
# (N + M) * D steps; at this size the worst case (nothing in common) takes about 0.1 s.
EXACT_LIMIT = 1000
# Two blocks in a replaced range are the same block, changed, when their word sets overlap this much
# (Dice coefficient: twice the shared words over the sum of both counts).
PAIR_SIMILARITY = 0.5
# Replaced ranges up to this many old x new blocks are paired optimally; larger ones greedily.
OPTIMAL_PAIRING_LIMIT = 10_000
# How far the greedy pairing looks ahead, in blocks, for a partner.
GREEDY_WINDOW = 8
# A replaced word is shown changed inside the word when it keeps at least this much of itself
# (common prefix + suffix over the longer word), e.g. "verplicht" -> "verplichte".
INFLECTION_SHARE = 0.6
GRANULARITIES = ("word", "char")

EQUAL, INSERT, DELETE = "equal", "insert", "delete"
_OPS = {diff_match_patch.DIFF_EQUAL: EQUAL, diff_match_patch.DIFF_INSERT: INSERT,
        diff_match_patch.DIFF_DELETE: DELETE}

_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
_WORD = re.compile(r"\w+")
_WORD_END = re.compile(r"\w+$")
_LETTERS = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class RedlineRow:
    """One block of the redline: as it stands in either version, or how it changed."""

    status: str  # "equal" | "changed" | "inserted" | "deleted"
    type: str
    level: int | None
    label: str | None
    old_id: str | None
    new_id: str | None
    segments: list[tuple[str, str]] = field(default_factory=list)

    @property
    def old_text(self) -> str:
        return "".join(text for op, text in self.segments if op != INSERT)

    @property
    def new_text(self) -> str:
        return "".join(text for op, text in self.segments if op != DELETE)


@dataclass(frozen=True)
class Stretch:
    """Consecutive rows shown together; a collapsed stretch is unchanged text folded away."""

    collapsed: bool
    rows: list[RedlineRow]


@dataclass(frozen=True)
class Change:
    """One entry of the list of changes: which passage (numbered in reading order, as the rendered redline
    anchors it), under which heading, and what happened to it."""

    number: int
    status: str  # "changed" | "inserted" | "deleted"
    section: str  # the heading the passage falls under (or its own text, when it is a heading); "" before any
    excerpt: str  # the passage's first words, as it reads now (as it read, when deleted)
    added: int  # words
    removed: int


@dataclass
class Redline:
    rows: list[RedlineRow]
    inserted_words: int = 0
    deleted_words: int = 0
    changed_blocks: int = 0
    inserted_blocks: int = 0
    deleted_blocks: int = 0

    @property
    def has_changes(self) -> bool:
        return any(row.status != "equal" for row in self.rows)

    def changes(self, excerpt_length: int = 60) -> list[Change]:
        """Every inserted, deleted or changed passage in reading order, each under the nearest heading before it
        in the newer version: what the list of changes above a redline shows."""
        out: list[Change] = []
        section = ""
        for row in self.rows:
            if row.status == "equal":
                if row.type == "heading":
                    section = _shortened(row.new_text, excerpt_length)
                continue
            text = row.old_text if row.status == "deleted" else row.new_text
            # A list item's number says where it is ("3.2"); a bullet says nothing.
            label = row.label if row.label and _WORD.search(row.label) else ""
            excerpt = _shortened(f"{label} {text}" if label else text, excerpt_length)
            if row.type == "heading":
                if row.status != "deleted":
                    section = excerpt
                own = excerpt
            else:
                own = section
            out.append(Change(number=len(out) + 1, status=row.status, section=own,
                              excerpt="" if row.type == "heading" else excerpt,
                              added=sum(len(_WORD.findall(t)) for op, t in row.segments if op == INSERT),
                              removed=sum(len(_WORD.findall(t)) for op, t in row.segments if op == DELETE)))
        return out

    def stretches(self, context: int = 1) -> list[Stretch]:
        """The rows cut into what to show and what to fold: unchanged rows more than `context`
        rows away from a change are folded, unless folding would hide fewer than two."""
        changed = [i for i, row in enumerate(self.rows) if row.status != "equal"]
        shown = [False] * len(self.rows)
        for i in changed:
            for j in range(max(0, i - context), min(len(self.rows), i + context + 1)):
                shown[j] = True
        out: list[Stretch] = []
        i = 0
        while i < len(self.rows):
            j = i
            while j < len(self.rows) and shown[j] == shown[i]:
                j += 1
            rows = self.rows[i:j]
            collapse = not shown[i] and len(rows) >= 2
            if out and out[-1].collapsed == collapse:
                out[-1].rows.extend(rows)
            else:
                out.append(Stretch(collapse, list(rows)))
            i = j
        return out


def redline(old_blocks: list[dict], new_blocks: list[dict], *, granularity: str = "word") -> Redline:
    """Compare two versions' top-level blocks; tables are compared as their text.

    `granularity` is how changed blocks are diffed inside: see `diff_words`.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, not {granularity!r}")
    old_keys = [_block_key(b) for b in old_blocks]
    new_keys = [_block_key(b) for b in new_blocks]
    rows: list[RedlineRow] = []
    for op, old_range, new_range in _align(old_keys, new_keys):
        if op == EQUAL:
            for old, new in zip(old_range, new_range):
                rows.append(_row("equal", old_blocks[old], new_blocks[new]))
            continue
        olds = [old_blocks[i] for i in old_range]
        news = [new_blocks[j] for j in new_range]
        for old, new in _pair(olds, news):
            if old is None:
                rows.append(_row("inserted", None, new))
            elif new is None:
                rows.append(_row("deleted", old, None))
            else:
                rows.append(_row("changed", old, new, granularity))
    return _counted(rows)


def diff_words(old: str, new: str, granularity: str = "word") -> list[tuple[str, str]]:
    """Segments turning `old` into `new`, cleaned up for a human reader.

    "word": whole words change, except a word that keeps most of itself ("Partij" -> "Partijen"
    shows as Partij + inserted "en"). "char": every replaced stretch is re-diffed letter by letter,
    which is as small as a diff gets but splits words where two words merely share letters.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, not {granularity!r}")
    if old == new:
        return [(EQUAL, old)] if old else []
    vocabulary: dict[str, str] = {}
    old_code = _encode(_TOKEN.findall(old), vocabulary)
    new_code = _encode(_TOKEN.findall(new), vocabulary)
    tokens = {code: token for token, code in vocabulary.items()}
    diffs = [(op, "".join(tokens[c] for c in code)) for op, code in _diff_encoded(old_code, new_code)]
    # Cleaned up on the decoded text, not the codes: the cleanup weighs equalities by their length
    # and moves edits to word boundaries, and both only make sense on real characters.
    diff_match_patch().diff_cleanupSemantic(diffs)
    segments = [(_OPS[op], text) for op, text in diffs]
    if granularity == "word":
        # The cleanup works on characters and can leave part of a word equal ("de" -> "erkent"
        # as d deleted, e kept, rkent inserted); a reader wants whole words.
        segments = _snapped_to_words(segments)
    return _merge(_refined(segments, granularity))


def _snapped_to_words(segments: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Edits widened so that none starts or ends inside a word."""
    parts: list[list[str]] = []  # [EQUAL, text] or ["edit", deleted, inserted]
    for op, text in segments:
        if op == EQUAL:
            parts.append([EQUAL, text])
        else:
            if not parts or parts[-1][0] != "edit":
                parts.append(["edit", "", ""])
            parts[-1][1 if op == DELETE else 2] += text
    for k, part in enumerate(parts):
        if part[0] != "edit":
            continue
        before = parts[k - 1] if k > 0 else None
        if before and _WORD_END.search(before[1]) and (_WORD.match(part[1]) or _WORD.match(part[2])):
            piece = _WORD_END.search(before[1]).group()
            before[1] = before[1][:-len(piece)]
            part[1], part[2] = piece + part[1], piece + part[2]
        after = parts[k + 1] if k + 1 < len(parts) else None
        if after and _WORD.match(after[1]) and (_WORD_END.search(part[1]) or _WORD_END.search(part[2])):
            piece = _WORD.match(after[1]).group()
            after[1] = after[1][len(piece):]
            part[1], part[2] = part[1] + piece, part[2] + piece
    out: list[tuple[str, str]] = []
    pending = ["", ""]  # edits only separated by emptied equalities become one edit
    for part in parts:
        if part[0] == "edit":
            pending[0] += part[1]
            pending[1] += part[2]
        elif part[1]:
            out.extend([(DELETE, pending[0]), (INSERT, pending[1]), (EQUAL, part[1])])
            pending = ["", ""]
    out.extend([(DELETE, pending[0]), (INSERT, pending[1])])
    return [(op, text) for op, text in out if text]


def _refined(segments: list[tuple[str, str]], granularity: str) -> list[tuple[str, str]]:
    """Each stretch where old text was replaced by new, diffed again inside at finer grain."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(segments):
        if segments[i][0] == EQUAL:
            out.append(segments[i])
            i += 1
            continue
        deleted, inserted = [], []
        while i < len(segments) and segments[i][0] != EQUAL:
            (deleted if segments[i][0] == DELETE else inserted).append(segments[i][1])
            i += 1
        deleted_text, inserted_text = "".join(deleted), "".join(inserted)
        if not deleted_text or not inserted_text:
            out.extend(segments[i - len(deleted) - len(inserted):i])
        elif granularity == "char":
            diffs = _diff_encoded(deleted_text, inserted_text)
            diff_match_patch().diff_cleanupSemanticLossless(diffs)
            out.extend((_OPS[op], text) for op, text in diffs)
        else:
            out.extend(_inflected(deleted_text, inserted_text))
    return out


def _inflected(deleted: str, inserted: str) -> list[tuple[str, str]]:
    """One word replaced by another that keeps most of it: only the differing part changes.

    Only for words of letters: "100" -> "120" is a new amount, not an inflection of the old one.
    """
    if not (_LETTERS.fullmatch(deleted) and _LETTERS.fullmatch(inserted)):
        return [(DELETE, deleted), (INSERT, inserted)]
    prefix = len(os.path.commonprefix([deleted, inserted]))
    suffix = len(os.path.commonprefix([deleted[prefix:][::-1], inserted[prefix:][::-1]]))
    if (prefix + suffix) / max(len(deleted), len(inserted)) < INFLECTION_SHARE:
        return [(DELETE, deleted), (INSERT, inserted)]
    return [
        (EQUAL, deleted[:prefix]),
        (DELETE, deleted[prefix:len(deleted) - suffix]),
        (INSERT, inserted[prefix:len(inserted) - suffix]),
        (EQUAL, deleted[len(deleted) - suffix:]),
    ]


def _merge(segments: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """No empty segments, and no two neighbours with the same op."""
    out: list[tuple[str, str]] = []
    for op, text in segments:
        if not text:
            continue
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))
    return out


# Alignment of blocks -----------------------------------------------------------------------------

def _block_key(block: dict) -> tuple:
    # The list label is left out: inserting one item renumbers every later one, and that
    # renumbering is not a change anyone wrote.
    if block["type"] == "image":
        return ("image", None, block.get("alt", ""))
    return (block["type"], block.get("level"), block_text(block))


def _align(old_keys: list[tuple], new_keys: list[tuple]):
    """(op, old index range, new index range) runs; op is EQUAL or "replace"."""
    vocabulary: dict[tuple, str] = {}
    old_code = _encode(old_keys, vocabulary)
    new_code = _encode(new_keys, vocabulary)
    i = j = 0
    pending_old, pending_new = i, j
    for op, code in _diff_encoded(old_code, new_code):
        n = len(code)
        if op == diff_match_patch.DIFF_EQUAL:
            if (pending_old, pending_new) != (i, j):
                yield "replace", range(pending_old, i), range(pending_new, j)
            yield EQUAL, range(i, i + n), range(j, j + n)
            i += n
            j += n
            pending_old, pending_new = i, j
        elif op == diff_match_patch.DIFF_DELETE:
            i += n
        else:
            j += n
    if (pending_old, pending_new) != (i, j):
        yield "replace", range(pending_old, i), range(pending_new, j)


def _encode(items, vocabulary: dict) -> str:
    """One character per item, equal items equal characters (diff-match-patch's line mode trick)."""
    chars = []
    for item in items:
        code = vocabulary.get(item)
        if code is None:
            number = len(vocabulary) + 1
            if number >= 0xD800:  # skip the surrogate range
                number += 0x800
            code = vocabulary[item] = chr(number)
        chars.append(code)
    return "".join(chars)


def _diff_encoded(a: str, b: str) -> list[tuple[int, str]]:
    """A diff of two encoded strings, in diff-match-patch's form, that never depends on a clock.

    Short inputs get diff-match-patch's exact Myers diff with no deadline. Long ones are cut first,
    patience-diff style, at the items that occur exactly once on each side (the longest run of them
    in the same order on both sides); each piece between two such anchors is diffed the same way,
    and finds anchors of its own. A long piece without any anchor has no distinctive item in
    common, so it is shown as deleted and inserted.
    """
    exact = diff_match_patch()
    exact.Diff_Timeout = 0
    diffs: list[tuple[int, str]] = []
    # A stack of work instead of recursion: pathological input could nest deeper than Python allows.
    work: list[tuple] = [("diff", a, b)]
    while work:
        task = work.pop()
        if task[0] == "emit":
            diffs.append(task[1:])
            continue
        a, b = task[1:]
        if len(a) + len(b) <= EXACT_LIMIT:
            diffs.extend(exact.diff_main(a, b, False))
            continue
        prefix = exact.diff_commonPrefix(a, b)
        suffix = exact.diff_commonSuffix(a[prefix:], b[prefix:])
        head, a, b, tail = a[:prefix], a[prefix:len(a) - suffix], b[prefix:len(b) - suffix], a[len(a) - suffix:]
        anchors = _unique_anchors(a, b)
        tasks: list[tuple] = [("emit", diff_match_patch.DIFF_EQUAL, head)]
        if anchors:
            i = j = 0
            for anchor_a, anchor_b in anchors:
                tasks.append(("diff", a[i:anchor_a], b[j:anchor_b]))
                tasks.append(("emit", diff_match_patch.DIFF_EQUAL, a[anchor_a]))
                i, j = anchor_a + 1, anchor_b + 1
            tasks.append(("diff", a[i:], b[j:]))
        else:
            tasks.append(("emit", diff_match_patch.DIFF_DELETE, a))
            tasks.append(("emit", diff_match_patch.DIFF_INSERT, b))
        tasks.append(("emit", diff_match_patch.DIFF_EQUAL, tail))
        work.extend(reversed(tasks))
    diffs = [(op, text) for op, text in diffs if text]
    exact.diff_cleanupMerge(diffs)
    return diffs


def _unique_anchors(a: str, b: str) -> list[tuple[int, int]]:
    """Positions (in a, in b) of items occurring once in each, the longest series in the same order."""
    count_a, count_b = Counter(a), Counter(b)
    where_b = {item: j for j, item in enumerate(b) if count_b[item] == 1}
    pairs = [(i, where_b[item]) for i, item in enumerate(a) if count_a[item] == 1 and item in where_b]
    # Longest increasing subsequence of the b positions (patience sorting).
    tops: list[int] = []  # tops[k]: smallest b position ending a series of length k + 1
    top_index: list[int] = []  # index into pairs of that end
    previous: list[int] = []
    for index, (_, j) in enumerate(pairs):
        k = bisect.bisect_left(tops, j)
        if k == len(tops):
            tops.append(j)
            top_index.append(index)
        else:
            tops[k] = j
            top_index[k] = index
        previous.append(top_index[k - 1] if k else -1)
    series = []
    index = top_index[-1] if top_index else -1
    while index != -1:
        series.append(pairs[index])
        index = previous[index]
    return series[::-1]


# Pairing within a replaced range ----------------------------------------------------------------

def _pair(olds: list[dict], news: list[dict]) -> list[tuple[dict | None, dict | None]]:
    """Old and new blocks in document order, similar ones side by side as pairs."""
    if not olds or not news:
        return [(o, None) for o in olds] + [(None, n) for n in news]
    old_words = [_word_set(b) for b in olds]
    new_words = [_word_set(b) for b in news]

    def similarity(i: int, j: int) -> float:
        if _category(olds[i]) != _category(news[j]):
            return 0.0
        a, b = old_words[i], new_words[j]
        if not a and not b:
            return 1.0
        score = 2 * len(a & b) / (len(a) + len(b))
        return score if score >= PAIR_SIMILARITY else 0.0

    if len(olds) * len(news) <= OPTIMAL_PAIRING_LIMIT:
        matches = _pair_optimally(len(olds), len(news), similarity)
    else:
        matches = _pair_greedily(len(olds), len(news), similarity)
    out: list[tuple[dict | None, dict | None]] = []
    i = j = 0
    for mi, mj in chain(matches, [(len(olds), len(news))]):
        out.extend((o, None) for o in olds[i:mi])
        out.extend((None, n) for n in news[j:mj])
        if mi < len(olds):
            out.append((olds[mi], news[mj]))
        i, j = mi + 1, mj + 1
    return out


def _pair_optimally(n: int, m: int, similarity) -> list[tuple[int, int]]:
    """Order-keeping pairs with the greatest total similarity (a weighted LCS)."""
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best = max(score[i + 1][j], score[i][j + 1])
            s = similarity(i, j)
            if s:
                best = max(best, score[i + 1][j + 1] + s)
            score[i][j] = best
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        s = similarity(i, j)
        if s and score[i][j] == score[i + 1][j + 1] + s:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif score[i][j] == score[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def _pair_greedily(n: int, m: int, similarity) -> list[tuple[int, int]]:
    """For long replaced ranges: take the nearest similar pair within a small window, and move on."""
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        found = None
        for distance in range(2 * GREEDY_WINDOW + 1):
            candidates = [(i + d, j + distance - d) for d in range(distance + 1)
                          if d <= GREEDY_WINDOW and distance - d <= GREEDY_WINDOW
                          and i + d < n and j + distance - d < m]
            scored = [(similarity(a, b), a, b) for a, b in candidates]
            scored = [s for s in scored if s[0]]
            if scored:
                found = max(scored, key=lambda s: s[0])[1:]
                break
        if found is None:
            i, j = i + 1, j + 1  # neither has a partner nearby: both stay unpaired
            continue
        pairs.append(found)
        i, j = found[0] + 1, found[1] + 1
    return pairs


def _category(block: dict) -> str:
    return block["type"] if block["type"] in ("table", "image") else "text"


def _word_set(block: dict) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORD.findall(_text(block)))


# Rows -------------------------------------------------------------------------------------------

def _text(block: dict) -> str:
    return block.get("alt", "") if block["type"] == "image" else block_text(block)


def _row(status: str, old: dict | None, new: dict | None, granularity: str = "word") -> RedlineRow:
    shown = new if new is not None else old
    if status == "changed":
        segments = diff_words(_text(old), _text(new), granularity)
    else:
        text = _text(shown)
        op = {"equal": EQUAL, "inserted": INSERT, "deleted": DELETE}[status]
        segments = [(op, text)] if text else []
    return RedlineRow(
        status=status,
        type=shown["type"],
        level=shown.get("level"),
        label=shown.get("label"),
        old_id=old.get("id") if old is not None else None,
        new_id=new.get("id") if new is not None else None,
        segments=segments,
    )


def _shortened(text: str, length: int) -> str:
    """The first words of a text, at most `length` characters, cut between words."""
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    cut = text[:length].rsplit(" ", 1)[0] or text[:length]
    return cut.rstrip(",;:") + "…"


def _counted(rows: list[RedlineRow]) -> Redline:
    def words(op: str) -> int:
        return sum(len(_WORD.findall(text)) for row in rows for o, text in row.segments if o == op)

    def blocks(status: str) -> int:
        return sum(1 for row in rows if row.status == status)

    return Redline(
        rows=rows,
        inserted_words=words(INSERT),
        deleted_words=words(DELETE),
        changed_blocks=blocks("changed"),
        inserted_blocks=blocks("inserted"),
        deleted_blocks=blocks("deleted"),
    )

