"""Retention: rows past their period go (dead links to rounds, meetings and action points, sign-in tokens, delivered
mail, stored API answers, old failed jobs), rows within it stay, evidence never goes (a dossier gathered before and after is the same and the audit
chain holds), a dry run deletes nothing, and the workers' job runs once per period."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select, update

from storage.database.models import (
    ActionLink,
    Finalisation,
    IdempotencyRecord,
    MailMessage,
    MeetingInvitation,
    MeetingLink,
    OutboxItem,
    Participant,
    PersonalLink,
    Round,
    SignInToken,
    Verdict,
    utcnow,
)
from tests.factories import fresh, make_document, make_network, open_round
from workflows import audit
from workflows.domain import action_followup, dossier, finalising, meetings, minutes, retention, rounds, signin
from workflows.outbound import housekeeping, jobs
from workflows.outbound.clock import Clock

DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    """The worker runs every queued job: other tests' pending mail is not this test's business."""
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.execute(update(Round).where(Round.status == "open").values(reminder_days=[]))
    db.commit()


def delivered_round(db, run_worker, *, members: int = 2):
    """A network and a document whose round's invitations went out through a real worker, each with its link."""
    network, coordinator, people = make_network(db, members=members, observers=1)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    run_worker()
    fresh(db)
    return network, coordinator, people, document, version, round_


def link_of(db, participant: Participant) -> PersonalLink:
    return db.scalar(select(PersonalLink).where(PersonalLink.participant_id == participant.id,
                                                PersonalLink.outbox_id.is_not(None)).order_by(PersonalLink.id))


def agree_through_links(db, round_) -> list[Verdict]:
    """Every voter agrees through the link their invitation carried (the verdict names it as evidence)."""
    voters = db.scalars(select(Participant).where(Participant.round_id == round_.id, Participant.can_vote)).all()
    return [rounds.record_verdict(db, voter, value="akkoord", reason="",
                                  evidence=rounds.Evidence(ip_address="192.0.2.7", user_agent="test",
                                                           link_id=link_of(db, voter).id))
            for voter in voters]


@pytest.fixture
def final(db, run_worker):
    """A document made final after everyone agreed through their links; its files, dossier and final mails made
    and sent by the worker. Besides: an observer's invitation link revoked and a second link, a sign-in token and
    an old stored API answer; and a second document whose round is still open, with a verdict's confirmation sent."""
    network, coordinator, people, document, version, round_ = delivered_round(db, run_worker)
    agree_through_links(db, round_)
    observer = db.scalar(select(Participant).where(Participant.round_id == round_.id,
                                                   Participant.can_vote.is_(False)))
    rounds.revoke_mail_links(db, link_of(db, observer).outbox_id)  # as a new attempt at their invitation does
    rounds.mint_link(db, observer.id)
    signin.issue_link_token(db, coordinator, DAY)
    db.add(IdempotencyRecord(caller="token:0", key=f"retention-{document.id}", request_hash="0" * 64, status=201,
                             headers={}, body=b"{}", created_at=utcnow() - 2 * DAY))
    finalising.finalise_document(db, document, version, actor=coordinator)
    db.commit()
    run_worker()
    second, _ = make_document(db, network, coordinator)
    open_round_ = open_round(db, second, coordinator)
    db.commit()
    run_worker()
    fresh(db)
    agree_through_links(db, open_round_)
    db.commit()
    run_worker()
    fresh(db)
    finalisation = db.scalar(select(Finalisation).where(Finalisation.document_id == document.id))
    assert finalisation.docx_sha256 and finalisation.dossier_json_sha256
    return {"network": network, "document": document, "round": round_, "observer": observer,
            "open_round": open_round_, "coordinator": coordinator}


def mails(db, round_id: int, email: str) -> list[MailMessage]:
    return db.scalars(select(MailMessage).where(MailMessage.round_id == round_id, MailMessage.email == email)).all()


def final_mails(db, document_id: int) -> list[MailMessage]:
    return db.scalars(select(MailMessage).where(
        MailMessage.email == "final_document", MailMessage.params["document_id"].as_integer() == document_id)).all()


def links(db, round_id: int) -> set[int]:
    return set(db.scalars(select(PersonalLink.id).join(Participant).where(Participant.round_id == round_id)))


