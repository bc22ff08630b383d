"""read_docx on the real corpus and on small hand-built packages: the text as Word shows it."""

from __future__ import annotations

import time

import pytest

from storage.blocks import iter_text_blocks, plain_text
from storage.docx_reader import DocxRefused, format_number, read_docx

W_P = "<w:p>{}</w:p>"


def texts(blocks: list[dict]) -> list[str]:
    return [block["text"] for block in iter_text_blocks(blocks)]


def char_count(blocks: list[dict]) -> int:
    return sum(len(text) for text in texts(blocks))


def cell_text(cell: dict) -> str:
    return " ".join(texts(cell["blocks"]))


def run(text: str, props: str = "") -> str:
    return f'<w:r>{f"<w:rPr>{props}</w:rPr>" if props else ""}<w:t xml:space="preserve">{text}</w:t></w:r>'


# --- corpus ------------------------------------------------------------------------------------


def test_headings_by_style(read_corpus):
    blocks, _ = read_corpus(1)
    assert [(b["type"], b.get("level")) for b in blocks] == [
        ("heading", 1), ("paragraph", None), ("heading", 2), ("paragraph", None), ("heading", 3), ("paragraph", None),
    ]
    assert blocks[0]["text"] == "First paragraph"


def test_a_style_named_header_is_not_a_heading(read_corpus):
    blocks, _ = read_corpus(25)
    headings = [b for b in blocks if b["type"] == "heading"]
    assert 20 < len(headings) < 60  # Heading1..9 paragraphs only; "Header" styles 510 body paragraphs
    assert sum(1 for b in blocks if b["type"] == "paragraph") > 400


def test_merged_cells_appear_once(read_corpus):
    blocks, _ = read_corpus(5)
    (table,) = blocks
    grid = [[(cell_text(c), c["colspan"], c["rowspan"]) for c in row] for row in table["rows"]]
    assert grid == [
        [("0-0", 1, 1), ("0-12", 2, 1), ("0-3", 1, 1)],
        [("12-0", 1, 2), ("1-1", 1, 1), ("1-2", 1, 1), ("1-3", 1, 1)],
        [("2-1", 1, 1), ("2-2", 1, 1), ("2-3", 1, 1)],
        [("3-0", 1, 1), ("34-123", 3, 2)],
        [("4-0", 1, 1)],
    ]
    assert char_count(blocks) == 44  # not the 82 of a naive row.cells walk


def test_nested_table_with_merges(read_corpus):
    blocks, _ = read_corpus(6)
    assert char_count(blocks) == 305
    assert blocks[0] == {"type": "heading", "level": 5, "text": "Leadership Development Map"}
    nested = [inner for row in blocks[1]["rows"] for cell in row for inner in cell["blocks"] if inner["type"] == "table"]
    assert len(nested) == 1


def test_tables_nested_eight_deep(read_corpus):
    blocks, _ = read_corpus(7)

    def walk(table: dict, depth: int) -> list[tuple[int, str]]:
        found = []
        for row in table["rows"]:
            for cell in row:
                for inner in cell["blocks"]:
                    found += walk(inner, depth + 1) if inner["type"] == "table" else [(depth, inner["text"])]
        return found

    assert walk(blocks[0], 1) == [(8, "8"), (7, "7"), (6, "6"), (5, "5"), (4, "4"), (3, "3"), (2, "2"), (1, "1")]


def test_nested_tables_with_vertical_merges(read_corpus):
    blocks, _ = read_corpus(8)
    tables = [b for b in blocks if b["type"] == "table"]
    nested = [i for t in tables for row in t["rows"] for c in row for i in c["blocks"] if i["type"] == "table"]
    assert (len(tables), len(nested)) == (2, 3)
    assert any(c["rowspan"] > 1 for t in tables for row in t["rows"] for c in row)


@pytest.mark.parametrize(("number", "chars"), [(12, 2792), (13, 448 + 849)])
def test_tracked_changes_are_accepted(read_corpus, number, chars):
    blocks, findings = read_corpus(number)
    assert char_count(blocks) == chars
    assert findings["tracked_changes"] > 0


