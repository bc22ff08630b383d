"""Personal data (AVG/GDPR): everything held about a person as JSON (art. 15), and erasing a person while keeping
what final documents need as evidence (art. 17(3)).

Two scopes, as people are shared by the networks they are in (DESIGN.md, "Each network its own name"): a network
(what a coordinator may see and do: that network's data only, never what another network stored) or everything
(the operator's command line). Erasing within a network ends the person's place there and pseudonymises them there;
the shared person row (their address, the name first stored) goes only when no other network holds them, or when
the operator erases them everywhere. Audit events are never rewritten: the chain is the proof of everything else;
erasure adds a `person_erased` event that names no personal data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.orm import Session

from storage.database.engine import lock
from storage.database.models import (
    ActionLink,
    ActionPoint,
    AddressRequest,
    ApiToken,
    AuditEvent,
    Blob,
    Comment,
    Document,
    Finalisation,
    MailMessage,
    Meeting,
    MeetingInvitation,
    MeetingLink,
    Membership,
    Network,
    Participant,
    Person,
    PersonalLink,
    ReturnedFile,
    Round,
    SignInToken,
    Substitution,
    Verdict,
    Version,
    WebSession,
    utcnow,
)
from workflows import audit
from workflows.domain import web_sessions
from workflows.domain.people import normalise_email
from workflows.errors import Conflict, NotFound

# Stored, not translated: a pseudonym is data (in the commentaartabel, the evidence, exports), like the names
# networks type, and the networks Akkoord serves are Dutch.
PSEUDONYM = "Verwijderde deelnemer {number}"
ERASED_NAME = "Verwijderde deelnemer"
# A unique address no mail can reach (.invalid is reserved for that, RFC 2606), so people.email stays unique.
PLACEHOLDER = "verwijderd-{id}@verwijderd.invalid"
# Mail that has not gone out, and mail a coordinator might still send again.
UNSENT = ("pending", "failed")


def find_person(session: Session, email: str) -> Person | None:
    return session.scalar(select(Person).where(Person.email == normalise_email(email)))


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _network_ids(session: Session, person_id: int) -> list[int]:
    return list(session.scalars(select(Membership.network_id).where(Membership.person_id == person_id)
                                .distinct().order_by(Membership.network_id)))


# --- art. 15: the export ---------------------------------------------------------------------------------------

def export(session: Session, person: Person, *, network_id: int | None = None, actor: Person | None = None
           ) -> dict[str, Any]:
    """Everything held about the person: within one network (`network_id`: what a coordinator may see, that
    network's records only), or everything (None: the operator). Audited in every network concerned. Tokens and
    session secrets are never part of it (only their hashes are held, and those are no one's business)."""
    pid = person.id
    networks = [network_id] if network_id is not None else _network_ids(session, pid)
    names = dict(session.execute(select(Network.id, Network.name).where(Network.id.in_(networks))).all())
    data: dict[str, Any] = {
        "exported_at": utcnow().isoformat(),
        "scope": {"network_id": network_id} if network_id is not None else "all",
        "person": {"id": pid, "email": person.email, "locale": person.locale, "created_at": _iso(person.created_at),
                   "erased_at": _iso(person.erased_at)},
    }
    if network_id is None:
        data["person"]["name"] = person.name  # the name first stored: shown to no network, so only here
    memberships = session.scalars(select(Membership).where(Membership.person_id == pid,
                                                           Membership.network_id.in_(networks))
                                  .order_by(Membership.id)).all()
    data["memberships"] = [{
        "id": m.id, "network_id": m.network_id, "network": names.get(m.network_id, ""), "name": m.name,
        "organisation": m.organisation.name if m.organisation else "",
        "organisation_kind": m.organisation.kind if m.organisation else "", "role": m.role,
        "joined_at": _iso(m.joined_at), "left_at": _iso(m.left_at), "representative": m.representative,
        "board": m.board, "discipline": m.discipline,
    } for m in memberships]
    membership_ids = [m.id for m in memberships]

    rows = session.execute(
        select(Participant, Round, Document, Version.number)
        .join(Round, Participant.round_id == Round.id).join(Document, Round.document_id == Document.id)
        .join(Version, Round.version_id == Version.id)
        .where(Participant.person_id == pid, Document.network_id.in_(networks)).order_by(Participant.id)).all()
    data["participations"] = [{
        "network_id": d.network_id, "document_id": d.id, "document": d.title, "round_id": r.id,
        "round_number": r.number, "version_number": number, "can_vote": p.can_vote, "added_at": _iso(p.added_at),
        "removed_at": _iso(p.removed_at), "first_opened_at": _iso(p.first_opened_at),
        "last_opened_at": _iso(p.last_opened_at),
    } for p, r, d, number in rows]
    participant_ids = [p.id for p, _r, _d, _n in rows]
    data["personal_links"] = [{
        "participant_id": link.participant_id, "created_at": _iso(link.created_at),
        "expires_at": _iso(link.expires_at), "revoked_at": _iso(link.revoked_at),
        "first_used_at": _iso(link.first_used_at), "last_used_at": _iso(link.last_used_at),
    } for link in _chunked(session, PersonalLink, PersonalLink.participant_id, participant_ids)]

    absent_subs, substitute_subs = _substitutions(session, membership_ids)
    # The verdicts they gave: on their own participant, or as a substitute on the absent person's.
    verdicts = session.execute(
        select(Verdict, Document.id, Document.title).join(Round, Verdict.round_id == Round.id)
        .join(Document, Round.document_id == Document.id)
        .where(Document.network_id.in_(networks), or_(
            (Verdict.participant_id.in_(participant_ids or [-1])) & Verdict.substitution_id.is_(None),
            Verdict.substitution_id.in_(substitute_subs or [-1])))
        .order_by(Verdict.id)).all()
    data["verdicts"] = [{
        "id": v.id, "document_id": document_id, "document": title, "round_id": v.round_id, "value": v.value,
        "reason": v.reason, "suggestion": v.suggestion, "created_at": _iso(v.created_at),
        "evidence": {"content_hash": v.content_hash, "person_name": v.person_name, "person_email": v.person_email,
                     "organisation": v.organisation_name, "ip_address": v.ip_address, "user_agent": v.user_agent,
                     "link_id": v.link_id, "on_behalf_of_name": v.on_behalf_of_name,
                     "on_behalf_of_email": v.on_behalf_of_email},
    } for v, document_id, title in verdicts]
    # Verdicts a substitute gave for them: what was given in their name, not the substitute's own evidence.
    behalf = session.scalars(select(Verdict).where(Verdict.substitution_id.in_(absent_subs or [-1]))
                             .order_by(Verdict.id)).all()
    data["verdicts_on_their_behalf"] = [{
        "id": v.id, "round_id": v.round_id, "value": v.value, "reason": v.reason, "created_at": _iso(v.created_at),
        "on_behalf_of_name": v.on_behalf_of_name, "on_behalf_of_email": v.on_behalf_of_email,
        "given_by": v.person_name,
    } for v in behalf]

    comments = session.execute(
        select(Comment, Document.id, Document.title).join(Round, Comment.round_id == Round.id)
        .join(Document, Round.document_id == Document.id)
        .where(Comment.person_id == pid, Document.network_id.in_(networks)).order_by(Comment.id)).all()
    data["comments"] = [{
        "id": c.id, "document_id": document_id, "document": title, "round_id": c.round_id,
        "reply_to": c.parent_id, "passage": c.block_id, "quote": c.quote, "body": c.body,
        "created_at": _iso(c.created_at), "disposition": c.disposition, "answer": c.answer,
        "processed_at": _iso(c.processed_at),
    } for c, document_id, title in comments]
    # Their returned Word files: what was sent and when, not the file's bytes (the project group holds those).
    returned = session.execute(
        select(ReturnedFile, Document.id, Document.title).join(Round, ReturnedFile.round_id == Round.id)
        .join(Document, Round.document_id == Document.id)
        .where(ReturnedFile.person_id == pid, Document.network_id.in_(networks)).order_by(ReturnedFile.id)).all()
    data["returned_files"] = [{
        "id": f.id, "document_id": document_id, "document": title, "round_id": f.round_id, "filename": f.filename,
        "sha256": f.sha256, "created_at": _iso(f.created_at), "submitted_at": _iso(f.submitted_at),
        "discarded_at": _iso(f.discarded_at), "changes_found": len(f.found.get("changes", [])),
        "word_comments_found": len(f.found.get("comments", [])),
    } for f, document_id, title in returned]

    data.update(_meeting_data(session, pid, networks, membership_ids))

    mail = select(MailMessage).where(MailMessage.person_id == pid)
    mail = mail.where(MailMessage.network_id == network_id) if network_id is not None else mail
    data["mails"] = [{
        "id": m.id, "network_id": m.network_id, "kind": m.email, "to": m.to_address, "created_at": _iso(m.created_at),
        "status": m.status, "attempts": m.attempts, "sent_at": _iso(m.sent_at), "failure": m.failure,
    } for m in session.scalars(mail.order_by(MailMessage.id))]

    tokens = select(ApiToken).where(ApiToken.person_id == pid, ApiToken.network_id.in_(networks))
    data["api_tokens"] = [{
        "network_id": t.network_id, "name": t.name, "prefix": t.prefix, "role": t.role,
        "created_at": _iso(t.created_at), "last_used_at": _iso(t.last_used_at), "revoked_at": _iso(t.revoked_at),
    } for t in session.scalars(tokens.order_by(ApiToken.id))]

    substitutions = session.scalars(select(Substitution).where(
        Substitution.network_id.in_(networks),
        or_(Substitution.absent_membership_id.in_(membership_ids or [-1]),
            Substitution.substitute_membership_id.in_(membership_ids or [-1]))).order_by(Substitution.id)).all()
    data["substitutions"] = [{
        "network_id": s.network_id, "as": "absent" if s.absent_membership_id in membership_ids else "substitute",
        "absent": s.absent.name, "substitute": s.substitute.name, "starts_at": _iso(s.starts_at),
        "ends_at": _iso(s.ends_at), "ended_at": _iso(s.ended_at),
    } for s in substitutions]

    if network_id is None:  # a person's sign-ins and sessions belong to no network
        data["sign_ins"] = [{"created_at": _iso(t.created_at), "expires_at": _iso(t.expires_at),
                             "used_at": _iso(t.used_at)}
                            for t in session.scalars(select(SignInToken).where(SignInToken.person_id == pid)
                                                     .order_by(SignInToken.id))]
        data["sessions"] = [{"created_at": _iso(s.created_at), "last_seen_at": _iso(s.last_seen_at),
                             "expires_at": _iso(s.expires_at), "ended_at": _iso(s.ended_at)}
                            for s in session.scalars(select(WebSession).where(WebSession.person_id == pid)
                                                     .order_by(WebSession.id))]

    # Events about them, whole; events they caused, without what they say about others.
    about = AuditEvent.data["person_id"].as_integer() == pid
    events = session.scalars(select(AuditEvent).where(AuditEvent.network_id.in_(networks),
                                                      or_(about, AuditEvent.actor_id == pid))
                             .order_by(AuditEvent.network_id, AuditEvent.seq)).all()
    data["audit_events"] = [{
        "network_id": e.network_id, "seq": e.seq, "kind": e.kind, "created_at": _iso(e.created_at),
        "document_id": e.document_id, "round_id": e.round_id, "by_them": e.actor_id == pid,
        **({"data": e.data} if (e.data or {}).get("person_id") == pid else {}),
    } for e in events]

    for concerned in networks:
        audit.record(session, concerned, "personal_data_exported", actor_id=actor.id if actor else None,
                     person_id=pid, scope="network" if network_id is not None else "all")
    return data


def _meeting_data(session: Session, person_id: int, networks: list[int], membership_ids: list[int]) -> dict[str, Any]:
    """Their meetings: the invitations with their answer, remark and whether they came; the action points they own
    (what, by when, done with which note); and their personal links to both (without tokens: only hashes are held)."""
    invitations = session.execute(
        select(MeetingInvitation, Meeting).join(Meeting, MeetingInvitation.meeting_id == Meeting.id)
        .where(MeetingInvitation.person_id == person_id, Meeting.network_id.in_(networks))
        .order_by(MeetingInvitation.id)).all()
    actions = session.execute(
        select(ActionPoint, Meeting).join(Meeting, ActionPoint.meeting_id == Meeting.id)
        .where(ActionPoint.owner_id.in_(membership_ids or [-1]), Meeting.network_id.in_(networks))
        .order_by(ActionPoint.id)).all()
    meeting_links = _chunked(session, MeetingLink, MeetingLink.invitation_id, [i.id for i, _m in invitations])
    action_links = session.scalars(select(ActionLink).where(ActionLink.owner_id.in_(membership_ids or [-1]))
                                   .order_by(ActionLink.id)).all()

    def used(link) -> dict[str, Any]:
        return {"created_at": _iso(link.created_at), "revoked_at": _iso(link.revoked_at),
                "first_used_at": _iso(link.first_used_at), "last_used_at": _iso(link.last_used_at)}

    return {
        "meeting_invitations": [{
            "network_id": m.network_id, "meeting_id": m.id, "meeting": m.title, "starts_at": _iso(m.starts_at),
            "meeting_status": m.status, "invited_at": _iso(i.invited_at), "answer": i.answer, "remark": i.remark,
            "answered_at": _iso(i.answered_at), "attended": i.attended, "removed_at": _iso(i.removed_at),
        } for i, m in invitations],
        "action_points": [{
            "network_id": m.network_id, "meeting_id": m.id, "meeting": m.title, "id": a.id, "text": a.text,
            "due_on": a.due_on.isoformat(), "status": a.status, "done_note": a.done_note, "done_at": _iso(a.done_at),
            "created_at": _iso(a.created_at),
        } for a, m in actions],
        "meeting_links": [{"invitation_id": link.invitation_id, **used(link)} for link in meeting_links],
        "action_links": [{"action_point_id": link.action_point_id, **used(link)} for link in action_links],
    }


def _chunked(session: Session, model, column, ids: list[int]) -> list:
    found = []
    for start in range(0, len(ids), 500):
        found.extend(session.scalars(select(model).where(column.in_(ids[start:start + 500])).order_by(model.id)))
    return found


# --- art. 17: erasure ------------------------------------------------------------------------------------------

def pseudonym(session: Session, network_id: int, person_id: int) -> str:
    """The person's pseudonym in one network: "Verwijderde deelnemer N", N the place of their first membership
    among the network's memberships. Fixed (it never depends on who else is erased, or when), unique within the
    network, and it tells nothing of other networks."""
    first = session.scalar(select(func.min(Membership.id)).where(Membership.network_id == network_id,
                                                                  Membership.person_id == person_id))
    if first is None:
        raise NotFound()
    number = session.scalar(select(func.count(Membership.id)).where(Membership.network_id == network_id,
                                                                     Membership.id <= first))
    return PSEUDONYM.format(number=number)


def in_other_networks(session: Session, person_id: int, network_id: int) -> bool:
    return session.scalar(select(Membership.id).where(Membership.person_id == person_id,
                                                      Membership.network_id != network_id).limit(1)) is not None


def erase_in_network(session: Session, network_id: int, person: Person, *, actor: Person | None) -> dict[str, Any]:
    """A coordinator's erasure: the person leaves the network and is pseudonymised in it. When no other network
    holds them, the person is erased altogether (`erase_person`); otherwise their address stays with the networks
    that still hold it, and only the operator erases it everywhere. Returns what was done (for the page)."""
    if actor is not None and actor.id == person.id:
        raise Conflict("erase_self")
    if person.erased_at is not None:
        raise Conflict("already_erased")
    if not in_other_networks(session, person.id, network_id):
        [done] = erase_person(session, person, actor=actor)["networks"]
        return done | {"erased_everywhere": True}
    if session.scalar(select(Membership.id).where(Membership.network_id == network_id,
                                                  Membership.person_id == person.id,
                                                  or_(Membership.left_at.is_(None),
                                                      Membership.name != pseudonym(session, network_id, person.id)))
                      .limit(1)) is None:
        raise Conflict("already_erased")  # gone from here and pseudonymised already
    now = utcnow()
    done = _erase_from_network(session, network_id, person, actor=actor, now=now, scope="network")
    web_sessions.end_unless_staff(session, person.id, now=now)  # their last staff role may have been here
    session.flush()
    return done | {"erased_everywhere": False}


def erase_person(session: Session, person: Person, *, actor: Person | None) -> dict[str, Any]:
    """Erase the person everywhere (the operator's command, or a coordinator's when only their network holds
    the person): pseudonymised in every network, the address replaced by a placeholder no mail reaches, every
    session ended, every sign-in and API token revoked, pending mail cancelled. What final documents need as
    evidence (their verdicts, as given) is kept (art. 17(3)); verdicts on documents that are not final lose it."""
    if person.erased_at is not None:
        raise Conflict("already_erased")
    person = lock(session, Person, person.id)
    now = utcnow()
    old_email = person.email
    done: dict[str, Any] = {"networks": []}
    for network_id in _network_ids(session, person.id):
        done["networks"].append(_erase_from_network(session, network_id, person, actor=actor, now=now, scope="all"))
    placeholder = PLACEHOLDER.format(id=person.id)
    person.email, person.name, person.erased_at = placeholder, ERASED_NAME, now
    session.execute(update(MailMessage).where(MailMessage.person_id == person.id)
                    .values(to_address=placeholder).execution_options(synchronize_session=False))
    _cancel_unsent(session, person.id, None, now)
    session.execute(update(SignInToken).where(SignInToken.person_id == person.id, SignInToken.used_at.is_(None),
                                              SignInToken.expires_at > now)
                    .values(expires_at=now).execution_options(synchronize_session=False))
    session.execute(update(ApiToken).where(ApiToken.person_id == person.id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now).execution_options(synchronize_session=False))
    session.execute(delete(AddressRequest).where(AddressRequest.email == old_email))
    web_sessions.end_all(session, person.id, now=now)
    session.flush()
    done["erased"] = True
    return done


def _erase_from_network(session: Session, network_id: int, person: Person, *, actor: Person | None,
                        now: dt.datetime, scope: str) -> dict[str, Any]:
    name = pseudonym(session, network_id, person.id)
    memberships = session.scalars(select(Membership).where(Membership.network_id == network_id,
                                                           Membership.person_id == person.id)).all()
    left = [m.id for m in memberships if m.left_at is None]
    for m in memberships:
        m.name = name
        m.left_at = m.left_at or now
    # The documents not final that they took part in, locked first (the lock order: document, round,
    # participant): none becomes final meanwhile with a verdict whose evidence this erasure removes.
    for document_id in list(session.scalars(
            select(Document.id).join(Round, Round.document_id == Document.id)
            .join(Participant, Participant.round_id == Round.id)
            .where(Document.network_id == network_id, Document.status != "final",
                   Participant.person_id == person.id).distinct().order_by(Document.id))):
        lock(session, Document, document_id)
    # They stop counting in open rounds, as when a member leaves (invariant 4).
    participants = session.scalars(
        select(Participant).join(Round, Participant.round_id == Round.id)
        .join(Document, Round.document_id == Document.id)
        .where(Document.network_id == network_id, Participant.person_id == person.id)
        .order_by(Participant.round_id)).all()
    for participant in participants:
        if participant.removed_at is None:
            lock(session, Round, participant.round_id)
            participant.removed_at = now
    participant_ids = [p.id for p in participants]
    for start in range(0, len(participant_ids), 500):
        session.execute(update(PersonalLink).where(PersonalLink.participant_id.in_(participant_ids[start:start + 500]),
                                                   PersonalLink.revoked_at.is_(None))
                        .values(revoked_at=now).execution_options(synchronize_session=False))
    membership_ids = [m.id for m in memberships]
    session.execute(update(Substitution).where(
        Substitution.network_id == network_id, Substitution.ended_at.is_(None), Substitution.ends_at > now,
        or_(Substitution.absent_membership_id.in_(membership_ids),
            Substitution.substitute_membership_id.in_(membership_ids)))
        .values(ended_at=now).execution_options(synchronize_session=False))
    session.execute(update(ApiToken).where(ApiToken.person_id == person.id, ApiToken.network_id == network_id,
                                           ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now).execution_options(synchronize_session=False))
    # The network's record of its mail to them keeps no address, and nothing more goes out.
    session.execute(update(MailMessage).where(MailMessage.person_id == person.id, MailMessage.network_id == network_id)
                    .values(to_address=PLACEHOLDER.format(id=person.id)).execution_options(synchronize_session=False))
    cancelled = _cancel_unsent(session, person.id, network_id, now)
    withdrawn = _erase_meeting_data(session, network_id, person, membership_ids, now)
    scrubbed = _scrub_verdicts(session, network_id, person, membership_ids, name)
    returned_kept, returned_deleted = _erase_returned_files(session, network_id, person)
    comments = session.scalar(select(func.count(Comment.id)).join(Round, Comment.round_id == Round.id)
                              .join(Document, Round.document_id == Document.id)
                              .where(Document.network_id == network_id, Comment.person_id == person.id))
    session.flush()
    done = {"network_id": network_id, "pseudonym": name, "memberships_ended": left, "verdicts_scrubbed": scrubbed,
            "comments_pseudonymised": comments, "mails_cancelled": cancelled,
            "meeting_invitations_withdrawn": withdrawn, "returned_files_kept": returned_kept,
            "returned_files_deleted": returned_deleted}
    # No personal data here: the chain keeps it for good.
    audit.record(session, network_id, "person_erased", actor_id=actor.id if actor else None, person_id=person.id,
                 scope=scope, **{key: value for key, value in done.items() if key != "network_id"})
    return done


def _erase_returned_files(session: Session, network_id: int, person: Person) -> tuple[int, int]:
    """Their returned Word files, as their comments: a file their comments came from stays as those comments'
    evidence (shown under the pseudonym, like the comments); a file nothing came from (not submitted, or nothing
    chosen) is evidence of nothing and goes, with its bytes unless something else holds the same bytes."""
    files = session.scalars(select(ReturnedFile).join(Round, ReturnedFile.round_id == Round.id)
                            .join(Document, Round.document_id == Document.id)
                            .where(Document.network_id == network_id, ReturnedFile.person_id == person.id)).all()
    gone = [f for f in files if f.submitted_at is None]
    for returned in gone:
        session.delete(returned)
    session.flush()
    for sha256 in {f.sha256 for f in gone}:
        held = session.scalar(select(ReturnedFile.id).where(ReturnedFile.sha256 == sha256).limit(1)) or \
            session.scalar(select(Version.id).where(Version.original_sha256 == sha256).limit(1)) or \
            session.scalar(select(Finalisation.id).where(or_(
                Finalisation.docx_sha256 == sha256, Finalisation.pdf_sha256 == sha256,
                Finalisation.dossier_json_sha256 == sha256, Finalisation.dossier_pdf_sha256 == sha256)).limit(1))
        if held is None:
            session.execute(delete(Blob).where(Blob.sha256 == sha256))
    return len(files) - len(gone), len(gone)


def _erase_meeting_data(session: Session, network_id: int, person: Person, membership_ids: list[int],
                        now: dt.datetime) -> int:
    """Their meetings, under the policy of their rounds: what the network's record of a meeting rests on stays and
    names them only by the pseudonym (their membership's name), as comments do; what no record needs goes, as a
    verdict's personal evidence does. So: an answer and whether they came stay (the attendance in the minutes, like
    a verdict's value); the action points they own stay, with their text and done note (the minutes, like a comment's
    body), and stop reminding them (they left); the remark with their answer is blanked (it is in no record: a
    note to the organisers, like a verdict's user agent); invitations to meetings still to come are withdrawn, as
    they stop counting in open rounds; every personal link to a meeting or an action point dies now, as their
    round links do. The audit chain is not touched (the module's rule). Returns how many invitations were
    withdrawn."""
    meeting_ids = select(Meeting.id).where(Meeting.network_id == network_id)
    invitation_ids = select(MeetingInvitation.id).where(MeetingInvitation.person_id == person.id,
                                                        MeetingInvitation.meeting_id.in_(meeting_ids))
    withdrawn = session.execute(
        update(MeetingInvitation).where(
            MeetingInvitation.id.in_(invitation_ids), MeetingInvitation.removed_at.is_(None),
            MeetingInvitation.meeting_id.in_(meeting_ids.where(Meeting.starts_at > now, Meeting.status == "planned")))
        .values(removed_at=now).execution_options(synchronize_session=False)).rowcount
    session.execute(update(MeetingInvitation).where(MeetingInvitation.id.in_(invitation_ids),
                                                    MeetingInvitation.remark != "")
                    .values(remark="").execution_options(synchronize_session=False))
    session.execute(update(MeetingLink).where(MeetingLink.invitation_id.in_(invitation_ids),
                                              MeetingLink.revoked_at.is_(None))
                    .values(revoked_at=now).execution_options(synchronize_session=False))
    session.execute(update(ActionLink).where(ActionLink.owner_id.in_(membership_ids or [-1]),
                                             ActionLink.revoked_at.is_(None))
                    .values(revoked_at=now).execution_options(synchronize_session=False))
    for obj in list(session.identity_map.values()):  # what the session had loaded of them is stale now
        if isinstance(obj, MeetingInvitation | MeetingLink | ActionLink):
            session.expire(obj)
    return withdrawn


def _cancel_unsent(session: Session, person_id: int, network_id: int | None, now: dt.datetime) -> int:
    statement = update(MailMessage).where(MailMessage.person_id == person_id, MailMessage.status.in_(UNSENT))
    if network_id is not None:
        statement = statement.where(MailMessage.network_id == network_id)
    return session.execute(statement.values(status="cancelled", failure="not_needed", next_attempt_at=None)
                           .execution_options(synchronize_session=False)).rowcount


def _substitutions(session: Session, membership_ids: list[int]) -> tuple[list[int], list[int]]:
    """The ids of the substitutions in which these memberships were the absent person, and the substitute."""
    rows = session.execute(select(Substitution.id, Substitution.absent_membership_id).where(or_(
        Substitution.absent_membership_id.in_(membership_ids or [-1]),
        Substitution.substitute_membership_id.in_(membership_ids or [-1])))).all()
    absent = [sid for sid, absent_id in rows if absent_id in membership_ids]
    return absent, [sid for sid, _absent_id in rows if sid not in absent]


# The personal evidence of a verdict, the only columns an erasure may change (and the database lets it).
ERASABLE = ("person_name", "person_email", "ip_address", "user_agent", "on_behalf_of_name", "on_behalf_of_email")


def _scrub_verdicts(session: Session, network_id: int, person: Person, membership_ids: list[int], name: str) -> int:
    """Verdicts on the network's documents that are not final lose the personal part of their evidence (address,
    IP address, user agent; the name becomes the pseudonym); those on final documents keep all of it, as the
    final document's approval rests on them. A substitute's verdict is on the absent person's participant with the
    substitute's evidence and the absent person's name as *namens*: each loses only their own part. Verdicts are
    append-only: the database refuses every change and every deletion but this one, the blanking the law asks
    for (migration 0009)."""
    not_final = (select(Round.id).join(Document, Round.document_id == Document.id)
                 .where(Document.network_id == network_id, Document.status != "final"))
    own = set(session.scalars(select(Participant.id).where(Participant.person_id == person.id)))
    absent_subs, substitute_subs = map(set, _substitutions(session, membership_ids))
    table: Table = Verdict.__table__
    rows = session.execute(select(table).where(table.c.round_id.in_(not_final), or_(
        table.c.participant_id.in_(own or [-1]), table.c.substitution_id.in_(absent_subs | substitute_subs or [-1])))
        .order_by(table.c.id)).mappings().all()
    if not rows:
        return 0
    session.flush()  # what this erasure changed so far is written before the session forgets what it loaded
    scrubbed = []
    for row in rows:
        values = dict(row)
        substitution = values["substitution_id"]
        if (substitution is None and values["participant_id"] in own) or substitution in substitute_subs:
            values.update(person_name=name, person_email="", ip_address="", user_agent="")  # given by them
        if substitution in absent_subs:
            values.update(on_behalf_of_name=name, on_behalf_of_email="")  # given for them
        scrubbed.append(values)
    for values in scrubbed:
        session.execute(update(table).where(table.c.id == values["id"]).values(
            {key: values[key] for key in ERASABLE}))
    for obj in list(session.identity_map.values()):  # what the session had loaded of them is stale now
        if isinstance(obj, Verdict | Participant):
            session.expire(obj)
    return len(scrubbed)


def network_memberships(session: Session, network_id: int) -> list[Membership]:
    """The network's people, present and past (newest membership of each), for the coordinator's privacy page."""
    newest = (select(func.max(Membership.id)).where(Membership.network_id == network_id)
              .group_by(Membership.person_id))
    return list(session.scalars(select(Membership).where(Membership.id.in_(newest)).order_by(Membership.name)))

