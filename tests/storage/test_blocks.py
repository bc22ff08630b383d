"""storage.blocks: the text of every kind of block, and the body apart from notes, headers and footers."""

from __future__ import annotations

from storage.blocks import assign_ids, block_text, body_blocks, content_hash, iter_text_blocks, plain_text, word_count

BLOCKS = [
    {"type": "heading", "level": 1, "text": "Artikel 1"},
    {"type": "paragraph", "text": "De leden1 besluiten.",
     "runs": [{"text": "De leden"}, {"text": "1", "note": "fn1"}, {"text": " besluiten."}]},
    {"type": "table", "rows": [[{"blocks": [{"type": "paragraph", "text": "a"}], "colspan": 1, "rowspan": 1},
                                {"blocks": [{"type": "image", "alt": "Logo"}], "colspan": 1, "rowspan": 1}]]},
    {"type": "note", "kind": "footnote", "label": "1", "note": "fn1",
     "blocks": [{"type": "paragraph", "text": " Zie de ledenlijst."}, {"type": "paragraph", "text": "En verder."}]},
    {"type": "header", "variant": "default", "blocks": [{"type": "paragraph", "text": "Concept"}]},
    {"type": "footer", "variant": "even", "blocks": [
        {"type": "table", "rows": [[{"blocks": [{"type": "paragraph", "text": "Regio"}], "colspan": 1, "rowspan": 1}]]},
    ]},
]


def test_a_note_reference_is_part_of_its_block_text():
    assert block_text(BLOCKS[1]) == "De leden1 besluiten."


def test_notes_headers_and_footers_read_as_their_blocks():
    assert block_text(BLOCKS[3]) == " Zie de ledenlijst.\nEn verder."
    assert block_text(BLOCKS[4]) == "Concept"
    assert block_text(BLOCKS[5]) == "Regio"


def test_body_blocks_leave_out_what_follows_the_body():
    assert body_blocks(BLOCKS) == BLOCKS[:3]
    assert plain_text(body_blocks(BLOCKS)) == "Artikel 1\n\nDe leden1 besluiten.\n\na\t"
    assert plain_text(BLOCKS).endswith("\n\nConcept\n\nRegio")


def test_iter_text_blocks_descends_into_notes_headers_and_footers():
    assert [b["text"] for b in iter_text_blocks(BLOCKS)] == [
        "Artikel 1", "De leden1 besluiten.", "a", " Zie de ledenlijst.", "En verder.", "Concept", "Regio",
    ]


def test_ids_and_hash_cover_every_top_level_block():
    blocks = assign_ids([dict(b) for b in BLOCKS])
    assert [b["id"] for b in blocks] == ["b1", "b2", "b3", "b4", "b5", "b6"]
    changed = [dict(b) for b in blocks]
    changed[4] = {**changed[4], "blocks": [{"type": "paragraph", "text": "Definitief"}]}
    assert content_hash(changed) != content_hash(blocks)
    assert word_count(BLOCKS) == 2 + 3 + 1 + 5 + 1 + 1
