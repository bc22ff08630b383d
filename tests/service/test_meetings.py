"""Meeting pages: planning with errors at the field, the agenda, invitations and counts for the staff; the member's
sign-up page from the personal link (a GET changes nothing, only a POST records); the staff's .ics feed."""

from __future__ import annotations

import datetime as dt
import re

import icalendar
import pytest
from sqlalchemy import func, select, update

from storage.database.models import AuditEvent, MailMessage, Meeting, MeetingInvitation, MeetingLink
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round
from tests.service.test_staff_pages import signed_in, submit
from workflows.domain import meetings, rounds
from workflows.domain.wording import TIMEZONE


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.commit()


@pytest.fixture
def staff(app, db):
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    return network, coordinator, people, document, version, round_, signed_in(app, db, coordinator)


def _local(days: int) -> str:
    return (dt.datetime.now(TIMEZONE) + dt.timedelta(days=days)).strftime("%Y-%m-%dT14:00")


def _plan_form(**overrides) -> dict:
    data = {"title": "Netwerkbijeenkomst", "starts_at": _local(20), "duration_minutes": "150",
            "place": "Zalen De Brink\nUtrecht", "online_url": "", "chair": "", "minute_taker": "",
            "audience": "everyone", "message": "Welkom!"}
    data.update(overrides)
    return data


def test_planning_shows_refusals_at_their_fields_and_plans(app, db, staff):
    network, coordinator, people, document, version, round_, client = staff
    page = f"/n/{network.id}/meetings/new"
    assert client.get(f"/n/{network.id}").get_data(as_text=True).count(f"/n/{network.id}/meetings") >= 1
    refused = submit(client, page, page, _plan_form(place="", starts_at=_local(-3)))
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    # The first refusal of the rule is shown at its field, with the summary linking to it.
    assert 'id="starts_at-error"' in html and 'href="#starts_at"' in html and "aria-invalid" in html
    refused = submit(client, page, page, _plan_form(place="", online_url=""))
    assert refused.status_code == 400 and 'id="place-error"' in refused.get_data(as_text=True)
    refused = submit(client, page, page, _plan_form(audience="organisations"))
    assert refused.status_code == 400 and 'id="organisations-error"' in refused.get_data(as_text=True)
    fresh(db)
    assert db.scalar(select(func.count()).select_from(Meeting).where(Meeting.network_id == network.id)) == 0

    planned = submit(client, page, page, _plan_form(chair=str(people[1].id)))
    assert planned.status_code == 303
    fresh(db)
    meeting = db.scalar(select(Meeting).where(Meeting.network_id == network.id))
    assert meeting.chair_id == people[1].id and meeting.starts_at.astimezone(TIMEZONE).hour == 14
    listing = client.get(f"/n/{network.id}/meetings").get_data(as_text=True)
    assert "Netwerkbijeenkomst" in listing


def test_agenda_invitations_counts_and_the_feed(app, db, staff, run_worker, mail_store):
    network, coordinator, people, document, version, round_, client = staff
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title="Bijeenkomst", starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=10), duration_minutes=120,
        place="Utrecht"), actor=coordinator)
    db.commit()
    page = f"/n/{network.id}/meetings/{meeting.id}"
    added = submit(client, page, f"{page}/agenda", {"title": "Het concept", "presenter": str(people[0].id),
                                                   "minutes": "45", "link": f"version:{version.id}"})
    assert added.status_code == 303
    submit(client, page, f"{page}/agenda", {"title": "Opening", "presenter": "", "minutes": "", "link": ""})
    refused = submit(client, page, f"{page}/agenda", {"title": "Elders", "link": "version:999999"})
    assert refused.status_code == 400 and 'id="link-error"' in refused.get_data(as_text=True)
    refused = submit(client, page, f"{page}/agenda", {"title": "Niets", "link": f"comments:{round_.id}:niet_akkoord"})
    assert refused.status_code == 400 and 'id="link-error"' in refused.get_data(as_text=True)
    fresh(db)
    items = meetings.agenda(db, meeting.id)
    assert [i.title for i in items] == ["Het concept", "Opening"]
    assert submit(client, page, f"{page}/agenda/{items[1].id}/move", {"direction": "up"}).status_code == 303
    fresh(db)
    assert [i.title for i in meetings.agenda(db, meeting.id)] == ["Opening", "Het concept"]

    assert submit(client, page, f"{page}/invite", {}).status_code == 303
    run_worker()
    mail_store.wait_for(lambda ms: len([m for m in ms if "Bijeenkomst" in m.subject]) == 4)
    fresh(db)
    invitation = db.scalar(select(MeetingInvitation).where(MeetingInvitation.meeting_id == meeting.id,
                                                           MeetingInvitation.person_id == people[1].person_id))
    meetings.answer(db, invitation, value="aanmelden", remark="ik kom online")
    db.commit()
    html = client.get(page).get_data(as_text=True)
    assert "ik kom online" in html and re.search(r"1\D+0\D+3\D+4", html)  # 1 yes, 0 no, 3 silent of 4

    feed = client.get(f"/n/{network.id}/meetings.ics")
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(feed.data)
    assert calendar["method"] == "PUBLISH"
    [event] = [e for e in calendar.walk("VEVENT") if str(e["uid"]) == meeting.uid]
    assert "Het concept" in str(event["description"]) and "attendee" not in event

    # Cancelling asks first (a GET changes nothing), then the POST cancels.
    assert client.get(f"{page}/cancel").status_code == 200
    fresh(db)
    assert db.get(Meeting, meeting.id).status == "planned"
    assert submit(client, f"{page}/cancel", f"{page}/cancel", {}).status_code == 303
    fresh(db)
    assert db.get(Meeting, meeting.id).status == "cancelled"


