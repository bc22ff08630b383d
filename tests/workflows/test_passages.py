"""Stable passages: real Dutch version pairs, the generated agreement, and the rules on small cases."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from storage.blocks import assign_ids
from storage.formats.importing import import_upload
from workflows.text.passages import MOVE_SIMILARITY, carry, carry_ids, passage_map
from workflows.text.redlines import redline

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


def ids(blocks: list[dict]) -> list[str]:
    return [b["id"] for b in blocks]


def number(block_id: str) -> int:
    return int(block_id.removeprefix("b"))


def without_id(block: dict) -> dict:
    return {key: value for key, value in block.items() if key != "id"}


def dice(a: str, b: str) -> float:
    """Shared words over all words of both, each word counted as often as it occurs."""
    words_a, words_b = Counter(re.findall(r"\w+", a.lower())), Counter(re.findall(r"\w+", b.lower()))
    return 2 * sum((words_a & words_b).values()) / (words_a.total() + words_b.total())


def assert_same_content(carried: list[dict], new: list[dict]):
    assert [without_id(b) for b in carried] == [without_id(b) for b in new]


# Real version pairs -----------------------------------------------------------------------------

def test_wbp_insertions_keep_every_old_id_and_number_the_new_paragraphs_above_them():
    old, new = paragraphs(WBP[0]), paragraphs(WBP[1])
    before = copy.deepcopy(new)

    carried = carry_ids(old, new)

    assert new == before, "the input is not changed"
    assert_same_content(carried, new)
    old_text = {b["id"]: b["text"] for b in old}
    kept = [b for b in carried if b["id"] in old_text]
    assert len(kept) == len(old) == 465
    assert all(b["text"] == old_text[b["id"]] for b in kept)
    fresh = [b["id"] for b in carried if b["id"] not in old_text]
    assert fresh == [f"b{n}" for n in range(466, 466 + 17)]
    assert passage_map(old, new) == {b["id"]: b["id"] for b in old}


def test_wgr_restructuring_keeps_ids_unique_and_unchanged_texts_on_their_ids():
    old, new = paragraphs(WGR[0]), paragraphs(WGR[1])

    result = carry(old, new)
    carried = result.blocks

    assert len(set(ids(carried))) == len(carried) == len(new)
    assert_same_content(carried, new)
    old_text = {b["id"]: b["text"] for b in old}
    # A text found once in each version is the same paragraph, wherever it went.
    once_old = {t for t, n in Counter(old_text.values()).items() if n == 1}
    once_new = {t for t, n in Counter(b["text"] for b in new).items() if n == 1}
    old_id_of = {t: i for i, t in old_text.items()}
    for block in carried:
        if block["text"] in once_old & once_new:
            assert block["id"] == old_id_of[block["text"]], block["text"]
    # No paragraph is called new while an old paragraph with the very same text is called gone.
    gone = {old_text[i] for i, to in passage_map(old, new).items() if to is None}
    assert not [b for b in carried if result.origin[b["id"]] == "new" and b["text"] in gone]
    # Equal and changed are exactly the redline's rows; the rest of the new paragraphs moved or are new.
    rows = Counter(row.status for row in redline(old, new).rows)
    counts = {how: result.count(how) for how in ("equal", "changed", "moved", "new")}
    assert (counts["equal"], counts["changed"]) == (rows["equal"], rows["changed"])
    assert counts["moved"] + counts["new"] == rows["inserted"]
    for block in carried:
        if result.origin[block["id"]] == "moved":
            assert dice(block["text"], old_text[block["id"]]) >= MOVE_SIMILARITY
    assert min(number(i) for i in ids(carried) if result.origin[i] == "new") == len(old) + 1


# The generated agreement -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def agreement(tmp_path_factory):
    out = tmp_path_factory.mktemp("agreement")
    subprocess.run([sys.executable, str(GEN_AGREEMENT), str(out), "--chapters", "3"], check=True,
                   capture_output=True)
    v1 = import_upload("v1.docx", (out / "v1.docx").read_bytes()).blocks
    v2 = import_upload("v2.docx", (out / "v2.docx").read_bytes()).blocks
    edits = json.loads((out / "edits.json").read_text(encoding="utf-8"))
    return v1, v2, edits


def expected_ids(v1: list[dict], edits: dict) -> list[str | None]:
    """Per position in v2: the v1 id that block continues (from edits.json), or None when it is inserted."""
    deleted, inserted_after = set(edits["deleted"]), set(edits["inserted"])
    out: list[str | None] = []
    for i, block in enumerate(v1):
        if i in deleted:
            continue
        out.append(block["id"])
        if i in inserted_after:
            out.append(None)
    return out


def test_agreement_edits_keep_their_ids_deletions_vanish_insertions_are_fresh(agreement):
    v1, v2, edits = agreement
    before = copy.deepcopy((v1, v2))

    carried = carry_ids(v1, v2, taken=set(ids(v1)))

    assert (v1, v2) == before, "the inputs are not changed"
    assert_same_content(carried, v2)
    expected = expected_ids(v1, edits)
    assert len(expected) == len(carried)
    highest = max(number(i) for i in ids(v1))
    for block, old_id in zip(carried, expected):
        if old_id is None:
            assert number(block["id"]) > highest
        else:
            assert block["id"] == old_id
    assert len(set(ids(carried))) == len(carried)
    edited = {v1[i]["id"] for i in edits["edited"] + [edits["table"]]}
    assert edited <= set(ids(carried))
    deleted = {v1[i]["id"] for i in edits["deleted"]}
    mapping = passage_map(v1, v2)
    assert {old for old, new in mapping.items() if new is None} == deleted
    assert all(new == old for old, new in mapping.items() if new is not None)
    assert passage_map(v1, carried) == mapping, "the map does not depend on the ids the new blocks bring"


def plain_paragraphs(v1: list[dict], v2: list[dict], edits: dict) -> list[int]:
    """Positions in v2 of long, unedited paragraphs that continue a v1 paragraph."""
    unchanged = {v1[i]["id"] for i in range(len(v1))} - {v1[i]["id"] for i in edits["edited"]}
    expected = expected_ids(v1, edits)
    return [k for k, block in enumerate(v2)
            if expected[k] in unchanged and block["type"] == "paragraph" and len(block["text"].split()) >= 20]


@pytest.mark.parametrize("edit", [False, True], ids=["as-is", "edited"])
def test_a_moved_paragraph_keeps_its_id(agreement, edit):
    v1, v2, edits = agreement
    expected = expected_ids(v1, edits)
    source = plain_paragraphs(v1, v2, edits)[3]
    moved = dict(v2[source])
    if edit:
        words = moved["text"].split(" ")
        words[len(words) // 2] = "gewijzigd"
        moved["text"] = " ".join(words)
        moved.pop("runs", None)
    blocks = list(v2)
    del blocks[source]
    target = len(blocks) - 10
    blocks.insert(target, moved)

    result = carry(v1, blocks)

    assert result.blocks[target]["id"] == expected[source]
    assert result.origin[expected[source]] == "moved"
    assert len(set(ids(result.blocks))) == len(blocks)
    assert_same_content(result.blocks, blocks)
    assert passage_map(v1, blocks)[expected[source]] == expected[source]


def test_three_versions_in_a_row_never_reuse_an_id(agreement):
    v1, v2, _ = agreement
    second = carry_ids(v1, v2, taken=set(ids(v1)))
    fresh_in_second = [i for i in ids(second) if i not in set(ids(v1))]
    assert fresh_in_second
    # The third version drops the second one's new paragraphs, so the highest id of the version
    # it follows is lower than ids handed out before: only `taken` keeps them from coming back.
    third_raw = [dict(b) for b in second if b["id"] not in fresh_in_second]
    third_raw[5:5] = [{"type": "paragraph", "text": "Een geheel nieuwe bepaling over de evaluatie van dit akkoord."},
                      {"type": "paragraph", "text": "Nog een nieuwe bepaling, over de looptijd en de opzegging."}]
    earlier = set(ids(v1)) | set(ids(second))

    third = carry_ids(second, third_raw, taken=earlier)

    fresh_in_third = [i for i in ids(third) if i not in set(ids(second))]
    assert len(fresh_in_third) == 2
    assert not set(fresh_in_third) & earlier
    assert min(number(i) for i in fresh_in_third) > max(number(i) for i in earlier)
    assert len(set(ids(third))) == len(third)
    assert [i for i in ids(third) if i not in fresh_in_third] == [
        i for i in ids(second) if i not in fresh_in_second], "every other passage kept its id, in order"
    assert_same_content(third, third_raw)


# Rules on small cases ---------------------------------------------------------------------------

def texts(*items: str) -> list[dict]:
    return assign_ids([{"type": "paragraph", "text": t} for t in items])


LONG = [
    "Partijen verbinden zich om de samenwerking in de regio jaarlijks te evalueren met alle leden van het netwerk.",
    "De kerngroep stelt het plan van aanpak vast nadat de leden in een commentaarronde hun reactie hebben gegeven.",
    "Een lid kan uittreden met inachtneming van een opzegtermijn van drie maanden, schriftelijk aan de kerngroep.",
    "De kosten van gezamenlijke bijeenkomsten worden naar rato van het aantal deelnemers over de partijen verdeeld.",
]


def test_a_first_version_is_numbered_from_one():
    assert ids(carry_ids([], texts("a", "b", "c"))) == ["b1", "b2", "b3"]


def test_two_swapped_paragraphs_both_keep_their_ids():
    old = texts(*LONG)
    new = texts(LONG[0], LONG[2], LONG[1], LONG[3])

    result = carry(old, new)

    assert ids(result.blocks) == ["b1", "b3", "b2", "b4"]
    assert result.count("moved") == 1


def test_a_move_ignores_case_spacing_and_unicode_form():
    old = texts("Artikel 1", LONG[0], LONG[1], LONG[2], "Slotbepaling  van  het Akkoord")
    new = texts("Artikel 1", "slotbepaling van het akkoord", LONG[0], LONG[1], LONG[2])

    assert ids(carry_ids(old, new)) == ["b1", "b5", "b2", "b3", "b4"]


def test_a_move_needs_the_similarity_threshold():
    words = LONG[3].split(" ")
    near = " ".join(words[:-1] + ["verdeeld, tenzij anders besloten."])  # 1 of 16 words changed, 2 added
    far = " ".join(words[:8] + ["iets", "heel", "anders", "dan", "voorheen", "werd", "afgesproken."])
    old = texts(LONG[3], LONG[0], LONG[1], LONG[2])

    near_result = carry(old, texts(LONG[0], LONG[1], LONG[2], near))
    far_result = carry(old, texts(LONG[0], LONG[1], LONG[2], far))

    assert MOVE_SIMILARITY == 0.8
    assert ids(near_result.blocks) == ["b2", "b3", "b4", "b1"] and near_result.origin["b1"] == "moved"
    assert ids(far_result.blocks) == ["b2", "b3", "b4", "b5"] and far_result.origin["b5"] == "new"
    assert passage_map(old, texts(LONG[0], LONG[1], LONG[2], far))["b1"] is None


def test_a_deleted_block_moves_to_one_place_only():
    copy_of_it = LONG[3].replace("verdeeld.", "verdeeld, tenzij anders besloten.")
    old = texts(LONG[3], LONG[0], LONG[1], LONG[2])

    result = carry(old, texts(LONG[0], copy_of_it, LONG[1], LONG[2], copy_of_it))

    assert ids(result.blocks) == ["b2", "b1", "b3", "b4", "b5"]


def test_blocks_without_text_never_move():
    old = [{"type": "image", "alt": ""}, *texts(*LONG)]
    new = [*texts(*LONG), {"type": "image", "alt": ""}]
    assign_ids(old)

    assert ids(carry_ids(old, new)) == ["b2", "b3", "b4", "b5", "b6"]


def test_fresh_ids_count_up_from_the_highest_id_ever_taken():
    old = texts(LONG[0], LONG[1])
    new = texts(LONG[0], LONG[1], "Nieuw.", "Ook nieuw.")

    assert ids(carry_ids(old, new, taken={"b1", "b9", "b40", "x77", "bijlage"})) == ["b1", "b2", "b41", "b42"]


def test_only_the_better_match_keeps_an_id_that_two_blocks_claim():
    # A stored version never repeats an id; if one did, the new version's ids must still be unique.
    old = [{"id": "b1", "type": "paragraph", "text": LONG[0]}, {"id": "b1", "type": "paragraph", "text": LONG[1]}]
    new = texts(LONG[0] + " Aldus besloten.", LONG[1])

    result = carry(old, new)

    assert ids(result.blocks) == ["b2", "b1"]
    assert result.origin == {"b2": "new", "b1": "equal"}
