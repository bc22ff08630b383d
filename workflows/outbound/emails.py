"""Each email is a name, a function returning its variables, and templates/emails/<name>/ rendered in the recipient's
language. A worker renders a whole batch from what `Batch` loads in a few queries, never a lazy load per mail."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import jinja2
from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from storage.database.models import (
    ActionPoint,
    Blob,
    Document,
    Finalisation,
    MailMessage,
    Meeting,
    MeetingInvitation,
    Membership,
    Network,
    Organisation,
    Participant,
    Person,
    Round,
    SignInToken,
    Substitution,
    Verdict,
    Version,
    utcnow,
)
from workflows.domain import (
    action_followup,
    comments,
    lost_links,
    meeting_calendar,
    meetings,
    minutes,
    people,
    rounds,
    signin,
    substitutes,
)
from workflows.domain.exports import DOCX, PDF, safe_filename
from workflows.domain.wording import (
    DISPOSITION_WORDS,
    LOCALES,
    ROOT,
    TIMEZONE,
    VERDICT_WORDS,
    catalogue,
    format_when,
    kenmerk,
)
from workflows.outbound.mail import Attachment, Mail

TEMPLATES = ROOT / "templates"
# The mails that carry a personal link into a round, minted for each attempt to deliver them.
LINK_EMAILS = ("invitation", "reminder", "deadline_extended", "substitute_invitation", "substitute_reminder")
# Mails that repeat the personal link while the round is open, minted the same way, and go out without it once it
# has closed (a confirmation still confirms). Only a token's hash is stored, so an earlier mail's link cannot be
# repeated: each mail carries its own, and a second attempt at the same mail revokes the first attempt's.
LINK_WHILE_OPEN_EMAILS = ("verdict_confirmation",)
# The mails that carry a personal link to a meeting's sign-up page, minted the same way.
MEETING_LINK_EMAILS = ("meeting_invitation", "meeting_reminder")
# The mails that carry an action point's owner a personal link to mark it done, minted the same way.
ACTION_LINK_EMAILS = ("action_point", "action_reminder")


class NothingToSend(Exception):
    """The mail is no longer meaningful (e.g. the round closed before delivery)."""


class NotReady(Exception):
    """What the mail carries is not there yet (the final files are still being made)."""


@cache
def environment(locale: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # a worker renders thousands of mails: no stat() of every template for each of them
    )
    env.install_gettext_translations(catalogue(locale), newstyle=True)
    env.filters["datetime"] = lambda value: format_when(value, locale)
    env.filters["day"] = lambda value: format_date(value, "d MMM y", locale=locale)
    env.filters["kenmerk"] = kenmerk
    env.globals.update(verdict_words=VERDICT_WORDS, disposition_words=DISPOSITION_WORDS)
    return env


def mint(session: Session, message: MailMessage, *, first_attempt: bool) -> str | dict | None:
    """In the transaction that claims the mail: the token its link carries, if it has one (the lost-link mail for
    meetings and action points: a dict of them, `lost_links.mint`). A link minted for an earlier attempt at the same
    mail is revoked, so a mail sent again never leaves two live links."""
    if message.email in LINK_EMAILS:
        return rounds.mint_link(session, message.params["participant_id"], outbox_id=message.id,
                                revoke_earlier=not first_attempt)
    if message.email in LINK_WHILE_OPEN_EMAILS and message.params.get("participant_id") is not None:
        participant = session.get(Participant, message.params["participant_id"])
        if participant.round.is_open and participant.removed_at is None:
            return rounds.mint_link(session, participant.id, outbox_id=message.id, revoke_earlier=not first_attempt)
        if not first_attempt:
            rounds.revoke_mail_links(session, message.id)  # this attempt goes without: no earlier attempt's link lives
        return None
    if message.email == "sign_in":
        return signin.mint(session, message.params["sign_in_token_id"])
    if message.email in MEETING_LINK_EMAILS:
        return meetings.mint_link(session, message.params["invitation_id"], outbox_id=message.id,
                                  revoke_earlier=not first_attempt)
    if message.email in ACTION_LINK_EMAILS:
        return action_followup.mint_link(session, message.params["action_point_id"], outbox_id=message.id,
                                         revoke_earlier=not first_attempt)
    if message.email == lost_links.EMAIL:
        return lost_links.mint(session, message.id, message.params, first_attempt=first_attempt)
    return None


def revoke_links(session: Session, outbox_id: int) -> None:
    """The links minted for this mail die (it could not be made): a round's, a meeting's or an action point's."""
    rounds.revoke_mail_links(session, outbox_id)
    meetings.revoke_mail_links(session, outbox_id)
    action_followup.revoke_mail_links(session, outbox_id)


