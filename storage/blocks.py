"""The structured text of a version: blocks, their plain text and their content hash.

A block is a plain dict, so a version's text serialises to JSON unchanged:

    {"id": "b3", "type": "heading", "level": 1, "text": "Artikel 1", "runs": [...]}
    {"id": "b4", "type": "paragraph", "text": "...", "runs": [...]}
    {"id": "b5", "type": "list_item", "level": 0, "ordered": True, "label": "1.", "text": "..."}
    {"id": "b6", "type": "table", "rows": [[{"blocks": [...], "colspan": 1, "rowspan": 1}, ...], ...]}
    {"id": "b7", "type": "image", "alt": "Logo", "blob": "<sha256>", "content_type": "image/png",
     "width": 914400, "height": 457200}
    {"id": "b8", "type": "note", "kind": "footnote", "label": "1", "note": "fn1", "blocks": [...]}
    {"id": "b9", "type": "header", "variant": "default", "blocks": [...]}

An image names its picture's bytes by their sha256 ("blob", kept as a Blob beside the version, never in the
block) and keeps the size Word drew it at in EMU; an image read without its bytes has only "alt".

`runs` is optional: a list of {"text", "bold", "italic", "underline", "href"} whose texts join to
the block's text; formatting keys are present only when true/set. A run {"text": "1", "note": "fn1"}
is a reference to a note: its text is the note's label as Word shows it, and part of the block's
text like any other run. A run {"text": "", "field": "PAGE"} is a page-number field in a header or
footer (PAGE, NUMPAGES, SECTIONPAGES, SECTION with its switches): no text of its own. `level` of a heading is 1..6, of a list item 0..8. Cells hold blocks of
their own (a cell may hold a nested table); cell blocks carry no id.

The body comes first. After it come the notes ("footnote" or "endnote", in the order of their first
reference; `label` as Word shows it, `note` the id the references use) and then the headers and
footers ("header" or "footer"; `variant` "default", "first" or "even"), each holding blocks like
a cell does. Top-level blocks get ids "b1", "b2", ... in document order (see `assign_ids`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator

BLOCK_TYPES = ("heading", "paragraph", "list_item", "table", "image", "note", "header", "footer")
# Top-level blocks that hold blocks of their own and are not part of the running text.
APART_TYPES = ("note", "header", "footer")


def assign_ids(blocks: list[dict]) -> list[dict]:
    """Number top-level blocks b1, b2, ... in order (returns the same list)."""
    for number, block in enumerate(blocks, start=1):
        block["id"] = f"b{number}"
    return blocks


def block_text(block: dict) -> str:
    """The text a reader sees in one block; a table's cells are separated by tabs and rows by newlines.

    A note, header or footer reads as its blocks, one per line (a note without its label: the
    label is the reference's text in the body).
    """
    kind = block["type"]
    if kind == "table":
        return "\n".join(
            "\t".join(" ".join(block_text(inner) for inner in cell["blocks"]) for cell in row)
            for row in block["rows"]
        )
    if kind == "image":
        return ""
    if kind in APART_TYPES:
        return "\n".join(block_text(inner) for inner in block.get("blocks", ()))
    return block.get("text", "")


def body_blocks(blocks: Iterable[dict]) -> list[dict]:
    """The running text only: without the notes, headers and footers that follow it."""
    return [block for block in blocks if block["type"] not in APART_TYPES]


def plain_text(blocks: Iterable[dict]) -> str:
    """The whole text, one block per paragraph, blank line between blocks.

    Notes, headers and footers count as blocks too; compare `plain_text(body_blocks(blocks))`
    where only the running text matters.
    """
    return "\n\n".join(block_text(block) for block in blocks)


def iter_text_blocks(blocks: Iterable[dict]) -> Iterator[dict]:
    """Every block that carries text, descending into table cells, notes, headers and footers, in reading order."""
    for block in blocks:
        kind = block["type"]
        if kind == "table":
            for row in block["rows"]:
                for cell in row:
                    yield from iter_text_blocks(cell["blocks"])
        elif kind in APART_TYPES:
            yield from iter_text_blocks(block.get("blocks", ()))
        elif kind != "image":
            yield block


def image_blobs(blocks: Iterable[dict]) -> set[str]:
    """The sha256 of every picture the blocks show, in tables, notes, headers and footers too."""
    found = set()
    for block in blocks:
        kind = block["type"]
        if kind == "image" and block.get("blob"):
            found.add(block["blob"])
        elif kind == "table":
            found |= image_blobs(inner for row in block["rows"] for cell in row for inner in cell["blocks"])
        elif kind in APART_TYPES:
            found |= image_blobs(block.get("blocks", ()))
    return found


def canonical_json(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_hash(blocks: list[dict]) -> str:
    """sha256 of the canonical JSON of the blocks: equal text and structure give an equal hash."""
    return hashlib.sha256(canonical_json(blocks).encode("utf-8")).hexdigest()


def word_count(blocks: Iterable[dict]) -> int:
    return sum(len(block_text(b).split()) for b in blocks)
