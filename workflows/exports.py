"""Documents leaving Akkoord: a version as .docx, and the final version with its approval annex."""

from __future__ import annotations

import re
from collections.abc import Callable

from babel.support import Translations
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AuditEvent, Document, Finalisation, Round, Verdict, Version
from workflows.emails import TRANSLATIONS, VERDICT_WORDS, format_when


def safe_filename(title: str, suffix: str) -> str:
    stem = re.sub(r"[^\w\- ]+", "", title).strip().replace(" ", "_")[:80] or "document"
    return f"{stem}{suffix}"


def translator(locale: str) -> Callable[..., str]:
    """gettext with %(name)s parameters, for documents made outside a request."""
    catalogue = Translations.load(str(TRANSLATIONS), [locale])

    def _(message: str, **params) -> str:
        return catalogue.gettext(message) % params if params else catalogue.gettext(message)

    return _


def version_docx(session: Session, version: Version) -> tuple[str, bytes]:
    from storage.docx_writer import (
        write_docx,  # python-docx is loaded only by processes that export
    )

    document = session.get(Document, version.document_id)
    return safe_filename(f"{document.title} v{version.number}", ".docx"), write_docx(version.blocks, title=None)


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
    from storage.docx_writer import write_docx

    version, annex = approval_annex(session, document, locale)
    return safe_filename(f"{document.title} definitief", ".docx"), write_docx(version.blocks, title=None, annex=annex)