@dataclass(frozen=True)
class Known:
    """A person as a mail shows them (`person` and `opener` in its templates): by the name the mail's network
    knows them by, never the name another network stored."""

    name: str
    email: str


class Batch:
    """Everything a batch of mails shows, loaded into one session's identity map in a few queries; rendering
    then reads it without a query per mail (session.get and many-to-one attributes hit the identity map)."""

    def __init__(self, session: Session, messages: list[MailMessage], base_url: str):
        self.session = session
        self.base_url = base_url.rstrip("/")
        params = [m.params or {} for m in messages]

        def ids(key: str) -> set[int]:
            return {p[key] for p in params if p.get(key) is not None}

        # The identity map holds its objects weakly: the batch keeps what it loaded, or it is gone before use.
        self._loaded: list = list(messages)
        person_ids = {m.person_id for m in messages}
        participants = self._keep(_load(session, Participant, ids("participant_id") | ids("absent_participant_id"),
                                        selectinload(Participant.membership).selectinload(Membership.organisation)))
        verdicts = self._keep(_load(session, Verdict, ids("verdict_id")))
        round_ids = {m.round_id for m in messages if m.round_id} | {p.round_id for p in participants} \
            | {v.round_id for v in verdicts}
        round_list = self._keep(_load(session, Round, round_ids))
        documents = self._keep(_load(session, Document, ids("document_id") | {r.document_id for r in round_list}))
        self._keep(_load(session, Version, {r.version_id for r in round_list} | {v.version_id for v in verdicts}
                         | {d.final_version_id for d in documents if d.final_version_id} | ids("new_version_id")))
        opener_ids = {r.opened_by_id for r in round_list}
        self._keep(_load(session, Person, person_ids | opener_ids))
        # The names each mail's network knows its people by (a mail about no network, the sign-in mail, uses the
        # person's own name): in a query per 500 people, not one per mail.
        self.names: dict[tuple[int, int], str] = {}
        network_ids = {m.network_id for m in messages if m.network_id is not None}
        wanted = sorted(person_ids | opener_ids)
        for start in range(0, len(wanted) if network_ids else 0, 500):
            for network_id, person_id, name in session.execute(
                    select(Membership.network_id, Membership.person_id, Membership.name)
                    .where(Membership.network_id.in_(network_ids), Membership.person_id.in_(wanted[start:start + 500]))
                    .order_by(Membership.id)):  # the newest membership last, so its name wins
                self.names[network_id, person_id] = name
        self.own_names = people.own_names(session, {m.person_id for m in messages if m.network_id is None})
        self._keep(_load(session, SignInToken, ids("sign_in_token_id")))
        self._keep(_load(session, Substitution, ids("substitution_id"), selectinload(Substitution.absent),
                         selectinload(Substitution.substitute)))
        self.finalisations = {f.document_id: f for f in session.scalars(
            select(Finalisation).where(Finalisation.document_id.in_(ids("document_id"))))}
        self._summaries: dict[int, rounds.Summary] = {}
        self._attachments: dict[int, list[Attachment]] = {}
        # For invitations: what each person last reviewed, and how their earlier comments were processed.
        self.since: dict[tuple[int, int], Version] = {}
        self.processed: dict[tuple[int, int], list] = defaultdict(list)
        invited = defaultdict(set)
        for message in messages:
            if message.email == "invitation":
                participant = session.get(Participant, message.params["participant_id"])
                invited[participant.round.version_id].add(message.person_id)
        for version_id, invitees in invited.items():
            version = session.get(Version, version_id)
            for person_id, since in comments.last_reviewed_versions(session, invitees, version).items():
                self.since[person_id, version_id] = since
            for person_id, processed in comments.processed_for_people(session, invitees, version).items():
                self.processed[person_id, version_id] = processed
        # The rounds of those comments: the invitation links to the newest one's commentaartabel.
        self._keep(_load(session, Round, {c.round_id for found in self.processed.values() for c in found}))
        # Meeting mails: the invitations and meetings, and each meeting's agenda once per batch.
        self._keep(_load(session, MeetingInvitation, ids("invitation_id"), selectinload(MeetingInvitation.membership)))
        self._keep(_load(session, Meeting, ids("meeting_id")))
        self._keep(_load(session, ActionPoint, ids("action_point_id"), selectinload(ActionPoint.owner)))
        self._agendas: dict[int, list] = {}
        self._open_actions: dict[int, list] = {}
        self._organisers: dict[int, Known] = {}

    def _keep(self, rows: list) -> list:
        self._loaded.extend(rows)
        return rows

    def check(self, message: MailMessage) -> None:
        """Raise NothingToSend when the mail has lost its meaning, before a link is minted for it."""
        if self.session.get(Person, message.person_id).erased_at is not None:
            raise NothingToSend("the person was erased (AVG art. 17)")  # whatever queued it: no mail goes to them
        if message.email == "sign_in":
            token = self.session.get(SignInToken, message.params["sign_in_token_id"])
            if token.used_at is not None or token.expires_at <= utcnow():
                raise NothingToSend("a newer sign-in link replaced this one, or it expired")
        if message.email in LINK_EMAILS:
            participant = self.session.get(Participant, message.params["participant_id"])
            if not participant.round.is_open:
                raise NothingToSend("round is no longer open")
            if participant.removed_at is not None:
                raise NothingToSend("participant left the network")
            if message.email == "reminder" and participant.current_verdict_id is not None:
                raise NothingToSend("the participant has given a verdict since")
            if message.email in ("substitute_invitation", "substitute_reminder") and not substitutes.is_active(
                    self.session.get(Substitution, message.params["substitution_id"])):
                raise NothingToSend("the substitution has ended")
            if message.email == "substitute_reminder" and self.session.get(
                    Participant, message.params["absent_participant_id"]).current_verdict_id is not None:
                raise NothingToSend("a verdict was given for the absent person since")
        if message.email in ("meeting_invitation", "meeting_reminder"):
            invitation = self.session.get(MeetingInvitation, message.params["invitation_id"])
            meeting = self.session.get(Meeting, message.params["meeting_id"])
            if meeting.is_cancelled or invitation.removed_at is not None or invitation.membership.left_at is not None:
                raise NothingToSend("the meeting was cancelled, the invitation withdrawn or the person left")
            if meeting.starts_at <= utcnow():
                raise NothingToSend("the meeting has begun")
            if message.email == "meeting_invitation" and message.params["sequence"] != meeting.sequence:
                raise NothingToSend("the meeting changed since: the newer invitation goes instead")
            if message.email == "meeting_reminder" and invitation.answer != "none":
                raise NothingToSend("the person has answered since")
        if message.email in ACTION_LINK_EMAILS:
            action = self.session.get(ActionPoint, message.params["action_point_id"])
            if action is None or action.status != "open" or action.sequence != message.params["sequence"]:
                raise NothingToSend("the action point was removed, is done, or has another owner since")
            if action.owner.left_at is not None or self.session.get(Meeting, action.meeting_id).is_cancelled:
                raise NothingToSend("the owner left the network or the meeting was cancelled")
            if message.email == "action_reminder" and message.params["due_on"] != action.due_on.isoformat():
                raise NothingToSend("the action point is due on another day since")
        if message.email == lost_links.EMAIL and not lost_links.still_due(self.session, message.params):
            raise NothingToSend("no meeting is still to come and no action point still open")
        if message.email == "final_document":
            finalisation = self.finalisations.get(message.params["document_id"])
            if finalisation is None or finalisation.docx_sha256 is None:
                raise NotReady("the final files are not made yet")

    def known(self, network_id: int | None, person_id: int) -> Known:
        """The person as the network knows them; with no network, by their own name (`people.own_names`)."""
        person = self.session.get(Person, person_id)
        name = self.names.get((network_id, person_id), "") if network_id is not None \
            else self.own_names.get(person_id, "")
        return Known(name=name, email=person.email)

    def render(self, message: MailMessage, token: str | None, *, to_address: str | None = None) -> Mail:
        """The mail as it goes out; `to_address`: the address as it is now, if it changed since the batch loaded."""
        locale = message.locale if message.locale in LOCALES else "nl"
        person = self.known(message.network_id, message.person_id)
        # The round and the network are columns, not params.
        params = {"round_id": message.round_id, "network_id": message.network_id, **(message.params or {})}
        variables, attachments = VARIABLES[message.email](self, params, token, locale=locale) \
            if message.email in LOCALISED_VARIABLES else VARIABLES[message.email](self, params, token)
        variables.update(person=person, base_url=self.base_url)
        env = environment(locale)
        folder = f"emails/{message.email}"
        subject = env.get_template(f"{folder}/subject.txt").render(variables).strip()
        return Mail(to_name=person.name, to_address=to_address or message.to_address, subject=" ".join(subject.split()),
                    text=env.get_template(f"{folder}/body.txt").render(variables),
                    html=env.get_template(f"{folder}/body.html").render(variables),
                    message_key=message.idempotency_key, attachments=attachments)

    def organiser(self, meeting: Meeting) -> Known:
        """Who planned the meeting, by the network's name for them: the .ics's ORGANIZER."""
        if meeting.id not in self._organisers:
            names = people.names_in_network(self.session, meeting.network_id, [meeting.created_by_id])
            person = self.session.get(Person, meeting.created_by_id)
            self._organisers[meeting.id] = Known(name=names.get(meeting.created_by_id, ""), email=person.email)
        return self._organisers[meeting.id]

    def agenda(self, meeting: Meeting) -> list[meetings.AgendaEntry]:
        if meeting.id not in self._agendas:
            self._agendas[meeting.id] = meetings.agenda_entries(self.session, meeting)
        return self._agendas[meeting.id]

    def open_actions(self, meeting: Meeting) -> list[minutes.ActionEntry]:
        """The agenda's standing item: the action points still open from earlier meetings, once per batch."""
        if meeting.id not in self._open_actions:
            self._open_actions[meeting.id] = minutes.open_before(self.session, meeting)
        return self._open_actions[meeting.id]

    def summary(self, round_: Round) -> rounds.Summary:
        if round_.id not in self._summaries:
            self._summaries[round_.id] = rounds.summary(self.session, round_)
        return self._summaries[round_.id]

    def final_attachments(self, document: Document) -> list[Attachment]:
        """The final files as made when the document was finalised, byte for byte."""
        if document.id not in self._attachments:
            finalisation = self.finalisations[document.id]
            docx = self.session.get(Blob, finalisation.docx_sha256)
            pdf = self.session.get(Blob, finalisation.pdf_sha256)
            self._attachments[document.id] = [
                Attachment(safe_filename(f"{document.title} definitief", ".docx"), DOCX, docx.sha256, docx.data),
                Attachment(safe_filename(f"{document.title} definitief", ".pdf"), PDF, pdf.sha256, pdf.data),
            ]
        return self._attachments[document.id]