def test_nested_revisions_inside_a_move(read_corpus):
    blocks, findings = read_corpus(14)
    assert plain_text(blocks) == "b"
    assert findings == {"tracked_changes": 6}


def test_a_wholly_deleted_body_leaves_no_text(read_corpus):
    blocks, findings = read_corpus(15)
    assert plain_text(blocks).strip() == ""
    assert findings["word_comments"] == 33


def test_text_box_is_read_once(read_corpus):
    blocks, _ = read_corpus(16)
    assert texts(blocks) == ["Datum plane"]


def test_content_controls_and_text_box(read_corpus):
    blocks, _ = read_corpus(17)
    joined = plain_text(blocks)
    quote = "Grab your reader’s attention with a great quote"
    assert joined.count(quote) == 1  # a content control in a text box whose VML copy is skipped
    assert char_count(blocks) == 3043 - 170  # the manifest's 3043 counts the fallback copy too


def test_hyperlinks_keep_text_and_target(read_corpus):
    blocks, _ = read_corpus(18)
    links = [(r["text"], r["href"]) for b in blocks for r in b.get("runs", []) if "href" in r]
    assert links == [
        ("awesome hyperlink", "http://yahoo.com/"),
        ("the first one", "http://google.com/"),
        ("second one", "http://python.org/"),
        ("third", "http://yahoo.com/"),
    ]
    assert blocks[2]["text"] == "Three hyperlinks: the first one here, the second one, and the third."


def test_main_part_found_through_relationships(read_corpus):
    blocks, _ = read_corpus(35)
    assert blocks == [{
        "type": "paragraph",
        "text": "This is a link to my website.",
        "runs": [{"text": "This is a link to "}, {"text": "my website", "href": "http://www.shayallenhill.com/"},
                 {"text": "."}],
    }]


def test_hyperlink_fields_give_links(read_corpus):
    blocks, _ = read_corpus(13)
    hrefs = {r["href"] for b in iter_text_blocks(blocks) for r in b.get("runs", []) if "href" in r}
    assert len(hrefs) >= 3
    assert all(href.startswith(("http://", "https://", "mailto:")) for href in hrefs)


def test_field_results_not_codes(read_corpus):
    blocks, _ = read_corpus(21)
    joined = plain_text(blocks)
    assert "ANTONI" in joined and "16 June 2010" in joined
    assert "AUTHOR" not in joined and "CREATEDATE" not in joined and "MERGEFORMAT" not in joined


def test_images_become_image_blocks_with_alt_text(read_corpus):
    blocks, findings = read_corpus(19)
    assert findings["images"] == 5 == sum(1 for b in blocks if b["type"] == "image")
    external, findings = read_corpus(20)
    assert [b["type"] for b in external] == ["image"] and findings == {"images": 1}


def test_footnotes_and_endnotes_are_counted_not_read(read_corpus):
    for number in (9, 10):
        blocks, findings = read_corpus(number)
        assert texts(blocks) == ["Ouch."]
        assert findings == {"footnotes": 2}


def test_list_labels_on_nine_levels(read_corpus):
    blocks, _ = read_corpus(3)
    assert all(b["type"] == "list_item" and b["ordered"] for b in blocks)
    assert [(b["level"], b["label"]) for b in blocks] == [
        (0, "1."), (1, "a)"), (1, "b)"), (0, "2."), (1, "a)"), (2, "i."), (2, "ii."), (3, "1)"), (4, "a)"),
        (5, "i."), (8, "a)"), (0, "3."), (1, "a)"),
    ]


def test_numbering_overrides_give_the_labels_word_shows(read_corpus):
    # The test file's text of each item is the label Word shows for it: lists sharing an abstract
    # definition continue each other's count; a level override changes the format, not the count.
    blocks, _ = read_corpus(4)
    items = [b for b in blocks if b["type"] == "list_item"]
    assert [(b["label"], b["text"]) for b in items] == [("1", "1"), ("B", "B"), ("C", "C"), ("A", "A"),
                                                        ("B", "B"), ("4", "4")]


