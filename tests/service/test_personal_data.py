"""Personal data (AVG/GDPR) over HTTP and the command line, with a real worker and SMTP: a coordinator's export holds
the person's data in their network and nothing another network stored; erasure removes the address (no mail goes
to it, the old link answers 410, the session ends), pseudonymises the comments on the pages and in the
commentaartabel, keeps the evidence of verdicts on final documents, drops it from the others, and leaves every
audit chain intact."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import docx
import openpyxl
import pytest
from sqlalchemy import func, select

from storage.database.models import (
    ActionLink,
    ActionPoint,
    ApiToken,
    AuditEvent,
    Blob,
    Comment,
    MailMessage,
    Meeting,
    MeetingInvitation,
    MeetingLink,
    Membership,
    Participant,
    Person,
    PersonalLink,
    ReturnedFile,
    Substitution,
    Verdict,
    WebSession,
    utcnow,
)
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.service.test_staff_pages import signed_in
from workflows import audit
from workflows.domain import (
    action_followup,
    api_tokens,
    finalising,
    meetings,
    membership,
    minutes,
    notifications,
    personal_data,
    returned_files,
    rounds,
    substitutes,
)
from workflows.domain.exports import version_docx

AGENT = "Mozilla/5.0 (AVG-test)"
DAY = dt.timedelta(days=1)


def _act(app, token: str, *, comment: str, verdict: str = "akkoord"):
    """The member follows their link, comments and gives a verdict, as a browser does; returns the client and
    the review page's path."""
    client = app.test_client()
    review = client.get(f"/l/{token}").headers["Location"]
    page = client.get(review, headers={"User-Agent": AGENT}).get_data(as_text=True)
    token_ = csrf_token(page)
    assert client.post(review + "comments", data={"body": comment, "csrf_token": token_},
                       headers={"User-Agent": AGENT}).status_code == 303
    assert client.post(review + "verdict", data={"value": verdict, "csrf_token": token_},
                       headers={"User-Agent": AGENT}).status_code == 303
    return client, review


@pytest.fixture
def world(app, db):
    """Network A: a final document and one in review, on both of which Marit commented and gave her verdict over
    HTTP, and a reminder to her still waiting in the outbox. Network B knows the same address as "M. de Boer",
    an editor there, with a comment of its own."""
    network, coordinator, people = make_network(db, members=2)
    marit = membership.add_member(db, network, name="Marit Jansen", email=f"marit-{network.id}@example.org",
                                  organisation_name="Huisartsenpraktijk Oost", role="member", actor=coordinator)
    other, other_coordinator, _ = make_network(db, members=1)
    elsewhere = membership.add_member(db, other, name="M. de Boer", email=marit.person.email,
                                      organisation_name="Apotheek West", role="editor", actor=other_coordinator)
    final_doc, final_version = make_document(db, network, coordinator)
    final_round = open_round(db, final_doc, coordinator)
    review_doc, _ = make_document(db, network, coordinator)
    review_round = open_round(db, review_doc, coordinator)
    other_doc, _ = make_document(db, other, other_coordinator)
    other_round = open_round(db, other_doc, other_coordinator)
    tokens = {name: rounds.mint_link(db, participant(db, round_, who).id)
              for name, round_, who in (("final", final_round, marit), ("review", review_round, marit),
                                        ("other", other_round, elsewhere))}
    db.commit()
    _act(app, tokens["final"], comment="Graag de apotheek noemen in artikel 2.")
    review_client, review_path = _act(app, tokens["review"], comment="Paragraaf 3 is onduidelijk.",
                                      verdict="akkoord_met_opmerkingen")
    _act(app, tokens["other"], comment="Opmerking uit het andere netwerk.")
    fresh(db)
    for voter in db.scalars(select(Participant).where(Participant.round_id == final_round.id, Participant.can_vote,
                                                      Participant.current_verdict_id.is_(None))):
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    finalising.finalise_document(db, final_doc, final_version, actor=coordinator)
    held = notifications.queue_email(db, "reminder", marit.person, key=f"test-reminder:{marit.id}",
                                     network_id=network.id, round_id=review_round.id, held=True,
                                     participant_id=participant(db, review_round, marit).id)
    db.commit()
    return dict(network=network, coordinator=coordinator, marit=marit, other=other, elsewhere=elsewhere,
                other_coordinator=other_coordinator, final_doc=final_doc, final_round=final_round,
                review_round=review_round, other_round=other_round, tokens=tokens, review_client=review_client,
                review_path=review_path, held_id=held.id, email=marit.person.email)