def _load(session: Session, model, ids: set[int], *options) -> list:
    """Rows by id into the identity map, 500 ids to a query."""
    found, ids = [], sorted(ids)
    for start in range(0, len(ids), 500):
        found.extend(session.scalars(select(model).where(model.id.in_(ids[start:start + 500])).options(*options)))
    return found


def sign_in_variables(batch: Batch, params: dict, token: str | None):
    row = batch.session.get(SignInToken, params["sign_in_token_id"])
    return {"url": f"{batch.base_url}/signin/{token}", "expires_at": row.expires_at}, []


def _round_mail(batch: Batch, params: dict, token: str | None) -> dict:
    """What every mail about an open round carries, with the personal link minted for this mail."""
    participant = batch.session.get(Participant, params["participant_id"])
    round_ = participant.round
    return {
        "url": f"{batch.base_url}/l/{token}", "round": round_, "document": round_.document,
        "version": round_.version, "participant": participant, "can_vote": participant.can_vote,
        "opener": batch.known(params["network_id"], round_.opened_by_id),
    }


def deadline_ics(variables: dict, base_url: str) -> Attachment:
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
    data = ("\r\n".join(_folded(line) for line in lines) + "\r\n").encode("utf-8")
    return Attachment.of("deadline.ics", "text/calendar", data)


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