def test_rows_past_their_period_go_and_evidence_stays(db, final):
    round_, document, network = final["round"], final["document"], final["network"]
    verdict_links = set(db.scalars(select(Verdict.link_id).where(Verdict.round_id == round_.id)))
    all_links = links(db, round_.id)
    revoked = set(db.scalars(select(PersonalLink.id).join(Participant).where(
        Participant.id == final["observer"].id, PersonalLink.revoked_at.is_not(None))))
    invitations = {m.id for m in mails(db, round_.id, "invitation")}
    finals = {m.id for m in final_mails(db, document.id)}
    confirmations = {m.id for m in mails(db, round_.id, "verdict_confirmation")}
    open_confirmations = {m.id for m in mails(db, final["open_round"].id, "verdict_confirmation")}
    assert revoked and len(verdict_links) == 4 and finals and confirmations and open_confirmations
    assert all(m.status == "sent" for m in mails(db, final["open_round"].id, "verdict_confirmation"))
    token = db.scalar(select(SignInToken.id).where(SignInToken.person_id == final["coordinator"].id)
                      .order_by(SignInToken.id.desc()))
    before = dossier.canonical(dossier.gather(db, document.id))
    db.rollback()

    # 45 days on: the round's links expire 30 days after it closed, so only the one revoked today is 30 days dead.
    housekeeping.prune(utcnow() + 45 * DAY)
    fresh(db)
    assert links(db, round_.id) == all_links - revoked
    assert db.get(SignInToken, token) is None  # expired after a day, 44 days ago
    assert db.scalar(select(func.count(IdempotencyRecord.id)).where(
        IdempotencyRecord.key == f"retention-{document.id}")) == 0
    assert {m.id for m in final_mails(db, document.id)} == finals  # delivered 45 days ago: within 90

    # 100 days on: every link no verdict names is gone, and the delivered mail of the closed round, but not its
    # invitations (the dossier lists them), nor the mail of the round still open.
    housekeeping.prune(utcnow() + 100 * DAY)
    fresh(db)
    assert links(db, round_.id) == verdict_links
    assert {m.id for m in mails(db, round_.id, "invitation")} == invitations
    assert final_mails(db, document.id) == [] and mails(db, round_.id, "verdict_confirmation") == []
    assert {m.id for m in mails(db, final["open_round"].id, "verdict_confirmation")} == open_confirmations
    assert dossier.canonical(dossier.gather(db, document.id)) == before
    stored = dossier.stored_dossier(db, document, "json")[2]
    assert dossier.verify(db, stored).problems == []
    assert audit.verify_chain(db, network.id) == []


def test_a_dry_run_deletes_nothing_and_counts_what_a_prune_deletes(db, final):
    later = utcnow() + 100 * DAY
    tables = (PersonalLink, MeetingLink, ActionLink, SignInToken, OutboxItem, IdempotencyRecord)

    def rows() -> dict:
        fresh(db)
        return {table.__tablename__: db.scalar(select(func.count()).select_from(table)) for table in tables}

    before = rows()
    counted = housekeeping.prune(later, dry_run=True)
    assert rows() == before
    assert counted["personal_links"] > 0 and counted["outbox"] > 0 and counted["sign_in_tokens"] > 0
    deleted = housekeeping.prune(later)
    assert {kind: deleted[kind] for kind in retention.KINDS} == {kind: counted[kind] for kind in retention.KINDS}
    after = rows()
    assert {kind: before[kind] - after[kind] for kind in retention.KINDS} == {kind: counted[kind]
                                                                          for kind in retention.KINDS}
    assert housekeeping.prune(later, dry_run=True) == {**{kind: 0 for kind in retention.KINDS}, "failed_jobs": 0}


def test_deletes_go_in_bounded_batches(db, run_worker):
    """More rows than a batch: all of them go, a batch per transaction."""
    _, _, _, _, _, round_ = delivered_round(db, run_worker, members=6)
    for participant in db.scalars(select(Participant).where(Participant.round_id == round_.id)).all():
        rounds.revoke_mail_links(db, link_of(db, participant).outbox_id)
    db.commit()
    later = utcnow() + 45 * DAY
    policy = retention.Policy(batch=3)
    fresh(db)
    dead = retention.count(db, later, policy)["personal_links"]
    db.rollback()
    assert dead >= 8
    assert retention.delete_batch(db, "personal_links", later, policy) == 3
    db.rollback()
    done = housekeeping.prune(later, settings=housekeeping.Settings(policy=policy))
    assert done["personal_links"] == dead
    fresh(db)
    assert links(db, round_.id) == set()


def test_failed_jobs_go_after_their_period(app, run_worker):
    q = jobs.queue()
    job = q.enqueue("builtins.int", "not a number")
    run_worker()
    registry = FailedJobRegistry(queue=q)
    assert job.id in registry.get_job_ids()
    assert housekeeping.prune(utcnow() + 29 * DAY, dry_run=True)["failed_jobs"] == 0
    assert housekeeping.prune(utcnow() + 31 * DAY, dry_run=True)["failed_jobs"] == 1
    assert job.id in registry.get_job_ids()
    assert housekeeping.prune(utcnow() + 31 * DAY)["failed_jobs"] == 1
    assert registry.get_job_ids() == []


