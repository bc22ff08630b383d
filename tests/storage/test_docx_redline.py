"""Redline .docx: real Word tracked changes; Accept all gives the newer version, Reject all the older."""

from __future__ import annotations

import io
import random
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import docx
import pytest

from storage.blocks import assign_ids
from storage.formats.docx_reader import read_docx
from storage.formats.docx_redline import RedlineBlock, write_redline_docx
from storage.formats.docx_writer import write_docx
from storage.formats.importing import import_upload
from tests.storage.tracked_changes import W, accepted, document_xml, rejected
from workflows.domain.exports import redline_docx

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
WBP = ("nl_wet-bescherming-persoonsgegevens_BWBR0011468_2015-01-02.txt",
       "nl_wet-bescherming-persoonsgegevens_BWBR0011468_2015-07-13.txt")
WGR = ("nl_wet-gemeenschappelijke-regelingen_BWBR0003740_2014-09-03.txt",
       "nl_wet-gemeenschappelijke-regelingen_BWBR0003740_2015-01-05.txt")
WHEN = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
AUTHOR = "Akkoord"
REVISIONS = tuple(W + tag for tag in ("ins", "del", "pPrChange", "rPrChange"))


def para(text: str, **extra) -> dict:
    return {"type": "paragraph", "text": text, **extra}


def item(level: int, label: str, text: str) -> dict:
    return {"type": "list_item", "level": level, "ordered": label != "•", "label": label, "text": text}


def heading(level: int, text: str) -> dict:
    return {"type": "heading", "level": level, "text": text}


def cell(*blocks: dict, colspan: int = 1, rowspan: int = 1) -> dict:
    return {"blocks": list(blocks), "colspan": colspan, "rowspan": rowspan}


def table(*rows: list[str]) -> dict:
    return {"type": "table", "rows": [[cell(para(text)) for text in row] for row in rows]}


OLD = [
    heading(1, "Samenwerkingsovereenkomst"),
    para("Partijen komen overeen als volgt.", runs=[{"text": "Partijen", "bold": True},
                                                   {"text": " komen overeen als volgt."}]),
    para("De Partij levert de dienst binnen tien dagen."),
    item(0, "1.", "Doel"), item(0, "2.", "Looptijd"), item(1, "a.", "een jaar"), item(1, "b.", "verlenging"),
    item(0, "3.", "Kosten"), item(0, "4.", "Vervalt als punt"),
    para("Tussendoor."),
    item(0, "1.", "Opnieuw begonnen"), item(0, "2.", "En door"), item(1, "2.1", "Onderdeel"),
    item(0, "•", "Opsomming"),
    para("Deze bepaling vervalt geheel."),
    table(["Post", "Bedrag"], ["Licentie", "100"], ["Support", "50"]),
    {"type": "table", "rows": [[cell(para("Naam"), rowspan=2), cell(para("Rol"))], [cell(para("lid"))]]},
    para("Artikel 3"),
    para("Zie de site.\tMet tab\nen regel.", runs=[
        {"text": "Zie de "}, {"text": "site", "href": "https://oud.example/"}, {"text": ".\tMet tab\nen regel."}]),
    {"type": "image", "alt": "Logo oud"},
    para("Slotbepaling die verdwijnt."),
]
NEW = [
    heading(1, "Samenwerkingsovereenkomst"),
    para("Partijen komen overeen als volgt."),
    para("Een geheel nieuwe bepaling over geheimhouding."),
    para("De Partij levert de dienst binnen twintig dagen."),
    item(0, "1.", "Nieuw eerste punt"), item(0, "2.", "Doel"), item(0, "3.", "Looptijd"), item(1, "a.", "een jaar"),
    item(1, "b.", "verlenging"), item(0, "4.", "Kosten"),
    para("Vervalt als punt"),
    para("Tussendoor."),
    item(0, "1.", "Opnieuw begonnen"), item(0, "2.", "En door"), item(1, "2.1", "Onderdeel"),
    item(1, "2.2", "Nieuw onderdeel"), item(0, "•", "Opsomming"),
    table(["Post", "Bedrag"], ["Licentie", "120"], ["Support", "50"], ["Hosting", "30"]),
    {"type": "table", "rows": [[cell(para("Naam")), cell(para("Rol"))], [cell(para("Jan")), cell(para("lid"))]]},
    heading(2, "Artikel 3"),
    para("Zie de site.\tMet tab\nen regel.", runs=[
        {"text": "Zie de "}, {"text": "site", "href": "https://nieuw.example/", "bold": True},
        {"text": ".\tMet tab\nen regel."}]),
    {"type": "image", "alt": "Logo nieuw"},
]


