"""Meeting webhook events on real parts (worker, HTTP receiver): meeting.scheduled when a meeting is planned,
meeting.changed when it changes or is cancelled (status cancelled), meeting.minutes_final when its minutes become
final as a document, and action.due once per action point on its due day, whether or not its owner can be mailed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from storage.database.models import AuditEvent, Document, Membership, Participant, Version, utcnow
from tests.factories import fresh, make_network
from tests.service.test_staff_pages import signed_in
from tests.webhooks.conftest import verify
from tests.webhooks.test_delivery import deliveries, register
from tests.workflows.test_minutes_document import held, put
from workflows.domain import finalising, meetings, membership, minutes, rounds
from workflows.domain.wording import TIMEZONE
from workflows.outbound import jobs

DAY = dt.timedelta(days=1)
MEETING_FIELDS = {"id", "title", "starts_at", "ends_at", "duration_minutes", "place", "online_url", "status",
                  "sequence", "uid", "invited_at", "cancelled_at"}


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TIMEZONE).astimezone(dt.UTC)


def by_type(receiver) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for received in receiver.requests:
        found.setdefault(received.json["type"], []).append(received.json)
    return found


def test_planned_changed_and_cancelled_meetings_reach_the_receiver(db, run_worker, receiver):
    network, coordinator, people = make_network(db, members=2)
    db.commit()
    _webhook, secret = register(db, network, coordinator, receiver)
    starts_at = (utcnow() + 28 * DAY).replace(second=0, microsecond=0)
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title="Eerste netwerkbijeenkomst", starts_at=starts_at, duration_minutes=150, place="Utrecht",
        online_url="https://meet.example.org/zorgnetwerk"), actor=coordinator)
    db.commit()
    meetings.invite(db, meeting, actor=coordinator)
    db.commit()
    later = starts_at + dt.timedelta(minutes=90)
    meetings.change_meeting(db, meeting, meetings.Plan(
        title="Eerste netwerkbijeenkomst", starts_at=later, duration_minutes=150, place="De Brink, Utrecht",
        online_url="https://meet.example.org/zorgnetwerk"), actor=coordinator)
    db.commit()
    meetings.cancel_meeting(db, meeting, actor=coordinator)
    db.commit()
    run_worker()

    assert receiver.events() == ["meeting.scheduled", "meeting.changed", "meeting.changed"]
    assert all(verify(secret, r) for r in receiver.requests)
    events = by_type(receiver)
    [scheduled] = events["meeting.scheduled"]
    assert scheduled["network_id"] == network.id
    planned = scheduled["data"]["meeting"]
    assert set(planned) == MEETING_FIELDS
    assert (planned["id"], planned["title"], planned["status"], planned["uid"]) == (
        meeting.id, "Eerste netwerkbijeenkomst", "planned", meeting.uid)
    # The payload is written as the deciding transaction commits: the meeting as planned then.
    assert dt.datetime.fromisoformat(planned["starts_at"]) == starts_at and planned["sequence"] == 0
    assert dt.datetime.fromisoformat(planned["ends_at"]) - starts_at == dt.timedelta(minutes=150)
    assert planned["online_url"] == "https://meet.example.org/zorgnetwerk" and planned["invited_at"] is None
    changed, cancelled = events["meeting.changed"]
    moved = changed["data"]["meeting"]
    assert (moved["status"], moved["sequence"], moved["place"]) == ("planned", 1, "De Brink, Utrecht")
    assert dt.datetime.fromisoformat(moved["starts_at"]) == later and moved["uid"] == meeting.uid
    assert changed["data"]["changes"]["after"]["place"] == "De Brink, Utrecht"
    assert changed["data"]["changes"]["before"]["place"] == "Utrecht"
    off = cancelled["data"]["meeting"]
    assert (off["status"], off["sequence"], off["uid"]) == ("cancelled", 2, meeting.uid) and off["cancelled_at"]
    assert [d.status for d in deliveries(db, network_id=network.id)] == ["sent"] * 3


def test_a_webhook_gets_only_the_meeting_events_it_asked_for(db, run_worker, make_receiver):
    network, coordinator, _people = make_network(db, members=1)
    db.commit()
    only_changes, rounds_only = make_receiver(), make_receiver()
    register(db, network, coordinator, only_changes, events=["meeting.changed"])
    register(db, network, coordinator, rounds_only, events=["round.opened"])
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title="Bijeenkomst", starts_at=utcnow() + 7 * DAY, duration_minutes=120, place="Utrecht"), actor=coordinator)
    db.commit()
    meetings.cancel_meeting(db, meeting, actor=coordinator)
    db.commit()
    run_worker()
    assert only_changes.events() == ["meeting.changed"] and rounds_only.events() == []


def test_minutes_that_become_final_are_posted_with_their_document(db, run_worker, receiver):
    network, coordinator, _people, meeting, _item = held(db)
    _webhook, secret = register(db, network, coordinator, receiver, events=["meeting.minutes_final"])
    round_ = put(db, meeting, coordinator)
    db.commit()
    for voter in db.scalars(select(Participant).where(Participant.round_id == round_.id)).all():
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    document, version = db.get(Document, round_.document_id), db.get(Version, round_.version_id)
    finalising.finalise_document(db, document, version, actor=coordinator)
    db.commit()
    run_worker()
    [received] = [r for r in receiver.requests if r.json["type"] == "meeting.minutes_final"]
    assert received.headers["X-Akkoord-Event"] == "meeting.minutes_final"
    assert verify(secret, received)
    data = received.json["data"]
    assert data["meeting"]["id"] == meeting.id and data["meeting"]["title"] == "Netwerkbijeenkomst"
    assert data["document"] == {"id": document.id, "title": document.title, "kind": "notulen", "status": "final"}
    assert data["version"] == {"id": version.id, "number": version.number, "content_hash": version.content_hash}
    assert dt.datetime.fromisoformat(data["finalised_at"]).tzinfo is not None


def test_an_action_point_falls_due_once_on_its_day_even_when_its_owner_cannot_be_mailed(db, run_worker, receiver):
    network, coordinator, people = make_network(db, members=3)
    now = utcnow()
    held = meetings.plan_meeting(db, network, meetings.Plan(
        title="Netwerkbijeenkomst", starts_at=now - 2 * DAY, duration_minutes=120, place="Utrecht"),
        actor=coordinator, now=now - 30 * DAY)
    today = minutes.today(now)
    due = minutes.add_action_point(db, held, minutes.ActionInput("Artikel 4 herschrijven", people[1].id, today),
                                   actor=coordinator)
    gone = minutes.add_action_point(db, held, minutes.ActionInput("Apotheek bellen", people[2].id, today),
                                    actor=coordinator)
    done = minutes.add_action_point(db, held, minutes.ActionInput("Verslag sturen", people[1].id, today),
                                    actor=coordinator)
    later = minutes.add_action_point(db, held, minutes.ActionInput("Evalueren", people[1].id, today + DAY),
                                     actor=coordinator)
    minutes.mark_done(db, held, done.id, actor=coordinator)
    db.commit()
    _webhook, secret = register(db, network, coordinator, receiver, events=["action.due"])
    # The owner of the second point left: no reminder can reach them, the point falls due all the same.
    membership.remove_member(db, db.get(Membership, people[2].id), actor=coordinator)
    db.commit()

    assert jobs.tick(at(today, 8, 55).isoformat())["actions_due"] == 0  # its day, but before 09:00
    first = jobs.tick(at(today, 9, 5).isoformat())
    assert first["actions_due"] >= 2
    assert jobs.tick(at(today, 9, 6).isoformat())["actions_due"] == 0  # once
    run_worker()

    assert receiver.events() == ["action.due", "action.due"]
    assert all(verify(secret, r) for r in receiver.requests)
    points = {r.json["data"]["action_point"]["id"]: r.json["data"] for r in receiver.requests}
    assert set(points) == {due.id, gone.id}  # not the point done, nor the one due tomorrow
    data = points[due.id]
    assert data["action_point"] == {"id": due.id, "text": "Artikel 4 herschrijven", "due_on": today.isoformat(),
                                    "status": "open", "meeting_id": held.id,
                                    "owner": {"membership_id": people[1].id, "name": people[1].name,
                                              "email": people[1].person.email}}
    assert data["meeting"]["id"] == held.id and data["meeting"]["status"] == "planned"
    fresh(db)
    assert db.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.kind == "action_point_due", AuditEvent.network_id == network.id)) == 2
    # Only the first point's owner could be reminded; the leaver's point fell due without a mail.
    assert db.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.kind == "action_reminder_sent", AuditEvent.network_id == network.id,
        AuditEvent.data["action_point_id"].as_integer() == gone.id)) == 0

    # Another owner on its day does not make it fall due again; a new due day does, on that day.
    receiver.requests.clear()
    minutes.change_action_point(db, held, due.id, minutes.ActionInput("Artikel 4 herschrijven", people[0].id,
                                                                      today), actor=coordinator)
    db.commit()
    assert jobs.tick(at(today, 10, 0).isoformat())["actions_due"] == 0
    minutes.change_action_point(db, held, due.id, minutes.ActionInput("Artikel 4 herschrijven", people[0].id,
                                                                      today + DAY), actor=coordinator)
    db.commit()
    assert jobs.tick(at(today + DAY, 9, 5).isoformat())["actions_due"] >= 2  # this one and `later`
    run_worker()
    assert sorted(r.json["data"]["action_point"]["id"] for r in receiver.requests) == sorted([due.id, later.id])


def test_the_webhooks_page_offers_the_meeting_events(app, db):
    network, coordinator, _people = make_network(db, members=1)
    db.commit()
    page = signed_in(app, db, coordinator).get(f"/n/{network.id}/webhooks").get_data(as_text=True)
    for event in ("meeting.scheduled", "meeting.changed", "meeting.minutes_final", "action.due"):
        assert f'value="{event}"' in page
