"""A document's timeline: versions, rounds opening and closing, and the finalisation, in order, with figures."""

from __future__ import annotations

from tests.factories import DRAFT_TEXT, make_document, make_network, open_round, participant
from workflows.domain import comments, documents, finalising, rounds
from workflows.domain.membership import active_membership
from workflows.domain.timeline import timeline


def test_the_timeline_tells_the_documents_history_in_order_with_each_rounds_figures(db):
    network, coordinator, people = make_network(db, members=2, editors=0)
    document, first_version = make_document(db, network, coordinator)
    first = open_round(db, document, coordinator)
    a, b = participant(db, first, people[0]), participant(db, first, people[1])
    rounds.record_verdict(db, a, value="niet_akkoord", reason="Artikel 2 ontbreekt", evidence=rounds.Evidence())
    comment = rounds.add_comment(db, a, body="Artikel 2 ontbreekt.")
    rounds.add_reply(db, comment.id, body="Komt in versie 2.", staff=coordinator)  # a reply is no comment
    comments.process_comment(db, comment, disposition="overgenomen", answer="", actor=coordinator)
    second_version = documents.upload_version(db, document, filename="v2.md", data=(DRAFT_TEXT + "\nArtikel 2.\n").encode(),
                                              change_note="artikel 2", actor=coordinator, addresses=[comment.id])
    second = open_round(db, document, coordinator)
    voters = [participant(db, second, m) for m in (*people[:2], active_membership(db, network.id, coordinator.id))]
    for voter in voters:
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    finalising.finalise_document(db, document, second_version, actor=coordinator)

    entries = timeline(db, document)
    assert [(e.kind, e.version.number, e.round.number if e.round else None) for e in entries] == [
        ("version", 1, None), ("round_opened", 1, 1), ("version", 2, None), ("round_closed", 1, 1),
        ("round_opened", 2, 2), ("round_closed", 2, 2), ("final", 2, None)]
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    one, two = entries[1].figures, entries[4].figures
    assert (one.voters, one.decided, one.counts["niet_akkoord"], one.comments, one.processed) == (3, 1, 1, 1, 1)
    assert (two.voters, two.decided, two.counts["akkoord"], two.comments) == (3, 3, 3, 0)
    assert entries[2].addresses == 1 and entries[0].addresses == 0
    assert b.current_verdict_id is None



def test_the_meetings_about_the_document_stand_between_its_rounds_by_date(db):
    import datetime as dt

    from sqlalchemy import update

    from storage.database.models import Round, utcnow
    from workflows.domain import meetings

    network, coordinator, people = make_network(db, members=1, editors=0)
    document, version = make_document(db, network, coordinator)
    other, other_version = make_document(db, network, coordinator)
    first = open_round(db, document, coordinator)
    rounds.close_round(db, first, actor=coordinator)
    second = open_round(db, document, coordinator)
    now, day = utcnow(), dt.timedelta(days=1)
    # (Versions cannot be moved in time; rounds can.) Round 1 closes in two days, round 2 opens in four.
    db.execute(update(Round).where(Round.id == first.id).values(closed_at=now + 2 * day))
    db.execute(update(Round).where(Round.id == second.id).values(opened_at=now + 4 * day))

    def meeting(title: str, starts_at, *about: meetings.AgendaLink):
        planned = meetings.plan_meeting(db, network, meetings.Plan(title=title, starts_at=starts_at,
                                                                   duration_minutes=120, place="Utrecht"),
                                        actor=coordinator, now=starts_at - 30 * day)
        for n, link in enumerate(about, start=1):
            meetings.add_agenda_item(db, planned, title=f"{title} punt {n}", actor=coordinator, link=link)
        return planned

    earlier = meeting("Startbijeenkomst", now - 10 * day, meetings.AgendaLink(version_id=version.id))
    between = meeting("Bijeenkomst over ronde 1", now + 3 * day, meetings.AgendaLink(round_id=first.id),
                      meetings.AgendaLink(version_id=version.id))
    meeting("Over iets anders", now + 3 * day, meetings.AgendaLink(version_id=other_version.id))
    meetings.cancel_meeting(db, meeting("Afgelast", now + 3 * day, meetings.AgendaLink(version_id=version.id)),
                            actor=coordinator)
    db.commit()
    db.expire_all()

    entries = timeline(db, document)
    assert [(e.kind, e.discussion.meeting.title if e.discussion else None) for e in entries] == [
        ("meeting", "Startbijeenkomst"), ("version", None), ("round_opened", None), ("round_closed", None),
        ("meeting", "Bijeenkomst over ronde 1"), ("round_opened", None)]
    assert entries[4].discussion.items == ["Bijeenkomst over ronde 1 punt 1", "Bijeenkomst over ronde 1 punt 2"]
    assert entries[4].discussion.meeting.id == between.id and entries[4].discussion.upcoming
    assert entries[0].discussion.meeting.id == earlier.id and not entries[0].discussion.upcoming
