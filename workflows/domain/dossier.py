"""The evidence dossier of a final document: per round, organisation and person, who was invited, reached, opened,
decided (for which organisation, on whose behalf, with its evidence) and commented; as canonical JSON a machine
checks and a PDF a person reads, made once with the final files, both hashes in the audit chain, and checked
against that chain."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from babel.dates import format_datetime
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.database.engine import lock
from storage.database.models import (
    AuditChain,
    AuditEvent,
    Blob,
    Comment,
    Document,
    Finalisation,
    MailMessage,
    Membership,
    Network,
    Organisation,
    Participant,
    Person,
    PersonalLink,
    Round,
    Verdict,
    Version,
)
from storage.formats.dossier_pdf import Section, Table, write_dossier_pdf
from workflows import audit
from workflows.domain.exports import safe_filename, store_blob
from workflows.domain.people import names_in_network
from workflows.domain.wording import DISPOSITION_WORDS, TIMEZONE, VERDICT_WORDS, translator

FORMAT = "akkoord-dossier/1"
JSON = "application/json"
PDF = "application/pdf"
# What a verdict's audit event and its entry in the dossier must agree on: event key -> dossier key. Keys an event
# of an older release does not carry are skipped; keys another part adds to the event are compared when both have them.
VERDICT_FIELDS = {"value": "value", "content_hash": "content_hash", "ip_address": "ip_address", "link_id": "link_id",
                  "organisation_id": "organisation_id", "substitution_id": "substitution_id",
                  "suggestion": "suggestion"}


def canonical(data: dict) -> bytes:
    """One byte sequence for one content: sorted keys, no spaces, UTF-8, so its sha256 is stable."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _chain_mark(event) -> dict | None:
    return {"seq": event.seq, "hash": event.hash} if event is not None else None


# Gathering ------------------------------------------------------------------------------------------------------


