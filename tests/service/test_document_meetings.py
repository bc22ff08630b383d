"""The document page's timeline shows the meetings whose agenda refers to the document, each a link to its meeting
page, at the same cost in SQL statements for one meeting as for several."""

from __future__ import annotations

import datetime as dt

from storage.database.models import utcnow
from tests.factories import make_document, make_network, open_round
from tests.service.test_page_scale import MAX_STATEMENTS, statements
from tests.service.test_staff_pages import signed_in
from workflows.domain import meetings, rounds

DAY = dt.timedelta(days=1)


def _meeting(db, network, coordinator, title: str, starts_at: dt.datetime, link: meetings.AgendaLink):
    meeting = meetings.plan_meeting(db, network, meetings.Plan(title=title, starts_at=starts_at,
                                                               duration_minutes=150, place="Utrecht"),
                                    actor=coordinator, now=starts_at - 30 * DAY)
    meetings.add_agenda_item(db, meeting, title=f"Bespreking: {title}", actor=coordinator, link=link)
    return meeting


def test_the_document_page_shows_its_meetings_at_a_constant_cost(app, db):
    network, coordinator, _people = make_network(db, members=3)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    rounds.close_round(db, round_, actor=coordinator)
    held = _meeting(db, network, coordinator, "Eerste netwerkbijeenkomst", utcnow() - 2 * DAY,
                    meetings.AgendaLink(round_id=round_.id))
    db.commit()
    client = signed_in(app, db, coordinator)
    one, html = statements(app, client, f"/d/{document.id}")
    timeline = html[html.index('id="timeline"'):].split("</ol>")[0]
    assert "Eerste netwerkbijeenkomst" in timeline and "Bespreking: Eerste netwerkbijeenkomst" in timeline
    assert f'href="/n/{network.id}/meetings/{held.id}"' in timeline

    for n in range(3):
        _meeting(db, network, coordinator, f"Bijeenkomst {n}", utcnow() + (n + 5) * DAY,
                 meetings.AgendaLink(version_id=version.id))
    db.commit()
    several, html = statements(app, client, f"/d/{document.id}")
    assert one == several <= MAX_STATEMENTS, (one, several)
    assert all(f"Bijeenkomst {n}" in html for n in range(3))
