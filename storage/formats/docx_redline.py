"""Write a redline of two versions as a .docx with Word tracked changes: Accept all gives the newer
version, Reject all the older one.

The input is plain data, one `RedlineBlock` per block of the redline in reading order: its status,
the block as it stands in the older and in the newer version, and for a changed block the segments
(op, text) that turn the older text into the newer one. How the tracked changes are written:

- equal: the block as it is. Formatting or list numbering that differs between the versions (the
  comparison looks at text only) is tracked as a formatting change (w:rPrChange, w:pPrChange).
- changed: one paragraph; equal segments are plain runs, inserted ones sit in w:ins, deleted ones in
  w:del with w:delText. Heading style and list numbering are the newer version's; where the older
  differs, a w:pPrChange keeps it. Each run keeps the bold, italic, underline and link of its side.
- inserted / deleted: every run in w:ins / w:del and the paragraph mark itself marked inserted /
  deleted (w:pPr/w:rPr/w:ins|w:del), so that accepting a deletion removes the paragraph entirely.
- tables: an unchanged table as it is. A changed table whose rows line up (same number of grid
  columns, no vertically merged cells) keeps its unchanged rows and shows the others as deleted
  rows of the older table and inserted rows of the newer (w:trPr/w:del, w:trPr/w:ins, their cell
  contents deleted or inserted); any other changed table is shown as the whole older table deleted
  followed by the whole newer table inserted.

List labels come from Word's own numbering, counted once for each version: an item inserted into a
list makes the items after it count on in the newer version, and the older version counts them as
before. Where one list definition cannot give both versions' labels, each version gets its own and
the paragraph's older numbering is kept in its w:pPrChange.

The redline covers the running text. Notes, headers and footers (the blocks that follow it) are
left out, and a reference to a note is written as its label, plain text.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime
from difflib import SequenceMatcher
from itertools import groupby

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml.table import CT_Tbl
from docx.shared import RGBColor
from docx.table import Table
from lxml import etree

# The export's own layout and numbering helpers, so that a redline lays out tables and fits list
# labels exactly as a version's .docx does.
from storage.formats.docx_reader import Level, label_for, next_counters
from storage.formats.docx_writer import (
    IMAGE_PLACEHOLDER,
    _clean,
    _default_level,
    _fit_label,
    _layout,
    _Numbering,
    _span,
)

EQUAL, INSERT, DELETE = "equal", "insert", "delete"
STATUSES = ("equal", "changed", "inserted", "deleted")

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_BREAKS = re.compile(r"(\t|\n|\r)")
_OLD, _NEW = "old", "new"
# Blocks that follow the running text: see the module's docstring.
_APART_TYPES = ("note", "header", "footer")


@dataclass(frozen=True)
class RedlineBlock:
    """One block of a redline: `old` and `new` are the block in either version (None where the
    block is not in that version); `segments` are (op, text) with op "equal", "insert" or
    "delete" and matter for a changed text block only."""

    status: str
    old: dict | None = None
    new: dict | None = None
    segments: Sequence[tuple[str, str]] = ()


def write_redline_docx(entries: Iterable[RedlineBlock], *, author: str, date: datetime,
                       title: str | None = None) -> bytes:
    """A .docx of the redline, every revision by `author` at `date` (a naive date is taken as UTC)."""
    document = Document()
    if title:
        document.core_properties.title = _clean(title)
    writer = _RedlineWriter(document, _clean(author), _w3c_date(date))
    for entry in entries:
        writer.entry(entry)
    writer.finish()
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _w3c_date(date: datetime) -> str:
    if date.tzinfo is not None:
        date = date.astimezone(UTC)
    return date.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


class _RedlineWriter:
    def __init__(self, document, author: str, date: str):
        self.document = document
        body = document.element.body
        self.end = body.find(_W + "sectPr")
        if self.end is None:
            self.end = etree.SubElement(body, _W + "sectPr")
        section = document.sections[-1]
        self.width = section.page_width - section.left_margin - section.right_margin
        self.style_ids = {style.name: style.style_id for style in document.styles}
        self.lists = _TrackedLists(_Numbering(document))
        self.author, self.date = author, date
        self.next_id = 1
        self.links: dict[str, str] = {}
        self.link_style_id: str | None = None

    # dispatch

    def entry(self, entry: RedlineBlock) -> None:
        if entry.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {entry.status!r}")
        old = entry.old if entry.status != "inserted" else None
        new = entry.new if entry.status != "deleted" else None
        if entry.status == "equal":
            old, new = old if old is not None else new, new if new is not None else old
        if old is None and new is None:
            raise ValueError(f"a {entry.status} block needs its block")
        old = None if old is not None and old["type"] in _APART_TYPES else old
        new = None if new is not None and new["type"] in _APART_TYPES else new
        if old is None and new is None:
            return
        self._block(old, new, entry.segments if entry.status == "changed" else None, self.end.addprevious, self.width)

    def finish(self) -> None:
        self._anchor_marks_before_tables()
        last = self.end.getprevious()
        if last is not None and last.find(f"{_W}pPr/{_W}rPr") is not None:
            # Word cannot remove a document's last paragraph mark: an inserted or deleted last
            # paragraph would stay behind empty (with its list number) after Reject or Accept all.
            self.end.addprevious(etree.Element(_W + "p"))

    def _anchor_marks_before_tables(self) -> None:
        """Inserted or deleted paragraphs right before a table, encoded the way Word records them.

        Accepting or rejecting a paragraph mark joins the paragraph to the next one, and a paragraph
        cannot join a table: Word and LibreOffice leave it behind, empty. Word itself records
        "Enter at the end of A, then type X" with A's mark inserted and X holding A's original mark
        (X's own formatting as a change from A's). So the revision moves to the mark of the
        paragraph before the run, and the run's last paragraph gets the formatting change.
        """
        for table in list(self.end.getparent().iterchildren(_W + "tbl")):
            last = table.getprevious()
            revision = _mark_revision(last)
            if revision is None:
                continue
            anchor = last
            while _mark_revision(anchor) is not None and _mark_revision(anchor).tag == revision.tag:
                anchor = anchor.getprevious()
            if anchor is None or anchor.tag != _W + "p" or _mark_revision(anchor) is not None:
                continue  # no plain paragraph before the run: leave it (an empty paragraph may remain)
            anchor_ppr = anchor.find(_W + "pPr")
            if anchor_ppr is None:
                anchor_ppr = etree.Element(_W + "pPr")
                anchor.insert(0, anchor_ppr)
            anchor_rpr = anchor_ppr.find(_W + "rPr")
            if anchor_rpr is None:
                anchor_rpr = etree.Element(_W + "rPr")
                later = next((c for c in anchor_ppr if c.tag in (_W + "sectPr", _W + "pPrChange")), None)
                if later is not None:
                    later.addprevious(anchor_rpr)  # the schema orders rPr before sectPr and pPrChange
                else:
                    anchor_ppr.append(anchor_rpr)
            revision.getparent().remove(revision)
            anchor_rpr.append(revision)
            last_ppr = last.find(_W + "pPr")
            # After the change the last paragraph carries the surviving mark: inserting, it becomes
            # X formatted as X (older: A); deleting, it becomes A's paragraph (older: D).
            ours = [deepcopy(c) for c in last_ppr if c.tag not in (_W + "rPr", _W + "pPrChange", _W + "sectPr")]
            theirs = [deepcopy(c) for c in anchor_ppr if c.tag not in (_W + "rPr", _W + "pPrChange", _W + "sectPr")]
            current, older = (ours, theirs) if revision.tag == _W + "ins" else (theirs, ours)
            for child in list(last_ppr):
                if child.tag not in (_W + "rPr", _W + "sectPr"):
                    last_ppr.remove(child)
            for offset, child in enumerate(current):
                last_ppr.insert(offset, child)
            change = etree.SubElement(last_ppr, _W + "pPrChange")
            self._stamp(change)
            older_ppr = etree.SubElement(change, _W + "pPr")
            for child in older:
                older_ppr.append(child)
            rpr = last_ppr.find(_W + "rPr")
            if rpr is not None and len(rpr) == 0:
                last_ppr.remove(rpr)

    def _block(self, old: dict | None, new: dict | None, segments, add, width) -> None:
        """Write one block of the redline (None on the side it is not in) through `add`."""
        if old is not None and new is not None and _is_table(old) != _is_table(new):
            # A table and a paragraph are not one block changed: show the one gone, the other come.
            self._block(old, None, None, add, width)
            self._block(None, new, None, add, width)
        elif _is_table(old if old is not None else new):
            self._table(old, new, add, width)
        else:
            add(self._paragraph(old, new, segments))

    def _stamp(self, element) -> None:
        element.set(_W + "id", str(self.next_id))
        element.set(_W + "author", self.author)
        element.set(_W + "date", self.date)
        self.next_id += 1

    def _revision(self, parent, op: str):
        element = etree.SubElement(parent, _W + ("ins" if op == INSERT else "del"))
        self._stamp(element)
        return element

    # paragraphs

    def _paragraph(self, old: dict | None, new: dict | None, segments):
        old_text = _written(old) if old is not None else None
        new_text = _written(new) if new is not None else None
        nums = self.lists.place(_list_item(old), _list_item(new))
        old_props = _props(old, nums.get(_OLD), self.style_ids) if old is not None else None
        new_props = _props(new, nums.get(_NEW), self.style_ids) if new is not None else None

        p = etree.Element(_W + "p")
        ppr = etree.SubElement(p, _W + "pPr")
        _write_props(ppr, new_props if new_props is not None else old_props)
        if old is None or new is None:
            self._revision(etree.SubElement(ppr, _W + "rPr"), INSERT if old is None else DELETE)
        elif old_props != new_props:
            change = etree.SubElement(ppr, _W + "pPrChange")
            self._stamp(change)
            _write_props(etree.SubElement(change, _W + "pPr"), old_props)
        if len(ppr) == 0:
            p.remove(ppr)

        if old is None:
            pieces = _pieces([(INSERT, new_text["text"])], None, new_text)
        elif new is None:
            pieces = _pieces([(DELETE, old_text["text"])], old_text, None)
        else:
            pieces = _pieces(_segments(old, new, old_text, new_text, segments), old_text, new_text)
        self._runs(p, pieces)
        return p

    def _runs(self, p, pieces: list[tuple]) -> None:
        for href, linked in groupby(pieces, key=lambda piece: piece[2][3]):
            container = p
            if href:
                container = etree.SubElement(p, _W + "hyperlink")
                container.set(_R_ID, self._link(href))
            for op, same_op in groupby(linked, key=lambda piece: piece[0]):
                parent = container if op == EQUAL else self._revision(container, op)
                for _, text, fmt, old_fmt in same_op:
                    self._run(parent, text, fmt, old_fmt, deleted=op == DELETE)

    def _run(self, parent, text: str, fmt: tuple, old_fmt: tuple | None, deleted: bool) -> None:
        run = etree.SubElement(parent, _W + "r")
        rpr = _run_props(run, fmt, self._link_style() if fmt[3] else None)
        if old_fmt is not None:
            if rpr is None:
                rpr = etree.SubElement(run, _W + "rPr")
            change = etree.SubElement(rpr, _W + "rPrChange")
            self._stamp(change)
            _run_props(change, old_fmt, self._link_style() if old_fmt[3] else None, always=True)
        for part in _BREAKS.split(_clean(text)):
            if part == "\t":
                etree.SubElement(run, _W + "tab")
            elif part in ("\n", "\r"):
                etree.SubElement(run, _W + "br")
            elif part:
                t = etree.SubElement(run, _W + ("delText" if deleted else "t"))
                t.set(_XML_SPACE, "preserve")
                t.text = part

    def _link(self, href: str) -> str:
        if href not in self.links:
            self.links[href] = self.document.part.relate_to(_clean(href), RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        return self.links[href]

    def _link_style(self) -> str:
        if self.link_style_id is None:
            # As in a version's export: the default template has no Hyperlink style.
            style = self.document.styles.add_style("Akkoord Hyperlink", WD_STYLE_TYPE.CHARACTER)
            style.font.color.rgb = RGBColor(0x05, 0x63, 0xC1)
            style.font.underline = True
            self.link_style_id = style.style_id
        return self.link_style_id

    # tables

    def _table(self, old: dict | None, new: dict | None, add, width) -> None:
        if old is None or new is None or _without_ids(old) == _without_ids(new):
            block = new if new is not None else old
            status = EQUAL if old is not None and new is not None else INSERT if old is None else DELETE
            self._rows(block.get("rows") or [], [status] * len(block.get("rows") or []), add, width)
            return
        old_rows, new_rows = old.get("rows") or [], new.get("rows") or []
        if _has_rowspan(old) or _has_rowspan(new) or _layout(old_rows)[2] != _layout(new_rows)[2]:
            self._rows(old_rows, [DELETE] * len(old_rows), add, width)
            self._rows(new_rows, [INSERT] * len(new_rows), add, width)
            return
        # The rows line up: unchanged rows stay, the others are deleted and inserted in place.
        rows, statuses = [], []
        matcher = SequenceMatcher(None, [_row_key(r) for r in old_rows], [_row_key(r) for r in new_rows],
                                  autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                rows += new_rows[j1:j2]
                statuses += [EQUAL] * (j2 - j1)
            else:
                rows += old_rows[i1:i2] + new_rows[j1:j2]
                statuses += [DELETE] * (i2 - i1) + [INSERT] * (j2 - j1)
        self._rows(rows, statuses, add, width)

    def _rows(self, rows: list[list[dict]], statuses: list[str], add, width) -> None:
        """A table of these rows, each equal, inserted or deleted, laid out as a version's export lays
        them out (merged cells, short rows kept short)."""
        placements, row_count, column_count = _layout(rows)
        if not placements:
            return
        tbl = CT_Tbl.new_tbl(row_count, column_count, width)
        tbl.tblStyle_val = self.style_ids["Table Grid"]
        add(tbl)
        grid = [list(row.cells) for row in Table(tbl, self.document).rows]
        covered = set()
        for row, column, rowspan, colspan, _ in placements:
            _span(grid, row, column, rowspan, colspan)
            covered.update((row + r, column + c) for r in range(rowspan) for c in range(colspan))
        for row_index, row in enumerate(grid):
            for column, word_cell in enumerate(row):
                if (row_index, column) not in covered:
                    word_cell._tc.getparent().remove(word_cell._tc)
        for tr, status in zip(tbl.findall(_W + "tr"), statuses, strict=True):
            if status != EQUAL:
                self._revision(_row_properties(tr), status)
        for row, column, _, _, cell in placements:
            self._cell(grid[row][column]._tc, cell.get("blocks") or [], statuses[row])

    def _cell(self, tc, blocks: list[dict], status: str) -> None:
        for spare in tc.findall(_W + "p"):
            tc.remove(spare)
        old = status != INSERT
        new = status != DELETE
        width = tc.width or self.width
        for block in blocks:
            self._block(block if old else None, block if new else None, None, tc.append, width)
        if tc[-1].tag != _W + "p":
            # A cell ends with a paragraph, also after a table and when it is empty.
            p = etree.SubElement(tc, _W + "p")
            if status != EQUAL:
                self._revision(etree.SubElement(etree.SubElement(p, _W + "pPr"), _W + "rPr"), status)


# --- blocks as written -------------------------------------------------------------------------


def _mark_revision(p):
    """The w:ins or w:del on a paragraph's mark, if any."""
    if p is None or p.tag != _W + "p":
        return None
    return p.find(f"{_W}pPr/{_W}rPr/{_W}ins") if p.find(f"{_W}pPr/{_W}rPr/{_W}ins") is not None \
        else p.find(f"{_W}pPr/{_W}rPr/{_W}del")


