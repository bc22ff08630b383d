"""A version's table of contents: its headings, nested by level, each naming the passage it opens."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.blocks import block_text


@dataclass
class Heading:
    """One heading of the running text; `children` are the headings of lower rank that follow it."""

    id: str
    text: str
    level: int
    children: list[Heading] = field(default_factory=list)


def outline(blocks: list[dict]) -> list[Heading]:
    """The headings of the running text (top-level heading blocks with text), nested by level.

    A level that skips ranks (a level 3 straight under a level 1) nests under the nearest higher heading, and a
    heading of higher rank than the first one starts a new top-level entry: nothing is left out or invented."""
    roots: list[Heading] = []
    open_: list[Heading] = []  # the chain of headings the next one may nest under
    for block in blocks:
        if block.get("type") != "heading" or not block.get("id"):
            continue
        text = " ".join(block_text(block).split())
        if not text:
            continue
        heading = Heading(id=block["id"], text=text, level=int(block.get("level") or 1))
        while open_ and open_[-1].level >= heading.level:
            open_.pop()
        (open_[-1].children if open_ else roots).append(heading)
        open_.append(heading)
    return roots


def count(headings: list[Heading]) -> int:
    """How many headings the outline holds, at every depth."""
    return sum(1 + count(h.children) for h in headings)
