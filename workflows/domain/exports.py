"""Documents leaving Akkoord: a version as .docx, text or PDF, a redline, and the final version with its approval
annex (made once, when the document is finalised, and served byte for byte from then on)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.blocks import image_blobs, plain_text
from storage.database.engine import insert_unless_present
from storage.database.models import AuditEvent, Blob, Document, Finalisation, Round, Verdict, Version
from storage.formats.docx_redline import RedlineBlock, write_redline_docx
from storage.formats.docx_writer import write_docx
from storage.formats.pdf_writer import write_pdf
from workflows.domain.wording import VERDICT_WORDS, format_when, kenmerk, translator
from workflows.errors import InvalidInput
from workflows.text.redlines import Redline, redline

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = "application/pdf"


def safe_filename(title: str, suffix: str) -> str:
    stem = re.sub(r"[^\w\- ]+", "", title).strip().replace(" ", "_")[:80] or "document"
    return f"{stem}{suffix}"


# A version ----------------------------------------------------------------------------------------------------


def version_docx(session: Session, version: Version) -> tuple[str, bytes]:
    document = session.get(Document, version.document_id)
    data = write_docx(version.blocks, title=None, images=image_bytes(session, version.blocks))
    return safe_filename(f"{document.title} v{version.number}", ".docx"), data


def image_bytes(session: Session, blocks: list[dict]) -> dict[str, bytes]:
    """The pictures a version's image blocks name, by sha256, for writing them back into Word."""
    hashes = image_blobs(blocks)
    if not hashes:
        return {}
    return dict(session.execute(select(Blob.sha256, Blob.data).where(Blob.sha256.in_(hashes))).all())


def version_text(version: Version) -> str:
    return plain_text(version.blocks)


def version_pdf(session: Session, version: Version, locale: str = "nl") -> tuple[str, bytes]:
    """Any version as a PDF (a draft too), with its number and reference (kenmerk) on every page: not evidence, so
    not the full hash, which the final version's annex and the dossier carry."""
    document = session.get(Document, version.document_id)
    _ = translator(locale)
    footer = _("Version %(number)s, reference %(kenmerk)s", number=version.number, kenmerk=kenmerk(version.content_hash))
    data = write_pdf(version.blocks, title=document.title, footer=footer)
    return safe_filename(f"{document.title} v{version.number}", ".pdf"), data


# Two versions ---------------------------------------------------------------------------------------------------


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


def redline_docx(old_blocks: list[dict], new_blocks: list[dict], *, author: str, date: datetime,
                 title: str | None = None) -> bytes:
    """The newer version with every change from the older one tracked, by `author` at `date`:
    in Word, Accept all gives `new_blocks` and Reject all gives `old_blocks`."""
    # Rows name their blocks by id; numbering copies by position keeps that exact even for
    # blocks that were never given ids.
    old = [{**block, "id": f"b{number}"} for number, block in enumerate(old_blocks, start=1)]
    new = [{**block, "id": f"b{number}"} for number, block in enumerate(new_blocks, start=1)]
    old_by_id = {block["id"]: block for block in old}
    new_by_id = {block["id"]: block for block in new}
    entries = [
        RedlineBlock(row.status, old=old_by_id.get(row.old_id), new=new_by_id.get(row.new_id), segments=row.segments)
        for row in redline(old, new).rows
    ]
    return write_redline_docx(entries, author=author, date=date, title=title)


# The final version ------------------------------------------------------------------------------------------------


