"""The structured text of a version: blocks, their plain text and their content hash.

A block is a plain dict, so a version's text serialises to JSON unchanged:

    {"id": "b3", "type": "heading", "level": 1, "text": "Artikel 1", "runs": [...]}
    {"id": "b4", "type": "paragraph", "text": "...", "runs": [...]}
    {"id": "b5", "type": "list_item", "level": 0, "ordered": True, "label": "1.", "text": "..."}
    {"id": "b6", "type": "table", "rows": [[{"blocks": [...], "colspan": 1, "rowspan": 1}, ...], ...]}
    {"id": "b7", "type": "image", "alt": "Logo"}

`runs` is optional: a list of {"text", "bold", "italic", "underline", "href"} whose texts join to
the block's text; formatting keys are present only when true/set. `level` of a heading is 1..6,
of a list item 0..8. Cells hold blocks of their own (a cell may hold a nested table); cell blocks
carry no id. Top-level blocks get ids "b1", "b2", ... in document order (see `assign_ids`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator

BLOCK_TYPES = ("heading", "paragraph", "list_item", "table", "image")


def assign_ids(blocks: list[dict]) -> list[dict]:
    """Number top-level blocks b1, b2, ... in order (returns the same list)."""
    for number, block in enumerate(blocks, start=1):
        block["id"] = f"b{number}"
    return blocks


def block_text(block: dict) -> str:
    """The text a reader sees in one block; a table's cells are separated by tabs and rows by newlines."""
    if block["type"] == "table":
        return "\n".join(
            "\t".join(" ".join(block_text(inner) for inner in cell["blocks"]) for cell in row)
            for row in block["rows"]
        )
    if block["type"] == "image":
        return ""
    return block.get("text", "")


def plain_text(blocks: Iterable[dict]) -> str:
    """The whole text, one block per paragraph, blank line between blocks."""
    return "\n\n".join(block_text(block) for block in blocks)


def iter_text_blocks(blocks: Iterable[dict]) -> Iterator[dict]:
    """Every block that carries text, descending into table cells, in reading order."""
    for block in blocks:
        if block["type"] == "table":
            for row in block["rows"]:
                for cell in row:
                    yield from iter_text_blocks(cell["blocks"])
        elif block["type"] != "image":
            yield block


def canonical_json(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_hash(blocks: list[dict]) -> str:
    """sha256 of the canonical JSON of the blocks: equal text and structure give an equal hash."""
    return hashlib.sha256(canonical_json(blocks).encode("utf-8")).hexdigest()


def word_count(blocks: Iterable[dict]) -> int:
    return sum(len(block_text(b).split()) for b in blocks)
