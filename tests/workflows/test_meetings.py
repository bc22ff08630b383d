"""Network meetings: planning, the agenda tied to the documents, invitations through the outbox with a parsed .ics
(stable UID, growing SEQUENCE, REQUEST/CANCEL, Europe/Amsterdam with summer and winter time), answers, reminders."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select, update

from storage.database.models import AgendaItemComment, AuditEvent, MailMessage, MeetingInvitation, MeetingLink
from tests.factories import make_document, make_network, open_round, participant
from workflows.domain import comments, meetings, membership, rounds
from workflows.errors import Conflict, InvalidInput, LinkInvalid
from workflows.outbound import jobs

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.commit()


def _plan(**overrides) -> meetings.Plan:
    values = dict(title="Netwerkbijeenkomst", starts_at=dt.datetime(2031, 3, 27, 14, 0, tzinfo=AMSTERDAM),
                  duration_minutes=150, place="Zalen De Brink, Utrecht", online_url="https://meet.example.org/abc")
    values.update(overrides)
    return meetings.Plan(**values)


def _ics(message) -> icalendar.Calendar:
    [(filename, content_type, data)] = [a for a in message.attachments() if a[0].endswith(".ics")]
    assert content_type.startswith("text/calendar")
    return icalendar.Calendar.from_ical(data)


def _event(calendar: icalendar.Calendar):
    [event] = calendar.walk("VEVENT")
    return event


@pytest.fixture
def network(db):
    network, coordinator, people = make_network(db, members=3)
    db.commit()
    return network, coordinator, people


def test_plan_change_and_cancel_keep_the_uid_and_raise_the_sequence(db, network, run_worker, mail_store):
    network, coordinator, people = network
    meeting = meetings.plan_meeting(db, network, _plan(chair_id=people[0].id), actor=coordinator,
                                    now=dt.datetime(2031, 1, 5, tzinfo=dt.UTC))
    meetings.add_agenda_item(db, meeting, title="Opening", minutes=10, presenter_id=people[0].id, actor=coordinator)
    meetings.add_agenda_item(db, meeting, title="Visiedocument", minutes=60, actor=coordinator)
    assert meetings.invite(db, meeting, actor=coordinator, now=dt.datetime(2031, 1, 5, tzinfo=dt.UTC)) == 5
    db.commit()
    run_worker()
    first = mail_store.wait_for(lambda ms: len(ms) == 5)
    mine = next(m for m in first if m.to == [people[1].person.email])
    assert "Netwerkbijeenkomst" in mine.subject
    assert "Visiedocument" in mine.text_body() and "/m/" in mine.text_body()
    calendar = _ics(mine)
    event = _event(calendar)
    assert calendar["method"] == "REQUEST"
    assert calendar.walk("VTIMEZONE")[0]["tzid"] == "Europe/Amsterdam"
    assert event["dtstart"].params["TZID"] == "Europe/Amsterdam"
    # 27 March 2031 is before the switch to summer time (30 March): 14:00 is 13:00 UTC.
    assert event.decoded("dtstart").astimezone(dt.UTC) == dt.datetime(2031, 3, 27, 13, 0, tzinfo=dt.UTC)
    assert event.decoded("dtend") - event.decoded("dtstart") == dt.timedelta(minutes=150)
    uid, sequence = str(event["uid"]), int(event["sequence"])
    assert uid == meeting.uid and sequence == 0
    assert str(event["attendee"]) == f"mailto:{people[1].person.email}"
    assert event["attendee"].params["PARTSTAT"] == "NEEDS-ACTION"
    assert "1. Opening" in str(event["description"]) and "Zalen De Brink" in str(event["location"])
    # The calendar entry holds no personal link (calendars are shared and synced); its URL is the online meeting.
    assert "/m/" not in calendar.to_ical().decode() and str(event["url"]) == "https://meet.example.org/abc"

    # A week later, after the clocks went forward: 14:00 is now 12:00 UTC.
    mail_store.clear()
    meetings.change_meeting(db, meeting, _plan(starts_at=dt.datetime(2031, 4, 3, 14, 0, tzinfo=AMSTERDAM),
                                               chair_id=people[0].id), actor=coordinator,
                            now=dt.datetime(2031, 1, 6, tzinfo=dt.UTC))
    db.commit()
    run_worker()
    changed = mail_store.wait_for(lambda ms: len(ms) == 5)
    mine = next(m for m in changed if m.to == [people[1].person.email])
    event = _event(_ics(mine))
    assert str(event["uid"]) == uid and int(event["sequence"]) == 1
    assert event.decoded("dtstart").astimezone(dt.UTC) == dt.datetime(2031, 4, 3, 12, 0, tzinfo=dt.UTC)

    # A new title alone changes no time or place: no SEQUENCE, no mail.
    mail_store.clear()
    meetings.change_meeting(db, meeting, _plan(title="Tweede netwerkbijeenkomst",
                                               starts_at=dt.datetime(2031, 4, 3, 14, 0, tzinfo=AMSTERDAM),
                                               chair_id=people[0].id), actor=coordinator,
                            now=dt.datetime(2031, 1, 6, tzinfo=dt.UTC))
    db.commit()
    assert meeting.sequence == 1
    assert run_worker() == 0

    meetings.cancel_meeting(db, meeting, actor=coordinator)
    db.commit()
    run_worker()
    cancelled = mail_store.wait_for(lambda ms: len(ms) == 5)
    mine = next(m for m in cancelled if m.to == [people[1].person.email])
    calendar = _ics(mine)
    event = _event(calendar)
    assert calendar["method"] == "CANCEL" and str(event["status"]) == "CANCELLED"
    assert str(event["uid"]) == uid and int(event["sequence"]) == 2
    with pytest.raises(Conflict):
        meetings.change_meeting(db, meeting, _plan(), actor=coordinator)
    kinds = list(db.scalars(select(AuditEvent.kind).where(AuditEvent.network_id == network.id,
                                                          AuditEvent.kind.like("meeting%"))))
    assert kinds.count("meeting_changed") == 2 and "meeting_cancelled" in kinds and "meeting_planned" in kinds


def test_a_mail_for_an_older_sequence_is_not_sent(db, network, run_worker, mail_store):
    network, coordinator, people = network
    meeting = meetings.plan_meeting(db, network, _plan(), actor=coordinator, now=dt.datetime(2031, 1, 5, tzinfo=dt.UTC))
    meetings.invite(db, meeting, actor=coordinator, now=dt.datetime(2031, 1, 5, tzinfo=dt.UTC))
    meetings.change_meeting(db, meeting, _plan(place="Elders"), actor=coordinator,
                            now=dt.datetime(2031, 1, 5, tzinfo=dt.UTC))
    db.commit()
    run_worker()
    received = mail_store.wait_for(lambda ms: len(ms) == 5)
    assert all(int(_event(_ics(m))["sequence"]) == 1 for m in received)
    assert db.scalar(select(func.count()).select_from(MailMessage).where(
        MailMessage.email == "meeting_invitation", MailMessage.failure == "not_needed",
        MailMessage.params["meeting_id"].as_integer() == meeting.id)) == 5


def test_the_plan_is_checked(db, network):
    network, coordinator, people = network
    now = dt.datetime(2031, 1, 5, tzinfo=dt.UTC)
    cases = [(dict(title="  "), "meeting_title_required"), (dict(starts_at=now - dt.timedelta(hours=1)),
                                                             "meeting_in_past"),
             (dict(duration_minutes=5), "meeting_duration"), (dict(place="", online_url=""), "meeting_place_required"),
             (dict(online_url="javascript:alert(1)"), "meeting_link_not_web"),
             (dict(audience="organisations"), "meeting_organisations_required"),
             (dict(chair_id=999_999), "meeting_not_member")]
    for overrides, code in cases:
        with pytest.raises(InvalidInput) as refused:
            meetings.plan_meeting(db, network, _plan(**overrides), actor=coordinator, now=now)
        assert refused.value.code == code


def test_the_audience_decides_who_is_invited(db, network):
    network, coordinator, people = network
    editor, member0, member1 = people[:3]
    member1.board = True
    now = dt.datetime(2031, 1, 5, tzinfo=dt.UTC)
    board = meetings.plan_meeting(db, network, _plan(audience="board"), actor=coordinator, now=now)
    group = meetings.plan_meeting(db, network, _plan(audience="project_group", minute_taker_id=member0.id),
                                  actor=coordinator, now=now)
    orgs = meetings.plan_meeting(db, network, _plan(audience="organisations",
                                                    organisation_ids=[member0.organisation_id]),
                                 actor=coordinator, now=now)
    coordinator_membership = next(m for m in meetings.audience(db, board) if m.person_id == coordinator.id)
    assert {m.id for m in meetings.audience(db, board)} == {coordinator_membership.id, member1.id}
    assert {m.id for m in meetings.audience(db, group)} == {coordinator_membership.id, editor.id, member0.id}
    assert {m.organisation_id for m in meetings.audience(db, orgs)} == {member0.organisation_id}

    # Choosing other organisations after the invitations: the new ones are invited, the others told it is off.
    meetings.invite(db, orgs, actor=coordinator, now=now)
    before = {i.person_id for i in meetings.attendance(db, orgs).invitations}
    other = next(m.organisation_id for m in people if m.organisation_id != member0.organisation_id)
    meetings.change_meeting(db, orgs, _plan(audience="organisations", organisation_ids=[other]), actor=coordinator,
                            now=now)
    after = {i.person_id for i in meetings.attendance(db, orgs).invitations}
    assert after and not (before & after)
    cancelled = db.scalar(select(func.count()).select_from(MailMessage).where(
        MailMessage.email == "meeting_cancelled", MailMessage.params["meeting_id"].as_integer() == orgs.id))
    assert cancelled == len(before)


def test_agenda_items_link_to_versions_redlines_rounds_and_contested_comments(db, network):
    network, coordinator, people = network
    editor, member0, member1 = people[:3]
    document, v1 = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    first = rounds.add_comment(db, participant(db, round_, member0), body="Artikel 1 is te vaag.",
                               block_id=v1.blocks[1]["id"])
    second = rounds.add_comment(db, participant(db, round_, member1), body="Akkoord met artikel 2.",
                                block_id=v1.blocks[3]["id"])
    rounds.record_verdict(db, participant(db, round_, member0), value="niet_akkoord", reason="Te vaag",
                          evidence=rounds.Evidence())
    comments.process_comment(db, first, disposition="niet_overgenomen", answer="Zo bedoeld.", actor=editor.person)
    comments.process_comment(db, second, disposition="overgenomen", answer="Dank.", actor=editor.person)
    meeting = meetings.plan_meeting(db, network, _plan(), actor=coordinator, now=dt.datetime(2031, 1, 5, tzinfo=dt.UTC))
    contested = meetings.add_agenda_item(db, meeting, title="Niet overgenomen", actor=coordinator,
                                         link=meetings.AgendaLink(round_id=round_.id,
                                                                  comment_selection="niet_overgenomen"))
    disagreed = meetings.add_agenda_item(db, meeting, title="Niet akkoord", actor=coordinator,
                                         link=meetings.AgendaLink(round_id=round_.id, comment_selection="niet_akkoord"))
    chosen = meetings.add_agenda_item(db, meeting, title="Gekozen", actor=coordinator,
                                      link=meetings.AgendaLink(round_id=round_.id, comment_selection="chosen",
                                                               comment_ids=[second.id]))
    version = meetings.add_agenda_item(db, meeting, title="Versie 1", actor=coordinator,
                                       link=meetings.AgendaLink(version_id=v1.id))
    linked = meetings.agenda_comments(db, [contested.id, disagreed.id, chosen.id, version.id])
    assert [c.id for c in linked[contested.id]] == [first.id]
    assert [c.id for c in linked[disagreed.id]] == [first.id]
    assert [c.id for c in linked[chosen.id]] == [second.id]
    assert linked[version.id] == [] and version.document_id == document.id
    with pytest.raises(InvalidInput) as refused:
        meetings.add_agenda_item(db, meeting, title="Redline", actor=coordinator,
                                 link=meetings.AgendaLink(version_id=v1.id, compare_version_id=v1.id))
    assert refused.value.code == "agenda_redline_versions"
    other_network, other_coordinator, _ = make_network(db)
    other_document, other_version = make_document(db, other_network, other_coordinator)
    with pytest.raises(InvalidInput):
        meetings.add_agenda_item(db, meeting, title="Elders", actor=coordinator,
                                 link=meetings.AgendaLink(version_id=other_version.id))

    meetings.move_agenda_item(db, meeting, version.id, up=True, actor=coordinator)
    assert [i.title for i in meetings.agenda(db, meeting.id)] == ["Niet overgenomen", "Niet akkoord", "Versie 1",
                                                                  "Gekozen"]
    meetings.remove_agenda_item(db, meeting, disagreed.id, actor=coordinator)
    assert [(i.position, i.title) for i in meetings.agenda(db, meeting.id)] == [
        (1, "Niet overgenomen"), (2, "Versie 1"), (3, "Gekozen")]
    assert db.scalar(select(func.count()).select_from(AgendaItemComment).where(
        AgendaItemComment.agenda_item_id == disagreed.id)) == 0


def test_answers_through_the_link_and_the_counts(db, network):
    network, coordinator, people = network
    now = dt.datetime(2031, 1, 5, tzinfo=dt.UTC)
    meeting = meetings.plan_meeting(db, network, _plan(), actor=coordinator, now=now)
    meetings.invite(db, meeting, actor=coordinator, now=now)
    invitations = {i.person_id: i for i in meetings.attendance(db, meeting).invitations}
    token = meetings.mint_link(db, invitations[people[1].person_id].id)
    link = meetings.use_link(db, token)
    assert link.first_used_at is None  # resolving records nothing
    meetings.answer(db, link.invitation, value="aanmelden", remark="ik kom online", link=link, now=now)
    meetings.answer(db, invitations[people[2].person_id], value="afmelden", now=now)
    with pytest.raises(InvalidInput):
        meetings.answer(db, invitations[people[0].person_id], value="misschien", now=now)
    figures = meetings.attendance(db, meeting)
    assert figures.counts == {"aanmelden": 1, "afmelden": 1, "none": 3}
    assert sum(c["aanmelden"] for _name, c in figures.by_organisation) == 1
    assert link.first_used_at == now and invitations[people[1].person_id].remark == "ik kom online"
    with pytest.raises(LinkInvalid):
        meetings.use_link(db, "x" * 43)
    # Thirty days after the meeting the link stops working.
    with pytest.raises(LinkInvalid):
        meetings.use_link(db, token, now=meeting.ends_at + dt.timedelta(days=31))
    with pytest.raises(Conflict):
        meetings.answer(db, link.invitation, value="afmelden", now=meeting.ends_at + dt.timedelta(minutes=1))


def test_reminders_go_to_those_who_have_not_answered_on_schedule_and_once(db, network, run_worker, mail_store):
    network, coordinator, people = network
    invited_at = dt.datetime(2031, 3, 1, 12, 0, tzinfo=dt.UTC)
    meeting = meetings.plan_meeting(db, network, _plan(), actor=coordinator, now=invited_at)
    meetings.invite(db, meeting, actor=coordinator, now=invited_at)
    answered = next(i for i in meetings.attendance(db, meeting).invitations if i.person_id == people[1].person_id)
    meetings.answer(db, answered, value="aanmelden", now=invited_at)
    db.commit()
    run_worker()
    mail_store.clear()

    def reminders() -> int:
        db.rollback()
        return db.scalar(select(func.count()).select_from(MailMessage).where(
            MailMessage.email == "meeting_reminder", MailMessage.params["meeting_id"].as_integer() == meeting.id))

    jobs.tick(dt.datetime(2031, 3, 20, 7, 0, tzinfo=AMSTERDAM).isoformat())  # 7 days before, but before 09:00
    assert reminders() == 0
    jobs.tick(dt.datetime(2031, 3, 20, 9, 5, tzinfo=AMSTERDAM).isoformat())
    assert reminders() == 4  # everyone but the one who answered
    jobs.tick(dt.datetime(2031, 3, 20, 9, 10, tzinfo=AMSTERDAM).isoformat())
    assert reminders() == 4
    meeting = db.get(type(meeting), meeting.id)
    meetings.remind_now(db, meeting, actor=coordinator, now=invited_at)
    db.commit()
    assert reminders() == 8


def test_a_link_minted_again_for_the_same_mail_revokes_the_first(db, network):
    network, coordinator, people = network
    now = dt.datetime(2031, 1, 5, tzinfo=dt.UTC)
    meeting = meetings.plan_meeting(db, network, _plan(), actor=coordinator, now=now)
    meetings.invite(db, meeting, actor=coordinator, now=now)
    mail = db.scalar(select(MailMessage).where(MailMessage.email == "meeting_invitation",
                                               MailMessage.params["meeting_id"].as_integer() == meeting.id).limit(1))
    first = meetings.mint_link(db, mail.params["invitation_id"], outbox_id=mail.id, revoke_earlier=False)
    second = meetings.mint_link(db, mail.params["invitation_id"], outbox_id=mail.id)
    with pytest.raises(LinkInvalid):
        meetings.use_link(db, first)
    assert meetings.use_link(db, second).invitation_id == mail.params["invitation_id"]
    assert db.scalar(select(func.count()).select_from(MeetingLink).where(
        MeetingLink.invitation_id == mail.params["invitation_id"])) == 2
    assert db.get(MeetingInvitation, mail.params["invitation_id"]).answer == "none"


def test_a_member_who_left_cannot_use_their_meeting_link(db, network):
    network, coordinator, people = network
    now = dt.datetime(2031, 1, 5, tzinfo=dt.UTC)
    meeting = meetings.plan_meeting(db, network, _plan(), actor=coordinator, now=now)
    meetings.invite(db, meeting, actor=coordinator, now=now)
    invitation = next(i for i in meetings.attendance(db, meeting).invitations if i.person_id == people[1].person_id)
    token = meetings.mint_link(db, invitation.id)
    membership.remove_member(db, people[1], actor=coordinator)
    with pytest.raises(LinkInvalid):
        meetings.use_link(db, token, now=now)


def test_at_most_three_reminders(db, network):
    network, coordinator, people = network
    now = dt.datetime(2031, 1, 5, tzinfo=dt.UTC)
    meeting = meetings.plan_meeting(db, network, _plan(), actor=coordinator, now=now)
    with pytest.raises(Conflict):
        meetings.remind_now(db, meeting, actor=coordinator, now=now)  # nobody invited yet
    meetings.invite(db, meeting, actor=coordinator, now=now)
    for _ in range(meetings.MAX_REMINDERS):
        assert meetings.remind_now(db, meeting, actor=coordinator, now=now) == 5
    with pytest.raises(Conflict) as refused:
        meetings.remind_now(db, meeting, actor=coordinator, now=now)
    assert refused.value.code == "meeting_too_many_reminders"


def test_who_joins_later_is_invited_alone_with_the_names_the_network_knows(db, network, run_worker, mail_store):
    network, coordinator, people = network
    now = dt.datetime(2031, 1, 5, tzinfo=dt.UTC)
    meeting = meetings.plan_meeting(db, network, _plan(chair_id=people[1].id, minute_taker_id=people[0].id),
                                    actor=coordinator, now=now)
    meetings.invite(db, meeting, actor=coordinator, now=now)
    db.commit()
    run_worker()
    mail_store.wait_for(lambda ms: len(ms) == 5)
    mail_store.clear()
    newcomer = membership.add_member(db, network, name="Nieuw Lid", email=f"nieuw-{network.id}@example.org",
                                     organisation_name="", role="member", actor=coordinator)
    assert meetings.invite(db, meeting, actor=coordinator, now=now) == 1
    db.commit()
    run_worker()
    [mail] = mail_store.wait_for(lambda ms: len(ms) == 1)  # a batch of one: the names are not its recipients'
    assert mail.to == [newcomer.person.email]
    assert people[1].name in mail.text_body() and people[0].name in mail.text_body()
    event = _event(_ics(mail))
    coordinator_name = next(m.name for m in meetings.audience(db, meeting) if m.person_id == coordinator.id)
    assert event["organizer"].params["CN"] == coordinator_name
    assert str(event["organizer"]) == f"mailto:{coordinator.email}"
