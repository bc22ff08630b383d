"""Write blocks as an A4 PDF to print and sign: text, lists, tables, and page numbers and a footer on every page."""

from __future__ import annotations

import functools
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.doctemplate import LayoutError

log = logging.getLogger(__name__)

# Debian's fonts-dejavu-core has the upright faces; fonts-dejavu-extra adds the oblique ones.
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
IMAGE_PLACEHOLDER = "[Afbeelding: {alt}]"
# Blocks that hold blocks of their own (notes, Word's headers and footers, and types this writer does not
# know yet) are shown after a small heading naming what they are, by their "kind" or else their "type".
KIND_NAMES = {
    "note": "Noot", "footnote": "Voetnoot", "endnote": "Eindnoot", "header": "Koptekst", "footer": "Voettekst",
    "comment": "Opmerking", "textbox": "Tekstvak",
}
VARIANT_NAMES = {"first": "eerste pagina", "even": "even pagina's"}
LINK_SCHEMES = ("http", "https", "mailto")

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 20 * mm
BOTTOM_MARGIN = 22 * mm  # room for the footer line
BODY_SIZE = 10.0
HEADING_SIZES = {1: 17.0, 2: 14.5, 3: 12.5, 4: 11.5, 5: 10.5, 6: 10.0}
FOOTER_SIZE = 7.5
LIST_INDENT = 16.0  # per list level
CELL_PADDING = 3.0
# A table nested so deep that its columns would be narrower than this is written as indented text.
MIN_COLUMN_WIDTH = 36.0
TEXT_INDENT = 10.0  # per level of a table written as text, or of an unknown block's content
MAX_INDENT = 120.0
SMALL = 0.85  # font scale for the content of an unknown block
CHUNK_ROWS = 120

# Characters a PDF string or reportlab's markup parser cannot take; tab and newline are handled as whitespace.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# reportlab writes a ToUnicode entry outside the Basic Multilingual Plane that readers reject; no glyph there anyway.
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class _Fonts:
    family: str
    regular: str
    bold: str
    italic: str
    bold_italic: str


@functools.cache
def _fonts(font_dir: Path) -> _Fonts:
    """DejaVu Sans when it is installed (Latin, Greek, Cyrillic, Arabic, ...), else Helvetica (WinAnsi)."""
    faces = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf",
             "italic": "DejaVuSans-Oblique.ttf", "bold_italic": "DejaVuSans-BoldOblique.ttf"}
    names: dict[str, str] = {}
    for face, filename in faces.items():
        path = font_dir / filename
        if not path.is_file():
            continue
        name = f"Akkoord-{path.stem}"
        try:
            if name not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont(name, str(path)))
        except Exception:  # a damaged font file must not stop an export: Helvetica will do
            log.warning("cannot use the font %s", path, exc_info=True)
            continue
        names[face] = name
    if "regular" not in names or "bold" not in names:
        return _Fonts("Helvetica", "Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique")
    # Without the oblique faces italic text is set upright rather than in a font that lacks the glyphs.
    fonts = _Fonts(names["regular"], names["regular"], names["bold"], names.get("italic", names["regular"]),
                   names.get("bold_italic", names["bold"]))
    pdfmetrics.registerFontFamily(fonts.family, normal=fonts.regular, bold=fonts.bold, italic=fonts.italic,
                                  boldItalic=fonts.bold_italic)
    return fonts


def write_pdf(
    blocks: list[dict],
    *,
    title: str | None = None,
    annex: list[tuple[str, list[dict]]] | None = None,
    footer: str | None = None,
) -> bytes:
    """An A4 PDF of the blocks; `annex` sections start on a new page, each under its own heading, and
    `footer` (e.g. the content hash) is printed on every page next to the page number."""
    fonts = _fonts(FONT_DIR)
    try:
        return _build(blocks, title, annex, footer, _Renderer(fonts, tables_as_text=False))
    except LayoutError:
        # A table cell taller than a page that reportlab cannot split: the words matter more than the grid.
        return _build(blocks, title, annex, footer, _Renderer(fonts, tables_as_text=True))


