"""Write blocks as a .docx with real Word headings, list numbering, links, merged table cells,
footnotes and endnotes, headers and footers with their page numbers, and pictures."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from xml.sax.saxutils import quoteattr

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.image.image import Image
from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
from docx.opc.packuri import PackURI
from docx.opc.part import XmlPart
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.parser import OxmlElement
from docx.oxml.shape import CT_Inline
from docx.oxml.table import CT_Tbl
from docx.parts.image import ImagePart
from docx.shared import Emu, Inches, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from storage.blocks import body_blocks
from storage.formats.docx_reader import (
    BULLET,
    HEADER_FOOTER_ORDER,
    NOTE_KINDS,
    Level,
    format_number,
    label_for,
    next_counters,
)

# Characters XML 1.0 cannot hold; a block from any source must still give a document.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ORDERED_FORMATS = ("decimal", "lowerLetter", "lowerRoman")
_LABEL_TOKEN = re.compile(r"\d+|[A-Za-z]+")
_ROMAN = re.compile(r"^(?=[MDCLXVI])M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")
IMAGE_PLACEHOLDER = "[Afbeelding: {alt}]"
# Only page-number fields are written back; any other field could make Word fetch or run something.
_PAGE_FIELDS = ("PAGE", "NUMPAGES", "SECTIONPAGES", "SECTION")
_IMAGE_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
                     "image/bmp": "bmp", "image/tiff": "tiff", "image/x-emf": "emf", "image/x-wmf": "wmf",
                     "image/svg+xml": "svg", "image/webp": "webp"}
# Formats a note label may be counted in; the kind's own default (1 or i) wins a tie.
_NOTE_FORMATS = ("decimal", "lowerRoman", "upperRoman", "lowerLetter", "upperLetter")
# What follows w:footnotePr/w:endnotePr in a w:sectPr and in w:settings: they go before these.
_SECT_PR_AFTER_NOTES = (
    "w:type", "w:pgSz", "w:pgMar", "w:paperSrc", "w:pgBorders", "w:lnNumType", "w:pgNumType", "w:cols",
    "w:formProt", "w:vAlign", "w:noEndnote", "w:titlePg", "w:textDirection", "w:bidi", "w:rtlGutter",
    "w:docGrid", "w:printerSettings", "w:sectPrChange",
)
_SETTINGS_AFTER_NOTES = (
    "w:compat", "w:docVars", "w:rsids", "m:mathPr", "w:attachedSchema", "w:themeFontLang", "w:clrSchemeMapping",
    "w:doNotIncludeSubdocsInStats", "w:doNotAutoCompressPictures", "w:forceUpgrade", "w:captions",
    "w:readModeInkLockDown", "w:smartTagType", "sl:schemaLibrary", "w:shapeDefaults", "w:doNotEmbedSmartTags",
    "w:decimalSymbol", "w:listSeparator",
)


def write_docx(
    blocks: list[dict],
    *,
    title: str | None = None,
    annex: list[tuple[str, list[dict]]] | None = None,
    images: Mapping[str, bytes] | None = None,
) -> bytes:
    """A .docx of the blocks; `annex` sections follow after a page break, each under its own heading.

    Note blocks become Word footnotes and endnotes, header and footer blocks Word's headers and
    footers (see `_write_page_furniture`). `images` holds the bytes of the pictures image blocks
    name by their "blob" (sha256); an image without its bytes is written as a placeholder line.
    """
    return _render(_Writer, blocks, title=title, annex=annex, images=images)


def _render(writer_class, blocks: list[dict], *, title: str | None, annex: list[tuple[str, list[dict]]] | None,
            images: Mapping[str, bytes] | None) -> bytes:
    """`write_docx` with a writer of the caller's choosing (the draft's writes some text as tracked changes)."""
    document = Document()
    if title:
        document.core_properties.title = _clean(title)
    writer = writer_class(document, [block for block in blocks if block["type"] == "note"], images)
    writer.blocks(_Container(document), body_blocks(blocks))
    if annex:
        document.add_page_break()
        for heading, section in annex:
            writer.blocks(_Container(document), [{"type": "heading", "level": 1, "text": heading}, *section])
    if writer.notes is not None:
        writer.notes.write(writer)
    _write_page_furniture(writer, [block for block in blocks if block["type"] in ("header", "footer")])
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


class _Container:
    """The document body, a table cell, a note, a header or footer.

    A new cell's (or header's) empty paragraph is used for its first block; `default_style` is
    the style of a plain paragraph in it; `width` is given where python-docx wants a table's.
    """

    def __init__(self, target, cell: bool = False, *, default_style: str | None = None, width=None):
        self.target = target
        self.spare = target.paragraphs[0] if cell else None
        self.default_style = default_style
        self.width = width

    def paragraph(self, style_id: str | None):
        if self.spare is not None:
            paragraph, self.spare = self.spare, None
        else:
            paragraph = self.target.add_paragraph()
        style_id = style_id or self.default_style
        if style_id:
            # Set by id: python-docx's style-by-object setter scans every style on each call.
            paragraph._p.style = style_id
        return paragraph

    def table(self, rows: int, columns: int):
        if self.width is not None:
            table = self.target.add_table(rows, columns, self.width)
        else:
            table = self.target.add_table(rows, columns)  # in a cell, python-docx adds the closing paragraph
        if self.spare is not None:
            # A table that opens a cell or header goes before the empty paragraph, which stays for what follows.
            self.spare._p.addprevious(table._tbl)
        return table


class _Story:
    """A footnote or endnote, offering what python-docx's paragraphs and tables ask of their parent."""

    def __init__(self, element, part, width):
        self.element = element
        self.part = part
        self.width = width

    def add_paragraph(self) -> Paragraph:
        paragraph = OxmlElement("w:p")
        self.element.append(paragraph)
        return Paragraph(paragraph, self)

    def add_table(self, rows: int, columns: int) -> Table:
        table = CT_Tbl.new_tbl(rows, columns, self.width)
        self.element.append(table)
        return Table(table, self)