def _is_table(block: dict) -> bool:
    return block["type"] == "table"


def _without_ids(block: dict) -> dict:
    return {key: value for key, value in block.items() if key != "id"}


def _written(block: dict) -> dict:
    """The block's text and runs as the paragraph shows them; an image is written as its placeholder."""
    if block["type"] == "image":
        text = _image_text(block)
        return {"text": text, "runs": [{"text": text, "italic": True}]}
    return {"text": block.get("text", ""), "runs": block.get("runs") or [{"text": block.get("text", "")}]}


def _image_text(block: dict) -> str:
    alt = block.get("alt") or ""
    return IMAGE_PLACEHOLDER.format(alt=alt) if alt else "[Afbeelding]"


def _segments(old: dict, new: dict, old_text: dict, new_text: dict, segments) -> list[tuple[str, str]]:
    """Segments from the older written text to the newer one.

    The caller's segments are used when they give back both texts; otherwise (an equal block, an
    image, segments that do not fit) the whole text is deleted and inserted, so that accepting
    and rejecting stay exact whatever the segments were.
    """
    a, b = old_text["text"], new_text["text"]
    if segments and old["type"] == "image" == new["type"] and old.get("alt") and new.get("alt"):
        head, tail = IMAGE_PLACEHOLDER.split("{alt}")
        segments = [(EQUAL, head), *segments, (EQUAL, tail)]
    if segments and _side(segments, INSERT) == a and _side(segments, DELETE) == b:
        return [(op, text) for op, text in segments if text]
    if a == b:
        return [(EQUAL, a)] if a else []
    return [(op, text) for op, text in ((DELETE, a), (INSERT, b)) if text]


