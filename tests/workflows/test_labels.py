"""Passages named for a screen reader's list of links, and words a reader types found in a passage."""

from __future__ import annotations

from workflows.text.labels import find_words, passage_names


def test_passages_are_named_by_heading_label_or_first_words():
    names = passage_names([
        {"id": "b1", "type": "heading", "level": 1, "text": "Artikel 4.2 Taken"},
        {"id": "b2", "type": "list_item", "level": 0, "label": "2.", "text": "Het expertisecentrum adviseert."},
        {"id": "b3", "type": "paragraph", "text": "De partijen werken samen aan goede zorg voor mensen."},
    ])
    assert names == {"b1": "Artikel 4.2 Taken", "b2": "2. “Het expertisecentrum adviseert.”",
                     "b3": "“De partijen werken samen aan goede…”"}


def test_typed_words_are_found_whatever_their_white_space_and_case():
    text = "De huisarts blijft de eerste\taanspreekpersoon voor de patiënt."
    at = text.index("de eerste")
    assert find_words(text, "de eerste aanspreekpersoon") == (at, at + 26)
    assert find_words(text, "  De   Eerste  aanspreekpersoon ") == (at, at + 26)  # as typed, not as written
    assert find_words(text, "De huisarts") == (0, 11)  # the case as written wins where both match
    assert find_words(text, "tweede") is None and find_words(text, "   ") is None