def _verdict(db, round_id: int, person_id: int) -> Verdict:
    return db.scalar(select(Verdict).join(Participant, Verdict.participant_id == Participant.id)
                     .where(Verdict.round_id == round_id, Participant.person_id == person_id))


def test_a_coordinators_export_holds_the_network_data_and_nothing_of_another_network(app, db, world):
    network, marit = world["network"], world["marit"]
    coordinator = signed_in(app, db, world["coordinator"])
    page = coordinator.get(f"/n/{network.id}/members/{marit.id}/privacy")
    assert page.status_code == 200 and "Marit Jansen" in page.get_data(as_text=True)
    assert coordinator.post(f"/n/{network.id}/members/{marit.id}/export").status_code == 400  # no CSRF token
    response = coordinator.post(f"/n/{network.id}/members/{marit.id}/export",
                                data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data())
    text = response.get_data(as_text=True)
    assert data["person"]["email"] == world["email"] and "name" not in data["person"]  # people.name: no network's
    assert [m["name"] for m in data["memberships"]] == ["Marit Jansen"]
    assert data["memberships"][0]["organisation"] == "Huisartsenpraktijk Oost"
    assert {p["round_id"] for p in data["participations"]} >= {world["final_round"].id, world["review_round"].id}
    assert all(p["first_opened_at"] for p in data["participations"])
    assert {v["value"] for v in data["verdicts"]} == {"akkoord", "akkoord_met_opmerkingen"}
    assert all(v["evidence"]["user_agent"] == AGENT and v["evidence"]["ip_address"] for v in data["verdicts"])
    assert {c["body"] for c in data["comments"]} == {"Graag de apotheek noemen in artikel 2.",
                                                     "Paragraaf 3 is onduidelijk."}
    assert {m["kind"] for m in data["mails"]} >= {"reminder"} and all("token" not in m for m in data["mails"])
    assert any(e["kind"] == "member_joined" for e in data["audit_events"])
    # Nothing network B stored: its name for her, its organisation, her comment there, the network itself.
    for foreign in ("M. de Boer", "Apotheek West", "Opmerking uit het andere netwerk", world["other"].name):
        assert foreign not in text
    assert "sessions" not in data and "sign_ins" not in data and "token_hash" not in text
    fresh(db)
    kinds = lambda n: [e.kind for e in db.scalars(select(AuditEvent).where(AuditEvent.network_id == n))]  # noqa: E731
    assert "personal_data_exported" in kinds(network.id)
    assert "personal_data_exported" not in kinds(world["other"].id)
    # Another network's coordinator cannot export her from network A.
    stranger = signed_in(app, db, world["other_coordinator"])
    token = csrf_token(stranger.get("/").get_data(as_text=True))
    assert stranger.post(f"/n/{network.id}/members/{marit.id}/export", data={"csrf_token": token}).status_code in (
        403, 404)