def _build(blocks, title, annex, footer, renderer: _Renderer) -> bytes:
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=BOTTOM_MARGIN,
        title=_printable(title or ""), creator="Akkoord", author="", subject="",
    )
    width = template.width
    story = renderer.flowables(blocks, width)
    if annex:
        story.append(PageBreak())
        for heading, section in annex:
            story.extend(renderer.flowables([{"type": "heading", "level": 1, "text": heading}, *section], width))
    if not story:
        story.append(Spacer(1, 1))  # an empty document is still one page with its footer

    def canvas(*args, **kwargs):
        return _NumberedCanvas(*args, footer=_printable(footer or ""), font=renderer.fonts.regular, **kwargs)

    template.build(story, canvasmaker=canvas)
    return buffer.getvalue()


class _NumberedCanvas(Canvas):
    """Holds the pages back until the end, so each can say "N / total" with the footer beside it."""

    def __init__(self, *args, footer: str, font: str, **kwargs):
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._footer_font = font
        self._pages: list[dict] = []

    def showPage(self):
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int) -> None:
        y = BOTTOM_MARGIN / 2
        number = f"{self.getPageNumber()} / {total}"
        self.saveState()
        self.setFillColor(colors.HexColor("#444444"))
        self.setFont(self._footer_font, FOOTER_SIZE)
        self.drawRightString(PAGE_WIDTH - MARGIN, y, number)
        if self._footer:
            room = PAGE_WIDTH - 2 * MARGIN - pdfmetrics.stringWidth(number, self._footer_font, FOOTER_SIZE) - 12
            size = FOOTER_SIZE
            width = pdfmetrics.stringWidth(self._footer, self._footer_font, size)
            if width > room:
                size = max(4.0, size * room / width)
            self.setFont(self._footer_font, size)
            self.drawString(MARGIN, y, self._footer)
        self.restoreState()


