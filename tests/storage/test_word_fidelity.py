"""Word fidelity: list labels as Word shows them, pictures, page numbers and embedded HTML, each on a Word file
built here with exactly that feature, and each through the round trip import -> blocks -> export -> import."""

from __future__ import annotations

import hashlib
import io
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import docx
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Inches

from storage.blocks import image_blobs
from storage.formats.docx_reader import read_docx, read_docx_content
from storage.formats.docx_writer import write_docx
from storage.formats.importing import import_upload

WP_DOC_PR = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr"
A_BLIP = "{http://schemas.openxmlformats.org/drawingml/2006/main}blip"


# --- building Word files -----------------------------------------------------------------------


def level(ilvl: int, fmt: str | None, text: str, *, start: int = 1, legal: bool = False, font: str | None = None) -> str:
    return (
        f'<w:lvl w:ilvl="{ilvl}"><w:start w:val="{start}"/>'
        + (f'<w:numFmt w:val="{fmt}"/>' if fmt is not None else "")
        + ("<w:isLgl/>" if legal else "")
        + f'<w:lvlText w:val="{text}"/><w:lvlJc w:val="left"/>'
        + (f'<w:rPr><w:rFonts w:ascii="{font}" w:hAnsi="{font}" w:hint="default"/></w:rPr>' if font else "")
        + "</w:lvl>"
    )


def list_file(levels: list[str], items: list[tuple[int, str]]) -> bytes:
    """A Word file with one numbering definition of `levels` and one list paragraph per (ilvl, text)."""
    document = docx.Document()
    numbering = document.part.numbering_part.element
    numbering.append(parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90"><w:multiLevelType w:val="multilevel"/>'
        + "".join(levels) + "</w:abstractNum>"
    ))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    for ilvl, text in items:
        paragraph = document.add_paragraph(text)
        numpr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
        numpr.get_or_add_ilvl().val = ilvl
        numpr.get_or_add_numId().val = 90
    return saved(document)