def exported(blocks: list[dict]) -> list[dict]:
    """A version as its own .docx export reads back: what Accept/Reject all must give."""
    return read_docx(write_docx(blocks))[0]


def shape(blocks: list[dict]) -> list:
    """Type, level, label and text of every block, cells included: what a reader of the text sees."""
    out = []
    for block in blocks:
        if block["type"] == "table":
            out.append(("table", [[(shape(c["blocks"]), c.get("colspan", 1), c.get("rowspan", 1)) for c in row]
                                  for row in block["rows"]]))
        elif block["type"] == "image":
            out.append(("image", block.get("alt", "")))
        else:
            out.append((block["type"], block.get("level"), block.get("label"), block["text"]))
    return out


def revisions(data: bytes) -> list:
    return list(document_xml(data).iter(*REVISIONS))


def paragraph_with(data: bytes, text: str):
    """The body paragraph whose text, inserted or deleted, contains `text`."""
    for p in document_xml(data).iter(W + "p"):
        if text in "".join(t.text or "" for t in p.iter(W + "t", W + "delText")):
            return p
    raise AssertionError(f"no paragraph with {text!r}")


def texts(element, tag: str) -> list[str]:
    return ["".join(t.text or "" for t in revision.iter(W + "t", W + "delText")) for revision in element.iter(tag)
            if revision.getparent().tag not in (W + "rPr", W + "trPr")]


def corpus_paragraphs(name: str) -> list[dict]:
    text = (CORPUS / "text" / name).read_text(encoding="utf-8")
    return assign_ids([para(p) for p in text.removesuffix("\n").split("\n\n")])


@pytest.fixture(scope="module")
def sample() -> bytes:
    return redline_docx(OLD, NEW, author=AUTHOR, date=WHEN)


# Accept all and Reject all ---------------------------------------------------------------------

def test_accept_all_gives_the_new_version_and_reject_all_the_old_one(sample):
    assert accepted(sample) == exported(NEW)
    assert rejected(sample) == exported(OLD)
    # The importer reads tracked changes accepted: the redline itself reads as the newer version.
    assert read_docx(sample)[0] == exported(NEW)


def test_the_sample_exercises_every_kind_of_change(sample):
    root = document_xml(sample)
    assert root.find(f".//{W}pPr/{W}rPr/{W}ins") is not None and root.find(f".//{W}pPr/{W}rPr/{W}del") is not None
    assert root.find(f".//{W}trPr/{W}ins") is not None and root.find(f".//{W}trPr/{W}del") is not None
    assert root.find(f".//{W}pPrChange") is not None and root.find(f".//{W}rPrChange") is not None
    assert root.find(f".//{W}hyperlink/{W}ins") is not None