def test_a_coordinator_erases_within_the_network_keeping_final_evidence(app, db, world, run_worker, mail_store):
    network, marit, email = world["network"], world["marit"], world["email"]
    person_id = marit.person_id
    coordinator = signed_in(app, db, world["coordinator"])
    page_path = f"/n/{network.id}/members/{marit.id}/privacy"
    page = coordinator.get(page_path).get_data(as_text=True)
    token = csrf_token(page)
    erase = f"/n/{network.id}/members/{marit.id}/erase"
    assert coordinator.get(erase).status_code == 405  # a GET never erases
    assert coordinator.post(erase, data={"csrf_token": token}).status_code == 400  # not confirmed
    fresh(db)
    assert db.get(Membership, marit.id).name == "Marit Jansen" and db.get(Membership, marit.id).left_at is None
    response = coordinator.post(erase, data={"csrf_token": token, "confirm": "yes"})
    assert response.status_code == 303
    fresh(db)
    pseudonym = db.get(Membership, marit.id).name
    assert pseudonym.startswith("Verwijderde deelnemer ") and db.get(Membership, marit.id).left_at is not None
    # She is still in network B: the address stays there, under B's own name, and her B link still works.
    person = db.get(Person, person_id)
    assert person.email == email and person.erased_at is None
    assert db.get(Membership, world["elsewhere"].id).name == "M. de Boer"
    assert app.test_client().get(f"/l/{world['tokens']['other']}").status_code == 303
    # Her links into network A are dead: the old link and the cookie it left both answer 410.
    assert app.test_client().get(f"/l/{world['tokens']['review']}").status_code == 410
    assert world["review_client"].get(world["review_path"]).status_code == 410
    # Comments: on the staff pages and in the commentaartabel under the pseudonym; bodies kept.
    for path in (f"/r/{world['review_round'].id}", f"/r/{world['review_round'].id}/processing"):
        html = coordinator.get(path).get_data(as_text=True)
        assert "Marit Jansen" not in html and pseudonym in html, path
    table = coordinator.get(f"/r/{world['review_round'].id}/commentaartabel?format=xlsx")
    cells = [str(c) for row in openpyxl.load_workbook(io.BytesIO(table.get_data())).active.iter_rows(values_only=True)
             for c in row if c is not None]
    assert pseudonym in cells and not any("Marit Jansen" in c for c in cells)
    assert any("Paragraaf 3 is onduidelijk." in c for c in cells)
    # The final document's verdict keeps its evidence; the verdict on the document in review loses it.
    kept = _verdict(db, world["final_round"].id, person_id)
    assert (kept.person_name, kept.person_email, kept.user_agent) == ("Marit Jansen", email, AGENT)
    assert kept.ip_address
    scrubbed = _verdict(db, world["review_round"].id, person_id)
    assert (scrubbed.person_name, scrubbed.person_email, scrubbed.ip_address, scrubbed.user_agent) == (
        pseudonym, "", "", "")
    assert scrubbed.value == "akkoord_met_opmerkingen" and scrubbed.content_hash
    assert db.get(Participant, scrubbed.participant_id).current_verdict_id == scrubbed.id
    # The waiting reminder is cancelled, and network A's mail record keeps no address.
    assert db.get(MailMessage, world["held_id"]).status == "cancelled"
    assert email not in {m.to_address for m in db.scalars(select(MailMessage).where(
        MailMessage.person_id == person_id, MailMessage.network_id == network.id))}
    # The final document's pages still show the approval by name; the chains verify; the event names nobody.
    assert audit.verify_chain(db, network.id) == [] and audit.verify_chain(db, world["other"].id) == []
    event = db.scalar(select(AuditEvent).where(AuditEvent.network_id == network.id, AuditEvent.kind == "person_erased"))
    assert event.data["scope"] == "network" and email not in json.dumps(event.data)
    assert "Marit" not in json.dumps(event.data)
    # A second erasure is refused; the coordinator cannot erase themselves.
    assert coordinator.post(erase, data={"csrf_token": token, "confirm": "yes"}).status_code == 409
    own = db.scalar(select(Membership).where(Membership.network_id == network.id,
                                             Membership.person_id == world["coordinator"].id))
    assert coordinator.post(f"/n/{network.id}/members/{own.id}/erase",
                            data={"csrf_token": token, "confirm": "yes"}).status_code == 409


