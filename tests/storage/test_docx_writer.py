"""write_docx: real Word structure, and read_docx(write_docx(blocks)) gives the blocks back."""

from __future__ import annotations

import io
import time
import zipfile

import docx
import mammoth
import pytest
from docx.enum.section import WD_SECTION

from storage.blocks import assign_ids
from storage.formats.docx_reader import read_docx
from storage.formats.docx_writer import write_docx


def cell(*blocks: dict, colspan: int = 1, rowspan: int = 1) -> dict:
    return {"blocks": list(blocks), "colspan": colspan, "rowspan": rowspan}


def para(text: str, **extra) -> dict:
    return {"type": "paragraph", "text": text, **extra}


def item(level: int, label: str, text: str) -> dict:
    return {"type": "list_item", "level": level, "ordered": label != "•", "label": label, "text": text}


SAMPLE = [
    {"type": "heading", "level": 1, "text": "Samenwerkingsovereenkomst"},
    para("Partijen komen overeen:\tals volgt\nen verder.", runs=[
        {"text": "Partijen", "bold": True}, {"text": " komen "}, {"text": "overeen", "italic": True, "underline": True},
        {"text": ":\tals volgt\nen verder."},
    ]),
    para("Zie de site van het netwerk voor de leden.", runs=[
        {"text": "Zie de "}, {"text": "site van het netwerk", "href": "https://zorgnetwerk.example/leden?x=1&y=2"},
        {"text": " voor de leden."},
    ]),
    *[{"type": "heading", "level": level, "text": f"Kop {level}"} for level in range(2, 7)],
    item(0, "1.", "Doel"), item(1, "a.", "zorg"), item(1, "b.", "kwaliteit"), item(2, "i.", "meten"),
    item(2, "ii.", "verbeteren"), item(0, "2.", "Looptijd"), item(1, "•", "een jaar"), item(0, "3.", "Kosten"),
    para("Tussendoor."),
    item(0, "4.", "Verder genummerd"), item(0, "1.", "Opnieuw begonnen"), item(0, "2.", "En door"),
    item(1, "2.1", "Onderdeel"), item(1, "2.2", "Nog een"), item(0, "(a)", "Letter tussen haakjes"),
    item(0, "Artikel 7", "Met een woord"), item(0, "•", "Opsomming"), item(1, "•", "dieper"),
    item(8, "a.", "Heel diep"),
    {"type": "table", "rows": [
        [cell(para("Naam")), cell(para("Rol"), colspan=2)],
        [cell(para("Jan"), rowspan=2), cell(para("voorzitter")), cell()],
        [cell(para("lid", runs=[{"text": "lid", "bold": True}])), cell(item(0, "•", "in cel"))],
        [cell(para("Genest"), {"type": "table", "rows": [[cell(para("x")), cell(para("y"))]]}), cell(para("kort"))],
    ]},
    para("Slot."),
]


def roundtrip(blocks: list[dict]) -> list[dict]:
    return read_docx(write_docx(blocks))[0]


def without_ids(blocks: list[dict]) -> list[dict]:
    return [{key: value for key, value in block.items() if key != "id"} for block in blocks]


def test_generated_blocks_round_trip():
    assert roundtrip(SAMPLE) == SAMPLE


def test_ids_are_ignored():
    blocks = assign_ids([dict(block) for block in SAMPLE])
    assert roundtrip(blocks) == without_ids(blocks)


def test_lists_use_word_numbering_not_label_text():
    document = docx.Document(io.BytesIO(write_docx(SAMPLE)))
    numbered = [p for p in document.paragraphs if p._p.pPr is not None and p._p.pPr.numPr is not None]
    assert len(numbered) == 18
    assert [p.text for p in numbered[:3]] == ["Doel", "zorg", "kwaliteit"]
    first_list = {p._p.pPr.numPr.numId.val for p in numbered[:8] if p.text != "een jaar"}
    assert len(first_list) == 1  # one Word list carries 1., a., b., i., ii., 2., 3.


