"""Documents and versions: immutable text with a content hash (invariant 1); bad uploads change nothing (invariant 9)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from storage.blocks import content_hash
from storage.models import Blob, Version
from tests.conftest import CORPUS
from tests.factories import make_document, make_network
from workflows import documents
from workflows.errors import InvalidInput, UploadRefused


def test_a_version_keeps_its_blocks_original_and_a_hash_of_its_content(db):
    network, coordinator, _ = make_network(db)
    document, version = make_document(db, network, coordinator)
    assert version.number == 1 and version.source_format == "md"
    assert version.content_hash == content_hash(version.blocks)
    assert [b["type"] for b in version.blocks][:2] == ["heading", "heading"]
    assert db.get(Blob, version.original_sha256).data.startswith(b"# Samenwerkingsovereenkomst")
    docx = (CORPUS / "docx" / "27_agreement-en-eula_MSDN-EULA.docx").read_bytes()
    second = documents.upload_version(db, document, filename="eula.docx", data=docx, change_note="Word", actor=coordinator)
    assert second.number == 2 and second.source_format == "docx" and second.content_hash != version.content_hash


def test_versions_cannot_be_changed_in_the_database(db):
    network, coordinator, _ = make_network(db)
    _document, version = make_document(db, network, coordinator)
    db.commit()
    with pytest.raises(Exception, match="immutable"):
        db.execute(text("UPDATE versions SET change_note = 'stiekem' WHERE id = :id"), {"id": version.id})
    db.rollback()
    db.expire_all()
    reloaded = db.get(Version, version.id)
    assert reloaded.content_hash == content_hash(reloaded.blocks)


@pytest.mark.parametrize("name, code", [
    ("32_edge-corrupt-truncated-zip_truncated62886.docx", "corrupt"),
    ("33_edge-encrypted-password_bug53475-password-is-pass.docx", "encrypted"),
    ("36_edge-macro-enabled_SimpleMacro.docm", "macro"),
    ("31_edge-minimal-empty_empty.docx", "empty"),
])
def test_bad_files_are_refused_and_change_nothing(db, name, code):
    network, coordinator, _ = make_network(db)
    document, _ = make_document(db, network, coordinator)
    before = db.scalar(select(func.count()).select_from(Version))
    with pytest.raises(UploadRefused) as error:
        documents.upload_version(db, document, filename=name, data=(CORPUS / "docx" / name).read_bytes(),
                                 change_note="", actor=coordinator)
    assert error.value.code == code
    assert db.scalar(select(func.count()).select_from(Version)) == before


def test_unknown_kind_and_empty_title_are_refused(db):
    network, coordinator, _ = make_network(db)
    with pytest.raises(InvalidInput):
        documents.create_document(db, network, kind="roman", title="X", actor=coordinator)
    with pytest.raises(InvalidInput):
        documents.create_document(db, network, kind="notitie", title="  ", actor=coordinator)