def approval_annex(session: Session, document: Document, locale: str = "nl") -> tuple[Version, list[tuple[str, list[dict]]]]:
    """The final version and its annex: every approval recorded when it was made final (who, organisation,
    verdict, date, round, as they were then), and the content hash. Later joins and departures change nothing."""
    _ = translator(locale)
    finalisation = session.scalar(select(Finalisation).where(Finalisation.document_id == document.id))
    version = session.get(Version, finalisation.version_id)
    event = session.scalar(select(AuditEvent).where(AuditEvent.document_id == document.id,
                                                    AuditEvent.kind == "document_finalised"))
    verdict_ids = [approval["verdict_id"] for approval in event.data["approvals"]]
    verdicts = {v.id: v for v in session.scalars(select(Verdict).where(Verdict.id.in_(verdict_ids)))}
    rounds = {r.id: r for r in session.scalars(select(Round).where(Round.document_id == document.id))}
    rows = [[_("Name"), _("Organisation"), _("Verdict"), _("Date"), _("Round")]]
    for verdict in (verdicts[i] for i in verdict_ids):
        rows.append([verdict.person_name, verdict.organisation_name, VERDICT_WORDS[verdict.value],
                     format_when(verdict.created_at, locale), str(rounds[verdict.round_id].number)])
    table = {"type": "table", "rows": [
        [{"blocks": [{"type": "paragraph", "text": cell}], "colspan": 1, "rowspan": 1} for cell in row] for row in rows
    ]}
    blocks = [
        {"type": "paragraph", "text": _("Version %(number)s of “%(title)s” was made final on %(when)s.",
                                        number=version.number, title=document.title,
                                        when=format_when(finalisation.finalised_at, locale))},
        {"type": "paragraph", "text": _("Content hash (SHA-256): %(hash)s", hash=version.content_hash)},
        table,
    ]
    return version, [(_("Approval annex"), blocks)]


def final_docx(session: Session, document: Document, locale: str = "nl") -> tuple[str, bytes]:
    version, annex = approval_annex(session, document, locale)
    data = write_docx(version.blocks, title=None, annex=annex, images=image_bytes(session, version.blocks))
    return safe_filename(f"{document.title} definitief", ".docx"), data


def final_pdf(session: Session, document: Document, locale: str = "nl") -> tuple[str, bytes]:
    """The final version, then the annex, with the content hash and page number on every page so a loose
    printed page can be matched."""
    version, annex = approval_annex(session, document, locale)
    footer = translator(locale)("Content hash (SHA-256): %(hash)s", hash=version.content_hash)
    data = write_pdf(version.blocks, title=document.title, annex=annex, footer=footer)
    return safe_filename(f"{document.title} definitief", ".pdf"), data


@dataclass(frozen=True)
class FinalFiles:
    docx: bytes
    pdf: bytes


def final_files(session: Session, document_id: int) -> FinalFiles:
    """The final .docx and PDF with the approval annex, in Dutch (the network's language): made once, when the
    document has been finalised (workflows.domain.finalising.store_final_files keeps them)."""
    document = session.get(Document, document_id)
    return FinalFiles(docx=final_docx(session, document, "nl")[1], pdf=final_pdf(session, document, "nl")[1])


def stored_final_file(session: Session, document: Document, kind: str) -> tuple[str, str, bytes] | None:
    """The final document's .docx or PDF exactly as made when it was finalised: (file name, type, bytes); None
    while they are being made."""
    finalisation = session.scalar(select(Finalisation).where(Finalisation.document_id == document.id))
    sha256 = finalisation.docx_sha256 if kind == "docx" else finalisation.pdf_sha256
    if sha256 is None:
        return None
    suffix, content_type = (".docx", DOCX) if kind == "docx" else (".pdf", PDF)
    return safe_filename(f"{document.title} definitief", suffix), content_type, session.get(Blob, sha256).data


def final_file_sizes(session: Session, finalisation: Finalisation) -> dict[str, int]:
    """The stored final files' sizes by kind ("docx", "pdf"), read without their bytes; empty while they are
    being made."""
    hashes = {"docx": finalisation.docx_sha256, "pdf": finalisation.pdf_sha256}
    if None in hashes.values():
        return {}
    sizes = dict(session.execute(select(Blob.sha256, Blob.size).where(Blob.sha256.in_(hashes.values()))).all())
    return {kind: sizes[sha256] for kind, sha256 in hashes.items()}


def store_blob(session: Session, data: bytes) -> str:
    """Keep bytes under their sha256 (once, also when two transactions store the same bytes at the same moment:
    the second insert is skipped, not an error); returns the hash."""
    sha256 = hashlib.sha256(data).hexdigest()
    if session.get(Blob, sha256) is None:
        insert_unless_present(session, Blob.__table__, sha256=sha256, size=len(data), data=data)
    return sha256
