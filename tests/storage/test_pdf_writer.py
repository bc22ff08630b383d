"""write_pdf: every word of the blocks on A4 pages in reading order, the annex after the body, and the
footer on every page; read back with pypdf."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
import unicodedata

import pytest
from pypdf import PdfReader
from reportlab.platypus.doctemplate import LayoutError

from storage.formats import pdf_writer
from storage.formats.importing import import_upload
from storage.formats.pdf_writer import write_pdf

HASH = "3f" * 32
FOOTER = f"Hash van de inhoud (SHA-256): {HASH}"
ANNEX_HEADING = "Bijlage: instemming van de leden"
ANNEX = [(ANNEX_HEADING, [{"type": "paragraph", "text": "Versie 1 is definitief gemaakt."}])]

DUTCH_MARKDOWN = """# Samenwerking in de regio

Een **coöperatie** van *huisartsen* en de [patiëntenvereniging](https://example.org/a?b=1&c=2) — één ideeën café.
Reünie van geïnteresseerde zorgverleners: ‘enkel’ en „dubbel” aangehaald, € 12,50 & <geen tags>.

1. Eerste punt voor de coördinator
   - ingesprongen punt over de financiën
2. Tweede punt: Zoë, Anaïs en Noël

| Naam | Rol |
|---|---|
| Zoë | coördinator |
"""


def cell(*blocks: dict, colspan: int = 1, rowspan: int = 1) -> dict:
    return {"blocks": list(blocks), "colspan": colspan, "rowspan": rowspan}


def para(text: str, **extra) -> dict:
    return {"type": "paragraph", "text": text, **extra}


def pages(data: bytes) -> list[str]:
    assert data.startswith(b"%PDF-")
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def squeeze(text: str) -> str:
    """Text without whitespace and invisible characters: a line break may fall anywhere, even inside a word
    too long for its column, and the writer drops control characters and what no font has (astral planes)."""
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
                   and ord(ch) <= 0xFFFF and ch != "\ufffd")


def expected_words(blocks: list[dict]) -> list[str]:
    """The words a reader should find, in reading order: list labels, cell text, and the blocks inside blocks."""
    words = []
    for block in blocks:
        kind = block.get("type")
        if kind == "table":
            for row in block["rows"]:
                for one in row:
                    words.extend(expected_words(one["blocks"]))
        elif kind == "image":
            words.extend(f"[Afbeelding: {block['alt']}]".split() if block.get("alt") else ["[Afbeelding]"])
        elif kind in ("heading", "paragraph", "list_item"):
            if kind == "list_item":
                words.extend(block.get("label", "").split())
            words.extend(block.get("text", "").split())
        else:  # a note, header, footer or type to come: its name and label, then its blocks
            words.extend(block.get("label", "").split())
            words.extend(expected_words(block.get("blocks", [])) or block.get("text", "").split())
    return [squeezed for word in words if (squeezed := squeeze(word))]


def assert_words_in_order(words: list[str], text: str) -> int:
    """Each word is found after the one before it; returns where the last one ended."""
    haystack, position = squeeze(text), 0
    for index, word in enumerate(words):
        found = haystack.find(word, position)
        assert found >= 0, f"word {index} {word!r} not found after …{haystack[max(0, position - 80):position]!r}"
        position = found + len(word)
    return position


def assert_complete(blocks: list[dict], data: bytes) -> list[str]:
    """The body in order, then the annex on a page of its own, and the footer on every page."""
    texts = pages(data)
    for number, text in enumerate(texts, start=1):
        assert squeeze(FOOTER) in squeeze(text), f"page {number} lacks the footer"
        assert re.search(rf"\b{number} / {len(texts)}\b", text), f"page {number} lacks its number"
    body_end = assert_words_in_order(expected_words(blocks), "".join(texts))
    annex_pages = [n for n, text in enumerate(texts) if ANNEX_HEADING in text]
    assert annex_pages, "the annex is missing"
    assert squeeze("".join(texts)).find(squeeze(ANNEX_HEADING), body_end) >= 0, "the annex does not follow the body"
    assert texts[annex_pages[0]].lstrip().startswith(ANNEX_HEADING), "the annex does not start a page"
    if blocks:
        assert annex_pages[0] > 0
    return texts


def test_agreement_every_word_in_order_with_annex_and_footer(agreement):
    blocks = import_upload("v1.docx", (agreement / "v1.docx").read_bytes()).blocks
    texts = assert_complete(blocks, write_pdf(blocks, title="Raamovereenkomst", annex=ANNEX, footer=FOOTER))
    assert len(texts) > 10


@pytest.mark.parametrize("number", [5, 7, 27])
def test_corpus_files_every_word_in_order(corpus_file, number):
    name, data = corpus_file(number)
    blocks = import_upload(name, data).blocks
    assert_complete(blocks, write_pdf(blocks, annex=ANNEX, footer=FOOTER))


def test_merged_cells_span_and_nested_tables_nest(corpus_file):
    merged = import_upload(*corpus_file(5)).blocks
    row_by_row = squeeze("".join(pages(write_pdf(merged))))
    assert squeeze("0-0 0-12 0-3 12-0 1-1 1-2 1-3 2-1 2-2 2-3 3-0 34-123 4-0") in row_by_row
    nested = import_upload(*corpus_file(7)).blocks
    assert squeeze("8 7 6 5 4 3 2 1") in squeeze("".join(pages(write_pdf(nested))))


def test_arabic_right_to_left_renders(corpus_file):
    """No bidi or shaping without extra packages: the letters are there (with DejaVu), their order may not be."""
    blocks = import_upload(*corpus_file(24)).blocks
    texts = pages(write_pdf(blocks, footer=FOOTER))
    assert len(texts) > 5
    assert all(squeeze(FOOTER) in squeeze(text) for text in texts)
    assert_words_in_order(squeeze("CRC/C/GC/20* Distr.: General 6 December 2016 Arabic Original: English"),
                          "".join(texts))
    if pdf_writer._fonts(pdf_writer.FONT_DIR).regular.startswith("Akkoord-DejaVu"):
        assert set("حقوق الطفل") - {" "} <= set("".join(texts))


def test_dutch_markdown_keeps_its_accents_formatting_and_links():
    blocks = import_upload("concept.md", DUTCH_MARKDOWN.encode()).blocks
    data = write_pdf(blocks, title="Samenwerking", annex=ANNEX, footer=FOOTER)
    first_page = " ".join(assert_complete(blocks, data)[0].split())
    for phrase in ("coöperatie", "één ideeën café", "Reünie van geïnteresseerde", "„dubbel”", "€ 12,50 & <geen tags>",
                   "Zoë, Anaïs en Noël", "coördinator", "financiën"):
        assert phrase in first_page, phrase
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "Samenwerking"
    links = [annotation.get_object()["/A"]["/URI"] for annotation in reader.pages[0].get("/Annots") or []]
    assert links == ["https://example.org/a?b=1&c=2"]


def test_markup_characters_are_text_and_only_web_links_are_links():
    blocks = [
        {"type": "heading", "level": 2, "text": "Kop <b>niet vet</b> & <br/> zo"},
        para("a&amp;b <i>c</i> x", runs=[{"text": "a&amp;b ", "bold": True}, {"text": "<i>c</i>", "italic": True},
                                        {"text": " x", "underline": True}]),
        para("script anker web", runs=[{"text": "script", "href": "javascript:alert(1)"},
                                       {"text": " anker", "href": "#top"},
                                       {"text": " web", "href": 'https://example.org/?q="a"&r=<b>'}]),
        {"type": "list_item", "level": 2, "ordered": True, "label": "<1>&", "text": "punt"},
        {"type": "image", "alt": "Logo <&>"},
    ]
    data = write_pdf(blocks)
    text = " ".join(pages(data)[0].split())
    for phrase in ("Kop <b>niet vet</b> & <br/> zo", "a&amp;b <i>c</i> x", "script anker web", "<1>&", "punt",
                   "[Afbeelding: Logo <&>]"):
        assert phrase in text, phrase
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert [a.get_object()["/A"]["/URI"] for a in page.get("/Annots") or []] == ['https://example.org/?q="a"&r=<b>']


def test_blocks_of_unknown_or_new_types_show_their_blocks_and_never_crash():
    blocks = [
        para("Zie de noot1.", runs=[{"text": "Zie de noot"}, {"text": "1", "note": "fn1"}, {"text": "."}]),
        {"type": "note", "kind": "footnote", "label": "1", "note": "fn1", "blocks": [para("Tekst van de voetnoot.")]},
        {"type": "header", "variant": "first", "blocks": [para("Koptekst van de eerste pagina"),
                                                          {"type": "table", "rows": [[cell(para("in een tabel"))]]}]},
        {"type": "footer", "blocks": []},
        {"type": "sidebar", "text": "alleen tekst"},
        {"type": "comment", "blocks": "geen lijst"},
        {"no_type": True},
        "geen blok",
        {"type": "table", "rows": []},
        {"type": "table", "rows": [[]]},
        {"type": "table", "rows": [[cell(para("alleen"), colspan=4, rowspan=9)], "geen rij"]},
        {"type": "heading", "level": 99, "text": "Kop op niveau 99"},
        {"type": "list_item", "level": "diep", "text": "punt zonder label"},
        para("stuurtekens \x00\x07\x0b en \ud800 en astraal 😀 en een\nnieuwe regel"),
        para(""),
        {"type": "image"},
    ]
    text = " ".join("".join(pages(write_pdf(blocks, title="\x00titel", footer="voet\x00tekst <&>"))).split())
    for phrase in ("Voetnoot 1", "Tekst van de voetnoot.", "Koptekst (eerste pagina)", "Koptekst van de eerste pagina",
                   "in een tabel", "Voettekst", "Sidebar", "alleen tekst", "Opmerking", "alleen", "Kop op niveau 99",
                   "punt zonder label", "stuurtekens", "nieuwe regel", "[Afbeelding]", "voettekst <&>"):
        assert phrase in text, phrase


def test_a_long_table_repeats_its_header_on_every_page_and_a_tall_cell_splits():
    header = [cell(para("Naam")), cell(para("Organisatie"))]
    rows = [[cell(para(f"Lid {n}")), cell(para(f"Praktijk {n}"))] for n in range(400)]
    tall = [cell(*[para(f"Alinea {n} van een cel die langer is dan een pagina.") for n in range(150)]), cell(para("x"))]
    blocks = [{"type": "table", "rows": [header, *rows]}, {"type": "table", "rows": [tall]}]
    texts = pages(write_pdf(blocks, footer=FOOTER))
    table_pages = [text for text in texts if "Lid " in text]
    assert len(table_pages) >= 5
    assert all(" ".join(text.split()).startswith("Naam Organisatie Lid") for text in table_pages)
    # A row split inside runs on over the pages: its short cell ("x") is printed beside the first part.
    assert_words_in_order(expected_words([blocks[0], *tall[0]["blocks"]]), "".join(texts))
    row_starts = next(text for text in texts if "Alinea 0 " in text)
    assert re.search(r"^x$", row_starts, re.MULTILINE)


def test_a_layout_reportlab_cannot_make_falls_back_to_tables_as_text(monkeypatch):
    real_build = pdf_writer._build

    def build(blocks, title, annex, footer, renderer):
        if not renderer.tables_as_text:
            raise LayoutError("Flowable too large")
        return real_build(blocks, title, annex, footer, renderer)

    monkeypatch.setattr(pdf_writer, "_build", build)
    blocks = [{"type": "table", "rows": [[cell(para("links")), cell(para("rechts"))]]}]
    assert squeeze("links rechts") in squeeze(pages(write_pdf(blocks))[0])


def test_without_dejavu_helvetica_still_prints_dutch(monkeypatch, tmp_path):
    monkeypatch.setattr(pdf_writer, "FONT_DIR", tmp_path)  # no fonts there
    assert pdf_writer._fonts(tmp_path).regular == "Helvetica"
    blocks = [para("Coöperatie, één café, reünie — € 12,50", runs=[{"text": "Coöperatie", "italic": True},
                                                               {"text": ", één café, reünie — € 12,50"}]),
              para("اتفاقية حقوق الطفل, Łódź")]
    text = " ".join(pages(write_pdf(blocks, footer=FOOTER))[0].split())
    assert "Coöperatie, één café, reünie — € 12,50" in text
    assert HASH in text


@pytest.mark.skipif(not (pdf_writer.FONT_DIR / "DejaVuSans.ttf").is_file(),
                    reason="fonts-dejavu-core is not installed: the Helvetica fallback is tested instead")
def test_dejavu_is_embedded_when_installed():
    data = write_pdf([para("Łódź, Ελλάδα, Київ, coöperatie", runs=[{"text": "Łódź, Ελλάδα, Київ, ", "bold": True},
                                                                  {"text": "coöperatie"}])])
    assert "Łódź, Ελλάδα, Київ, coöperatie" in " ".join(pages(data)[0].split())
    fonts = {str(font.get_object()["/BaseFont"])
             for page in PdfReader(io.BytesIO(data)).pages for font in page["/Resources"]["/Font"].values()}
    assert any("DejaVuSans-Bold" in name for name in fonts) and any(name.endswith("DejaVuSans") for name in fonts)


def test_an_empty_document_is_one_page_with_its_footer():
    texts = pages(write_pdf([], footer=FOOTER))
    assert len(texts) == 1 and HASH in texts[0]


@pytest.fixture(scope="session")
def full_agreement(tmp_path_factory):
    """The generator's full 25-chapter agreement (about 200 pages in Word)."""
    from tests.storage.conftest import GENERATOR

    folder = tmp_path_factory.mktemp("full_agreement")
    subprocess.run([sys.executable, str(GENERATOR), str(folder)], check=True, capture_output=True)
    return import_upload("v1.docx", (folder / "v1.docx").read_bytes()).blocks


@pytest.mark.slow
def test_a_200_page_agreement_renders_within_the_time_budget(full_agreement):
    started = time.perf_counter()
    data = write_pdf(full_agreement, annex=ANNEX, footer=FOOTER)
    elapsed = time.perf_counter() - started
    assert len(PdfReader(io.BytesIO(data)).pages) > 120
    assert elapsed < 5, f"{elapsed:.1f} s"