def test_agreement_clause_numbering(read_corpus):
    blocks, _ = read_corpus(27)
    # 2.1 was struck from the licence by its amendment, so Word goes on with 2.2 (start value 2).
    assert [b["label"] for b in blocks if b["type"] == "list_item"] == [
        "1.", "a.", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "2.", "2.2", "(i)", "(ii)", "(iii)", "2.3",
        "(a)", "(b)", "(c)", "(d)", "a.",
    ]


def test_start_override_continues_a_list_across_definitions(read_corpus):
    blocks, _ = read_corpus(30)
    assert [b["label"] for b in blocks if b["type"] == "list_item"] == ["1.", "A.", "B.", "C.", "2.", "D.", "E.", "F."]


def test_bullets_show_a_bullet(read_corpus):
    blocks, _ = read_corpus(2)
    items = [b for b in blocks if b["type"] == "list_item"]
    assert len(items) == 80
    assert {b["label"] for b in items if not b["ordered"]} == {"•"}
    assert max(b["level"] for b in items) == 4


def test_long_documents(read_corpus):
    started = time.perf_counter()
    blocks, _ = read_corpus(26)
    assert 260_000 < char_count(blocks) < 280_000  # a row.cells walk triples it to 861k
    assert time.perf_counter() - started < 5
    blocks, _ = read_corpus(25)
    assert char_count(blocks) > 200_000


def test_empty_documents_and_missing_styles(read_corpus):
    assert read_corpus(31) == ([], {})
    assert read_corpus(34) == ([], {})


@pytest.mark.parametrize(("number", "code"), [(36, "macro"), (37, "strict"), (38, "dtd"), (40, "template"),
                                              (32, "corrupt")])
def test_packages_refused_inside(corpus_file, number, code):
    with pytest.raises(DocxRefused) as caught:
        read_docx(corpus_file(number)[1])
    assert caught.value.code == code


# --- the generated agreement -------------------------------------------------------------------


KINDS = {"title": ("heading", 1), "h1": ("heading", 1), "h2": ("heading", 2), "h3": ("heading", 3),
         "p": ("paragraph", None), "bullet": ("list_item", None), "num": ("list_item", None), "table": ("table", None)}


def test_agreement_reads_as_its_model(agreement, agreement_model):
    plain, _ = read_docx((agreement / "v1.docx").read_bytes())
    fragmented, _ = read_docx((agreement / "v1_fragmented.docx").read_bytes())
    assert fragmented == plain  # Word's run fragmentation changes nothing
    assert len(plain) == len(agreement_model)
    for model, block in zip(agreement_model, plain):
        kind, level = KINDS[model["kind"]]
        assert block["type"] == kind
        if level:
            assert block["level"] == level
        if kind == "table":
            assert [[cell_text(c) for c in row] for row in block["rows"]] == model["rows"]
        else:
            assert block["text"] == model["text"]
    assert {b["label"] for b in plain if b["type"] == "list_item" and not b["ordered"]} == {"•"}
    defined_terms = [r["text"] for b in plain for r in b.get("runs", []) if r.get("bold")]
    assert set(defined_terms) <= {"Opdrachtgever", "Opdrachtnemer", "Partijen"} and defined_terms


# --- hand-built packages -----------------------------------------------------------------------


def test_tabs_breaks_hyphens_and_formatting(make_docx):
    body = W_P.format(
        run("Artikel") + "<w:r><w:tab/><w:t>1</w:t><w:br/><w:t>regel</w:t><w:noBreakHyphen/><w:t>twee</w:t></w:r>"
        + run(" vet", "<w:b/>") + run(" niet", '<w:b w:val="0"/>') + run(" schuin", "<w:i/>")
        + run(" onder", '<w:u w:val="single"/>') + run(" geen", '<w:u w:val="none"/>')
    )
    (block,), _ = read_docx(make_docx(body))
    assert block["text"] == "Artikel\t1\nregel-twee vet niet schuin onder geen"
    assert block["runs"] == [
        {"text": "Artikel\t1\nregel-twee"}, {"text": " vet", "bold": True}, {"text": " niet"},
        {"text": " schuin", "italic": True}, {"text": " onder", "underline": True}, {"text": " geen"},
    ]


