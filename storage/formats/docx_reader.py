"""Read a .docx package into blocks: the text as Word shows it, with every tracked change accepted.

Besides the body, a package gives its footnotes and endnotes (kept, linked to their references),
its headers and footers (kept apart from the body) and its Word comments (handed to the editor,
never made part of the text).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from lxml import etree
from lxml import html as lxml_html

from storage.blocks import block_text

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
STRICT_W_NS = "http://purl.oclc.org/ooxml/wordprocessingml/main"

REL_OFFICE_DOCUMENT = R_NS + "/officeDocument"
REL_STRICT_OFFICE_DOCUMENT = "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument"
REL_STYLES = R_NS + "/styles"
REL_NUMBERING = R_NS + "/numbering"
REL_COMMENTS = R_NS + "/comments"
REL_COMMENTS_EXTENDED = "http://schemas.microsoft.com/office/2011/relationships/commentsExtended"
REL_FOOTNOTES = R_NS + "/footnotes"
REL_ENDNOTES = R_NS + "/endnotes"
REL_SETTINGS = R_NS + "/settings"

CT_DOCUMENT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
CT_TEMPLATE = "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"


def _w(name: str) -> str:
    return f"{{{W_NS}}}{name}"


P, R, T, TBL, TR, TC, SDT, SDT_CONTENT = map(_w, ("p", "r", "t", "tbl", "tr", "tc", "sdt", "sdtContent"))
BODY, PPR, RPR, TCPR, TRPR = map(_w, ("body", "pPr", "rPr", "tcPr", "trPr"))
INS, DEL, MOVE_FROM, MOVE_TO = map(_w, ("ins", "del", "moveFrom", "moveTo"))
HYPERLINK, SMART_TAG, CUSTOM_XML, FLD_SIMPLE, BDO, DIR = map(
    _w, ("hyperlink", "smartTag", "customXml", "fldSimple", "bdo", "dir")
)
FLD_CHAR, INSTR_TEXT, TAB, PTAB, BR, CR, NO_BREAK_HYPHEN = map(
    _w, ("fldChar", "instrText", "tab", "ptab", "br", "cr", "noBreakHyphen")
)
DRAWING, PICT, OBJECT, TXBX_CONTENT, ALT_CHUNK = map(_w, ("drawing", "pict", "object", "txbxContent", "altChunk"))
FOOTNOTE_REF, ENDNOTE_REF, VANISH = map(_w, ("footnoteReference", "endnoteReference", "vanish"))
FOOTNOTE_MARK, ENDNOTE_MARK, CUSTOM_MARK = map(_w, ("footnoteRef", "endnoteRef", "customMarkFollows"))
COMMENT_START, COMMENT_END = map(_w, ("commentRangeStart", "commentRangeEnd"))
SECT_PR, TITLE_PG, HEADER_REF, FOOTER_REF = map(_w, ("sectPr", "titlePg", "headerReference", "footerReference"))
W_ID, W_TYPE = _w("id"), _w("type")
W14_PARA_ID = "{http://schemas.microsoft.com/office/word/2010/wordml}paraId"
B, I, U, RSTYLE, PSTYLE, NUMPR, ILVL, NUMID, OUTLINE_LVL = map(  # noqa: E741 (w:i, as Word names it)
    _w, ("b", "i", "u", "rStyle", "pStyle", "numPr", "ilvl", "numId", "outlineLvl")
)
GRID_SPAN, GRID_BEFORE, V_MERGE, H_MERGE = map(_w, ("gridSpan", "gridBefore", "vMerge", "hMerge"))
W_VAL, W_INSTR, W_ANCHOR, W_FLD_CHAR_TYPE = _w("val"), _w("instr"), _w("anchor"), _w("fldCharType")
R_ID = f"{{{R_NS}}}id"
ALTERNATE_CONTENT, MC_CHOICE, MC_FALLBACK = (f"{{{MC_NS}}}{n}" for n in ("AlternateContent", "Choice", "Fallback"))

WP_NS = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
WP_INLINE, WP_ANCHOR, WP_DOC_PR, WP_EXTENT = (f"{{{WP_NS}}}{n}" for n in ("inline", "anchor", "docPr", "extent"))
A_BLIP = "{http://schemas.openxmlformats.org/drawingml/2006/main}blip"
R_EMBED = f"{{{R_NS}}}embed"
C_CHART = "{http://schemas.openxmlformats.org/drawingml/2006/chart}chart"
V_IMAGEDATA = "{urn:schemas-microsoft-com:vml}imagedata"
O_TITLE = "{urn:schemas-microsoft-com:office:office}title"
M_NS = "http://schemas.openxmlformats.org/officeDocument/2006/math"
M_OMATH, M_OMATH_PARA, M_T = (f"{{{M_NS}}}{n}" for n in ("oMath", "oMathPara", "t"))

REVISION_TAGS = tuple(
    _w(n)
    for n in (
        "ins", "del", "moveFrom", "moveTo", "rPrChange", "pPrChange", "sectPrChange",
        "tblPrChange", "trPrChange", "tcPrChange", "tblGridChange", "numberingChange",
        "cellIns", "cellDel", "cellMerge",
    )
)
# Only these schemes may become a link in the rendered version; the importer never fetches any of them.
SAFE_LINK_SCHEMES = ("http", "https", "mailto")
BULLET = "\u2022"
# Bullet characters of the symbol fonts (Word stores them as U+F0xx or as the font's own byte) as Unicode shows
# them; a bullet in any other font is its own character, except Word's default second-level "o" in Courier New.
_SYMBOL_GLYPHS = {0xB7: "\u2022", 0xA7: "\u2663", 0xA8: "\u2666", 0xA9: "\u2665", 0xAA: "\u2660",
                  0xAE: "\u2192", 0xDE: "\u21d2", 0x2D: "\u2212", 0xB0: "\u00b0", 0xD7: "\u22c5"}
_WINGDINGS_GLYPHS = {0x6C: "\u25cf", 0x6D: "\u274d", 0x6E: "\u25a0", 0x6F: "\u25a1", 0x70: "\u25fb",
                     0x71: "\u2751", 0x72: "\u2752", 0x75: "\u25c6", 0x76: "\u2756", 0x77: "\u2b25",
                     0x9F: "\u2022", 0xA1: "\u25cb", 0xA7: "\u25aa", 0xA8: "\u25fb", 0xD8: "\u27a2",
                     0xE8: "\u2794", 0xF0: "\u21e8", 0xFB: "\u2717", 0xFC: "\u2713", 0xFE: "\u2611"}
_GLYPHS_BY_FONT = {"symbol": _SYMBOL_GLYPHS, "wingdings": _WINGDINGS_GLYPHS}
_PLAIN_GLYPHS = {"o": "\u25e6", "\uf0b7": "\u2022", "\uf0a7": "\u25aa"}
# Word numbers footnotes 1, 2, 3 and endnotes i, ii, iii unless the section or settings say otherwise.
NOTE_KINDS = {"footnote": ("fn", "decimal"), "endnote": ("en", "lowerRoman")}
# Separator lines and continuation notices are part of the page layout, not notes.
NOTE_LAYOUT_TYPES = ("separator", "continuationSeparator", "continuationNotice")
HEADER_FOOTER_ORDER = ("default", "first", "even")
# Their results in a header or footer are the page the part was last drawn on, not text.
_PAGE_FIELD = re.compile(r"^\s*(?:PAGE|NUMPAGES|SECTIONPAGES|SECTION)\b", re.IGNORECASE)


class DocxRefused(Exception):
    """The package is not one we read; `code` is one of storage.formats.importing's refusal codes."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass
