"""The final version as a PDF with its approval annex, for the members who print and sign it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.models import Document
from workflows.exports import approval_annex, safe_filename, translator


def final_pdf(session: Session, document: Document, locale: str = "nl") -> tuple[str, bytes]:
    """The final version, then the annex, with the content hash and page number on every page so a loose
    printed page can be matched."""
    from storage.pdf_writer import (
        write_pdf,  # reportlab is loaded only by processes that export
    )

    version, annex = approval_annex(session, document, locale)
    footer = translator(locale)("Content hash (SHA-256): %(hash)s", hash=version.content_hash)
    data = write_pdf(version.blocks, title=document.title, annex=annex, footer=footer)
    return safe_filename(f"{document.title} definitief", ".pdf"), data
