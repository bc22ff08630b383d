"""read_docx on the real corpus and on small hand-built packages: the text as Word shows it."""

from __future__ import annotations

import time

import pytest

from storage.blocks import block_text, body_blocks, iter_text_blocks, plain_text
from storage.formats.docx_reader import DocxRefused, format_number, read_docx, read_docx_content

W_P = "<w:p>{}</w:p>"
W_NS_URI = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


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


def test_footnotes_are_kept_and_linked_to_their_references(read_corpus):
    blocks, findings = read_corpus(9)
    body, notes = body_blocks(blocks), blocks[1:]
    (paragraph,) = body
    assert "".join(r["text"] for r in paragraph["runs"] if "note" not in r) == "Ouch."
    assert paragraph["runs"] == [{"text": "Ouch"}, {"text": "1", "note": "fn1"}, {"text": "."},
                                 {"text": "2", "note": "fn2"}]
    assert paragraph["text"] == "Ouch1.2"  # the labels are part of the text, as Word shows them
    assert notes == [
        {"type": "note", "kind": "footnote", "label": "1", "note": "fn1",
         "blocks": [{"type": "paragraph", "text": " A tachyon walks into a bar."}]},
        {"type": "note", "kind": "footnote", "label": "2", "note": "fn2",
         "blocks": [{"type": "paragraph", "text": " Fin."}]},
    ]
    assert findings == {"footnotes": 2}


def test_endnotes_are_labelled_in_their_number_format(read_corpus):
    blocks, findings = read_corpus(10)
    assert [r for r in blocks[0]["runs"] if "note" in r] == [{"text": "i", "note": "en1"}, {"text": "ii", "note": "en2"}]
    assert [(b["kind"], b["label"], b["note"], block_text(b)) for b in blocks[1:]] == [
        ("endnote", "i", "en1", " A tachyon walks into a bar."), ("endnote", "ii", "en2", " Fin."),
    ]
    assert findings == {"footnotes": 2}


@pytest.mark.parametrize(("number", "count"), [(24, 40), (25, 54)])
def test_every_footnote_of_a_long_document_is_kept_in_reference_order(read_corpus, number, count):
    blocks, findings = read_corpus(number)
    notes = [b for b in blocks if b["type"] == "note"]
    assert len(notes) == count == findings["footnotes"]
    assert [b["note"] for b in notes] == [f"fn{n}" for n in range(1, count + 1)]
    assert all(block_text(b).strip() for b in notes)
    references = [r["note"] for b in iter_text_blocks(body_blocks(blocks)) for r in b.get("runs", []) if "note" in r]
    assert references == [b["note"] for b in notes]
    assert blocks.index(notes[0]) == len(body_blocks(blocks))  # after the body, before headers and footers


def test_custom_mark_and_a_number_inside_its_note(read_corpus):
    blocks, _ = read_corpus(24)
    notes = [b for b in blocks if b["type"] == "note"]
    # The title's "*" is a custom mark: Word does not count it, so the next footnote is 1.
    assert [b["label"] for b in notes[:4]] == ["*", "1", "2", "3"]
    title_cell = blocks[0]["rows"][0][2]["blocks"][0]
    assert title_cell["runs"] == [{"text": "CRC/C/GC/20"}, {"text": "*", "note": "fn1"}]
    # Here the author put "(" before the note's own number: it stays where it is, as "(1)".
    assert notes[1]["blocks"][0]["runs"][:2] == [{"text": "("}, {"text": "1", "note": "fn2"}]
    assert notes[1]["blocks"][0]["text"].startswith("(1)\tانظر www.who.int/")


