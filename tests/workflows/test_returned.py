"""A member's returned Word file compared with its version: tracked and untracked edits alike become changes
anchored to the version's passages, Word comments land on the passages they are on, and a file of another
document is told apart."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import docx

from storage.blocks import assign_ids, block_text, body_blocks
from storage.formats.docx_draft import TextChange, write_draft_docx
from storage.formats.docx_writer import write_docx
from storage.formats.importing import import_upload
from tests.storage.tracked_changes import reject_all
from workflows.domain.exports import redline_docx
from workflows.text.returned import (
    NEW_PASSAGE,
    REMOVED_PASSAGE,
    REPLACED_PASSAGE,
    TEXT,
    FoundChange,
    compare_returned,
)

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
GENERATOR = CORPUS.parent / "tools" / "gen_agreement.py"
WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def para(text: str) -> dict:
    return {"type": "paragraph", "text": text}


VERSION = assign_ids([
    {"type": "heading", "level": 1, "text": "Artikel 4 Looptijd"},
    para("De overeenkomst geldt voor 60 maanden en wordt daarna stilzwijgend verlengd."),
    para("Partijen overleggen ieder kwartaal over de voortgang."),
    para("Geschillen worden voorgelegd aan de rechter te Utrecht."),
    {"type": "table", "rows": [[{"blocks": [para("Partij")], "colspan": 1, "rowspan": 1},
                                {"blocks": [para("Rol")], "colspan": 1, "rowspan": 1}]]},
])


def returned(blocks: list[dict], comments: list[tuple[int, str, str]] = ()) -> tuple[list[dict], list[dict]]:
    """The member's file as Akkoord reads it back: their copy with these blocks, optionally Word comments
    (paragraph index, author, text) added in Word's way."""
    document = docx.Document(io.BytesIO(write_docx(blocks)))
    for index, author, text in comments:
        paragraph = document.paragraphs[index]
        document.add_comment(paragraph.runs, text=text, author=author)
    buffer = io.BytesIO()
    document.save(buffer)
    imported = import_upload("terug.docx", buffer.getvalue())
    return imported.blocks, imported.word_comments


def applied(version: list[dict], changes: list[FoundChange]) -> list[str]:
    """The version's passage texts with the changes made, written independently of the module under test."""
    texts = {block["id"]: block_text(block) for block in version}
    added: dict[str | None, list[str]] = {}
    removed = set()
    for change in sorted((c for c in changes if c.kind in (TEXT, REPLACED_PASSAGE)), key=lambda c: -c.start):
        text = texts[change.block_id]
        assert text[change.start:change.end] == change.old
        texts[change.block_id] = text[:change.start] + change.text + text[change.end:]
    for change in changes:
        if change.kind == NEW_PASSAGE:
            added.setdefault(change.block_id, []).append(change.text)
        elif change.kind == REMOVED_PASSAGE:
            removed.add(change.block_id)
    out = list(added.get(None, []))
    for block in version:
        if block["id"] not in removed:
            out.append(texts[block["id"]])
        out.extend(added.get(block["id"], []))
    return out


def body_texts(blocks: list[dict]) -> list[str]:
    return [block_text(block) for block in body_blocks(blocks)]


def edited(version: list[dict], block_id: str, old: str, new: str) -> list[dict]:
    return [dict(block, text=block["text"].replace(old, new)) if block["id"] == block_id else block
            for block in version]


# Untracked and tracked edits ---------------------------------------------------------------------------------


def test_an_untracked_edit_is_one_change_with_offsets_in_the_versions_text():
    blocks, comments = returned(edited(VERSION, "b2", "60 maanden", "12 maanden"))

    comparison = compare_returned(VERSION, blocks, comments)

    assert comparison.changes == [FoundChange(TEXT, "b2", 27, 29, "60", "12")]
    assert comparison.based_on and comparison.unchanged == 4 and comparison.kept == 1.0


def test_words_only_whitespace_apart_are_one_change_and_far_apart_two():
    member = edited(VERSION, "b2", "60 maanden en wordt daarna", "twaalf jaar en wordt daarna")
    member = edited(member, "b2", "stilzwijgend verlengd", "uitdrukkelijk verlengd")
    comparison = compare_returned(VERSION, returned(member)[0])

    assert [(c.old, c.text) for c in comparison.changes] == [("60 maanden", "twaalf jaar"),
                                                             ("stilzwijgend", "uitdrukkelijk")]
    assert applied(VERSION, comparison.changes) == body_texts(member)


def test_tracked_changes_count_as_the_edits_they_make():
    member = edited(VERSION, "b3", "ieder kwartaal", "elke maand")
    untracked = compare_returned(VERSION, returned(member)[0])
    tracked_file = redline_docx(VERSION, member, author="Karin Bos", date=WHEN)
    tracked = import_upload("terug.docx", tracked_file)

    assert tracked.findings.get("tracked_changes")
    assert compare_returned(VERSION, tracked.blocks).changes == untracked.changes
    assert [(c.old, c.text) for c in untracked.changes] == [("ieder kwartaal", "elke maand")]


def test_tracked_and_untracked_edits_in_one_file_both_count():
    # The member tracks one change and types another without tracking.
    member = edited(VERSION, "b4", "Utrecht", "Amersfoort")
    data = write_draft_docx(member, [TextChange("b2", 27, 29, "12", "Karin Bos", WHEN)])
    comparison = compare_returned(VERSION, import_upload("terug.docx", data).blocks)

    assert {(c.block_id, c.old, c.text) for c in comparison.changes} == {("b2", "60", "12"),
                                                                         ("b4", "Utrecht", "Amersfoort")}


