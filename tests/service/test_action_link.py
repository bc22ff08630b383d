"""The page where an action point's owner marks it done, reached by the personal link from its mail: the link is
swapped for a cookie, a GET (a mail scanner's too) shows and changes nothing, only the POST records it done with
the note; a second POST is refused; a browser without the link sees nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from storage.database.models import ActionLink, ActionPoint, AuditEvent, utcnow
from tests.conftest import csrf_token
from tests.factories import fresh, make_network
from workflows.domain import action_followup, meetings, minutes

DAY = dt.timedelta(days=1)


def test_a_get_shows_and_only_the_post_marks_it_done(app, db):
    network, coordinator, members = make_network(db, members=2)
    starts_at = utcnow() - DAY
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title="Netwerkbijeenkomst", starts_at=starts_at, duration_minutes=120, place="Utrecht"),
        actor=coordinator, now=starts_at - 30 * DAY)
    action = minutes.add_action_point(db, meeting, minutes.ActionInput(
        "Sociale kaart bijwerken", members[1].id, minutes.today() + 7 * DAY), actor=coordinator)
    token = action_followup.mint_link(db, action.id)
    db.commit()

    def events() -> int:
        db.rollback()
        return db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.network_id == network.id))

    before = events()
    owner = app.test_client()
    landed = owner.get(f"/a/{token}")
    assert landed.status_code == 303 and token not in landed.headers["Location"]
    page = owner.get(landed.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Sociale kaart bijwerken" in html and "Netwerkbijeenkomst" in html and 'name="note"' in html
    fresh(db)
    assert events() == before
    assert db.get(ActionPoint, action.id).status == "open"
    assert db.scalar(select(ActionLink.first_used_at).where(ActionLink.action_point_id == action.id)) is None

    # Another browser (no link), or the link's page of another action point: nothing.
    assert app.test_client().get(landed.headers["Location"]).status_code == 404
    assert app.test_client().get(f"/a/{'x' * 43}").status_code in (404, 410)

    # The POST without its CSRF token is refused; with it, the point is done with the note.
    assert owner.post(landed.headers["Location"], data={"note": "Bijgewerkt."}).status_code == 400
    done = owner.post(landed.headers["Location"], data={"csrf_token": csrf_token(html), "note": "Bijgewerkt."})
    assert done.status_code == 303
    fresh(db)
    action = db.get(ActionPoint, action.id)
    assert (action.status, action.done_note, action.done_by_id) == ("done", "Bijgewerkt.", members[1].person_id)
    html = owner.get(landed.headers["Location"]).get_data(as_text=True)
    assert "Bijgewerkt." in html and 'name="note"' not in html
    # A second time: refused, the first note stands.
    again = owner.post(landed.headers["Location"], data={"csrf_token": csrf_token(html), "note": "Nog eens."})
    assert again.status_code == 409
    fresh(db)
    assert db.get(ActionPoint, action.id).done_note == "Bijgewerkt."
