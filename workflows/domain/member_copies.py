"""The copies a member may keep of the text they review: the version of their round as .docx and PDF, marked as
a draft of that round on its first page (and on every PDF page), and the final version once there is one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from storage.database.models import Finalisation, Round, Version
from storage.formats.docx_writer import write_docx
from storage.formats.pdf_writer import write_pdf
from workflows.domain.exports import image_bytes, safe_filename
from workflows.domain.wording import LOCALES, translator

# The draft notice's words, as extracted for translation in draft_notice below (this copy is for recognising it).
NOTICE = "Draft for review in round %(round)s (version %(version)s). This is not the final text."


def draft_notice(round_: Round, locale: str = "nl") -> str:
    """What a copy of a version under review says of itself: a draft of one round, not the final text."""
    _ = translator(locale)
    return _("Draft for review in round %(round)s (version %(version)s). This is not the final text.",
             round=round_.number, version=round_.version.number)


def is_draft_notice(text: str) -> bool:
    """Whether a paragraph is the draft notice of a member's copy (of any round, in any language): a member who
    edits their copy and sends it back did not write it."""
    for locale in LOCALES:
        pattern = re.escape(translator(locale)(NOTICE, round="\x00", version="\x01"))
        if re.fullmatch(pattern.replace("\x00", "[0-9]+").replace("\x01", "[0-9]+"), text.strip()):
            return True
    return False


def draft_filename(round_: Round, suffix: str, locale: str = "nl") -> str:
    _ = translator(locale)
    stem = _("%(title)s v%(version)s draft round %(round)s", title=round_.document.title,
             version=round_.version.number, round=round_.number)
    return safe_filename(stem, suffix)


def _marked(round_: Round, locale: str) -> list[dict]:
    """The round's version with the draft notice, in bold, as its first paragraph."""
    notice = draft_notice(round_, locale)
    return [{"type": "paragraph", "text": notice, "runs": [{"text": notice, "bold": True}]}, *round_.version.blocks]


def draft_docx(round_: Round, locale: str = "nl") -> tuple[str, bytes]:
    """The version of the round as Word, its first paragraph saying it is a draft of this round."""
    data = write_docx(_marked(round_, locale), title=f"{round_.document.title} — {draft_notice(round_, locale)}",
                      images=image_bytes(object_session(round_), round_.version.blocks))
    return draft_filename(round_, ".docx", locale), data


def draft_pdf(round_: Round, locale: str = "nl") -> tuple[str, bytes]:
    """The version of the round as PDF: the draft notice opens the text and stands at the foot of every page, so a
    loose printed page is never taken for the final text."""
    notice = draft_notice(round_, locale)
    data = write_pdf(_marked(round_, locale), title=round_.document.title, footer=notice)
    return draft_filename(round_, ".pdf", locale), data


@dataclass(frozen=True)
class Final:
    """The version a document was made final with, and when."""

    version: Version
    finalised_at: datetime


def final_version(session: Session, document_id: int) -> Final | None:
    """The final version of the document; None while it is not final."""
    row = session.execute(select(Version, Finalisation.finalised_at)
                          .join(Finalisation, Finalisation.version_id == Version.id)
                          .where(Finalisation.document_id == document_id)).first()
    return Final(version=row[0], finalised_at=row[1]) if row else None