def saved(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def labels(blocks: list[dict]) -> list[str]:
    return [block["label"] for block in blocks if block["type"] == "list_item"]


def round_trip(data: bytes) -> list[dict]:
    content = read_docx_content(data)
    return read_docx(write_docx(content.blocks, images=content.images))[0]


def png(width: int, height: int, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real PNG of one colour, without an imaging library."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# --- 1. list labels ----------------------------------------------------------------------------

OUTLINE = [level(0, "decimal", "%1."), level(1, "lowerLetter", "%1.%2."), level(2, "lowerRoman", "%1.%2.%3.")]


def test_a_level_used_before_its_parent_counts_the_parent_as_started():
    # Word: "2.a.i." under "2." counts level 1 as started at "a", so the next level-1 item is "2.b.", not "2.a.".
    data = list_file(OUTLINE, [(0, "Een"), (0, "Twee"), (2, "Diep"), (1, "Midden"), (0, "Drie")])
    expected = ["1.", "2.", "2.a.i.", "2.b.", "3."]
    assert labels(read_docx(data)[0]) == expected
    assert labels(round_trip(data)) == expected


def test_a_list_that_opens_below_its_first_level():
    # The first item is at level 1: level 0 counts as started at 1 ("1.1"), so the first level-0 item is "2.".
    data = list_file([level(0, "decimal", "%1."), level(1, "decimal", "%1.%2")],
                     [(1, "Eerste"), (1, "Tweede"), (0, "Hoofdpunt"), (1, "Onder")])
    expected = ["1.1", "1.2", "2.", "2.1"]
    assert labels(read_docx(data)[0]) == expected
    assert labels(round_trip(data)) == expected


def test_legal_numbering_shows_arabic_numbers_and_keeps_zero_padding():
    data = list_file(
        [level(0, "upperRoman", "Article %1."), level(1, "decimalZero", "Section %1.%2", legal=True),
         level(2, "lowerLetter", "%1.%2.%3", legal=True)],
        [(0, "Definities"), (1, "Begrippen"), (1, "Uitleg"), (2, "Detail"), (0, "Looptijd"), (1, "Duur")],
    )
    # Zero-padding is an Arabic format of its own: it stays, also where a deeper level shows it.
    expected = ["Article I.", "Section 1.01", "Section 1.02", "1.02.1", "Article II.", "Section 2.01"]
    assert labels(read_docx(data)[0]) == expected
    assert labels(round_trip(data)) == expected


def test_bullets_show_each_levels_own_glyph():
    data = list_file(
        [level(0, "bullet", "\uf0b7", font="Symbol"), level(1, "bullet", "o", font="Courier New"),
         level(2, "bullet", "\uf0a7", font="Wingdings"), level(3, "bullet", "\uf0fc", font="Wingdings"),
         level(4, "bullet", "\u25aa")],
        [(0, "Punt"), (1, "Subpunt"), (2, "Dieper"), (3, "Vinkje"), (4, "Eigen teken"), (0, "Weer boven")],
    )
    expected = ["\u2022", "\u25e6", "\u25aa", "\u2713", "\u25aa", "\u2022"]
    blocks = read_docx(data)[0]
    assert labels(blocks) == expected
    assert not any(block["ordered"] for block in blocks if block["type"] == "list_item")
    assert labels(round_trip(data)) == expected


def test_levels_without_a_number_format_of_their_own_keep_their_labels():
    data = list_file(
        [level(0, "decimal", "%1."), level(1, None, "%1.%2"),  # no w:numFmt: decimal, as the standard says
         level(2, "none", "Toelichting"), level(3, "none", "%1.")],  # "none": the text, or the parent's number
        [(0, "Artikel"), (1, "Lid"), (2, "Uitleg bij het lid"), (3, "Herhaald nummer"), (0, "Volgend artikel")],
    )
    blocks = read_docx(data)[0]
    expected = ["1.", "1.1", "Toelichting", "1.", "2."]
    assert labels(blocks) == expected
    assert [b["ordered"] for b in blocks] == [True, True, False, False, True]
    again = round_trip(data)
    assert labels(again) == expected
    assert [(b["level"], b["ordered"]) for b in again] == [(b["level"], b["ordered"]) for b in blocks]


# --- 2. pictures -------------------------------------------------------------------------------


def picture_file(picture: bytes) -> bytes:
    document = docx.Document()
    document.add_paragraph("Voor het logo.")
    document.add_picture(io.BytesIO(picture), width=Inches(2))
    doc_pr = document.inline_shapes[0]._inline.find(WP_DOC_PR)
    doc_pr.set("descr", "Logo van het zorgnetwerk")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Kaart"
    table.cell(0, 1).paragraphs[0].add_run().add_picture(io.BytesIO(picture), width=Inches(1))
    table.cell(0, 1).paragraphs[0].runs[0]._r.find(f".//{WP_DOC_PR}").set("title", "Werkgebied")
    document.add_paragraph("Na het logo.")
    return saved(document)


def test_pictures_keep_their_bytes_and_alt_text():
    picture = png(4, 2)
    content = read_docx_content(picture_file(picture))
    sha256 = hashlib.sha256(picture).hexdigest()
    image = content.blocks[1]
    assert image == {"type": "image", "alt": "Logo van het zorgnetwerk", "blob": sha256, "content_type": "image/png",
                     "width": int(Inches(2)), "height": int(Inches(1))}
    cell_image = content.blocks[2]["rows"][0][1]["blocks"][0]
    assert (cell_image["alt"], cell_image["blob"]) == ("Werkgebied", sha256)
    assert content.images == {sha256: picture}  # one picture used twice is kept once
    assert image_blobs(content.blocks) == {sha256}
    assert content.findings == {"images": 2}


def test_pictures_survive_export_and_reimport_as_pictures():
    picture = png(4, 2)
    content = read_docx_content(picture_file(picture))
    exported = write_docx(content.blocks, images=content.images)
    document = docx.Document(io.BytesIO(exported))
    assert len(document.inline_shapes) == 2
    blips = [blip for blip in document.element.body.iter(A_BLIP)]
    assert document.part.related_parts[blips[0].get(qn("r:embed"))].blob == picture
    assert [d.get("descr") for d in document.element.body.iter(WP_DOC_PR)] == ["Logo van het zorgnetwerk", "Werkgebied"]
    again = read_docx_content(exported)
    assert again.blocks == content.blocks
    assert again.images == content.images
    assert "[Afbeelding" not in exported.decode("latin-1")


def test_an_upload_hands_over_the_picture_bytes():
    picture = png(3, 3)
    result = import_upload("logo.docx", picture_file(picture))
    assert result.images == {hashlib.sha256(picture).hexdigest(): picture}
    assert [b["type"] for b in result.blocks] == ["paragraph", "image", "table", "paragraph"]


def test_a_picture_without_its_bytes_stays_a_placeholder():
    blocks = [{"type": "image", "alt": "Kaart", "blob": "0" * 64, "content_type": "image/png"}]
    assert read_docx(write_docx(blocks))[0] == [
        {"type": "paragraph", "text": "[Afbeelding: Kaart]", "runs": [{"text": "[Afbeelding: Kaart]", "italic": True}]}]


# --- 3. page numbers ---------------------------------------------------------------------------


def complex_field(instruction: str, result: str) -> str:
    return (f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="begin"/></w:r>'
            f'<w:r {nsdecls("w")}><w:instrText xml:space="preserve"> {instruction} </w:instrText></w:r>'
            f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="separate"/></w:r>'
            f'<w:r {nsdecls("w")}><w:t>{result}</w:t></w:r>'
            f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="end"/></w:r>')


def page_number_file() -> bytes:
    document = docx.Document()
    document.add_paragraph("Samenwerkingsovereenkomst")
    section = document.sections[0]
    header = section.header.paragraphs[0]
    header.add_run("Concept ")
    for element in parse_xml(f'<w:p {nsdecls("w")}>{complex_field("PAGE", "7")}</w:p>'):
        header._p.append(element)
    footer = section.footer.paragraphs[0]
    footer.add_run("Pagina ")
    footer._p.append(parse_xml(f'<w:fldSimple {nsdecls("w")} w:instr=" PAGE "><w:r><w:t>3</w:t></w:r></w:fldSimple>'))
    footer.add_run(" van ")
    numpages = complex_field("NUMPAGES \\* Arabic", "9")
    for element in parse_xml(f'<w:p {nsdecls("w")}>{numpages}</w:p>'):
        footer._p.append(element)
    return saved(document)


def test_page_numbers_in_headers_and_footers_are_kept_as_fields():
    blocks = read_docx(page_number_file())[0]
    assert blocks[1:] == [
        {"type": "header", "variant": "default", "blocks": [{"type": "paragraph", "text": "Concept ", "runs": [
            {"text": "Concept "}, {"field": "PAGE", "text": ""}]}]},
        {"type": "footer", "variant": "default", "blocks": [{"type": "paragraph", "text": "Pagina  van ", "runs": [
            {"text": "Pagina "}, {"field": "PAGE", "text": ""}, {"text": " van "},
            {"field": "NUMPAGES \\* Arabic", "text": ""}]}]},
    ]


def test_page_numbers_survive_export():
    blocks = read_docx(page_number_file())[0]
    exported = write_docx(blocks)
    document = docx.Document(io.BytesIO(exported))
    footer = document.sections[0].footer._element
    fields = [f.get(qn("w:instr")) for f in footer.iter(qn("w:fldSimple"))]
    assert fields == [" PAGE ", " NUMPAGES \\* Arabic "]
    assert [f.get(qn("w:instr")) for f in document.sections[0].header._element.iter(qn("w:fldSimple"))] == [" PAGE "]
    assert read_docx(exported)[0] == blocks


def test_a_footer_of_only_a_page_number_survives_export():
    document = docx.Document()
    document.add_paragraph("Tekst")
    document.sections[0].footer.paragraphs[0]._p.append(
        parse_xml(f'<w:fldSimple {nsdecls("w")} w:instr="PAGE"><w:r><w:t>- 4 -</w:t></w:r></w:fldSimple>'))
    blocks = read_docx(saved(document))[0]
    assert blocks[-1] == {"type": "footer", "variant": "default",
                          "blocks": [{"type": "paragraph", "text": "", "runs": [{"field": "PAGE", "text": ""}]}]}
    exported = docx.Document(io.BytesIO(write_docx(blocks)))
    assert [f.get(qn("w:instr")) for f in exported.sections[0].footer._element.iter(qn("w:fldSimple"))] == [" PAGE "]


def test_only_page_fields_are_written():
    blocks = [{"type": "paragraph", "text": "x", "runs": [{"text": "x"}, {"field": 'INCLUDETEXT "c:\\\\a.txt"', "text": ""}]}]
    assert b"INCLUDETEXT" not in docx.Document(io.BytesIO(write_docx(blocks))).element.xml.encode()


# --- 4. embedded HTML (w:altChunk) ------------------------------------------------------------

HTML = """<!DOCTYPE html><html><head><title>Niet dit</title><style>p {color: red}</style>
<script>alert("nee")</script></head><body>
<h1>Visie op de zorg</h1>
<p>Het netwerk <b>besluit</b> samen,   met <a href="https://example.org/visie">de visie</a>.</p>
<ol><li>Eerste afspraak</li><li>Tweede afspraak<ul><li>Een punt eronder</li></ul></li></ol>
<h2>Taken</h2>
<table><tr><th>Wie</th><th>Wat</th></tr><tr><td>Huisarts</td><td>Regie</td></tr></table>
<div>Losse tekst<br>op twee regels</div>
</body></html>"""

EXPECTED_HTML_BLOCKS = [
    {"type": "heading", "level": 1, "text": "Visie op de zorg"},
    {"type": "paragraph", "text": "Het netwerk besluit samen, met de visie.", "runs": [
        {"text": "Het netwerk "}, {"bold": True, "text": "besluit"}, {"text": " samen, met "},
        {"href": "https://example.org/visie", "text": "de visie"}, {"text": "."}]},
    {"type": "list_item", "level": 0, "ordered": True, "label": "1.", "text": "Eerste afspraak"},
    {"type": "list_item", "level": 0, "ordered": True, "label": "2.", "text": "Tweede afspraak"},
    {"type": "list_item", "level": 1, "ordered": False, "label": "\u2022", "text": "Een punt eronder"},
    {"type": "heading", "level": 2, "text": "Taken"},
    {"type": "table", "rows": [
        [{"blocks": [{"type": "paragraph", "text": "Wie"}], "colspan": 1, "rowspan": 1},
         {"blocks": [{"type": "paragraph", "text": "Wat"}], "colspan": 1, "rowspan": 1}],
        [{"blocks": [{"type": "paragraph", "text": "Huisarts"}], "colspan": 1, "rowspan": 1},
         {"blocks": [{"type": "paragraph", "text": "Regie"}], "colspan": 1, "rowspan": 1}]]},
    {"type": "paragraph", "text": "Losse tekst\nop twee regels"},
]


def alt_chunk_file(data: bytes, content_type: str, name: str, *, before: str | None = None) -> bytes:
    document = docx.Document()
    if before:
        document.add_paragraph(before)
    part = Part(PackURI(f"/word/{name}"), content_type, data, document.part.package)
    rel_id = document.part.relate_to(part, RELATIONSHIP_TYPE.A_F_CHUNK)
    body = document.element.body
    body.insert(len(body) - 1, parse_xml(f'<w:altChunk {nsdecls("w", "r")} r:id="{rel_id}"/>'))
    return saved(document)


def test_embedded_html_is_imported_as_its_text():
    result = import_upload("visie.docx", alt_chunk_file(HTML.encode("utf-8"), "text/html", "afchunk.htm"))
    assert [{k: v for k, v in b.items() if k != "id"} for b in result.blocks] == EXPECTED_HTML_BLOCKS
    assert "alert" not in str(result.blocks) and "Niet dit" not in str(result.blocks)


def test_embedded_web_archive_is_imported_as_its_text():
    mht = (
        "MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"grens\"\r\n\r\n--grens\r\n"
        "Content-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        "<html><body><p>Cli=C3=ABnt en naaste</p><ul><li>Zorgplan</li></ul></body></html>\r\n--grens--\r\n"
    ).encode("ascii")
    blocks = read_docx(alt_chunk_file(mht, "message/rfc822", "afchunk.mht", before="Inleiding"))[0]
    assert blocks == [
        {"type": "paragraph", "text": "Inleiding"},
        {"type": "paragraph", "text": "Cliënt en naaste"},
        {"type": "list_item", "level": 0, "ordered": False, "label": "\u2022", "text": "Zorgplan"},
    ]


def test_embedded_content_we_cannot_read_is_reported():
    blocks, findings = read_docx(alt_chunk_file(b"{\\rtf1 tekst}", "application/rtf", "afchunk.rtf", before="Tekst"))
    assert blocks == [{"type": "paragraph", "text": "Tekst"}]
    assert findings == {"embedded_unread": 1}


# --- LibreOffice: the labels it shows for the same files ------------------------------------------------------
# (Legal numbering is left out: this LibreOffice ignores w:isLgl and shows "Section I.01".)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_shows_the_same_list_labels(tmp_path: Path):
    files = {
        "ouder.docx": (list_file(OUTLINE, [(0, "Een"), (0, "Twee"), (2, "Diep"), (1, "Midden"), (0, "Drie")]),
                       ["1.", "2.", "2.a.i.", "2.b.", "3."]),
        "eerst-lid.docx": (list_file([level(0, "decimal", "%1."), level(1, "decimal", "%1.%2")],
                                     [(1, "Eerste"), (1, "Tweede"), (0, "Hoofdpunt"), (1, "Onder")]),
                           ["1.1", "1.2", "2.", "2.1"]),
    }
    for name, (data, _) in files.items():
        (tmp_path / name).write_bytes(data)
        (tmp_path / f"export-{name}").write_bytes(write_docx(read_docx(data)[0]))
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
                    "txt:Text (encoded):UTF8", "--outdir", str(tmp_path), *sorted(str(p) for p in tmp_path.glob("*.docx"))],
                   check=True, capture_output=True, timeout=120)
    for name, (_, expected) in files.items():
        for shown in (name, f"export-{name}"):
            lines = (tmp_path / shown).with_suffix(".txt").read_text(encoding="utf-8-sig").splitlines()
            assert [line.split()[0] for line in lines if line.strip()] == expected, shown