def invitation_variables(batch: Batch, params: dict, token: str | None):
    variables = _round_mail(batch, params, token)
    key = (variables["participant"].person_id, variables["version"].id)
    since = batch.since.get(key)
    processed = batch.processed.get(key, [])
    table_round = batch.session.get(Round, processed[-1].round_id) if processed else None
    variables.update(since=since, changes_url=f"{variables['url']}?to=changes" if since else None,
                     processed=processed, table_round=table_round,
                     table_url=f"{variables['url']}?to=commentaartabel&round={table_round.id}" if table_round else None)
    return variables, [deadline_ics(variables, batch.base_url)]


def reminder_variables(batch: Batch, params: dict, token: str | None):
    return _round_mail(batch, params, token), []


def deadline_extended_variables(batch: Batch, params: dict, token: str | None):
    variables = _round_mail(batch, params, token)
    return variables, [deadline_ics(variables, batch.base_url)]


def verdict_confirmation_variables(batch: Batch, params: dict, token: str | None):
    """The verdict as given, the personal link again (while the round is open) and who to ask: the coordinator
    who opened the round, by the network's name for them."""
    verdict = batch.session.get(Verdict, params["verdict_id"])
    round_ = batch.session.get(Round, verdict.round_id)
    return {"verdict": verdict, "round": round_, "document": round_.document,
            "version": batch.session.get(Version, verdict.version_id),
            "url": f"{batch.base_url}/l/{token}" if token else None,
            "opener": batch.known(params["network_id"], round_.opened_by_id)}, []


