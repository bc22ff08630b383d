"""The evidence dossier as a PDF to read and keep: plain, already translated text in, bytes out (the rules that
gather it live in workflows.domain.dossier)."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.formats.pdf_writer import write_pdf


@dataclass
class Table:
    """A table under its own small heading; the first row is the header (repeated on every page it spans)."""

    heading: str
    header: list[str]
    rows: list[list[str]]
    empty: str = ""  # said instead of the table when it has no rows


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def _cell(text: str) -> dict:
    return {"blocks": [{"type": "paragraph", "text": text}], "colspan": 1, "rowspan": 1}


def _blocks(section: Section, level: int) -> list[dict]:
    blocks: list[dict] = [{"type": "heading", "level": level, "text": section.heading}]
    blocks.extend({"type": "paragraph", "text": text} for text in section.paragraphs)
    for table in section.tables:
        blocks.append({"type": "heading", "level": level + 1, "text": table.heading})
        if not table.rows:
            blocks.append({"type": "paragraph", "text": table.empty})
            continue
        blocks.append({"type": "table", "rows": [[_cell(text) for text in row]
                                                  for row in [table.header, *table.rows]]})
    return blocks


def write_dossier_pdf(*, title: str, introduction: list[str], sections: list[Section], footer: str) -> bytes:
    """An A4 PDF: the title and introduction, then each section (a round) with its tables; `footer` (the JSON
    dossier's sha256) on every page next to the page number, so a printed page names the file it comes from."""
    blocks: list[dict] = [{"type": "heading", "level": 1, "text": title}]
    blocks.extend({"type": "paragraph", "text": text} for text in introduction)
    for section in sections:
        blocks.extend(_blocks(section, 2))
    return write_pdf(blocks, title=title, footer=footer)