def test_headings_use_word_heading_styles():
    document = docx.Document(io.BytesIO(write_docx(SAMPLE)))
    styles = [p.style.name for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert styles == ["Heading 1", "Heading 2", "Heading 3", "Heading 4", "Heading 5", "Heading 6"]


def test_hyperlink_is_a_real_external_link():
    document = docx.Document(io.BytesIO(write_docx(SAMPLE)))
    (link,) = document.paragraphs[2].hyperlinks
    assert (link.text, link.address) == ("site van het netwerk", "https://zorgnetwerk.example/leden?x=1&y=2")


def test_image_becomes_a_placeholder_paragraph():
    blocks = [para("Voor."), {"type": "image", "alt": "Logo van het netwerk"}, {"type": "image", "alt": ""}]
    assert roundtrip(blocks)[1:] == [
        para("[Afbeelding: Logo van het netwerk]", runs=[{"text": "[Afbeelding: Logo van het netwerk]", "italic": True}]),
        para("[Afbeelding]", runs=[{"text": "[Afbeelding]", "italic": True}]),
    ]


def test_annex_follows_a_page_break_with_its_own_headings():
    annex = [("Akkoordverklaringen", [para("Jan de Vries, Huisartsenpraktijk Noord: akkoord, 3 maart 2025.")]),
             ("Verwerkte opmerkingen", [item(0, "1.", "Artikel 2 aangepast")])]
    data = write_docx([para("Tekst.")], title="Visiedocument 2025", annex=annex)
    assert read_docx(data)[0] == [
        para("Tekst."),
        {"type": "heading", "level": 1, "text": "Akkoordverklaringen"},
        para("Jan de Vries, Huisartsenpraktijk Noord: akkoord, 3 maart 2025."),
        {"type": "heading", "level": 1, "text": "Verwerkte opmerkingen"},
        item(0, "1.", "Artikel 2 aangepast"),
    ]
    document = docx.Document(io.BytesIO(data))
    assert document.core_properties.title == "Visiedocument 2025"
    assert 'w:type="page"' in document.paragraphs[1]._p.xml


def test_text_that_xml_cannot_hold_is_dropped_not_fatal():
    assert roundtrip([para("a\x00b\x0bc")]) == [para("abc")]


def test_output_is_a_document_other_readers_open():
    result = mammoth.convert_to_html(io.BytesIO(write_docx(SAMPLE)))
    assert "<h1>Samenwerkingsovereenkomst</h1>" in result.value
    assert '<a href="https://zorgnetwerk.example/leden?x=1&amp;y=2">' in result.value


def _images_as_written(blocks: list[dict]) -> list[dict]:
    out = []
    for block in blocks:
        if block["type"] == "image":
            text = f"[Afbeelding: {block['alt']}]" if block["alt"] else "[Afbeelding]"
            out.append(para(text, runs=[{"text": text, "italic": True}]))
        elif block["type"] == "table":
            rows = [[{**c, "blocks": _images_as_written(c["blocks"])} for c in row] for row in block["rows"]]
            out.append({**block, "rows": rows})
        elif block["type"] in ("note", "header", "footer"):
            out.append({**block, "blocks": _images_as_written(block["blocks"])})
        else:
            out.append(block)
    return out


# 09, 10, 24 and 25 have footnotes or endnotes; 23, 24 and 25 headers and footers.
@pytest.mark.parametrize("number", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 17, 18, 19, 21, 23, 24, 25, 27, 28, 30, 35])
def test_corpus_files_round_trip(read_corpus, number):
    blocks, _ = read_corpus(number)
    assert roundtrip(blocks) == _images_as_written(blocks)


def note(kind: str, label: str, note_id: str, *blocks: dict) -> dict:
    return {"type": "note", "kind": kind, "label": label, "note": note_id, "blocks": list(blocks)}


