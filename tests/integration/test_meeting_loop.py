"""A network meeting over HTTP on real parts (worker, SMTP, database): planned with an agenda item on round 1's
contested comments, invitations by mail, three sign up and one cancels through the links in their mails (a scanner's
GET of each link records nothing), the time changes (same UID, higher SEQUENCE), and the meeting is cancelled. And a
meeting that took place: its minutes written on the pages, put to the attendees as a document, agreed to through the
links in their mails, and made final like any document."""

from __future__ import annotations

import datetime as dt

import icalendar
from sqlalchemy import func, select

from storage.database.models import AuditEvent, Document, Meeting, MeetingInvitation, Version, utcnow
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.integration.test_whole_loop import csrf_version_id, path_of, post
from tests.service.test_staff_pages import signed_in
from workflows.domain import comments, meetings, rounds
from workflows.domain.wording import TIMEZONE


def _calendar(message) -> icalendar.Calendar:
    [data] = [data for name, kind, data in message.attachments() if name.endswith(".ics")]
    return icalendar.Calendar.from_ical(data)


def _event(message):
    [event] = _calendar(message).walk("VEVENT")
    return event


def test_a_meeting_from_plan_to_cancellation(app, db, mail_store, run_worker):
    network, coordinator, people = make_network(db, members=4)
    editor, *members = people
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    contested = rounds.add_comment(db, participant(db, round_, members[0]), body="Artikel 1 is te vaag.",
                                   block_id=version.blocks[1]["id"])
    taken = rounds.add_comment(db, participant(db, round_, members[1]), body="Noem de apotheek.",
                               block_id=version.blocks[3]["id"])
    comments.process_comment(db, contested, disposition="niet_overgenomen", answer="Bewust ruim.", actor=editor.person)
    comments.process_comment(db, taken, disposition="overgenomen", answer="Dank.", actor=editor.person)
    db.commit()
    run_worker()
    staff = signed_in(app, db, coordinator)
    mail_store.clear()

    # Planned through the pages, 2.5 hours, four weeks ahead, 14:00 Dutch time.
    day = (dt.datetime.now(TIMEZONE) + dt.timedelta(days=28)).date()
    new = f"/n/{network.id}/meetings/new"
    response = post(staff, new, new, {"title": "Eerste netwerkbijeenkomst", "starts_at": f"{day}T14:00",
                                      "duration_minutes": "150", "place": "Zalen De Brink, Utrecht",
                                      "online_url": "https://meet.example.org/zorgnetwerk",
                                      "chair": str(members[0].id), "minute_taker": str(editor.id),
                                      "audience": "everyone", "message": "Graag tot dan."})
    assert response.status_code == 303
    meeting_page = response.headers["Location"]
    response = post(staff, meeting_page, f"{meeting_page}/agenda",
                    {"title": "De niet overgenomen opmerkingen", "presenter": str(editor.id), "minutes": "45",
                     "link": f"comments:{round_.id}:niet_overgenomen"})
    assert response.status_code == 303
    assert post(staff, meeting_page, f"{meeting_page}/invite", {}).status_code == 303
    run_worker()
    invited = mail_store.wait_for(lambda ms: len(ms) == 6)  # coordinator, editor, four members
    by_person = {m.to[0]: m for m in invited}
    first = by_person[members[1].person.email]
    text = first.text_body()
    assert "Eerste netwerkbijeenkomst" in first.subject and "De niet overgenomen opmerkingen" in text
    # The item names its comments and document (round 1's one comment not taken over).
    assert f"Niet overgenomen opmerkingen uit ronde 1 van ‘{document.title}’ (1)" in text
    event = _event(first)
    uid, sequence = str(event["uid"]), int(event["sequence"])
    assert _calendar(first)["method"] == "REQUEST"
    assert event.decoded("dtstart").astimezone(TIMEZONE).replace(tzinfo=None) == dt.datetime.combine(
        day, dt.time(14, 0))

    # Each person's link from their mail; a scanner fetches every link first and records nothing.
    links = {email: next(link for link in message.links() if "/m/" in link and "?item=" not in link)
             for email, message in by_person.items()}
    item_links = [link for link in first.links() if "?item=" in link]
    assert item_links
    db.rollback()
    events = db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.network_id == network.id))
    for link in list(links.values()) + item_links:
        scanner = app.test_client()
        assert scanner.head(path_of(link)).status_code == 303
        landed = scanner.get(path_of(link))
        assert landed.status_code == 303 and "/m/" not in landed.headers["Location"]
        assert scanner.get(landed.headers["Location"]).status_code == 200
    fresh(db)
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.network_id == network.id)) == events
    assert set(db.scalars(select(MeetingInvitation.answer).where(
        MeetingInvitation.person_id.in_([m.person_id for m in members])))) == {"none"}

    # The item page shows the contested comment with the project group's answer.
    reader = app.test_client()
    item_page = reader.get(reader.get(path_of(item_links[0])).headers["Location"]).get_data(as_text=True)
    assert "Artikel 1 is te vaag." in item_page and "Noem de apotheek." not in item_page

    # Three sign up, one cannot come.
    answers = {members[0]: ("aanmelden", ""), members[1]: ("aanmelden", "ik kom online"),
               members[2]: ("aanmelden", ""), members[3]: ("afmelden", "Dan ben ik op vakantie.")}
    for member, (value, remark) in answers.items():
        person = app.test_client()
        page = person.get(path_of(links[member.person.email])).headers["Location"]
        response = post(person, page, page, {"answer": value, "remark": remark})
        assert response.status_code == 303
    html = staff.get(meeting_page).get_data(as_text=True)
    assert "ik kom online" in html and "Dan ben ik op vakantie." in html
    fresh(db)
    answered = dict(db.execute(select(MeetingInvitation.answer, func.count())
                               .where(MeetingInvitation.meeting_id == int(meeting_page.rsplit("/", 1)[1]))
                               .group_by(MeetingInvitation.answer)).all())
    assert answered == {"aanmelden": 3, "afmelden": 1, "none": 2}

    # The time changes: everyone gets the updated entry, same UID, higher SEQUENCE.
    mail_store.clear()
    edit = f"{meeting_page}/edit"
    response = post(staff, edit, edit, {"title": "Eerste netwerkbijeenkomst", "starts_at": f"{day}T15:30",
                                        "duration_minutes": "150", "place": "Zalen De Brink, Utrecht",
                                        "online_url": "https://meet.example.org/zorgnetwerk",
                                        "chair": str(members[0].id), "minute_taker": str(editor.id),
                                        "audience": "everyone", "message": "Graag tot dan."})
    assert response.status_code == 303
    run_worker()
    changed = {m.to[0]: m for m in mail_store.wait_for(lambda ms: len(ms) == 6)}
    event = _event(changed[members[1].person.email])
    assert str(event["uid"]) == uid and int(event["sequence"]) > sequence
    assert event.decoded("dtstart").astimezone(TIMEZONE).replace(tzinfo=None) == dt.datetime.combine(
        day, dt.time(15, 30))
    assert event["attendee"].params["PARTSTAT"] == "ACCEPTED"  # what they answered, in their calendar
    assert _event(changed[members[3].person.email])["attendee"].params["PARTSTAT"] == "DECLINED"

    # Cancelled: a CANCEL with the same UID and a higher SEQUENCE still.
    mail_store.clear()
    cancel = f"{meeting_page}/cancel"
    assert post(staff, cancel, cancel, {}).status_code == 303
    run_worker()
    cancelled = {m.to[0]: m for m in mail_store.wait_for(lambda ms: len(ms) == 6)}
    calendar = _calendar(cancelled[members[1].person.email])
    [event] = calendar.walk("VEVENT")
    assert calendar["method"] == "CANCEL" and str(event["status"]) == "CANCELLED"
    assert str(event["uid"]) == uid and int(event["sequence"]) > sequence + 1
    # The sign-up page now says so and takes no answer.
    person = app.test_client()
    page = person.get(path_of(links[members[0].person.email]))
    assert 'name="answer"' not in person.get(page.headers["Location"]).get_data(as_text=True)