def _side(segments, leave_out: str) -> str:
    return "".join(text for op, text in segments if op != leave_out)


def _format(run: dict) -> tuple:
    return bool(run.get("bold")), bool(run.get("italic")), bool(run.get("underline")), run.get("href")


class _RunCursor:
    """A block's runs, read from the start a number of characters at a time."""

    def __init__(self, written: dict | None):
        self.runs = [(len(run["text"]), _format(run)) for run in (written or {}).get("runs", []) if run["text"]]
        self.index = 0
        self.offset = 0

    def left(self) -> int:
        return self.runs[self.index][0] - self.offset if self.index < len(self.runs) else 1 << 62

    def format(self) -> tuple:
        return self.runs[self.index][1] if self.index < len(self.runs) else (False, False, False, None)

    def advance(self, count: int) -> None:
        self.offset += count
        if self.index < len(self.runs) and self.offset >= self.runs[self.index][0]:
            self.index += 1
            self.offset = 0


def _pieces(segments, old_text: dict | None, new_text: dict | None) -> list[tuple]:
    """(op, text, format, older format or None) pieces: the segments cut where either side's run
    formatting changes. An equal piece whose link differs becomes deleted and inserted text, as
    Word tracks no change of a link; other formatting differences become the older format."""
    old_runs, new_runs = _RunCursor(old_text), _RunCursor(new_text)
    pieces = []
    for op, text in segments:
        position = 0
        while position < len(text):
            count = len(text) - position
            if op != DELETE:
                count = min(count, new_runs.left())
            if op != INSERT:
                count = min(count, old_runs.left())
            piece = text[position:position + count]
            if op == INSERT:
                pieces.append((op, piece, new_runs.format(), None))
            elif op == DELETE:
                pieces.append((op, piece, old_runs.format(), None))
            else:
                old_fmt, new_fmt = old_runs.format(), new_runs.format()
                if old_fmt[3] != new_fmt[3]:
                    pieces.append((DELETE, piece, old_fmt, None))
                    pieces.append((INSERT, piece, new_fmt, None))
                else:
                    pieces.append((EQUAL, piece, new_fmt, old_fmt if old_fmt != new_fmt else None))
            if op != DELETE:
                new_runs.advance(count)
            if op != INSERT:
                old_runs.advance(count)
            position += count
    return pieces