def gather(session: Session, document_id: int) -> dict:
    """Everything the dossier says, from a fixed number of queries however many people and rounds there are."""
    document = session.get(Document, document_id)
    network = session.get(Network, document.network_id)
    finalisation = session.scalar(select(Finalisation).where(Finalisation.document_id == document_id))
    versions = session.scalars(select(Version).where(Version.document_id == document_id).order_by(Version.number)).all()
    rounds = session.scalars(select(Round).where(Round.document_id == document_id).order_by(Round.number)).all()
    round_ids = [r.id for r in rounds]
    # Rows, not objects, for what grows with the round: a round of 900 people reads in a fraction of the time.
    participants = session.execute(
        select(Participant.id, Participant.round_id, Participant.person_id, Participant.can_vote,
               Participant.added_at, Participant.removed_at, Participant.first_opened_at, Participant.last_opened_at,
               Participant.current_verdict_id, Membership.id.label("membership_id"), Membership.name, Membership.role,
               Membership.representative, Membership.organisation_id, Person.email)
        .join(Membership, Participant.membership_id == Membership.id)
        .join(Person, Participant.person_id == Person.id)
        .where(Participant.round_id.in_(round_ids)).order_by(Participant.id)).all()
    verdicts = session.execute(select(Verdict.__table__).where(Verdict.round_id.in_(round_ids))
                               .order_by(Verdict.id)).all()
    links = {row.id: row for row in session.execute(
        select(PersonalLink.id, PersonalLink.outbox_id, PersonalLink.created_at, PersonalLink.first_used_at)
        .where(PersonalLink.id.in_(select(Verdict.link_id).where(Verdict.round_id.in_(round_ids)))))}
    invitations: dict[tuple[int, int], list] = defaultdict(list)
    for mail in session.execute(
            select(MailMessage.id, MailMessage.round_id, MailMessage.person_id, MailMessage.status,
                   MailMessage.created_at, MailMessage.sent_at, MailMessage.attempts, MailMessage.failure)
            .where(MailMessage.round_id.in_(round_ids), MailMessage.email == "invitation").order_by(MailMessage.id)):
        invitations[(mail.round_id, mail.person_id)].append(mail)
    comments = session.execute(select(Comment.__table__).where(Comment.round_id.in_(round_ids))
                               .order_by(Comment.id)).all()
    organisations = {o.id: o for o in session.scalars(
        select(Organisation).where(Organisation.network_id == network.id))}
    events = session.execute(select(AuditEvent.seq, AuditEvent.hash, AuditEvent.kind, AuditEvent.data).where(
        AuditEvent.document_id == document_id,
        AuditEvent.kind.in_(("verdict_given", "document_finalised", "round_opened"))).order_by(AuditEvent.seq)).all()
    verdict_events = {e.data.get("verdict_id"): e for e in events if e.kind == "verdict_given"}
    finalised_event = next((e for e in events if e.kind == "document_finalised"), None)
    head = session.get(AuditChain, network.id)
    final_version = next(v for v in versions if v.id == finalisation.version_id)
    finalised_by = names_in_network(session, network.id, [finalisation.finalised_by_id])

    by_participant: dict[int, list] = defaultdict(list)
    for verdict in verdicts:
        by_participant[verdict.participant_id].append(verdict)
    comments_of: dict[tuple[int, int], list] = defaultdict(list)
    for comment in comments:
        comments_of[(comment.round_id, comment.person_id)].append(comment)
    in_round: dict[int, list] = defaultdict(list)
    for participant in participants:
        in_round[participant.round_id].append(participant)
    version_of = {v.id: v for v in versions}

    def verdict_entry(verdict) -> dict:
        link = links.get(verdict.link_id)
        return {
            "id": verdict.id, "value": verdict.value, "reason": verdict.reason, "given_at": _at(verdict.created_at),
            "version_id": verdict.version_id, "content_hash": verdict.content_hash,
            "person_name": verdict.person_name, "person_email": verdict.person_email,
            "organisation_id": verdict.organisation_id, "organisation_name": verdict.organisation_name,
            "suggestion": verdict.suggestion, "ip_address": verdict.ip_address, "user_agent": verdict.user_agent,
            "link_id": verdict.link_id,
            "link": {"id": link.id, "mail_id": link.outbox_id, "created_at": _at(link.created_at),
                     "first_used_at": _at(link.first_used_at)} if link is not None else None,
            "substitution_id": verdict.substitution_id,
            "on_behalf_of": {"name": verdict.on_behalf_of_name, "email": verdict.on_behalf_of_email}
            if verdict.substitution_id is not None or verdict.on_behalf_of_email else None,
            "audit": _chain_mark(verdict_events.get(verdict.id)),
        }

    def comment_entry(comment) -> dict:
        return {"id": comment.id, "created_at": _at(comment.created_at), "reply_to": comment.parent_id,
                "block_id": comment.block_id, "quote": comment.quote, "body": comment.body,
                "disposition": comment.disposition, "answer": comment.answer, "processed_at": _at(comment.processed_at)}

    def round_entry(round_: Round) -> dict:
        version = version_of[round_.version_id]
        groups: dict[int | None, list[dict]] = defaultdict(list)
        seen: set[int] = set()
        for participant in in_round[round_.id]:
            seen.add(participant.person_id)
            mails = invitations[(round_.id, participant.person_id)]
            sent = [m.sent_at for m in mails if m.sent_at is not None]
            groups[participant.organisation_id].append({
                "person_id": participant.person_id, "membership_id": participant.membership_id, "name": participant.name,
                "email": participant.email, "role": participant.role, "representative": participant.representative,
                "can_vote": participant.can_vote, "invited_at": _at(participant.added_at),
                "removed_at": _at(participant.removed_at),
                "invitations": [{"mail_id": m.id, "status": m.status, "queued_at": _at(m.created_at),
                                 "sent_at": _at(m.sent_at), "attempts": m.attempts, "failure": m.failure}
                                for m in mails],
                "delivered_at": _at(min(sent)) if sent else None,
                "first_opened_at": _at(participant.first_opened_at), "last_opened_at": _at(participant.last_opened_at),
                "current_verdict_id": participant.current_verdict_id,
                "verdicts": [verdict_entry(v) for v in by_participant[participant.id]],
                "comments": [comment_entry(c) for c in comments_of[(round_.id, participant.person_id)]],
            })
        entries = []
        for organisation_id, people in groups.items():
            organisation = organisations.get(organisation_id)
            given = [v for p in people for v in p["verdicts"]
                     if v["organisation_id"] == organisation_id and organisation_id is not None and not v["suggestion"]]
            entries.append({
                "id": organisation_id, "name": organisation.name if organisation else "",
                "kind": organisation.kind if organisation else None,
                "has_vote": organisation.has_vote if organisation else None,
                # Under the organisation rule its verdict is the last one given for it in the round.
                "verdict_id": max((v["id"] for v in given), default=None)
                if round_.decision_rule == "organisation" else None,
                "people": sorted(people, key=lambda p: (p["name"], p["person_id"])),
            })
        entries.sort(key=lambda o: (o["id"] is None, o["name"], o["id"] or 0))
        others = [comment_entry(c) for key, found in comments_of.items()
                  if key[0] == round_.id and key[1] not in seen for c in found]
        return {
            "id": round_.id, "number": round_.number, "status": round_.status,
            "version": {"id": version.id, "number": version.number, "content_hash": version.content_hash},
            "decision_rule": round_.decision_rule, "comment_visibility": round_.comment_visibility,
            "opened_at": _at(round_.opened_at), "deadline": _at(round_.deadline), "closed_at": _at(round_.closed_at),
            "close_reason": round_.close_reason, "organisations": entries,
            "comments_by_others": sorted(others, key=lambda c: c["id"]),
        }

    return {
        "format": FORMAT,
        "network": {"id": network.id, "name": network.name, "decision_rule": network.decision_rule},
        "document": {"id": document.id, "title": document.title, "kind": document.kind,
                     "decision_rule": document.decision_rule or network.decision_rule},
        "final": {
            "version_id": final_version.id, "version_number": final_version.number,
            "content_hash": finalisation.content_hash, "finalised_at": _at(finalisation.finalised_at),
            "finalised_by": {"person_id": finalisation.finalised_by_id,
                             "name": finalised_by.get(finalisation.finalised_by_id, "")},
            "approvals": finalised_event.data.get("approvals") if finalised_event else None,
            "audit": _chain_mark(finalised_event),
        },
        "versions": [{"id": v.id, "number": v.number, "content_hash": v.content_hash, "created_at": _at(v.created_at),
                      "original_sha256": v.original_sha256} for v in versions],
        "rounds": [round_entry(r) for r in rounds],
        # The chain's head when the dossier was made: everything above was read at this point of the trail.
        "audit_head": {"seq": head.seq, "hash": head.hash} if head is not None else None,
    }