def _invited(db, network, coordinator):
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title="Bijeenkomst", starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=10), duration_minutes=120,
        place="Utrecht"), actor=coordinator)
    meetings.invite(db, meeting, actor=coordinator)
    return meeting


def test_the_sign_up_page_records_only_a_post(app, db, staff):
    network, coordinator, people, document, version, round_, client = staff
    meeting = _invited(db, network, coordinator)
    meetings.add_agenda_item(db, meeting, title="Het concept", actor=coordinator,
                             link=meetings.AgendaLink(version_id=version.id))
    invitation = db.scalar(select(MeetingInvitation).where(MeetingInvitation.meeting_id == meeting.id,
                                                           MeetingInvitation.person_id == people[1].person_id))
    token = meetings.mint_link(db, invitation.id)
    db.commit()
    events = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.network_id == network.id))
    member = app.test_client()
    # A scanner's GET (and HEAD) of the link, then the page: nothing recorded.
    assert member.head(f"/m/{token}").status_code == 303
    opened = member.get(f"/m/{token}")
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/meeting/{invitation.id}/")
    page = member.get(f"/meeting/{invitation.id}/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Het concept" in html and 'name="answer"' in html
    item = [i for i in meetings.agenda(db, meeting.id)][0]
    assert member.get(f"/m/{token}?item={item.id}").headers["Location"].endswith(f"/item/{item.id}")
    assert "Artikel 1" in member.get(f"/meeting/{invitation.id}/item/{item.id}").get_data(as_text=True)
    fresh(db)
    assert db.get(MeetingInvitation, invitation.id).answer == "none"
    assert db.scalar(select(MeetingLink.first_used_at).where(MeetingLink.invitation_id == invitation.id)) is None
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.network_id == network.id)) == events

    html = member.get(f"/meeting/{invitation.id}/").get_data(as_text=True)  # the second exchange made a new session
    # No choice: the error at the field, nothing recorded.
    refused = member.post(f"/meeting/{invitation.id}/", data={"csrf_token": csrf_token(html), "remark": "Hm"})
    assert refused.status_code == 400
    assert 'id="answer-error"' in refused.get_data(as_text=True)
    fresh(db)
    assert db.get(MeetingInvitation, invitation.id).answer == "none"

    answered = member.post(f"/meeting/{invitation.id}/", data={"csrf_token": csrf_token(html), "answer": "aanmelden",
                                                             "remark": "ik kom online"})
    assert answered.status_code == 303
    fresh(db)
    row = db.get(MeetingInvitation, invitation.id)
    assert (row.answer, row.remark) == ("aanmelden", "ik kom online")
    assert db.scalar(select(MeetingLink.first_used_at).where(MeetingLink.invitation_id == invitation.id)) is not None
    assert member.post(f"/meeting/{invitation.id}/", data={"csrf_token": csrf_token(html),
                                                          "answer": "afmelden"}).status_code == 303
    fresh(db)
    assert db.get(MeetingInvitation, invitation.id).answer == "afmelden"


def test_sign_up_pages_are_the_link_holders_only(app, db, staff):
    network, coordinator, people, document, version, round_, client = staff
    meeting = _invited(db, network, coordinator)
    mine, theirs = (db.scalar(select(MeetingInvitation).where(MeetingInvitation.meeting_id == meeting.id,
                                                              MeetingInvitation.person_id == p.person_id))
                    for p in (people[1], people[2]))
    token = meetings.mint_link(db, mine.id)
    db.commit()
    member = app.test_client()
    member.get(f"/m/{token}")
    assert member.get(f"/meeting/{theirs.id}/").status_code == 404
    assert app.test_client().get(f"/meeting/{mine.id}/").status_code == 404
    assert app.test_client().get("/m/" + "x" * 43).status_code == 410
    # Staff pages are the staff's: a member with a round link is not let in.
    link = rounds.mint_link(db, db.scalar(select(rounds.Participant.id).where(
        rounds.Participant.round_id == round_.id, rounds.Participant.person_id == people[1].person_id)))
    db.commit()
    member.get(f"/l/{link}")
    assert member.get(f"/n/{network.id}/meetings").status_code in (302, 303, 403, 404)
    # A cancelled meeting's page says so and offers no answer.
    meetings.cancel_meeting(db, meeting, actor=coordinator)
    db.commit()
    html = member.get(f"/meeting/{mine.id}/").get_data(as_text=True)
    assert 'name="answer"' not in html
