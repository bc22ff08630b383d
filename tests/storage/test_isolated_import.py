"""Hostile files that pass the size checks are bounded in time and memory, in a child process."""

from __future__ import annotations

import io
import random
import time
import zipfile

import pytest

from storage.formats.importing import ImportRefused
from storage.formats.isolated_import import import_upload_isolated
from tests.conftest import CORPUS

CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                 'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
                 'PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                 'wordprocessingml.document.main+xml"/></Types>')
RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_with_body(body: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("word/document.xml", f'<w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>')
    return out.getvalue()


def test_an_ordinary_file_imports_as_in_process():
    data = (CORPUS / "docx" / "27_agreement-en-eula_MSDN-EULA.docx").read_bytes()
    result = import_upload_isolated("eula.docx", data)
    assert result.source_format == "docx" and len(result.blocks) > 100


def test_refusals_come_back_with_their_code():
    data = (CORPUS / "docx" / "33_edge-encrypted-password_bug53475-password-is-pass.docx").read_bytes()
    with pytest.raises(ImportRefused) as refused:
        import_upload_isolated("geheim.docx", data)
    assert refused.value.code == "encrypted"


def test_a_file_that_needs_too_much_memory_is_refused_and_the_parent_lives_on():
    # 400,000 runs of random words: it compresses like text (no zip-bomb ratio) and passes every size check,
    # but its tree needs more than the ceiling given here.
    words = random.Random(7)
    body = "<w:p>" + "".join(f"<w:r><w:t>{words.getrandbits(64):x} </w:t></w:r>" for _ in range(400_000)) + "</w:p>"
    data = docx_with_body(body)
    assert len(data) < 20 * 1024 * 1024
    with pytest.raises(ImportRefused) as refused:
        import_upload_isolated("groot.docx", data, memory_bytes=300 * 1024**2)
    assert refused.value.code == "too_complex"


def test_a_file_that_takes_too_long_is_refused_at_the_deadline():
    body = "".join(f"<w:p><w:r><w:t>alinea {i}</w:t></w:r></w:p>" for i in range(200_000))
    started = time.monotonic()
    with pytest.raises(ImportRefused) as refused:
        import_upload_isolated("lang.docx", docx_with_body(body), seconds=0.2)
    assert refused.value.code == "too_complex"
    assert time.monotonic() - started < 5