def test_headers_and_footers_are_kept_apart_from_the_body(read_corpus):
    blocks, _ = read_corpus(23)
    body = body_blocks(blocks)
    assert not any("Footer" in block_text(b) or "Header text" in block_text(b) for b in body)
    furniture = [(b["type"], b["variant"], block_text(b)) for b in blocks[len(body):]]
    assert furniture == [
        ("header", "default", "August 20, 2008\t[ODD Page Header text]"),  # in a w:sdt inside a table
        ("header", "even", "[This is an Even Page, with a Header]\tAugust 20, 2008"),
        ("footer", "default", "Footer Left\tFooter Middle\tFooter Right"),
        ("footer", "even", "\tPage \t\n\t\nThis is a simple footer on the second page"),  # no page number
    ]


def test_headers_of_many_sections_once_each(read_corpus):
    blocks, _ = read_corpus(25)
    furniture = [b for b in blocks if b["type"] in ("header", "footer")]
    texts_seen = [(b["type"], b["variant"], block_text(b)) for b in furniture]
    assert len(texts_seen) == len(set(texts_seen))
    # The footers hold only a page number: kept once per variant as the field itself, with no text.
    footers = [b for b in furniture if b["type"] == "footer"]
    assert [(b["variant"], block_text(b).strip(), [r.get("field") for r in b["blocks"][0]["runs"]][-1])
            for b in footers] == [("default", "", "PAGE"), ("first", "", "PAGE")]
    assert [text.strip() for kind, variant, text in texts_seen if variant == "default" and kind == "header"][:2] == [
        "Introduction", "Towards a \n\t\tworking definition"]
    # 7 sections with 19 header parts; those with no text and the repeated "Glossary" are left out.
    assert len(furniture) - len(footers) == 11


def test_word_comments_with_quotes_and_replies(corpus_file):
    content = read_docx_content(corpus_file(11)[1])
    comments = content.word_comments
    assert len(comments) == 8 == content.findings["word_comments"]
    first, reply, second_reply, sub_span = comments[:4]
    assert first == {
        "author": "Randy Bartels", "date": "2024-03-28T17:22:00Z", "text": "COMMENT", "block_index": 0,
        "quote": "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore "
                 "et dolore magna aliqua.",
        "parent": None,
    }
    assert (reply["text"], reply["parent"], second_reply["author"], second_reply["parent"]) == (
        "RESPONSE", 0, "Shay Hill", 0)
    assert (sub_span["quote"], sub_span["parent"]) == ("tempor incididunt ut labore et dolore magna aliqua.", None)
    assert [c["block_index"] for c in comments] == [0, 0, 0, 0, 4, 4, 4, 4]
    assert [c["parent"] for c in comments[4:]] == [None, 4, 4, None]
    assert content.blocks[4]["text"].endswith(comments[4]["quote"])


def test_threaded_comments_of_word_2013(corpus_file):
    # Word 2013 wrote commentsExtended in a preview namespace of w15.
    content = read_docx_content(corpus_file(12)[1])
    comments = content.word_comments
    assert len(comments) == 20
    replies = [(n, c["parent"]) for n, c in enumerate(comments) if c["parent"] is not None]
    assert replies == [(2, 0), (3, 0), (7, 5), (8, 5), (12, 10), (13, 10), (17, 15), (18, 15)]
    assert comments[0]["author"].startswith("Peter Amstein") and comments[0]["quote"] == "improvements"
    assert comments[4]["quote"] == "that Word shows you a"
    for comment in comments:
        assert comment["quote"] in block_text(content.blocks[comment["block_index"]])


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
        "(a)", "(b)", "(c)", "(d)", "b.",  # level 2 used under "2." counted level 1 as started (LibreOffice agrees)
    ]


def test_start_override_continues_a_list_across_definitions(read_corpus):
    blocks, _ = read_corpus(30)
    assert [b["label"] for b in blocks if b["type"] == "list_item"] == ["1.", "A.", "B.", "C.", "2.", "D.", "E.", "F."]


