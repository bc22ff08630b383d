"""The minutes pages: notes, decisions referring to comments, action points and who attended, each refusal at its
field; the meeting page shows the minutes; a comment a decision refers to says "discussed at the meeting of" in the
processing view and on the member's page of their earlier comments; overdue action points on the dashboard."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from storage.database.models import (
    ActionPoint,
    AgendaItem,
    MailMessage,
    MeetingDecision,
    MeetingDecisionComment,
    MeetingInvitation,
    utcnow,
)
from tests.conftest import csrf_token
from tests.factories import DRAFT_TEXT, fresh, make_document, make_network, open_round, participant
from tests.service.test_staff_pages import signed_in
from workflows.domain import documents, meetings, minutes, rounds

DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.commit()


@pytest.fixture
def held(app, db):
    """A meeting held two days ago about two of a closed round's comments, with everyone invited."""
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    said = [rounds.add_comment(db, participant(db, round_, people[i]), body=f"Opmerking {i}: graag concreter.",
                               block_id=version.blocks[1]["id"]) for i in (1, 2)]
    rounds.close_round(db, round_, actor=coordinator)
    starts_at = utcnow() - 2 * DAY
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title="Netwerkbijeenkomst", starts_at=starts_at, duration_minutes=120, place="Utrecht"),
        actor=coordinator, now=starts_at - 30 * DAY)
    item = meetings.add_agenda_item(db, meeting, title="Het concept", actor=coordinator, link=meetings.AgendaLink(
        round_id=round_.id, comment_selection="chosen", comment_ids=[c.id for c in said]))
    meetings.invite(db, meeting, actor=coordinator, now=starts_at - 30 * DAY)
    db.commit()
    return network, coordinator, people, document, round_, said, meeting, item, signed_in(app, db, coordinator)


def post(client, page: str, action: str, prefix: str, data: dict):
    """A form of the minutes page: its fields carry the form's prefix (the page holds many forms)."""
    token = csrf_token(client.get(page).get_data(as_text=True))
    fields = {f"{prefix}-csrf_token": token}
    fields.update({f"{prefix}-{name}": value for name, value in data.items()})
    return client.post(action, data=fields)


def test_writing_the_minutes_with_refusals_at_their_fields(app, db, held):
    network, coordinator, people, document, round_, said, meeting, item, client = held
    base = f"/n/{network.id}/meetings/{meeting.id}"
    page = f"{base}/minutes"
    html = client.get(page).get_data(as_text=True)
    assert "Het concept" in html and "Opmerking 1: graag concreter." in html
    meeting_page = client.get(base).get_data(as_text=True)
    assert f'href="{page}"' in meeting_page

    assert post(client, page, f"{base}/minutes/items/{item.id}/notes", f"notes-{item.id}",
                {"notes": "Artikel 4 besproken."}).status_code == 303

    # A decision without text: refused at its field, with the summary linking to it; nothing saved.
    refused = post(client, page, f"{base}/minutes/items/{item.id}/decisions", f"decision-{item.id}",
                   {"text": "", "comments": str(said[0].id)})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert f'id="decision-{item.id}-text-error"' in html and f'href="#decision-{item.id}-text"' in html
    assert "<details open><summary>" in html  # the failed form is shown open
    made = post(client, page, f"{base}/minutes/items/{item.id}/decisions", f"decision-{item.id}",
                {"text": "Artikel 4 wordt herschreven.", "comments": str(said[0].id)})
    assert made.status_code == 303
    fresh(db)
    decision = db.scalar(select(MeetingDecision).where(MeetingDecision.meeting_id == meeting.id))
    assert decision.text == "Artikel 4 wordt herschreven."
    decision_id = decision.id
    assert db.scalars(select(MeetingDecisionComment.comment_id)
                      .where(MeetingDecisionComment.decision_id == decision.id)).all() == [said[0].id]

    # An action point: an owner who is not of this network, and no date: each refused at its field.
    refused = post(client, page, f"{base}/minutes/actions", "action",
                   {"text": "Artikel 4 herschrijven", "owner": "999999", "due_on": ""})
    assert refused.status_code == 400 and 'id="action-owner-error"' in refused.get_data(as_text=True)
    refused = post(client, page, f"{base}/minutes/actions", "action",
                   {"text": "Artikel 4 herschrijven", "owner": str(people[1].id), "due_on": ""})
    assert refused.status_code == 400 and 'id="action-due_on-error"' in refused.get_data(as_text=True)
    yesterday = (minutes.today() - DAY).isoformat()
    assert post(client, page, f"{base}/minutes/actions", "action",
                {"text": "Artikel 4 herschrijven", "owner": str(people[1].id), "due_on": yesterday,
                 "item": str(item.id)}).status_code == 303
    fresh(db)
    action = db.scalar(select(ActionPoint).where(ActionPoint.meeting_id == meeting.id))
    assert (action.owner_id, action.due_on.isoformat(), action.agenda_item_id) == (people[1].id, yesterday, item.id)

    # Who attended: the member and the coordinator.
    invitations = {i.person_id: i.id for i in db.scalars(select(MeetingInvitation)
                                                          .where(MeetingInvitation.meeting_id == meeting.id))}
    token = csrf_token(client.get(page).get_data(as_text=True))
    assert client.post(f"{base}/minutes/attendance", data={
        "attendance-csrf_token": token,
        "attendance-present": [str(invitations[people[1].person_id]), str(invitations[coordinator.id])]},
    ).status_code == 303
    fresh(db)
    assert sorted(i for i, came in db.execute(select(MeetingInvitation.person_id, MeetingInvitation.attended)
                                              .where(MeetingInvitation.meeting_id == meeting.id)) if came) \
        == sorted([people[1].person_id, coordinator.id])

    # The meeting page shows the minutes: notes, decision, action point (overdue), who attended per organisation.
    html = client.get(base).get_data(as_text=True)
    for text in ("Artikel 4 besproken.", "Artikel 4 wordt herschreven.", "Artikel 4 herschrijven",
                 people[1].organisation.name, people[1].name):
        assert text in html, text
    # The dashboard lists the overdue action point.
    dashboard = client.get("/").get_data(as_text=True)
    assert 'id="attention-actions"' in dashboard and "Artikel 4 herschrijven" in dashboard

    # Marked done with a note; then the dashboard no longer lists it.
    assert post(client, page, f"{base}/minutes/actions/{action.id}/done", f"done-{action.id}",
                {"note": "Rondgestuurd."}).status_code == 303
    fresh(db)
    assert db.get(ActionPoint, action.id).status == "done"
    assert 'id="attention-actions"' not in client.get("/").get_data(as_text=True)
    # Done twice: the page says why, nothing changes.
    again = post(client, page, f"{base}/minutes/actions/{action.id}/done", f"done-{action.id}", {"note": ""})
    assert again.status_code == 409

    # Changing and removing a decision.
    assert post(client, page, f"{base}/minutes/decisions/{decision.id}", f"decision-edit-{decision.id}",
                {"text": "Artikel 4 en 5 worden herschreven.",
                 "comments": str(said[1].id)}).status_code == 303
    fresh(db)
    assert db.get(MeetingDecision, decision.id).text == "Artikel 4 en 5 worden herschreven."
    token = csrf_token(client.get(page).get_data(as_text=True))
    assert client.post(f"{base}/minutes/decisions/{decision.id}/remove",
                       data={"csrf_token": token}).status_code == 303
    assert client.post(f"{base}/minutes/decisions/{decision.id}/remove",
                       data={"csrf_token": token}).status_code == 404
    fresh(db)
    assert db.get(MeetingDecision, decision_id) is None