def test_erasing_the_only_network_erases_the_address_everywhere(app, db, run_worker, mail_store):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = people[1]
    email = member.person.email
    token = rounds.mint_link(db, participant(db, round_, member).id)
    db.commit()
    _act(app, token, comment="Een opmerking.")
    client = signed_in(app, db, coordinator)
    page = client.get(f"/n/{network.id}/members/{member.id}/privacy").get_data(as_text=True)
    assert client.post(f"/n/{network.id}/members/{member.id}/erase",
                       data={"csrf_token": csrf_token(page), "confirm": "yes"}).status_code == 303
    fresh(db)
    person = db.get(Person, member.person_id)
    assert person.erased_at is not None and person.email.endswith(".invalid") and email != person.email
    assert db.scalar(select(Person).where(Person.email == email)) is None
    assert app.test_client().get(f"/l/{token}").status_code == 410
    assert audit.verify_chain(db, network.id) == []


def test_the_cli_exports_everything_and_erases_everywhere(app, db, world, run_worker, mail_store):
    marit, email, person_id = world["marit"], world["email"], world["marit"].person_id
    # She is an editor in network B: signed in, with an API token there.
    session_client = signed_in(app, db, marit.person)
    assert session_client.get("/").status_code == 200
    api_tokens.create_token(db, world["other"], marit.person, role="editor", name="koppeling")
    db.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["export-person", "--email", email.upper()])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {m["name"] for m in data["memberships"]} == {"Marit Jansen", "M. de Boer"}
    assert data["person"]["name"] == "Marit Jansen"  # the name first stored: only the operator sees it
    assert data["sessions"] and all(set(s) == {"created_at", "last_seen_at", "expires_at", "ended_at"}
                                    for s in data["sessions"])
    assert [t["name"] for t in data["api_tokens"]] == ["koppeling"] and "token_hash" not in result.output
    assert len(data["comments"]) == 3
    result = runner.invoke(args=["erase-person", "--email", email, "--yes"])
    assert result.exit_code == 0, result.output
    fresh(db)
    person = db.get(Person, person_id)
    assert person.erased_at is not None and person.email != email and person.name == "Verwijderde deelnemer"
    names = {m.network_id: m.name for m in db.scalars(select(Membership).where(Membership.person_id == person_id))}
    assert all(name.startswith("Verwijderde deelnemer ") for name in names.values()) and len(names) == 2
    assert all(m.left_at is not None for m in db.scalars(select(Membership).where(Membership.person_id == person_id)))
    # The address is gone from every table but the audit trail (never rewritten).
    for model, column in ((Person, Person.email), (MailMessage, MailMessage.to_address),
                          (Verdict, Verdict.person_email)):
        found = db.scalars(select(model).where(column == email)).all()
        if model is Verdict:  # only the verdict on the final document keeps it
            assert [v.round_id for v in found] == [world["final_round"].id]
        else:
            assert found == []
    # The session ends, the API token and every link die.
    assert session_client.get("/").status_code in (302, 303)
    assert all(t.revoked_at for t in db.scalars(select(ApiToken).where(ApiToken.person_id == person_id)))
    assert db.scalar(select(WebSession).where(WebSession.person_id == person_id, WebSession.ended_at.is_(None))) is None
    for name in ("final", "review", "other"):
        assert app.test_client().get(f"/l/{world['tokens'][name]}").status_code == 410
    links = db.scalars(select(PersonalLink).join(Participant).where(Participant.person_id == person_id)).all()
    assert links and all(link.revoked_at for link in links)
    # No mail can reach the address: her invitations still waiting for the worker were cancelled, asking for a
    # sign-in or a lost link sends nothing, and a mail queued to the erased person anyway is cancelled by the worker.
    anonymous = app.test_client()
    for path in ("/signin", "/link"):
        form = anonymous.get(path).get_data(as_text=True)
        assert anonymous.post(path, data={"email": email, "csrf_token": csrf_token(form)}).status_code == 200
    fresh(db)  # begin anew: the pages above wrote since this session last read
    person = db.get(Person, person_id)
    stray = notifications.queue_email(db, "reminder", person, key="test-stray", network_id=world["network"].id,
                                      round_id=world["review_round"].id,
                                      participant_id=participant(db, world["review_round"], marit).id)
    db.commit()
    run_worker()
    fresh(db)
    sent = mail_store.list()
    assert sent and not any(email in to or to.endswith(".invalid") for message in sent for to in message.to)
    assert db.get(MailMessage, stray.id).status == "cancelled"
    # Comments keep their bodies, shown under each network's pseudonym.
    assert db.scalar(select(Comment.body).where(Comment.person_id == person_id, Comment.round_id ==
                                                world["other_round"].id)) == "Opmerking uit het andere netwerk."
    for network_id in (world["network"].id, world["other"].id):
        assert audit.verify_chain(db, network_id) == []
        kinds = [e.kind for e in db.scalars(select(AuditEvent).where(AuditEvent.network_id == network_id))]
        assert "person_erased" in kinds and "personal_data_exported" in kinds
    assert runner.invoke(args=["verify-audit"]).exit_code == 0
    again = runner.invoke(args=["erase-person", "--email", email, "--yes"])
    assert again.exit_code != 0 and "no person" in again.output