class _Renderer:
    """Turns blocks into reportlab flowables for a given width, descending into table cells."""

    def __init__(self, fonts: _Fonts, *, tables_as_text: bool):
        self.fonts = fonts
        self.tables_as_text = tables_as_text
        self._styles: dict[tuple, ParagraphStyle] = {}

    # --- styles ----------------------------------------------------------------------------------

    def style(self, kind: str, *, level: int = 0, scale: float = 1.0, indent: float = 0.0) -> ParagraphStyle:
        key = (kind, level, scale, indent)
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = self._make_style(kind, level, scale, indent)
        return style

    def _make_style(self, kind: str, level: int, scale: float, indent: float) -> ParagraphStyle:
        size = BODY_SIZE * scale
        options = {"fontName": self.fonts.regular, "fontSize": size, "leading": size * 1.3, "leftIndent": indent,
                   "spaceAfter": size * 0.5, "bulletFontName": self.fonts.regular, "bulletFontSize": size}
        if kind == "heading":
            size = HEADING_SIZES[level] * scale
            options.update(fontName=self.fonts.bold, fontSize=size, leading=size * 1.25, spaceBefore=size * 0.8,
                           spaceAfter=size * 0.4, keepWithNext=True)
        elif kind == "kind":  # the heading over an unknown block's content
            options.update(fontName=self.fonts.bold, spaceBefore=size * 0.4, spaceAfter=size * 0.2, keepWithNext=True)
        elif kind == "cell":
            options.update(spaceAfter=size * 0.25)
        elif kind == "placeholder":
            options.update(fontName=self.fonts.italic, textColor=colors.HexColor("#555555"))
        return ParagraphStyle(f"akkoord-{kind}-{level}-{scale}-{indent}", **options)

    # --- blocks ----------------------------------------------------------------------------------

    def flowables(self, blocks, width: float, *, depth: int = 0, scale: float = 1.0, indent: float = 0.0) -> list:
        """Flowables for `blocks` in a column `width` wide; depth counts the tables around them."""
        result = []
        text_kind = "cell" if depth else "body"
        for block in blocks if isinstance(blocks, list) else ():
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "heading":
                level = _bounded(block.get("level"), 1, 6, default=1)
                result.append(Paragraph(_markup(block), self.style("heading", level=level, scale=scale, indent=indent)))
            elif kind == "paragraph":
                markup = _markup(block)
                style = self.style(text_kind, scale=scale, indent=indent)
                result.append(Paragraph(markup, style) if markup.strip() else Spacer(1, style.leading / 2))
            elif kind == "list_item":
                result.append(self._list_item(block, scale, indent))
            elif kind == "table":
                result.extend(self._table(block, width, depth=depth, scale=scale, indent=indent))
            elif kind == "image":
                alt = _printable(str(block.get("alt") or "")).strip()
                text = IMAGE_PLACEHOLDER.format(alt=alt) if alt else "[Afbeelding]"
                result.append(Paragraph(escape(text), self.style("placeholder", scale=scale, indent=indent)))
            else:
                result.extend(self._unknown(block, width, depth=depth, scale=scale, indent=indent))
        return result

    def _list_item(self, block: dict, scale: float, indent: float) -> Paragraph:
        level = _bounded(block.get("level"), 0, 8, default=0)
        label = _printable(str(block.get("label") or ("" if block.get("ordered") else "\u2022"))).strip()
        base = self.style("list", scale=scale, indent=indent)
        label_width = pdfmetrics.stringWidth(label, base.bulletFontName, base.bulletFontSize) if label else 0
        start = indent + LIST_INDENT * level * scale
        style = ParagraphStyle(f"{base.name}-item", parent=base, bulletIndent=start,
                               leftIndent=start + max(LIST_INDENT * scale, label_width + 5 * scale))
        return Paragraph(_markup(block), style, bulletText=label or None)

    def _unknown(self, block: dict, width: float, *, depth: int, scale: float, indent: float) -> list:
        """A block type this writer does not know (a note, a header, ...): its inner blocks, smaller, under its name."""
        kind = str(block.get("type") or "")
        name = KIND_NAMES.get(str(block.get("kind") or "")) or KIND_NAMES.get(kind) \
            or kind.replace("_", " ").capitalize() or "Onderdeel"
        label = _printable(str(block.get("label") or "")).strip()
        heading = f"{name} {label}" if label else name
        if block.get("variant") in VARIANT_NAMES:
            heading += f" ({VARIANT_NAMES[block['variant']]})"
        small = round(scale * SMALL, 3)
        result = [Paragraph(escape(heading), self.style("kind", scale=small, indent=indent))]
        inner = block.get("blocks")
        inner_indent = min(indent + TEXT_INDENT, MAX_INDENT)
        if isinstance(inner, list) and inner:
            result.extend(self.flowables(inner, width, depth=depth, scale=small, indent=inner_indent))
        elif block.get("text") or block.get("runs"):
            result.append(Paragraph(_markup(block), self.style("cell", scale=small, indent=inner_indent)))
        return result

    # --- tables ----------------------------------------------------------------------------------

    def _table(self, block: dict, width: float, *, depth: int, scale: float, indent: float) -> list:
        placements, row_count, column_count = _layout(block.get("rows"))
        if not placements:
            return []
        room = width - indent
        # A top-level table stays a grid down to very narrow columns; a nested one only while it is legible.
        too_narrow = room / column_count < (MIN_COLUMN_WIDTH if depth else MIN_COLUMN_WIDTH / 3)
        if self.tables_as_text or too_narrow:
            return self._table_as_text(placements, width, depth=depth, scale=scale, indent=indent)
        widths = _column_widths(placements, column_count, room, self.fonts.bold)
        cells = []
        for row, column, rowspan, colspan, cell in placements:
            inner_width = sum(widths[column : column + colspan]) - 2 * CELL_PADDING
            inner = cell.get("blocks") if isinstance(cell, dict) else None
            cells.append((row, column, rowspan, colspan,
                          self.flowables(inner or [], inner_width, depth=depth + 1, scale=scale) or ""))
        header = _repeatable_header(placements, row_count)
        chunks = _row_chunks(placements, row_count)
        tables = []
        for number, (first, stop) in enumerate(chunks):
            # Every part of a long table starts with the header row, so each page starts with it too.
            part = [(row - first, *rest) for row, *rest in cells if first <= row < stop]
            rows = stop - first
            if header and first > 0:
                part = [c for c in cells if c[0] == 0] + [(row + 1, *rest) for row, *rest in part]
                rows += 1
            table = _grid(part, rows, widths, header=header)
            table.spaceBefore = BODY_SIZE * scale * 0.3 if number == 0 else 0
            table.spaceAfter = BODY_SIZE * scale * 0.6 if number == len(chunks) - 1 else 0
            if indent:
                table.hAlign = "RIGHT"  # on the page, an indented table (inside an unknown block) keeps its indent
            tables.append(table)
        return tables

    def _table_as_text(self, placements, width: float, *, depth: int, scale: float, indent: float) -> list:
        """A table too deep to draw as a grid: each cell's blocks in reading order, indented one step further."""
        inner_indent = min(indent + TEXT_INDENT, MAX_INDENT)
        result = []
        for _row, _column, _rowspan, _colspan, cell in placements:
            inner = cell.get("blocks") if isinstance(cell, dict) else None
            result.extend(self.flowables(inner or [], width, depth=depth + 1, scale=scale, indent=inner_indent))
        return result


