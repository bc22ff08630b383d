"""The member's commentaartabel says where a comment was discussed: "besproken in bijeenkomst van <datum>" under its
processing, for each comment a meeting's decision refers to, with one statement for the whole table (the same
number of statements for one such comment and for four)."""

from __future__ import annotations

import datetime as dt

from storage.database.models import utcnow
from tests.factories import make_document, make_network, open_round, participant
from tests.service.test_dossier import member_client
from tests.service.test_page_scale import statements
from workflows.domain import comments as comment_rules
from workflows.domain import meetings, minutes, rounds
from workflows.domain.wording import TIMEZONE

DAY = dt.timedelta(days=1)
DISCUSSED = "Besproken in de bijeenkomst van"


def test_the_member_table_says_which_comments_a_meeting_discussed_in_one_statement(app, db):
    network, coordinator, people = make_network(db, members=4)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    said = [rounds.add_comment(db, participant(db, round_, people[i]), body=f"Opmerking {i}: graag concreter.",
                               block_id=version.blocks[1]["id"]) for i in (1, 2, 3, 4)]
    rounds.close_round(db, round_, actor=coordinator)
    for comment in said:
        comment_rules.process_comment(db, comment, disposition="niet_overgenomen",
                                      answer="Past niet in deze versie.", actor=coordinator)
    starts_at = utcnow() - 2 * DAY
    meeting = meetings.plan_meeting(db, network, meetings.Plan(title="Netwerkbijeenkomst", starts_at=starts_at,
                                                               duration_minutes=120, place="Utrecht"),
                                    actor=coordinator, now=starts_at - 30 * DAY)
    item = meetings.add_agenda_item(db, meeting, title="De opmerkingen", actor=coordinator, link=meetings.AgendaLink(
        round_id=round_.id, comment_selection="niet_overgenomen"))
    minutes.add_decision(db, meeting, item.id, "Artikel 2 blijft zo.", comment_ids=[said[0].id], actor=coordinator)
    db.commit()
    client = member_client(app, db, round_, people[1])
    path = f"/review/{participant(db, round_, people[1]).id}/commentaartabel/{round_.id}"
    db.rollback()

    one, page = statements(app, client, path)
    assert page.count(DISCUSSED) == 1
    day = starts_at.astimezone(TIMEZONE).day
    assert f"{DISCUSSED} {day} " in page
    # The decision is on the staff side only: nothing else of the meeting shows.
    assert "Artikel 2 blijft zo." not in page

    minutes.add_decision(db, meeting, item.id, "De rest volgt later.", comment_ids=[c.id for c in said[1:]],
                         actor=coordinator)
    db.commit()
    four, page = statements(app, client, path)
    assert page.count(DISCUSSED) == 4
    assert one == four, (one, four)