# The PDF --------------------------------------------------------------------------------------------------------


def _short(value: str | None, locale: str) -> str:
    if not value:
        return "—"
    return format_datetime(datetime.fromisoformat(value).astimezone(TIMEZONE), "dd-MM-yyyy HH:mm:ss", locale=locale)


def render_pdf(data: dict, json_sha256: str, locale: str = "nl") -> bytes:
    """The dossier for people, from exactly the data of the JSON (in the network's language)."""
    _ = translator(locale)
    final = data["final"]
    introduction = [
        _("Document: “%(title)s” (%(network)s).", title=data["document"]["title"], network=data["network"]["name"]),
        _("Version %(number)s was made final on %(when)s by %(name)s.", number=final["version_number"],
          when=_short(final["finalised_at"], locale), name=final["finalised_by"]["name"]),
        _("Content hash (SHA-256): %(hash)s", hash=final["content_hash"]),
        _("This PDF shows the evidence dossier for people; the JSON dossier with SHA-256 %(hash)s is the one a "
          "machine checks against the audit trail.", hash=json_sha256),
    ]
    sections = []
    for round_ in data["rounds"]:
        people_rows, evidence_rows, comment_rows = [], [], []
        for organisation in round_["organisations"]:
            label = organisation["name"] or "—"
            if organisation["verdict_id"] is not None:  # the organisation rule: its one verdict, under its name
                given = next(v for p in organisation["people"] for v in p["verdicts"]
                             if v["id"] == organisation["verdict_id"])
                label += "\n" + _("Verdict of the organisation: %(verdict)s",
                                   verdict=VERDICT_WORDS.get(given["value"], given["value"]))
            for person in organisation["people"]:
                current = next((v for v in person["verdicts"] if v["id"] == person["current_verdict_id"]), None)
                people_rows.append([
                    label,
                    f"{person['name']}\n{person['email']}" + ("\n" + _("representative") if person["representative"] else ""),
                    _short(person["invited_at"], locale), _short(person["delivered_at"], locale),
                    _short(person["first_opened_at"], locale),
                    VERDICT_WORDS.get(current["value"], current["value"]) if current else "—",
                ])
                for verdict in person["verdicts"]:
                    who = verdict["person_name"]
                    if verdict["on_behalf_of"]:
                        who += "\n" + _("on behalf of %(name)s", name=verdict["on_behalf_of"]["name"])
                    if verdict["organisation_name"]:
                        who += "\n" + verdict["organisation_name"]
                    value = VERDICT_WORDS.get(verdict["value"], verdict["value"])
                    if verdict["suggestion"]:
                        value += "\n" + _("(suggestion)")
                    if verdict["reason"]:
                        value += "\n" + verdict["reason"]
                    link = verdict["link"]
                    evidence_rows.append([
                        who, value, _short(verdict["given_at"], locale), verdict["content_hash"],
                        f"{verdict['ip_address'] or '—'}\n{verdict['user_agent'] or '—'}",
                        _("link %(id)s (mail %(mail)s)", id=link["id"], mail=link["mail_id"] or "—") if link else "—",
                    ])
                for comment in person["comments"]:
                    comment_rows.append([
                        person["name"], comment["quote"] or "—", comment["body"],
                        DISPOSITION_WORDS.get(comment["disposition"], "—") if comment["disposition"] else "—",
                        comment["answer"] or "—",
                    ])
        version = round_["version"]
        sections.append(Section(
            heading=_("Round %(number)s on version %(version)s", number=round_["number"], version=version["number"]),
            paragraphs=[
                _("Content hash (SHA-256): %(hash)s", hash=version["content_hash"]),
                _("Opened %(opened)s, deadline %(deadline)s, closed %(closed)s.", opened=_short(round_["opened_at"], locale),
                  deadline=_short(round_["deadline"], locale), closed=_short(round_["closed_at"], locale)),
            ],
            tables=[
                Table(_("Invited, delivered, opened, decided"),
                      [_("Organisation"), _("Name"), _("Invited"), _("Delivered"), _("Opened"), _("Verdict")],
                      people_rows, _("Nobody was invited.")),
                Table(_("Evidence of the verdicts"),
                      [_("Given by"), _("Verdict"), _("Time"), _("Version hash"), _("IP address and browser"),
                       _("Link used")], evidence_rows, _("No verdicts were given.")),
                Table(_("Comments"), [_("Name"), _("Passage"), _("Comment"), _("Disposition"), _("Answer")],
                      comment_rows, _("No comments were made.")),
            ]))
    return write_dossier_pdf(title=_("Evidence dossier: %(title)s", title=data["document"]["title"]),
                             introduction=introduction, sections=sections,
                             footer=_("Dossier (JSON) SHA-256: %(hash)s", hash=json_sha256))


