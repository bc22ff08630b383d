"""A meeting's minutes through the same process as every document: made into version 1 of a document of their own,
put to the meeting's attendees (or to the whole network) in a comment round, and final the usual way."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel.dates import format_date, format_datetime
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.blocks import assign_ids
from storage.database.engine import lock
from storage.database.models import Document, Finalisation, Meeting, Network, Person, Round, utcnow
from storage.formats.docx_writer import write_docx
from workflows import audit
from workflows.domain import deciders, documents, meetings, minutes, rounds
from workflows.domain.exports import safe_filename
from workflows.domain.wording import TIMEZONE, translator
from workflows.errors import Conflict, InvalidInput, NotAllowed

AUDIENCES = (deciders.ATTENDEES, deciders.NETWORK)
# The minutes are written in the network's language: Dutch.
LOCALE = "nl"


def title_of(meeting: Meeting) -> str:
    _ = translator(LOCALE)
    return _("Minutes %(title)s, %(date)s", title=meeting.title,
             date=format_date(meeting.starts_at.astimezone(TIMEZONE), "d MMMM y", locale=LOCALE))[:300]


# The minutes as blocks -------------------------------------------------------------------------------------------

def _paragraph(text: str, *, bold: bool = False) -> dict:
    block = {"type": "paragraph", "text": text}
    if bold:
        block["runs"] = [{"text": text, "bold": True}]
    return block


def _paragraphs(text: str) -> list[dict]:
    """Typed notes: a paragraph per line that holds text."""
    return [_paragraph(line.strip()) for line in text.splitlines() if line.strip()]


def _bullet(text: str) -> dict:
    return {"type": "list_item", "level": 0, "ordered": False, "label": "•", "text": text}


def _cell(text: str, *, bold: bool = False) -> dict:
    return {"blocks": [_paragraph(text, bold=bold)], "colspan": 1, "rowspan": 1}


def blocks(session: Session, meeting: Meeting) -> list[dict]:
    """The minutes as a document's blocks: when and where, then per agenda item its notes and decisions, the action
    points (what, who, by when, status) and who attended per organisation."""
    _ = translator(LOCALE)
    agenda = meetings.agenda_entries(session, meeting)
    record = minutes.minutes(session, meeting, [e.item.id for e in agenda])
    when = format_datetime(meeting.starts_at.astimezone(TIMEZONE), "EEEE d MMMM y, HH:mm", locale=LOCALE)
    found: list[dict] = [{"type": "heading", "level": 1, "text": title_of(meeting)},
                         _paragraph(_("Date: %(when)s", when=when))]
    for label, value in ((_("Place"), meeting.place), (_("Online"), meeting.online_url),
                         (_("Chair"), meeting.chair.name if meeting.chair else ""),
                         (_("Minute-taker"), meeting.minute_taker.name if meeting.minute_taker else "")):
        if value:
            found.append(_paragraph(f"{label}: {' '.join(value.split())}"))
    for number, entry in enumerate(agenda, start=1):
        found.append({"type": "heading", "level": 2, "text": f"{number}. {entry.item.title}"})
        found += _paragraphs(entry.item.notes)
        decisions = record.decisions.get(entry.item.id, [])
        if decisions:
            found.append(_paragraph(_("Decisions"), bold=True))
            found += [_bullet(" ".join(d.text.split())) for d in decisions]
        if not entry.item.notes and not decisions:
            found.append(_paragraph(_("Nothing noted under this item.")))
    if record.actions:
        found.append({"type": "heading", "level": 2, "text": _("Action points")})
        rows = [[_cell(_("Action point"), bold=True), _cell(_("Who does it"), bold=True),
                 _cell(_("Due date"), bold=True), _cell(_("Status"), bold=True)]]
        for entry in record.actions:
            action = entry.action
            rows.append([_cell(" ".join(action.text.split())), _cell(entry.owner),
                         _cell(format_date(action.due_on, "d MMMM y", locale=LOCALE)),
                         _cell(_("done") if action.status == "done" else _("open"))])
        found.append({"type": "table", "rows": rows})
    if record.present.recorded:
        found.append({"type": "heading", "level": 2, "text": _("Who attended")})
        found.append(_paragraph(_("%(count)s present.", count=record.present.count)))
        found += [_bullet(f"{organisation or _('Without an organisation')}: {', '.join(names)}")
                  for organisation, names in record.present.by_organisation]
    return assign_ids(found)


def has_content(session: Session, meeting: Meeting) -> bool:
    """Whether the minutes hold anything: notes, a decision, an action point, or who attended."""
    agenda = meetings.agenda_entries(session, meeting)
    return any(e.item.notes for e in agenda) or not minutes.minutes(session, meeting, [e.item.id for e in agenda]).empty


# Putting them to a round -----------------------------------------------------------------------------------------

def put_minutes_to_round(session: Session, meeting: Meeting, *, audience: str, deadline: dt.datetime, message: str,
                         actor: Person, now: dt.datetime | None = None) -> Round:
    """Version 1 of a new document made from the minutes (a Word file, as if uploaded), and a comment round on it
    opened the usual way: put to the meeting's attendees who are still members ("attendees": they alone are invited
    and must all agree) or to the whole network ("network"). Once, by the network's staff or the minute-taker, after
    the meeting, with something in the minutes; from then on the minutes change as versions of that document."""
    now = now or utcnow()
    meeting = lock(session, Meeting, meeting.id)
    if not minutes.may_write(session, meeting, actor):
        raise NotAllowed()
    if meeting.is_cancelled:
        raise Conflict("meeting_cancelled")
    if meeting.minutes_document_id is not None:
        raise Conflict("minutes_document_exists")
    if meeting.ends_at > now:
        raise Conflict("minutes_meeting_not_over")
    if audience not in AUDIENCES:
        raise InvalidInput("minutes_unknown_audience", field="audience")
    if deadline <= now:
        raise InvalidInput("deadline_in_past", field="deadline")
    if not has_content(session, meeting):
        raise Conflict("minutes_empty")
    network = session.get(Network, meeting.network_id)
    document = documents.create_document(session, network, kind="notulen", title=title_of(meeting), actor=actor)
    document.deciders = audience
    if audience == deciders.ATTENDEES:
        # Each attendee decides for themselves: who came to the meeting, not their organisation, agrees on its record.
        document.decision_rule = "person"
    meeting.minutes_document_id = document.id
    session.flush()
    if audience == deciders.ATTENDEES and not deciders.voters(session, document):
        raise InvalidInput("minutes_no_attendees", field="audience")
    made = blocks(session, meeting)
    data = write_docx(made, title=document.title)
    version = documents.upload_version(session, document, filename=safe_filename(document.title, ".docx"),
                                       data=data, change_note=_change_note(), actor=actor)
    audit.record(session, meeting.network_id, "minutes_put_to_round", actor_id=actor.id, meeting_id=meeting.id,
                 document_id=document.id, version_id=version.id, audience=audience)
    return rounds.open_round(session, document, deadline=deadline, message=message, actor=actor,
                             version_id=version.id, now=now)


def _change_note() -> str:
    return translator(LOCALE)("Made from the minutes of the meeting.")


# When they are final ---------------------------------------------------------------------------------------------

def meeting_of(session: Session, document: Document) -> Meeting | None:
    """The meeting whose minutes the document holds."""
    if document.kind != "notulen":
        return None
    return session.scalar(select(Meeting).where(Meeting.minutes_document_id == document.id))


def note_final(session: Session, document: Document, *, actor: Person) -> None:
    """The document is final: so are the meeting's minutes (in the finalisation's transaction)."""
    meeting = meeting_of(session, document)
    if meeting is not None:
        audit.record(session, document.network_id, "minutes_finalised", actor_id=actor.id, meeting_id=meeting.id,
                     document_id=document.id, version_id=document.final_version_id)


@dataclass
class State:
    """Where a meeting's minutes stand, for its page: not put forward, in a round, or final (with the files)."""

    document: Document | None
    open_round: Round | None
    finalisation: Finalisation | None

    @property
    def final(self) -> bool:
        return self.finalisation is not None


def state(session: Session, meeting: Meeting) -> State:
    if meeting.minutes_document_id is None:
        return State(None, None, None)
    document = session.get(Document, meeting.minutes_document_id)
    open_round = session.scalar(select(Round).where(Round.document_id == document.id, Round.status == "open"))
    finalisation = session.scalar(select(Finalisation).where(Finalisation.document_id == document.id)) \
        if document.status == "final" else None
    return State(document, open_round, finalisation)