class DocxContent:
    """What a .docx holds: its blocks, the counts the editor is told about, and its Word comments.

    `blocks` are the body's blocks, then one "note" block per footnote or endnote in the order of
    their first reference, then one "header" or "footer" block per distinct header or footer text.
    Each Word comment is {"author", "date", "text", "block_index", "quote", "parent"}: the index
    of the top-level block where its range starts, the text it marks, and for a reply the index
    of the comment it answers in the same list.
    `images` holds the bytes of every picture an image block names by its "blob" (sha256).
    """

    blocks: list[dict]
    findings: dict
    word_comments: list[dict] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)


def read_docx(data: bytes) -> tuple[list[dict], dict]:
    """Blocks (without ids) and findings of a .docx; see `read_docx_content`."""
    content = read_docx_content(data)
    return content.blocks, content.findings


def read_docx_content(data: bytes) -> DocxContent:
    """Blocks (without ids), findings and Word comments of a .docx.

    The archive's sizes and names must have been vetted first (storage.formats.importing does that);
    this function refuses what it finds inside the package: macros, templates, Strict OOXML,
    DOCTYPE declarations, broken XML, a missing main part.
    """
    package = _Package(data)
    main_path = package.main_part()
    root = package.xml(main_path)
    if root is None:
        raise DocxRefused("corrupt")
    if root.tag.startswith(f"{{{STRICT_W_NS}}}"):
        raise DocxRefused("strict")
    if root.tag != _w("document"):
        raise DocxRefused("corrupt")
    rels = package.rels(main_path)
    styles = _Styles(package.xml(rels.find_part(REL_STYLES)))
    numbering = _Numbering(package.xml(rels.find_part(REL_NUMBERING)), styles)
    settings = package.xml(rels.find_part(REL_SETTINGS))
    body = root.find(BODY)
    final_sect_pr = body.find(SECT_PR) if body is not None else None
    notes = _Notes(package, rels, settings, final_sect_pr)
    quotes = _Quotes()
    media = _Media(package)
    reader = _BodyReader(styles, numbering, rels, notes=notes, quotes=quotes, media=media)
    blocks = reader.read_story(body) if body is not None else []
    readers = [reader]

    for ref in notes.referenced:
        note_reader = _BodyReader(styles, numbering, notes.rels[ref.kind], quotes=quotes, own_note=ref, media=media)
        readers.append(note_reader)
        inner = note_reader.read_story(ref.element, index=len(blocks))
        blocks.append({"type": "note", "kind": ref.kind, "label": ref.label, "note": ref.note_id, "blocks": inner})
    note_count = len(notes.referenced)

    sections = [*reader.section_breaks, *([final_sect_pr] if final_sect_pr is not None else [])]
    even_and_odd = settings is not None and bool(_on(settings.find(_w("evenAndOddHeaders"))))
    readers += _headers_and_footers(package, rels, styles, numbering, quotes, sections, even_and_odd, blocks, media)

    comments_path = rels.find_part(REL_COMMENTS)
    comments = package.xml(comments_path)
    word_comments = []
    if comments is not None:
        extended = package.xml(rels.find_part(REL_COMMENTS_EXTENDED))
        word_comments = _word_comments(comments, extended, package.rels(comments_path), styles, numbering, quotes,
                                       len(blocks))
    findings = {
        "tracked_changes": sum(1 for _ in root.iter(*REVISION_TAGS)),
        "word_comments": len(word_comments),
        "images": _count_images(blocks),
        "footnotes": note_count,
        "hidden_text": sum(r.hidden_runs for r in readers),
        "embedded_unread": media.unread_chunks,
    }
    findings = {key: count for key, count in findings.items() if count}
    return DocxContent(blocks=blocks, findings=findings, word_comments=word_comments, images=media.blobs)


def _count_images(blocks: list[dict]) -> int:
    count = 0
    for block in blocks:
        kind = block["type"]
        if kind == "image":
            count += 1
        elif kind == "table":
            count += sum(_count_images(cell["blocks"]) for row in block["rows"] for cell in row)
        elif "blocks" in block:
            count += _count_images(block["blocks"])
    return count


# --- the package -------------------------------------------------------------------------------


def _hardened_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


# A DOCTYPE is refused wherever it sits, also in parts we never parse; UTF-16 spellings included.
_DOCTYPE_MARKS = (b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))


@dataclass
class _Rels:
    base: str
    by_id: dict[str, tuple[str, str, bool]] = field(default_factory=dict)  # id -> (type, target, external)

    def find_part(self, rel_type: str) -> str | None:
        for kind, target, external in self.by_id.values():
            if kind == rel_type and not external:
                return _resolve(self.base, target)
        return None

    def external_target(self, rel_id: str | None) -> str | None:
        kind, target, external = self.by_id.get(rel_id or "", ("", "", False))
        return target if external else None

    def internal_part(self, rel_id: str | None) -> str | None:
        kind, target, external = self.by_id.get(rel_id or "", ("", "", True))
        return None if external else _resolve(self.base, target)


def _resolve(base: str, target: str) -> str:
    target = unquote(target)
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(base, target))


class _Package:
    def __init__(self, data: bytes):
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, ValueError, EOFError) as error:
            raise DocxRefused("corrupt") from error
        # OPC part names are case-insensitive.
        self.names = {info.filename.lower(): info.filename for info in self.zip.infolist() if not info.is_dir()}
        self.raw: dict[str, bytes] = {}
        for key, name in self.names.items():
            if key.endswith((".xml", ".rels")):
                raw = self._read(name)
                if any(mark in raw for mark in _DOCTYPE_MARKS):
                    raise DocxRefused("dtd")
                self.raw[key] = raw
        self.parser = _hardened_parser()
        self._content_types = self._read_content_types()

    def _read(self, name: str) -> bytes:
        try:
            return self.zip.read(name)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
            raise DocxRefused("corrupt") from error

    def bytes(self, path: str | None) -> bytes | None:
        """A part's bytes as stored (a picture, an embedded HTML page); None when there is no such part."""
        key = (path or "").lower()
        return self._read(self.names[key]) if key in self.names else None

    def xml(self, path: str | None) -> etree._Element | None:
        if path is None:
            return None
        key = path.lower()
        raw = self.raw.get(key)
        if raw is None:
            if key not in self.names:
                return None
            raw = self._read(self.names[key])
        try:
            root = etree.fromstring(raw, self.parser)
        except etree.XMLSyntaxError as error:
            raise DocxRefused("corrupt") from error
        if root.getroottree().docinfo.doctype:
            raise DocxRefused("dtd")
        return root

    def rels(self, part_path: str) -> _Rels:
        folder, name = posixpath.split(part_path)
        rels = _Rels(base=folder)
        root = self.xml(posixpath.join(folder, "_rels", name + ".rels"))
        if root is not None:
            for rel in root:
                if isinstance(rel.tag, str) and rel.get("Id"):
                    external = rel.get("TargetMode", "Internal") == "External"
                    rels.by_id[rel.get("Id")] = (rel.get("Type", ""), rel.get("Target", ""), external)
        return rels

    def _read_content_types(self) -> dict[str, str]:
        root = self.xml("[Content_Types].xml")
        if root is None:
            raise DocxRefused("corrupt")
        types = {}
        for item in root:
            if not isinstance(item.tag, str):
                continue
            if item.tag.endswith("}Default"):
                types["*." + item.get("Extension", "").lower()] = item.get("ContentType", "")
            elif item.tag.endswith("}Override"):
                types[item.get("PartName", "").lstrip("/").lower()] = item.get("ContentType", "")
        return types

    def content_type(self, path: str) -> str:
        key = path.lower()
        return self._content_types.get(key) or self._content_types.get("*." + key.rpartition(".")[2], "")

    def main_part(self) -> str:
        """The main document part's path, after refusing macro, Strict and template packages."""
        if any(key.endswith("vbaproject.bin") for key in self.names) or any(
            "macroenabled" in ct.lower() or "vbaproject" in ct.lower() for ct in self._content_types.values()
        ):
            raise DocxRefused("macro")
        package_rels = self.rels("")
        main = package_rels.find_part(REL_OFFICE_DOCUMENT)
        if main is None:
            raise DocxRefused("strict" if package_rels.find_part(REL_STRICT_OFFICE_DOCUMENT) else "corrupt")
        content_type = self.content_type(main)
        if content_type == CT_TEMPLATE:
            raise DocxRefused("template")
        if content_type != CT_DOCUMENT:
            raise DocxRefused("wrong_type")
        if main.lower() not in self.names:
            raise DocxRefused("corrupt")
        return main