def test_a_comment_discussed_says_so_to_the_staff_and_to_its_member(app, db, held):
    network, coordinator, people, document, round_, said, meeting, item, client = held
    minutes.add_decision(db, meeting, item.id, "Artikel 4 wordt herschreven.", comment_ids=[said[0].id],
                         actor=coordinator)
    db.commit()
    when = meeting.starts_at
    processing = client.get(f"/r/{round_.id}/processing").get_data(as_text=True)
    mine = processing[processing.index(f'id="comment-{said[0].id}"'):].split('<div class="comment')[0]
    other = processing[processing.index(f'id="comment-{said[1].id}"'):].split('<div class="comment')[0]
    assert f"/meetings/{meeting.id}#minutes" in mine and f"/meetings/{meeting.id}#minutes" not in other

    # The member who made it sees it with their earlier comments in the next round.
    documents.upload_version(db, document, filename="v2.md", data=DRAFT_TEXT.replace("goede", "betere").encode(),
                             change_note="tweede concept", actor=coordinator)
    second = open_round(db, document, coordinator)
    db.commit()
    link = rounds.mint_link(db, participant(db, second, people[1]).id)
    db.commit()
    member = app.test_client()
    assert member.get(f"/l/{link}").status_code == 303
    earlier = member.get(f"/review/{participant(db, second, people[1]).id}/earlier")
    html = earlier.get_data(as_text=True)
    assert earlier.status_code == 200 and "Opmerking 1" in html
    assert "bijeenkomst van" in html.lower() or "meeting of" in html.lower()
    assert str(when.astimezone(dt.UTC).year) in html


def test_before_the_meeting_and_of_a_cancelled_one(app, db, held):
    network, coordinator, people, document, round_, said, meeting, item, client = held
    coming = meetings.plan_meeting(db, network, meetings.Plan(
        title="Volgende bijeenkomst", starts_at=utcnow() + 10 * DAY, duration_minutes=120, place="Utrecht"),
        actor=coordinator)
    coming_item = meetings.add_agenda_item(db, coming, title="Terugblik", actor=coordinator)
    minutes.add_action_point(db, meeting, minutes.ActionInput("Verslag rondsturen", people[1].id,
                                                              minutes.today() + 3 * DAY), actor=coordinator)
    db.commit()
    base = f"/n/{network.id}/meetings/{coming.id}"
    page = client.get(f"{base}/minutes").get_data(as_text=True)
    assert 'name="notes-' not in page  # nothing to write before it starts
    refused = post(client, f"{base}/minutes", f"{base}/minutes/items/{coming_item.id}/notes",
                   f"notes-{coming_item.id}", {"notes": "Te vroeg."})
    assert refused.status_code == 409
    fresh(db)
    assert db.get(AgendaItem, coming_item.id).notes == ""
    # Its page shows the standing item: the action point still open from the meeting before.
    html = client.get(base).get_data(as_text=True)
    assert 'id="open-actions"' in html and "Verslag rondsturen" in html
    # A cancelled meeting has no minutes to write.
    meetings.cancel_meeting(db, coming, actor=coordinator)
    db.commit()
    assert 'name="notes-' not in client.get(f"{base}/minutes").get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(MeetingDecision)
                     .where(MeetingDecision.meeting_id == coming.id)) == 0