def test_bullets_show_a_bullet(read_corpus):
    blocks, _ = read_corpus(2)
    items = [b for b in blocks if b["type"] == "list_item"]
    assert len(items) == 80
    glyphs = {b["label"] for b in items if not b["ordered"]}  # as each level's symbol font draws them
    assert {"•", "◦", "✓", "➢"} <= glyphs and all(len(glyph) == 1 and not glyph.isalnum() for glyph in glyphs)
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
        '<w:numbering xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
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


REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
W_ROOT = f'xmlns:w="{W_NS_URI}" xmlns:r="{REL}"'


def part(tag: str, inner: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:{tag} {W_ROOT}>{inner}</w:{tag}>'


def relationship(rel_id: str, kind: str, target: str) -> str:
    return f'<Relationship Id="{rel_id}" Type="{REL}/{kind}" Target="{target}"/>'


def test_footnote_references_count_as_word_counts_them(make_docx):
    notes = part("footnotes", '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
                 + "".join(f'<w:footnote w:id="{n}"><w:p><w:r><w:footnoteRef/></w:r>{run(f" Noot {n}.")}</w:p></w:footnote>'
                           for n in (5, 6, 7)))
    body = W_P.format(
        run("Een") + '<w:r><w:footnoteReference w:id="7"/></w:r>'
        + '<w:del w:id="1" w:author="a"><w:r><w:footnoteReference w:id="5"/></w:r></w:del>'  # deleted: no note
        + run(" twee") + '<w:r><w:footnoteReference w:id="99"/></w:r>'  # no such note: no reference
        + run(" drie") + '<w:r><w:footnoteReference w:id="6"/></w:r>'
    )
    blocks, findings = read_docx(make_docx(body, rels=relationship("rId5", "footnotes", "footnotes.xml"),
                                           parts={"word/footnotes.xml": notes}))
    assert blocks[0]["text"] == "Een1 twee drie2"
    assert [(b["label"], b["note"], block_text(b)) for b in blocks[1:]] == [("1", "fn1", " Noot 7."),
                                                                            ("2", "fn2", " Noot 6.")]
    assert findings == {"tracked_changes": 1, "footnotes": 2}


def test_note_number_format_and_start_from_the_section(make_docx):
    notes = part("endnotes", "".join(f'<w:endnote w:id="{n}"><w:p>{run(f"E{n}")}</w:p></w:endnote>' for n in (1, 2)))
    body = (W_P.format(run("a") + '<w:r><w:endnoteReference w:id="1"/></w:r>'
                       + '<w:r><w:endnoteReference w:id="2"/></w:r>')
            + '<w:sectPr><w:endnotePr><w:numFmt w:val="upperLetter"/><w:numStart w:val="3"/></w:endnotePr></w:sectPr>')
    blocks, _ = read_docx(make_docx(body, rels=relationship("rId5", "endnotes", "endnotes.xml"),
                                    parts={"word/endnotes.xml": notes}))
    assert blocks[0]["runs"] == [{"text": "a"}, {"text": "C", "note": "en1"}, {"text": "D", "note": "en2"}]
    assert [(b["label"], b["blocks"]) for b in blocks[1:]] == [
        ("C", [{"type": "paragraph", "text": "E1"}]), ("D", [{"type": "paragraph", "text": "E2"}])]


def test_headers_and_footers_word_shows_once_each(make_docx):
    header = part("hdr", W_P.format(run("Samenwerkingsovereenkomst")))
    first = part("hdr", W_P.format(run("Alleen op een titelpagina")))
    footer = part("ftr", W_P.format(
        run("Pagina ") + '<w:fldSimple w:instr=" PAGE "><w:r><w:t>3</w:t></w:r></w:fldSimple>' + run(" van ")
        + '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> NUMPAGES </w:instrText></w:r>'
        + '<w:r><w:fldChar w:fldCharType="separate"/></w:r>' + run("9") + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    ))
    page_number_only = part("ftr", W_P.format('<w:fldSimple w:instr="PAGE"><w:r><w:t>- 4 -</w:t></w:r></w:fldSimple>'))
    refs = ('<w:headerReference w:type="default" r:id="rH1"/><w:headerReference w:type="first" r:id="rH2"/>'
            '<w:headerReference w:type="even" r:id="rH2"/><w:footerReference w:type="default" r:id="rF1"/>')
    body = (
        W_P.format(run("Hoofdstuk 1"))
        + f'<w:p><w:pPr><w:sectPr>{refs}</w:sectPr></w:pPr></w:p>'  # no title page, no even/odd setting
        + W_P.format(run("Hoofdstuk 2"))
        + '<w:sectPr><w:headerReference w:type="default" r:id="rH3"/><w:footerReference w:type="default" r:id="rF2"/>'
        '</w:sectPr>'
    )
    rels = "".join(relationship(*r) for r in (("rH1", "header", "header1.xml"), ("rH2", "header", "header2.xml"),
                                              ("rH3", "header", "header3.xml"), ("rF1", "footer", "footer1.xml"),
                                              ("rF2", "footer", "footer2.xml")))
    parts = {"word/header1.xml": header, "word/header2.xml": first, "word/header3.xml": header,
             "word/footer1.xml": footer, "word/footer2.xml": page_number_only}
    blocks, _ = read_docx(make_docx(body, rels=rels, parts=parts))
    assert blocks == [
        {"type": "paragraph", "text": "Hoofdstuk 1"},
        {"type": "paragraph", "text": "Hoofdstuk 2"},
        {"type": "header", "variant": "default", "blocks": [{"type": "paragraph", "text": "Samenwerkingsovereenkomst"}]},
        # Page numbers stay as their fields (no text: the page it was drawn on is no text), also on their own.
        {"type": "footer", "variant": "default", "blocks": [{"type": "paragraph", "text": "Pagina  van ", "runs": [
            {"text": "Pagina "}, {"field": "PAGE", "text": ""}, {"text": " van "}, {"field": "NUMPAGES", "text": ""}]}]},
        {"type": "footer", "variant": "default", "blocks": [
            {"type": "paragraph", "text": "", "runs": [{"field": "PAGE", "text": ""}]}]},
    ]
    assert plain_text(body_blocks(blocks)) == "Hoofdstuk 1\n\nHoofdstuk 2"


def test_comment_ranges_across_paragraphs_and_in_tables(make_docx):
    comments = part("comments", "".join(
        f'<w:comment w:id="{n}" w:author="{who}"><w:p>{run(text)}</w:p></w:comment>'
        for n, who, text in ((1, "An", "Te lang."), (2, "Bo", "Welke partij?"), (3, "Cas", "Weg")))
    )
    body = (
        W_P.format(run("Inleiding"))
        + '<w:commentRangeStart w:id="1"/>' + W_P.format(run("Eerste ") + '<w:commentRangeStart w:id="2"/>' + run("zin"))
        + W_P.format(run("tweede") + '<w:commentRangeEnd w:id="2"/>' + run(" zin") + '<w:commentRangeEnd w:id="1"/>')
        + f'<w:tbl><w:tr><w:tc>{W_P.format(run("cel"))}</w:tc><w:tc>'
        + W_P.format('<w:commentRangeStart w:id="3"/>' + run("Partij B") + '<w:commentRangeEnd w:id="3"/>')
        + "</w:tc></w:tr></w:tbl>"
    )
    content = read_docx_content(make_docx(body, rels=relationship("rC", "comments", "comments.xml"),
                                          parts={"word/comments.xml": comments}))
    assert [(c["author"], c["date"], c["text"], c["block_index"], c["quote"], c["parent"])
            for c in content.word_comments] == [
        ("An", "", "Te lang.", 1, "Eerste zin\ntweede zin", None),
        ("Bo", "", "Welke partij?", 1, "zin\ntweede", None),
        ("Cas", "", "Weg", 3, "Partij B", None),
    ]
    assert content.findings == {"word_comments": 3}


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
