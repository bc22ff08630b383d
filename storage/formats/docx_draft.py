"""Write a draft next version as a .docx: a version's blocks with text changes applied as Word tracked changes,
each by its own author and date, optionally with a Word comment on it.

The draft is the version's own export (`docx_writer`: headings, list numbering, tables, notes, headers and
footers, pictures) in which the changed passages carry w:del and w:ins runs. Accept all in Word gives the
blocks `apply_changes` returns; Reject all gives the version as it is.

A change replaces the characters `start:end` of a top-level text block's text (heading, paragraph or list
item; offsets as in `storage.blocks.block_text`) by `text`; `start == end` inserts, an empty `text` deletes.
Changes of one block may not overlap, and may not cut into a note reference (its label is text of the block,
but Word cannot track a change inside it). Two insertions at the same place keep the order they are given in.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from docx.oxml.ns import qn
from docx.oxml.parser import OxmlElement

from storage.formats.docx_redline import _w3c_date
from storage.formats.docx_writer import _clean, _render, _Writer

TEXT_TYPES = ("heading", "paragraph", "list_item")
EQUAL, DELETE, INSERT, WHOLE = "equal", "delete", "insert", "whole"
# The formatting an inserted text takes from the run it is typed into.
_FORMAT_KEYS = ("bold", "italic", "underline", "href")
_AFTER_ALL = 1 << 62


@dataclass(frozen=True)
class TextChange:
    """Replace `start:end` of block `block_id`'s text by `text`, tracked as `author`'s change at `date`;
    `comment` (by `comment_author`) becomes a Word comment on the change."""

    block_id: str
    start: int
    end: int
    text: str
    author: str
    date: datetime
    comment: str = ""
    comment_author: str = ""


class DraftRefused(ValueError):
    """The changes do not fit the blocks; `code` says how, `block_id` where."""

    def __init__(self, code: str, block_id: str):
        super().__init__(f"{code}: {block_id}")
        self.code = code
        self.block_id = block_id


def write_draft_docx(blocks: list[dict], changes: Iterable[TextChange], *, title: str | None = None,
                     images: Mapping[str, bytes] | None = None) -> bytes:
    """The version's .docx with the changes tracked (see the module's docstring)."""
    return _render(partial(_TrackingWriter, changes=_grouped(blocks, changes)), blocks, title=title, annex=None,
                   images=images)


def apply_changes(blocks: list[dict], changes: Iterable[TextChange]) -> list[dict]:
    """The blocks as Accept all gives them: a new list, the blocks that did not change shared with `blocks`."""
    grouped = _grouped(blocks, changes)
    result = []
    for block in blocks:
        own = grouped.get(block.get("id"))
        if not own:
            result.append(block)
            continue
        runs: list[dict] = []
        for kind, run, text, _change in _pieces(block, own):
            if kind == DELETE:
                continue
            piece = dict(run, text=text) if kind != WHOLE else dict(run)
            if runs and kind != WHOLE and _mergeable(runs[-1], piece):
                runs[-1]["text"] += piece["text"]
            else:
                runs.append(piece)
        changed = copy.deepcopy({key: value for key, value in block.items() if key != "runs"})
        changed["runs"] = [run for run in runs if run["text"] or run.get("field") is not None]
        changed["text"] = "".join(run["text"] for run in changed["runs"])
        result.append(changed)
    return result


# Checking ----------------------------------------------------------------------------------------------------


def _grouped(blocks: list[dict], changes: Iterable[TextChange]) -> dict[str, list[TextChange]]:
    """The changes per block id, in order, checked against their blocks."""
    by_id = {block.get("id"): block for block in blocks}
    grouped: dict[str, list[TextChange]] = {}
    for change in changes:
        grouped.setdefault(change.block_id, []).append(change)
    for block_id, own in grouped.items():
        block = by_id.get(block_id)
        if block is None:
            raise DraftRefused("unknown_block", block_id)
        if block["type"] not in TEXT_TYPES:
            raise DraftRefused("not_text", block_id)
        length = len(block.get("text", ""))
        own.sort(key=lambda change: (change.start, change.end))  # stable: insertions keep their order
        previous_end = 0
        for change in own:
            if not 0 <= change.start <= change.end <= length:
                raise DraftRefused("out_of_range", block_id)
            if change.start < previous_end:
                raise DraftRefused("overlap", block_id)
            previous_end = change.end
        position = 0
        for run in _runs(block):
            size = len(run["text"])
            if run.get("note") is not None and size and any(
                    change.start < position + size and change.end > position
                    and not (change.start == change.end == position) for change in own):
                raise DraftRefused("crosses_note", block_id)
            position += size
    return grouped


def _runs(block: dict) -> list[dict]:
    return block.get("runs") or [{"text": block.get("text", "")}]


def _mergeable(left: dict, right: dict) -> bool:
    plain = ("note", "field")
    return (not any(left.get(key) is not None for key in plain) and not any(right.get(key) is not None for key in plain)
            and all(bool(left.get(key)) == bool(right.get(key)) if key != "href" else left.get(key) == right.get(key)
                    for key in _FORMAT_KEYS))


# The pieces of a changed block ---------------------------------------------------------------------------------


def _pieces(block: dict, changes: list[TextChange]) -> list[tuple[str, dict, str, TextChange | None]]:
    """(kind, run, text, change): the block's runs cut where changes start and end. EQUAL and DELETE pieces are
    parts of a run; an INSERT piece is a change's text with the formatting of the run it is typed into; a WHOLE
    piece is a note reference or a field, written as it is. A change's insertion follows its deletion."""
    runs = _runs(block)
    pieces: list[tuple[str, dict, str, TextChange | None]] = []
    waiting = list(changes)  # insertions not yet written, in order

    def insert_up_to(position: int) -> None:
        while waiting and waiting[0].end <= position:
            change = waiting.pop(0)
            if change.text:
                pieces.append((INSERT, _typed_into(runs, change.start, change.end), change.text, change))

    position = 0
    for run in runs:
        text = run.get("text", "")
        if run.get("note") is not None or run.get("field") is not None or not text:
            insert_up_to(position)
            if run.get("note") is not None or run.get("field") is not None:
                pieces.append((WHOLE, run, text, None))
            position += len(text)
            continue
        end = position + len(text)
        cuts = sorted({position, end, *(c.start for c in changes if position < c.start < end),
                       *(c.end for c in changes if position < c.end < end)})
        for a, b in zip(cuts, cuts[1:]):
            insert_up_to(a)
            deleting = next((c for c in changes if c.start <= a and b <= c.end and c.start < c.end), None)
            pieces.append((DELETE if deleting else EQUAL, run, text[a - position:b - position], deleting))
        position = end
    insert_up_to(_AFTER_ALL)
    return pieces


