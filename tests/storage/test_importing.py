"""import_upload: every corpus file is imported or refused with its own code; hostile uploads are refused."""

from __future__ import annotations

import io
import re
import struct
import time
import warnings
import zipfile

import pytest

from storage.formats.importing import MAX_UNPACKED_BYTES, MAX_UPLOAD_BYTES, ImportRefused, import_upload

# What the corpus manifest's notes ask of each edge case (the others must import).
# 15 and 20 hold no visible text (all deleted; one picture) and 31/34 one empty paragraph, so there is
# nothing to comment on: `empty`. 39 is refused rather than imported as either of its two texts,
# because readers disagree on which part is word/document.xml and members would approve the other one.
REFUSED = {
    15: "empty",
    20: "empty",
    31: "empty",
    32: "corrupt",
    33: "encrypted",
    34: "empty",
    36: "macro",
    37: "strict",
    38: "dtd",
    39: "ambiguous_zip",
    40: "template",
}


def refusal(filename: str, data: bytes) -> ImportRefused:
    with pytest.raises(ImportRefused) as caught:
        import_upload(filename, data)
    return caught.value


@pytest.mark.parametrize("number", range(1, 41))
def test_every_corpus_file_imports_or_is_refused_with_its_code(number, corpus_file):
    name, data = corpus_file(number)
    if number in REFUSED:
        assert refusal(name, data).code == REFUSED[number]
        return
    result = import_upload(name, data)
    assert result.source_format == "docx"
    assert result.blocks
    assert [block["id"] for block in result.blocks] == [f"b{n}" for n in range(1, len(result.blocks) + 1)]


def test_corpus_texts_import_one_block_per_paragraph(corpus, manifest):
    for path in sorted((corpus / "text").iterdir()):
        result = import_upload(path.name, path.read_bytes())
        expected = int(re.search(r"(\d+) paragraphs", manifest[f"text/{path.name}"]["expected_notes"]).group(1))
        assert result.source_format == "txt"
        assert len(result.blocks) == expected, path.name
        assert result.findings == {}


def test_findings_tell_the_editor_about_changes_comments_and_pictures(corpus_file):
    assert import_upload(*corpus_file(12)).findings == {"tracked_changes": 11, "word_comments": 20}
    assert import_upload(*corpus_file(11)).findings == {"word_comments": 8}
    assert import_upload(*corpus_file(19)).findings == {"images": 5}
    assert import_upload(*corpus_file(9)).findings == {"footnotes": 2}
    assert import_upload(*corpus_file(1)).findings == {}


def test_word_comments_come_with_the_import_apart_from_the_text(corpus_file):
    result = import_upload(*corpus_file(11))
    assert len(result.word_comments) == 8
    assert {c["author"] for c in result.word_comments} == {"Randy Bartels", "Shay Hill"}
    assert [c["parent"] for c in result.word_comments] == [None, 0, 0, None, None, 4, 4, None]
    passage = result.blocks[result.word_comments[0]["block_index"]]
    assert passage["id"] == "b1" and result.word_comments[0]["quote"] == passage["text"]
    assert all("COMMENT" not in block["text"] for block in result.blocks)
    assert import_upload(*corpus_file(1)).word_comments == []
    assert import_upload("plan.txt", b"Tekst").word_comments == []


def test_notes_and_headers_get_ids_after_the_body(corpus_file):
    result = import_upload(*corpus_file(9))
    assert [(b["id"], b["type"], b.get("note")) for b in result.blocks] == [
        ("b1", "paragraph", None), ("b2", "note", "fn1"), ("b3", "note", "fn2")]


def test_a_header_alone_is_nothing_to_agree_on(make_docx):
    header = ('<w:hdr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
              "<w:p><w:r><w:t>Concept</w:t></w:r></w:p></w:hdr>")
    rels = ('<Relationship Id="rH" Target="header1.xml" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/header"/>')
    data = make_docx('<w:p/><w:sectPr><w:headerReference w:type="default" r:id="rH"/></w:sectPr>', rels=rels,
                     parts={"word/header1.xml": header})
    assert refusal("kop.docx", data).code == "empty"


def test_macro_and_template_are_found_by_content_not_only_by_name(corpus_file):
    assert refusal("renamed.docx", corpus_file(36)[1]).code == "macro"
    assert refusal("renamed.docx", corpus_file(40)[1]).code == "template"
    assert refusal("plan.docm", b"anything").code == "macro"
    assert refusal("plan.dotx", b"anything").code == "template"


def test_oversize_upload_is_refused_before_reading(corpus_file):
    for name in ("big.docx", "big.txt"):
        refused = refusal(name, b"a" * (MAX_UPLOAD_BYTES + 1))
        assert (refused.code, refused.params) == ("too_large", {"limit_mb": 20})


