"""Documents leaving Akkoord: a version as .docx, and the final version with its approval annex."""

from __future__ import annotations

import re

from babel.support import Translations
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Document, Finalisation, Round, Verdict, Version
from workflows.emails import TRANSLATIONS, format_when
from workflows.finalising import standings

VERDICT_WORDS = {"akkoord": "akkoord", "akkoord_met_opmerkingen": "akkoord met opmerkingen", "niet_akkoord": "niet akkoord"}


def safe_filename(title: str, suffix: str) -> str:
    stem = re.sub(r"[^\w\- ]+", "", title).strip().replace(" ", "_")[:80] or "document"
    return f"{stem}{suffix}"


def version_docx(session: Session, version: Version) -> tuple[str, bytes]:
    from storage.docx_writer import write_docx  # python-docx is loaded only by processes that export

    document = session.get(Document, version.document_id)
    return safe_filename(f"{document.title} v{version.number}", ".docx"), write_docx(version.blocks, title=None)


def final_docx(session: Session, document: Document, locale: str = "nl") -> tuple[str, bytes]:
    """The final version with an annex: every voter, organisation, verdict, date and round, and the content hash."""
    from storage.docx_writer import write_docx

    catalogue = Translations.load(str(TRANSLATIONS), [locale])

    def _(message: str, **params) -> str:
        return catalogue.gettext(message) % params if params else catalogue.gettext(message)

    finalisation = session.scalar(select(Finalisation).where(Finalisation.document_id == document.id))
    version = session.get(Version, finalisation.version_id)
    header = [_("Name"), _("Organisation"), _("Verdict"), _("Date"), _("Round")]
    rows = [header]
    for standing in standings(session, document, version):
        verdict: Verdict = standing.verdict
        round_ = session.get(Round, verdict.round_id)
        rows.append([verdict.person_name, verdict.organisation_name, VERDICT_WORDS[verdict.value],
                     format_when(verdict.created_at, locale), str(round_.number)])
    table = {"type": "table", "rows": [
        [{"blocks": [{"type": "paragraph", "text": cell}], "colspan": 1, "rowspan": 1} for cell in row] for row in rows
    ]}
    annex_blocks = [
        {"type": "paragraph", "text": _("Version %(number)s of “%(title)s” was made final on %(when)s.",
                                         number=version.number, title=document.title,
                                         when=format_when(finalisation.finalised_at, locale))},
        {"type": "paragraph", "text": _("Content hash (SHA-256): %(hash)s", hash=version.content_hash)},
        table,
    ]
    data = write_docx(version.blocks, title=None, annex=[(_("Approval annex"), annex_blocks)])
    return safe_filename(f"{document.title} definitief", ".docx"), data
