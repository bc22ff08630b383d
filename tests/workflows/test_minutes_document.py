"""A meeting's minutes through the same process as every document: version 1 made from the minutes (as a Word file
would be), a round put to the attendees (they alone invited, they alone deciding) or to the whole network, the
refusals, the minutes read-only from then on, and the audit event when the minutes become final."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from storage.blocks import block_text, content_hash, iter_text_blocks
from storage.database.models import (
    AuditEvent,
    Document,
    MailMessage,
    MeetingInvitation,
    Participant,
    Version,
    utcnow,
)
from tests.factories import fresh, make_network, participant
from tests.workflows.test_minutes import _no_mail_left_by_other_tests  # noqa: F401 (autouse: no mail of others)
from workflows.domain import (
    consequences,
    deciders,
    documents,
    exports,
    finalising,
    meetings,
    membership,
    minutes,
    minutes_document,
    rounds,
)
from workflows.domain import people as people_of
from workflows.errors import Conflict, InvalidInput, NotAllowed, NotUnanimous

NOW = utcnow()
DAY = dt.timedelta(days=1)




def held(db, *, members=4, starts_at=NOW - 2 * DAY, write=True):
    """A network and a meeting held two days ago that everyone was invited to; with `write`, minutes: notes and a
    decision under its item, an action point, and three who attended (the coordinator and two members)."""
    network, coordinator, people = make_network(db, members=members, observers=1)
    before = starts_at - 30 * DAY
    meeting = meetings.plan_meeting(db, network, meetings.Plan(
        title="Netwerkbijeenkomst", starts_at=starts_at, duration_minutes=120, place="Utrecht",
        minute_taker_id=people[1].id), actor=coordinator, now=before)
    item = meetings.add_agenda_item(db, meeting, title="Het concept", actor=coordinator)
    meetings.invite(db, meeting, actor=coordinator, now=before)
    attendees = [coordinator.id, people[1].person_id, people[2].person_id]
    if write and starts_at < NOW:
        minutes.write_notes(db, meeting, item.id, "Artikel 4 is besproken.\nIedereen was het eens.",
                            actor=coordinator)
        minutes.add_decision(db, meeting, item.id, "Artikel 4 wordt herschreven.", actor=coordinator)
        minutes.add_action_point(db, meeting, minutes.ActionInput(
            text="Nieuwe tekst artikel 4 schrijven", owner_id=people[2].id, due_on=(NOW + 10 * DAY).date()),
            actor=coordinator)
        invitations = db.scalars(select(MeetingInvitation).where(MeetingInvitation.meeting_id == meeting.id)).all()
        minutes.record_attendance(db, meeting, [i.id for i in invitations if i.person_id in attendees],
                                  actor=coordinator)
    db.commit()
    return network, coordinator, people, meeting, item


def put(db, meeting, actor, audience="attendees", days=14):
    return minutes_document.put_minutes_to_round(db, meeting, audience=audience, deadline=NOW + days * DAY,
                                                 message="Graag uw akkoord op de notulen.", actor=actor)


def test_the_first_version_holds_the_minutes_as_an_uploaded_word_file_would(db):
    network, coordinator, people, meeting, item = held(db)
    round_ = put(db, meeting, coordinator)
    db.commit()
    document = db.get(Document, round_.document_id)
    version = db.get(Version, round_.version_id)
    assert meeting.minutes_document_id == document.id
    assert (document.kind, document.deciders, document.status) == ("notulen", "attendees", "in_review")
    assert document.title.startswith("Notulen Netwerkbijeenkomst, ") or document.title.startswith(
        "Minutes Netwerkbijeenkomst, ")
    assert version.number == 1 and version.source_format == "docx"
    assert version.original_filename.endswith(".docx")
    # Stable ids and the hash of the blocks, as any version.
    assert [b["id"] for b in version.blocks] == [f"b{n}" for n in range(1, len(version.blocks) + 1)]
    assert version.content_hash == content_hash(version.blocks)
    texts = [block_text(b) for b in iter_text_blocks(version.blocks)]
    whole = "\n".join(texts)
    for expected in ("Netwerkbijeenkomst", "1. Het concept", "Artikel 4 is besproken.", "Iedereen was het eens.",
                     "Artikel 4 wordt herschreven.", "Nieuwe tekst artikel 4 schrijven", people[2].name,
                     coordinator_name(db, network, coordinator), people[1].name):
        assert expected in whole, expected
    kinds = [b["type"] for b in version.blocks]
    assert kinds[0] == "heading" and "table" in kinds and "list_item" in kinds
    # Exported like every version.
    name, data = exports.version_docx(db, version)
    assert name.endswith(".docx") and data[:2] == b"PK"
    name, data = exports.version_pdf(db, version)
    assert data.startswith(b"%PDF")
    # The audit trail says what happened.
    kinds = [e.kind for e in db.scalars(select(AuditEvent).where(AuditEvent.network_id == network.id)
                                        .order_by(AuditEvent.seq))]
    assert kinds[-4:] == ["document_created", "version_uploaded", "minutes_put_to_round", "round_opened"]


def coordinator_name(db, network, coordinator):
    return membership.active_membership(db, network.id, coordinator.id).name


def test_refusals_before_the_meeting_empty_twice_and_not_allowed(db):
    network, coordinator, people, meeting, item = held(db, starts_at=NOW + 2 * DAY)
    with pytest.raises(Conflict) as refused:
        put(db, meeting, coordinator)
    assert refused.value.code == "minutes_meeting_not_over"
    db.rollback()

    network, coordinator, people, meeting, item = held(db, write=False)
    with pytest.raises(Conflict) as refused:
        put(db, meeting, coordinator)
    assert refused.value.code == "minutes_empty"
    db.rollback()
    assert db.get(type(meeting), meeting.id).minutes_document_id is None

    network, coordinator, people, meeting, item = held(db)
    with pytest.raises(NotAllowed):  # a member who is not the minute-taker
        put(db, meeting, people[2].person)
    db.rollback()
    with pytest.raises(InvalidInput) as refused:
        put(db, meeting, coordinator, audience="everyone")
    assert refused.value.params["field"] == "audience"
    db.rollback()
    with pytest.raises(InvalidInput) as refused:
        put(db, meeting, coordinator, days=-1)
    assert refused.value.code == "deadline_in_past"
    db.rollback()
    assert db.scalar(select(Document.id).where(Document.network_id == network.id, Document.kind == "notulen")) is None

    # The minute-taker may; a second time is refused, and the minutes no longer change here.
    put(db, meeting, people[1].person)
    db.commit()
    with pytest.raises(Conflict) as refused:
        put(db, meeting, coordinator)
    assert refused.value.code == "minutes_document_exists"
    db.rollback()
    for change in (lambda: minutes.write_notes(db, meeting, item.id, "Anders.", actor=coordinator),
                   lambda: minutes.add_decision(db, meeting, item.id, "Nog een besluit.", actor=coordinator),
                   lambda: minutes.record_attendance(db, meeting, [], actor=coordinator)):
        with pytest.raises(Conflict) as refused:
            change()
        assert refused.value.code == "minutes_in_document"
        db.rollback()


def test_nobody_attended_refuses_the_attendees_but_not_the_network(db):
    network, coordinator, people, meeting, item = held(db)
    invitations = db.scalars(select(MeetingInvitation).where(MeetingInvitation.meeting_id == meeting.id)).all()
    minutes.record_attendance(db, meeting, [i.id for i in invitations if i.person_id == people[-1].person_id],
                              actor=coordinator)  # only the observer came: nobody with a vote
    db.commit()
    with pytest.raises(InvalidInput) as refused:
        put(db, meeting, coordinator)
    assert refused.value.code == "minutes_no_attendees"
    db.rollback()
    assert put(db, meeting, coordinator, audience="network") is not None


def test_attendees_alone_are_invited_and_all_of_them_must_agree(db):
    network, coordinator, people, meeting, item = held(db)
    round_ = put(db, meeting, coordinator)
    db.commit()
    document, version = db.get(Document, round_.document_id), db.get(Version, round_.version_id)
    invited = set(db.scalars(select(Participant.person_id).where(Participant.round_id == round_.id)))
    attendees = {coordinator.id, people[1].person_id, people[2].person_id}
    assert invited == attendees
    assert {m.person_id for m in deciders.voters(db, document)} == attendees
    invitations = db.scalars(select(MailMessage).where(MailMessage.round_id == round_.id,
                                                       MailMessage.email == "invitation")).all()
    assert {m.person_id for m in invitations} == attendees
    # The figures count the attendees only: per person in SQL, per person in Python, on the staff's pages.
    assert finalising.person_approvals(db, [version.id])[version.id] == (3, 0)
    assert finalising.agreement(db, document, version).total == 3
    assert len(finalising.standings(db, document, version)) == 3

    # A member who did not attend has no verdict asked: not in the round, and joining later adds nobody to it.
    assert participant(db, round_, people[3]) is None
    newcomer = membership.add_member(db, network, name="Nieuw lid", email=f"nieuw-{network.id}@example.org",
                                     organisation_name="", role="member", actor=coordinator)
    db.commit()
    assert participant(db, round_, newcomer) is None
    assert finalising.agreement(db, document, version).total == 3

    voters = [participant(db, round_, m) for m in (people[1], people[2])]
    voters.append(db.scalar(select(Participant).where(Participant.round_id == round_.id,
                                                      Participant.person_id == coordinator.id)))
    for voter in voters[:2]:
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    db.commit()
    with pytest.raises(NotUnanimous):
        finalising.check_finalisable(db, document, version)
    assert not finalising.agreement(db, document, version).unanimous
    rounds.record_verdict(db, voters[2], value="akkoord_met_opmerkingen", reason="", evidence=rounds.Evidence())
    db.commit()
    # Every attendee agrees: final, though three members of the network were never asked.
    assert finalising.agreement(db, document, version).unanimous
    assert consequences.finalising_version(db, document, version).members == 3
    finalising.finalise_document(db, document, version, actor=coordinator)
    db.commit()
    fresh(db)
    event = db.scalar(select(AuditEvent).where(AuditEvent.network_id == network.id,
                                               AuditEvent.kind == "minutes_finalised"))
    assert event is not None
    assert event.data["meeting_id"] == meeting.id and event.document_id == document.id
    # The final document goes to those who decided.
    finals = db.scalars(select(MailMessage).where(MailMessage.email == "final_document",
                                                  MailMessage.network_id == network.id)).all()
    assert {m.person_id for m in finals} == attendees
    state = minutes_document.state(db, db.get(type(meeting), meeting.id))
    assert state.final and state.document.id == document.id


def test_the_network_audience_is_like_any_document(db):
    network, coordinator, people, meeting, item = held(db)
    round_ = put(db, meeting, coordinator, audience="network")
    db.commit()
    document, version = db.get(Document, round_.document_id), db.get(Version, round_.version_id)
    everyone = {m.person_id for m in people_of.active_members(db, network.id)}
    invited = set(db.scalars(select(Participant.person_id).where(Participant.round_id == round_.id)))
    assert invited == everyone
    voters = db.scalars(select(Participant).where(Participant.round_id == round_.id, Participant.can_vote)).all()
    assert finalising.agreement(db, document, version).total == len(voters) == len(people)  # + coordinator - observer
    for voter in voters[:-1]:
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    db.commit()
    with pytest.raises(NotUnanimous):
        finalising.check_finalisable(db, document, version)
    rounds.record_verdict(db, voters[-1], value="akkoord", reason="", evidence=rounds.Evidence())
    db.commit()
    finalising.finalise_document(db, document, version, actor=coordinator)
    db.commit()
    fresh(db)
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.network_id == network.id,
                                                 AuditEvent.kind == "minutes_finalised")) is not None


def test_a_new_version_of_the_minutes_is_uploaded_as_usual(db):
    network, coordinator, people, meeting, item = held(db)
    round_ = put(db, meeting, coordinator)
    db.commit()
    document = db.get(Document, round_.document_id)
    name, data = exports.version_docx(db, db.get(Version, round_.version_id))
    second = documents.upload_version(db, document, filename=name, data=data, change_note="Typefout hersteld",
                                      actor=coordinator, confirmed=round_.id)
    db.commit()
    assert second.number == 2 and round_.status == "superseded"
    # The next round is again put to the attendees.
    again = rounds.open_round(db, document, deadline=NOW + 7 * DAY, message="", actor=coordinator)
    assert set(db.scalars(select(Participant.person_id).where(Participant.round_id == again.id))) == {
        coordinator.id, people[1].person_id, people[2].person_id}
    db.rollback()
