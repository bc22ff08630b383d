"""Putting a meeting's minutes to a round over HTTP: the form on the staff's meeting page (refusals at their fields, in
Dutch, changing nothing), the round it opens, the minutes read-only from then on, the document linking back to its
meeting, and the meeting page saying when the minutes were adopted, with the final files."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from storage.database.models import AuditEvent, Document, MailMessage, Meeting, Participant, Round, utcnow
from tests.factories import fresh
from tests.service.test_staff_pages import signed_in, submit
from tests.workflows.test_minutes_document import held
from workflows.domain import finalising, rounds
from workflows.domain.wording import TIMEZONE


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.commit()


def _local(days: int) -> str:
    return (dt.datetime.now(TIMEZONE) + dt.timedelta(days=days)).strftime("%Y-%m-%dT17:00")


def _form(**overrides) -> dict:
    data = {"minutes_round-audience": "attendees", "minutes_round-deadline": _local(14),
            "minutes_round-message": "Graag uw akkoord op de notulen."}
    data.update(overrides)
    return data


def _tally(db, network_id: int) -> tuple:
    fresh(db)
    return (db.scalar(select(func.count(Document.id)).where(Document.network_id == network_id)),
            db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.network_id == network_id)),
            db.scalar(select(func.count(Round.id)).join(Document).where(Document.network_id == network_id)))


def test_the_form_refuses_at_its_fields_then_opens_the_round(app, db):
    network, coordinator, people, meeting, item = held(db)
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/meetings/{meeting.id}"
    action = f"{page}/minutes/round"
    html = client.get(page).get_data(as_text=True)
    assert f'action="{action}"' in html and 'id="minutes_round-deadline"' in html
    before = _tally(db, network.id)

    # A deadline in the past: at the deadline, in Dutch, with the summary linking to it; nothing changed.
    refused = submit(client, page, action, _form(**{"minutes_round-deadline": _local(-2)}))
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'id="minutes_round-deadline-error"' in html and 'href="#minutes_round-deadline"' in html
    assert "De deadline moet in de toekomst liggen." in html
    # No deadline; an audience that does not exist: each at its own field.
    refused = submit(client, page, action, _form(**{"minutes_round-deadline": ""}))
    assert refused.status_code == 400 and 'id="minutes_round-deadline-error"' in refused.get_data(as_text=True)
    refused = submit(client, page, action, _form(**{"minutes_round-audience": "everyone"}))
    assert refused.status_code == 400 and 'id="minutes_round-audience-error"' in refused.get_data(as_text=True)
    assert "Graag uw akkoord op de notulen." in refused.get_data(as_text=True)  # what was typed is kept
    # Without the CSRF token: refused too.
    assert client.post(action, data=_form()).status_code == 400
    assert _tally(db, network.id) == before

    done = submit(client, page, action, _form())
    assert done.status_code == 303
    fresh(db)
    meeting = db.get(Meeting, meeting.id)
    round_ = db.scalar(select(Round).where(Round.document_id == meeting.minutes_document_id))
    assert done.headers["Location"].endswith(f"/r/{round_.id}")
    assert set(db.scalars(select(Participant.person_id).where(Participant.round_id == round_.id))) == {
        coordinator.id, people[1].person_id, people[2].person_id}

    # The meeting page links to the document; the form is gone and a second post is refused.
    html = client.get(page).get_data(as_text=True)
    assert f"/d/{meeting.minutes_document_id}" in html and f"/r/{round_.id}" in html
    assert f'action="{action}"' not in html
    before = _tally(db, network.id)
    again = submit(client, page, action, _form())
    assert again.status_code == 409
    assert _tally(db, network.id) == before
    # The minutes page is read-only, and its forms' posts are refused.
    minutes_page = f"{page}/minutes"
    html = client.get(minutes_page).get_data(as_text=True)
    assert f"/d/{meeting.minutes_document_id}" in html and "/notes" not in html
    changed = submit(client, page, f"{minutes_page}/items/{item.id}/notes", {f"notes-{item.id}-notes": "Anders."})
    assert changed.status_code == 409
    fresh(db)
    assert "Anders." not in db.get(type(item), item.id).notes

    # The document's page links back to its meeting.
    html = client.get(f"/d/{meeting.minutes_document_id}").get_data(as_text=True)
    assert f"/n/{network.id}/meetings/{meeting.id}" in html

    # Every attendee agrees; made final: the meeting page says when, with the final files.
    for voter in db.scalars(select(Participant).where(Participant.round_id == round_.id, Participant.can_vote)):
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    document = db.get(Document, meeting.minutes_document_id)
    finalising.finalise_document(db, document, round_.version, actor=coordinator)
    db.commit()
    html = client.get(page).get_data(as_text=True)
    assert f"/d/{document.id}/final.docx" in html and f"/d/{document.id}/final.pdf" in html
    assert 'id="minutes-document"' in html and "/notes" not in html


def test_not_before_the_meeting_is_over(app, db):
    network, coordinator, people, meeting, item = held(db, starts_at=utcnow() + dt.timedelta(days=3))
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/meetings/{meeting.id}"
    assert 'minutes_round-deadline' not in client.get(page).get_data(as_text=True)
    before = _tally(db, network.id)
    refused = submit(client, page, f"{page}/minutes/round", _form())
    assert refused.status_code == 409
    assert _tally(db, network.id) == before