def test_a_substitutes_verdict_loses_only_the_erased_persons_part(app, db):
    """A substitute's verdict is on the absent person's participant, with the substitute's evidence and the absent
    person's name as *namens*: erasing either one takes away only that one's part."""
    network, coordinator, _ = make_network(db, members=0, editors=0)
    absent = membership.add_member(db, network, name="Anna Afwezig", email=f"anna-{network.id}@example.org",
                                   organisation_name="Praktijk Zuid", role="member", actor=coordinator)
    stand_in = membership.add_member(db, network, name="Sem Vervanger", email=f"sem-{network.id}@example.org",
                                     organisation_name="Praktijk Zuid", role="member", actor=coordinator)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    # Made directly (naming one, with its mails, is the substitutes' tests' business).
    substitution = Substitution(network_id=network.id, absent_membership_id=absent.id,
                                substitute_membership_id=stand_in.id, starts_at=utcnow() - dt.timedelta(minutes=1),
                                ends_at=utcnow() + dt.timedelta(days=3), created_by_id=coordinator.id)
    db.add(substitution)
    db.flush()
    verdict = substitutes.record_verdict_for(db, participant(db, round_, stand_in), substitution.id, value="akkoord",
                                             reason="", evidence=rounds.Evidence(ip_address="10.0.0.9",
                                                                                 user_agent=AGENT))
    db.commit()
    verdict_id = verdict.id
    personal_data.erase_person(db, db.get(Person, absent.person_id), actor=None)
    db.commit()
    fresh(db)
    row = db.get(Verdict, verdict_id)
    assert (row.person_name, row.ip_address, row.user_agent) == ("Sem Vervanger", "10.0.0.9", AGENT)
    assert row.on_behalf_of_name.startswith("Verwijderde deelnemer ") and row.on_behalf_of_email == ""
    assert db.get(Substitution, substitution.id).ended_at is not None  # nobody acts for an erased person
    personal_data.erase_person(db, db.get(Person, stand_in.person_id), actor=None)
    db.commit()
    fresh(db)
    row = db.get(Verdict, verdict_id)
    assert row.person_name.startswith("Verwijderde deelnemer ") and row.person_name != row.on_behalf_of_name
    assert (row.person_email, row.ip_address, row.user_agent) == ("", "", "")
    assert audit.verify_chain(db, network.id) == []