# --- styles and numbering ----------------------------------------------------------------------

_HEADING_STYLE = re.compile(r"^(?:heading|kop)\s*([1-9])$", re.IGNORECASE)
_TITLE_STYLES = {"title", "titel"}


def _on(element: etree._Element | None) -> bool | None:
    """A toggle property: None when absent, else its value (absent w:val means on)."""
    if element is None:
        return None
    return element.get(W_VAL, "true").lower() not in ("0", "false", "off", "none")


def _int(element: etree._Element | None, default: int | None = None) -> int | None:
    if element is None:
        return default
    try:
        return int(element.get(W_VAL, ""))
    except ValueError:
        return default


@dataclass
class _Style:
    name: str
    based_on: str | None
    outline: int | None
    num_id: str | None
    ilvl: int | None
    bold: bool | None
    italic: bool | None


class _Styles:
    def __init__(self, root: etree._Element | None):
        self.by_id: dict[str, _Style] = {}
        self.default_paragraph: str | None = None
        if root is None:
            return
        for style in root.iter(_w("style")):
            style_id = style.get(_w("styleId"))
            if not style_id:
                continue
            ppr, rpr = style.find(PPR), style.find(RPR)
            numpr = ppr.find(NUMPR) if ppr is not None else None
            name = style.find(_w("name"))
            based_on = style.find(_w("basedOn"))
            self.by_id[style_id] = _Style(
                name=(name.get(W_VAL, "") if name is not None else "").strip(),
                based_on=based_on.get(W_VAL) if based_on is not None else None,
                outline=_int(ppr.find(OUTLINE_LVL)) if ppr is not None else None,
                num_id=_val(numpr, NUMID),
                ilvl=_int(numpr.find(ILVL)) if numpr is not None else None,
                bold=_on(rpr.find(B)) if rpr is not None else None,
                italic=_on(rpr.find(I)) if rpr is not None else None,
            )
            if style.get(_w("type")) == "paragraph" and _on_attr(style.get(_w("default"))):
                self.default_paragraph = style_id

    def chain(self, style_id: str | None):
        """The style and the styles it is based on, nearest first (cycles cut)."""
        seen = set()
        while style_id and style_id not in seen and style_id in self.by_id:
            seen.add(style_id)
            style = self.by_id[style_id]
            yield style
            style_id = style.based_on

    def heading_level(self, style_id: str | None, direct_outline: int | None) -> int | None:
        outline = direct_outline
        if outline is None:
            outline = next((s.outline for s in self.chain(style_id) if s.outline is not None), None)
        if outline is not None:
            return min(outline + 1, 6) if 0 <= outline < 9 else None
        style = self.by_id.get(style_id or "")
        if style is None:
            return None
        for candidate in (style.name, style_id):
            match = _HEADING_STYLE.match(candidate)
            if match:
                return min(int(match.group(1)), 6)
        return 1 if style.name.lower() in _TITLE_STYLES else None

    def numbering(self, style_id: str | None) -> tuple[str | None, int | None]:
        for style in self.chain(style_id):
            if style.num_id is not None:
                return style.num_id, style.ilvl
        return None, None

    def run_format(self, style_id: str | None) -> tuple[bool, bool]:
        bold = next((s.bold for s in self.chain(style_id) if s.bold is not None), False)
        italic = next((s.italic for s in self.chain(style_id) if s.italic is not None), False)
        return bold, italic


def _val(parent: etree._Element | None, tag: str) -> str | None:
    if parent is None:
        return None
    child = parent.find(tag)
    return child.get(W_VAL) if child is not None else None


def _on_attr(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "on")


@dataclass
class Level:
    """One level of a numbering definition."""

    fmt: str = "decimal"
    text: str = ""
    start: int = 0
    restart: int | None = None  # w:lvlRestart: the 1-based level that restarts this one; 0 = never
    legal: bool = False
    style: str | None = None


def _parse_level(lvl: etree._Element) -> Level:
    fmt = _val(lvl, _w("numFmt")) or "decimal"
    text = _val(lvl, _w("lvlText")) or ""
    if fmt == "bullet":
        fonts = lvl.find(f"{RPR}/{_w('rFonts')}")
        text = bullet_glyph(text, None if fonts is None else fonts.get(_w("ascii")) or fonts.get(_w("hAnsi")))
    return Level(
        fmt=fmt,
        text=text,
        start=_int(lvl.find(_w("start")), 0),
        restart=_int(lvl.find(_w("lvlRestart"))),
        legal=bool(_on(lvl.find(_w("isLgl")))),
        style=_val(lvl, PSTYLE),
    )


def bullet_glyph(text: str, font: str | None) -> str:
    """A bullet level's text as Unicode shows it: symbol-font characters become the characters they draw."""
    glyphs = _GLYPHS_BY_FONT.get((font or "").strip().lower(), {})
    out = []
    for char in text:
        code = ord(char)
        code = code - 0xF000 if 0xF000 <= code <= 0xF0FF else code
        if code in glyphs:
            out.append(glyphs[code])
        elif glyphs or 0xF000 <= ord(char) <= 0xF8FF:
            out.append(_PLAIN_GLYPHS.get(char, BULLET))  # a symbol we have no name for: still a bullet
        else:
            out.append(_PLAIN_GLYPHS.get(char, char) if len(text) == 1 else char)
    return "".join(out)