def _layout(rows) -> tuple[list[tuple], int, int]:
    """Where each cell goes on the table grid: (row, column, rowspan, colspan, cell), rows, columns."""
    rows = [row for row in rows if isinstance(row, list)] if isinstance(rows, list) else []
    occupied: set[tuple[int, int]] = set()
    placements = []
    for row_index, row in enumerate(rows):
        column = 0
        for cell in row:
            while (row_index, column) in occupied:
                column += 1
            spans = cell if isinstance(cell, dict) else {}
            rowspan = _bounded(spans.get("rowspan"), 1, len(rows) - row_index, default=1)
            colspan = _bounded(spans.get("colspan"), 1, 1000, default=1)
            placements.append((row_index, column, rowspan, colspan, cell))
            occupied.update((row_index + r, column + c) for r in range(rowspan) for c in range(colspan))
            column += colspan
    column_count = max((c for _, c in occupied), default=-1) + 1
    return placements, len(rows), column_count


def _grid(cells: list[tuple], row_count: int, widths: list[float], *, header: bool) -> Table:
    """A reportlab table of placed cells (row, column, rowspan, colspan, flowables); the first row repeats
    on each page when it is a header."""
    data = [[""] * len(widths) for _ in range(row_count)]
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#888888")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("TOPPADDING", (0, 0), (-1, -1), CELL_PADDING * 0.7),
        ("BOTTOMPADDING", (0, 0), (-1, -1), CELL_PADDING * 0.3),
    ]
    for row, column, rowspan, colspan, content in cells:
        data[row][column] = content
        if rowspan > 1 or colspan > 1:
            commands.append(("SPAN", (column, row), (column + colspan - 1, row + rowspan - 1)))
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
    # splitInRow: a row taller than a page is split inside; longTableOptimize: only a page's rows are measured.
    return Table(data, colWidths=widths, style=TableStyle(commands), repeatRows=1 if header else 0,
                 splitInRow=1, longTableOptimize=1, hAlign="LEFT")


def _row_chunks(placements, row_count: int) -> list[tuple[int, int]]:
    """Row ranges [first, stop) of at most about CHUNK_ROWS rows, cut only where no merged cell crosses.

    reportlab re-measures the rest of a table each time it splits one at a page end, which grows with the
    square of its length: corpus 26 (tables of up to 948 rows and 3,000 merged cells) took 12 s in one
    piece and 5 s in parts. A part after the first starts with the header row, also where it starts
    mid-page.
    """
    if row_count <= CHUNK_ROWS * 3 // 2:
        return [(0, row_count)]
    crossing = [0] * (row_count + 1)
    for row, _column, rowspan, _colspan, _cell in placements:
        if rowspan > 1:
            crossing[row + 1] += 1
            crossing[row + rowspan] -= 1
    blocked, depth = [False] * (row_count + 1), 0
    for row in range(row_count + 1):
        depth += crossing[row]
        blocked[row] = depth > 0
    chunks, first = [], 0
    while first < row_count:
        target = first + CHUNK_ROWS
        if target >= row_count - CHUNK_ROWS // 2:
            chunks.append((first, row_count))
            break
        cut = next((r for r in range(target, first, -1) if not blocked[r]), None)
        if cut is None:
            cut = next((r for r in range(target + 1, row_count) if not blocked[r]), row_count)
        chunks.append((first, cut))
        first = cut
    return chunks


