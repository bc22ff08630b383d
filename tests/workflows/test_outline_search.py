"""The member's table of contents and search, on real Word files, a Dutch law text and the generated
agreement: headings nest by level and keep their anchors; search ignores case and accents and marks exactly what
was found in the text as written."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage.formats.importing import import_upload
from workflows.text.outline import count, outline
from workflows.text.search import fold, index, search

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
GEN_AGREEMENT = Path(__file__).resolve().parents[2].parent / "shared" / "tools" / "gen_agreement.py"


def blocks_of(name: str) -> list[dict]:
    path = CORPUS / name
    return import_upload(path.name, path.read_bytes()).blocks


def marked(hit) -> list[str]:
    return [text for text, is_match in hit.pieces if is_match]


def test_the_headings_of_a_word_file_nest_by_level():
    blocks = blocks_of("docx/01_headings_heading123.docx")  # Heading 1, 2 and 3, each above a paragraph
    (first,) = outline(blocks)
    assert (first.text, first.level) == ("First paragraph", 1)
    (second,) = first.children
    (third,) = second.children
    assert (second.text, third.text, third.children) == ("Second paragraph", "Third paragraph", [])
    ids = {b["id"] for b in blocks if b["type"] == "heading"}
    assert {first.id, second.id, third.id} == ids  # each entry names its heading's anchor


def test_headings_that_skip_or_start_low_are_kept_not_invented():
    # The WGIG report opens with level-6 headings, then level 1 and deeper: every heading is in, in order.
    blocks = blocks_of("docx/25_long-en-footnotes_WGIG-background-report.docx")
    headings = [b for b in blocks if b["type"] == "heading" and b["text"].strip()]
    tree = outline(blocks)
    assert count(tree) == len(headings)
    flat = []

    def walk(entries, depth):
        for entry in entries:
            flat.append(entry.id)
            assert all(child.level > entry.level for child in entry.children)
            walk(entry.children, depth + 1)

    walk(tree, 0)
    assert flat == [b["id"] for b in headings]
    assert [h.level for h in tree[:4]] == [6, 6, 6, 6] and tree[4].level == 1


def test_a_text_without_headings_has_no_outline():
    assert outline(blocks_of("text/nl_wet-kwaliteit-klachten-geschillen-zorg_BWBR0037173_2015-11-13.txt")) == []
    skipped = [{"id": "b1", "type": "heading", "level": 2, "text": "   "}, {"id": "b2", "type": "paragraph", "text": "x"}]
    assert outline(skipped) == []


def test_folding_takes_off_case_and_accents():
    assert fold("Patiënt ÉÉN Straße coördinatie ĳs") == "patient een strasse coordinatie ijs"
    assert fold("CLIËNTEN") == fold("cliënten") == "clienten"


def test_search_in_a_dutch_law_text_marks_the_words_as_written():
    passages = index(blocks_of("text/nl_wet-kwaliteit-klachten-geschillen-zorg_BWBR0037173_2015-11-13.txt"))
    found = search(passages, "CLIENT")
    assert found.passages > 20 and found.matches >= found.passages
    assert all(text.lower() == "cliënt" for hit in found.hits for text in marked(hit))
    assert len(found.hits) == min(found.passages, 50)
    # Words of the query match across any white space, in order, and only in order.
    phrase = search(passages, "positie   van cliënten")
    assert phrase.passages >= 1 and marked(phrase.hits[0]) == ["positie van cliënten"]
    assert search(passages, "cliënten van positie").passages == 0
    assert search(passages, "   ").hits == () and search(passages, "zzqxj").passages == 0


def test_a_snippet_keeps_the_text_around_the_match_and_marks_every_match_in_it():
    text = "Inleiding. " * 20 + "De huisarts verwijst de patiënt; de PATIENT krijgt bericht." + " Slot." * 80
    (hit,) = search(index([{"id": "b1", "type": "paragraph", "text": text}]), "patient").hits
    assert hit.pieces[0] == ("…", False) and hit.pieces[-1] == ("…", False)
    assert marked(hit) == ["patiënt", "PATIENT"] and hit.matches == 2
    assert "De huisarts verwijst de " in "".join(t for t, _ in hit.pieces)
    assert len("".join(t for t, _ in hit.pieces)) < 420


def test_search_names_the_heading_a_passage_stands_under():
    blocks = [{"id": "b1", "type": "heading", "level": 1, "text": "Artikel 4 Gegevens"},
              {"id": "b2", "type": "list_item", "level": 0, "label": "a.", "text": "met toestemming"},
              {"id": "b3", "type": "note", "kind": "footnote", "label": "1", "note": "fn1",
               "blocks": [{"type": "paragraph", "text": "Toestemming: schriftelijk."}]},
              {"id": "b4", "type": "footer", "variant": "default",
               "blocks": [{"type": "paragraph", "text": "toestemming in de voettekst"}]}]
    hits = search(index(blocks), "toestemming").hits
    assert [(h.id, h.heading, h.label) for h in hits] == [("b2", "Artikel 4 Gegevens", "a."),
                                                          ("b3", "Artikel 4 Gegevens", "")]


@pytest.fixture(scope="module")
def agreement(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("agreement")
    # 5 of its 25 chapters (~40 pages): the same structure, in a fifth of the time to make and import.
    subprocess.run([sys.executable, str(GEN_AGREEMENT), str(out), "--chapters", "5"], check=True, capture_output=True)
    return import_upload("v1.docx", (out / "v1.docx").read_bytes()).blocks


def test_the_generated_agreement_has_its_three_levels_of_headings_and_searches_quickly(agreement):
    tree = outline(agreement)
    headings = [b for b in agreement if b["type"] == "heading"]
    assert count(tree) == len(headings) > 60
    chapters = [entry for entry in tree if entry.children]
    assert len(chapters) == 5 and all(child.children for child in chapters[0].children)

    started = time.perf_counter()
    passages = index(agreement)
    found = search(passages, "aansprakelijkheid")
    elapsed = time.perf_counter() - started
    assert found.passages > 5 and len(found.hits) == min(found.passages, 50)
    assert elapsed < 1.0, elapsed  # made once per version; a search on the index takes milliseconds
    started = time.perf_counter()
    search(passages, "continuïteit")
    assert time.perf_counter() - started < 0.5