# Made once, kept, served -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DossierFiles:
    json: bytes
    pdf: bytes


def build_dossier(session: Session, document_id: int) -> DossierFiles:
    """The dossier's JSON and PDF, made from one reading (outside any write transaction: it can take seconds)."""
    data = gather(session, document_id)
    encoded = canonical(data)
    return DossierFiles(json=encoded, pdf=render_pdf(data, hashlib.sha256(encoded).hexdigest()))


def store_dossier(session: Session, document_id: int, files: DossierFiles) -> Finalisation:
    """Keep the dossier made outside the transaction and note both hashes in the audit chain. Made meanwhile by
    another worker or a download: that one stays, this one is dropped."""
    document = lock(session, Document, document_id)
    finalisation = session.scalar(select(Finalisation).where(Finalisation.document_id == document_id))
    if finalisation.dossier_json_sha256 is not None:
        return finalisation
    finalisation.dossier_json_sha256 = store_blob(session, files.json)
    finalisation.dossier_pdf_sha256 = store_blob(session, files.pdf)
    audit.record(session, document.network_id, "dossier_made", document_id=document.id,
                 version_id=finalisation.version_id, json_sha256=finalisation.dossier_json_sha256,
                 json_size=len(files.json), pdf_sha256=finalisation.dossier_pdf_sha256, pdf_size=len(files.pdf))
    return finalisation