def test_zip_member_that_inflates_a_thousandfold_is_refused_quickly():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (50 * 1024 * 1024))
    started = time.perf_counter()
    refused = refusal("bomb.docx", buffer.getvalue())
    assert refused.code == "unpacked_too_large"
    assert refused.params == {"limit_mb": MAX_UNPACKED_BYTES // (1024 * 1024)}
    assert time.perf_counter() - started < 0.5


def _declare_sizes(data: bytes, compressed: int, uncompressed: int) -> bytes:
    """Rewrite the central directory so each member declares these sizes (the data stays small)."""
    data = bytearray(data)
    for match in re.finditer(b"PK\x01\x02", bytes(data)):
        struct.pack_into("<II", data, match.start() + 20, compressed, uncompressed)
    return bytes(data)


def test_declared_sizes_over_the_limit_are_refused_from_the_directory_alone(make_docx):
    mb = 1024 * 1024
    lying = _declare_sizes(make_docx("<w:p><w:r><w:t>x</w:t></w:r></w:p>"), 100, 300 * mb)
    started = time.perf_counter()
    assert refusal("lying.docx", lying).code == "unpacked_too_large"
    assert time.perf_counter() - started < 0.5
    # Ratio 50 each, but four members of 60 MB add up to more than 200 MB.
    sum_over = _declare_sizes(make_docx("<w:p/>"), int(1.2 * mb), 60 * mb)
    assert refusal("sum.docx", sum_over).code == "unpacked_too_large"


@pytest.mark.parametrize(
    ("filename", "data", "code"),
    [
        ("photo.docx", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "wrong_type"),
        ("scan.docx", b"%PDF-1.7\n" + b"x" * 100, "wrong_type"),
        ("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "wrong_type"),
        ("notes.txt", b"PK\x03\x04" + b"\0" * 100, "wrong_type"),
        ("photo.txt", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "wrong_type"),
    ],
)
def test_content_that_does_not_match_the_extension_is_wrong_type(filename, data, code):
    refused = refusal(filename, data)
    assert refused.code == code
    assert refused.params == {"extension": filename.rsplit(".", 1)[1]}


@pytest.mark.parametrize(("filename", "extension"), [("plan.pdf", "pdf"), ("plan.doc", "doc"), ("plan", ""),
                                                     ("C:\\Users\\jan\\plan.ODT", "odt")])
def test_other_extensions_are_wrong_type(filename, extension):
    refused = refusal(filename, b"some text")
    assert (refused.code, refused.params) == ("wrong_type", {"extension": extension})


def test_docx_extension_is_case_insensitive(corpus_file):
    assert import_upload("PLAN.DOCX", corpus_file(1)[1]).source_format == "docx"


def test_truncated_or_broken_packages_are_corrupt(make_docx, swap_member):
    good = make_docx("<w:p><w:r><w:t>tekst</w:t></w:r></w:p>")
    assert refusal("a.docx", good[: len(good) // 2]).code == "corrupt"
    broken_xml = swap_member(good, "word/document.xml", b"<w:document><w:body><w:p>")
    assert refusal("b.docx", broken_xml).code == "corrupt"
    no_main = swap_member(good, "_rels/.rels", b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>')
    assert refusal("c.docx", no_main).code == "corrupt"


def test_doctype_anywhere_in_the_package_is_refused(make_docx, swap_member):
    good = make_docx("<w:p><w:r><w:t>tekst</w:t></w:r></w:p>")
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        document = archive.read("word/document.xml")
    declaration = b'<!DOCTYPE d [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    with_doctype = document.replace(b"?>", b"?>" + declaration, 1)
    assert refusal("xxe.docx", swap_member(good, "word/document.xml", with_doctype)).code == "dtd"
    unused_part = make_docx("<w:p><w:r><w:t>tekst</w:t></w:r></w:p>",
                            parts={"docProps/app.xml": b"<?xml version='1.0'?>" + declaration + b"<Properties/>"})
    assert refusal("xxe2.docx", unused_part).code == "dtd"


def test_duplicate_names_are_ambiguous(make_docx):
    body = "<w:p><w:r><w:t>een</w:t></w:r></w:p>"
    for duplicate in ("word/document.xml", "WORD/Document.xml"):
        data = io.BytesIO(make_docx(body))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate we want
            with zipfile.ZipFile(data, "a") as archive:
                archive.writestr(duplicate, b"<other/>")
        assert refusal("dup.docx", data.getvalue()).code == "ambiguous_zip"


def test_local_header_name_differing_from_the_directory_is_ambiguous(make_docx):
    data = make_docx("<w:p><w:r><w:t>een</w:t></w:r></w:p>")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        name_at = archive.getinfo("word/document.xml").header_offset + 30
    tampered = data[:name_at] + b"word/documenx.xml" + data[name_at + len("word/document.xml") :]
    assert refusal("swap.docx", tampered).code == "ambiguous_zip"


def test_markdown_and_text_uploads(corpus):
    result = import_upload("plan.md", b"# Visie\n\nDe **kerngroep** besluit.\n")
    assert result.source_format == "md"
    assert [block["type"] for block in result.blocks] == ["heading", "paragraph"]
    result = import_upload("plan.txt", "\ufeffEerste alinea\r\n\r\nTweede".encode("utf-8"))
    assert [block["text"] for block in result.blocks] == ["Eerste alinea", "Tweede"]


@pytest.mark.parametrize("data", ["café".encode("cp1252"), "tekst".encode("utf-16")])
def test_text_that_is_not_utf8_is_refused(data):
    assert refusal("notes.txt", data).code == "not_utf8"


@pytest.mark.parametrize(("filename", "data"), [("a.txt", b" \n\r\n\t "), ("a.md", b"---\n\n"), ("a.txt", b"")])
def test_uploads_without_text_are_empty(filename, data):
    assert refusal(filename, data).code == "empty"


def test_refusal_carries_code_and_params():
    refused = ImportRefused("too_large", limit_mb=20)
    assert (refused.code, refused.params, str(refused)) == ("too_large", {"limit_mb": 20}, "too_large {'limit_mb': 20}")
