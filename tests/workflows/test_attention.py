"""What needs attention (workflows.domain.attention): a round's overview by its rule, the staff dashboard across
networks, and a document's next step through its whole life."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage.database.models import Comment, MailMessage, Membership, Participant
from tests.factories import make_document, make_network, open_round, participant
from tests.workflows.test_decisions import organisation_network
from workflows.domain import attention, comments, documents, finalising, rounds


def say(db, round_, member, value="akkoord", reason=""):
    return rounds.record_verdict(db, participant(db, round_, member), value=value, reason=reason,
                                 evidence=rounds.Evidence())


def test_the_round_overview_counts_by_person_and_lists_who_still_has_to_respond(db):
    network, coordinator, people = make_network(db, members=4, observers=1)
    editor, first, second, third, fourth, observer = people
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    say(db, round_, first)
    say(db, round_, second, "akkoord_met_opmerkingen")
    say(db, round_, third, "niet_akkoord", "De financiering ontbreekt.")
    rounds.note_opened(db, participant(db, round_, fourth))
    overview = attention.round_overview(db, round_)
    # coordinator, editor and four members decide; the observer does not
    assert (overview.invited, overview.decided, overview.pending, overview.percent) == (6, 3, 3, 50)
    assert overview.counts == {"akkoord": 1, "akkoord_met_opmerkingen": 1, "niet_akkoord": 1}
    figures = rounds.summary(db, round_)
    assert (figures.voters, figures.decided, figures.counts) == (overview.invited, overview.decided, overview.counts)
    assert {p.name for p in overview.waiting} == {editor.name, fourth.name, network_coordinator_name(db, network)}
    [against] = overview.against
    assert against.name == third.name and against.verdict.reason == "De financiering ontbreekt."
    by_name = {e.name: e for e in overview.entries}
    assert by_name[fourth.name].opened and not by_name[editor.name].opened
    assert by_name[editor.name].delivery == "sending"  # queued, not yet sent by a worker
    # The filters of the list of everyone.
    assert {e.name for e in overview.shown("open")} == {p.name for p in overview.waiting}
    assert [e.name for e in overview.shown("niet-akkoord")] == [third.name]
    assert {e.name for e in overview.shown("akkoord")} == {first.name, second.name}
    assert len(overview.shown("alle")) == 7 and observer.name in {e.name for e in overview.shown("alle")}
    assert overview.filter_counts() == {"alle": 7, "open": 3, "niet-akkoord": 1, "akkoord": 2}
    assert attention.chosen_filter("open") == "open" and attention.chosen_filter("<script>") == "alle"


def network_coordinator_name(db, network):
    return db.scalar(select(Membership.name).where(Membership.network_id == network.id,
                                                   Membership.role == "coordinator", Membership.left_at.is_(None)))


def test_the_invitation_state_says_arrived_or_failed(db, run_worker):
    network, coordinator, people = make_network(db, members=2)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    run_worker()
    db.expire_all()
    failed = db.scalar(select(MailMessage).where(MailMessage.round_id == round_.id,
                                                 MailMessage.person_id == people[1].person_id))
    failed.status, failed.failure = "failed", "address_refused"
    db.flush()
    by_name = {e.name: e for e in attention.round_overview(db, round_).entries}
    assert by_name[people[1].name].delivery == "failed"
    assert by_name[people[2].name].delivery == "arrived"


def test_under_the_organisation_rule_the_organisations_without_a_verdict_are_listed(db):
    network, coordinator, practices = organisation_network(db)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    (a_name, a), (b_name, b), (c_name, c) = practices.items()
    say(db, round_, a[2], "niet_akkoord", "Een suggestie.")  # a colleague's suggestion counts for nothing
    say(db, round_, b[0], "niet_akkoord", "Niet haalbaar voor ons.")
    overview = attention.round_overview(db, round_)
    figures = rounds.summary(db, round_)
    assert (overview.invited, overview.decided, overview.counts) == (figures.voters, figures.decided, figures.counts)
    assert (overview.invited, overview.decided) == (4, 1)
    waiting = {p.name: p for p in overview.waiting}
    assert set(waiting) == {a_name, c_name, "Coördinator"}
    assert waiting[a_name].is_organisation and [e.name for e in waiting[a_name].entries][:2] == [a[0].name, a[1].name]
    assert all(e.membership.representative for e in waiting[a_name].entries[:2])
    [against] = overview.against
    assert against.name == b_name and against.verdict.person_name == b[0].person.name
    # Filtering: everyone of B is shown under niet akkoord; A's colleague only suggested it, so A is still open.
    assert {e.name for e in overview.shown("niet-akkoord")} == {m.name for m in b}
    assert a[2].name in {e.name for e in overview.shown("open")}
    assert not {m.name for m in b} & {e.name for e in overview.shown("open")}


def test_the_dashboard_shows_what_needs_attention_across_the_staff_members_networks(db):
    network, coordinator, people = make_network(db, members=2)
    editor = people[0]
    soon_doc, _v = make_document(db, network, coordinator)
    soon = open_round(db, soon_doc, coordinator, days=2)
    say(db, soon, people[1])
    later_doc, _v = make_document(db, network, coordinator)
    open_round(db, later_doc, coordinator, days=10)
    # A closed round with comments, one processed.
    comments_doc, _v = make_document(db, network, coordinator)
    closed = open_round(db, comments_doc, coordinator)
    first = rounds.add_comment(db, participant(db, closed, people[1]), body="Eerste opmerking.")
    rounds.add_comment(db, participant(db, closed, people[2]), body="Tweede opmerking.")
    comments.process_comment(db, first, disposition="overgenomen", answer="", actor=coordinator)
    rounds.close_round(db, closed, actor=coordinator)
    # A document everyone agrees on.
    ready_doc, ready_version = make_document(db, network, coordinator)
    ready = open_round(db, ready_doc, coordinator)
    for voter in db.scalars(select(Participant).where(Participant.round_id == ready.id, Participant.can_vote)):
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    # A failed mail.
    mail = db.scalar(select(MailMessage).where(MailMessage.network_id == network.id).limit(1))
    mail.status, mail.failure = "failed", "address_refused"
    db.flush()

    seen = attention.dashboard(db, coordinator.id)
    assert seen.staff and not seen.empty
    assert [(c.round.id, c.pending, c.invited) for c in seen.closing] == [(soon.id, 3, 4)]
    assert [(t.round.id, t.unprocessed, t.total) for t in seen.to_process] == [(closed.id, 1, 2)]
    assert [(r.document.id, r.version.id) for r in seen.ready] == [(ready_doc.id, ready_version.id)]
    assert [(f.network.id, f.count) for f in seen.failed_mail] == [(network.id, 1)]
    # Within a wider window the later round closes soon too.
    assert len(attention.dashboard(db, coordinator.id, within=dt.timedelta(days=11)).closing) == 2
    # An editor sees the same, but failed mail is for the coordinator (who corrects addresses).
    by_editor = attention.dashboard(db, editor.person_id)
    assert len(by_editor.closing) == 1 and not by_editor.failed_mail
    # A member is staff nowhere: nothing to show.
    member = attention.dashboard(db, people[1].person_id)
    assert not member.staff and member.empty
    # Once the comments are processed, or a new version answers them, the round leaves the list.
    documents.upload_version(db, comments_doc, filename="v2.md", data=b"# Nieuw\n\nTekst.", change_note="",
                             actor=coordinator)
    assert not attention.dashboard(db, coordinator.id).to_process
    # A second round on the same version, nobody answered yet: the verdicts of the first still stand.
    rounds.close_round(db, ready, actor=coordinator)
    open_round(db, ready_doc, coordinator)
    assert [r.document.id for r in attention.dashboard(db, coordinator.id).ready] == [ready_doc.id]
    # A final document needs nothing any more.
    finalising.finalise_document(db, ready_doc, ready_version, actor=coordinator)
    assert not attention.dashboard(db, coordinator.id).ready


def test_the_next_step_follows_a_document_through_its_life(db):
    network, coordinator, people = make_network(db, members=2)
    document = documents.create_document(db, network, kind="samenwerkingsovereenkomst", title="Leidraad", actor=coordinator)
    assert attention.next_step(db, document).action == "upload_first"
    version = documents.upload_version(db, document, filename="v1.md", data=b"# Leidraad\n\nTekst.", change_note="",
                                  actor=coordinator)
    step = attention.next_step(db, document)
    assert (step.action, step.version.id) == ("open_round", version.id)
    round_ = open_round(db, document, coordinator)
    step = attention.next_step(db, document)
    assert (step.action, step.round.id, step.pending) == ("await_verdicts", round_.id, 4)
    comment = rounds.add_comment(db, participant(db, round_, people[1]), body="Graag korter.")
    say(db, round_, people[1], "niet_akkoord", "Te lang.")
    rounds.close_round(db, round_, actor=coordinator)
    step = attention.next_step(db, document)
    assert (step.action, step.unprocessed) == ("process_comments", 1)
    comments.process_comment(db, comment, disposition="overgenomen", answer="", actor=coordinator)
    assert attention.next_step(db, document).action == "upload_new_version"
    v2 = documents.upload_version(db, document, filename="v2.md", data=b"# Leidraad\n\nKorter.", change_note="",
                             actor=coordinator)
    assert attention.next_step(db, document).action == "open_round"
    round2 = open_round(db, document, coordinator)
    for voter in db.scalars(select(Participant).where(Participant.round_id == round2.id, Participant.can_vote)):
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    step = attention.next_step(db, document)
    assert (step.action, step.version.id) == ("finalise", v2.id)
    finalising.finalise_document(db, document, v2, actor=coordinator)
    assert attention.next_step(db, document) is None
    assert db.scalar(select(Comment.disposition).where(Comment.id == comment.id)) == "overgenomen"
