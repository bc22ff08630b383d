"""The commentaartabel of a round — the table in which a project group accounts for every comment — as .docx
and .xlsx. Plain data in, bytes out: the caller gathers the rows and translates the headers. A round that decides
per organisation adds its verdicts per organisation (a section after the comments; a second sheet).

The Word table is written as XML text straight into word/document.xml (python-docx's add_row/cell.text, or
even moving one parsed table into the document, takes seconds for a few thousand comments); the sheet is written by openpyxl with every text cell typed as a string,
so a comment that starts with "=" stays text and never becomes a formula.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.shared import Twips
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

# The columns of the ISO/CEN commenting template's kind: the comment's type, and the change it proposes.
DUTCH_HEADERS = ["Nr.", "Naam", "Organisatie", "Passage of paragraaf", "Type", "Commentaar", "Voorgestelde wijziging",
                 "Verwerking", "Antwoord"]
ENGLISH_HEADERS = ["No.", "Name", "Organisation", "Passage or section", "Type", "Comment", "Proposed change",
                   "Disposition", "Answer"]

# Share of the text width per column: number and type narrow, comment, proposed change and answer wide.
_COLUMN_SHARES = (0.04, 0.09, 0.095, 0.12, 0.07, 0.19, 0.16, 0.08, 0.155)
# Column widths in the sheet, in Excel's character units.
_SHEET_WIDTHS = (6, 22, 26, 36, 14, 60, 45, 18, 50)
# The verdicts per organisation: organisation, kind, verdict, reason, given by.
_VERDICT_SHARES = (0.22, 0.16, 0.14, 0.28, 0.20)
_VERDICT_SHEET_WIDTHS = (32, 24, 24, 60, 36)

# Characters XML 1.0 cannot hold (tab, newline and carriage return are handled before this).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_EXCEL_CELL_LIMIT = 32_767
_TRUNCATED = " […]"

# A4 landscape in twentieths of a point, with 1.5 cm margins.
_PAGE_WIDTH, _PAGE_HEIGHT, _MARGIN = 16838, 11906, 851
_TEXT_WIDTH = _PAGE_WIDTH - 2 * _MARGIN


@dataclass
class CommentRow:
    number: int
    person: str
    organisation: str
    passage: str
    comment: str
    disposition: str
    answer: str
    # Under the per-organisation rule, in what capacity the author wrote (in words); shown under their name.
    capacity: str = ""
    # The comment's id, for the pages that say more about it (not a cell of the table).
    comment_id: int | None = None
    # Its type in words (algemeen, inhoudelijk, redactioneel), and the change it proposes as text ("«old» → «new»",
    # with the text taken over below it when that differs); empty for a comment that proposes no wording.
    kind: str = ""
    proposal: str = ""

    def cells(self) -> tuple[str, ...]:
        person = f"{self.person}\n{self.capacity}" if self.capacity else self.person
        return (str(self.number), person, self.organisation, self.passage, self.kind, self.comment, self.proposal,
                self.disposition, self.answer)


@dataclass
class VerdictRow:
    """One line of the verdicts per organisation: the organisation's verdict that counts (or that there is none), or
    a colleague's suggestion below it; all in words."""

    organisation: str
    kind: str
    verdict: str
    reason: str
    given_by: str

    def cells(self) -> tuple[str, ...]:
        return (self.organisation, self.kind, self.verdict, self.reason, self.given_by)


@dataclass
class VerdictTable:
    """The verdicts per organisation, after the comments: a heading, the column headers and the rows."""

    title: str
    headers: list[str]
    rows: list[VerdictRow]


def _text(value: str | None) -> str:
    """One cell's text: line ends made \\n, characters XML cannot hold dropped."""
    if not value:
        return ""
    return _NOT_XML.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _check_headers(headers: list[str], verdicts: VerdictTable | None = None) -> None:
    if len(headers) != len(_COLUMN_SHARES):
        raise ValueError(f"a commentaartabel has {len(_COLUMN_SHARES)} columns, {len(headers)} headers given")
    if verdicts is not None and len(verdicts.headers) != len(_VERDICT_SHARES):
        raise ValueError(f"the verdicts have {len(_VERDICT_SHARES)} columns, {len(verdicts.headers)} headers given")


# --- Word ------------------------------------------------------------------------------------------------

_CELL_RUN = '<w:rPr><w:sz w:val="18"/><w:szCs w:val="18"/></w:rPr>'
_HEADER_RUN = '<w:rPr><w:b/><w:bCs/><w:sz w:val="18"/><w:szCs w:val="18"/></w:rPr>'
_PARAGRAPH = '<w:pPr><w:spacing w:before="0" w:after="0"/>{jc}</w:pPr>'