def final_document_variables(batch: Batch, params: dict, token: str | None):
    document = batch.session.get(Document, params["document_id"])
    version = batch.session.get(Version, document.final_version_id)
    return ({"document": document, "version": version, "finalisation": batch.finalisations[document.id],
             "url": f"{batch.base_url}/d/{document.id}"}, batch.final_attachments(document))


def round_summary_variables(batch: Batch, params: dict, token: str | None):
    round_ = batch.session.get(Round, params["round_id"])
    return {"round": round_, "document": round_.document, "version": round_.version,
            "summary": batch.summary(round_), "url": f"{batch.base_url}/r/{round_.id}"}, []


def round_outcome_variables(batch: Batch, params: dict, token: str | None):
    round_ = batch.session.get(Round, params["round_id"])
    participant = batch.session.get(Participant, params["participant_id"])
    verdict = batch.session.get(Verdict, participant.current_verdict_id) if participant.current_verdict_id else None
    return {"round": round_, "document": round_.document, "version": round_.version, "verdict": verdict,
            "summary": batch.summary(round_), "can_vote": participant.can_vote}, []


def round_superseded_variables(batch: Batch, params: dict, token: str | None):
    """The round closed because a newer version came: what became of the member's verdict and comments."""
    participant = batch.session.get(Participant, params["participant_id"])
    round_ = participant.round
    return {"round": round_, "document": round_.document, "version": round_.version,
            "new_version": batch.session.get(Version, params["new_version_id"]), "comments": params["comments"],
            "gave_verdict": participant.current_verdict_id is not None, "can_vote": participant.can_vote,
            "opener": batch.known(params["network_id"], round_.opened_by_id)}, []


def organisation_left_variables(batch: Batch, params: dict, token: str | None):
    """An organisation left the network (toe- en uittreding): its people, whose membership ended with it."""
    organisation = batch.session.get(Organisation, params["organisation_id"])
    round_ids = params.get("round_ids", [])
    stopped = list(batch.session.scalars(select(Round).where(Round.id.in_(round_ids)).order_by(Round.id))) \
        if round_ids else []
    left = organisation.left_at.astimezone(TIMEZONE).date() if organisation.left_at else None
    return {"organisation": organisation, "network": batch.session.get(Network, organisation.network_id),
            "rounds": stopped, "left_on": f"{left.day}-{left.month}-{left.year}" if left else ""}, []


