"""read_markdown and read_plain_text."""

from __future__ import annotations

from storage.formats.text_reader import read_markdown, read_plain_text


def cell(text: str | None) -> dict:
    return {"blocks": [{"type": "paragraph", "text": text}] if text else [], "colspan": 1, "rowspan": 1}


def test_headings_and_paragraphs_with_soft_breaks():
    blocks = read_markdown("# Visie\n\nDe kerngroep\nbesluit samen.\n\n### Artikel 1 ###\n####### geen kop\n")
    assert blocks == [
        {"type": "heading", "level": 1, "text": "Visie"},
        {"type": "paragraph", "text": "De kerngroep besluit samen."},
        {"type": "heading", "level": 3, "text": "Artikel 1"},
        {"type": "paragraph", "text": "####### geen kop"},
    ]


def test_setext_headings():
    assert read_markdown("Titel\n=====\n\nOnder\n-----\n") == [
        {"type": "heading", "level": 1, "text": "Titel"},
        {"type": "heading", "level": 2, "text": "Onder"},
    ]


def test_inline_formatting_and_links_become_runs():
    (block,) = read_markdown("Wij, **Partijen**, *komen* overeen: [zie](https://example.org/x) en __dit__.")
    assert block["text"] == "Wij, Partijen, komen overeen: zie en dit."
    assert block["runs"] == [
        {"text": "Wij, "}, {"text": "Partijen", "bold": True}, {"text": ", "}, {"text": "komen", "italic": True},
        {"text": " overeen: "}, {"text": "zie", "href": "https://example.org/x"}, {"text": " en "},
        {"text": "dit", "bold": True}, {"text": "."},
    ]


def test_unsafe_links_keep_only_their_text_and_snake_case_stays():
    (block,) = read_markdown("[klik](javascript:alert(1)) snake_case_name \\*geen\\*")
    assert block == {"type": "paragraph", "text": "klik snake_case_name *geen*"}


def test_nested_lists_with_labels():
    blocks = read_markdown("- een\n- twee\n  - genest\n    1. diep\n    2. dieper\n- drie\n\n3. start bij drie\n4. vier\n")
    assert [(b["level"], b["ordered"], b["label"], b["text"]) for b in blocks] == [
        (0, False, "•", "een"), (0, False, "•", "twee"), (1, False, "•", "genest"), (2, True, "1.", "diep"),
        (2, True, "2.", "dieper"), (0, False, "•", "drie"), (0, True, "3.", "start bij drie"), (0, True, "4.", "vier"),
    ]


def test_list_item_continuation_lines():
    blocks = read_markdown("1) eerste\nloopt door\n2) tweede\n\n   nog een alinea\n\nGewone tekst.")
    assert blocks == [
        {"type": "list_item", "level": 0, "ordered": True, "label": "1)", "text": "eerste loopt door"},
        {"type": "list_item", "level": 0, "ordered": True, "label": "2)", "text": "tweede"},
        {"type": "paragraph", "text": "nog een alinea"},
        {"type": "paragraph", "text": "Gewone tekst."},
    ]


def test_a_number_inside_a_paragraph_does_not_start_a_list():
    assert read_markdown("Het besluit van\n2015. is geldig") == [
        {"type": "paragraph", "text": "Het besluit van 2015. is geldig"}
    ]


def test_pipe_tables():
    blocks = read_markdown("Leden:\n\n| Naam | Rol |\n|:-----|----:|\n| Jan | **voorzitter** |\n| Piet | |\n\nEinde")
    assert blocks[1] == {
        "type": "table",
        "rows": [
            [cell("Naam"), cell("Rol")],
            [cell("Jan"), {"blocks": [{"type": "paragraph", "text": "voorzitter",
                                       "runs": [{"text": "voorzitter", "bold": True}]}], "colspan": 1, "rowspan": 1}],
            [cell("Piet"), cell(None)],
        ],
    }
    assert blocks[2] == {"type": "paragraph", "text": "Einde"}


def test_rules_code_and_quotes():
    blocks = read_markdown("Een\n\n***\n\n```\ncode  regel\n  ingesprongen\n```\n\n> citaat\n")
    assert blocks == [
        {"type": "paragraph", "text": "Een"},
        {"type": "paragraph", "text": "code  regel\n  ingesprongen"},
        {"type": "paragraph", "text": "citaat"},
    ]


def test_plain_text_paragraphs():
    text = "Artikel 1\n\nDe vereniging draagt de naam\r\nStichting Zorgnetwerk.\r\n\r\n\n  Einde\x0c  \n"
    assert read_plain_text(text) == [
        {"type": "paragraph", "text": "Artikel 1"},
        {"type": "paragraph", "text": "De vereniging draagt de naam\nStichting Zorgnetwerk."},
        {"type": "paragraph", "text": "Einde"},
    ]
    assert read_plain_text("   \n\n") == []


def test_dutch_statute_reads_one_paragraph_per_line(corpus):
    path = corpus / "text" / "nl_wet-kwaliteit-klachten-geschillen-zorg_BWBR0037173_2015-11-13.txt"
    text = path.read_text(encoding="utf-8")
    blocks = read_plain_text(text)
    assert len(blocks) == 343
    assert all(block["type"] == "paragraph" and "\n" not in block["text"] for block in blocks)
    assert len(read_markdown(text)) >= 300
