"""Re-anchoring comments onto a new version: real Dutch version pairs, the generated agreement, small cases."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from difflib import SequenceMatcher
from pathlib import Path

import pytest

from storage.blocks import assign_ids, block_text
from storage.formats.importing import import_upload
from workflows.text.anchoring import Anchor, anchor_at, reanchor
from workflows.text.passages import carry_ids

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
GEN_AGREEMENT = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "gen_agreement.py"

WBP = ("nl_wet-bescherming-persoonsgegevens_BWBR0011468_2015-01-02.txt",
       "nl_wet-bescherming-persoonsgegevens_BWBR0011468_2015-07-13.txt")
WGR = ("nl_wet-gemeenschappelijke-regelingen_BWBR0003740_2014-09-03.txt",
       "nl_wet-gemeenschappelijke-regelingen_BWBR0003740_2015-01-05.txt")


def paragraphs(name: str) -> list[dict]:
    """A corpus text as paragraph blocks: paragraphs are separated by blank lines."""
    text = (CORPUS / "text" / name).read_text(encoding="utf-8")
    return assign_ids([{"type": "paragraph", "text": p} for p in text.removesuffix("\n").split("\n\n")])


def similarity(a: str, b: str) -> float:
    """difflib's ratio both ways round, the lower one (the ratio depends on the argument order)."""
    return min(SequenceMatcher(None, a, b, autojunk=False).ratio(), SequenceMatcher(None, b, a, autojunk=False).ratio())


def random_anchors(blocks: list[dict], count: int, seed: int) -> list[Anchor]:
    """Comments on random spans of 15-120 characters of the blocks' text."""
    rnd = random.Random(seed)
    candidates = [b for b in blocks if len(block_text(b)) >= 15]
    anchors = []
    for _ in range(count):
        block = rnd.choice(candidates)
        n = len(block_text(block))
        length = rnd.randint(15, min(120, n))
        start = rnd.randint(0, n - length)
        anchors.append(anchor_at(block, start, start + length))
    return anchors


def new_text_at(blocks: list[dict], placement) -> str:
    block = next(b for b in blocks if b["id"] == placement.block_id)
    return block_text(block)[placement.start:placement.end]


# Real version pairs -----------------------------------------------------------------------------

def test_wbp_comments_on_unchanged_paragraphs_all_land_exactly():
    old, new = paragraphs(WBP[0]), paragraphs(WBP[1])
    carried = carry_ids(old, new)
    anchors = random_anchors(old, 200, seed=1)

    placements = reanchor(old, carried, anchors)

    for anchor, placed in zip(anchors, placements):
        assert placed.status == "exact", (anchor, placed)
        assert placed.block_id == anchor.block_id
        assert placed.quote == anchor.quote == new_text_at(carried, placed)


def test_wgr_restructuring_never_places_a_comment_on_other_text():
    old, new = paragraphs(WGR[0]), paragraphs(WGR[1])
    carried = carry_ids(old, new)
    anchors = random_anchors(old, 300, seed=2)

    placements = reanchor(old, carried, anchors)

    placed = [(a, p) for a, p in zip(anchors, placements) if p.status != "removed"]
    for anchor, p in placed:
        assert p.quote == new_text_at(carried, p)
        assert similarity(p.quote, anchor.quote) >= 0.8, (anchor, p)
    # A third of the law was rewritten; most comments still find their text.
    assert len(placed) >= 0.6 * len(anchors)
    assert {p.status for p in placements} >= {"exact", "edited", "removed"}


# The generated agreement -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def agreement(tmp_path_factory):
    out = tmp_path_factory.mktemp("agreement")
    subprocess.run([sys.executable, str(GEN_AGREEMENT), str(out), "--chapters", "3"], check=True,
                   capture_output=True)
    v1 = import_upload("v1.docx", (out / "v1.docx").read_bytes()).blocks
    v2 = import_upload("v2.docx", (out / "v2.docx").read_bytes()).blocks
    edits = json.loads((out / "edits.json").read_text(encoding="utf-8"))
    return v1, carry_ids(v1, v2, taken={b["id"] for b in v1}), edits