def _run_props(parent, fmt: tuple, link_style: str | None, always: bool = False):
    """The w:rPr of a run of this format (None when it needs none and `always` is off)."""
    bold, italic, underline, _ = fmt
    if not (link_style or bold or italic or underline or always):
        return None
    rpr = etree.SubElement(parent, _W + "rPr")
    if link_style:
        etree.SubElement(rpr, _W + "rStyle").set(_W + "val", link_style)
    if bold:
        etree.SubElement(rpr, _W + "b")
    if italic:
        etree.SubElement(rpr, _W + "i")
    if underline:
        etree.SubElement(rpr, _W + "u").set(_W + "val", "single")
    return rpr


def _props(block: dict, num_id: int | None, style_ids: dict[str, str]) -> tuple:
    """(paragraph style id, (ilvl, numId) or None) of a block, as the version's export writes it."""
    if block["type"] == "heading":
        return style_ids[f"Heading {min(max(int(block.get('level', 1)), 1), 6)}"], None
    if block["type"] == "list_item":
        return style_ids["List Paragraph"], (_list_level(block), num_id)
    return None, None


def _write_props(ppr, props: tuple) -> None:
    style_id, numbering = props
    if style_id:
        etree.SubElement(ppr, _W + "pStyle").set(_W + "val", style_id)
    if numbering:
        numpr = etree.SubElement(ppr, _W + "numPr")
        etree.SubElement(numpr, _W + "ilvl").set(_W + "val", str(numbering[0]))
        etree.SubElement(numpr, _W + "numId").set(_W + "val", str(numbering[1]))


