"""Choosing comments one by one for an agenda item: the page (reached from the agenda item) shows the round's comments
grouped by passage with a box each, ticked as the item brings them or as a rule names them ("niet overgenomen",
"niet akkoord"); a GET changes nothing, the POST saves the choice (with its audit event); a comment a decision refers
to stays chosen; other networks' staff and members do not reach it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from storage.database.models import AgendaItem, AgendaItemComment, AuditEvent, MailMessage, utcnow
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.service.test_staff_pages import signed_in
from workflows.domain import comments as comment_rules
from workflows.domain import meetings, minutes, rounds

DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.commit()


def build(db, *, starts_in: dt.timedelta = 10 * DAY):
    """A closed round with four comments (two on passage 1, one on passage 2, one general); two not taken over, and
    one member who said niet akkoord; a meeting with an item about the round."""
    network, coordinator, people = make_network(db, members=4)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    first, second = version.blocks[1]["id"], version.blocks[2]["id"]
    said = [rounds.add_comment(db, participant(db, round_, people[i]), body=f"Opmerking {i}", block_id=block)
            for i, block in ((1, first), (2, first), (3, second), (4, None))]
    rounds.record_verdict(db, participant(db, round_, people[3]), value="niet_akkoord", reason="Zo niet.",
                          evidence=rounds.Evidence())
    rounds.close_round(db, round_, actor=coordinator)
    for comment, disposition in zip(said, ("niet_overgenomen", "overgenomen", "voor_kennisgeving",
                                           "niet_overgenomen"), strict=True):
        comment_rules.process_comment(db, comment, disposition=disposition, answer="Zo is het.", actor=coordinator)
    starts_at = utcnow() + starts_in
    meeting = meetings.plan_meeting(db, network, meetings.Plan(title="Netwerkbijeenkomst", starts_at=starts_at,
                                                               duration_minutes=120, place="Utrecht"),
                                    actor=coordinator, now=min(utcnow(), starts_at - 30 * DAY))
    item = meetings.add_agenda_item(db, meeting, title="De opmerkingen", actor=coordinator,
                                    link=meetings.AgendaLink(round_id=round_.id))
    other_item = meetings.add_agenda_item(db, meeting, title="Welkom", actor=coordinator)
    db.commit()
    return network, coordinator, people, round_, said, meeting, item, other_item


def ticked(page: str) -> set[int]:
    return {int(v) for v in re.findall(r'name="comment" value="(\d+)" checked', page)}


def chosen(db, item_id: int) -> set[int]:
    fresh(db)
    return set(db.scalars(select(AgendaItemComment.comment_id).where(AgendaItemComment.agenda_item_id == item_id)))


def test_the_staff_choose_comments_grouped_by_passage_with_rules_preselected(app, db):
    network, coordinator, people, round_, said, meeting, item, other_item = build(db)
    _n, other_coordinator, other_people = make_network(db, members=1)
    other_doc, _v = make_document(db, _n, other_coordinator)
    other_round = open_round(db, other_doc, other_coordinator)
    db.commit()
    foreign = rounds.add_comment(db, participant(db, other_round, other_people[1]), body="Elders")
    db.commit()
    client = signed_in(app, db, coordinator)
    meeting_page = client.get(f"/n/{network.id}/meetings/{meeting.id}").get_data(as_text=True)
    path = f"/n/{network.id}/meetings/{meeting.id}/agenda/{item.id}/comments"
    assert f'href="{path}"' in meeting_page  # reachable from the item about a round, not from the other one
    assert f"/agenda/{other_item.id}/comments" not in meeting_page
    assert client.get(f"/n/{network.id}/meetings/{meeting.id}/agenda/{other_item.id}/comments").status_code == 404

    page = client.get(path).get_data(as_text=True)
    assert ticked(page) == set()
    # Grouped by passage in the order of the text, the general comment last.
    positions = [page.index(f"Opmerking {i}") for i in (1, 2, 3, 4)]
    assert positions == sorted(positions) and page.count("<fieldset") == 1 + 3
    assert ticked(client.get(path + "?kies=niet_overgenomen").get_data(as_text=True)) == {said[0].id, said[3].id}
    assert ticked(client.get(path + "?kies=niet_akkoord").get_data(as_text=True)) == {said[2].id}
    fresh(db)
    assert chosen(db, item.id) == set() and db.get(AgendaItem, item.id).comment_selection is None  # GETs: nothing

    token = csrf_token(page)
    assert client.post(path, data={"comment": [str(said[0].id)]}).status_code == 400  # no CSRF token
    response = client.post(path, data={"csrf_token": token, "comment": [str(said[0].id), str(said[2].id)]})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#item-{item.id}")
    assert chosen(db, item.id) == {said[0].id, said[2].id}
    assert db.get(AgendaItem, item.id).comment_selection == "chosen"
    assert ticked(client.get(path).get_data(as_text=True)) == {said[0].id, said[2].id}
    event = db.scalar(select(AuditEvent).where(AuditEvent.network_id == network.id,
                                               AuditEvent.kind == "agenda_comments_chosen"))
    assert event.data["comments"] == sorted([said[0].id, said[2].id])
    # The meeting page lists what the item brings.
    assert "Opmerking 3" in client.get(f"/n/{network.id}/meetings/{meeting.id}").get_data(as_text=True)

    # A comment of another round (or another network) is refused, and nothing changes.
    response = client.post(path, data={"csrf_token": token, "comment": [str(foreign.id)]})
    assert response.status_code == 400 and chosen(db, item.id) == {said[0].id, said[2].id}
    # None ticked: the item is about the round only.
    assert client.post(path, data={"csrf_token": token}).status_code == 303
    assert chosen(db, item.id) == set() and db.get(AgendaItem, item.id).comment_selection is None

    # Another network's coordinator does not reach the page.
    stranger = signed_in(app, db, other_coordinator)
    assert stranger.get(path).status_code in (403, 404)


def test_a_comment_a_decision_refers_to_stays_chosen(app, db):
    network, coordinator, people, round_, said, meeting, item, _other = build(db, starts_in=-2 * DAY)
    meetings.choose_agenda_comments(db, meeting, item.id, [said[0].id, said[1].id], actor=coordinator)
    minutes.add_decision(db, meeting, item.id, "Artikel 1 blijft.", comment_ids=[said[0].id], actor=coordinator)
    db.commit()
    client = signed_in(app, db, coordinator)
    path = f"/n/{network.id}/meetings/{meeting.id}/agenda/{item.id}/comments"
    token = csrf_token(client.get(path).get_data(as_text=True))
    refused = client.post(path, data={"csrf_token": token, "comment": [str(said[1].id)]})
    assert refused.status_code == 400 and "refers to a comment you left out" in refused.get_data(as_text=True) \
        or "verwijst naar een opmerking" in refused.get_data(as_text=True)
    assert chosen(db, item.id) == {said[0].id, said[1].id}
    assert client.post(path, data={"csrf_token": token, "comment": [str(said[0].id)]}).status_code == 303
    assert chosen(db, item.id) == {said[0].id}