def stored_dossier(session: Session, document: Document, kind: str) -> tuple[str, str, bytes] | None:
    """The dossier ("json" | "pdf") exactly as made: (file name, type, bytes); None while it is being made (or
    when the document is not final)."""
    finalisation = session.scalar(select(Finalisation).where(Finalisation.document_id == document.id))
    if finalisation is None:
        return None
    sha256 = finalisation.dossier_json_sha256 if kind == "json" else finalisation.dossier_pdf_sha256
    if sha256 is None:
        return None
    suffix, content_type = (".json", JSON) if kind == "json" else (".pdf", PDF)
    return safe_filename(f"{document.title} dossier", suffix), content_type, session.get(Blob, sha256).data


def without_dossier(session: Session, finalised_before) -> list[int]:
    """Documents made final before this time whose dossier was not made (its job was lost, or the document was
    made final before dossiers existed)."""
    return list(session.scalars(select(Finalisation.document_id).where(
        Finalisation.dossier_json_sha256.is_(None), Finalisation.finalised_at < finalised_before)))


def open_to_members(session: Session, document: Document) -> bool:
    """Whether the network's members may download it: not when a round showed comments to the project group only
    (a consortium of competitors), as the dossier holds every comment."""
    return session.scalar(select(Round.id).where(Round.document_id == document.id,
                                                 Round.comment_visibility != "all").limit(1)) is None


# Checking ---------------------------------------------------------------------------------------------------------


@dataclass
class Check:
    """What verifying a dossier found: `problems` empty means it holds."""

    document_id: int | None = None
    json_sha256: str = ""
    made_seq: int | None = None  # the dossier_made event that recorded its sha256
    events: int = 0
    verdicts: int = 0
    problems: list[str] = field(default_factory=list)


