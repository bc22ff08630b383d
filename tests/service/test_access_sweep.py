"""Access control, swept: every route of the app (pages and API, from the app's own URL map) is tried by every kind of
actor — anonymous, a coordinator of another network, a member and an observer holding their personal link, an
editor, a coordinator, a coordinator who left with an old cookie, and a member who left with an old link cookie —
with the ids of one network. Each answer is checked against the route's rule, and a refused request changes
nothing in that network. A route added without a rule here fails the sweep, so nothing new goes unguarded.

What an allowed actor may then do with a POST is for the functional tests; here only refusals are sent as POSTs
(with a valid CSRF token of the actor's own session, so that it is the access rule that refuses, not CSRF)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass

import docx
import pytest
from sqlalchemy import select, text

from storage.database.models import MailMessage, Participant, WebhookDelivery, utcnow
from tests.api.conftest import SECOND_TEXT
from tests.conftest import csrf_token
from tests.factories import make_document, make_network, open_round, participant
from tests.service.test_staff_pages import signed_in
from workflows.domain import (
    action_followup,
    api_tokens,
    comments,
    documents,
    finalising,
    meetings,
    membership,
    minutes,
    returned_files,
    rounds,
    substitutes,
    webhooks,
)
from workflows.domain.exports import version_docx

ACTORS = ("anonymous", "other_coordinator", "member", "observer", "editor", "coordinator", "removed_coordinator",
          "removed_member")
STAFF = {"editor", "coordinator"}

# Who may use each route. public: anyone; signed_in: any signed-in person; staff: the network's coordinators and
# editors; coordinator: its coordinators; participant: whoever holds a working personal link of that participant;
# api: bearer tokens only (a browser's cookie is never a credential there); api_public: the API's description;
# invitee: whoever holds a working meeting link of that invitation; action_owner: whoever holds a working link of
# that action point's owner.
RULES = {
    "hello": "public",
    "health.healthz": "public", "health.readyz": "public",  # nothing personal: statuses, counts, ages (test_health)
    "metrics": "public",  # 404 without METRICS_TOKEN (as here), else a bearer token of its own (test_metrics)
    "auth.sign_in": "public", "auth.confirm": "public", "auth.complete": "public", "auth.sign_out": "public",
    "auth.set_language": "public",
    "member.request_link": "public", "member.open_link": "public",
    "staff.dashboard": "signed_in", "staff.create_network": "signed_in",
    "member.review": "participant", "member.all_comments": "participant", "member.changes": "participant",
    "member.earlier_comments": "participant", "member.comment_form": "participant", "member.add_comment": "participant",
    "member.give_verdict": "participant", "member.seen": "participant",
    "substitutes.member_page": "participant", "substitutes.member_name": "participant",
    "substitutes.member_end": "participant", "substitutes.give_verdict_for": "participant",
    "substitutes.network_page": "staff", "substitutes.network_name": "coordinator",
    "substitutes.network_end": "coordinator",
    "member.dossier_pdf": "participant", "member.dossier_json": "participant",
    "member.search": "participant", "member.draft_docx": "participant", "member.draft_pdf": "participant",
    "member.print_version": "participant", "member.final_docx": "participant", "member.final_pdf": "participant",
    "member.print_final": "participant",
    "member.commentaartabellen": "participant", "member.commentaartabel": "participant",
    "member.returned_upload_page": "participant", "member.upload_returned": "participant",
    "member.returned_file": "participant", "member.submit_returned": "participant",
    "member.discard_returned": "participant", "member.returned_file_download": "staff",
    "staff.dossier_pdf": "staff", "staff.dossier_json": "staff",
    "staff.network": "staff", "staff.document": "staff", "staff.version": "staff", "staff.version_docx": "staff",
    "staff.version_original": "staff", "staff.compare": "staff", "staff.compare_docx": "staff",
    "staff.round_page": "staff", "staff.processing": "staff", "staff.commentaartabel": "staff",
    "staff.draft_next_version": "staff",
    "staff.final_pdf": "staff", "staff.final_docx": "staff", "staff.create_document": "staff",
    "staff.upload_version": "staff", "staff.process_comment": "staff", "staff.reply_to_comment": "staff",
    "webhooks.index": "staff", "api_tokens.tokens": "staff", "api_tokens.create": "staff",
    "api_tokens.revoke": "staff", "mail.index": "staff",
    "staff.add_member": "coordinator", "staff.import_members": "coordinator", "staff.remove_member": "coordinator",
    "staff.open_round": "coordinator", "staff.extend_deadline": "coordinator", "staff.remind_now": "coordinator",
    "staff.reminder_schedule": "coordinator", "staff.close_round": "coordinator", "staff.resend_link": "coordinator",
    "staff.finalise": "coordinator", "webhooks.add": "coordinator", "webhooks.disable": "coordinator",
    "webhooks.rotate_secret": "coordinator", "webhooks.redeliver": "coordinator", "mail.send_again": "coordinator",
    "mail.correct_email": "coordinator",
    "staff.set_network_rule": "coordinator", "staff.set_document_rule": "coordinator",
    "staff.set_representative": "coordinator",
    "organisations.register": "staff", "organisations.register_xlsx": "staff", "organisations.record": "staff",
    "organisations.add_organisation": "coordinator", "organisations.update_organisation": "coordinator",
    "organisations.record_joining": "coordinator", "organisations.record_leaving": "coordinator",
    "organisations.import_organisations": "coordinator", "organisations.update_record": "coordinator",
    "organisations.set_board": "coordinator", "organisations.remove_from_board": "coordinator",
    "privacy.index": "coordinator", "privacy.member": "coordinator", "privacy.export": "coordinator",
    "privacy.erase": "coordinator",
    "meetings.index": "staff", "meetings.feed": "staff", "meetings.plan": "staff", "meetings.edit": "staff",
    "meetings.meeting": "staff", "meetings.add_item": "staff", "meetings.move_item": "staff",
    "meetings.remove_item": "staff", "meetings.choose_comments": "staff", "meetings.invite": "staff", "meetings.remind": "staff", "meetings.cancel": "staff",
    "meetings.open_link": "public",
    "meetings.sign_up": "invitee", "meetings.answer": "invitee", "meetings.item": "invitee",
    "minutes.page": "staff", "minutes.notes": "staff", "minutes.add_decision": "staff",
    "minutes.change_decision": "staff", "minutes.remove_decision": "staff", "minutes.add_action": "staff",
    "minutes.change_action": "staff", "minutes.remove_action": "staff", "minutes.action_done": "staff",
    "minutes.attendance": "staff",
    "minutes.open_action_link": "public", "minutes.owner_page": "action_owner", "minutes.owner_done": "action_owner",
    "minutes_document.put_to_round": "staff",
}
API_PUBLIC = {"api.openapi_json", "api.docs", "api.problem_type"}


def rule_of(endpoint: str) -> str:
    if endpoint in RULES:
        return RULES[endpoint]
    if endpoint.startswith("api."):
        return "api_public" if endpoint in API_PUBLIC else "api"
    raise AssertionError(f"the route {endpoint!r} has no access rule in {__name__}.RULES: add one")


def allowed(rule: str, actor: str) -> bool:
    return {
        "public": True, "api_public": True, "api": False,
        # Losing one's last staff role ends one's sessions: the removed coordinator is signed out everywhere.
        "signed_in": actor in STAFF | {"other_coordinator"},
        # The member's own pages: an observer of the same round holds a link of their own, not this one.
        "staff": actor in STAFF, "coordinator": actor == "coordinator", "participant": actor == "member",
        "invitee": actor == "member", "action_owner": actor == "member",
    }[rule]


@dataclass
class Network:
    ids: dict[str, int]
    network_id: int


def build(db):
    network, coordinator, people = make_network(db, members=2, observers=1)
    editor, member, leaving, observer = people
    document, _first = make_document(db, network, coordinator)
    second = documents.upload_version(db, document, filename="v2.md", data=SECOND_TEXT.encode(),
                                      change_note="tweede", actor=editor.person)
    webhook, _ = webhooks.register(db, network.id, url="https://127.0.0.1:9/hook", actor=coordinator,
                                   allow_private=True)
    round_ = open_round(db, document, coordinator)
    db.commit()
    mine = participant(db, round_, member)
    comment = rounds.add_comment(db, mine, body="Graag ook de apotheek noemen.", block_id=second.blocks[1]["id"])
    # The member's edited copy of the version, back from Word with a comment (kept as evidence, not submitted).
    word = docx.Document(io.BytesIO(version_docx(db, second)[1]))
    commented = next(p for p in word.paragraphs if p.runs)
    word.add_comment(commented.runs, text="Klopt dit?", author="Lid")
    copy = io.BytesIO()
    word.save(copy)
    returned = returned_files.upload_returned(db, mine, filename="terug.docx", data=copy.getvalue(), now=utcnow())
    token_row, _ = api_tokens.create_token(db, network, coordinator, role="coordinator", name="sweep")
    links = {name: rounds.mint_link(db, participant(db, round_, who).id)
             for name, who in (("member", member), ("observer", observer), ("removed_member", leaving))}
    # Processed, so that the member may read the round's commentaartabel once it is over.
    comments.process_comment(db, comment, disposition="overgenomen", answer="", actor=coordinator)
    # Made final, so that its final files are there to download (the links stay readable after the round).
    for voter in db.scalars(select(Participant).where(Participant.round_id == round_.id, Participant.can_vote)):
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    finalising.finalise_document(db, document, second, actor=coordinator)
    substitution = substitutes.name_substitute(db, member, editor.id, starts_at=utcnow(),
                                               ends_at=utcnow() + dt.timedelta(days=7), actor=member.person)
    # A meeting with an agenda item about the second version and its round (so the staff may choose its comments);
    # the member holds a link to its sign-up page.
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title="Bijeenkomst", starts_at=utcnow() + dt.timedelta(days=10), duration_minutes=120, place="Utrecht"),
        actor=coordinator)
    item = meetings.add_agenda_item(db, meeting, title="Versie 2", actor=coordinator,
                                    link=meetings.AgendaLink(version_id=second.id, round_id=round_.id))
    meetings.invite(db, meeting, actor=coordinator)
    invitation = next(i for i in meetings.attendance(db, meeting).invitations if i.person_id == member.person_id)
    links["member_meeting"] = meetings.mint_link(db, invitation.id)
    # Its minutes, written as if it were over: a decision and an action point for the minutes' routes.
    after = meeting.starts_at + dt.timedelta(hours=1)
    decision = minutes.add_decision(db, meeting, item.id, "Versie 2 gaat in commentaarronde.", actor=coordinator,
                                    now=after)
    action = minutes.add_action_point(db, meeting, minutes.ActionInput(
        "Apotheek uitnodigen", member.id, meeting.starts_at.date() + dt.timedelta(days=7)), actor=coordinator,
        now=after)
    links["member_action"] = action_followup.mint_link(db, action.id)
    db.commit()
    delivery = db.scalar(select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id))
    mail = db.scalar(select(MailMessage).where(MailMessage.round_id == round_.id).order_by(MailMessage.id).limit(1))
    ids = {"network_id": network.id, "membership_id": member.id, "document_id": document.id,
           "version_id": second.id, "round_id": round_.id, "participant_id": mine.id, "comment_id": comment.id,
           "webhook_id": webhook.id, "delivery_id": delivery.id, "mail_id": mail.id, "token_id": token_row.id,
           "organisation_id": member.organisation_id, "person_id": member.person_id,
           "substitution_id": substitution.id, "meeting_id": meeting.id, "item_id": item.id,
           "invitation_id": invitation.id, "decision_id": decision.id, "action_id": action.id,
           "returned_file_id": returned.id, "action_point_id": action.id}
    return network, coordinator, editor, leaving, links, ids


def fingerprint(db, network_id: int) -> str:
    """Everything of the network a request could change, as one hash (the audit chain's head included)."""
    queries = [
        "SELECT id, status, final_version_id, title FROM documents WHERE network_id = :n ORDER BY id",
        "SELECT v.id FROM versions v JOIN documents d ON d.id = v.document_id WHERE d.network_id = :n ORDER BY v.id",
        "SELECT r.id, r.status, r.deadline, r.closed_at, r.reminder_days FROM rounds r JOIN documents d ON "
        "d.id = r.document_id WHERE d.network_id = :n ORDER BY r.id",
        "SELECT p.id, p.removed_at, p.current_verdict_id, p.first_opened_at FROM participants p JOIN rounds r ON "
        "r.id = p.round_id JOIN documents d ON d.id = r.document_id WHERE d.network_id = :n ORDER BY p.id",
        "SELECT l.id, l.revoked_at, l.expires_at FROM personal_links l JOIN participants p ON p.id = l.participant_id "
        "JOIN rounds r ON r.id = p.round_id JOIN documents d ON d.id = r.document_id WHERE d.network_id = :n "
        "ORDER BY l.id",
        "SELECT c.id, c.disposition, c.answer FROM comments c JOIN rounds r ON r.id = c.round_id JOIN documents d ON "
        "d.id = r.document_id WHERE d.network_id = :n ORDER BY c.id",
        "SELECT id, role, left_at, name FROM memberships WHERE network_id = :n ORDER BY id",
        "SELECT p.id, p.email, p.name FROM people p JOIN memberships m ON m.person_id = p.id WHERE m.network_id = :n "
        "ORDER BY p.id",
        "SELECT id, disabled_at, secret FROM webhooks WHERE network_id = :n ORDER BY id",
        "SELECT id, revoked_at FROM api_tokens WHERE network_id = :n ORDER BY id",
        "SELECT id, status, attempts, to_address FROM outbox WHERE network_id = :n ORDER BY id",
        "SELECT seq, hash FROM audit_chains WHERE network_id = :n",
        "SELECT id, starts_at, ends_at, ended_at FROM substitutions WHERE network_id = :n ORDER BY id",
        "SELECT id, kind, has_vote, joined_at, left_at, left_reference FROM organisations WHERE network_id = :n "
        "ORDER BY id",
        "SELECT purpose, target_group, privacy_statement FROM networks WHERE id = :n",
        "SELECT id, board, discipline, representative FROM memberships WHERE network_id = :n ORDER BY id",
        "SELECT id, title, status, sequence, starts_at, invited_at, reminder_slots FROM meetings WHERE network_id = :n "
        "ORDER BY id",
        "SELECT a.id, a.position, a.title FROM agenda_items a JOIN meetings m ON m.id = a.meeting_id "
        "WHERE m.network_id = :n ORDER BY a.id",
        "SELECT i.id, i.answer, i.remark, i.removed_at FROM meeting_invitations i JOIN meetings m ON "
        "m.id = i.meeting_id WHERE m.network_id = :n ORDER BY i.id",
        "SELECT l.id, l.revoked_at, l.first_used_at FROM meeting_links l JOIN meeting_invitations i ON "
        "i.id = l.invitation_id JOIN meetings m ON m.id = i.meeting_id WHERE m.network_id = :n ORDER BY l.id",
        "SELECT a.id, a.notes FROM agenda_items a JOIN meetings m ON m.id = a.meeting_id WHERE m.network_id = :n "
        "ORDER BY a.id",
        "SELECT i.id, i.attended FROM meeting_invitations i JOIN meetings m ON m.id = i.meeting_id "
        "WHERE m.network_id = :n ORDER BY i.id",
        "SELECT d.id, d.text, d.agenda_item_id FROM meeting_decisions d JOIN meetings m ON m.id = d.meeting_id "
        "WHERE m.network_id = :n ORDER BY d.id",
        "SELECT c.decision_id, c.comment_id FROM meeting_decision_comments c JOIN meeting_decisions d ON "
        "d.id = c.decision_id JOIN meetings m ON m.id = d.meeting_id WHERE m.network_id = :n "
        "ORDER BY c.decision_id, c.comment_id",
        "SELECT a.id, a.text, a.owner_id, a.due_on, a.status, a.done_note, a.sequence, a.reminder_slots "
        "FROM action_points a JOIN meetings m ON m.id = a.meeting_id WHERE m.network_id = :n ORDER BY a.id",
        "SELECT f.id, f.submitted_at, f.discarded_at FROM returned_files f JOIN rounds r ON r.id = f.round_id "
        "JOIN documents d ON d.id = r.document_id WHERE d.network_id = :n ORDER BY f.id",
        "SELECT l.id, l.revoked_at, l.first_used_at FROM action_links l JOIN action_points a ON "
        "a.id = l.action_point_id JOIN meetings m ON m.id = a.meeting_id WHERE m.network_id = :n ORDER BY l.id",
    ]
    db.rollback()
    digest = hashlib.sha256()
    for query in queries:
        for row in db.execute(text(query), {"n": network_id}):
            digest.update(repr(tuple(row)).encode())
    db.rollback()  # end the read: on SQLite the test's transaction would hold the lock the app needs
    return digest.hexdigest()


@pytest.fixture
def actors(app, db):
    """A client per actor, each with its own session, and the network whose ids they all ask for."""
    network, coordinator, editor, leaving, links, ids = build(db)
    _other_network, other_coordinator, _ = make_network(db, members=0, editors=0)
    gone, _, _ = make_network(db, members=0, editors=0)  # a second network keeps `gone` a signed-in person
    leaver = membership.add_member(db, network, name="Vertrokken Coördinator", email=f"gone-{ids['network_id']}@example.org",
                                   organisation_name="", role="coordinator", actor=coordinator)
    db.commit()
    clients = {"anonymous": app.test_client(), "coordinator": signed_in(app, db, coordinator),
               "editor": signed_in(app, db, editor.person), "other_coordinator": signed_in(app, db, other_coordinator),
               "removed_coordinator": signed_in(app, db, leaver.person)}
    for name in ("member", "observer", "removed_member"):
        client = app.test_client()
        assert client.get(f"/l/{links[name]}").status_code == 303
        if name == "member":
            assert client.get(f"/m/{links['member_meeting']}").status_code == 303
            assert client.get(f"/a/{links['member_action']}").status_code == 303
        clients[name] = client
    # They leave after their sessions began: the old cookies must open nothing any more.
    membership.remove_member(db, leaver, actor=coordinator)
    membership.remove_member(db, leaving, actor=coordinator)
    db.commit()
    del gone
    return clients, ids


def url_for_rule(rule, ids: dict[str, int]) -> str:
    values = {}
    for argument in rule.arguments:
        if argument in ids:
            values[argument] = ids[argument]
        elif argument == "token":
            values[argument] = "x" * 43
        elif argument == "code":
            values[argument] = "en"
        elif argument == "filename":
            values[argument] = "app.css"
        else:
            raise AssertionError(f"the sweep has no value for <{argument}> in {rule.rule}")
    path = rule.rule
    for name, value in values.items():
        path = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(value), path)
    return path