def test_comments_in_deleted_paragraphs_are_removed(agreement):
    v1, v2, edits = agreement
    deleted = [v1[i] for i in edits["deleted"]]
    anchors = random_anchors(deleted, 60, seed=3)

    placements = reanchor(v1, v2, anchors)

    assert [p.status for p in placements] == ["removed"] * len(anchors)
    assert all(p.block_id is None and p.start is None and p.quote == "" for p in placements)


def surviving_word_runs(old: str, new: str) -> list[tuple[int, int, int]]:
    """(old start, old end, new start) of runs of at least three words the edit left alone.

    Found by difflib over the word lists, independently of the word diff the re-anchoring uses.
    """
    old_words, new_words = old.split(" "), new.split(" ")
    old_at = [sum(len(w) + 1 for w in old_words[:k]) for k in range(len(old_words))]
    new_at = [sum(len(w) + 1 for w in new_words[:k]) for k in range(len(new_words))]
    runs = []
    for a, b, size in SequenceMatcher(None, old_words, new_words, autojunk=False).get_matching_blocks():
        if size >= 3:
            end = old_at[a + size - 1] + len(old_words[a + size - 1])
            runs.append((old_at[a], end, new_at[b]))
    return runs


def test_comments_on_words_that_survived_an_edit_land_on_those_words(agreement):
    v1, v2, edits = agreement
    new_by_id = {b["id"]: b for b in v2}
    anchors, expected = [], []
    for i in edits["edited"]:
        old = v1[i]
        new_text = block_text(new_by_id[old["id"]])
        for start, end, new_start in surviving_word_runs(block_text(old), new_text):
            anchors.append(anchor_at(old, start, end))
            expected.append((old["id"], new_start, new_start + end - start))
    assert len(anchors) >= 2 * len(edits["edited"])

    placements = reanchor(v1, v2, anchors)

    for anchor, placed, (block_id, start, end) in zip(anchors, placements, expected):
        assert placed.status == "exact", (anchor, placed)
        assert (placed.block_id, placed.start, placed.end) == (block_id, start, end)
        assert placed.quote == anchor.quote


def test_comments_across_an_edit_are_edited_or_removed_never_elsewhere(agreement):
    v1, v2, edits = agreement
    edited = [v1[i] for i in edits["edited"]]
    anchors = random_anchors(edited, 200, seed=4)

    placements = reanchor(v1, v2, anchors)

    statuses = [p.status for p in placements]
    assert statuses.count("edited") >= 20
    for anchor, placed in zip(anchors, placements):
        if placed.status == "removed":
            continue
        assert placed.block_id == anchor.block_id
        assert placed.quote == new_text_at(v2, placed)
        assert similarity(placed.quote, anchor.quote) >= 0.8, (anchor, placed)
        assert (placed.status == "exact") == (placed.quote == anchor.quote)


def longest_paragraph(blocks: list[dict]) -> dict:
    return max((b for b in blocks if b["type"] == "paragraph"), key=lambda b: len(b["text"]))


def replaced(blocks: list[dict], block_id: str, text: str) -> list[dict]:
    return [{**b, "text": text, "runs": [{"text": text}]} if b["id"] == block_id else b for b in blocks]


def test_a_quote_whose_words_were_all_replaced_is_removed(agreement):
    v1, _, _ = agreement
    block = longest_paragraph(v1)
    words = block["text"].split(" ")
    start = sum(len(w) + 1 for w in words[:6])
    end = start + len(" ".join(words[6:12]))
    anchor = anchor_at(block, start, end)
    assert block["text"].count(anchor.quote) == 1
    new_text = " ".join(words[:6] + ["nieuw", "geformuleerde", "tekst", "zonder", "oude", "woorden"] + words[12:])

    [placed] = reanchor(v1, replaced(v1, block["id"], new_text), [anchor])

    assert placed.status == "removed"