def verify(session: Session, raw: bytes) -> Check:
    """Check a dossier's bytes against the audit trail: its sha256 is the one a `dossier_made` event recorded, the
    network's chain is intact, and every verdict, version hash and the finalisation agree with their audit events
    (none missing, none added). The problems are for an operator, in English."""
    check = Check(json_sha256=hashlib.sha256(raw).hexdigest())
    problems = check.problems
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        problems.append(f"not a dossier: the file is not JSON ({error})")
        return check
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("document"), dict):
        problems.append(f"not a dossier: its format is not {FORMAT!r}")
        return check
    document = session.get(Document, data["document"].get("id")) if isinstance(data["document"].get("id"), int) else None
    if document is None or document.network_id != (data.get("network") or {}).get("id"):
        problems.append("its document is not in this database (or not in the network it names)")
        return check
    check.document_id = document.id
    events = session.scalars(select(AuditEvent).where(AuditEvent.document_id == document.id)
                             .order_by(AuditEvent.seq)).all()
    made = [e for e in events if e.kind == "dossier_made"]
    check.made_seq = next((e.seq for e in made if e.data.get("json_sha256") == check.json_sha256), None)
    if check.made_seq is None:
        recorded = ", ".join(e.data.get("json_sha256", "?") for e in made) or "none"
        problems.append(f"its sha256 {check.json_sha256} is not in the audit trail (dossier_made recorded: {recorded})")
    broken = audit.verify_chain(session, document.network_id)
    check.events = session.scalar(select(AuditEvent.seq).where(AuditEvent.network_id == document.network_id)
                                  .order_by(AuditEvent.seq.desc()).limit(1)) or 0
    if broken:
        problems.append("the network's audit chain is broken at event " + ", ".join(map(str, broken[:20])))
    head = data.get("audit_head") or {}
    at_head = session.scalar(select(AuditEvent.hash).where(AuditEvent.network_id == document.network_id,
                                                          AuditEvent.seq == head.get("seq")))
    if at_head is None or at_head != head.get("hash"):
        problems.append(f"the audit chain's head it names (event {head.get('seq')}) is not in the trail as named")
    try:
        _compare(data, events, problems, check)
    except (KeyError, TypeError, AttributeError) as error:
        problems.append(f"not a dossier: a part is missing or of the wrong kind ({error!r})")
    return check


def _compare(data: dict, events: list[AuditEvent], problems: list[str], check: Check) -> None:
    given = {e.data.get("verdict_id"): e for e in events if e.kind == "verdict_given"}
    listed: dict[int, dict] = {}
    for round_ in data["rounds"]:
        for organisation in round_["organisations"]:
            for person in organisation["people"]:
                for verdict in person["verdicts"]:
                    listed[verdict["id"]] = {**verdict, "round_id": round_["id"]}
    check.verdicts = len(listed)
    for verdict_id, verdict in sorted(listed.items()):
        event = given.get(verdict_id)
        if event is None:
            problems.append(f"verdict {verdict_id} is in the dossier but no verdict_given event records it")
            continue
        if event.round_id != verdict["round_id"]:
            problems.append(f"verdict {verdict_id}: round {verdict['round_id']} in the dossier, "
                            f"{event.round_id} in the audit trail")
        for event_key, dossier_key in VERDICT_FIELDS.items():
            if event_key in event.data and event.data[event_key] != verdict.get(dossier_key):
                problems.append(f"verdict {verdict_id}: {dossier_key} is {verdict.get(dossier_key)!r} in the dossier, "
                                f"{event.data[event_key]!r} in the audit trail (event {event.seq})")
    for verdict_id in sorted(set(given) - set(listed), key=lambda i: (i is None, i or 0)):
        problems.append(f"verdict {verdict_id} of the audit trail (event {given[verdict_id].seq}) is missing "
                        "from the dossier")
    opened = {e.round_id: e for e in events if e.kind == "round_opened"}
    for round_ in data["rounds"]:
        event = opened.get(round_["id"])
        version = round_["version"]
        if event is None:
            problems.append(f"round {round_['number']}: no round_opened event records it")
        elif (event.data.get("version_id"), event.data.get("content_hash")) != (version["id"], version["content_hash"]):
            problems.append(f"round {round_['number']}: version {version['id']} with hash {version['content_hash']} "
                            f"in the dossier, {event.data.get('version_id')} with {event.data.get('content_hash')} "
                            "in the audit trail")
    finalised = next((e for e in events if e.kind == "document_finalised"), None)
    final = data["final"]
    if finalised is None:
        problems.append("no document_finalised event: the document was not made final")
    else:
        recorded = (finalised.data.get("version_id"), finalised.data.get("content_hash"),
                    finalised.data.get("approvals"))
        if recorded != (final["version_id"], final["content_hash"], final["approvals"]):
            problems.append("the final version, its hash or its approvals differ from the document_finalised event "
                            f"(event {finalised.seq})")
