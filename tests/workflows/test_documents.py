"""Documents and versions: immutable text with a content hash (invariant 1); bad uploads change nothing (invariant 9)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from storage.blocks import content_hash
from storage.database.models import Blob, Version
from storage.formats.docx_reader import read_docx_content
from tests.conftest import CORPUS
from tests.factories import make_document, make_network
from tests.storage.test_word_fidelity import picture_file, png
from workflows.domain import documents
from workflows.domain.exports import store_blob, version_docx
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


def test_a_versions_pictures_are_kept_and_go_back_into_its_word_file(db):
    """Issue 15: an image block names its picture by sha256; the bytes are a Blob and the version's .docx has them."""
    network, coordinator, _ = make_network(db)
    document, _version = make_document(db, network, coordinator)
    picture = png(5, 5)
    version = documents.upload_version(db, document, filename="logo.docx", data=picture_file(picture),
                                       change_note="met logo", actor=coordinator)
    image = next(b for b in version.blocks if b["type"] == "image")
    assert db.get(Blob, image["blob"]).data == picture
    exported = read_docx_content(version_docx(db, version)[1])
    assert [b for b in exported.blocks if b["type"] == "image"][0]["blob"] == image["blob"]
    assert exported.images == {image["blob"]: picture}


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


def test_a_new_version_keeps_the_ids_of_unchanged_and_edited_passages(db):
    network, coordinator, _ = make_network(db)
    first = "# Titel\n\nEen alinea die blijft zoals hij is, met genoeg woorden.\n\nEen alinea die wordt aangepast door de projectgroep.\n"
    document, v1 = make_document(db, network, coordinator, text=first)
    second = ("# Titel\n\nEen nieuwe alinea vooraan.\n\nEen alinea die blijft zoals hij is, met genoeg woorden.\n\n"
              "Een alinea die flink wordt aangepast door de projectgroep.\n")
    v2 = documents.upload_version(db, document, filename="v2.md", data=second.encode(), change_note="", actor=coordinator)
    ids1 = {b["text"]: b["id"] for b in v1.blocks}
    ids2 = {b["text"]: b["id"] for b in v2.blocks}
    assert ids2["Een alinea die blijft zoals hij is, met genoeg woorden."] == ids1["Een alinea die blijft zoals hij is, met genoeg woorden."]
    assert ids2["Een alinea die flink wordt aangepast door de projectgroep."] == ids1["Een alinea die wordt aangepast door de projectgroep."]
    assert ids2["Een nieuwe alinea vooraan."] not in ids1.values()
    assert len(set(ids2.values())) == len(v2.blocks)
    assert v2.content_hash == content_hash(v2.blocks)


def test_the_same_bytes_stored_by_two_transactions_at_once_are_kept_once(app):
    """Two uploads (or two finalisations' files) of identical bytes at the same moment: the second insert waits for
    the first and is then skipped, never a duplicate-key error (on PostgreSQL the two really overlap)."""
    data = f"identical bytes {threading.get_ident()} {id(app)}".encode()
    factory = app.extensions["akkoord_sessions"]
    first = factory()
    sha256 = store_blob(first, data)
    outcome: dict = {}

    def second():
        with factory() as session:
            try:
                outcome["sha256"] = store_blob(session, data)
                session.commit()
            except Exception as error:  # noqa: BLE001 - the test reports whatever it was
                outcome["error"] = error

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)  # it waits for the first transaction (PostgreSQL: the key; SQLite: the write lock)
    first.commit()
    first.close()
    thread.join(10)
    assert outcome == {"sha256": sha256}
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Blob).where(Blob.sha256 == sha256)) == 1
