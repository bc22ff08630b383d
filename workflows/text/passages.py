"""Stable passages: the blocks of a new version keep the ids of the blocks they continue.

A comment is anchored to a block id. When the next version is uploaded, its blocks are matched to
the previous version's, so that a paragraph that stayed, was edited or was moved keeps its id, and
a comment on it can follow it. Genuinely new blocks get fresh ids that no earlier version of the
document ever used, so an old anchor can never land on an unrelated passage.

The matching reuses the redline's block alignment (`workflows.text.redlines.redline`) rather than a
second diff, so what the redline shows as equal or changed is exactly what keeps its id here. On top
of it, moves: an inserted block is the same passage as a deleted one elsewhere when their
normalised texts are equal, or failing that when their words overlap at least `MOVE_SIMILARITY`.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field

from storage.blocks import assign_ids, block_text
from workflows.text.redlines import redline

# An inserted and a deleted block are one moved passage when their words overlap this much (Dice
# coefficient on the word multisets). Higher than the redline's 0.5 for pairing neighbours: a block
# far from its old place needs more evidence to be called the same one.
MOVE_SIMILARITY = 0.8
# Below this many words an overlap says little ("Vervallen per 01-01-2006" vs "... 01-01-2015"
# overlap 0.8): short blocks move only when their text is unchanged.
MOVE_MIN_WORDS = 8

EQUAL, CHANGED, MOVED, NEW = "equal", "changed", "moved", "new"
# Which of two claims on one old id wins when their similarity ties: staying in place is stronger
# evidence than a move, a move of the same text stronger than an edit.
_KIND_RANK = {EQUAL: 2, MOVED: 1, CHANGED: 0}

_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Carried:
    """The new version's blocks with their ids, and how each id came about."""

    blocks: list[dict]
    # new block id -> "equal" | "changed" | "moved" | "new"
    origin: dict[str, str] = field(default_factory=dict)

    def count(self, origin: str) -> int:
        return sum(1 for how in self.origin.values() if how == origin)


def carry(previous: list[dict], new: list[dict], taken: set[str] | frozenset[str] = frozenset()) -> Carried:
    """Match `new` to `previous`; see `carry_ids`. Also says per block whether it was carried as
    equal, changed or moved, or is new."""
    # Temporary ids so the redline's rows can name the new blocks; only their position matters.
    numbered = assign_ids([dict(block) for block in new])
    position = {block["id"]: k for k, block in enumerate(numbered)}

    claims: list[tuple[float, int, int, str, str]] = []  # (similarity, kind rank, -position, old id, kind)
    inserted: list[int] = []
    deleted: list[dict] = []
    # The rows give the old blocks back in order, so a deleted row's block is found by counting
    # (not by its id, which is all the row carries and might, in a damaged version, repeat).
    old_index = 0
    for row in redline(previous, numbered).rows:
        if row.status == "inserted":
            inserted.append(position[row.new_id])
            continue
        old_index += 1
        if row.status == "deleted":
            deleted.append(previous[old_index - 1])
        elif row.old_id is not None:
            k = position[row.new_id]
            kind = EQUAL if row.status == "equal" else CHANGED
            score = 1.0 if kind == EQUAL else _kept_share(row.segments)
            claims.append((score, _KIND_RANK[kind], -k, row.old_id, kind))
    for k, old_id, score in _moves([(k, new[k]) for k in inserted], deleted):
        claims.append((score, _KIND_RANK[MOVED], -k, old_id, MOVED))

    # Each old id goes to at most one new block: the best claim first. Claims only compete when
    # the previous version repeats an id, which a stored version should not, but ids must stay
    # unique in the new version whatever came in.
    given: dict[int, tuple[str, str]] = {}
    used: set[str] = set()
    for _, _, negative_k, old_id, kind in sorted(claims, reverse=True):
        k = -negative_k
        if k not in given and old_id not in used:
            given[k] = (old_id, kind)
            used.add(old_id)

    fresh = 1 + max((_number(i) for i in taken | {b.get("id") for b in previous}), default=0)
    blocks: list[dict] = []
    origin: dict[str, str] = {}
    for k, block in enumerate(new):
        if k in given:
            block_id, how = given[k]
        else:
            block_id, how = f"b{fresh}", NEW
            fresh += 1
        # A shallow copy: the id is the only key that changes, and versions are never edited in
        # place, so the nested runs and table rows can be shared with the input.
        blocks.append({**block, "id": block_id})
        origin[block_id] = how
    return Carried(blocks=blocks, origin=origin)


def carry_ids(previous: list[dict], new: list[dict], taken: set[str] | frozenset[str] = frozenset()) -> list[dict]:
    """Copies of `new` whose ids continue `previous` where a block is the same passage.

    Same passage: unchanged, edited (a changed pair in the redline), or moved (an inserted block
    whose text equals or nearly equals a deleted one elsewhere). Every other block gets a fresh id
    "b<N>", N above every number in `taken` (all ids the document's earlier versions used) and in
    `previous`, counting up in document order. The input is not changed; ids in `new` are ignored.
    """
    return carry(previous, new, taken).blocks


