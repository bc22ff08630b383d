"""Each email is a name, a function returning its variables, and templates/emails/<name>/ rendered in the recipient's language."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_datetime
from babel.support import Translations
from sqlalchemy.orm import Session

from storage.models import (
    Document,
    Finalisation,
    OutboxMessage,
    Participant,
    Person,
    Round,
    SignInToken,
    Verdict,
    Version,
)

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"
TRANSLATIONS = ROOT / "translations"
TIMEZONE = ZoneInfo("Europe/Amsterdam")
LOCALES = ("nl", "en")


# The network's own words for verdicts and dispositions, the same in mails and exports.
VERDICT_WORDS = {"akkoord": "akkoord", "akkoord_met_opmerkingen": "akkoord met opmerkingen", "niet_akkoord": "niet akkoord"}
DISPOSITION_WORDS = {"overgenomen": "overgenomen", "deels_overgenomen": "deels overgenomen",
                     "niet_overgenomen": "niet overgenomen", "voor_kennisgeving": "voor kennisgeving"}


class NothingToSend(Exception):
    """The mail is no longer meaningful (e.g. the round closed before delivery)."""


@dataclass
class RenderedEmail:
    subject: str
    text: str
    html: str
    to_name: str
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


@cache
def environment(locale: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_translations(Translations.load(str(TRANSLATIONS), [locale]), newstyle=True)
    env.filters["datetime"] = lambda value: format_when(value, locale)
    env.globals.update(verdict_words=VERDICT_WORDS, disposition_words=DISPOSITION_WORDS)
    return env


def format_when(value: dt.datetime, locale: str) -> str:
    return format_datetime(value.astimezone(TIMEZONE), "EEEE d MMMM y, HH:mm", locale=locale)


def render(session: Session, outbox: OutboxMessage, base_url: str) -> RenderedEmail:
    locale = outbox.locale if outbox.locale in LOCALES else "nl"
    person = session.get(Person, outbox.person_id)
    params = {"round_id": outbox.round_id, **outbox.params}  # the round is a column of the row, not a param
    variables, attachments = VARIABLES[outbox.email](session, params, base_url.rstrip("/"))
    variables.update(person=person, base_url=base_url.rstrip("/"))
    env = environment(locale)
    folder = f"emails/{outbox.email}"
    subject = env.get_template(f"{folder}/subject.txt").render(variables).strip()
    text = env.get_template(f"{folder}/body.txt").render(variables)
    html = env.get_template(f"{folder}/body.html").render(variables)
    return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html, to_name=person.name,
                         attachments=attachments)


def sign_in_variables(session: Session, params: dict, base_url: str):
    from workflows import signin

    token_row = session.get(SignInToken, params["sign_in_token_id"])
    token = signin.mint(session, token_row)
    return {"url": f"{base_url}/signin/{token}", "expires_at": token_row.expires_at}, []


def _round_mail(session: Session, params: dict, base_url: str) -> dict:
    """What every mail about an open round carries, with a fresh personal link (only its hash is stored)."""
    from workflows import rounds

    participant = session.get(Participant, params["participant_id"])
    round_ = participant.round
    if not round_.is_open:
        raise NothingToSend("round is no longer open")
    if participant.removed_at is not None:
        raise NothingToSend("participant left the network")
    token = rounds.mint_link(session, participant)
    return {
        "url": f"{base_url}/l/{token}", "round": round_, "document": round_.document, "version": round_.version,
        "participant": participant, "can_vote": participant.can_vote,
        "opener": session.get(Person, round_.opened_by_id),
    }


def deadline_ics(variables: dict, base_url: str) -> tuple[str, str, bytes]:
    """The deadline as a calendar entry (RFC 5545), so it lands in the member's agenda."""
    round_, document = variables["round"], variables["document"]
    end = round_.deadline.astimezone(dt.UTC)
    start = end - dt.timedelta(minutes=30)
    stamp = dt.datetime.now(dt.UTC)

    def fmt(value: dt.datetime) -> str:
        return value.strftime("%Y%m%dT%H%M%SZ")

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")

    host = base_url.split("://", 1)[-1].split("/", 1)[0] or "akkoord"
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Akkoord//commentaarronde//NL", "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH", "BEGIN:VEVENT", f"UID:round-{round_.id}-deadline@{host}", f"DTSTAMP:{fmt(stamp)}",
        f"DTSTART:{fmt(start)}", f"DTEND:{fmt(end)}", f"SEQUENCE:{int(end.timestamp()) // 60}",
        f"SUMMARY:{escape('Akkoord: ' + document.title + ' (v' + str(variables['version'].number) + ')')}",
        f"DESCRIPTION:{escape(variables['url'])}", "END:VEVENT", "END:VCALENDAR",
    ]
    return "deadline.ics", "text/calendar", ("\r\n".join(_folded(line) for line in lines) + "\r\n").encode("utf-8")


