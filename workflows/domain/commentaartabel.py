"""The commentaartabel of a round: every comment with who made it, on which passage, and how the project group
processed it (verwerking and antwoord), as rows and as a .docx or .xlsx download."""

from __future__ import annotations

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.blocks import APART_TYPES, block_text
from storage.database.models import Comment, Document, Membership, Organisation, Participant, Round, Version
from storage.formats.commentaartabel import DUTCH_HEADERS, ENGLISH_HEADERS, CommentRow, write_docx, write_xlsx
from workflows.domain.comments import TABLE_ORDER
from workflows.domain.exports import safe_filename
from workflows.domain.wording import DISPOSITION_WORDS, TIMEZONE
from workflows.errors import NotFound

PASSAGE_LENGTH = 120

_WORDS = {
    "nl": {
        "headers": DUTCH_HEADERS,
        "dispositions": DISPOSITION_WORDS,
        "general": "Algemeen",
        "title": "Commentaartabel — {title}",
        "subtitle": "Commentaarronde {round} op versie {version}, geopend {opened}, {end}",
        "deadline": "deadline {date}",
        "closed": "gesloten {date}",
        "filename": "Commentaartabel {title} ronde {round}",
    },
    "en": {
        "headers": ENGLISH_HEADERS,
        "dispositions": {"overgenomen": "adopted", "deels_overgenomen": "partly adopted",
                         "niet_overgenomen": "not adopted", "voor_kennisgeving": "noted"},
        "general": "General",
        "title": "Comment table — {title}",
        "subtitle": "Comment round {round} on version {version}, opened {opened}, {end}",
        "deadline": "deadline {date}",
        "closed": "closed {date}",
        "filename": "Comment table {title} round {round}",
    },
}
MIMETYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _words(locale: str) -> dict:
    return _WORDS.get(locale, _WORDS["nl"])


def _shorten(text: str, limit: int = PASSAGE_LENGTH) -> str:
    """The text on one line, cut at a word boundary near `limit` characters with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def _sections(blocks: list[dict]) -> dict[str, tuple[str | None, bool]]:
    """For each top-level block id: the text of the nearest heading at or before it in the body (None if
    there is none, and for notes, headers and footers), and whether the block is that heading."""
    found: dict[str, tuple[str | None, bool]] = {}
    heading: str | None = None
    for block in blocks:
        if block["type"] in APART_TYPES:
            found[block["id"]] = (None, False)
            continue
        if block["type"] == "heading":
            heading = _shorten(block_text(block)) or heading
            found[block["id"]] = (heading, True)
        else:
            found[block["id"]] = (heading, False)
    return found


def _passage(block_id: str | None, quote: str, sections: dict[str, tuple[str | None, bool]], general: str) -> str:
    if not block_id:
        return general
    heading, is_heading = sections.get(block_id, (None, False))
    quoted = _shorten(quote)
    if is_heading or not quoted:
        return heading or quoted
    if heading:
        return f"{heading}\n“{quoted}”"
    return f"“{quoted}”"


def rows_for_round(session: Session, round_id: int, locale: str = "nl") -> list[CommentRow]:
    """Every comment of the round in the order given, numbered from 1: name, organisation, passage (the section's
    heading and the quoted text, or "Algemeen"), comment, disposition in words, answer."""
    words = _words(locale)
    query = (
        # The name the round's network knows the person by: the membership they took part with.
        select(Comment.block_id, Comment.quote, Comment.body, Comment.disposition, Comment.answer,
               Comment.version_id, Membership.name, Organisation.name)
        .select_from(Comment)
        .join(Participant, Participant.id == Comment.participant_id)
        .join(Membership, Membership.id == Participant.membership_id)
        .outerjoin(Organisation, Organisation.id == Membership.organisation_id)
        .where(Comment.round_id == round_id, Comment.parent_id.is_(None))
        .order_by(*TABLE_ORDER)
    )
    found = session.execute(query).all()
    sections: dict[int, dict] = {}
    for version_id in {row.version_id for row in found if row.block_id}:
        blocks = session.scalar(select(Version.blocks).where(Version.id == version_id))
        sections[version_id] = _sections(blocks or [])
    rows = []
    for number, (block_id, quote, body, disposition, answer, version_id, person, organisation) in enumerate(found, 1):
        rows.append(CommentRow(
            number=number,
            person=person,
            organisation=organisation or "",
            passage=_passage(block_id, quote, sections.get(version_id, {}), words["general"]),
            comment=body,
            disposition=words["dispositions"].get(disposition, disposition or ""),
            answer=answer or "",
        ))
    return rows


def export(session: Session, round_id: int, fmt: str, locale: str = "nl") -> tuple[str, str, bytes]:
    """The commentaartabel as (filename, mimetype, bytes); fmt is "docx" or "xlsx"."""
    if fmt not in MIMETYPES:
        raise ValueError(f"unknown format {fmt!r}")
    round_ = session.get(Round, round_id)
    if round_ is None:
        raise NotFound()
    words = _words(locale)
    document = session.get(Document, round_.document_id)
    version_number = session.scalar(select(Version.number).where(Version.id == round_.version_id))
    end = words["closed"] if round_.closed_at else words["deadline"]
    title = words["title"].format(title=document.title)
    subtitle = words["subtitle"].format(
        round=round_.number, version=version_number, opened=_date(round_.opened_at, locale),
        end=end.format(date=_date(round_.closed_at or round_.deadline, locale)))
    rows = rows_for_round(session, round_id, locale)
    writer = write_docx if fmt == "docx" else write_xlsx
    data = writer(title, subtitle, rows, words["headers"])
    filename = safe_filename(words["filename"].format(title=document.title, round=round_.number), f".{fmt}")
    return filename, MIMETYPES[fmt], data


def _date(value, locale: str) -> str:
    return format_date(value.astimezone(TIMEZONE), "d MMMM y", locale=locale if locale in _WORDS else "nl")