def _meetings_of(db, world) -> dict:
    """Network A: a meeting held two days ago that Marit signed up for (with a remark) and attended, with an action
    point she owns and its link; and one in ten days she signed up for ("ik kom online"), with its link. Network B:
    a meeting she (as "M. de Boer") answered with a remark of its own."""
    network, coordinator, marit = world["network"], world["coordinator"], world["marit"]
    now = utcnow()

    def planned(net, actor, starts_at, title):
        meeting = meetings.plan_meeting(db, net, meetings.Plan(title=title, starts_at=starts_at, duration_minutes=90,
                                                               place="Utrecht"), actor=actor,
                                        now=min(now, starts_at - 20 * DAY))
        meetings.invite(db, meeting, actor=actor, now=min(now, starts_at - 20 * DAY))
        return meeting

    def invitation_of(meeting, person_id):
        return db.scalar(select(MeetingInvitation).where(MeetingInvitation.meeting_id == meeting.id,
                                                         MeetingInvitation.person_id == person_id))

    past = planned(network, coordinator, now - 2 * DAY, "Bijeenkomst in het voorjaar")
    held = invitation_of(past, marit.person_id)
    meetings.answer(db, held, value="aanmelden", remark="Ik neem een collega mee.", now=now - 5 * DAY)
    meetings.mint_link(db, held.id)
    minutes.record_attendance(db, past, [held.id], actor=coordinator)
    action = minutes.add_action_point(db, past, minutes.ActionInput(
        text="Artikel 4 herschrijven", owner_id=marit.id, due_on=(now + 7 * DAY).date()), actor=coordinator)
    action_followup.mint_link(db, action.id)
    coming = planned(network, coordinator, now + 10 * DAY, "Bijeenkomst in de herfst")
    upcoming = invitation_of(coming, marit.person_id)
    meetings.answer(db, upcoming, value="aanmelden", remark="Ik kom online.")
    meetings.mint_link(db, upcoming.id)
    foreign = planned(world["other"], world["other_coordinator"], now + 12 * DAY, "Overleg van netwerk B")
    meetings.answer(db, invitation_of(foreign, marit.person_id), value="afmelden", remark="Opmerking voor B.")
    db.commit()
    return dict(past=past, held=held, action=action, coming=coming, upcoming=upcoming, foreign=foreign)


def test_the_export_holds_her_meetings_and_erasure_treats_them_as_her_rounds(app, db, world, run_worker):
    network, marit = world["network"], world["marit"]
    made = _meetings_of(db, world)
    coordinator = signed_in(app, db, world["coordinator"])
    page = coordinator.get(f"/n/{network.id}/members/{marit.id}/privacy").get_data(as_text=True)
    response = coordinator.post(f"/n/{network.id}/members/{marit.id}/export", data={"csrf_token": csrf_token(page)})
    data, text = json.loads(response.get_data()), response.get_data(as_text=True)
    invitations = {i["meeting"]: i for i in data["meeting_invitations"]}
    assert set(invitations) == {"Bijeenkomst in het voorjaar", "Bijeenkomst in de herfst"}
    assert (invitations["Bijeenkomst in het voorjaar"]["answer"], invitations["Bijeenkomst in het voorjaar"]["remark"],
            invitations["Bijeenkomst in het voorjaar"]["attended"]) == ("aanmelden", "Ik neem een collega mee.", True)
    assert (invitations["Bijeenkomst in de herfst"]["remark"], invitations["Bijeenkomst in de herfst"]["attended"]) \
        == ("Ik kom online.", None)
    [action] = data["action_points"]
    assert (action["text"], action["status"], action["due_on"]) == (
        "Artikel 4 herschrijven", "open", made["action"].due_on.isoformat())
    assert {link["invitation_id"] for link in data["meeting_links"]} == {made["held"].id, made["upcoming"].id}
    assert [link["action_point_id"] for link in data["action_links"]] == [made["action"].id]
    assert all(set(link) == {"invitation_id", "created_at", "revoked_at", "first_used_at", "last_used_at"}
               for link in data["meeting_links"])
    # Network B's meeting and her remark there are B's, and no token or hash is in the export.
    assert "Overleg van netwerk B" not in text and "Opmerking voor B." not in text and "token_hash" not in text

    # The operator's export (everything) holds network B's meeting too.
    everything = personal_data.export(db, db.get(Person, marit.person_id))
    assert {i["meeting"] for i in everything["meeting_invitations"]} >= {"Overleg van netwerk B"}
    db.rollback()

    # Erased in network A: the attendance, the action point and its note stay (the minutes) under the pseudonym;
    # the remarks go; the coming meeting's invitation is withdrawn; every link of hers in A is dead.
    assert coordinator.post(f"/n/{network.id}/members/{marit.id}/erase",
                            data={"csrf_token": csrf_token(page), "confirm": "yes"}).status_code == 303
    fresh(db)
    held, upcoming = db.get(MeetingInvitation, made["held"].id), db.get(MeetingInvitation, made["upcoming"].id)
    assert (held.answer, held.attended, held.remark, held.removed_at) == ("aanmelden", True, "", None)
    assert upcoming.remark == "" and upcoming.removed_at is not None
    assert db.get(ActionPoint, made["action"].id).text == "Artikel 4 herschrijven"
    assert db.scalar(select(func.count(MeetingLink.id)).where(
        MeetingLink.invitation_id.in_([held.id, upcoming.id]), MeetingLink.revoked_at.is_(None))) == 0
    assert db.scalar(select(func.count(ActionLink.id)).where(
        ActionLink.action_point_id == made["action"].id, ActionLink.revoked_at.is_(None))) == 0
    pseudonym = db.get(Membership, marit.id).name
    minutes_page = coordinator.get(f"/n/{network.id}/meetings/{made['past'].id}/minutes").get_data(as_text=True)
    assert pseudonym in minutes_page and "Marit Jansen" not in minutes_page
    counts = meetings.attendance(db, db.get(Meeting, made["coming"].id)).counts
    assert counts.get("aanmelden", 0) == 0  # she no longer counts for the coming meeting
    # Network B's meeting is untouched: she is still there.
    foreign = db.scalar(select(MeetingInvitation).where(MeetingInvitation.meeting_id == made["foreign"].id,
                                                        MeetingInvitation.person_id == marit.person_id))
    assert foreign.remark == "Opmerking voor B." and foreign.removed_at is None
    event = db.scalar(select(AuditEvent).where(AuditEvent.network_id == network.id, AuditEvent.kind == "person_erased"))
    assert event.data["meeting_invitations_withdrawn"] == 1 and "Ik kom online" not in json.dumps(event.data)
    assert audit.verify_chain(db, network.id) == []


