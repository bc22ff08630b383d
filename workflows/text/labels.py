"""Passages named in a few words (for a screen reader's link names), and words a reader names found in a passage."""

from __future__ import annotations

import re
from collections.abc import Iterable

from storage.blocks import block_text

NAME_WORDS = 6  # enough to tell 2,000 passages apart in a list of links, short enough to hear
NAME_CHARS = 60


def passage_names(blocks: Iterable[dict]) -> dict[str, str]:
    """Each block's short name: a heading by its text ("Artikel 4.2 Taken"), a list item by its label and first words,
    any other passage by its first words in quotes."""
    names = {}
    for block in blocks:
        text = " ".join(block_text(block).split())
        words = text.split(" ")
        short = " ".join(words[:NAME_WORDS])
        if len(short) > NAME_CHARS:
            short = short[:NAME_CHARS].rsplit(" ", 1)[0] or short[:NAME_CHARS]
        if short != text:
            short += "…"
        if block.get("type") == "heading":
            names[block["id"]] = short
        elif block.get("type") == "list_item" and block.get("label"):
            names[block["id"]] = f"{block['label']} “{short}”"
        else:
            names[block["id"]] = f"“{short}”" if short else block["id"]
    return names


def find_words(text: str, words: str) -> tuple[int, int] | None:
    """The span of the first place in `text` where `words` stand, as a reader types or pastes them: any run of white
    space counts as any other, and case only decides between places that match either way. None: not there."""
    parts = words.split()
    if not parts:
        return None
    pattern = r"\s+".join(re.escape(part) for part in parts)
    found = re.search(pattern, text) or re.search(pattern, text, re.IGNORECASE)
    return (found.start(), found.end()) if found else None
