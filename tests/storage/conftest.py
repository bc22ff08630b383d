"""Fixtures for the storage tests: the shared corpus, a generated agreement and hand-built packages."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from storage.formats.docx_reader import read_docx

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
GENERATOR = CORPUS.parent / "tools" / "gen_agreement.py"

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="{main}"/>'
    '<Override PartName="/word/numbering.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml"/>'
    "</Types>"
)
MAIN_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{R_NS}/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)


@pytest.fixture(scope="session")
def corpus() -> Path:
    assert CORPUS.is_dir(), f"the shared corpus is missing at {CORPUS}"
    return CORPUS


@pytest.fixture(scope="session")
def manifest(corpus) -> dict[str, dict]:
    with (corpus / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        return {row["path"]: row for row in csv.DictReader(handle, delimiter="\t")}


@pytest.fixture(scope="session")
def corpus_file(corpus):
    """The bytes and name of a corpus .docx by its number, e.g. corpus_file(5)."""

    def find(number: int) -> tuple[str, bytes]:
        (path,) = (corpus / "docx").glob(f"{number:02d}_*")
        return path.name, path.read_bytes()

    return find


@pytest.fixture(scope="session")
def read_corpus(corpus_file):
    def read(number: int) -> tuple[list[dict], dict]:
        return read_docx(corpus_file(number)[1])

    return read


@pytest.fixture(scope="session")
def agreement(tmp_path_factory) -> Path:
    """A two-chapter agreement from the shared generator: v1.docx, v1_fragmented.docx, model_v1.json."""
    folder = tmp_path_factory.mktemp("agreement")
    subprocess.run([sys.executable, str(GENERATOR), str(folder), "--chapters", "2"], check=True,
                   capture_output=True)
    return folder


@pytest.fixture(scope="session")
def agreement_model(agreement) -> list[dict]:
    return json.loads((agreement / "model_v1.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def make_docx():
    return build_docx


@pytest.fixture(scope="session")
def swap_member():
    return replace_member


def build_docx(body: str, *, parts: dict[str, str | bytes] | None = None, rels: str = "",
               main_content_type: str = MAIN_CT) -> bytes:
    """A minimal package around a w:body's inner XML; `rels` are Relationship elements of the main part."""
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{W_NS}" xmlns:r="{R_NS}" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
        'xmlns:v="urn:schemas-microsoft-com:vml">'
        f"<w:body>{body}</w:body></w:document>"
    )
    members = {
        "[Content_Types].xml": CONTENT_TYPES.format(main=main_content_type),
        "_rels/.rels": PACKAGE_RELS,
        "word/document.xml": document,
        "word/_rels/document.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
            "</Relationships>"
        ),
        **(parts or {}),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def replace_member(data: bytes, name: str, content: bytes) -> bytes:
    """A copy of a package with one member's bytes replaced."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, content if info.filename == name else source.read(info.filename))
    return buffer.getvalue()
