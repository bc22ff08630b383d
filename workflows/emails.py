"""Each email is a name, a function returning its variables, and templates/emails/<name>/ rendered in the recipient's language."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
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


class NothingToSend(Exception):
    """The mail is no longer meaningful (e.g. the round closed before delivery)."""


@dataclass
class RenderedEmail:
    subject: str
    text: str
    html: str
    to_name: str
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


@lru_cache(maxsize=None)
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
    env.globals["verdict_words"] = {"akkoord": "akkoord", "akkoord_met_opmerkingen": "akkoord met opmerkingen",
                                    "niet_akkoord": "niet akkoord"}
    return env


def format_when(value: dt.datetime, locale: str) -> str:
    return format_datetime(value.astimezone(TIMEZONE), "EEEE d MMMM y, HH:mm", locale=locale)


def render(session: Session, outbox: OutboxMessage, base_url: str) -> RenderedEmail:
    locale = outbox.locale if outbox.locale in LOCALES else "nl"
    person = session.get(Person, outbox.person_id)
    variables, attachments = VARIABLES[outbox.email](session, outbox.params, base_url.rstrip("/"))
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


def invitation_variables(session: Session, params: dict, base_url: str):
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
    }, []


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


VARIABLES = {
    "sign_in": sign_in_variables,
    "invitation": invitation_variables,
    "verdict_confirmation": verdict_confirmation_variables,
    "final_document": final_document_variables,
}
