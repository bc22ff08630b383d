"""Documents and their versions: create, upload a new immutable version, supersede the open round."""

from __future__ import annotations

from types import EllipsisType

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.blocks import content_hash
from storage.database.engine import lock
from storage.database.models import (
    DOCUMENT_KINDS,
    Document,
    Network,
    Person,
    Version,
    utcnow,
)
from storage.formats import importing
from storage.formats.isolated_import import import_upload_isolated
from workflows import audit
from workflows.domain import comments, inputs, rounds
from workflows.domain.exports import store_blob
from workflows.domain.versions import WORD_COMMENTS, latest_version
from workflows.errors import AlreadyFinal, InvalidInput, UploadRefused
from workflows.text import passages


def create_document(session: Session, network: Network, *, kind: str, title: str, actor: Person) -> Document:
    title = inputs.single_line(title, "title")
    if kind not in DOCUMENT_KINDS:
        raise InvalidInput("unknown_kind")
    if not title:
        raise InvalidInput("title_required")
    document = Document(network_id=network.id, kind=kind, title=title, created_by_id=actor.id, status="draft")
    session.add(document)
    session.flush()
    audit.record(session, network.id, "document_created", actor_id=actor.id, document_id=document.id,
                 document_kind=kind, title=title)
    return document


def upload_version(session: Session, document: Document, *, filename: str, data: bytes, change_note: str,
                   actor: Person, addresses: list[int] = (), confirmed: int | None | EllipsisType = ...) -> Version:
    """Import the file as the next version; an open round on an older version is superseded (invariant 3).
    `addresses`: the ids of earlier comments this version says it addresses; `confirmed`: the open round the
    uploader agreed to close (`rounds.supersede_open_round`)."""
    change_note = inputs.text(change_note, "change_note")
    try:
        imported = import_upload_isolated(filename, data)
    except importing.ImportRefused as refused:
        raise UploadRefused(refused.code, **refused.params) from None
    document = lock(session, Document, document.id)
    if document.status == "final":
        raise AlreadyFinal()
    sha256 = store_blob(session, data)
    for picture in imported.images.values():  # image blocks name them by sha256; exports put them back
        store_blob(session, picture)
    number = (session.scalar(select(func.max(Version.number)).where(Version.document_id == document.id)) or 0) + 1
    blocks = _with_stable_ids(session, document, imported.blocks)
    findings = dict(imported.findings)
    if imported.word_comments:
        findings[WORD_COMMENTS] = [_word_comment(c, blocks) for c in imported.word_comments]
    version = Version(
        document_id=document.id, number=number, blocks=blocks, content_hash=content_hash(blocks),
        source_format=imported.source_format, original_filename=filename[:255], original_sha256=sha256,
        findings=findings, change_note=change_note, author_id=actor.id, created_at=utcnow(),
    )
    session.add(version)
    session.flush()
    addressed = comments.record_addressed(session, version, list(addresses))
    audit.record(session, document.network_id, "version_uploaded", actor_id=actor.id, document_id=document.id,
                 version_id=version.id, number=number, content_hash=version.content_hash, filename=filename,
                 addresses=addressed)

    rounds.supersede_open_round(session, document, by=version, actor=actor, confirmed=confirmed)
    return version


def _word_comment(comment: dict, blocks: list[dict]) -> dict:
    index = comment.get("block_index")
    block_id = blocks[index]["id"] if index is not None and 0 <= index < len(blocks) else None
    return {"author": comment.get("author", ""), "date": comment.get("date", ""), "text": comment.get("text", ""),
            "quote": comment.get("quote", ""), "block_id": block_id, "parent": comment.get("parent")}


def _with_stable_ids(session: Session, document: Document, blocks: list[dict]) -> list[dict]:
    """An unchanged, edited or moved passage keeps the id it had in the previous version (so comments can
    follow it); a new passage gets an id no earlier version of this document used. Runs under the
    document lock, so two uploads cannot hand out the same id."""
    previous = latest_version(session, document.id)
    if previous is None:
        return blocks
    taken = {block["id"] for version_blocks in session.scalars(
        select(Version.blocks).where(Version.document_id == document.id)) for block in version_blocks}
    return passages.carry_ids(previous.blocks, blocks, taken=taken)