class _Writer:
    def __init__(self, document, notes: list[dict], images: Mapping[str, bytes] | None = None):
        self.document = document
        self.images = images or {}
        self.image_parts: dict[str, ImagePart] = {}
        self.shape_id = 0
        self.style_ids = {style.name: style.style_id for style in document.styles}
        self.numbering = _Numbering(document)
        self.link_style_id: str | None = None
        self.notes = _Notes(document, notes) if notes else None
        self.own_note: dict | None = None  # the note being written: its own reference is its mark
        self.own_mark_written = False

    def blocks(self, container: _Container, blocks: list[dict]) -> None:
        ordered: _OrderedList | None = None
        for block in blocks:
            kind = block["type"]
            if kind != "list_item":
                ordered = None
            if kind == "heading":
                level = min(max(int(block.get("level", 1)), 1), 6)
                self._text(container.paragraph(self.style_ids[f"Heading {level}"]), block)
            elif kind == "list_item":
                level = min(max(int(block.get("level", 0)), 0), 8)
                if block.get("ordered"):
                    ordered = ordered or _OrderedList(self.numbering)
                    num_id = ordered.place(level, block.get("label", ""))
                else:
                    num_id = self.numbering.unordered(block.get("label") or BULLET)
                paragraph = container.paragraph(self.style_ids["List Paragraph"])
                numpr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
                numpr.get_or_add_ilvl().val = level
                numpr.get_or_add_numId().val = num_id
                self._text(paragraph, block)
            elif kind == "table":
                self._table(container, block)
            elif kind == "image":
                self._image(container, block)
            else:
                self._text(container.paragraph(None), block)

    def _image(self, container: _Container, block: dict) -> None:
        """A picture in a paragraph of its own, with its alt text, at the size it was drawn at."""
        alt = block.get("alt") or ""
        data = self.images.get(block.get("blob") or "")
        if not data:
            text = IMAGE_PLACEHOLDER.format(alt=alt) if alt else "[Afbeelding]"
            container.paragraph(None).add_run(_clean(text)).italic = True
            return
        paragraph = container.paragraph(None)
        image_part = self._image_part(block["blob"], block.get("content_type") or "", data)
        rel_id = paragraph.part.relate_to(image_part, RELATIONSHIP_TYPE.IMAGE)
        width, height = self._image_size(block, data)
        self.shape_id += 1
        inline = CT_Inline.new_pic_inline(self.shape_id, rel_id, image_part.partname.filename, width, height)
        if alt:
            inline.docPr.set("descr", _clean(alt))
        paragraph.add_run()._r.add_drawing(inline)

    def _image_part(self, sha256: str, content_type: str, data: bytes) -> ImagePart:
        part = self.image_parts.get(sha256)
        if part is None:
            content_type = content_type.lower() if content_type.lower() in _IMAGE_EXTENSIONS else ""
            if not content_type:
                try:
                    content_type = Image.from_blob(data).content_type
                except Exception:  # noqa: BLE001 (any format python-docx cannot tell: a generic picture part)
                    content_type = "image/png"
            name = PackURI(f"/word/media/akkoord{len(self.image_parts) + 1}.{_IMAGE_EXTENSIONS[content_type]}")
            part = self.image_parts[sha256] = ImagePart(name, content_type, data)
        return part

    def _image_size(self, block: dict, data: bytes) -> tuple[Emu, Emu]:
        width, height = block.get("width"), block.get("height")
        if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
            try:
                image = Image.from_blob(data)
                width, height = int(image.width), int(image.height)
            except Exception:  # noqa: BLE001 (a format python-docx cannot measure: a square of two inches)
                width = height = int(Inches(2))
        section = self.document.sections[-1]
        room = int(section.page_width - section.left_margin - section.right_margin)
        if width > room:  # never wider than the text
            width, height = room, max(1, height * room // width)
        return Emu(width), Emu(height)

    def _text(self, paragraph, block: dict) -> None:
        for run in block.get("runs") or [{"text": block.get("text", "")}]:
            self._run(paragraph, run)

    def _run(self, paragraph, run: dict) -> None:
        """One run of a block: text with its formatting, a link, a note reference or a page-number field."""
        if run.get("field") is not None:
            _page_field(paragraph, run["field"])
            return
        if run.get("note") is not None and self._note_reference(paragraph, run):
            return
        self._formatted_run(paragraph, run, run["text"])

    def _formatted_run(self, paragraph, run: dict, text: str) -> Run:
        """`text` written with `run`'s formatting and link, at the paragraph's end."""
        if run.get("href"):
            word_run = self._hyperlink_run(paragraph, run["href"])
            word_run.text = _clean(text)
        else:
            word_run = paragraph.add_run(_clean(text))
        word_run.bold = True if run.get("bold") else None
        word_run.italic = True if run.get("italic") else None
        word_run.underline = True if run.get("underline") else None
        return word_run

    def _note_reference(self, paragraph, run: dict) -> bool:
        """Write a run that refers to a note as Word does; False when there is no such note to refer to."""
        own = self.own_note
        if own is not None:
            if run["note"] != own["note"] or self.own_mark_written:
                return False
            paragraph._p.append(_mark_run(own["kind"]))
            self.own_mark_written = True
            return True
        return self.notes is not None and self.notes.reference(paragraph._p, run["note"], run["text"])

    def _hyperlink_run(self, paragraph, href: str) -> Run:
        rel_id = paragraph.part.relate_to(_clean(href), RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        link = OxmlElement("w:hyperlink")
        link.set(qn("r:id"), rel_id)
        element = OxmlElement("w:r")
        link.append(element)
        paragraph._p.append(link)
        element.style = self._link_style_id()
        return Run(element, paragraph)

    def _link_style_id(self) -> str:
        if self.link_style_id is None:
            # The default template has no Hyperlink style; Word's blue underline is added once.
            style = self.document.styles.add_style("Akkoord Hyperlink", WD_STYLE_TYPE.CHARACTER)
            style.font.color.rgb = RGBColor(0x05, 0x63, 0xC1)
            style.font.underline = True
            self.link_style_id = style.style_id
        return self.link_style_id

    def _table(self, container: _Container, block: dict) -> None:
        placements, row_count, column_count = _layout(block.get("rows") or [])
        if not placements:
            return
        table = container.table(row_count, column_count)
        table._tbl.tblStyle_val = self.style_ids["Table Grid"]
        grid = [list(row.cells) for row in table.rows]
        covered = set()
        for row, column, rowspan, colspan, cell in placements:
            _span(grid, row, column, rowspan, colspan)
            covered.update((row + r, column + c) for r in range(rowspan) for c in range(colspan))
            self.blocks(_Container(grid[row][column], cell=True), cell.get("blocks") or [])
        # A short row stays short: its unused trailing cells go (they are always at the row's end).
        for row_index, row in enumerate(grid):
            for column, word_cell in enumerate(row):
                if (row_index, column) not in covered:
                    word_cell._tc.getparent().remove(word_cell._tc)


def _page_field(paragraph, instruction: str) -> None:
    """A page-number field as Word writes the simple kind; "1" is its result until Word lays out the pages."""
    instruction = _clean(" ".join(str(instruction).split()))
    if instruction.split(" ", 1)[0].upper() not in _PAGE_FIELDS:
        return
    paragraph._p.append(parse_xml(
        f'<w:fldSimple {nsdecls("w")} w:instr={quoteattr(" " + instruction + " ")}>'
        '<w:r><w:rPr><w:noProof/></w:rPr><w:t>1</w:t></w:r></w:fldSimple>'
    ))


def _span(grid: list[list], row: int, column: int, rowspan: int, colspan: int) -> None:
    """Merge a rectangle of a new table's cells the way Word stores it (gridSpan, vMerge).

    Done on the XML because python-docx's _Cell.merge looks up row indexes on every call, which
    is quadratic: 40 s for the merged tables of corpus 26 instead of well under a second.
    """
    if rowspan == 1 and colspan == 1:
        return
    for row_index in range(row, row + rowspan):
        cells = grid[row_index][column : column + colspan]
        first = cells[0]._tc
        if colspan > 1:
            widths = [cell.width for cell in cells]
            for cell in cells[1:]:
                cell._tc.getparent().remove(cell._tc)
            first.grid_span = colspan
            if all(widths):
                first.width = sum(widths)
        if rowspan > 1:
            first.vMerge = "restart" if row_index == row else "continue"


def _layout(rows: list[list[dict]]) -> tuple[list[tuple], int, int]:
    """Where each cell goes on the table grid: (row, column, rowspan, colspan, cell), rows, columns."""
    occupied: set[tuple[int, int]] = set()
    placements = []
    for row_index, row in enumerate(rows):
        column = 0
        for cell in row:
            while (row_index, column) in occupied:
                column += 1
            rowspan = min(max(int(cell.get("rowspan", 1)), 1), len(rows) - row_index)
            colspan = max(int(cell.get("colspan", 1)), 1)
            placements.append((row_index, column, rowspan, colspan, cell))
            occupied.update((row_index + r, column + c) for r in range(rowspan) for c in range(colspan))
            column += colspan
    column_count = max((c for _, c in occupied), default=-1) + 1
    return placements, len(rows), column_count


# --- notes -------------------------------------------------------------------------------------


def _mark_run(kind: str):
    """The note's own number at the start of its text (w:footnoteRef), in the note reference style."""
    return parse_xml(
        f'<w:r {nsdecls("w")}><w:rPr><w:rStyle w:val="{_note_style(kind, "Reference")}"/></w:rPr>'
        f"<w:{kind}Ref/></w:r>"
    )


def _note_style(kind: str, what: str) -> str:
    return f"{kind.capitalize()}{what}"  # FootnoteText, EndnoteReference, ...


def _counting_format(kind: str, labels: list[str]) -> str:
    """The number format in which Word's own counting gives the most of these labels."""

    def counted(fmt: str) -> int:
        count = 0
        for label in labels:
            if label == format_number(count + 1, fmt):
                count += 1
        return count

    default = NOTE_KINDS[kind][1]
    return max((default, *(fmt for fmt in _NOTE_FORMATS if fmt != default)), key=counted)


class _Notes:
    """Note blocks as Word footnotes and endnotes.

    References are written as the body is; a label Word's counting would not give is written as a
    custom mark. The notes themselves go into word/footnotes.xml and word/endnotes.xml afterwards,
    each opening with its own mark unless its text places the mark itself.
    """

    def __init__(self, document, notes: list[dict]):
        self.document = document
        self.by_id: dict[str, dict] = {}
        for note in notes:
            if note.get("kind") in NOTE_KINDS:
                self.by_id.setdefault(note["note"], note)
        self.formats = {
            kind: _counting_format(kind, [n.get("label", "") for n in self.by_id.values() if n["kind"] == kind])
            for kind in NOTE_KINDS
        }
        self.counted = {kind: 0 for kind in NOTE_KINDS}
        self.word_ids: dict[str, int] = {}  # note id -> w:id, in order of first reference

    def reference(self, paragraph, note_id: str, label: str) -> bool:
        note = self.by_id.get(note_id)
        if note is None:
            return False
        kind = note["kind"]
        first = note_id not in self.word_ids
        if first:
            self.word_ids[note_id] = 1 + sum(1 for n in self.word_ids if self.by_id[n]["kind"] == kind)
        counted = first and label == format_number(self.counted[kind] + 1, self.formats[kind])
        if counted:
            self.counted[kind] += 1
        custom = "" if counted else ' w:customMarkFollows="1"'
        mark = "" if counted else f'<w:t xml:space="preserve">{_xml_text(label)}</w:t>'
        paragraph.append(parse_xml(
            f'<w:r {nsdecls("w")}><w:rPr><w:rStyle w:val="{_note_style(kind, "Reference")}"/></w:rPr>'
            f'<w:{kind}Reference{custom} w:id="{self.word_ids[note_id]}"/>{mark}</w:r>'
        ))
        return True

    def write(self, writer: _Writer) -> None:
        kinds = {self.by_id[note_id]["kind"] for note_id in self.word_ids}
        if not kinds:
            return
        section = self.document.sections[-1]
        width = section.page_width - section.left_margin - section.right_margin
        roots = {kind: self._part(kind) for kind in sorted(kinds)}
        self._add_styles(kinds)
        for note_id, word_id in self.word_ids.items():
            note = self.by_id[note_id]
            kind = note["kind"]
            part, root = roots[kind]
            element = parse_xml(f'<w:{kind} {nsdecls("w")} w:id="{word_id}"/>')
            root.append(element)
            writer.own_note, writer.own_mark_written = note, False
            writer.blocks(_Container(_Story(element, part, width), default_style=_note_style(kind, "Text")),
                          note.get("blocks") or [])
            _end_with_paragraph(element)
            if not writer.own_mark_written:
                first = element[0] if len(element) else None
                if first is None or first.tag != qn("w:p"):
                    first = parse_xml(f'<w:p {nsdecls("w")}><w:pPr><w:pStyle w:val="{_note_style(kind, "Text")}"/>'
                                      "</w:pPr></w:p>")
                    element.insert(0, first)
                properties = first.find(qn("w:pPr"))
                if properties is not None:
                    properties.addnext(_mark_run(kind))
                else:
                    first.insert(0, _mark_run(kind))
        writer.own_note = None
        self._number_formats(kinds)

    def _part(self, kind: str):
        """A new footnotes or endnotes part with Word's separator and continuation separator."""
        separators = "".join(
            f'<w:{kind} w:type="{kind_of_line}" w:id="{word_id}"><w:p><w:pPr><w:spacing w:after="0" w:line="240" '
            f'w:lineRule="auto"/></w:pPr><w:r><w:{kind_of_line}/></w:r></w:p></w:{kind}>'
            for word_id, kind_of_line in ((-1, "separator"), (0, "continuationSeparator"))
        )
        root = parse_xml(f'<w:{kind}s {nsdecls("w", "r")}>{separators}</w:{kind}s>')
        content_type = CONTENT_TYPE.WML_FOOTNOTES if kind == "footnote" else CONTENT_TYPE.WML_ENDNOTES
        relationship = RELATIONSHIP_TYPE.FOOTNOTES if kind == "footnote" else RELATIONSHIP_TYPE.ENDNOTES
        part = XmlPart(PackURI(f"/word/{kind}s.xml"), content_type, root, self.document.part.package)
        self.document.part.relate_to(part, relationship)
        return part, root

    def _add_styles(self, kinds: set[str]) -> None:
        styles = self.document.styles.element
        for kind in sorted(kinds):
            styles.append(parse_xml(
                f'<w:style {nsdecls("w")} w:type="paragraph" w:styleId="{_note_style(kind, "Text")}">'
                f'<w:name w:val="{kind} text"/><w:basedOn w:val="Normal"/><w:uiPriority w:val="99"/><w:unhideWhenUsed/>'
                '<w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
                '<w:rPr><w:sz w:val="20"/><w:szCs w:val="20"/></w:rPr></w:style>'
            ))
            styles.append(parse_xml(
                f'<w:style {nsdecls("w")} w:type="character" w:styleId="{_note_style(kind, "Reference")}">'
                f'<w:name w:val="{kind} reference"/><w:uiPriority w:val="99"/><w:unhideWhenUsed/>'
                '<w:rPr><w:vertAlign w:val="superscript"/></w:rPr></w:style>'
            ))

    def _number_formats(self, kinds: set[str]) -> None:
        """The counting format in the last section and in the settings, where Word and LibreOffice look."""
        sect_pr = self.document.sections[-1]._sectPr
        settings = self.document.settings.element
        for kind in ("footnote", "endnote"):
            if kind not in kinds:
                continue
            fmt = f'<w:numFmt w:val="{self.formats[kind]}"/>'
            sect_pr.insert_element_before(parse_xml(f'<w:{kind}Pr {nsdecls("w")}>{fmt}</w:{kind}Pr>'),
                                          *_SECT_PR_AFTER_NOTES)
            special = f'<w:{kind} w:id="-1"/><w:{kind} w:id="0"/>'
            settings.insert_element_before(parse_xml(f'<w:{kind}Pr {nsdecls("w")}>{fmt}{special}</w:{kind}Pr>'),
                                           *_SETTINGS_AFTER_NOTES)


def _end_with_paragraph(story) -> None:
    """Word wants a note, header or footer to end with a paragraph, as a table cell does."""
    if len(story) and story[-1].tag == qn("w:tbl"):
        story.append(OxmlElement("w:p"))


def _xml_text(text: str) -> str:
    return _clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- headers and footers -----------------------------------------------------------------------


def _write_page_furniture(writer: _Writer, blocks: list[dict]) -> None:
    """Header and footer blocks as the headers and footers of the document's sections.

    The reader gives them section by section, headers before footers, default before first-page
    before even-page. Each run of blocks in that order goes to one section: the first to the
    section that holds the text, any further ones to continuous sections added at the end, so a
    document whose chapters had their own headers keeps them all (Word shows the first set).
    """
    document = writer.document
    groups: list[list[dict]] = []
    last_rank = None
    for block in blocks:
        variant = block.get("variant") if block.get("variant") in HEADER_FOOTER_ORDER else "default"
        rank = (block["type"] == "footer", HEADER_FOOTER_ORDER.index(variant))
        if last_rank is None or rank <= last_rank:
            groups.append([])
        groups[-1].append({**block, "variant": variant})
        last_rank = rank
    for number, group in enumerate(groups):
        if number:
            document.add_section(WD_SECTION.CONTINUOUS)
        section = document.sections[-1]
        width = section.page_width - section.left_margin - section.right_margin
        for block in group:
            variant = block["variant"]
            if variant == "first":
                section.different_first_page_header_footer = True
            elif variant == "even":
                document.settings.odd_and_even_pages_header_footer = True
            prefix = {"default": "", "first": "first_page_", "even": "even_page_"}[variant]
            story = getattr(section, prefix + block["type"])
            story.is_linked_to_previous = False
            writer.blocks(_Container(story, cell=True, width=width), block.get("blocks") or [])
            _end_with_paragraph(story._element)


# --- numbering ---------------------------------------------------------------------------------


def _default_level(ilvl: int) -> Level:
    return Level(fmt=_ORDERED_FORMATS[ilvl % 3], text=f"%{ilvl + 1}.", start=1)


def _parse_number(token: str) -> tuple[str, int] | None:
    """A label token as (numFmt, value), or None when it is a word rather than a number."""
    if token.isdigit():
        return ("decimalZero" if len(token) == 2 and token[0] == "0" else "decimal"), int(token)
    roman_ok = _ROMAN.match(token.upper()) is not None
    if roman_ok and (len(token) > 1 or token in "iI"):
        return ("lowerRoman" if token.islower() else "upperRoman"), _roman_value(token.upper())
    if len(set(token)) == 1 and token.isascii():
        value = (len(token) - 1) * 26 + ord(token[0].lower()) - ord("a") + 1
        return ("lowerLetter" if token.islower() else "upperLetter"), value
    return None


def _roman_value(numeral: str) -> int:
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for index, char in enumerate(numeral):
        value = values[char]
        total += -value if index + 1 < len(numeral) and values[numeral[index + 1]] > value else value
    return total


def _fit_label(label: str, ilvl: int) -> dict[int, Level]:
    """Level definitions that make Word show `label` for the first item at `ilvl` of a new list."""
    numbers = [(m, parsed) for m in _LABEL_TOKEN.finditer(label) if (parsed := _parse_number(m.group()))]
    numbers = numbers[-(ilvl + 1) :]
    levels: dict[int, Level] = {}
    text, position = [], 0
    first_level = ilvl - len(numbers) + 1
    for offset, (match, (fmt, value)) in enumerate(numbers):
        level = first_level + offset
        text.append(label[position : match.start()].replace("%", "") + f"%{level + 1}")
        position = match.end()
        levels[level] = Level(fmt=fmt, text=_default_level(level).text, start=value)
    text.append(label[position:].replace("%", ""))
    own = levels.get(ilvl, Level(fmt="decimal", start=1))
    levels[ilvl] = Level(fmt=own.fmt, text="".join(text), start=own.start)
    return levels


class _OrderedList:
    """A run of ordered list items, written as Word numbering that shows each item's label.

    Items share one w:num while Word's counting gives their labels; where it would not (a list that
    restarts, skips or changes style) a new w:num restarts the counting to fit the label.
    """

    def __init__(self, numbering: _Numbering):
        self.numbering = numbering
        self.num_id: int | None = None
        self.levels: list[Level] = []
        self.counters: list[int | None] = []
        self.deepest_used = -1

    def place(self, ilvl: int, label: str) -> int:
        if self.num_id is not None:
            if self._try(ilvl, label, self.levels):
                return self.num_id
            if ilvl > self.deepest_used:  # this level is still free to take the label's style
                levels = list(self.levels)
                levels[ilvl] = _fit_label(label, ilvl)[ilvl]
                if self._try(ilvl, label, levels):
                    self.numbering.set_level(self.num_id, ilvl, levels[ilvl])
                    return self.num_id
        levels = [_default_level(k) for k in range(9)]
        for k, level in _fit_label(label, ilvl).items():
            levels[k] = level
        self.counters = [None] * 9
        self.deepest_used = -1
        if not self._try(ilvl, label, levels):
            # The label holds no number we can count with: show it as it is.
            levels[ilvl] = Level(fmt="decimal", text=label.replace("%", ""), start=1)
            self._try(ilvl, label, levels, force=True)
        self.num_id = self.numbering.ordered(levels)
        return self.num_id

    def _try(self, ilvl: int, label: str, levels: list[Level], force: bool = False) -> bool:
        counters = list(self.counters)
        next_counters(counters, levels, ilvl)
        if not force and label_for(counters, levels, ilvl) != label:
            return False
        self.levels, self.counters = levels, counters
        self.deepest_used = max(self.deepest_used, ilvl)
        return True


class _Numbering:
    """Numbering definitions added to the document: one for bullets, one for ordered lists."""

    def __init__(self, document):
        self.element = document.part.numbering_part.element
        self.next_abstract = 1 + max((int(a.get(qn("w:abstractNumId"))) for a in self._all("abstractNum")), default=-1)
        self.next_num = 1 + max((int(n.get(qn("w:numId"))) for n in self._all("num")), default=0)
        self.unordered_nums: dict[str, int] = {}
        self.ordered_abstract: int | None = None
        self.nums: dict[int, object] = {}

    def _all(self, tag: str):
        return self.element.findall(qn(f"w:{tag}"))

    def bullets(self) -> int:
        return self.unordered(BULLET)

    def unordered(self, label: str) -> int:
        """A list that shows `label` on every item at every level: a bullet glyph, or text that counts nothing
        (a level without a number format of its own)."""
        label = label.replace("%", "")  # "%1" would be a number in a level's text
        if label not in self.unordered_nums:
            fmt = "none" if any(char.isalnum() for char in label) else "bullet"
            abstract = self._abstract([Level(fmt=fmt, text=label, start=1)] * 9)
            self.unordered_nums[label] = self._num(abstract, None)
        return self.unordered_nums[label]

    def ordered(self, levels: list[Level]) -> int:
        if self.ordered_abstract is None:
            self.ordered_abstract = self._abstract([_default_level(k) for k in range(9)])
        return self._num(self.ordered_abstract, levels)

    def set_level(self, num_id: int, ilvl: int, level: Level) -> None:
        override = self.nums[num_id].find(f".//{qn('w:lvlOverride')}[@{qn('w:ilvl')}='{ilvl}']")
        for old in override.findall(qn("w:lvl")):
            override.remove(old)
        override.find(qn("w:startOverride")).set(qn("w:val"), str(level.start))
        override.append(parse_xml(_level_xml(ilvl, level)))

    def _abstract(self, levels: list[Level]) -> int:
        abstract_id, self.next_abstract = self.next_abstract, self.next_abstract + 1
        xml = (
            f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abstract_id}">'
            '<w:multiLevelType w:val="multilevel"/>'
            + "".join(_level_xml(ilvl, level) for ilvl, level in enumerate(levels))
            + "</w:abstractNum>"
        )
        first_num = self.element.find(qn("w:num"))
        element = parse_xml(xml)
        if first_num is None:
            self.element.append(element)
        else:
            first_num.addprevious(element)
        return abstract_id

    def _num(self, abstract_id: int, levels: list[Level] | None) -> int:
        num_id, self.next_num = self.next_num, self.next_num + 1
        # Word counts per abstract definition: every ordered list restarts all its levels explicitly.
        overrides = ""
        if levels is not None:
            defaults = [_default_level(k) for k in range(9)]
            overrides = "".join(
                f'<w:lvlOverride w:ilvl="{ilvl}"><w:startOverride w:val="{level.start}"/>'
                + (_level_xml(ilvl, level) if (level.fmt, level.text) != (defaults[ilvl].fmt, defaults[ilvl].text) else "")
                + "</w:lvlOverride>"
                for ilvl, level in enumerate(levels)
            )
        element = parse_xml(
            f'<w:num {nsdecls("w")} w:numId="{num_id}"><w:abstractNumId w:val="{abstract_id}"/>{overrides}</w:num>'
        )
        self.element.append(element)
        self.nums[num_id] = element
        return num_id


def _level_xml(ilvl: int, level: Level) -> str:
    indent = 720 * (ilvl + 1)
    return (
        f'<w:lvl {nsdecls("w")} w:ilvl="{ilvl}"><w:start w:val="{level.start}"/>'
        f'<w:numFmt w:val="{level.fmt}"/><w:lvlText w:val={quoteattr(_clean(level.text))}/>'
        f'<w:lvlJc w:val="left"/><w:pPr><w:ind w:left="{indent}" w:hanging="360"/></w:pPr></w:lvl>'
    )