def _cell_xml(text: str, width: int, *, header: bool = False, right: bool = False) -> str:
    """A w:tc: one paragraph per line of the text (an empty cell still has its one paragraph), tabs as w:tab."""
    run_pr = _HEADER_RUN if header else _CELL_RUN
    p_pr = _PARAGRAPH.format(jc='<w:jc w:val="right"/>' if right else "")
    paragraphs = []
    for line in _text(text).split("\n"):
        pieces = line.split("\t")
        content = "<w:tab/>".join(f'<w:t xml:space="preserve">{escape(piece)}</w:t>' if piece else ""
                                  for piece in pieces)
        run = f"<w:r>{run_pr}{content}</w:r>" if line else ""
        paragraphs.append(f"<w:p>{p_pr}{run}</w:p>")
    shading = '<w:shd w:val="clear" w:color="auto" w:fill="D9E2F3"/>' if header else ""
    return f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{shading}</w:tcPr>{"".join(paragraphs)}</w:tc>'


def _widths(shares: tuple[float, ...]) -> list[int]:
    widths = [round(_TEXT_WIDTH * share) for share in shares]
    widths[-1] = _TEXT_WIDTH - sum(widths[:-1])
    return widths


def _table_opening(widths: list[int], headers: list[str]) -> str:
    grid = "".join(f'<w:gridCol w:w="{width}"/>' for width in widths)
    header_cells = "".join(_cell_xml(text, width, header=True) for text, width in zip(headers, widths))
    opening = (
        "<w:tbl>"
        '<w:tblPr><w:tblStyle w:val="TableGrid"/>'
        f'<w:tblW w:w="{_TEXT_WIDTH}" w:type="dxa"/><w:tblLayout w:type="fixed"/>'
        '<w:tblCellMar><w:top w:w="28" w:type="dxa"/><w:left w:w="85" w:type="dxa"/>'
        '<w:bottom w:w="28" w:type="dxa"/><w:right w:w="85" w:type="dxa"/></w:tblCellMar>'
        '<w:tblLook w:val="0420" w:firstRow="1" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" w:noHBand="0" '
        'w:noVBand="1"/></w:tblPr>'
        f"<w:tblGrid>{grid}</w:tblGrid>"
        # The header row repeats on every page and is never split; body rows may split (a long comment).
        f"<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>{header_cells}</w:tr>"
    )
    return opening


def _table_xml(rows: list[CommentRow], headers: list[str]) -> str:
    widths = _widths(_COLUMN_SHARES)
    parts = [_table_opening(widths, headers)]
    for row in rows:
        cells = row.cells()
        parts.append("<w:tr>")
        parts.append(_cell_xml(cells[0], widths[0], right=True))
        parts.extend(_cell_xml(text, width) for text, width in zip(cells[1:], widths[1:]))
        parts.append("</w:tr>")
    parts.append("</w:tbl>")
    return "".join(parts)


def _verdicts_xml(verdicts: VerdictTable) -> str:
    """The verdicts' section: a Heading 2 that starts a new page, and their table (the comments' table layout)."""
    heading = (f'<w:p><w:pPr><w:pStyle w:val="Heading2"/><w:pageBreakBefore/></w:pPr>'
               f'<w:r><w:t xml:space="preserve">{escape(_text(verdicts.title))}</w:t></w:r></w:p>')
    widths = _widths(_VERDICT_SHARES)
    parts = [heading, _table_opening(widths, verdicts.headers)]
    for row in verdicts.rows:
        parts.append("<w:tr>")
        parts.extend(_cell_xml(text, width) for text, width in zip(row.cells(), widths))
        parts.append("</w:tr>")
    parts.append("</w:tbl>")
    return "".join(parts)


def write_docx(title: str, subtitle: str, rows: list[CommentRow], headers: list[str],
               verdicts: VerdictTable | None = None) -> bytes:
    """A landscape A4 .docx: the title, the subtitle, and a Word table with a header row repeated on each page;
    with `verdicts`, a section after it with the verdicts per organisation."""
    _check_headers(headers, verdicts)
    document = Document()
    document.core_properties.title = _text(title)
    document.core_properties.subject = _text(subtitle)
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = _twips(_PAGE_WIDTH), _twips(_PAGE_HEIGHT)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, _twips(_MARGIN))
    document.add_heading(_text(title), level=1)
    if subtitle:
        document.add_paragraph(_text(subtitle))
    buffer = io.BytesIO()
    document.save(buffer)
    table = _table_xml(rows, headers)
    if verdicts is not None:
        table += _verdicts_xml(verdicts)
    return _with_table(buffer.getvalue(), table)


