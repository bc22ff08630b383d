"""A document's versions, newest first: what every rule about rounds, comments and finalising reads."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.database.models import Version

WORD_COMMENTS = "word_comment_list"  # the Word comments themselves, kept with the version's findings


def latest_version(session: Session, document_id: int) -> Version | None:
    return session.scalar(
        select(Version).where(Version.document_id == document_id).order_by(Version.number.desc()).limit(1)
    )


def versions_of(session: Session, document_id: int) -> list[Version]:
    return list(session.scalars(
        select(Version).where(Version.document_id == document_id).order_by(Version.number.desc())
    ))