def _typed_into(runs: list[dict], start: int, end: int) -> dict:
    """The formatting of the text run a change is typed into: the one its first replaced character is in, or,
    inserting, the one before the place (the first one at the start); never a note or field."""
    at = max(start if end > start else start - 1, 0)
    position, found = 0, None
    for run in runs:
        size = len(run.get("text", ""))
        if run.get("note") is None and run.get("field") is None and size:
            found = found or run  # before the first character: the first text run
            if position <= at < position + size:
                found = run
                break
        position += size
    return {key: found[key] for key in _FORMAT_KEYS if found is not None and found.get(key)}


# Writing --------------------------------------------------------------------------------------------------------


class _TrackingWriter(_Writer):
    """The version's writer, writing the changed blocks' runs as tracked deletions and insertions."""

    def __init__(self, document, notes: list[dict], images: Mapping[str, bytes] | None, *,
                 changes: dict[str, list[TextChange]]):
        super().__init__(document, notes, images)
        self.changes = changes
        self.revision_id = 0

    def _text(self, paragraph, block: dict) -> None:
        own = self.changes.get(block.get("id")) if block.get("id") else None
        if not own:
            super()._text(paragraph, block)
            return
        marked: dict[int, list] = {}  # per change (by position in `own`): its revision elements
        for kind, run, text, change in _pieces(block, own):
            if kind == WHOLE:
                self._run(paragraph, run)
            elif kind == EQUAL:
                self._formatted_run(paragraph, run, text)
            else:
                revision = self._revision(paragraph, run, text, kind, change)
                marked.setdefault(id(change), [change]).append(revision)
        for change, *elements in marked.values():
            if change.comment:
                self._comment(elements[0], elements[-1], change)

    def _revision(self, paragraph, run: dict, text: str, kind: str, change: TextChange):
        """`text` in a w:ins or w:del of the change's author and date (inside the link, if it is one)."""
        element = self._formatted_run(paragraph, run, text)._r
        revision = OxmlElement("w:ins" if kind == INSERT else "w:del")
        self.revision_id += 1
        revision.set(qn("w:id"), str(self.revision_id))
        revision.set(qn("w:author"), _clean(change.author) or "?")
        revision.set(qn("w:date"), _w3c_date(change.date))
        element.addprevious(revision)
        revision.append(element)
        if kind == DELETE:
            for t in element.iter(qn("w:t")):
                t.tag = qn("w:delText")
        # A link's run is inside its w:hyperlink: the anchor of a comment is the outermost element.
        return revision.getparent() if revision.getparent().tag == qn("w:hyperlink") else revision

    def _comment(self, first, last, change: TextChange) -> None:
        comment = self.document.comments.add_comment(text=_clean(change.comment),
                                                      author=_clean(change.comment_author or change.author),
                                                      initials="")
        start = OxmlElement("w:commentRangeStart")
        start.set(qn("w:id"), str(comment.comment_id))
        first.addprevious(start)
        end = OxmlElement("w:commentRangeEnd")
        end.set(qn("w:id"), str(comment.comment_id))
        last.addnext(end)
        reference = OxmlElement("w:r")
        reference.append(OxmlElement("w:commentReference"))
        reference[0].set(qn("w:id"), str(comment.comment_id))
        end.addnext(reference)