def _substitution(batch: Batch, params: dict) -> dict:
    """What every mail about a substitute carries: the period, who is away, who stands in, who arranged it."""
    substitution = batch.session.get(Substitution, params["substitution_id"])
    return {"substitution": substitution, "absent": substitution.absent.name, "substitute": substitution.substitute.name,
            "named_by": batch.known(substitution.network_id, substitution.created_by_id).name,
            "by_themselves": substitution.created_by_id == substitution.absent.person_id,
            "network": batch.session.get(Network, substitution.network_id)}


def substitution_named_variables(batch: Batch, params: dict, token: str | None):
    return _substitution(batch, params), []


def substitute_named_variables(batch: Batch, params: dict, token: str | None):
    return _substitution(batch, params), []


def substitution_ended_variables(batch: Batch, params: dict, token: str | None):
    return _substitution(batch, params), []


def substitute_invitation_variables(batch: Batch, params: dict, token: str | None):
    return _round_mail(batch, params, token) | _substitution(batch, params), []


def substitute_reminder_variables(batch: Batch, params: dict, token: str | None):
    return _round_mail(batch, params, token) | _substitution(batch, params), []


def substitute_verdict_variables(batch: Batch, params: dict, token: str | None):
    variables = _substitution(batch, params)
    verdict = batch.session.get(Verdict, params["verdict_id"])
    round_ = batch.session.get(Round, verdict.round_id)
    variables.update(verdict=verdict, round=round_, document=round_.document,
                     version=batch.session.get(Version, verdict.version_id), link_url=f"{batch.base_url}/link")
    return variables, []


def _meeting_mail(batch: Batch, params: dict, token: str | None, *, locale: str) -> tuple[dict, Meeting,
                                                                                        MeetingInvitation]:
    """What every meeting mail carries: the meeting, its agenda, its organiser and the personal link (if any)."""
    invitation = batch.session.get(MeetingInvitation, params["invitation_id"])
    meeting = batch.session.get(Meeting, params["meeting_id"])
    url = f"{batch.base_url}/m/{token}" if token else None
    variables = {
        "meeting": meeting, "invitation": invitation, "url": url, "agenda": batch.agenda(meeting),
        "open_actions": batch.open_actions(meeting),
        "network": batch.session.get(Network, meeting.network_id),
        # The network's names for them: their memberships' (the batch's names are its recipients' only).
        "chair": meeting.chair.name if meeting.chair else "",
        "minute_taker": meeting.minute_taker.name if meeting.minute_taker else "",
        "organiser": batch.organiser(meeting),
    }
    return variables, meeting, invitation


def meeting_description(locale: str, *, meeting: Meeting, agenda: list, chair: str, minute_taker: str) -> str:
    """The text a calendar shows with the meeting (its DESCRIPTION): the message, the agenda, who chairs and takes
    the minutes; in the mails' language and layout, also for the network's feed. No personal link: a calendar
    entry is shared more widely than a mail."""
    return environment(locale).get_template("emails/_meeting_description.txt").render(
        meeting=meeting, agenda=agenda, chair=chair, minute_taker=minute_taker).strip()


def _meeting_ics(batch: Batch, variables: dict, *, locale: str, answer: str) -> Attachment:
    meeting, invitation = variables["meeting"], variables["invitation"]
    person = batch.known(variables["network"].id, invitation.person_id)
    organiser = variables["organiser"]
    description = meeting_description(locale, meeting=meeting, agenda=variables["agenda"], chair=variables["chair"],
                                      minute_taker=variables["minute_taker"])
    data = meeting_calendar.invitation(
        meeting, description=description, organizer=meeting_calendar.Party(organiser.name, organiser.email),
        attendee=meeting_calendar.Party(person.name, person.email), answer=answer)
    method = "CANCEL" if meeting.is_cancelled or answer == "cancel" else "REQUEST"
    return Attachment.of("uitnodiging.ics" if method == "REQUEST" else "afgelast.ics",
                         f"text/calendar; charset=utf-8; method={method}", data)