def _with_table(package: bytes, table: str) -> bytes:
    """The package with the table put in before the body's closing section properties.

    Spliced into word/document.xml as text: moving a parsed table of a few thousand rows into the document
    tree costs lxml seconds, writing it as text costs nothing.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                xml = data.decode("utf-8")
                at = xml.rfind("<w:sectPr")
                if at < 0 or xml.find("<w:body>") > at:
                    raise RuntimeError("no section properties at the end of the body")
                data = (xml[:at] + table + xml[at:]).encode("utf-8")
            target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _twips(value: int):
    return Twips(value)


# --- Excel -----------------------------------------------------------------------------------------------

_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _sheet_text(value: str | None) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("", _text(value))
    if len(text) > _EXCEL_CELL_LIMIT:
        text = text[: _EXCEL_CELL_LIMIT - len(_TRUNCATED)] + _TRUNCATED
    return text


def _sheet_name(title: str) -> str:
    name = _SHEET_NAME_FORBIDDEN.sub(" ", _sheet_text(title)).strip().strip("'")[:31].strip()
    return name or "Commentaar"


def write_xlsx(title: str, subtitle: str, rows: list[CommentRow], headers: list[str],
               verdicts: VerdictTable | None = None) -> bytes:
    """One sheet: the header row frozen and filtered, wrapped text, fixed column widths; the title and subtitle
    in the workbook's properties and the printed page header. With `verdicts`, a second sheet of the verdicts per
    organisation laid out the same way."""
    _check_headers(headers, verdicts)
    workbook = Workbook()
    workbook.properties.title = _sheet_text(title)
    workbook.properties.subject = _sheet_text(subtitle)
    workbook.properties.creator = "Akkoord"
    sheet = workbook.active
    sheet.title = _sheet_name(title)

    top = Alignment(vertical="top", wrap_text=True)
    header_font, header_fill = Font(bold=True), PatternFill("solid", fgColor="D9E2F3")
    for column, text in enumerate(headers, start=1):
        cell = sheet.cell(row=1, column=column, value=_sheet_text(text))
        cell.data_type = "s"
        cell.font, cell.fill, cell.alignment = header_font, header_fill, top
    for row_number, row in enumerate(rows, start=2):
        cell = sheet.cell(row=row_number, column=1, value=row.number)
        cell.alignment = top
        for column, text in enumerate(row.cells()[1:], start=2):
            cell = sheet.cell(row=row_number, column=column, value=_sheet_text(text))
            cell.data_type = "s"  # "=…" is text, never a formula
            cell.alignment = top
    for column, width in enumerate(_SHEET_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width

    last = f"{get_column_letter(len(headers))}{len(rows) + 1}"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{last}"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.oddHeader.center.text = _sheet_text(title).replace("&", "&&")[:200]
    sheet.oddFooter.right.text = "&P / &N"
    if verdicts is not None:
        _verdicts_sheet(workbook, verdicts, sheet.title, header_font, header_fill, top)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _verdicts_sheet(workbook: Workbook, verdicts: VerdictTable, taken: str, header_font: Font,
                    header_fill: PatternFill, top: Alignment) -> None:
    """The verdicts per organisation as a second sheet, every cell text, laid out as the comments' sheet."""
    name = _sheet_name(verdicts.title)
    if name == taken:  # sheet names are unique in a workbook
        name = (name[:29] + " 2").strip()
    sheet = workbook.create_sheet(name)
    for column, text in enumerate(verdicts.headers, start=1):
        cell = sheet.cell(row=1, column=column, value=_sheet_text(text))
        cell.data_type = "s"
        cell.font, cell.fill, cell.alignment = header_font, header_fill, top
    for row_number, row in enumerate(verdicts.rows, start=2):
        for column, text in enumerate(row.cells(), start=1):
            cell = sheet.cell(row=row_number, column=column, value=_sheet_text(text))
            cell.data_type = "s"  # a reason that starts with "=" is text, never a formula
            cell.alignment = top
    for column, width in enumerate(_VERDICT_SHEET_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(verdicts.headers))}{len(verdicts.rows) + 1}"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.oddHeader.center.text = _sheet_text(verdicts.title).replace("&", "&&")[:200]
    sheet.oddFooter.right.text = "&P / &N"