REFUSED = {302, 303, 401, 403, 404, 405, 410}


def refused(response, actor: str, rule: str) -> bool:
    if response.status_code in (302, 303):
        # Only a redirect to sign in is a refusal (a page does not send an anonymous visitor anywhere else).
        return "/signin" in response.headers.get("Location", "")
    return response.status_code in REFUSED


def test_every_route_answers_every_actor_by_its_rule_and_a_refusal_changes_nothing(app, db, actors):
    clients, ids = actors
    tokens = {name: csrf_token(client.get("/signin").get_data(as_text=True)) for name, client in clients.items()}
    problems, tried = [], 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        access = rule_of(rule.endpoint)
        path = url_for_rule(rule, ids)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for actor in ACTORS:
                may = allowed(access, actor)
                if method != "GET" and may:
                    continue  # what an allowed actor may do with a POST is for the functional tests
                before = fingerprint(db, ids["network_id"])
                client = clients[actor]
                if method == "GET":
                    response = client.get(path)
                else:
                    response = client.open(path, method=method, data={"csrf_token": tokens[actor]})
                tried += 1
                status = response.status_code
                if status >= 500:
                    problems.append(f"{actor} {method} {path}: {status}")
                elif may and refused(response, actor, access) and access not in ("public", "api_public"):
                    problems.append(f"{actor} {method} {path}: refused ({status}) though the rule is {access}")
                elif not may and not refused(response, actor, access):
                    problems.append(f"{actor} {method} {path}: {status} though the rule is {access}")
                if not may and fingerprint(db, ids["network_id"]) != before:
                    problems.append(f"{actor} {method} {path}: a refused request changed the network")
    assert tried > 300
    assert problems == [], "\n".join(problems)


def test_every_route_has_a_rule(app):
    missing = [r.endpoint for r in app.url_map.iter_rules()
               if r.endpoint != "static" and not r.endpoint.startswith("api.") and r.endpoint not in RULES]
    assert missing == [], f"routes without an access rule in {__name__}.RULES: {missing}"
