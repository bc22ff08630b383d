"""The final version as a PDF with its approval annex, for the members who print and sign it."""

from __future__ import annotations

from collections.abc import Callable

from babel.support import Translations
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Document, Finalisation, Round, Verdict, Version
from workflows.emails import TRANSLATIONS, format_when
from workflows.exports import VERDICT_WORDS, safe_filename
from workflows.finalising import standings


def final_pdf(session: Session, document: Document, locale: str = "nl") -> tuple[str, bytes]:
    """The final version, then the annex (every voter, organisation, verdict, date and round, and the content
    hash), with the content hash and page number on every page so a loose printed page can be matched."""
    from storage.pdf_writer import write_pdf  # reportlab is loaded only by processes that export

    _ = _translator(locale)
    version, annex = _approval_annex(session, document, _, locale)
    footer = _("Content hash (SHA-256): %(hash)s", hash=version.content_hash)
    data = write_pdf(version.blocks, title=document.title, annex=annex, footer=footer)
    return safe_filename(f"{document.title} definitief", ".pdf"), data


def _translator(locale: str) -> Callable[..., str]:
    catalogue = Translations.load(str(TRANSLATIONS), [locale])

    def _(message: str, **params) -> str:
        return catalogue.gettext(message) % params if params else catalogue.gettext(message)

    return _


def _approval_annex(session: Session, document: Document, _: Callable[..., str],
                    locale: str) -> tuple[Version, list[tuple[str, list[dict]]]]:
    """The final version and its annex section, built as workflows.exports.final_docx builds it for the .docx.

    Kept here rather than taken from exports.py until that module offers its annex on its own.
    """
    finalisation = session.scalar(select(Finalisation).where(Finalisation.document_id == document.id))
    version = session.get(Version, finalisation.version_id)
    rows = [[_("Name"), _("Organisation"), _("Verdict"), _("Date"), _("Round")]]
    for standing in standings(session, document, version):
        verdict: Verdict | None = standing.verdict
        if verdict is None:  # a member who joined after the document was made final did not decide on it
            continue
        round_ = session.get(Round, verdict.round_id)
        rows.append([verdict.person_name, verdict.organisation_name, VERDICT_WORDS[verdict.value],
                     format_when(verdict.created_at, locale), str(round_.number)])
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
