"""Meetings through the API: plan, read (UTC and Europe/Amsterdam, agenda with links, attendance, minutes), list
(upcoming and past, paged), change (the updated .ics goes out by mail: same UID, higher SEQUENCE), send the
invitations and cancel, through the pages' workflows; action points listed by status and overdue, and marked done.
Refusals are problems in the caller's language that change nothing; POSTs honour an Idempotency-Key."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from sqlalchemy import func, select

from storage.database.models import ActionPoint, AuditEvent, IdempotencyRecord, Meeting, MeetingInvitation, utcnow
from tests.api.conftest import auth
from tests.factories import fresh
from workflows.domain import comments, meetings, minutes
from workflows.domain.wording import TIMEZONE

API = "/api/v1"
DAY = dt.timedelta(days=1)


def _day(days: int) -> dt.date:
    return (dt.datetime.now(TIMEZONE) + days * DAY).date()


def _plan(days: int = 28, at: str = "14:00", **fields) -> dict:
    """A plan as a client sends it: a Dutch wall-clock time with its offset that day."""
    local = dt.datetime.combine(_day(days), dt.time.fromisoformat(at), tzinfo=TIMEZONE)
    return {"title": "Eerste netwerkbijeenkomst", "starts_at": local.isoformat(), "duration_minutes": 150,
            "place": "Zalen De Brink, Utrecht", "online_url": "https://meet.example.org/zorgnetwerk", **fields}


def _meetings(db, network_id: int) -> int:
    fresh(db)
    return db.scalar(select(func.count(Meeting.id)).where(Meeting.network_id == network_id))


def _calendar(message) -> icalendar.Calendar:
    [data] = [data for name, _kind, data in message.attachments() if name.endswith(".ics")]
    return icalendar.Calendar.from_ical(data)


def test_plan_read_and_list_meetings(client, db, world):
    headers = auth(world.editor_token, **{"Idempotency-Key": "plan-1"})
    body = _plan(chair_id=world.members[0].id, minute_taker_id=world.members[1].id, message="Graag tot dan.")
    planned = client.post(f"{API}/networks/{world.network.id}/meetings", json=body, headers=headers)
    assert planned.status_code == 201, planned.get_data(as_text=True)
    meeting = planned.get_json()
    assert (meeting["status"], meeting["period"], meeting["sequence"], meeting["invited_at"]) == (
        "planned", "upcoming", 0, None)
    # The time in UTC and as the Dutch wall clock says it.
    local = dt.datetime.fromisoformat(meeting["starts_at_local"])
    assert (local.date(), local.time()) == (_day(28), dt.time(14, 0))
    assert local.utcoffset() == dt.datetime.combine(_day(28), dt.time(14), tzinfo=TIMEZONE).utcoffset()
    starts = dt.datetime.fromisoformat(meeting["starts_at"])
    assert starts.utcoffset() == dt.timedelta(0) and starts == local
    assert dt.datetime.fromisoformat(meeting["ends_at"]) - starts == dt.timedelta(minutes=150)
    assert meeting["timezone"] == "Europe/Amsterdam" and meeting["uid"].startswith("meeting-")
    assert meeting["chair"]["membership_id"] == world.members[0].id
    assert meeting["chair"]["name"] == world.members[0].name
    assert meeting["minute_taker"]["person_id"] == world.members[1].person_id
    assert (meeting["agenda"], meeting["action_points"]) == ([], [])
    assert meeting["attendance"] == {"invited": 0, "aanmelden": 0, "afmelden": 0, "no_answer": 0, "attended": None}

    # Retried with its key: the same answer, one meeting.
    count = _meetings(db, world.network.id)
    again = client.post(f"{API}/networks/{world.network.id}/meetings", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == meeting["id"] and _meetings(db, world.network.id) == count
    other = client.post(f"{API}/networks/{world.network.id}/meetings", json={**body, "title": "Iets anders"},
                        headers=headers)
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_mismatch"

    read = client.get(f"{API}/meetings/{meeting['id']}", headers=auth(world.editor_token)).get_json()
    assert read == meeting
    fresh(db)
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.kind == "meeting_planned",
                                                  AuditEvent.data["meeting_id"].as_integer() == meeting["id"])).all()
    assert event.actor_id == world.members[0].person_id  # the editor's token

    # The list: the fixture's two meetings (one to come, one past) and this one; paged, and by period.
    url = f"{API}/networks/{world.network.id}/meetings"
    listed = client.get(url, headers=auth(world.coordinator_token)).get_json()
    assert [m["id"] for m in listed["items"]] == sorted(m["id"] for m in listed["items"])
    assert {m["title"] for m in listed["items"]} >= {"Netwerkbijeenkomst", "Startbijeenkomst"}
    upcoming = client.get(f"{url}?period=upcoming", headers=auth(world.coordinator_token)).get_json()["items"]
    past = client.get(f"{url}?period=past", headers=auth(world.coordinator_token)).get_json()["items"]
    assert {m["period"] for m in upcoming} == {"upcoming"} and {m["period"] for m in past} == {"past"}
    assert meeting["id"] in [m["id"] for m in upcoming] and [m["title"] for m in past] == ["Startbijeenkomst"]
    assert len(upcoming) + len(past) == len(listed["items"])
    first = client.get(f"{url}?limit=1", headers=auth(world.coordinator_token))
    assert len(first.get_json()["items"]) == 1 and first.get_json()["next"] and "Link" in first.headers
    seen, answer = [], first.get_json()
    while True:
        seen += [m["id"] for m in answer["items"]]
        if not answer["next"]:
            break
        answer = client.get(answer["next"], headers=auth(world.coordinator_token)).get_json()
    assert seen == [m["id"] for m in listed["items"]]
    assert client.get(f"{url}?period=soon", headers=auth(world.coordinator_token)).status_code == 422


def test_invite_change_and_cancel_send_the_calendar_mails(client, db, world, mail_store, run_worker):
    headers = auth(world.coordinator_token)
    meeting = client.post(f"{API}/networks/{world.network.id}/meetings", json=_plan(audience="project_group"),
                          headers=headers).get_json()
    run_worker()
    mail_store.clear()
    title = meeting["title"]
    staff = {world.coordinator.email, world.members[0].person.email}  # the project group: coordinator and editor

    sent = client.post(f"{API}/meetings/{meeting['id']}/invitations", headers=auth(
        world.coordinator_token, **{"Idempotency-Key": "invite-1"}))
    assert sent.status_code == 200, sent.get_data(as_text=True)
    assert sent.get_json()["invited"] == 2 and sent.get_json()["meeting"]["invited_at"]
    assert sent.get_json()["meeting"]["attendance"] == {"invited": 2, "aanmelden": 0, "afmelden": 0,
                                                        "no_answer": 2, "attended": None}
    replay = client.post(f"{API}/meetings/{meeting['id']}/invitations", headers=auth(
        world.coordinator_token, **{"Idempotency-Key": "invite-1"}))
    assert replay.get_json() == sent.get_json() and replay.headers["Idempotent-Replayed"] == "true"
    run_worker()
    invited = mail_store.wait_for(lambda ms: len([m for m in ms if title in m.subject]) == 2)
    assert {m.to[0] for m in invited if title in m.subject} == staff
    [event] = _calendar(next(m for m in invited if title in m.subject)).walk("VEVENT")
    assert str(event["uid"]) == meeting["uid"] and int(event["sequence"]) == 0
    # Again: everyone it is for has been invited already.
    assert client.post(f"{API}/meetings/{meeting['id']}/invitations", headers=headers).get_json()["invited"] == 0

    # A new time: the same path as the edit page, so the updated .ics goes out (same UID, higher SEQUENCE).
    mail_store.clear()
    changed = client.put(f"{API}/meetings/{meeting['id']}", json=_plan(at="15:30", audience="project_group"),
                         headers=headers)
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["sequence"] == 1 and changed.get_json()["uid"] == meeting["uid"]
    assert dt.datetime.fromisoformat(changed.get_json()["starts_at_local"]).time() == dt.time(15, 30)
    run_worker()
    updated = [m for m in mail_store.wait_for(lambda ms: len([m for m in ms if title in m.subject]) == 2)
               if title in m.subject]
    assert {m.to[0] for m in updated} == staff
    calendar = _calendar(updated[0])
    [event] = calendar.walk("VEVENT")
    assert calendar["method"] == "REQUEST" and str(event["uid"]) == meeting["uid"] and int(event["sequence"]) == 1
    assert event.decoded("dtstart").astimezone(TIMEZONE).time() == dt.time(15, 30)

    # Cancelled: a CANCEL for everyone invited; a second cancel and a change are refused.
    mail_store.clear()
    cancelled = client.post(f"{API}/meetings/{meeting['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200
    assert (cancelled.get_json()["status"], cancelled.get_json()["sequence"]) == ("cancelled", 2)
    assert cancelled.get_json()["cancelled_at"]
    run_worker()
    told = [m for m in mail_store.wait_for(lambda ms: len([m for m in ms if title in m.subject]) == 2)
            if title in m.subject]
    calendar = _calendar(told[0])
    assert calendar["method"] == "CANCEL" and int(calendar.walk("VEVENT")[0]["sequence"]) == 2
    again = client.post(f"{API}/meetings/{meeting['id']}/cancel", headers=auth(world.coordinator_token, **{
        "Accept-Language": "en"}))
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert again.get_json()["code"] == "meeting_cancelled"
    assert again.get_json()["detail"] == "This meeting has been cancelled."
    refused = client.put(f"{API}/meetings/{meeting['id']}", json=_plan(), headers=headers)
    assert refused.status_code == 409 and refused.get_json()["detail"] == "Deze bijeenkomst is afgelast."
    assert client.post(f"{API}/meetings/{meeting['id']}/invitations", headers=headers).status_code == 409
    fresh(db)
    assert db.get(Meeting, meeting["id"]).sequence == 2


def test_a_meeting_that_took_place_shows_its_agenda_attendance_and_minutes(client, db, world):
    """Planned a month ago with an item on round 1's comments not taken over; three answered; the minutes have
    notes, a decision referring to a comment, an action point, and who came."""
    coordinator, (editor, member, *_rest) = world.coordinator, world.members
    comments.process_comment(db, world.comment, disposition="niet_overgenomen", answer="Bewust.",
                             actor=coordinator)
    now = utcnow()
    held = meetings.plan_meeting(db, world.network, meetings.Plan(
        title="Tweede bijeenkomst", starts_at=now - 2 * DAY, duration_minutes=150, place="Utrecht",
        chair_id=editor.id), actor=coordinator, now=now - 30 * DAY)
    item = meetings.add_agenda_item(db, held, title="Niet overgenomen", presenter_id=editor.id, minutes=45,
                                    link=meetings.AgendaLink(round_id=world.round.id,
                                                             comment_selection="niet_overgenomen"),
                                    actor=coordinator)
    redline = meetings.add_agenda_item(db, held, title="Wat er veranderde", actor=coordinator, link=meetings.AgendaLink(
        version_id=world.second.id, compare_version_id=world.first.id))
    meetings.invite(db, held, actor=coordinator, now=now - 30 * DAY)
    db.flush()
    invitations = {i.person_id: i for i in db.scalars(select(MeetingInvitation).where(
        MeetingInvitation.meeting_id == held.id))}
    meetings.answer(db, invitations[editor.person_id], value="aanmelden", now=now - 20 * DAY)
    meetings.answer(db, invitations[member.person_id], value="aanmelden", remark="ik kom online", now=now - 20 * DAY)
    meetings.answer(db, invitations[coordinator.id], value="afmelden", now=now - 20 * DAY)
    minutes.write_notes(db, held, item.id, "Besproken.", actor=coordinator)
    decision = minutes.add_decision(db, held, item.id, "Artikel 2 wordt herschreven.", comment_ids=[world.comment.id],
                                    actor=coordinator)
    action = minutes.add_action_point(db, held, minutes.ActionInput(
        text="Nieuwe tekst artikel 2", owner_id=editor.id, due_on=_day(5), agenda_item_id=item.id), actor=coordinator)
    minutes.record_attendance(db, held, [invitations[editor.person_id].id, invitations[member.person_id].id],
                              actor=coordinator)
    db.commit()

    read = client.get(f"{API}/meetings/{held.id}", headers=auth(world.editor_token))
    assert read.status_code == 200
    got = read.get_json()
    assert got["period"] == "past" and got["chair"]["membership_id"] == editor.id
    first, second = got["agenda"]
    assert (first["id"], first["position"], first["minutes"], first["notes"]) == (item.id, 1, 45, "Besproken.")
    assert first["presenter"]["membership_id"] == editor.id
    assert first["link"] == {"document_id": world.document.id, "version_id": None, "compare_version_id": None,
                             "round_id": world.round.id, "comment_selection": "niet_overgenomen",
                             "comment_ids": [world.comment.id]}
    assert [(d["id"], d["text"], d["comment_ids"]) for d in first["decisions"]] == [
        (decision.id, "Artikel 2 wordt herschreven.", [world.comment.id])]
    assert second["id"] == redline.id and second["link"]["version_id"] == world.second.id
    assert second["link"]["compare_version_id"] == world.first.id and second["decisions"] == []
    invited = len(invitations)
    assert got["attendance"] == {"invited": invited, "aanmelden": 2, "afmelden": 1, "no_answer": invited - 3,
                                 "attended": 2}
    attended = sorted(name for row in got["by_organisation"] for name in row["attended"])
    assert attended == sorted([editor.name, member.name])
    assert sum(row["aanmelden"] for row in got["by_organisation"]) == 2
    [point] = got["action_points"]
    assert (point["id"], point["text"], point["status"], point["overdue"]) == (action.id, "Nieuwe tekst artikel 2",
                                                                               "open", False)
    assert point["owner"]["name"] == editor.name and point["due_on"] == _day(5).isoformat()
    assert point["agenda_item_id"] == item.id
    # The fixture's meeting to come carries the points still open as its standing item.
    upcoming = client.get(f"{API}/meetings/{world.meeting.id}", headers=auth(world.editor_token)).get_json()
    assert {p["id"] for p in upcoming["open_action_points"]} == {action.id, world.action_point.id}


def test_action_points_by_status_and_overdue_and_marked_done(client, db, world):
    coordinator, (editor, member, *_rest) = world.coordinator, world.members
    now = utcnow()
    held = meetings.plan_meeting(db, world.network, meetings.Plan(
        title="Oude bijeenkomst", starts_at=now - 20 * DAY, duration_minutes=120, place="Utrecht"),
        actor=coordinator, now=now - 40 * DAY)
    late = minutes.add_action_point(db, held, minutes.ActionInput(
        text="Verslag rondsturen", owner_id=member.id, due_on=_day(-3)), actor=coordinator, now=now - 20 * DAY)
    db.commit()
    url = f"{API}/networks/{world.network.id}/action-points"
    headers = auth(world.editor_token)
    every = client.get(url, headers=headers).get_json()["items"]
    assert [a["id"] for a in every] == sorted([late.id, world.action_point.id])
    assert [a["id"] for a in client.get(f"{url}?overdue=true", headers=headers).get_json()["items"]] == [late.id]
    overdue = client.get(f"{url}?overdue=true", headers=headers).get_json()["items"][0]
    assert overdue["overdue"] is True and overdue["owner"]["email"] == member.person.email
    assert client.get(f"{url}?status=done", headers=headers).get_json()["items"] == []
    assert client.get(f"{url}?status=klaar", headers=headers).status_code == 422
    page = client.get(f"{url}?limit=1", headers=headers)
    assert len(page.get_json()["items"]) == 1 and 'rel="next"' in page.headers["Link"]

    done_url = f"{API}/action-points/{late.id}/done"
    keyed = auth(world.editor_token, **{"Idempotency-Key": "done-1"})
    done = client.post(done_url, json={"note": "Rondgestuurd op maandag."}, headers=keyed)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert (done.get_json()["status"], done.get_json()["done_note"], done.get_json()["overdue"]) == (
        "done", "Rondgestuurd op maandag.", False)
    replay = client.post(done_url, json={"note": "Rondgestuurd op maandag."}, headers=keyed)
    assert replay.get_json() == done.get_json() and replay.headers["Idempotent-Replayed"] == "true"
    twice = client.post(done_url, json={"note": "Nog een keer."}, headers=headers)
    assert twice.status_code == 409 and twice.get_json()["code"] == "action_already_done"
    fresh(db)
    point = db.get(ActionPoint, late.id)
    assert (point.status, point.done_note, point.done_by_id) == ("done", "Rondgestuurd op maandag.", editor.person_id)
    assert db.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.kind == "action_point_done", AuditEvent.data["action_point_id"].as_integer() == late.id)) == 1
    assert [a["id"] for a in client.get(f"{url}?status=done", headers=headers).get_json()["items"]] == [late.id]
    assert client.get(f"{url}?overdue=true", headers=headers).get_json()["items"] == []
    # A control character in the note is refused by the input rules, naming the field.
    bad = client.post(f"{API}/action-points/{world.action_point.id}/done", json={"note": "klaar\x00"},
                      headers=headers)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "note"
    fresh(db)
    assert db.get(ActionPoint, world.action_point.id).status == "open"


@pytest.mark.parametrize(("change", "status", "code", "field"), [
    ({"starts_at": "2020-01-06T14:00:00+01:00"}, 400, "meeting_in_past", "starts_at"),
    ({"place": "", "online_url": ""}, 400, "meeting_place_required", "place"),
    ({"online_url": "ftp://meet.example.org"}, 400, "meeting_link_not_web", "online_url"),
    ({"title": "   "}, 400, "meeting_title_required", "title"),
    ({"audience": "organisations"}, 400, "meeting_organisations_required", "organisation_ids"),
    ({"chair_id": "other"}, 400, "meeting_not_member", "chair_id"),
    ({"duration_minutes": 5}, 422, "validation", "duration_minutes"),
    ({"starts_at": "2030-01-06T14:00:00"}, 422, "validation", "starts_at"),  # no time zone
    ({"starts_at": "3030-01-06T14:00:00+01:00"}, 422, "validation", "starts_at"),
    ({"audience": "iedereen"}, 422, "validation", "audience"),
    ({"title": "Bijeen\nkomst"}, 422, "validation", "title"),
    ({"agenda": []}, 422, "validation", "agenda"),
])
def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(client, db, world, other, change, status, code,
                                                                      field):
    if change.get("chair_id") == "other":
        change = {"chair_id": other.members[0].id}  # a member of another network
    before = _meetings(db, world.network.id)
    planned = client.post(f"{API}/networks/{world.network.id}/meetings", json={**_plan(), **change},
                          headers=auth(world.coordinator_token, **{"Idempotency-Key": f"bad-{field}"}))
    assert planned.status_code == status, planned.get_data(as_text=True)
    problem = planned.get_json()
    assert planned.mimetype == "application/problem+json" and problem["code"] == code
    assert field in [error["field"] for error in problem["errors"]]
    assert planned.headers["Content-Language"] == "nl"
    changed = client.put(f"{API}/meetings/{world.meeting.id}", json={**_plan(), **change},
                         headers=auth(world.coordinator_token, **{"Accept-Language": "en"}))
    assert changed.status_code == status and changed.get_json()["code"] == code
    assert changed.headers["Content-Language"] == "en"
    assert _meetings(db, world.network.id) == before
    meeting = db.get(Meeting, world.meeting.id)
    assert (meeting.title, meeting.sequence, meeting.place) == ("Netwerkbijeenkomst", 0, "Utrecht")
    assert db.scalar(select(func.count(IdempotencyRecord.id)).where(IdempotencyRecord.key == f"bad-{field}")) == 0


def test_a_refusal_is_worded_in_the_callers_language(client, world):
    body = {**_plan(), "starts_at": "2020-01-06T14:00:00+01:00"}
    url = f"{API}/networks/{world.network.id}/meetings"
    dutch = client.post(url, json=body, headers=auth(world.coordinator_token)).get_json()
    english = client.post(url, json=body, headers=auth(world.coordinator_token, **{"Accept-Language": "en"})).get_json()
    assert english["detail"] == "The meeting must start in the future."
    assert dutch["detail"] != english["detail"] and dutch["errors"][0]["message"] == dutch["detail"]


def test_who_may_reach_meetings_and_action_points(client, db, world, other):
    """Editors plan and change as coordinators do (as on the pages); a member's round token reaches none of it;
    another network's meeting or action point is not found and stays as it was."""
    mine = client.post(f"{API}/networks/{world.network.id}/meetings", json=_plan(),
                       headers=auth(world.editor_token))
    assert mine.status_code == 201
    member = auth(world.member_token)
    assert client.get(f"{API}/meetings/{world.meeting.id}", headers=member).status_code == 403
    assert client.post(f"{API}/action-points/{world.action_point.id}/done", json={},
                       headers=member).get_json()["code"] == "staff_token_required"
    headers = auth(world.coordinator_token)
    for method, path, body in (
        ("GET", f"/meetings/{other.meeting.id}", None),
        ("PUT", f"/meetings/{other.meeting.id}", _plan()),
        ("POST", f"/meetings/{other.meeting.id}/cancel", None),
        ("POST", f"/meetings/{other.meeting.id}/invitations", None),
        ("POST", f"/networks/{other.network.id}/meetings", _plan()),
        ("GET", f"/networks/{other.network.id}/meetings", None),
        ("GET", f"/networks/{other.network.id}/action-points", None),
        ("POST", f"/action-points/{other.action_point.id}/done", {"note": ""}),
    ):
        response = client.open(API + path, method=method, json=body, headers=headers)
        assert response.status_code == 404, (method, path, response.get_data(as_text=True))
    fresh(db)
    theirs = db.get(Meeting, other.meeting.id)
    assert (theirs.status, theirs.sequence, theirs.invited_at) == ("planned", 0, None)
    assert db.get(ActionPoint, other.action_point.id).status == "open"
    assert _meetings(db, other.network.id) == 2


def test_a_member_answer_shows_in_the_counts(client, db, world):
    """The counts follow the members' answers (given through their meeting links' workflow)."""
    meetings.invite(db, world.meeting, actor=world.coordinator)
    db.flush()
    invitation = db.scalar(select(MeetingInvitation).where(MeetingInvitation.meeting_id == world.meeting.id,
                                                           MeetingInvitation.person_id == world.members[1].person_id))
    meetings.answer(db, invitation, value="afmelden", remark="Op vakantie.")
    db.commit()
    got = client.get(f"{API}/meetings/{world.meeting.id}", headers=auth(world.editor_token)).get_json()
    assert got["attendance"]["afmelden"] == 1 and got["attendance"]["aanmelden"] == 0
    assert got["attendance"]["no_answer"] == got["attendance"]["invited"] - 1