def format_number(value: int, fmt: str) -> str:
    """A counter value as Word writes it in a list label."""
    if fmt in ("lowerLetter", "upperLetter"):
        if value < 1:
            return str(value)
        letter = chr(ord("a") + (value - 1) % 26) * ((value - 1) // 26 + 1)
        return letter if fmt == "lowerLetter" else letter.upper()
    if fmt in ("lowerRoman", "upperRoman"):
        roman = _roman(value) if 0 < value < 4000 else str(value)
        return roman.lower() if fmt == "lowerRoman" else roman
    if fmt == "decimalZero":
        return f"{value:02d}"
    if fmt == "ordinal":
        suffix = "th" if 10 <= value % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
        return f"{value}{suffix}"
    if fmt == "none":
        return ""
    return str(value)


def _roman(value: int) -> str:
    out = []
    for number, numeral in (
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    ):
        count, value = divmod(value, number)
        out.append(numeral * count)
    return "".join(out)


_PLACEHOLDER = re.compile(r"%([1-9])")
_ARABIC_FORMATS = ("decimal", "decimalZero", "none")


def render_label(level_text: str, values: list[int], formats: list[str]) -> str:
    """Fill a w:lvlText like "%1.%2." with the counters of levels 0..8 in their formats."""

    def fill(match: re.Match) -> str:
        index = int(match.group(1)) - 1
        return format_number(values[index], formats[index]) if index < len(values) else ""

    return _PLACEHOLDER.sub(fill, level_text)


def next_counters(counters: list[int | None], levels: list[Level], ilvl: int) -> None:
    """Advance level `ilvl` the way Word does: count it on, restart the levels below it.

    A level used before its parent levels counts those as started at their start value, as Word
    does: the parent's next item then shows start + 1 ("1.", then "2.a.i" under it, then "2.b").
    """
    for above in range(ilvl):
        if counters[above] is None:
            counters[above] = levels[above].start
    counters[ilvl] = levels[ilvl].start if counters[ilvl] is None else counters[ilvl] + 1
    for deeper in range(ilvl + 1, len(counters)):
        restart = levels[deeper].restart
        if restart is None or (restart != 0 and ilvl < restart):
            counters[deeper] = None


def label_for(counters: list[int | None], levels: list[Level], ilvl: int) -> str:
    level = levels[ilvl]
    if level.fmt == "bullet":
        return level.text or BULLET
    values = [levels[k].start if c is None else c for k, c in enumerate(counters)]
    # Legal numbering shows every level in Arabic numerals; a zero-padded level stays zero-padded ("Section 1.01").
    formats = [lv.fmt if not level.legal or lv.fmt in _ARABIC_FORMATS else "decimal" for lv in levels]
    return render_label(level.text, values, formats)


class _Numbering:
    """Numbering definitions and their running counters.

    Word counts per abstract definition, not per w:num: two lists that share an abstractNum
    continue each other unless a w:num restarts a level with w:startOverride, which takes effect
    where that w:num is first used (corpus 04 spells the labels Word shows in its text).
    """

    def __init__(self, root: etree._Element | None, styles: _Styles):
        self.styles = styles
        self.abstracts: dict[str, tuple[dict[int, Level], str | None]] = {}
        self.nums: dict[str, tuple[str, dict[int, tuple[int | None, Level | None]]]] = {}
        self.counters: dict[str, list[int | None]] = {}
        self._resolved: dict[str, tuple[str, list[Level]] | None] = {}
        self._used: set[str] = set()
        if root is None:
            return
        for abstract in root.iter(_w("abstractNum")):
            levels = {_int_attr(lvl.get(_w("ilvl"))): _parse_level(lvl) for lvl in abstract.iter(_w("lvl"))}
            self.abstracts[abstract.get(_w("abstractNumId"), "")] = (levels, _val(abstract, _w("numStyleLink")))
        for num in root.iter(_w("num")):
            overrides = {}
            for override in num.iter(_w("lvlOverride")):
                lvl = override.find(_w("lvl"))
                overrides[_int_attr(override.get(_w("ilvl")))] = (
                    _int(override.find(_w("startOverride"))),
                    _parse_level(lvl) if lvl is not None else None,
                )
            self.nums[num.get(_w("numId"), "")] = (_val(num, _w("abstractNumId")) or "", overrides)

    def resolve(self, num_id: str) -> tuple[str, list[Level]] | None:
        """The abstract definition a w:num counts in, and its nine levels with the overrides applied."""
        if num_id not in self._resolved:
            self._resolved[num_id] = self._resolve(num_id)
        return self._resolved[num_id]

    def _resolve(self, num_id: str) -> tuple[str, list[Level]] | None:
        if num_id not in self.nums:
            return None
        abstract_id, overrides = self.nums[num_id]
        base: dict[int, Level] = {}
        for _ in range(5):  # a numStyleLink points through a style to another definition
            if abstract_id not in self.abstracts:
                break
            base, style_link = self.abstracts[abstract_id]
            if not style_link:
                break
            linked_num, _ = self.styles.numbering(style_link)
            if linked_num not in self.nums:
                break
            abstract_id = self.nums[linked_num][0]
        levels = [base.get(ilvl, Level()) for ilvl in range(9)]
        for ilvl, (start, level) in overrides.items():
            if 0 <= ilvl < 9:
                level = level or levels[ilvl]
                if start is not None:
                    level = Level(level.fmt, level.text, start, level.restart, level.legal, level.style)
                levels[ilvl] = level
        return abstract_id, levels

    def level_of_style(self, num_id: str, style_id: str | None) -> int:
        resolved = self.resolve(num_id)
        levels = resolved[1] if resolved else []
        return next((k for k, level in enumerate(levels) if style_id and level.style == style_id), 0)

    def next_label(self, num_id: str, ilvl: int) -> tuple[str, bool] | None:
        """The label Word shows for the next paragraph of this list at this level, and whether it counts."""
        resolved = self.resolve(num_id)
        if resolved is None or not 0 <= ilvl < 9:
            return None
        abstract_id, levels = resolved
        counters = self.counters.setdefault(abstract_id, [None] * 9)
        if num_id not in self._used:
            self._used.add(num_id)
            for level, (start, _) in self.nums[num_id][1].items():
                if start is not None and 0 <= level < 9:
                    counters[level] = None
        next_counters(counters, levels, ilvl)
        return label_for(counters, levels, ilvl), levels[ilvl].fmt not in ("bullet", "none")


def _int_attr(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


# --- pictures and embedded pages ----------------------------------------------------------------


class _Media:
    """The pictures of a package, each read once and kept by sha256; the embedded parts the reader could not read."""

    def __init__(self, package: _Package):
        self.package = package
        self.blobs: dict[str, bytes] = {}
        self._by_path: dict[str, tuple[str, str] | None] = {}
        self.unread_chunks = 0

    def picture(self, path: str) -> tuple[str, str] | None:
        """(sha256, content type) of an image part; None when the part is missing or not an image."""
        key = path.lower()
        if key not in self._by_path:
            content_type = self.package.content_type(path).lower()
            data = self.package.bytes(path) if content_type.startswith("image/") else None
            if data:
                sha256 = hashlib.sha256(data).hexdigest()
                self.blobs.setdefault(sha256, data)
                self._by_path[key] = (sha256, content_type)
            else:
                self._by_path[key] = None
        return self._by_path[key]


# Elements whose text is not part of the page, and the elements that make a block of their own.
_HTML_SKIPPED = {"head", "script", "style", "title", "meta", "link", "noscript", "template", "iframe", "object",
                 "embed", "svg", "math", "select", "button", "textarea"}
_HTML_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_HTML_BLOCKS = {"p", "div", "blockquote", "pre", "address", "section", "article", "header", "footer", "main",
                "aside", "nav", "figure", "figcaption", "dl", "dt", "dd", "center", "form", "fieldset", "hr",
                "body", "html", "caption", *_HTML_HEADINGS}
_HTML_SPACE = re.compile(r"\s+")


def _mht_html(data: bytes) -> bytes:
    """The HTML page inside an MHT (web archive) part: the first text/html part of the MIME message."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True) or b""
            charset = part.get_content_charset() or "utf-8"
            try:
                return payload.decode(charset, errors="replace").encode("utf-8")
            except LookupError:
                return payload
    return b""


def html_blocks(data: bytes) -> list[dict]:
    """Blocks of an HTML page: headings, paragraphs, lists, tables, links and bold/italic/underline as runs.

    Parsed by lxml's HTML parser without network access; nothing the page points to is fetched.
    """
    if not data.strip():
        return []
    parser = lxml_html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, huge_tree=False,
                                  encoding=None if b"charset" in data[:2048].lower() else "utf-8")
    try:
        root = lxml_html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError):
        return []
    body = root.find("body")
    converter = _HtmlBlocks()
    converter.container(root if body is None else body, converter.blocks)
    return converter.blocks


class _HtmlBlocks:
    def __init__(self):
        self.blocks: list[dict] = []

    def container(self, element: etree._Element, out: list[dict]) -> None:
        """The blocks of an element that holds blocks; loose text between them makes paragraphs."""
        pieces: list[list] = []
        self._text(element.text, pieces, (False, False, False, None))
        for child in element:
            if isinstance(child.tag, str) and self._is_block(child):
                self._paragraph(pieces, out)
                pieces = []
                self._block(child, out)
            else:
                self._inline(child, pieces, (False, False, False, None))
            self._text(child.tail, pieces, (False, False, False, None))
        self._paragraph(pieces, out)

    @staticmethod
    def _is_block(element: etree._Element) -> bool:
        return element.tag.lower() in _HTML_BLOCKS or element.tag.lower() in ("ul", "ol", "table", "li")

    def _block(self, element: etree._Element, out: list[dict]) -> None:
        tag = element.tag.lower()
        if tag in _HTML_SKIPPED:
            return
        if tag in _HTML_HEADINGS:
            pieces: list[list] = []
            self._inline_children(element, pieces, (False, False, False, None))
            self._paragraph(pieces, out, {"type": "heading", "level": _HTML_HEADINGS[tag]})
        elif tag in ("ul", "ol"):
            self._list(element, out, 0)
        elif tag == "table":
            table = self._table(element)
            if table["rows"]:
                out.append(table)
        else:
            self.container(element, out)

    def _list(self, element: etree._Element, out: list[dict], level: int) -> None:
        ordered = element.tag.lower() == "ol"
        try:
            number = int(element.get("start", "1"))
        except ValueError:
            number = 1
        for item in element:
            if not isinstance(item.tag, str) or item.tag.lower() != "li":
                continue
            label = f"{number}." if ordered else BULLET
            kind = {"type": "list_item", "level": min(level, 8), "ordered": ordered, "label": label}
            pieces: list[list] = []
            nested: list[etree._Element] = []
            fmt = (False, False, False, None)
            self._text(item.text, pieces, fmt)
            for child in item:
                if isinstance(child.tag, str) and child.tag.lower() in ("ul", "ol"):
                    nested.append(child)
                elif isinstance(child.tag, str) and self._is_block(child):
                    self._inline_children(child, pieces, fmt)
                    self._text(" ", pieces, fmt)
                else:
                    self._inline(child, pieces, fmt)
                self._text(child.tail, pieces, fmt)
            self._paragraph(pieces, out, kind)
            for child in nested:
                self._list(child, out, level + 1)
            number += 1

    def _table(self, element: etree._Element) -> dict:
        rows = []
        for tr in element.iter("tr"):
            cells = []
            for td in tr:
                if not isinstance(td.tag, str) or td.tag.lower() not in ("td", "th"):
                    continue
                blocks: list[dict] = []
                self.container(td, blocks)
                cells.append({"blocks": blocks, "colspan": _html_span(td.get("colspan")),
                              "rowspan": _html_span(td.get("rowspan"))})
            if cells:
                rows.append(cells)
        return {"type": "table", "rows": rows}

    def _inline(self, element: etree._Element, pieces: list[list], fmt: tuple) -> None:
        if not isinstance(element.tag, str):
            return
        tag = element.tag.lower()
        if tag in _HTML_SKIPPED:
            return
        if tag == "br":
            pieces.append(["\n", *fmt])
            return
        bold, italic, underline, href = fmt
        if tag in ("b", "strong"):
            bold = True
        elif tag in ("i", "em", "cite", "var"):
            italic = True
        elif tag in ("u", "ins"):
            underline = True
        elif tag == "a":
            href = safe_href(element.get("href")) or href
        self._inline_children(element, pieces, (bold, italic, underline, href))

    def _inline_children(self, element: etree._Element, pieces: list[list], fmt: tuple) -> None:
        self._text(element.text, pieces, fmt)
        for child in element:
            self._inline(child, pieces, fmt)
            self._text(child.tail, pieces, fmt)

    @staticmethod
    def _text(text: str | None, pieces: list[list], fmt: tuple) -> None:
        if text:
            text = _HTML_SPACE.sub(" ", text)
            if pieces and pieces[-1][0].endswith((" ", "\n")):
                text = text.lstrip(" ")
            if text:
                pieces.append([text, *fmt])

    @staticmethod
    def _paragraph(pieces: list[list], out: list[dict], kind: dict | None = None) -> None:
        runs = [run for run in merge_runs(pieces) if run["text"]]
        if runs:
            runs[0]["text"] = runs[0]["text"].lstrip()
            runs[-1]["text"] = runs[-1]["text"].rstrip()
        runs = [run for run in runs if run["text"]]
        text = "".join(run["text"] for run in runs)
        if not text.strip():
            return
        block = {**(kind or {"type": "paragraph"}), "text": text}
        if any(len(run) > 1 for run in runs):
            block["runs"] = runs
        out.append(block)


def _html_span(value: str | None) -> int:
    try:
        return min(max(int(value or 1), 1), 1000)
    except ValueError:
        return 1


# --- the body ----------------------------------------------------------------------------------


@dataclass
class _Field:
    instruction: str = ""
    showing_result: bool = False
    href: str | None = None
    placed: bool = False  # a page field's run is in the text already


def _page_field(instruction: str) -> list:
    """The piece of a page-number field: no text of its own (the page it was last drawn on is no text)."""
    return ["", False, False, False, None, None, " ".join(instruction.split())]


def _has_page_field(blocks: list[dict]) -> bool:
    return any(run.get("field") for block in blocks for run in block.get("runs") or ())


_HYPERLINK_FIELD = re.compile(r'^\s*HYPERLINK\s+(?:"([^"]*)"|(\S+))', re.IGNORECASE)


def safe_href(url: str | None) -> str | None:
    if not url:
        return None
    url = url.strip()
    return url if urlsplit(url).scheme.lower() in SAFE_LINK_SCHEMES else None


def _field_href(instruction: str) -> str | None:
    match = _HYPERLINK_FIELD.match(instruction)
    return safe_href(match.group(1) or match.group(2)) if match else None


def _choose(alternate: etree._Element) -> etree._Element | None:
    """mc:AlternateContent holds the same content twice: read the first choice, else the fallback."""
    return alternate.find(MC_CHOICE) if alternate.find(MC_CHOICE) is not None else alternate.find(MC_FALLBACK)


@dataclass
class _Flow:
    """Blocks of one container (body, cell, text box) and the text of a paragraph whose mark was deleted."""

    blocks: list[dict] = field(default_factory=list)
    carry: list[list] = field(default_factory=list)


# --- notes and comments ------------------------------------------------------------------------


@dataclass
class _NoteRef:
    kind: str  # "footnote" or "endnote"
    note_id: str  # "fn1", "en2": by order of first reference, per kind
    label: str
    element: etree._Element


class _Notes:
    """Footnotes and endnotes as the body refers to them, numbered the way Word shows them.

    Word counts references in document order, in the format the last section (or else the
    settings) gives; a reference with a custom mark shows that mark and is not counted.
    """

    def __init__(self, package: _Package, rels: _Rels, settings: etree._Element | None,
                 sect_pr: etree._Element | None):
        self.package = package
        self.main_rels = rels
        self.referenced: list[_NoteRef] = []
        self.rels: dict[str, _Rels] = {}
        self._by_word_id: dict[tuple[str, str], _NoteRef] = {}
        self._elements: dict[str, dict[str, etree._Element]] = {}
        self._counters = {kind: 0 for kind in NOTE_KINDS}
        self._formats = {kind: _note_format(kind, sect_pr, settings) for kind in NOTE_KINDS}

    def reference(self, kind: str, word_id: str | None, custom_mark: bool) -> _NoteRef | None:
        """The note a reference points to, numbered on this first reference; None if it has none."""
        known = self._by_word_id.get((kind, word_id or ""))
        if known is not None:
            return known
        element = self._notes_of(kind).get(word_id or "")
        if element is None:
            return None
        label = ""
        if not custom_mark:
            fmt, start = self._formats[kind]
            label = format_number(start + self._counters[kind], fmt)
            self._counters[kind] += 1
        number = sum(1 for ref in self.referenced if ref.kind == kind) + 1
        ref = _NoteRef(kind=kind, note_id=f"{NOTE_KINDS[kind][0]}{number}", label=label, element=element)
        self.referenced.append(ref)
        self._by_word_id[(kind, word_id or "")] = ref
        return ref

    def _notes_of(self, kind: str) -> dict[str, etree._Element]:
        if kind not in self._elements:
            path = self.main_rels.find_part(REL_FOOTNOTES if kind == "footnote" else REL_ENDNOTES)
            root = self.package.xml(path)
            self._elements[kind] = {} if root is None else {
                note.get(W_ID, ""): note for note in root.iter(_w(kind)) if note.get(W_TYPE) not in NOTE_LAYOUT_TYPES
            }
            self.rels[kind] = self.package.rels(path) if path else _Rels(base="")
        return self._elements[kind]


def _note_format(kind: str, sect_pr: etree._Element | None, settings: etree._Element | None) -> tuple[str, int]:
    fmt, start = None, None
    for holder in (sect_pr, settings):
        properties = holder.find(_w(f"{kind}Pr")) if holder is not None else None
        if properties is not None:
            fmt = fmt or _val(properties, _w("numFmt"))
            start = start if start is not None else _int(properties.find(_w("numStart")))
    return fmt or NOTE_KINDS[kind][1], 1 if start is None else start


class _Quotes:
    """The text inside each Word comment's range, and the top-level block where the range starts."""

    def __init__(self):
        self.open: dict[str, list[str]] = {}
        self.quotes: dict[str, str] = {}
        self.starts: dict[str, int | None] = {}

    def start(self, comment_id: str | None, index: int) -> None:
        if comment_id is not None and comment_id not in self.starts:
            self.starts[comment_id] = index
            self.open[comment_id] = []

    def end(self, comment_id: str | None) -> None:
        pieces = self.open.pop(comment_id or "", None)
        if pieces is not None:
            self.quotes[comment_id] = "".join(pieces).strip()

    def add(self, text: str) -> None:
        for pieces in self.open.values():
            pieces.append(text)


def _word_comments(comments: etree._Element, extended: etree._Element | None, rels: _Rels, styles: _Styles,
                   numbering: _Numbering, quotes: _Quotes, block_count: int) -> list[dict]:
    for comment_id in list(quotes.open):  # a range Word never closed runs to the end
        quotes.end(comment_id)
    # A reply names its parent by the w14:paraId of the parent's last paragraph (commentsExtended).
    # Word 2013 wrote w15 in a preview namespace, so the names are matched without one.
    parents = {}
    if extended is not None:
        for entry in extended.iter("{*}commentEx"):
            names = {etree.QName(name).localname: value for name, value in entry.attrib.items()}
            if names.get("paraIdParent"):
                parents[names.get("paraId")] = names["paraIdParent"]
    found, index_of_para = [], {}
    for comment in comments.iter(_w("comment")):
        comment_id = comment.get(W_ID)
        paragraphs = comment.findall(P)
        last_para = paragraphs[-1].get(W14_PARA_ID) if paragraphs else None
        if last_para:
            index_of_para[last_para] = len(found)
        text = "\n".join(block_text(b) for b in _BodyReader(styles, numbering, rels).read_story(comment))
        start = quotes.starts.get(comment_id or "")
        found.append(({
            "author": comment.get(_w("author"), ""),
            "date": comment.get(_w("date"), ""),
            "text": text.strip(),
            "block_index": start if start is not None and start < block_count else None,
            "quote": quotes.quotes.get(comment_id or "", ""),
            "parent": None,
        }, last_para))
    for entry, last_para in found:
        entry["parent"] = index_of_para.get(parents.get(last_para))
    return [entry for entry, _ in found]


def _headers_and_footers(package: _Package, rels: _Rels, styles: _Styles, numbering: _Numbering, quotes: _Quotes,
                         sections: list[etree._Element], even_and_odd: bool, blocks: list[dict],
                         media: _Media | None = None) -> list:
    """Append one block per distinct header or footer text Word shows; the readers of those kept.

    Section by section, headers before footers, default before first-page before even-page: the
    order the writer reproduces. A first-page part counts only where the section has a title page,
    an even-page part only when the settings separate even and odd pages.
    """
    readers, seen, read_parts = [], {}, set()
    for sect_pr in sections:
        title_page = bool(_on(sect_pr.find(TITLE_PG)))
        references = []
        for ref in sect_pr:
            if ref.tag not in (HEADER_REF, FOOTER_REF):
                continue
            variant = ref.get(W_TYPE, "default")
            if variant not in HEADER_FOOTER_ORDER or (variant == "first" and not title_page) or (
                    variant == "even" and not even_and_odd):
                continue
            kind = "header" if ref.tag == HEADER_REF else "footer"
            references.append((kind != "header", HEADER_FOOTER_ORDER.index(variant), kind, variant, ref.get(R_ID)))
        for _, _, kind, variant, rel_id in sorted(references):
            path = rels.internal_part(rel_id)
            if path is None or path.lower() in read_parts:
                continue
            read_parts.add(path.lower())
            root = package.xml(path)
            if root is None:
                continue
            reader = _BodyReader(styles, numbering, package.rels(path), quotes=quotes, page_furniture=True,
                                 media=media)
            commented_before = set(quotes.starts)
            inner = reader.read_story(root, index=len(blocks))
            key = (kind, repr(inner))
            if not any(char.isalnum() for b in inner for char in block_text(b)) and not _has_page_field(inner):
                index = None  # nothing to read
            elif key in seen:
                index = seen[key]
            else:
                index = seen[key] = len(blocks)
                blocks.append({"type": kind, "variant": variant, "blocks": inner})
                readers.append(reader)
            for comment_id in set(quotes.starts) - commented_before:
                quotes.starts[comment_id] = index
    return readers


# --- the reader of a story: the body, a note, a header or footer, a comment --------------------


class _BodyReader:
    def __init__(self, styles: _Styles, numbering: _Numbering, rels: _Rels, *, notes: _Notes | None = None,
                 quotes: _Quotes | None = None, own_note: _NoteRef | None = None, page_furniture: bool = False,
                 media: _Media | None = None):
        self.styles = styles
        self.media = media  # pictures and embedded parts; None where only text matters (comments)
        self.numbering = numbering
        self.rels = rels
        self.notes = notes  # only the body refers to notes
        self.quotes = quotes
        self.own_note = own_note  # the note this reader reads, whose mark Word shows at its start
        self.page_furniture = page_furniture  # a header or footer: page numbers are not its text
        # Complex fields may span paragraphs (a table of contents does), so their state lives here.
        self.fields: list[_Field] = []
        self.images = 0
        self.hidden_runs = 0
        self.section_breaks: list[etree._Element] = []
        self.top = _Flow()
        self.top_index: int | None = None

    def read_story(self, container: etree._Element, index: int | None = None) -> list[dict]:
        """The blocks of a whole story; `index` is the top-level block it becomes, None for the body."""
        self.top, self.top_index = _Flow(), index
        self._fill(container, self.top)
        self._flush(self.top)
        return self.top.blocks

    def blocks(self, container: etree._Element) -> list[dict]:
        flow = _Flow()
        self._fill(container, flow)
        self._flush(flow)
        return flow.blocks

    def _position(self) -> int:
        """The top-level block being read; a text box's blocks count as its paragraph's."""
        return self.top_index if self.top_index is not None else len(self.top.blocks)

    def _comment_mark(self, mark: etree._Element) -> None:
        if self.quotes is not None:
            if mark.tag == COMMENT_START:
                self.quotes.start(mark.get(W_ID), self._position())
            else:
                self.quotes.end(mark.get(W_ID))

    def _fill(self, container: etree._Element, flow: _Flow) -> None:
        for child in container:
            tag = child.tag
            if tag == P:
                self._paragraph(child, flow)
            elif tag == TBL:
                self._flush(flow)
                table = self._table(child)
                if table["rows"]:  # every row deleted, changes accepted: no table left
                    flow.blocks.append(table)
            elif tag == SDT:
                content = child.find(SDT_CONTENT)
                if content is not None:
                    self._fill(content, flow)
            elif tag in (CUSTOM_XML, INS, MOVE_TO):
                self._fill(child, flow)
            elif tag == ALTERNATE_CONTENT:
                branch = _choose(child)
                if branch is not None:
                    self._fill(branch, flow)
            elif tag in (COMMENT_START, COMMENT_END):
                self._comment_mark(child)
            elif tag == ALT_CHUNK:
                self._flush(flow)
                flow.blocks.extend(self._alt_chunk(child.get(R_ID)))

    def _alt_chunk(self, rel_id: str | None) -> list[dict]:
        """Content pasted in as a whole other format (an HTML or MHT page): Word shows it, so it is text."""
        path = self.rels.internal_part(rel_id)
        if self.media is None or path is None:
            return []
        data = self.media.package.bytes(path)
        content_type = self.media.package.content_type(path).lower()
        if not data:
            return []
        if content_type in ("text/html", "application/xhtml+xml") or path.lower().endswith((".htm", ".html")):
            return html_blocks(data)
        if content_type in ("message/rfc822", "multipart/related") or path.lower().endswith((".mht", ".mhtml")):
            return html_blocks(_mht_html(data))
        if content_type == "text/plain" or path.lower().endswith(".txt"):
            text = data.decode("utf-8-sig", errors="replace")
            return [{"type": "paragraph", "text": line.strip()} for line in text.splitlines() if line.strip()]
        self.media.unread_chunks += 1
        return []

    def _flush(self, flow: _Flow) -> None:
        if flow.carry:
            self._emit(flow, {"type": "paragraph"}, flow.carry)
            flow.carry = []

    # paragraphs

    def _paragraph(self, p: etree._Element, flow: _Flow) -> None:
        ppr = p.find(PPR)
        pieces: list[list] = flow.carry
        flow.carry = []
        extras: list[dict] = []
        self._inline(p, pieces, extras, True, None)
        if self.quotes is not None and self.quotes.open:
            self.quotes.add("\n")
        if ppr is not None:
            section_break = ppr.find(SECT_PR)
            if section_break is not None:
                self.section_breaks.append(section_break)
        mark = ppr.find(RPR) if ppr is not None else None
        if mark is not None and (mark.find(DEL) is not None or mark.find(MOVE_FROM) is not None):
            # Accepting a deleted paragraph mark joins this paragraph's text to the next one.
            flow.carry = pieces
            flow.blocks.extend(extras)
            return
        self._emit(flow, self._kind(ppr), pieces)
        flow.blocks.extend(extras)

    def _kind(self, ppr: etree._Element | None) -> dict:
        style_id = _val(ppr, PSTYLE) or self.styles.default_paragraph
        numpr = ppr.find(NUMPR) if ppr is not None else None
        num_id, ilvl = (_val(numpr, NUMID), _int(numpr.find(ILVL))) if numpr is not None else (None, None)
        if num_id is None:
            num_id, style_ilvl = self.styles.numbering(style_id)
            ilvl = ilvl if ilvl is not None else style_ilvl
        label = None
        if num_id and num_id != "0":
            if ilvl is None:
                ilvl = self.numbering.level_of_style(num_id, style_id)
            label = self.numbering.next_label(num_id, ilvl)
        direct_outline = _int(ppr.find(OUTLINE_LVL)) if ppr is not None else None
        level = self.styles.heading_level(style_id, direct_outline)
        if level is not None:
            return {"type": "heading", "level": level, "prefix": label[0] if label and label[1] else ""}
        if label and label[0].strip():
            return {"type": "list_item", "level": ilvl, "ordered": label[1], "label": label[0]}
        return {"type": "paragraph"}

    def _emit(self, flow: _Flow, kind: dict, pieces: list[list]) -> None:
        prefix = kind.pop("prefix", "")
        if not "".join(piece[0] for piece in pieces).strip() and not any(len(piece) > 6 for piece in pieces):
            return
        if prefix.strip():
            # A numbered heading shows its number, so the text carries it too.
            pieces = [[prefix + " ", False, False, False, None], *pieces]
        runs = _trim_breaks(merge_runs(pieces))
        block = {**kind, "text": "".join(run["text"] for run in runs)}
        if any(len(run) > 1 for run in runs):
            block["runs"] = runs
        flow.blocks.append(block)

    def _inline(self, parent: etree._Element, pieces: list[list], extras: list[dict], keep: bool,
                href: str | None) -> None:
        # `keep` follows the nearest enclosing revision: text inserted into a moved-away range stays,
        # text deleted inside a moved-to range goes (corpus 14).
        for child in parent:
            tag = child.tag
            if tag == R:
                self._run(child, child, pieces, extras, keep, href)
            elif tag in (INS, MOVE_TO):
                self._inline(child, pieces, extras, True, href)
            elif tag in (DEL, MOVE_FROM):
                self._inline(child, pieces, extras, False, href)
            elif tag == HYPERLINK:
                target = safe_href(self.rels.external_target(child.get(R_ID)))
                self._inline(child, pieces, extras, keep, target or href)
            elif tag == SDT:
                content = child.find(SDT_CONTENT)
                if content is not None:
                    self._inline(content, pieces, extras, keep, href)
            elif tag in (SMART_TAG, CUSTOM_XML, BDO, DIR):
                self._inline(child, pieces, extras, keep, href)
            elif tag == FLD_SIMPLE:
                instruction = child.get(W_INSTR, "")
                if not (self.page_furniture and _PAGE_FIELD.match(instruction)):
                    self._inline(child, pieces, extras, keep, _field_href(instruction) or href)
                elif keep and self._showing():
                    pieces.append(_page_field(instruction))
            elif tag == ALTERNATE_CONTENT:
                branch = _choose(child)
                if branch is not None:
                    self._inline(branch, pieces, extras, keep, href)
            elif tag in (M_OMATH, M_OMATH_PARA):
                if keep and self._showing():
                    text = "".join(t.text or "" for t in child.iter(M_T))
                    pieces.append([text, False, False, False, None])
                    if self.quotes is not None and self.quotes.open:
                        self.quotes.add(text)
            elif tag in (COMMENT_START, COMMENT_END):
                self._comment_mark(child)

    def _showing(self) -> bool:
        return all(f.showing_result for f in self.fields)

    def _run(self, run: etree._Element, container: etree._Element, pieces: list[list], extras: list[dict],
             keep: bool, href: str | None) -> None:
        style = None
        quotes = self.quotes if self.quotes is not None and self.quotes.open else None
        custom_mark: _NoteRef | None = None  # a reference whose mark is the text that follows it
        for child in container:
            tag = child.tag
            if tag == T:
                if keep and self._showing() and child.text:
                    if custom_mark is not None:
                        custom_mark.label = custom_mark.label or child.text
                        pieces.append([child.text, False, False, False, None, custom_mark.note_id])
                        custom_mark = None
                    else:
                        style = style or self._run_style(run, href)
                        pieces.append([child.text, *style])
                    if quotes:
                        quotes.add(child.text)
            elif tag in (TAB, PTAB, BR, CR, NO_BREAK_HYPHEN):
                if keep and self._showing():
                    style = style or self._run_style(run, href)
                    text = {NO_BREAK_HYPHEN: "-", BR: "\n", CR: "\n"}.get(tag, "\t")
                    pieces.append([text, *style])
                    if quotes:
                        quotes.add(text)
            elif tag == FLD_CHAR:
                if keep:
                    self._field_char(child.get(W_FLD_CHAR_TYPE), pieces)
            elif tag == INSTR_TEXT:
                if keep and self.fields and not self.fields[-1].showing_result:
                    self.fields[-1].instruction += child.text or ""
            elif tag in (DRAWING, PICT, OBJECT):
                if keep and self._showing():
                    self._graphic(child, extras)
            elif tag == ALTERNATE_CONTENT:
                branch = _choose(child)
                if branch is not None:
                    self._run(run, branch, pieces, extras, keep, href)
            elif tag in (FOOTNOTE_REF, ENDNOTE_REF):
                if keep and self.notes is not None and self._showing():
                    kind = "footnote" if tag == FOOTNOTE_REF else "endnote"
                    custom = _on_attr(child.get(CUSTOM_MARK))
                    ref = self.notes.reference(kind, child.get(W_ID), custom)
                    if ref is not None and custom:
                        custom_mark = ref
                    elif ref is not None:
                        pieces.append([ref.label, False, False, False, None, ref.note_id])
                        if quotes:
                            quotes.add(ref.label)
            elif tag in (FOOTNOTE_MARK, ENDNOTE_MARK):
                # The note's own number: shown by the note block's label when it opens the note
                # (as Word puts it), kept in place when the author put text before it, e.g. "(1)".
                note = self.own_note
                if keep and note is not None and (self.top.blocks or "".join(p[0] for p in pieces).strip()):
                    pieces.append([note.label, False, False, False, None, note.note_id])
        if custom_mark is not None:  # Word shows nothing for a custom mark without text; "*" keeps the link
            custom_mark.label = custom_mark.label or "*"
            pieces.append(["*", False, False, False, None, custom_mark.note_id])

    def _run_style(self, run: etree._Element, href: str | None) -> tuple:
        bold = italic = underline = False
        rpr = run.find(RPR)
        if rpr is not None:
            # Underline from a character style is left out: it is nearly always the Hyperlink style.
            bold, italic = self.styles.run_format(_val(rpr, RSTYLE))
            bold = _pick(rpr.find(B), bold)
            italic = _pick(rpr.find(I), italic)
            underline = _pick(rpr.find(U), False)
            if rpr.find(VANISH) is not None and _on(rpr.find(VANISH)):
                self.hidden_runs += 1
        if href is None and self.fields:
            href = next((f.href for f in reversed(self.fields) if f.href), None)
        return bold, italic, underline, href

    def _field_char(self, kind: str | None, pieces: list[list]) -> None:
        if kind == "begin":
            self.fields.append(_Field())
        elif kind == "separate" and self.fields:
            current = self.fields[-1]
            current.showing_result = not (self.page_furniture and _PAGE_FIELD.match(current.instruction))
            current.href = _field_href(current.instruction)
            self._place_page_field(current, pieces)
        elif kind == "end" and self.fields:
            self._place_page_field(self.fields[-1], pieces)
            self.fields.pop()

    def _place_page_field(self, current: _Field, pieces: list[list]) -> None:
        """A page number in a header or footer is kept as the field itself, once, where the field starts."""
        if (not current.placed and self.page_furniture and _PAGE_FIELD.match(current.instruction)
                and all(f.showing_result for f in self.fields[:-1])):
            pieces.append(_page_field(current.instruction))
        current.placed = True

    def _graphic(self, element: etree._Element, extras: list[dict]) -> None:
        """Images become image blocks; text boxes give their paragraphs, each once."""
        for child in element:
            tag = child.tag
            if tag == TXBX_CONTENT:
                extras.extend(self.blocks(child))
                continue
            if tag == ALTERNATE_CONTENT:
                branch = _choose(child)
                if branch is not None:
                    self._graphic(branch, extras)
                continue
            if tag in (WP_INLINE, WP_ANCHOR):
                found = next(child.iter(A_BLIP, C_CHART), None)
                if found is not None:
                    doc_pr = child.find(WP_DOC_PR)
                    alt = "" if doc_pr is None else (doc_pr.get("descr") or doc_pr.get("title") or "")
                    extent = child.find(WP_EXTENT)
                    size = None if extent is None else (_int_attr(extent.get("cx")), _int_attr(extent.get("cy")))
                    self._image(alt, extras, found.get(R_EMBED) if found.tag == A_BLIP else None, size)
            elif tag == V_IMAGEDATA:
                parent = child.getparent()
                self._image(parent.get("alt") or child.get(O_TITLE) or "", extras, child.get(R_ID), None)
            self._graphic(child, extras)

    def _image(self, alt: str, extras: list[dict], rel_id: str | None, size: tuple[int, int] | None) -> None:
        self.images += 1
        block = {"type": "image", "alt": alt.strip()}
        path = self.rels.internal_part(rel_id) if rel_id and self.media is not None else None
        picture = self.media.picture(path) if path else None
        if picture is not None:
            # The bytes stay out of the block (kept once per picture, by sha256); the size Word drew it at stays in.
            block["blob"], block["content_type"] = picture
            if size and size[0] > 0 and size[1] > 0:
                block["width"], block["height"] = size
        extras.append(block)

    # tables

    def _table(self, tbl: etree._Element) -> dict:
        rows: list[list[dict]] = []
        owners: dict[int, dict] = {}  # grid column -> the cell covering it in the row above
        for tr in _rows(tbl):
            trpr = tr.find(TRPR)
            if trpr is not None and (trpr.find(DEL) is not None):
                continue  # a deleted row, accepted
            column = _int(trpr.find(GRID_BEFORE), 0) if trpr is not None else 0
            cells: list[dict] = []
            row_owners: dict[int, dict] = {}
            for tc in _cells(tr):
                tcpr = tc.find(TCPR)
                span = max(1, _int(tcpr.find(GRID_SPAN), 1)) if tcpr is not None else 1
                v_merge = tcpr.find(V_MERGE) if tcpr is not None else None
                h_merge = tcpr.find(H_MERGE) if tcpr is not None else None
                if v_merge is not None and v_merge.get(W_VAL, "continue") == "continue" and column in owners:
                    owner = owners[column]
                    if not any(seen is owner for seen in row_owners.values()):
                        owner["rowspan"] += 1
                elif h_merge is not None and h_merge.get(W_VAL, "continue") == "continue" and cells:
                    owner = cells[-1]
                    owner["colspan"] += span
                else:
                    owner = {"blocks": self.blocks(tc), "colspan": span, "rowspan": 1}
                    cells.append(owner)
                for covered in range(column, column + span):
                    row_owners[covered] = owner
                column += span
            owners = row_owners
            rows.append(cells)
        return {"type": "table", "rows": rows}


def _rows(tbl: etree._Element):
    for child in tbl:
        if child.tag == TR:
            yield child
        elif child.tag in (SDT, CUSTOM_XML):
            content = child.find(SDT_CONTENT) if child.tag == SDT else child
            if content is not None:
                yield from _rows(content)


def _cells(tr: etree._Element):
    for child in tr:
        if child.tag == TC:
            yield child
        elif child.tag in (SDT, CUSTOM_XML):
            content = child.find(SDT_CONTENT) if child.tag == SDT else child
            if content is not None:
                yield from _cells(content)


def _pick(element: etree._Element | None, inherited: bool) -> bool:
    value = _on(element)
    return inherited if value is None else value


def _trim_breaks(runs: list[dict]) -> list[dict]:
    """Drop line and page breaks at a paragraph's edges: they only move text to another line or page."""
    while runs and not runs[0]["text"].lstrip("\n") and "field" not in runs[0]:
        runs.pop(0)
    while runs and not runs[-1]["text"].rstrip("\n") and "field" not in runs[-1]:
        runs.pop()
    if runs:
        runs[0]["text"] = runs[0]["text"].lstrip("\n")
        runs[-1]["text"] = runs[-1]["text"].rstrip("\n")
    return runs


def merge_runs(pieces: list[list]) -> list[dict]:
    """Join neighbouring pieces of equal formatting into runs; formatting keys only when set.

    A piece is [text, bold, italic, underline, href], or with a sixth item, a note id, a note reference,
    or with a seventh, a page-number field's instruction: a run {"text": "", "field": "PAGE"}.
    """
    runs: list[dict] = []
    texts: list[list[str]] = []  # each run's pieces, joined once at the end: += on a dict value is quadratic
    last_key = None
    for piece in pieces:
        text = piece[0]
        if len(piece) > 6:
            runs.append({"field": piece[6]})
            texts.append([""])
            last_key = None
            continue
        if not text:
            continue
        if len(piece) > 5:  # a note reference: a run of its own, with no formatting of its own
            runs.append({"note": piece[5]})
            texts.append([text])
            last_key = None
            continue
        _, bold, italic, underline, href = piece
        key = (bold, italic, underline, href)
        if key == last_key:
            texts[-1].append(text)
            continue
        run = {}
        if bold:
            run["bold"] = True
        if italic:
            run["italic"] = True
        if underline:
            run["underline"] = True
        if href:
            run["href"] = href
        runs.append(run)
        texts.append([text])
        last_key = key
    for run, parts in zip(runs, texts):
        run["text"] = "".join(parts)
    return runs