def test_repeated_quotes_in_one_block_are_told_apart_by_their_context(agreement):
    v1, _, _ = agreement
    block = longest_paragraph(v1)
    phrase = "de Opdrachtnemer zal dit schriftelijk bevestigen"
    first, second = "Eerste geval: " + phrase + ". ", "In het tweede geval " + phrase + " aan iedere Partij."
    old_text = first + block["text"] + " " + second
    old = replaced(v1, block["id"], old_text)
    at_first, at_second = old_text.index(phrase), old_text.rindex(phrase)
    anchors = [anchor_at(old[v1.index(block)], at_first, at_first + len(phrase)),
               anchor_at(old[v1.index(block)], at_second, at_second + len(phrase))]
    assert anchors[0].quote == anchors[1].quote == phrase

    # Words inserted before both and between them: the offsets shift differently.
    grown = "Nieuw: " + first + "Tevens " + block["text"] + " Voorts " + second
    placements = reanchor(old, replaced(v1, block["id"], grown), anchors)
    assert [p.status for p in placements] == ["exact", "exact"]
    assert [p.start for p in placements] == [grown.index(phrase), grown.rindex(phrase)]

    # The first occurrence deleted: its comment does not jump to the second one.
    shortened = block["text"] + " " + second
    placements = reanchor(old, replaced(v1, block["id"], shortened), anchors)
    assert placements[0].status == "removed"
    assert (placements[1].status, placements[1].start) == ("exact", shortened.index(phrase))


# Small cases ------------------------------------------------------------------------------------

SENTENCES = [
    "De Partij zal de vergoeding betalen binnen dertig dagen na ontvangst van de factuur.",
    "Iedere Partij behandelt de informatie van de andere Partij als vertrouwelijk.",
    "Geschillen worden voorgelegd aan de bevoegde rechter te Utrecht.",
    "Deze overeenkomst wordt aangegaan voor de duur van vier jaar.",
]


def blocks_of(*texts: str) -> list[dict]:
    return assign_ids([{"type": "paragraph", "text": t} for t in texts])


def test_an_edited_quote_lands_on_its_new_wording():
    old = blocks_of(*SENTENCES)
    new = carry_ids(old, blocks_of(SENTENCES[0].replace("dertig", "zestig"), *SENTENCES[1:]))
    anchor = anchor_at(old[0], old[0]["text"].index("vergoeding"), old[0]["text"].index(" na "))

    [placed] = reanchor(old, new, [anchor])

    assert placed == type(placed)("edited", "b1", 17, 55, "vergoeding betalen binnen zestig dagen")


def test_a_moved_passage_keeps_its_comments_as_moved():
    old = blocks_of(*SENTENCES)
    new = carry_ids(old, blocks_of(SENTENCES[1], SENTENCES[2], SENTENCES[3], SENTENCES[0]))
    anchor = anchor_at(old[0], 3, 9)

    [placed] = reanchor(old, new, [anchor])

    assert (placed.status, placed.block_id, placed.start, placed.quote) == ("moved", "b1", 3, "Partij")


def test_a_quote_in_the_half_of_a_split_paragraph_follows_it_into_the_new_block():
    old = blocks_of(SENTENCES[0] + " " + SENTENCES[1], SENTENCES[2])
    new = carry_ids(old, blocks_of(SENTENCES[0], SENTENCES[1], SENTENCES[2]))
    start = old[0]["text"].index("behandelt")
    anchor = anchor_at(old[0], start, start + len("behandelt de informatie van de andere"))
    fresh = [b["id"] for b in new if b["id"] not in {"b1", "b2"}]

    [placed] = reanchor(old, new, [anchor])

    assert placed.status in ("exact", "moved")
    assert placed.block_id in fresh + ["b1"]
    assert placed.quote == anchor.quote == new_text_at(new, placed)


def test_unknown_passages_and_passages_without_a_quote():
    old = blocks_of(*SENTENCES)
    new = carry_ids(old, blocks_of(*SENTENCES[1:]))
    anchors = [Anchor("b1", "De Partij", "", " zal"), Anchor(None, "Partij", "", ""),
               Anchor("b99", "Partij", "", ""), Anchor("b2", "", "", "")]

    placements = reanchor(old, new, anchors)

    assert [p.status for p in placements] == ["removed", "removed", "removed", "exact"]
    assert (placements[3].block_id, placements[3].start) == ("b2", None)