NOTED = [
    para("Partijen1 en de regio*.", runs=[{"text": "Partijen"}, {"text": "1", "note": "fn1"}, {"text": " en de regio"},
                                          {"text": "*", "note": "fn2"}, {"text": "."}]),
    {"type": "table", "rows": [[cell(para("Zie2", runs=[{"text": "Zie"}, {"text": "2", "note": "fn3"}])),
                                cell(para("Slot i", runs=[{"text": "Slot "}, {"text": "i", "note": "en1"}]))]]},
    note("footnote", "1", "fn1", para(" De leden van het netwerk."), item(0, "•", "ook toetreders")),
    note("footnote", "*", "fn2", para("(*) Zoals bedoeld in artikel 2.",
                                      runs=[{"text": "("}, {"text": "*", "note": "fn2"}, {"text": ") Zoals bedoeld in "},
                                            {"text": "artikel 2", "href": "https://example.org/art2"}, {"text": "."}])),
    note("footnote", "2", "fn3", {"type": "table", "rows": [[cell(para("a")), cell(para("b"))]]}),
    note("endnote", "i", "en1", para(" Eindnoot."), para("Tweede alinea.")),
    {"type": "header", "variant": "default", "blocks": [para("Concept")]},
    {"type": "header", "variant": "first", "blocks": [{"type": "table", "rows": [[cell(para("Logo")), cell()]]},
                                                      para("Titelpagina")]},
    {"type": "footer", "variant": "default", "blocks": [para("Regio Noord\tversie 2")]},
    {"type": "footer", "variant": "even", "blocks": [para("Even")]},
    {"type": "header", "variant": "default", "blocks": [para("Bijlage")]},
    {"type": "footer", "variant": "default", "blocks": [para("Bijlage, voet")]},
]


def test_notes_headers_and_footers_round_trip():
    assert roundtrip(NOTED) == NOTED


def test_notes_are_real_word_notes():
    data = write_docx(NOTED)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        types = archive.read("[Content_Types].xml").decode()
        rels = archive.read("word/_rels/document.xml.rels").decode()
        body = archive.read("word/document.xml").decode()
        footnotes = archive.read("word/footnotes.xml").decode()
        settings = archive.read("word/settings.xml").decode()
    assert {"word/footnotes.xml", "word/endnotes.xml", "word/_rels/footnotes.xml.rels"} <= names
    assert "wordprocessingml.footnotes+xml" in types and "wordprocessingml.endnotes+xml" in types
    assert "relationships/footnotes" in rels and "relationships/endnotes" in rels
    assert body.count('<w:rStyle w:val="FootnoteReference"/></w:rPr><w:footnoteReference') == 3
    assert '<w:footnoteReference w:customMarkFollows="1" w:id="2"/><w:t xml:space="preserve">*</w:t>' in body
    assert '<w:endnotePr><w:numFmt w:val="lowerRoman"/></w:endnotePr>' in body
    assert 'w:type="separator" w:id="-1"' in footnotes and 'w:type="continuationSeparator" w:id="0"' in footnotes
    assert footnotes.count("<w:footnoteRef/>") == 3  # one each; fn2 places its own after "("
    assert footnotes.endswith("</w:tbl><w:p/></w:footnote></w:footnotes>")  # a story ends with a paragraph
    assert '<w:footnote w:id="-1"/><w:footnote w:id="0"/>' in settings
    result = mammoth.convert_to_html(io.BytesIO(data))
    assert "De leden van het netwerk." in result.value and "Eindnoot." in result.value
    assert 'href="#footnote-1"' in result.value


def test_headers_and_footers_are_real_ones():
    document = docx.Document(io.BytesIO(write_docx(NOTED)))
    first, annex = document.sections[0], document.sections[-1]
    assert [p.text for p in first.header.paragraphs] == ["Concept"]
    assert first.different_first_page_header_footer
    assert first.first_page_header.tables[0].cell(0, 0).text == "Logo"
    assert [p.text for p in first.even_page_footer.paragraphs] == ["Even"]
    assert document.settings.odd_and_even_pages_header_footer
    # A second default header cannot share the section: it goes to a continuous section at the end.
    assert len(document.sections) == 2 and annex.start_type == WD_SECTION.CONTINUOUS
    assert [p.text for p in annex.header.paragraphs] == ["Bijlage"]
    assert "Concept" not in [p.text for p in document.paragraphs]


def test_a_note_that_is_not_referred_to_is_left_out():
    blocks = [para("Tekst"), note("footnote", "1", "fn1", para("Los"))]
    assert roundtrip(blocks) == [para("Tekst")]
    dangling = [para("Tekst9", runs=[{"text": "Tekst"}, {"text": "9", "note": "fn9"}])]
    assert roundtrip(dangling) == [para("Tekst9")]


def test_agreement_round_trips_within_the_time_budget(agreement):
    blocks, _ = read_docx((agreement / "v1.docx").read_bytes())
    started = time.perf_counter()
    data = write_docx(blocks)
    assert time.perf_counter() - started < 2
    assert read_docx(data)[0] == blocks
