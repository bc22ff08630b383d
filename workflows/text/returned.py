"""A member's returned Word file compared with the version it was made from: what they changed, as proposed
changes anchored to the version's passages, and their Word comments, anchored to the passages they are on.

The returned file is read with every tracked change accepted, so tracked changes and untracked edits count
alike (as Word's Combine does); the comparison is the redline's (`redlines.redline`), from the version to the
returned text. Each stretch of a passage that changed becomes one change with offsets in the version's text;
stretches only whitespace apart are one change ("12 maanden" for "60 jaar" is one proposal, not two). A
passage the member added is a new passage after the version's passage before it; a passage they removed is
one change removing it. A table or picture that changed is one change of its whole text (a cell is not a passage).

`kept` is the share of the version's passages found in the file, changed or not: a file of another document
keeps almost nothing. Which version a file is based on is for the caller to weigh: the one it keeps most of.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.blocks import APART_TYPES
from workflows.text.redlines import DELETE, EQUAL, INSERT, redline

TEXT, REPLACED_PASSAGE, NEW_PASSAGE, REMOVED_PASSAGE = "text", "replaced_passage", "new_passage", "removed_passage"
# Passages whose text a change can point into; a table or picture that changed is replaced whole.
TEXT_TYPES = ("heading", "paragraph", "list_item")
# Below this share of its passages kept, a file is not based on the version.
BASED_ON_SHARE = 0.5


@dataclass(frozen=True)
class FoundChange:
    """`kind` TEXT: `old` (the version's text at `start:end` of passage `block_id`) becomes `text`.
    REPLACED_PASSAGE: the same over a table's or picture's whole text. NEW_PASSAGE: `text` is a passage added after `block_id` (None: before the
    first). REMOVED_PASSAGE: passage `block_id` (its text `old`) is gone."""

    kind: str
    block_id: str | None
    start: int
    end: int
    old: str
    text: str


@dataclass(frozen=True)
class FoundComment:
    """A Word comment of the returned file on the version's passage `block_id` (None: not on a passage)."""

    block_id: str | None
    author: str
    date: str
    text: str
    quote: str
    parent: str | None


@dataclass(frozen=True)
class Comparison:
    changes: list[FoundChange]
    comments: list[FoundComment]
    passages: int  # the version's passages
    unchanged: int  # of them found as they are
    kept: float  # the share of them found, changed or not

    @property
    def based_on(self) -> bool:
        return self.kept >= BASED_ON_SHARE


def compare_returned(version_blocks: list[dict], returned_blocks: list[dict],
                     word_comments: list[dict] = ()) -> Comparison:
    """Compare the returned file's blocks (and its Word comments, as the reader gives them: `block_index`
    into `returned_blocks`) with the version's."""
    version = [block for block in version_blocks if block["type"] not in APART_TYPES]
    returned = [block for block in returned_blocks if block["type"] not in APART_TYPES]
    changes: list[FoundChange] = []
    anchor_of: dict[str, str | None] = {}  # a returned block's id -> the version passage it is, or follows
    previous: str | None = None
    unchanged = found = 0
    for row in redline(version, returned).rows:
        if row.status == "equal":
            unchanged += 1
            found += 1
        elif row.status == "changed":
            found += 1
            old = next(block for block in version if block.get("id") == row.old_id)
            if old["type"] not in TEXT_TYPES:
                changes.append(FoundChange(REPLACED_PASSAGE, row.old_id, 0, len(row.old_text), row.old_text, row.new_text))
            else:
                changes.extend(_stretches(row.old_id, row.segments))
        elif row.status == "deleted":
            changes.append(FoundChange(REMOVED_PASSAGE, row.old_id, 0, len(row.old_text), row.old_text, ""))
        else:
            changes.append(FoundChange(NEW_PASSAGE, previous, 0, 0, "", row.new_text))
        if row.old_id is not None:
            previous = row.old_id
        if row.new_id is not None:
            anchor_of[row.new_id] = row.old_id if row.old_id is not None else previous
    comments = []
    for comment in word_comments:
        index = comment.get("block_index")
        block = returned_blocks[index] if index is not None and 0 <= index < len(returned_blocks) else None
        comments.append(FoundComment(
            block_id=anchor_of.get(block.get("id")) if block is not None else None,
            author=comment.get("author", ""), date=comment.get("date", ""), text=comment.get("text", ""),
            quote=comment.get("quote", ""), parent=comment.get("parent")))
    return Comparison(changes=changes, comments=comments, passages=len(version), unchanged=unchanged,
                      kept=found / len(version) if version else 0.0)


def _stretches(block_id: str, segments: list[tuple[str, str]]) -> list[FoundChange]:
    """One change per changed stretch of a passage; stretches only whitespace apart are joined."""
    hunks: list[list] = []  # [start, end, old, new] in the version's text
    position = 0
    gap: str | None = None  # the equal text since the last hunk
    for op, text in segments:
        if op == EQUAL:
            gap = text if hunks else None
            position += len(text)
            continue
        if hunks and gap is not None and gap.strip() == "":
            hunk = hunks[-1]
            hunk[1], hunk[2], hunk[3] = hunk[1] + len(gap), hunk[2] + gap, hunk[3] + gap
        elif not hunks or gap is not None:
            hunks.append([position, position, "", ""])
        gap = None
        hunk = hunks[-1]
        if op == DELETE:
            hunk[1] += len(text)
            hunk[2] += text
            position += len(text)
        elif op == INSERT:
            hunk[3] += text
    return [FoundChange(TEXT, block_id, start, end, old, new) for start, end, old, new in hunks if old != new]