def test_the_export_lists_her_returned_word_files_and_erasure_keeps_only_those_her_comments_came_from(app, db):
    network, coordinator, people = make_network(db, members=1)
    member = people[1]
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    mine = participant(db, round_, member)

    def copy(old: str, new: str) -> bytes:
        word = docx.Document(io.BytesIO(version_docx(db, version)[1]))
        paragraph = next(p for p in word.paragraphs if old in p.text)
        text = paragraph.text.replace(old, new)
        for run in paragraph.runs[1:]:
            run._r.getparent().remove(run._r)
        paragraph.runs[0].text = text
        buffer = io.BytesIO()
        word.save(buffer)
        return buffer.getvalue()

    submitted = returned_files.upload_returned(db, mine, filename="Overeenkomst (Marit).docx",
                                               data=copy("goede zorg", "betere zorg"), now=utcnow())
    returned_files.submit_returned(db, mine, submitted, chosen={1})
    waiting_bytes = copy("definitief", "vastgesteld")
    waiting = returned_files.upload_returned(db, mine, filename="tweede poging.docx", data=waiting_bytes,
                                             now=utcnow())
    db.commit()

    exported = personal_data.export(db, member.person, network_id=network.id, actor=coordinator)
    listed = {f["filename"]: f for f in exported["returned_files"]}
    assert set(listed) == {"Overeenkomst (Marit).docx", "tweede poging.docx"}
    assert listed["Overeenkomst (Marit).docx"]["submitted_at"] and listed["tweede poging.docx"]["submitted_at"] is None
    assert all(set(f) >= {"created_at", "submitted_at", "discarded_at"} and "data" not in f
               for f in exported["returned_files"])
    json.dumps(exported)  # no bytes in it: it serialises as it is

    done = personal_data.erase_in_network(db, network.id, member.person, actor=coordinator)
    db.commit()
    fresh(db)
    assert (done["returned_files_kept"], done["returned_files_deleted"]) == (1, 1)
    assert db.get(ReturnedFile, waiting.id) is None
    assert db.get(Blob, hashlib.sha256(waiting_bytes).hexdigest()) is None
    kept = db.get(ReturnedFile, submitted.id)
    assert kept is not None and db.get(Blob, kept.sha256) is not None
    assert db.scalar(select(Comment.returned_file_id).where(Comment.person_id == member.person_id)) == kept.id