def test_alternate_content_is_read_once(make_docx):
    box = '<w:txbxContent><w:p><w:r><w:t>In het kader</w:t></w:r></w:p></w:txbxContent>'
    body = W_P.format(
        run("Anker")
        + "<w:r><mc:AlternateContent><mc:Choice Requires=\"wps\"><w:drawing><wp:anchor><wp:docPr id=\"1\" name=\"k\"/>"
        + f"<a:graphic><a:graphicData><wps:wsp><wps:txbx>{box}</wps:txbx></wps:wsp></a:graphicData></a:graphic>"
        + "</wp:anchor></w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>"
        + box + "</v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
    )
    blocks, findings = read_docx(make_docx(body))
    assert texts(blocks) == ["Anker", "In het kader"]
    assert findings == {}


def test_deleted_paragraph_mark_joins_paragraphs(make_docx):
    body = (
        '<w:p><w:pPr><w:rPr><w:del w:id="1" w:author="a"/></w:rPr></w:pPr>' + run("Eerste deel, ") + "</w:p>"
        + W_P.format(run("tweede deel.") + '<w:del w:id="2" w:author="a"><w:r><w:delText>weg</w:delText></w:r></w:del>')
        + W_P.format('<w:ins w:id="3" w:author="a">' + run("Nieuw.") + "</w:ins>")
    )
    blocks, findings = read_docx(make_docx(body))
    assert texts(blocks) == ["Eerste deel, tweede deel.", "Nieuw."]
    assert findings == {"tracked_changes": 3}


def test_unsafe_link_schemes_are_dropped(make_docx):
    rels = (
        '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"'
        ' Target="javascript:alert(1)" TargetMode="External"/>'
        '<Relationship Id="rId8" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"'
        ' Target="https://example.org/a" TargetMode="External"/>'
    )
    body = W_P.format(f'<w:hyperlink r:id="rId9">{run("klik")}</w:hyperlink> '
                      f'<w:hyperlink r:id="rId8">{run(" hier")}</w:hyperlink>')
    (block,), _ = read_docx(make_docx(body, rels=rels))
    assert block["runs"] == [{"text": "klik"}, {"text": " hier", "href": "https://example.org/a"}]


def test_complex_field_spanning_paragraphs(make_docx):
    body = (
        W_P.format('<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> TOC \\o </w:instrText></w:r>'
                   '<w:r><w:fldChar w:fldCharType="separate"/></w:r>' + run("Inhoud 1"))
        + W_P.format(run("Inhoud 2") + '<w:r><w:fldChar w:fldCharType="end"/></w:r>')
        + W_P.format(run("Daarna"))
    )
    blocks, _ = read_docx(make_docx(body))
    assert texts(blocks) == ["Inhoud 1", "Inhoud 2", "Daarna"]


def test_numbered_heading_shows_its_number(make_docx):
    numbering = (
        f'<w:numbering xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        '<w:abstractNum w:abstractNumId="0"><w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
        '<w:lvlText w:val="Artikel %1"/></w:lvl></w:abstractNum><w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>'
        "</w:numbering>"
    )
    rels = ('<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/numbering"'
            ' Target="numbering.xml"/>')
    heading = '<w:p><w:pPr><w:outlineLvl w:val="1"/><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr>{}</w:p>'
    body = heading.format(run("Doel")) + heading.format(run("Looptijd"))
    blocks, _ = read_docx(make_docx(body, rels=rels, parts={"word/numbering.xml": numbering}))
    assert blocks == [{"type": "heading", "level": 2, "text": "Artikel 1 Doel"},
                      {"type": "heading", "level": 2, "text": "Artikel 2 Looptijd"}]


def test_other_office_documents_are_wrong_type(make_docx):
    spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    with pytest.raises(DocxRefused) as caught:
        read_docx(make_docx(W_P.format(run("x")), main_content_type=spreadsheet))
    assert caught.value.code == "wrong_type"


@pytest.mark.parametrize(("value", "fmt", "label"), [
    (1, "decimal", "1"), (4, "lowerRoman", "iv"), (14, "upperRoman", "XIV"), (2, "lowerLetter", "b"),
    (27, "upperLetter", "AA"), (3, "decimalZero", "03"), (2, "ordinal", "2nd"), (5, "none", ""),
])
def test_number_formats(value, fmt, label):
    assert format_number(value, fmt) == label
