"""The commentaartabel of a round: every comment with who made it, on which passage, and how the project group
processed it (verwerking and antwoord), as rows and as a .docx or .xlsx download. Under the per-organisation rule
each author's capacity is named and the verdicts per organisation follow the comments."""

from __future__ import annotations

from babel.dates import format_date
from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session, aliased

from storage.blocks import APART_TYPES, block_text
from storage.database.models import (
    Comment,
    Document,
    Membership,
    Organisation,
    Participant,
    Round,
    Substitution,
    Verdict,
    Version,
)
from storage.formats.commentaartabel import (
    DUTCH_HEADERS,
    ENGLISH_HEADERS,
    CommentRow,
    VerdictRow,
    VerdictTable,
    write_docx,
    write_xlsx,
)
from workflows.domain.comments import TABLE_ORDER
from workflows.domain.decisions import organisation_cells
from workflows.domain.exports import safe_filename
from workflows.domain.wording import DISPOSITION_WORDS, TIMEZONE, VERDICT_WORDS, translator
from workflows.errors import NotFound

PASSAGE_LENGTH = 120

_WORDS = {
    "nl": {
        "headers": DUTCH_HEADERS,
        "dispositions": DISPOSITION_WORDS,
        "general": "Algemeen",
        "kinds": {"general": "algemeen", "technical": "inhoudelijk", "editorial": "redactioneel"},
        "replace": "«{old}» → «{new}»", "insert": "invoegen: «{new}»", "delete": "schrappen: «{old}»",
        "taken": "Overgenomen: «{text}»",
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
        "kinds": {"general": "general", "technical": "technical", "editorial": "editorial"},
        "replace": "«{old}» → «{new}»", "insert": "insert: «{new}»", "delete": "delete: «{old}»",
        "taken": "Taken over: «{text}»",
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


def _proposal(quote: str, proposed: str | None, taken: str | None, words: dict) -> str:
    """The change a comment proposes as text ("" for one that proposes none), and below it the text the project
    group took over when that is not the proposed text (deels overgenomen)."""
    if proposed is None:
        return ""
    if not quote:
        change = words["insert"].format(new=proposed)
    elif not proposed:
        change = words["delete"].format(old=quote)
    else:
        change = words["replace"].format(old=quote, new=proposed)
    if taken is not None and taken != proposed:
        change += "\n" + words["taken"].format(text=taken)
    return change


_Absent = aliased(Membership, name="absent_membership")


def _stood_in_for():
    """Per comment (correlated), under the per-organisation rule: the name of the absent person its author was the
    substitute of when writing it (a period that had begun, not ended, not ended early), else NULL."""
    standing_in = (
        select(_Absent.name).select_from(Substitution)
        .join(_Absent, Substitution.absent_membership_id == _Absent.id)
        .where(Substitution.substitute_membership_id == Participant.membership_id,
               Substitution.starts_at <= Comment.created_at, Substitution.ends_at > Comment.created_at,
               or_(Substitution.ended_at.is_(None), Substitution.ended_at > Comment.created_at))
        .order_by(Substitution.id).limit(1)
        .correlate(Comment, Participant).scalar_subquery()
    )
    return case((Round.decision_rule == "organisation", standing_in), else_=None)


def _capacity(_, rule: str, can_vote: bool, organisation: str | None, counts: bool, representative: bool,
              stood_in_for: str | None) -> str:
    """In words, in what capacity an author wrote under the per-organisation rule: their organisation's
    representative, a substitute for an absent colleague, or a colleague ("" under the per-person rule, and for
    observers, people without an organisation and organisations without a vote)."""
    if rule != "organisation" or not can_vote or organisation is None or not counts:
        return ""
    if representative:
        return _("representative of %(organisation)s", organisation=organisation)
    if stood_in_for:
        return _("substitute on behalf of %(name)s", name=stood_in_for)
    return _("colleague at %(organisation)s", organisation=organisation)


def rows_for_round(session: Session, round_id: int, locale: str = "nl", *,
                   only_person: int | None = None) -> list[CommentRow]:
    """Every comment of the round in the order given, numbered from 1: name, organisation, passage (the section's
    heading and the quoted text, or "Algemeen"), type, comment, proposed change, disposition in words, answer;
    under the per-organisation rule with the author's capacity. One statement, and one per version the comments'
    passages are in.
    `only_person`: only that person's rows, keeping their numbers in the whole table (what a member sees of a round
    whose comments only the project group sees)."""
    words = _words(locale)
    _ = translator(locale)
    query = (
        # The name the round's network knows the person by: the membership they took part with.
        select(Comment.block_id, Comment.quote, Comment.body, Comment.disposition, Comment.answer,
               Comment.version_id, Membership.name, Organisation.name,
               Round.decision_rule, Participant.can_vote, Membership.representative, Organisation.has_vote,
               Organisation.left_at, _stood_in_for(), Comment.person_id, Comment.id, Comment.kind,
               Comment.proposed_text, Comment.taken_text)
        .select_from(Comment)
        .join(Round, Round.id == Comment.round_id)
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
    for number, (block_id, quote, body, disposition, answer, version_id, person, organisation, rule, can_vote,
                 representative, has_vote, left_at, stood_in_for, person_id, comment_id, kind, proposed,
                 taken) in enumerate(found, 1):
        if only_person is not None and person_id != only_person:
            continue
        rows.append(CommentRow(
            number=number,
            person=person,
            organisation=organisation or "",
            passage=_passage(block_id, quote, sections.get(version_id, {}), words["general"]),
            comment=body,
            disposition=words["dispositions"].get(disposition, disposition or ""),
            answer=answer or "",
            capacity=_capacity(_, rule, can_vote, organisation, bool(has_vote) and left_at is None,
                               representative, stood_in_for),
            comment_id=comment_id,
            kind=words["kinds"].get(kind, kind),
            proposal=_proposal(quote, proposed, taken, words),
        ))
    return rows


def verdicts_for_round(session: Session, round_: Round, locale: str = "nl") -> VerdictTable:
    """Under the per-organisation rule, the round's verdicts per organisation: each organisation that decides in it
    (by name) with its verdict that counts — or that it has none — and who gave it (on whose behalf, for a
    substitute), its colleagues' suggestions below it; then each participant with a vote and no organisation.
    Two statements whatever the size: the participants with their current verdicts, and the organisations'."""
    _ = translator(locale)
    participants = session.execute(
        select(Membership, Verdict).select_from(Participant)
        .join(Membership, Participant.membership_id == Membership.id)
        .outerjoin(Verdict, Participant.current_verdict_id == Verdict.id)
        .where(Participant.round_id == round_.id, Participant.removed_at.is_(None), Participant.can_vote.is_(True))
    ).all()
    counting = organisation_cells(session, [round_.id])
    organisations: dict[int, list[tuple[Membership, Verdict | None]]] = {}
    individuals = []
    for membership, verdict in participants:
        organisation = membership.organisation
        if organisation is None:
            individuals.append((membership, verdict))
        elif organisation.has_vote and organisation.left_at is None:
            organisations.setdefault(organisation.id, []).append((membership, verdict))

    def given_by(verdict: Verdict) -> str:
        if verdict.on_behalf_of_name:
            return f"{verdict.person_name}\n" + _("on behalf of %(name)s", name=verdict.on_behalf_of_name)
        return verdict.person_name

    def words(verdict: Verdict | None, missing: str) -> tuple[str, str, str]:
        if verdict is None:
            return missing, "", ""
        return VERDICT_WORDS.get(verdict.value, verdict.value), verdict.reason, given_by(verdict)

    rows = []
    for members in sorted(organisations.values(), key=lambda ms: (ms[0][0].organisation.name.lower(),
                                                                  ms[0][0].organisation.id)):
        organisation = members[0][0].organisation
        verdict = counting.get((round_.id, organisation.id))
        missing = _("no verdict") if any(m.representative for m, _v in members) else _("no representative")
        rows.append(VerdictRow(organisation.name, _("Verdict of the organisation"), *words(verdict, missing)))
        suggestions = sorted(((m, v) for m, v in members if v is not None and v.suggestion),
                             key=lambda mv: (mv[0].name.lower(), mv[1].id))
        rows.extend(VerdictRow(organisation.name, _("Suggestion of a colleague"), *words(v, ""))
                    for _m, v in suggestions)
    for membership, verdict in sorted(individuals, key=lambda mv: (mv[0].name.lower(), mv[0].id)):
        value, reason, by = words(None if verdict is None or verdict.suggestion else verdict, _("no verdict"))
        rows.append(VerdictRow("", _("Own verdict (no organisation)"), value, reason, by or membership.name))
    return VerdictTable(
        title=_("Verdicts per organisation"),
        headers=[_("Organisation"), _("Kind"), _("Verdict"), _("Reason"), _("Given by")],
        rows=rows,
    )


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
    verdicts = verdicts_for_round(session, round_, locale) if round_.decision_rule == "organisation" else None
    writer = write_docx if fmt == "docx" else write_xlsx
    data = writer(title, subtitle, rows, words["headers"], verdicts)
    filename = safe_filename(words["filename"].format(title=document.title, round=round_.number), f".{fmt}")
    return filename, MIMETYPES[fmt], data


def _date(value, locale: str) -> str:
    return format_date(value.astimezone(TIMEZONE), "d MMMM y", locale=locale if locale in _WORDS else "nl")