def _column_widths(placements, column_count: int, room: float, font: str) -> list[float]:
    """Each column gets room for its longest word, and what is left goes to the columns holding the most text,
    so a column of dates does not get half the page nor a column of numbers break its heading."""
    needs = [2 * CELL_PADDING + 8] * column_count
    weights = [4.0] * column_count
    for _row, column, _rowspan, colspan, cell in placements:
        if colspan != 1:
            continue
        text = _plain(cell)
        weights[column] = max(weights[column], min(float(len(text)), 60.0))
        longest = max(text.split(), key=len, default="")[:30]
        if longest:
            need = pdfmetrics.stringWidth(longest, font, BODY_SIZE) * 1.08 + 2 * CELL_PADDING
            needs[column] = max(needs[column], min(need, room / 3))
    if sum(needs) >= room:
        return [need * room / sum(needs) for need in needs]
    spare, total = room - sum(needs), sum(weights)
    return [need + spare * weight / total for need, weight in zip(needs, weights)]


def _plain(part) -> str:
    """The text of a cell or block, however it is nested, for sizing columns; tolerant of odd shapes."""
    if isinstance(part, list):
        return " ".join(_plain(item) for item in part)
    if not isinstance(part, dict):
        return ""
    pieces = [part["text"]] if isinstance(part.get("text"), str) else []
    for key in ("blocks", "rows"):
        if isinstance(part.get(key), list):
            pieces.append(_plain(part[key]))
    return " ".join(pieces)


def _repeatable_header(placements, row_count: int) -> bool:
    """The first row is repeated on each page of a long table, unless it spans rows or is itself long."""
    if row_count < 3:
        return False
    first = [p for p in placements if p[0] == 0]
    if any(rowspan > 1 for _r, _c, rowspan, _cs, _cell in first):
        return False
    return sum(len(_plain(cell)) for *_, cell in first) <= 300


def _bounded(value, low: int, high: int, *, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return min(max(number, low), max(low, high))


def _printable(text: str) -> str:
    return _ASTRAL.sub("\ufffd", _UNPRINTABLE.sub("", text))


def _escape(text: str) -> str:
    return escape(_printable(text)).replace("\n", "<br/>")


def _markup(block: dict) -> str:
    """reportlab Paragraph markup for a block's runs (bold, italic, underline, links), all text escaped."""
    runs = block.get("runs")
    if not isinstance(runs, list) or not runs:
        return _escape(str(block.get("text") or ""))
    parts = []
    for run in runs:
        if not isinstance(run, dict):
            continue
        raw = str(run.get("text") or "")
        core = raw.strip()
        if not core:
            parts.append(_escape(raw))
            continue
        # Spaces around a formatted run stay outside it, so a link's underline starts at its first letter.
        lead, trail = raw[: len(raw) - len(raw.lstrip())], raw[len(raw.rstrip()) :]
        text = _escape(core)
        if run.get("underline"):
            text = f"<u>{text}</u>"
        if run.get("italic"):
            text = f"<i>{text}</i>"
        if run.get("bold"):
            text = f"<b>{text}</b>"
        if run.get("note"):  # a reference to a footnote or endnote, which follows the body under its label
            text = f"<super>{text}</super>"
        href = _link(run.get("href"))
        if href:
            text = f'<a href={quoteattr(href)} color="#0563c1"><u>{text}</u></a>'
        parts.append(_escape(lead) + text + _escape(trail))
    return "".join(parts)


def _link(href) -> str | None:
    """Only web and mail links become clickable; anything else (javascript:, file:, #anchors) stays plain text."""
    if not isinstance(href, str):
        return None
    href = _printable(href).strip()
    try:
        scheme = urlsplit(href).scheme.lower()
    except ValueError:
        return None
    return href if scheme in LINK_SCHEMES else None