def _folded(line: str, limit: int = 75) -> str:
    """RFC 5545 content lines are at most 75 octets; longer ones continue on lines starting with a space."""
    data = line.encode("utf-8")
    parts, start = [], 0
    while len(data) - start > limit:
        end = start + limit - (1 if parts else 0)
        while (data[end] & 0xC0) == 0x80:  # never split inside a UTF-8 character
            end -= 1
        parts.append(data[start:end])
        start = end
    parts.append(data[start:])
    return "\r\n ".join(part.decode("utf-8") for part in parts)


def invitation_variables(session: Session, params: dict, base_url: str):
    from workflows import comments

    variables = _round_mail(session, params, base_url)
    person_id, version = variables["participant"].person_id, variables["version"]
    since = comments.last_reviewed_version(session, person_id, version)
    variables.update(
        since=since, changes_url=f"{variables['url']}?to=changes" if since else None,
        processed=comments.processed_for(session, person_id, version),
    )
    return variables, [deadline_ics(variables, base_url)]


def reminder_variables(session: Session, params: dict, base_url: str):
    participant = session.get(Participant, params["participant_id"])
    if participant.current_verdict_id is not None:
        raise NothingToSend("the participant has given a verdict since")
    return _round_mail(session, params, base_url), []


def deadline_extended_variables(session: Session, params: dict, base_url: str):
    variables = _round_mail(session, params, base_url)
    return variables, [deadline_ics(variables, base_url)]


def verdict_confirmation_variables(session: Session, params: dict, base_url: str):
    verdict = session.get(Verdict, params["verdict_id"])
    round_ = session.get(Round, verdict.round_id)
    return {"verdict": verdict, "round": round_, "document": round_.document,
            "version": session.get(Version, verdict.version_id)}, []


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


_FINAL_FILES: dict[tuple[int, int, str], list[tuple[str, str, bytes]]] = {}


def _final_files(session: Session, document: Document, locale: str) -> list[tuple[str, str, bytes]]:
    """The final .docx and PDF, made once per process for all the mails of a batch (a 200-page PDF takes
    seconds). A final version never changes, so (document, version, locale) identifies the files."""
    from workflows import exports, pdf_export

    key = (document.id, document.final_version_id, locale)
    if key not in _FINAL_FILES:
        docx_name, docx_data = exports.final_docx(session, document, locale)
        pdf_name, pdf_data = pdf_export.final_pdf(session, document, locale)
        _FINAL_FILES.clear()  # one document's files at a time is all a batch needs
        _FINAL_FILES[key] = [(docx_name, DOCX, docx_data), (pdf_name, "application/pdf", pdf_data)]
    return _FINAL_FILES[key]


def final_document_variables(session: Session, params: dict, base_url: str):
    document = session.get(Document, params["document_id"])
    version = session.get(Version, document.final_version_id)
    finalisation = session.query(Finalisation).filter_by(document_id=document.id).one()
    return ({"document": document, "version": version, "finalisation": finalisation,
             "url": f"{base_url}/d/{document.id}"}, _final_files(session, document, "nl"))


def round_summary_variables(session: Session, params: dict, base_url: str):
    from workflows import rounds

    round_ = session.get(Round, params["round_id"])
    return {"round": round_, "document": round_.document, "version": round_.version,
            "summary": rounds.summary(session, round_), "url": f"{base_url}/r/{round_.id}"}, []


def round_outcome_variables(session: Session, params: dict, base_url: str):
    from workflows import rounds

    round_ = session.get(Round, params["round_id"])
    participant = session.get(Participant, params["participant_id"])
    verdict = session.get(Verdict, participant.current_verdict_id) if participant.current_verdict_id else None
    return {"round": round_, "document": round_.document, "version": round_.version, "verdict": verdict,
            "summary": rounds.summary(session, round_), "can_vote": participant.can_vote}, []


VARIABLES = {
    "sign_in": sign_in_variables,
    "invitation": invitation_variables,
    "verdict_confirmation": verdict_confirmation_variables,
    "final_document": final_document_variables,
    "reminder": reminder_variables,
    "deadline_extended": deadline_extended_variables,
    "round_summary": round_summary_variables,
    "round_outcome": round_outcome_variables,
}
