"""A redline of two versions as a .docx with Word tracked changes, for reviewers who work in Word."""

from __future__ import annotations

from datetime import datetime

from storage.docx_redline import RedlineBlock, write_redline_docx
from workflows.redlines import redline


def redline_docx(old_blocks: list[dict], new_blocks: list[dict], *, author: str, date: datetime,
                 title: str | None = None) -> bytes:
    """The newer version with every change from the older one tracked, by `author` at `date`:
    in Word, Accept all gives `new_blocks` and Reject all gives `old_blocks`."""
    # Rows name their blocks by id; numbering copies by position keeps that exact even for
    # blocks that were never given ids.
    old = [{**block, "id": f"b{number}"} for number, block in enumerate(old_blocks, start=1)]
    new = [{**block, "id": f"b{number}"} for number, block in enumerate(new_blocks, start=1)]
    old_by_id = {block["id"]: block for block in old}
    new_by_id = {block["id"]: block for block in new}
    entries = [
        RedlineBlock(row.status, old=old_by_id.get(row.old_id), new=new_by_id.get(row.new_id), segments=row.segments)
        for row in redline(old, new).rows
    ]
    return write_redline_docx(entries, author=author, date=date, title=title)