def test_list_labels_come_from_numbering_that_counts_in_both_versions(sample):
    new_labels = [b.get("label") for b in accepted(sample) if b["type"] == "list_item"]
    old_labels = [b.get("label") for b in rejected(sample) if b["type"] == "list_item"]
    assert new_labels == ["1.", "2.", "3.", "a.", "b.", "4.", "1.", "2.", "2.1", "2.2", "•"]
    assert old_labels == ["1.", "2.", "a.", "b.", "3.", "4.", "1.", "2.", "2.1", "•"]
    # Inserting an item renumbers the rest through Word's counting, not through property changes:
    # the items after "Nieuw eerste punt" carry no older numbering of their own.
    assert paragraph_with(sample, "Doel").find(f"{W}pPr/{W}pPrChange") is None
    assert paragraph_with(sample, "Kosten").find(f"{W}pPr/{W}pPrChange") is None
    # A list item that became a plain paragraph keeps its older numbering in the change.
    change = paragraph_with(sample, "Vervalt als punt").find(f"{W}pPr/{W}pPrChange")
    assert change.find(f"{W}pPr/{W}numPr") is not None


def test_a_changed_paragraph_is_one_paragraph_with_its_words_inserted_and_deleted(sample):
    p = paragraph_with(sample, "De Partij levert")
    assert texts(p, W + "del") == ["tien"] and texts(p, W + "ins") == ["twintig"]
    assert [t.text for t in p.findall(f"{W}r/{W}t")] == ["De Partij levert de dienst binnen ", " dagen."]
    assert p.find(f"{W}pPr/{W}rPr") is None  # the paragraph mark itself is unchanged
    assert [t.text for t in p.iter(W + "delText")] == ["tien"]


def test_inserted_and_deleted_blocks_have_their_paragraph_mark_tracked(sample):
    inserted = paragraph_with(sample, "Een geheel nieuwe bepaling")
    assert inserted.find(f"{W}pPr/{W}rPr/{W}ins") is not None
    assert all(run.getparent().tag == W + "ins" for run in inserted.iter(W + "r"))
    deleted = paragraph_with(sample, "Deze bepaling vervalt geheel.")
    # Right before a table, Word records the deletion on the previous paragraph's mark (a paragraph cannot
    # join a table); the deleted paragraph keeps a mark, formatted as that previous one after accepting.
    assert deleted.getnext().tag == W + "tbl"
    assert deleted.getprevious().find(f"{W}pPr/{W}rPr/{W}del") is not None
    assert deleted.find(f"{W}pPr/{W}rPr/{W}del") is None and deleted.find(f"{W}pPr/{W}pPrChange") is not None
    assert all(run.getparent().tag == W + "del" for run in deleted.iter(W + "r"))
    assert not list(deleted.iter(W + "t")) and [t.text for t in deleted.iter(W + "delText")] == [
        "Deze bepaling vervalt geheel."]


def test_the_last_paragraph_mark_is_never_a_tracked_one(sample):
    # Word keeps a document's last paragraph mark whatever happens to it.
    last = document_xml(sample).find(f"{W}body")[-2]
    assert last.tag == W + "p" and len(last) == 0
    assert paragraph_with(sample, "Slotbepaling die verdwijnt.").find(f"{W}pPr/{W}rPr/{W}del") is not None


def test_a_changed_table_that_lines_up_keeps_its_unchanged_rows(sample):
    first = document_xml(sample).find(f"{W}body/{W}tbl")
    rows = first.findall(W + "tr")
    marks = [(row.find(f"{W}trPr/{W}del") is not None, row.find(f"{W}trPr/{W}ins") is not None) for row in rows]
    assert marks == [(False, False), (True, False), (False, True), (False, False), (False, True)]
    assert texts(rows[1], W + "del") == ["Licentie", "100"] and texts(rows[2], W + "ins") == ["Licentie", "120"]


def test_a_changed_table_with_merged_rows_is_deleted_whole_and_inserted_whole(sample):
    tables = document_xml(sample).findall(f"{W}body/{W}tbl")
    assert len(tables) == 3
    assert all(row.find(f"{W}trPr/{W}del") is not None for row in tables[1].iter(W + "tr"))
    assert all(row.find(f"{W}trPr/{W}ins") is not None for row in tables[2].iter(W + "tr"))