def test_added_removed_and_table_passages():
    member = [VERSION[0], VERSION[1], para("Tussentijdse opzegging is mogelijk met drie maanden."),
              VERSION[3], {**VERSION[4], "rows": [[{"blocks": [para("Partij")], "colspan": 1, "rowspan": 1},
                                                   {"blocks": [para("Taak")], "colspan": 1, "rowspan": 1}]]}]
    comparison = compare_returned(VERSION, returned(member)[0])

    kinds = {(c.kind, c.block_id) for c in comparison.changes}
    assert (NEW_PASSAGE, "b2") in kinds or (NEW_PASSAGE, "b3") in kinds
    assert (REMOVED_PASSAGE, "b3") in kinds
    assert (REPLACED_PASSAGE, "b5") in kinds
    assert applied(VERSION, comparison.changes) == body_texts(member)


def test_a_passage_added_before_the_first_has_no_anchor():
    member = [para("Preambule: partijen willen samenwerken."), *VERSION]
    (change,) = compare_returned(VERSION, returned(member)[0]).changes
    assert (change.kind, change.block_id, change.text) == (NEW_PASSAGE, None, "Preambule: partijen willen samenwerken.")


# Word comments -----------------------------------------------------------------------------------------------


def test_word_comments_land_on_the_versions_passages():
    member = [VERSION[0], para("Nieuwe bepaling over evaluatie."), *VERSION[1:]]
    blocks, comments = returned(member, [(2, "Karin Bos", "Is 60 maanden niet te lang?"),
                                         (1, "Karin Bos", "Graag toevoegen.")])
    comparison = compare_returned(VERSION, blocks, comments)

    found = {(c.text, c.block_id, c.author) for c in comparison.comments}
    # The second paragraph is the version's b2; the added one is anchored to the passage before it.
    assert found == {("Is 60 maanden niet te lang?", "b2", "Karin Bos"), ("Graag toevoegen.", "b1", "Karin Bos")}


# Another document, another version -----------------------------------------------------------------------------


def test_a_file_of_another_document_is_not_based_on_the_version():
    other = import_upload("eula.docx", (CORPUS / "docx" / "27_agreement-en-eula_MSDN-EULA.docx").read_bytes())
    comparison = compare_returned(VERSION, other.blocks)
    assert not comparison.based_on
    assert comparison.kept < 0.5


def test_an_older_versions_copy_keeps_more_of_the_older_version():
    newer = edited(edited(VERSION, "b2", "60", "12"), "b3", "ieder kwartaal", "elke maand")
    copy_of_older = returned(edited(VERSION, "b4", "Utrecht", "Zwolle"))[0]

    against_older, against_newer = compare_returned(VERSION, copy_of_older), compare_returned(newer, copy_of_older)
    assert against_older.unchanged > against_newer.unchanged
    assert against_newer.based_on  # still the same document: the caller tells the member which version it is


# Real files ------------------------------------------------------------------------------------------------------


def test_a_real_word_file_with_tracked_changes_against_its_text_before_them():
    data = (CORPUS / "docx" / "13_tracked-ins-del_delins.docx").read_bytes()
    before = import_upload("voor.docx", reject_all(data)).blocks
    after = import_upload("na.docx", data).blocks

    comparison = compare_returned(before, after)

    assert comparison.changes
    assert applied(body_blocks(before), comparison.changes) == body_texts(after)


def test_the_generated_agreement_every_edit_found_and_none_invented(tmp_path):
    subprocess.run([sys.executable, str(GENERATOR), str(tmp_path), "--chapters", "3"], check=True,
                   capture_output=True)
    v1 = import_upload("v1.docx", (tmp_path / "v1.docx").read_bytes()).blocks
    v2 = import_upload("v2.docx", (tmp_path / "v2.docx").read_bytes()).blocks
    edits = json.loads((tmp_path / "edits.json").read_text())

    untracked = compare_returned(v1, v2)
    tracked = compare_returned(v1, import_upload("v2-tracked.docx", redline_docx(v1, v2, author="Lid",
                                                                                 date=WHEN)).blocks)

    assert applied(body_blocks(v1), untracked.changes) == body_texts(v2)
    assert tracked.changes == untracked.changes
    assert all(change.old != change.text for change in untracked.changes)
    assert sum(1 for c in untracked.changes if c.kind == NEW_PASSAGE) == len(edits["inserted"])
    assert sum(1 for c in untracked.changes if c.kind == REMOVED_PASSAGE) == len(edits["deleted"])


def test_random_edits_are_found_exactly():
    chance = random.Random(7)
    words = ["zorg", "netwerk", "partij", "termijn", "overleg", "besluit", "kwartaal", "cliënt"]
    version = assign_ids([para(" ".join(chance.choice(words) for _ in range(chance.randint(6, 20))))
                          for _ in range(40)])
    for _ in range(20):
        member = [dict(block) for block in version]
        for block in chance.sample(member, 5):
            tokens = block["text"].split(" ")
            tokens[chance.randrange(len(tokens))] = chance.choice(words).upper()
            block["text"] = " ".join(tokens)
        comparison = compare_returned(version, returned(member)[0])
        assert applied(version, comparison.changes) == body_texts(member)
