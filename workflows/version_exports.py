"""A version leaving Akkoord for an API client: as plain text, as a PDF, and a redline between two versions."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.blocks import plain_text
from storage.models import Document, Version
from workflows.errors import InvalidInput
from workflows.exports import safe_filename, translator
from workflows.redlines import Redline, redline


def version_text(version: Version) -> str:
    return plain_text(version.blocks)


def version_pdf(session: Session, version: Version, locale: str = "nl") -> tuple[str, bytes]:
    """Any version as a PDF (a draft too), with its content hash on every page."""
    from storage.pdf_writer import write_pdf  # reportlab is loaded only by processes that export

    document = session.get(Document, version.document_id)
    footer = translator(locale)("Content hash (SHA-256): %(hash)s", hash=version.content_hash)
    data = write_pdf(version.blocks, title=document.title, footer=footer)
    return safe_filename(f"{document.title} v{version.number}", ".pdf"), data


def compared(versions: list[Version], old_id: int | None, new_id: int | None) -> tuple[Version, Version]:
    """The two versions to compare, from a document's versions (newest first): the ones asked for, or the
    newest and the one before it."""
    by_id = {v.id: v for v in versions}
    if (old_id is not None and old_id not in by_id) or (new_id is not None and new_id not in by_id):
        raise InvalidInput("no_earlier_version")
    new = by_id[new_id] if new_id is not None else (versions[0] if versions else None)
    old = by_id[old_id] if old_id is not None else next((v for v in versions if new and v.number < new.number), None)
    if old is None or new is None:
        raise InvalidInput("no_earlier_version")
    return old, new


def redline_of(old: Version, new: Version) -> Redline:
    return redline(old.blocks, new.blocks)