def test_a_formatting_change_of_unchanged_text_is_tracked_as_formatting(sample):
    p = paragraph_with(sample, "Partijen komen overeen")
    assert not texts(p, W + "ins") and not texts(p, W + "del")
    (change,) = p.iter(W + "rPrChange")
    assert change.find(f"{W}rPr/{W}b") is not None and change.getparent().find(W + "b") is None
    assert rejected(sample)[1]["runs"][0] == {"text": "Partijen", "bold": True}


def test_every_revision_has_a_unique_id_an_author_and_a_date(sample):
    found = revisions(sample)
    assert len(found) > 30
    ids = [revision.get(W + "id") for revision in found]
    assert len(set(ids)) == len(ids) and all(i.isdigit() for i in ids)
    assert {revision.get(W + "author") for revision in found} == {AUTHOR}
    assert {revision.get(W + "date") for revision in found} == {"2026-11-22T10:00:00Z"}


def test_dates_are_written_in_utc():
    amsterdam = timezone(timedelta(hours=1))
    data = redline_docx([para("Een.")], [para("Twee.")], author="Jan <Jansen>",
                        date=datetime(2026, 11, 22, 11, 0, 30, 123456, tzinfo=amsterdam))
    assert {r.get(W + "date") for r in revisions(data)} == {"2026-11-22T10:00:30Z"}
    assert {r.get(W + "author") for r in revisions(data)} == {"Jan <Jansen>"}
    naive = redline_docx([para("Een.")], [para("Twee.")], author="x", date=datetime(2026, 11, 22, 10, 0))
    assert {r.get(W + "date") for r in revisions(naive)} == {"2026-11-22T10:00:00Z"}