def test_the_minutes_go_through_a_round_to_final(app, db, mail_store, run_worker):
    network, coordinator, people = make_network(db, members=4)
    editor, *members = people
    starts_at = utcnow() - dt.timedelta(days=3)
    planned = starts_at - dt.timedelta(days=30)
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title="Tweede netwerkbijeenkomst", starts_at=starts_at, duration_minutes=150, place="Utrecht",
        minute_taker_id=editor.id), actor=coordinator, now=planned)
    item = meetings.add_agenda_item(db, meeting, title="Het plan van aanpak", actor=coordinator)
    meetings.invite(db, meeting, actor=coordinator, now=planned)
    db.commit()
    run_worker()
    staff = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/meetings/{meeting.id}"
    minutes_page = f"{page}/minutes"

    # The minutes on their page: notes, two decisions, two action points, and four of six who attended.
    def write(action: str, data: dict) -> None:
        assert post(staff, minutes_page, f"{minutes_page}/{action}", data).status_code == 303, action

    write(f"items/{item.id}/notes", {f"notes-{item.id}-notes": "Het plan is doorgenomen."})
    write(f"items/{item.id}/decisions", {f"decision-{item.id}-text": "Artikel 4 wordt herschreven."})
    write(f"items/{item.id}/decisions", {f"decision-{item.id}-text": "Versie 3 gaat in commentaarronde."})
    due = (dt.datetime.now(TIMEZONE) + dt.timedelta(days=20)).date().isoformat()
    for text, owner in (("Artikel 4 herschrijven", editor), ("De apotheek uitnodigen", members[0])):
        write("actions", {"action-text": text, "action-owner": str(owner.id), "action-due_on": due,
                          "action-item": str(item.id)})
    came = [coordinator.id, editor.person_id, members[0].person_id, members[1].person_id]
    fresh(db)
    present = [str(i.id) for i in db.scalars(select(MeetingInvitation).where(
        MeetingInvitation.meeting_id == meeting.id)) if i.person_id in came]
    write("attendance", {"attendance-present": present})
    run_worker()  # the owners' mails about their action points
    mail_store.clear()

    # Put to those who attended: only they are invited, by mail with their personal link.
    response = post(staff, page, f"{page}/minutes/round",
                    {"minutes_round-audience": "attendees", "minutes_round-deadline": "2099-01-01T12:00",
                     "minutes_round-message": "Graag uw akkoord op de notulen."})
    assert response.status_code == 303
    run_worker()
    invited = mail_store.wait_for(lambda ms: len([m for m in ms if "/l/" in (m.text_body() or "")]) == 4)
    links = {m.to[0]: next(link for link in m.links() if "/l/" in link) for m in invited
             if "/l/" in (m.text_body() or "")}
    attendees = {coordinator.email, editor.person.email, members[0].person.email, members[1].person.email}
    assert set(links) == attendees
    fresh(db)
    document = db.get(Document, db.get(Meeting, meeting.id).minutes_document_id)
    document_path = f"/d/{document.id}"
    # Each attendee reads the minutes from their link and says akkoord.
    for email, link in links.items():
        person = app.test_client()
        review_path = person.get(path_of(link)).headers["Location"]
        review = person.get(review_path).get_data(as_text=True)
        assert "Artikel 4 wordt herschreven." in review and "De apotheek uitnodigen" in review
        response = post(person, review_path, review_path + "verdict", {"value": "akkoord", "reason": ""})
        assert response.status_code == 303, email

    # Made final like any document; the final files go to the attendees, and the meeting says so.
    mail_store.clear()
    response = post(staff, document_path, f"{document_path}/finalise",
                    {"version_id": csrf_version_id(staff.get(document_path).get_data(as_text=True)),
                     "confirmed": "yes"})
    assert response.status_code == 303
    run_worker()
    finals = mail_store.wait_for(lambda ms: len([m for m in ms if m.attachments()]) == 4)
    assert {m.to[0] for m in finals if m.attachments()} == attendees
    fresh(db)
    version = db.get(Version, db.get(Document, document.id).final_version_id)
    assert version.number == 1
    event = db.scalar(select(AuditEvent).where(AuditEvent.network_id == network.id,
                                               AuditEvent.kind == "minutes_finalised"))
    assert event.data["meeting_id"] == meeting.id and event.document_id == document.id
    html = staff.get(page).get_data(as_text=True)
    assert f"{document_path}/final.docx" in html and f"{document_path}/final.pdf" in html
    assert staff.get(f"{document_path}/final.docx").status_code == 200