def test_the_workers_run_it_once_per_period(app):
    """Every worker's clock offers the prune each tick; the first to run it in a period prunes, the others (and it
    again) skip until the period is over. The period is compressed to a second here."""
    redis = jobs.current().redis
    assert "workflows.outbound.housekeeping.periodic_prune" in {
        job.func_name for job in Clock(redis, 30).scheduler.get_jobs()}
    saved = housekeeping.current()
    housekeeping.configure(housekeeping.Settings(every=dt.timedelta(seconds=1)))
    try:
        redis.delete(housekeeping.PRUNE_LOCK)
        first, second = housekeeping.periodic_prune(), housekeeping.periodic_prune()
        assert "outbox" in first and "skipped" in second
        time.sleep(1.1)
        assert "outbox" in housekeeping.periodic_prune()
    finally:
        housekeeping.configure(saved)
        redis.delete(housekeeping.PRUNE_LOCK)


def test_the_prune_command_prints_counts(app, db, final):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["prune", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "personal links: " in result.output and "would delete" in result.output
    result = runner.invoke(args=["prune"])
    assert result.exit_code == 0, result.output
    assert "failed jobs: " in result.output and "deleted " in result.output


def test_dead_meeting_and_action_links_go_like_dead_round_links(app, db):
    """A meeting's links go 30 days (the window) after they stopped working: 30 days after the meeting ended, or
    from its cancellation; an action point's 30 days after the 30 days its done point shows, or from revocation.
    Live links stay; the counts of a dry run are those of the prune, and the command prints them."""
    network, coordinator, members = make_network(db, members=2)
    now = utcnow()

    def planned(starts_at, title):
        meeting = meetings.plan_meeting(db, network, meetings.Plan(title=title, starts_at=starts_at,
                                                                   duration_minutes=90, place="Utrecht"),
                                        actor=coordinator, now=min(now, starts_at - 20 * DAY))
        meetings.invite(db, meeting, actor=coordinator, now=min(now, starts_at - 20 * DAY))
        for invitation_id in db.scalars(select(MeetingInvitation.id).where(
                MeetingInvitation.meeting_id == meeting.id)):
            meetings.mint_link(db, invitation_id)
        return meeting

    past, upcoming = planned(now - 2 * DAY, "Voorbij"), planned(now + 20 * DAY, "Komt nog")
    cancelled = planned(now + 40 * DAY, "Gaat niet door")
    meetings.cancel_meeting(db, cancelled, actor=coordinator)
    done, still_open = (minutes.add_action_point(db, past, minutes.ActionInput(
        text=text, owner_id=members[0].id, due_on=(now + 5 * DAY).date()), actor=coordinator)
        for text in ("Klaar", "Nog open"))
    for action in (done, still_open):
        action_followup.mint_link(db, action.id)
    minutes.mark_done(db, past, done.id, actor=coordinator)
    action_followup.mint_link(db, still_open.id)
    minutes.change_action_point(db, past, still_open.id, minutes.ActionInput(  # another owner: the first link dies
        text="Nog open", owner_id=members[1].id, due_on=still_open.due_on), actor=coordinator)
    action_followup.mint_link(db, still_open.id)
    db.commit()

    def meeting_links(meeting) -> set[int]:
        return set(db.scalars(select(MeetingLink.id).join(MeetingInvitation).where(
            MeetingInvitation.meeting_id == meeting.id)))

    def action_links(action) -> set[int]:
        return set(db.scalars(select(ActionLink.id).where(ActionLink.action_point_id == action.id)))

    fresh(db)
    before = {m.title: meeting_links(m) for m in (past, upcoming, cancelled)}
    revoked = set(db.scalars(select(ActionLink.id).where(ActionLink.action_point_id == still_open.id,
                                                         ActionLink.revoked_at.is_not(None))))
    assert all(before.values()) and len(revoked) == 2 and len(action_links(done)) == 1
    db.rollback()

    # 35 days on: the cancelled meeting's links and the revoked action links are 35 days dead; the past meeting's
    # links stopped working 5 days ago, the done point's still work.
    counted = housekeeping.prune(now + 35 * DAY, dry_run=True)
    done_now = housekeeping.prune(now + 35 * DAY)
    assert counted["meeting_links"] == done_now["meeting_links"] >= len(before["Gaat niet door"])
    assert counted["action_links"] == done_now["action_links"] >= 2
    fresh(db)
    assert meeting_links(cancelled) == set()
    assert meeting_links(past) == before["Voorbij"] and meeting_links(upcoming) == before["Komt nog"]
    assert action_links(still_open) & revoked == set() and len(action_links(still_open)) == 1
    assert len(action_links(done)) == 1
    db.rollback()

    # 65 days on: the past meeting's links and the done point's are gone; the coming meeting's and the open
    # point's live link stay.
    housekeeping.prune(now + 65 * DAY)
    fresh(db)
    assert meeting_links(past) == set() and action_links(done) == set()
    assert meeting_links(upcoming) == before["Komt nog"] and len(action_links(still_open)) == 1
    db.rollback()
    result = app.test_cli_runner().invoke(args=["prune", "--dry-run"])
    assert "meeting links: " in result.output and "action links: " in result.output