def test_the_file_opens_in_python_docx(sample):
    document = docx.Document(io.BytesIO(sample))
    assert document.paragraphs[0].style.name == "Heading 1"
    assert len(document.tables) == 3


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_converts_it(sample, tmp_path):
    source = tmp_path / "redline.docx"
    source.write_bytes(sample)
    subprocess.run(["soffice", "--headless", "--convert-to", "txt:Text", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=120)
    assert "twintig" in (tmp_path / "redline.txt").read_text(encoding="utf-8-sig")


# Edge cases ------------------------------------------------------------------------------------

def test_identical_versions_give_a_document_without_revisions():
    data = redline_docx(OLD, OLD, author=AUTHOR, date=WHEN)
    assert revisions(data) == []
    assert read_docx(data)[0] == exported(OLD)


def test_from_nothing_everything_is_inserted_and_rejecting_leaves_nothing():
    data = redline_docx([], NEW, author=AUTHOR, date=WHEN)
    assert accepted(data) == exported(NEW)
    assert rejected(data) == []
    data = redline_docx(NEW, [], author=AUTHOR, date=WHEN)
    assert accepted(data) == [] and rejected(data) == exported(NEW)


def test_segments_that_do_not_give_back_both_texts_fall_back_to_delete_and_insert():
    old, new = para("De kat zit op de mat."), para("De hond ligt op de mat.")
    data = write_redline_docx([RedlineBlock("changed", old=old, new=new, segments=[("equal", "iets anders")])],
                              author=AUTHOR, date=WHEN)
    assert accepted(data) == exported([new]) and rejected(data) == exported([old])
    assert texts(document_xml(data), W + "del") == ["De kat zit op de mat."]


def test_a_block_that_changes_between_table_and_paragraph_is_deleted_and_inserted():
    old, new = para("Bedrag 100"), table(["Bedrag", "100"])
    data = write_redline_docx([RedlineBlock("changed", old=old, new=new)], author=AUTHOR, date=WHEN)
    assert accepted(data) == exported([new]) and rejected(data) == exported([old])


def test_notes_headers_and_footers_are_left_out_of_the_redline():
    note = {"type": "note", "kind": "footnote", "label": "1", "note": "fn1", "blocks": [para("Zie ook.")]}
    data = write_redline_docx([RedlineBlock("equal", old=para("Een."), new=para("Een.")),
                               RedlineBlock("inserted", new=note),
                               RedlineBlock("changed", old=para("Zie ook."), new=note)], author=AUTHOR, date=WHEN)
    assert accepted(data) == exported([para("Een.")])
    assert rejected(data) == exported([para("Een."), para("Zie ook.")])


def test_unknown_status_is_refused():
    with pytest.raises(ValueError):
        write_redline_docx([RedlineBlock("moved", old=para("x"), new=para("x"))], author=AUTHOR, date=WHEN)


LABELS = [["1.", "2.", "3.", "4."], ["a.", "b.", "c."], ["i.", "ii.", "iii."], ["2.1", "2.2"], ["(a)", "(b)"],
          ["Artikel 7"], ["•"], ["A.", "B."]]


def random_block(chance: random.Random) -> dict:
    roll = chance.random()
    if roll < 0.15:
        return para(chance.choice(["Alinea een.", "Tussendoor.", "Slot hier."]) + str(chance.randrange(4)))
    if roll < 0.2:
        return heading(chance.randint(1, 3), f"Kop {chance.randrange(4)}")
    if roll < 0.25:
        return {"type": "table", "rows": [[cell(item(0, "1.", "in cel"))], [cell(para(str(chance.randrange(3))))]]}
    label = chance.choice(chance.choice(LABELS))
    return item(chance.choice([0, 0, 0, 1, 1, 2]), label, f"punt {chance.randrange(20)}")


def test_random_edits_of_lists_and_tables_accept_and_reject_exactly():
    chance = random.Random(20261122)
    for _ in range(20):
        old = [random_block(chance) for _ in range(chance.randint(3, 20))]
        new = list(old)
        for _ in range(chance.randint(1, 6)):
            k = chance.randrange(len(new) + 1)
            action = chance.random()
            if action < 0.4 or not new:
                new.insert(k, random_block(chance))
            elif action < 0.7:
                del new[min(k, len(new) - 1)]
            else:
                new[min(k, len(new) - 1)] = random_block(chance)

        data = redline_docx(old, new, author=AUTHOR, date=WHEN)

        assert accepted(data) == exported(new)
        assert rejected(data) == exported(old)


# Real version pairs ----------------------------------------------------------------------------

@pytest.mark.parametrize("pair", [WBP, WGR], ids=["wbp", "wgr"])
def test_real_dutch_version_pairs_accept_and_reject_exactly(pair):
    old, new = corpus_paragraphs(pair[0]), corpus_paragraphs(pair[1])

    data = redline_docx(old, new, author=AUTHOR, date=WHEN)

    assert shape(accepted(data)) == shape(new)
    assert shape(rejected(data)) == shape(old)
    assert shape(read_docx(data)[0]) == shape(new)


def test_wbp_is_seventeen_inserted_paragraphs_and_nothing_deleted():
    old, new = corpus_paragraphs(WBP[0]), corpus_paragraphs(WBP[1])
    root = document_xml(redline_docx(old, new, author=AUTHOR, date=WHEN))
    assert len(root.findall(f".//{W}pPr/{W}rPr/{W}ins")) == 17
    assert root.find(f".//{W}del") is None


def test_generated_agreement_accepts_and_rejects_exactly(agreement):
    v1 = import_upload("v1.docx", (agreement / "v1.docx").read_bytes()).blocks
    v2 = import_upload("v2.docx", (agreement / "v2.docx").read_bytes()).blocks

    data = redline_docx(v1, v2, author=AUTHOR, date=WHEN)

    assert shape(accepted(data)) == shape(v2)
    assert shape(rejected(data)) == shape(v1)
    root = document_xml(data)
    assert root.find(f".//{W}trPr/{W}del") is not None, "the generator's changed table is tracked by row"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r.get(W + "date")) for r in revisions(data))