def _list_level(block: dict) -> int:
    return min(max(int(block.get("level", 0)), 0), 8)


def _list_item(block: dict | None) -> tuple[int, str, bool] | None:
    if block is None or block["type"] != "list_item":
        return None
    return _list_level(block), block.get("label", ""), bool(block.get("ordered"))


def _has_rowspan(table: dict) -> bool:
    return any(int(cell.get("rowspan", 1)) > 1 for row in table.get("rows") or [] for cell in row)


def _row_properties(tr):
    trpr = tr.find(_W + "trPr")
    if trpr is None:
        trpr = etree.Element(_W + "trPr")
        tr.insert(1 if len(tr) and tr[0].tag == _W + "tblPrEx" else 0, trpr)
    return trpr


def _row_key(row: list[dict]) -> str:
    return json.dumps(row, ensure_ascii=False, sort_keys=True)


# --- list numbering in both versions -----------------------------------------------------------


class _TrackedLists:
    """Word numbering for the list items of a redline, counted as each version shows them.

    Word counts ordered lists per abstract definition; every ordered w:num the writer makes
    restarts all levels where it is first used (see storage.formats.docx_writer). Each version ("old",
    "new") has its own counters, because each sees only its own paragraphs. An item present in
    both versions gets one w:num that gives both labels when there is one; otherwise each
    version gets its own, and the paragraph carries the older one in its w:pPrChange.
    """

    def __init__(self, numbering):
        self.numbering = numbering
        self.counters = {_OLD: [None] * 9, _NEW: [None] * 9}
        self.used: dict[str, set[int]] = {_OLD: set(), _NEW: set()}
        self.current: dict[str, int | None] = {_OLD: None, _NEW: None}
        self.levels: dict[int, list[Level]] = {}
        self.deepest: dict[int, int] = {}

    def place(self, old: tuple | None, new: tuple | None) -> dict[str, int]:
        """The numId of a list item in each version it is a list item in."""
        out = {}
        items = {}
        for view, item in ((_NEW, new), (_OLD, old)):
            if item is None:
                continue
            ilvl, label, ordered = item
            if ordered:
                items[view] = (ilvl, label)
            else:
                out[view] = self.numbering.bullets()
        if items:
            out.update(self._ordered(items))
        return out

    def _ordered(self, items: dict[str, tuple[int, str]]) -> dict[str, int]:
        # A list a version is in continues there; where the other version has not used it yet it
        # starts there, which is what an item inserted at the head of a list needs.
        for num in dict.fromkeys(self.current[view] for view in items):
            if num is not None and self._continue(num, items):
                return dict.fromkeys(items, num)
        for ilvl, label in dict.fromkeys(items.values()):
            num = self._start(ilvl, label, items)
            if num is not None:
                return dict.fromkeys(items, num)
        # The versions need different numbering here: each its own.
        out = {}
        for view, (ilvl, label) in items.items():
            one = {view: (ilvl, label)}
            num = self.current[view]
            if num is None or not self._continue(num, one):
                num = self._start(ilvl, label, one) or self._start(ilvl, label, one, literal=True)
            out[view] = num
        return out

    def _continue(self, num: int, items: dict) -> bool:
        """Place the items on `num`, as it is or with a level it has not used yet fitted to the label."""
        levels = self.levels[num]
        counters = self._count(num, levels, items)
        ilvls = {ilvl for ilvl, _ in items.values()}
        if counters is None and len(ilvls) == 1:
            (ilvl,) = ilvls
            if ilvl > self.deepest[num]:
                levels = list(levels)
                levels[ilvl] = _fit_label(next(iter(items.values()))[1], ilvl)[ilvl]
                counters = self._count(num, levels, items)
                if counters is not None:
                    self.numbering.set_level(num, ilvl, levels[ilvl])
                    self.levels[num] = levels
        if counters is None:
            return False
        self._commit(num, counters, ilvls)
        return True

    def _start(self, ilvl: int, label: str, items: dict, literal: bool = False) -> int | None:
        """A new list fitted to `label` that gives every item its label, or None."""
        levels = [_default_level(k) for k in range(9)]
        for k, level in _fit_label(label, ilvl).items():
            levels[k] = level
        if literal:
            # The label holds no number to count with: the list shows it as it is.
            levels[ilvl] = Level(fmt="decimal", text=label.replace("%", ""), start=1)
        counters = self._count(None, levels, items, check=not literal)
        if counters is None:
            return None
        num = self.numbering.ordered(levels)
        self.levels[num] = levels
        self.deepest[num] = -1
        self._commit(num, counters, {ilvl for ilvl, _ in items.values()})
        return num

    def _count(self, num: int | None, levels: list[Level], items: dict, check: bool = True) -> dict | None:
        """Each version's counters after the item, or None when a label would come out wrong."""
        out = {}
        for view, (ilvl, label) in items.items():
            counters = list(self.counters[view]) if num in self.used[view] else [None] * 9
            next_counters(counters, levels, ilvl)
            if check and label_for(counters, levels, ilvl) != label:
                return None
            out[view] = counters
        return out

    def _commit(self, num: int, counters: dict, ilvls: set[int]) -> None:
        for view, view_counters in counters.items():
            self.counters[view] = view_counters
            self.used[view].add(num)
            self.current[view] = num
        self.deepest[num] = max(self.deepest[num], *ilvls)
