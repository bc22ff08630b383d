"""Word's "Accept all" and "Reject all" as transforms of a package's document.xml, for the tests.

The transforms are independent of storage.formats.docx_reader (which accepts every change as it reads), so
that a test can read the rejected text too and check the accepted text two ways; `accepted` and `rejected`
read the transformed package with it.
"""

from __future__ import annotations

import io
import zipfile

from lxml import etree

from storage.formats.docx_reader import read_docx

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
DOCUMENT = "word/document.xml"
# Revision elements that only mark something (a paragraph mark, a table row); the others hold content.
MARKER_PARENTS = (W + "rPr", W + "trPr")


def accept_all(data: bytes) -> bytes:
    return _transform(data, keep=W + "ins", drop=W + "del")


def reject_all(data: bytes) -> bytes:
    return _transform(data, keep=W + "del", drop=W + "ins")


def accepted(data: bytes) -> list[dict]:
    """The blocks the reader finds after Accept all: none of the changes may be left."""
    blocks, findings = read_docx(accept_all(data))
    assert "tracked_changes" not in findings
    return blocks


def rejected(data: bytes) -> list[dict]:
    """The blocks the reader finds after Reject all."""
    blocks, findings = read_docx(reject_all(data))
    assert "tracked_changes" not in findings
    return blocks


def document_xml(data: bytes) -> etree._Element:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return etree.fromstring(package.read(DOCUMENT))


def _transform(data: bytes, *, keep: str, drop: str) -> bytes:
    root = document_xml(data)
    rejecting = keep == W + "del"

    # Rows: a dropped row goes whole (and a table left without rows with it); a kept one loses its mark.
    for marker in list(root.iter(drop, keep)):
        if marker.getparent().tag != W + "trPr":
            continue
        row = marker.getparent().getparent()
        if marker.tag == drop and row.getparent() is not None:
            table = row.getparent()
            table.remove(row)
            if table.find(W + "tr") is None:
                table.getparent().remove(table)
        else:
            marker.getparent().remove(marker)

    # Run-level revisions: dropped ones go with their content, kept ones give way to it.
    for element in list(root.iter(drop)):
        if element.getparent() is not None and element.getparent().tag not in MARKER_PARENTS:
            element.getparent().remove(element)
    for element in list(root.iter(keep)):
        parent = element.getparent()
        if parent.tag in MARKER_PARENTS:
            parent.remove(element)
            continue
        for child in list(element):
            element.addprevious(child)
        parent.remove(element)
    if rejecting:
        for text in root.iter(W + "delText"):
            text.tag = W + "t"

    # Paragraphs whose mark goes: Word joins what is left of them to the next paragraph.
    for p in list(root.iter(W + "p")):
        mark = p.find(f"{W}pPr/{W}rPr/{drop}")
        if mark is None:
            continue
        mark.getparent().remove(mark)
        following = p.getnext()
        content = [child for child in p if child.tag != W + "pPr"]
        if following is not None and following.tag == W + "p":
            at = 1 if following.find(W + "pPr") is not None else 0
            for offset, child in enumerate(content):
                following.insert(at + offset, child)
            p.getparent().remove(p)
        elif following is None and not _text_of(content):
            p.getparent().remove(p)  # at the end: nothing to join, nothing left
        # Before a table Word (and LibreOffice) cannot join: the paragraph stays, empty if nothing is left.

    # Formatting changes: accepting forgets the older properties, rejecting puts them back.
    for change in list(root.iter(W + "pPrChange", W + "rPrChange")):
        properties = change.getparent()
        properties.remove(change)
        if not rejecting:
            continue
        older = change[0] if len(change) else etree.Element(W + "pPr")
        stays = (W + "rPr", W + "sectPr") if change.tag == W + "pPrChange" else ()
        for child in list(properties):
            if child.tag not in stays:
                properties.remove(child)
        for offset, child in enumerate(older):
            properties.insert(offset, child)

    return _with_document(data, etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def _text_of(elements) -> str:
    return "".join(t.text or "" for element in elements for t in element.iter(W + "t", W + "delText"))


def _with_document(data: bytes, document: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, document if info.filename == DOCUMENT else source.read(info.filename))
    return buffer.getvalue()
