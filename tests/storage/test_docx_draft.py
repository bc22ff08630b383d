"""The draft next version: a version's .docx with text changes as Word tracked changes, each by its author.
Accept all gives the version with every change applied; Reject all gives the version as it is."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta, timezone

import docx
import pytest

from storage.blocks import assign_ids, block_text
from storage.formats.docx_draft import TEXT_TYPES, DraftRefused, TextChange, apply_changes, write_draft_docx
from storage.formats.docx_reader import read_docx
from storage.formats.docx_writer import write_docx
from storage.formats.importing import import_upload
from tests.storage import libreoffice
from tests.storage.tracked_changes import W, accepted, document_xml, rejected

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def para(text: str, **extra) -> dict:
    return {"type": "paragraph", "text": text, **extra}


def change(block_id: str, start: int, end: int, text: str, author: str = "Anna de Vries", **extra) -> TextChange:
    return TextChange(block_id, start, end, text, author, extra.pop("date", WHEN), **extra)


def spliced(text: str, changes: list[tuple[int, int, str]]) -> str:
    """The text with the changes made, written out independently of the module under test."""
    for start, end, new in sorted(changes, key=lambda c: (c[0], c[1]), reverse=True):
        text = text[:start] + new + text[end:]
    return text


def texts(blocks: list[dict]) -> list[str]:
    return [block_text(block) for block in blocks]


def revisions(data: bytes) -> list:
    return [element for element in document_xml(data).iter(W + "ins", W + "del")]


BLOCKS = assign_ids([
    {"type": "heading", "level": 1, "text": "Artikel 4 Looptijd"},
    para("De overeenkomst geldt voor 60 maanden en wordt daarna stilzwijgend verlengd.",
         runs=[{"text": "De overeenkomst geldt voor "}, {"text": "60 maanden", "bold": True},
               {"text": " en wordt daarna stilzwijgend verlengd."}]),
    {"type": "list_item", "level": 0, "ordered": True, "label": "1.", "text": "Partijen overleggen ieder kwartaal."},
    {"type": "table", "rows": [[{"blocks": [para("Cel")], "colspan": 1, "rowspan": 1}]]},
    para("Zie de website van het netwerk.",
         runs=[{"text": "Zie de "}, {"text": "website", "href": "https://example.org/netwerk"},
               {"text": " van het netwerk."}]),
])


# Accept all and Reject all ------------------------------------------------------------------------------------


def test_accept_all_makes_the_changes_and_reject_all_keeps_the_version():
    changes = [change("b2", 27, 37, "12 maanden", author="Piet Jansen"),
               change("b2", 37, 76, "", author="Anna de Vries"),
               change("b3", 0, 0, "Alle ", author="Karin Bos")]
    data = write_draft_docx(BLOCKS, changes)

    assert texts(accepted(data)) == texts(read_docx(write_docx(apply_changes(BLOCKS, changes)))[0])
    assert texts(accepted(data))[1] == spliced(BLOCKS[1]["text"], [(27, 37, "12 maanden"), (37, 76, "")])
    assert texts(accepted(data))[2] == "Alle Partijen overleggen ieder kwartaal."
    assert texts(rejected(data)) == texts(read_docx(write_docx(BLOCKS))[0])


def test_every_change_is_its_authors_with_its_date_in_utc():
    amsterdam = timezone(timedelta(hours=1))
    data = write_draft_docx(BLOCKS, [
        change("b1", 10, 18, "Duur", author="Piet Jansen", date=datetime(2026, 12, 2, 14, 0, tzinfo=amsterdam)),
        change("b3", 26, 34, "maand", author="Karin Bos")])

    found = {(element.tag, element.get(W + "author"), element.get(W + "date")) for element in revisions(data)}
    assert found == {(W + "del", "Piet Jansen", "2026-12-02T13:00:00Z"), (W + "ins", "Piet Jansen", "2026-12-02T13:00:00Z"),
                     (W + "del", "Karin Bos", "2026-12-01T09:30:00Z"), (W + "ins", "Karin Bos", "2026-12-01T09:30:00Z")}
    ids = [element.get(W + "id") for element in revisions(data)]
    assert len(ids) == len(set(ids))


def test_the_deletion_comes_before_the_insertion_in_one_paragraph():
    data = write_draft_docx(BLOCKS, [change("b2", 27, 29, "12")])
    paragraph = next(p for p in document_xml(data).iter(W + "p")
                     if "".join(t.text for t in p.iter(W + "delText")) == "60")
    kinds = [child.tag for child in paragraph if child.tag in (W + "ins", W + "del")]
    assert kinds == [W + "del", W + "ins"]
    assert "".join(t.text for t in paragraph.iter(W + "t")) == "De overeenkomst geldt voor 12 maanden en wordt daarna stilzwijgend verlengd."


def test_a_change_over_runs_keeps_each_runs_formatting_and_the_insertion_takes_the_first():
    changes = [change("b2", 22, 29, "tot 24")]  # "voor 60" over the plain and the bold run
    data = write_draft_docx(BLOCKS, changes)

    after = accepted(data)[1]
    assert after["text"] == "De overeenkomst geldt tot 24 maanden en wordt daarna stilzwijgend verlengd."
    assert [run for run in after["runs"] if run.get("bold")] == [{"text": " maanden", "bold": True}]
    before = rejected(data)[1]
    assert before["runs"] == read_docx(write_docx(BLOCKS))[0][1]["runs"]


def test_text_typed_into_a_bold_term_is_bold():
    changes = [change("b2", 29, 29, " (zestig)")]
    after = accepted(write_draft_docx(BLOCKS, changes))[1]
    assert {"text": "60 (zestig) maanden", "bold": True} in after["runs"]
    assert apply_changes(BLOCKS, changes)[1]["runs"][1] == {"text": "60 (zestig) maanden", "bold": True}


def test_a_change_inside_a_link_stays_in_the_link():
    changes = [change("b5", 7, 14, "site")]
    after = accepted(write_draft_docx(BLOCKS, changes))[4]
    assert after["text"] == "Zie de site van het netwerk."
    assert {"text": "site", "href": "https://example.org/netwerk"} in after["runs"]
    assert rejected(write_draft_docx(BLOCKS, changes))[4]["runs"] == read_docx(write_docx(BLOCKS))[0][4]["runs"]


def test_insertions_at_one_place_keep_their_order_and_at_the_end_too():
    end = len(BLOCKS[2]["text"])
    changes = [change("b3", end, end, " Zo nodig vaker."), change("b3", 8, 8, " en partners"),
               change("b3", 8, 8, " samen")]
    after = accepted(write_draft_docx(BLOCKS, changes))
    assert after[2]["text"] == "Partijen en partners samen overleggen ieder kwartaal. Zo nodig vaker."
    assert after[2]["label"] == "1."
    assert apply_changes(BLOCKS, changes)[2]["text"] == after[2]["text"]


def test_unchanged_blocks_are_the_versions_own_export():
    data = write_draft_docx(BLOCKS, [change("b1", 0, 7, "Art.")])
    exported = read_docx(write_docx(BLOCKS))[0]
    assert accepted(data)[1:] == exported[1:]
    assert apply_changes(BLOCKS, [change("b1", 0, 7, "Art.")])[1] is BLOCKS[1]


def test_notes_headers_and_pictures_stay_in_the_draft():
    blocks = assign_ids([
        para("Zie de toelichting1 bij dit artikel.",
             runs=[{"text": "Zie de toelichting"}, {"text": "1", "note": "fn1"}, {"text": " bij dit artikel."}]),
        {"type": "note", "kind": "footnote", "label": "1", "note": "fn1", "blocks": [para("Toelichting op de termijn.")]},
        {"type": "footer", "variant": "default", "blocks": [para("Pagina ", runs=[{"text": "Pagina "},
                                                                                 {"text": "", "field": "PAGE"}])]},
    ])
    changes = [change("b1", 0, 3, "Lees"), change("b1", 19, 19, " hieronder")]
    data = write_draft_docx(blocks, changes)

    after = accepted(data)
    assert after[0]["text"] == "Lees de toelichting1 hieronder bij dit artikel."
    assert any(run.get("note") for run in after[0]["runs"])
    assert [b["type"] for b in after] == ["paragraph", "note", "footer"]
    assert after[2]["blocks"][0]["runs"][-1].get("field") == "PAGE"


def test_a_change_into_a_note_reference_is_refused():
    blocks = assign_ids([para("Termijn12 hier.", runs=[{"text": "Termijn"}, {"text": "12", "note": "fn1"},
                                                       {"text": " hier."}])])
    with pytest.raises(DraftRefused) as refused:
        write_draft_docx(blocks, [change("b1", 5, 8, "ijn")])
    assert refused.value.code == "crosses_note"
    with pytest.raises(DraftRefused):
        apply_changes(blocks, [change("b1", 8, 8, "x")])
    assert accepted(write_draft_docx(blocks, [change("b1", 7, 7, "en")]))[0]["text"].startswith("Termijnen12")


@pytest.mark.parametrize(("changes", "code"), [
    ([change("b9", 0, 1, "x")], "unknown_block"),
    ([change("b4", 0, 1, "x")], "not_text"),
    ([change("b1", 5, 100, "x")], "out_of_range"),
    ([change("b1", 3, 2, "x")], "out_of_range"),
    ([change("b2", 0, 10, "x"), change("b2", 5, 12, "y")], "overlap"),
    ([change("b2", 0, 10, "x"), change("b2", 5, 5, "y")], "overlap"),
])
def test_changes_that_do_not_fit_are_refused(changes, code):
    with pytest.raises(DraftRefused) as refused:
        write_draft_docx(BLOCKS, changes)
    assert refused.value.code == code


def test_a_comment_on_a_change_is_a_word_comment_around_it():
    changes = [change("b2", 27, 29, "12", comment="Overgenomen: de kortere termijn geeft ruimte voor evaluatie.",
                      comment_author="Projectgroep")]
    data = write_draft_docx(BLOCKS, changes)

    document = docx.Document(io.BytesIO(data))
    (comment,) = list(document.comments)
    assert comment.author == "Projectgroep"
    assert comment.text == "Overgenomen: de kortere termijn geeft ruimte voor evaluatie."
    paragraph = next(p for p in document_xml(data).iter(W + "p") if p.find(W + "commentRangeStart") is not None)
    tags = [child.tag for child in paragraph if child.tag != W + "pPr"]
    start, end = tags.index(W + "commentRangeStart"), tags.index(W + "commentRangeEnd")
    assert tags[start + 1:end] == [W + "del", W + "ins"]
    assert texts(accepted(data))[1] == spliced(BLOCKS[1]["text"], [(27, 29, "12")])


# Real text -------------------------------------------------------------------------------------------------------


def random_changes(blocks: list[dict], count: int, chance: random.Random) -> list[TextChange]:
    """`count` changes on distinct text blocks: a word replaced, deleted, or words inserted."""
    candidates = [b for b in blocks if b["type"] in TEXT_TYPES and len(b["text"]) > 20
                  and not any(run.get("note") is not None for run in b.get("runs") or [])]
    changes = []
    for number, block in enumerate(chance.sample(candidates, min(count, len(candidates)))):
        text = block["text"]
        start = chance.randrange(0, len(text) - 10)
        end = start + chance.choice((0, 4, 9))
        replacement = chance.choice(("", "twaalf maanden", " en de cliëntenraad", "uiterlijk"))
        if start == end and not replacement:
            replacement = "nieuw"
        changes.append(TextChange(block["id"], start, end, replacement, f"Lid {number % 7}", WHEN))
    return changes


def test_the_generated_agreement_with_many_changes_accepts_and_rejects_exactly(agreement):
    blocks = import_upload("v1.docx", (agreement / "v1.docx").read_bytes()).blocks
    changes = random_changes(blocks, 60, random.Random(4))
    expected = {c.block_id: spliced(next(b["text"] for b in blocks if b["id"] == c.block_id),
                                    [(c.start, c.end, c.text)]) for c in changes}

    data = write_draft_docx(blocks, changes)

    after = accepted(data)
    by_id = dict(zip([b["id"] for b in blocks], texts(after), strict=True))
    assert {block_id: by_id[block_id] for block_id in expected} == expected
    assert texts(after) == texts(read_docx(write_docx(apply_changes(blocks, changes)))[0])
    assert texts(rejected(data)) == texts(read_docx(write_docx(blocks))[0])
    assert len({e.get(W + "author") for e in revisions(data)}) == 7


@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice with its Python bridge is not installed")
def test_libreoffice_accepts_and_rejects_the_draft_exactly():
    changes = [change("b2", 27, 37, "12 maanden", author="Piet Jansen"), change("b3", 0, 0, "Alle ", author="Karin Bos"),
               change("b5", 7, 14, "site"), change("b1", 10, 18, "", author="Karin Bos")]
    found = libreoffice.accept_and_reject(write_draft_docx(BLOCKS, changes))

    def body(blocks):
        return [[block_text(inner) for row in b["rows"] for cell in row for inner in cell["blocks"]]
                if b["type"] == "table" else b["text"] for b in blocks]

    assert found["accept"] == body(apply_changes(BLOCKS, changes))
    assert found["reject"] == body(BLOCKS)


@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice is not installed")
def test_libreoffice_opens_a_draft_with_comments():
    changes = [change("b2", 27, 29, "12", comment="Overgenomen.", comment_author="Projectgroep")]
    text = libreoffice.text_of(write_draft_docx(BLOCKS, changes))
    assert "De overeenkomst geldt voor" in text and "maanden" in text
