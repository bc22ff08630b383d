"""Hostile files built by the test: external targets are never fetched, a macro part is refused by content."""

from __future__ import annotations

import io
import socket
import threading
import zipfile

import docx
import pytest

from storage.formats.importing import ImportRefused, import_upload


@pytest.fixture
def listener():
    """A local port that counts every connection made to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            connections.append(connection)
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop.set()
    thread.join(2)
    server.close()


def with_members(data: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    replace, add = replace or {}, add or {}
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info.filename)))
        for name, content in add.items():
            target.writestr(name, content)
    return out.getvalue()


def ordinary_docx(text: str = "Een gewone alinea.") -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_external_relationships_are_never_followed(listener):
    port, connections = listener
    target = f"http://127.0.0.1:{port}/"
    base = ordinary_docx("Zie de afbeelding en het sjabloon.")
    rels = zipfile.ZipFile(io.BytesIO(base)).read("word/_rels/document.xml.rels").decode()
    rels = rels.replace("</Relationships>",
                        f'<Relationship Id="rIdX1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                        f'relationships/image" Target="{target}plaatje.png" TargetMode="External"/>'
                        f'<Relationship Id="rIdX2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                        f'relationships/attachedTemplate" Target="{target}sjabloon.dotm" TargetMode="External"/>'
                        f'<Relationship Id="rIdX3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                        f'relationships/subDocument" Target="{target}deel.docx" TargetMode="External"/>'
                        "</Relationships>")
    data = with_members(base, replace={"word/_rels/document.xml.rels": rels.encode()})
    result = import_upload("extern.docx", data)
    assert [b["text"] for b in result.blocks] == ["Zie de afbeelding en het sjabloon."]
    assert connections == []


def test_a_macro_part_in_an_ordinary_docx_is_refused():
    data = with_members(ordinary_docx(), add={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0" + b"\0" * 512})
    with pytest.raises(ImportRefused) as refused:
        import_upload("onschuldig.docx", data)
    assert refused.value.code == "macro"
