"""The minutes of a meeting: notes per agenda item, decisions that refer to the comments the item brought (which then
say where they were discussed), action points with their owner, due day, overdue and done, who attended per
organisation, the standing agenda item of open action points (on the next meeting's page and in its invitation),
and the audit trail of each change."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from storage.database.models import AuditEvent, MailMessage, MeetingInvitation, utcnow
from tests.factories import make_document, make_network, open_round, participant
from workflows.domain import meetings, minutes, people, rounds
from workflows.errors import Conflict, InvalidInput, NotAllowed
from workflows.outbound import emails

NOW = utcnow()
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.commit()


def held(db, network, coordinator, *, starts_at, link=None, minute_taker_id=None, title="Netwerkbijeenkomst"):
    """A meeting that was planned (and invited to) a month before `starts_at`, with one agenda item."""
    before = starts_at - 30 * DAY
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title=title, starts_at=starts_at, duration_minutes=120, place="Utrecht", minute_taker_id=minute_taker_id),
        actor=coordinator, now=before)
    item = meetings.add_agenda_item(db, meeting, title="Het concept", actor=coordinator, link=link)
    meetings.invite(db, meeting, actor=coordinator, now=before)
    return meeting, item


@pytest.fixture
def setting(db):
    network, coordinator, members = make_network(db, members=3)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    said = [rounds.add_comment(db, participant(db, round_, members[i]), body=f"Opmerking {i}: graag concreter.",
                               block_id=version.blocks[1]["id"]) for i in (1, 2, 3)]
    rounds.close_round(db, round_, actor=coordinator)
    meeting, item = held(db, network, coordinator, starts_at=NOW - 2 * DAY, minute_taker_id=members[1].id,
                         link=meetings.AgendaLink(round_id=round_.id, comment_selection="chosen",
                                                  comment_ids=[said[0].id, said[1].id]))
    db.commit()
    return network, coordinator, members, round_, said, meeting, item


def test_notes_decisions_with_comments_and_audit(db, setting):
    network, coordinator, members, round_, said, meeting, item = setting
    minutes.write_notes(db, meeting, item.id, "  Artikel 4 is besproken.\nIedereen was het eens. ", actor=coordinator)
    decision = minutes.add_decision(db, meeting, item.id, "Artikel 4 wordt herschreven.", comment_ids=[said[0].id],
                                    actor=coordinator)
    db.commit()
    assert item.notes == "Artikel 4 is besproken.\nIedereen was het eens."
    # The comment it refers to says at which meeting it was discussed; the others do not.
    discussed = minutes.discussed_in(db, [c.id for c in said])
    assert [d.meeting_id for d in discussed[said[0].id]] == [meeting.id]
    assert said[1].id not in discussed and said[2].id not in discussed

    # Only the comments the item brought can be referred to: the third was not on the agenda.
    with pytest.raises(InvalidInput) as refused:
        minutes.add_decision(db, meeting, item.id, "Ook dit.", comment_ids=[said[2].id], actor=coordinator)
    assert refused.value.params["field"] == "comment_ids"
    db.rollback()
    with pytest.raises(InvalidInput) as refused:
        minutes.add_decision(db, meeting, item.id, "   ", actor=coordinator)
    assert refused.value.code == "decision_text_required"
    db.rollback()

    minutes.change_decision(db, meeting, decision.id, "Artikel 4 en 5 worden herschreven.",
                            comment_ids=[said[0].id, said[1].id], actor=coordinator)
    db.commit()
    assert set(minutes.discussed_in(db, [c.id for c in said])) == {said[0].id, said[1].id}
    record = minutes.minutes(db, meeting, [item.id])
    assert [d.text for d in record.decisions[item.id]] == ["Artikel 4 en 5 worden herschreven."]
    assert record.referred[decision.id] == sorted([said[0].id, said[1].id])
    # An item with a decision stays on the agenda (the minutes keep what was decided under it).
    with pytest.raises(Conflict):
        meetings.remove_agenda_item(db, meeting, item.id, actor=coordinator)
    db.rollback()

    minutes.remove_decision(db, meeting, decision.id, actor=coordinator)
    db.commit()
    assert minutes.discussed_in(db, [c.id for c in said]) == {}
    kinds = list(db.scalars(select(AuditEvent.kind).where(AuditEvent.network_id == network.id)
                            .order_by(AuditEvent.seq)))
    assert kinds[-4:] == ["minutes_notes_written", "decision_added", "decision_changed", "decision_removed"]


def test_who_may_write_and_when(db, setting):
    network, coordinator, members, round_, said, meeting, item = setting
    # The minute-taker (a member here) may; another member may not.
    minutes.write_notes(db, meeting, item.id, "Genoteerd.", actor=members[1].person)
    with pytest.raises(NotAllowed):
        minutes.write_notes(db, meeting, item.id, "Ook ik.", actor=members[2].person)
    db.rollback()
    # Not before the meeting has started, and not of a cancelled meeting.
    coming, coming_item = held(db, network, coordinator, starts_at=NOW + 10 * DAY)
    with pytest.raises(Conflict) as refused:
        minutes.write_notes(db, coming, coming_item.id, "Te vroeg.", actor=coordinator)
    assert refused.value.code == "minutes_before_meeting"
    db.rollback()
    # An item of another meeting is not this meeting's.
    coming, coming_item = held(db, network, coordinator, starts_at=NOW + 10 * DAY)
    with pytest.raises(InvalidInput):
        minutes.add_decision(db, meeting, coming_item.id, "Elders.", actor=coordinator)
    db.rollback()


def test_action_points_overdue_done_and_the_standing_item(db, setting, run_worker, mail_store):
    network, coordinator, members, round_, said, meeting, item = setting
    owner = members[2]
    with pytest.raises(InvalidInput) as refused:
        minutes.add_action_point(db, meeting, minutes.ActionInput("Tekst", owner.id, None), actor=coordinator)
    assert refused.value.code == "action_due_required"
    db.rollback()
    with pytest.raises(InvalidInput) as refused:
        minutes.add_action_point(db, meeting, minutes.ActionInput("Tekst", None, minutes.today()),
                                 actor=coordinator)
    assert refused.value.code == "action_owner_required"
    db.rollback()
    with pytest.raises(InvalidInput) as refused:
        minutes.add_action_point(db, meeting, minutes.ActionInput("Tekst", owner.id, minutes.today() - 30 * DAY),
                                 actor=coordinator)
    assert refused.value.code == "action_due_before_meeting"
    db.rollback()

    late = minutes.add_action_point(db, meeting, minutes.ActionInput(
        "Artikel 4 herschrijven", owner.id, minutes.today() - DAY, agenda_item_id=item.id), actor=coordinator)
    later = minutes.add_action_point(db, meeting, minutes.ActionInput(
        "Apotheek uitnodigen", members[1].id, minutes.today() + 7 * DAY), actor=coordinator)
    db.commit()
    # Overdue: open and its due day (Dutch time) has passed; one statement for any number of networks.
    assert [e.action.id for e in minutes.overdue(db, [network.id])] == [late.id]
    assert minutes.overdue(db, [network.id], now=NOW - 3 * DAY) == []
    assert minutes.overdue(db, []) == []

    # The next meeting's agenda has the open action points as a standing item; the meeting itself does not.
    coming, _coming_item = held(db, network, coordinator, starts_at=NOW + 10 * DAY, title="Tweede bijeenkomst")
    db.commit()
    standing = minutes.open_before(db, coming)
    assert [(e.action.id, e.overdue, e.owner) for e in standing] == [(late.id, True, owner.name),
                                                                      (later.id, False, members[1].name)]
    assert minutes.open_before(db, meeting) == []
    run_worker()
    mine = [m for m in mail_store.wait_for(lambda ms: any("Tweede bijeenkomst" in m.subject for m in ms))
            if "Tweede bijeenkomst" in m.subject and m.to == [owner.person.email]]
    text = mine[0].text_body()
    assert "Artikel 4 herschrijven" in text and "Apotheek uitnodigen" in text

    # Marked done by the staff, with a note; once.
    with pytest.raises(NotAllowed):
        minutes.mark_done(db, meeting, late.id, note="Klaar", actor=owner.person)
    db.rollback()
    minutes.mark_done(db, meeting, late.id, note="Nieuwe tekst rondgestuurd.", actor=coordinator)
    db.commit()
    assert (late.status, late.done_note, late.done_by_id) == ("done", "Nieuwe tekst rondgestuurd.", coordinator.id)
    with pytest.raises(Conflict):
        minutes.mark_done(db, meeting, late.id, actor=coordinator)
    db.rollback()
    assert minutes.overdue(db, [network.id]) == []
    assert [e.action.id for e in minutes.open_before(db, coming)] == [later.id]

    minutes.change_action_point(db, meeting, later.id, minutes.ActionInput(
        "Apotheek en huisartsen uitnodigen", owner.id, minutes.today() + 14 * DAY), actor=coordinator)
    db.commit()
    assert (later.owner_id, later.due_on) == (owner.id, minutes.today() + 14 * DAY)
    minutes.remove_action_point(db, meeting, later.id, actor=coordinator)
    db.commit()
    assert [e.action.id for e in minutes.action_points(db, meeting)] == [late.id]
    event = db.scalar(select(AuditEvent).where(AuditEvent.network_id == network.id,
                                               AuditEvent.kind == "action_point_changed"))
    assert event.data["before"]["owner_id"] == members[1].id and event.data["after"]["owner_id"] == owner.id
    kinds = set(db.scalars(select(AuditEvent.kind).where(AuditEvent.network_id == network.id)))
    assert {"action_point_added", "action_point_done", "action_point_removed"} <= kinds


def test_attendance_per_organisation(db, setting):
    network, coordinator, members, round_, said, meeting, item = setting
    invitations = {i.person_id: i for i in db.scalars(
        select(MeetingInvitation).where(MeetingInvitation.meeting_id == meeting.id))}
    assert minutes.present(db, meeting).recorded is False
    came = [invitations[members[1].person_id].id, invitations[members[2].person_id].id,
            invitations[coordinator.id].id]
    assert minutes.record_attendance(db, meeting, came, actor=coordinator) == 3
    db.commit()
    present = minutes.present(db, meeting)
    assert present.recorded and present.count == 3
    by = dict(present.by_organisation)
    # make_network puts members in two organisations by turns; the coordinator has none (listed last).
    assert by[members[1].organisation.name] == [members[1].name]
    assert by[members[2].organisation.name] == [members[2].name]
    assert present.by_organisation[-1] == ("", [people.active_membership(db, network.id, coordinator.id).name])
    assert invitations[members[3].person_id].attended is False
    # Someone not invited cannot be recorded as present.
    with pytest.raises(InvalidInput):
        minutes.record_attendance(db, meeting, [10**8], actor=coordinator)
    db.rollback()
    # Saving the same again records no new event.
    minutes.record_attendance(db, meeting, came, actor=coordinator)
    db.commit()
    assert db.scalar(select(AuditEvent.kind).where(AuditEvent.network_id == network.id)
                     .order_by(AuditEvent.seq.desc()).limit(1)) == "attendance_recorded"
    assert len(list(db.scalars(select(AuditEvent.id).where(AuditEvent.network_id == network.id,
                                                           AuditEvent.kind == "attendance_recorded")))) == 1


def test_the_mail_renders_the_standing_item_in_dutch(db, setting):
    """The invitation's agenda in both forms carries the standing item, due dates as Dutch days."""
    network, coordinator, members, round_, said, meeting, item = setting
    minutes.add_action_point(db, meeting, minutes.ActionInput("Verslag rondsturen", members[1].id,
                                                              dt.date(2031, 3, 5)), actor=coordinator)
    db.commit()
    env = emails.environment("nl")
    entries = minutes.open_before(db, held(db, network, coordinator, starts_at=NOW + 10 * DAY)[0])
    html = env.from_string('{% include "emails/_meeting.html" %}').render(
        meeting=meeting, agenda=[], open_actions=entries, url=None, chair="", minute_taker="")
    assert "Verslag rondsturen" in html and "5 mrt 2031" in html
