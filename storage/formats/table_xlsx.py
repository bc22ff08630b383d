"""A plain table as an .xlsx sheet: a header row (frozen, filtered) and rows of text, every cell typed as a string
so that a value starting with "=" stays text and never becomes a formula."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_EXCEL_CELL_LIMIT = 32_767


def _cell_text(value: str | None) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n"))
    return text[:_EXCEL_CELL_LIMIT]


def write_table_xlsx(title: str, headers: list[str], rows: list[list[str]], *, widths: tuple[int, ...] = ()) -> bytes:
    workbook = Workbook()
    workbook.properties.title = _cell_text(title)
    workbook.properties.creator = "Akkoord"
    sheet = workbook.active
    sheet.title = _SHEET_NAME_FORBIDDEN.sub(" ", _cell_text(title)).strip().strip("'")[:31].strip() or "Register"
    top = Alignment(vertical="top", wrap_text=True)
    header_font, header_fill = Font(bold=True), PatternFill("solid", fgColor="D9E2F3")
    for column, text in enumerate(headers, start=1):
        cell = sheet.cell(row=1, column=column, value=_cell_text(text))
        cell.data_type = "s"
        cell.font, cell.fill, cell.alignment = header_font, header_fill, top
    for row_number, row in enumerate(rows, start=2):
        for column, text in enumerate(row, start=1):
            cell = sheet.cell(row=row_number, column=column, value=_cell_text(text))
            cell.data_type = "s"
            cell.alignment = top
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