def passage_map(previous: list[dict], new: list[dict]) -> dict[str, str | None]:
    """Old block id -> the id of the same passage in `new`, or None when the passage is gone.

    `new` may be the raw upload or the blocks `carry_ids` returned: its own ids are not looked at,
    so both give the same map.
    """
    carried = carry(previous, new)
    kept = {block_id for block_id, how in carried.origin.items() if how != NEW}
    return {b["id"]: (b["id"] if b["id"] in kept else None) for b in previous if b.get("id")}


# Moves ------------------------------------------------------------------------------------------

def _moves(inserted: list[tuple[int, dict]], deleted: list[dict]) -> list[tuple[int, str, float]]:
    """(new position, old id, similarity) for inserted blocks that are deleted ones moved.

    Equal normalised texts pair first, in document order; the rest pair by word overlap, best
    first. Each block pairs at most once. Blocks without text (an image without alt text, an empty
    paragraph) never pair: nothing says which one is which, and no comment can quote them.
    """
    deleted = [b for b in deleted if b.get("id")]
    by_key: dict[tuple[str, str], list[int]] = {}
    for d, block in enumerate(deleted):
        key = _move_key(block)
        if key[1]:
            by_key.setdefault(key, []).append(d)
    moves: list[tuple[int, str, float]] = []
    used: set[int] = set()
    rest: list[tuple[int, dict]] = []
    for k, block in inserted:
        candidates = by_key.get(_move_key(block))
        if candidates:
            d = candidates.pop(0)
            used.add(d)
            moves.append((k, deleted[d]["id"], 1.0))
        else:
            rest.append((k, block))

    # Candidates by category and word count: Dice reaches the threshold only when the two sizes are
    # within a factor (2 - t) / t of each other, so each inserted block looks at a slice, not at all.
    pool: dict[str, list[tuple[int, int, frozenset[tuple[str, int]]]]] = {}
    for d, block in enumerate(deleted):
        words = _words(_text(block))
        if d not in used and words:
            pool.setdefault(_category(block), []).append((len(words), d, words))
    for candidates in pool.values():
        candidates.sort(key=lambda c: (c[0], c[1]))
    sizes = {category: [c[0] for c in candidates] for category, candidates in pool.items()}
    factor = (2 - MOVE_SIMILARITY) / MOVE_SIMILARITY
    scored: list[tuple[float, int, int]] = []
    for k, block in rest:
        words = _words(_text(block))
        size = len(words)
        category = _category(block)
        if size < MOVE_MIN_WORDS or category not in pool:
            continue
        lo = bisect.bisect_left(sizes[category], size / factor - 1e-9)
        hi = bisect.bisect_right(sizes[category], size * factor + 1e-9)
        for other_size, d, other in pool[category][lo:hi]:
            score = 2 * len(words & other) / (size + other_size)
            if score >= MOVE_SIMILARITY:
                scored.append((score, k, d))
    taken_new: set[int] = set()
    for score, k, d in sorted(scored, key=lambda s: (-s[0], s[1], s[2])):
        if k not in taken_new and d not in used:
            taken_new.add(k)
            used.add(d)
            moves.append((k, deleted[d]["id"], score))
    return moves


def _move_key(block: dict) -> tuple[str, str]:
    # Case, spacing and Unicode forms are how a text is typed, not what it says.
    text = unicodedata.normalize("NFKC", _text(block)).casefold()
    return _category(block), _SPACE.sub(" ", text).strip()


# Helpers ----------------------------------------------------------------------------------------

def _text(block: dict) -> str:
    # As the redline reads a block: an image by its alt text.
    return block.get("alt", "") if block["type"] == "image" else block_text(block)


def _category(block: dict) -> str:
    # A paragraph that became a list item is still the same passage; a table never becomes text.
    return block["type"] if block["type"] in ("table", "image") else "text"


def _words(text: str) -> frozenset[tuple[str, int]]:
    """The words of a text as a set of (word, occurrence): "de ... de" gives ("de", 1) and ("de", 2).
    The size of the intersection of two such sets is their shared words counted as often as both
    have them, and a set intersection costs a fraction of a Counter's & in the move search."""
    seen: dict[str, int] = {}
    out = set()
    for word in _WORD.findall(text.lower()):
        seen[word] = seen.get(word, 0) + 1
        out.add((word, seen[word]))
    return frozenset(out)


def _kept_share(segments: list[tuple[str, str]]) -> float:
    """How much of an edited block the redline kept: twice the equal characters over both lengths.
    Read off the redline's own segments, which costs nothing next to counting words again."""
    equal = sum(len(text) for op, text in segments if op == "equal")
    total = sum(len(text) for op, text in segments) + equal
    return 2 * equal / total if total else 1.0


def _number(block_id: str | None) -> int:
    if block_id and block_id[0] == "b" and block_id[1:].isascii() and block_id[1:].isdigit():
        return int(block_id[1:])
    return 0