def meeting_invitation_variables(batch: Batch, params: dict, token: str | None, locale: str = "nl"):
    variables, meeting, invitation = _meeting_mail(batch, params, token, locale=locale)
    variables["changed"] = params.get("changed", False)
    return variables, [_meeting_ics(batch, variables, locale=locale, answer=invitation.answer)]


def meeting_reminder_variables(batch: Batch, params: dict, token: str | None, locale: str = "nl"):
    variables, _meeting, _invitation = _meeting_mail(batch, params, token, locale=locale)
    return variables, []


def meeting_cancelled_variables(batch: Batch, params: dict, token: str | None, locale: str = "nl"):
    variables, meeting, invitation = _meeting_mail(batch, params, token, locale=locale)
    return variables, [_meeting_ics(batch, variables, locale=locale, answer="cancel")]


def _action_mail(batch: Batch, params: dict, token: str | None) -> dict:
    """What an action point's mails carry: the point, its meeting, and the owner's personal link."""
    action = batch.session.get(ActionPoint, params["action_point_id"])
    meeting = batch.session.get(Meeting, action.meeting_id)
    return {"action": action, "meeting": meeting, "network": batch.session.get(Network, meeting.network_id),
            "url": f"{batch.base_url}/a/{token}" if token else None,
            "days_left": int(params.get("slot", "d0:")[1:].split(":")[0]) if params.get("slot") else None}


def action_point_variables(batch: Batch, params: dict, token: str | None):
    return _action_mail(batch, params, token), []


def action_reminder_variables(batch: Batch, params: dict, token: str | None):
    return _action_mail(batch, params, token), []


def meeting_links_variables(batch: Batch, params: dict, tokens: dict | None):
    """The lost-link mail: each meeting and action point the links were minted for, with its link."""
    tokens = tokens or {"meetings": {}, "actions": {}}
    session = batch.session
    invitations = [session.get(MeetingInvitation, i) for i in tokens["meetings"]]
    actions = [session.get(ActionPoint, a) for a in tokens["actions"]]
    networks = {n.id: n for n in _load(session, Network, {i.meeting.network_id for i in invitations}
                                       | {session.get(Meeting, a.meeting_id).network_id for a in actions})}
    return {
        "meetings": [{"meeting": i.meeting, "network": networks[i.meeting.network_id],
                      "url": f"{batch.base_url}/m/{tokens['meetings'][i.id]}"} for i in invitations],
        "actions": [{"action": a, "meeting": session.get(Meeting, a.meeting_id),
                     "network": networks[session.get(Meeting, a.meeting_id).network_id],
                     "url": f"{batch.base_url}/a/{tokens['actions'][a.id]}"} for a in actions],
    }, []


VARIABLES = {
    "sign_in": sign_in_variables,
    "invitation": invitation_variables,
    "verdict_confirmation": verdict_confirmation_variables,
    "final_document": final_document_variables,
    "reminder": reminder_variables,
    "deadline_extended": deadline_extended_variables,
    "round_summary": round_summary_variables,
    "round_outcome": round_outcome_variables,
    "substitution_named": substitution_named_variables,
    "substitute_named": substitute_named_variables,
    "substitute_invitation": substitute_invitation_variables,
    "substitute_verdict": substitute_verdict_variables,
    "substitute_reminder": substitute_reminder_variables,
    "substitution_ended": substitution_ended_variables,
    "organisation_left": organisation_left_variables,
    "round_superseded": round_superseded_variables,
    "meeting_invitation": meeting_invitation_variables,
    "meeting_reminder": meeting_reminder_variables,
    "meeting_cancelled": meeting_cancelled_variables,
    "action_point": action_point_variables,
    "action_reminder": action_reminder_variables,
    "meeting_links": meeting_links_variables,
}
# The meeting mails' .ics description is rendered in the recipient's language.
LOCALISED_VARIABLES = ("meeting_invitation", "meeting_reminder", "meeting_cancelled")
