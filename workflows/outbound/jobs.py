"""RQ job entry points and the after-commit hand-off: jobs take ids, reload, are idempotent; what a transaction
decided to send is handed to the workers only once it has committed."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from storage.database.engine import run_transaction
from storage.database.models import AuditEvent, Finalisation, MailMessage, utcnow
from workflows import audit
from workflows.domain import (
    action_followup,
    address_requests,
    exports,
    finalising,
    idempotency,
    meetings,
    reminders,
    rounds,
    substitutes,
    web_sessions,
)
from workflows.domain.dossier import build_dossier, store_dossier, without_dossier
from workflows.domain.notifications import PENDING_IDS
from workflows.outbound import emails, mail, outbox, webhooks

log = logging.getLogger(__name__)

QUEUE_NAME = "akkoord"
MAIL_BATCH = 50  # one job per 50 mails: the batch's data is loaded in a few queries and one SMTP connection serves it
# More jobs than this waiting means the workers are behind, not that jobs were lost: the sweep waits for them.
BACKLOG = 20
AFTER_COMMIT = "akkoord_after_commit"
TICK_LOCK = "akkoord:tick-running"
# When a tick last finished (seconds since the epoch): readiness says the schedule is alive while it is recent.
TICK_DONE = "akkoord:tick-done"


@dataclass
class Runtime:
    """What jobs and after-commit hooks need; set once per process by service/ (configuration lives there)."""

    session_factory: sessionmaker
    read_session_factory: sessionmaker  # deferred transactions on SQLite: a batch's reading holds no write lock
    redis: Redis
    smtp_url: str
    mail_from: str
    base_url: str
    webhook_allow_private: bool = False  # WEBHOOK_ALLOW_PRIVATE: tests and the dev stack post to 127.0.0.1
    schedule: outbox.Schedule = field(default_factory=outbox.Schedule)
    tick_seconds: int = 30
    session_lifetimes: web_sessions.Lifetimes = field(default_factory=web_sessions.Lifetimes)  # for forgetting them
    # The web's queue adds the request id to each job it makes (service/web/logs.py), so a job logs under it too.
    queue_class: type[Queue] = Queue


_runtime: Runtime | None = None
_mailer: mail.Mailer | None = None


def configure(runtime: Runtime) -> None:
    global _runtime, _mailer
    _runtime = runtime
    if _mailer is not None:
        _mailer.close()
        _mailer = None
    install(runtime.session_factory)


def current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("workflows.outbound.jobs.configure() was not called in this process")
    return _runtime


def queue(connection: Redis | None = None) -> Queue:
    queue_class = _runtime.queue_class if _runtime is not None else Queue
    return queue_class(QUEUE_NAME, connection=connection or current().redis)


def mailer() -> mail.Mailer:
    """The process's SMTP connection, kept open from one batch to the next (a worker runs jobs in its own
    process, not a fork per job)."""
    global _mailer
    runtime = current()
    if _mailer is None:
        _mailer = mail.Mailer(runtime.smtp_url, runtime.mail_from)
    return _mailer


# After commit ---------------------------------------------------------------------------------------------------


def after_commit(session: Session, func, *args, at: dt.datetime | None = None) -> None:
    """Ask for a job to be enqueued once (and only if) this session's transaction commits."""
    session.info.setdefault(AFTER_COMMIT, []).append((func, args, at))


def install(factory: sessionmaker) -> None:
    """Hand this factory's sessions' outbox items and job intents to RQ after each commit (once per factory)."""
    # Marked on the factory itself: event.contains() keys by id(), which a new factory can reuse.
    if getattr(factory, "_akkoord_after_commit", False):
        return
    event.listen(factory, "after_commit", _enqueue_after_commit)
    event.listen(factory, "after_rollback", _forget)
    factory._akkoord_after_commit = True


def _forget(session: Session) -> None:
    session.info.pop(AFTER_COMMIT, None)
    session.info.pop(PENDING_IDS, None)
    session.info.pop(address_requests.PENDING_IDS, None)


def _enqueue_after_commit(session: Session) -> None:
    intents = session.info.pop(AFTER_COMMIT, [])
    pending = session.info.pop(PENDING_IDS, [])
    requests = session.info.pop(address_requests.PENDING_IDS, [])
    if not intents and not pending and not requests:
        return
    try:
        q = queue()
        enqueue_items(q, [i for channel, i in pending if channel == "mail"],
                      [i for channel, i in pending if channel == "webhook"])
        for request_id in requests:
            q.enqueue(handle_address_request, request_id, retry=Retry(max=3, interval=[10, 60, 300]))
        for func, args, at in intents:
            if at is None:
                q.enqueue(func, *args, retry=Retry(max=3, interval=[10, 60, 300]))
            else:
                q.enqueue_at(_not_before(at), func, *args)
    except RedisError:
        # The items are committed; the sweep enqueues them once Redis is back (and closes overdue rounds).
        log.warning("could not enqueue after commit; the sweep will pick this up", exc_info=True)


def enqueue_items(q: Queue, mail_ids: list[int], webhook_ids: list[int], at: dt.datetime | None = None) -> None:
    """Mail in batches of MAIL_BATCH; each webhook delivery on its own, so a slow receiver holds up nobody else."""
    batches = [mail_ids[i:i + MAIL_BATCH] for i in range(0, len(mail_ids), MAIL_BATCH)]
    for batch in batches:
        _enqueue(q, at, deliver_mail, batch)
    for delivery_id in webhook_ids:
        _enqueue(q, at, deliver_webhooks, [delivery_id])


def _not_before(at: dt.datetime) -> dt.datetime:
    """The time to give RQ for a job that must not run before `at`. RQ keeps a scheduled job's time in whole
    seconds, cut off (ScheduledJobRegistry.schedule), so a job for 12:00:05.7 may run at 12:00:05.0: a retry would
    find its item not yet due and leave it to the sweep (a grace later), a deadline job its round not yet overdue."""
    whole = at.replace(microsecond=0)
    return whole if whole == at else whole + dt.timedelta(seconds=1)


def _enqueue(q: Queue, at: dt.datetime | None, func, ids: list[int]) -> None:
    # No RQ Retry: the outbox's own schedule decides when an item is tried again.
    if at is None:
        q.enqueue(func, ids, job_timeout=600)
    else:
        q.enqueue_at(_not_before(at), func, ids, job_timeout=600)


def _schedule_for_event(session: Session, entry: AuditEvent) -> None:
    """An audit subscriber: the jobs a state change calls for, enqueued after it commits."""
    if entry.kind in ("round_opened", "deadline_extended"):
        after_commit(session, close_round_if_due, entry.round_id, at=dt.datetime.fromisoformat(entry.data["deadline"]))
    elif entry.kind == "document_finalised":
        after_commit(session, make_final_files, entry.document_id)


audit.subscribe(_schedule_for_event)


# Jobs -----------------------------------------------------------------------------------------------------------


def deliver_mail(item_ids: list[int]) -> dict:
    """Deliver these mails one by one over the process's SMTP connection; those that failed for a passing reason
    get a job at their next attempt's time."""
    runtime = current()
    with runtime.read_session_factory() as reading:
        messages = {m.id: m for m in reading.scalars(select(MailMessage).where(MailMessage.id.in_(item_ids)))}
        batch = emails.Batch(reading, list(messages.values()), runtime.base_url)

        def prepare(session: Session, held: outbox.Claim):
            message = messages[held.id]
            try:
                batch.check(message)
            except emails.NothingToSend as reason:
                return outbox.permanent("not_needed", str(reason))
            except emails.NotReady as reason:
                return outbox.temporary("files_pending", str(reason))
            return emails.mint(session, message, first_attempt=held.attempts == 1)

        def send(held: outbox.Claim, token: str | None) -> outbox.Outcome:
            try:
                data = mail.build(batch.render(messages[held.id], token, to_address=held.to_address),
                                  runtime.mail_from)
            except Exception as error:  # noqa: BLE001 - whatever went wrong, only this message fails, with its reason
                log.exception("mail %s could not be made", held.id)
                # The link minted with the claim is in no mail: it must not stay usable.
                run_transaction(runtime.session_factory,
                                lambda session: emails.revoke_links(session, held.id))
                return outbox.permanent("message_unbuildable", f"{type(error).__name__}: {error}")
            return mailer().send(held.to_address, data)

        done = outbox.deliver(runtime.session_factory, [i for i in item_ids if i in messages],
                              schedule=runtime.schedule, prepare=prepare, send=send)
    _log_delivered("mail", done)
    _enqueue_retries(done, mail_channel=True)
    return {status: len(ids) for status, ids in done.items() if status != "retry"}


def deliver_webhooks(item_ids: list[int]) -> dict:
    runtime = current()
    done = outbox.deliver(runtime.session_factory, item_ids, schedule=runtime.schedule, prepare=webhooks.prepare,
                          send=webhooks.send(runtime.webhook_allow_private))
    _log_delivered("webhook", done)
    _enqueue_retries(done, mail_channel=False)
    return {status: len(ids) for status, ids in done.items() if status != "retry"}


def _log_delivered(channel: str, done: dict) -> None:
    """One line per job: which outbox items came to what (ids only: the rows say to whom and why)."""
    outcome = ", ".join(f"{status} {ids}" for status, ids in done.items() if ids and status != "retry")
    log.info("%s delivery: %s", channel, outcome or "nothing to do")


def _enqueue_retries(done: dict, *, mail_channel: bool) -> None:
    by_time: dict[dt.datetime, list[int]] = defaultdict(list)
    for item_id, at in done["retry"]:
        by_time[at].append(item_id)
    try:
        q = queue()
        for at, ids in by_time.items():
            enqueue_items(q, ids if mail_channel else [], [] if mail_channel else ids, at=at)
    except RedisError:
        log.warning("could not schedule retries; the sweep will pick them up", exc_info=True)


def handle_address_request(request_id: int) -> bool:
    """A sign-in or lost-link request: the lookup and the mail happen here, not in the request that wrote it."""
    return run_transaction(current().session_factory,
                           lambda session: address_requests.handle(session, request_id))


def close_round_if_due(round_id: int) -> bool:
    return run_transaction(current().session_factory, lambda session: rounds.close_round_if_due(session, round_id))


def make_final_files(document_id: int) -> str:
    """Make the final .docx and PDF once (outside any transaction: a 200-page PDF takes seconds), then store
    them and release the final mails that wait for them; then the evidence dossier, once, the same way. Made
    already: nothing to do."""
    runtime = current()
    with runtime.read_session_factory() as reading:
        finalisation = reading.scalar(select(Finalisation).where(Finalisation.document_id == document_id))
        if finalisation is None or None not in (finalisation.docx_sha256, finalisation.dossier_json_sha256):
            return "nothing to do"
        files = exports.final_files(reading, document_id) if finalisation.docx_sha256 is None else None
        made_dossier = finalisation.dossier_json_sha256 is None
    if files is not None:
        run_transaction(runtime.session_factory,
                        lambda session: finalising.store_final_files(session, document_id, files))
    if made_dossier:  # after the files: the final mails wait for those, nobody waits for the dossier
        with runtime.read_session_factory() as reading:
            built = build_dossier(reading, document_id)
        run_transaction(runtime.session_factory, lambda session: store_dossier(session, document_id, built))
    return "made"


def tick(now_iso: str | None = None) -> dict:
    """The periodic sweep: send due reminders, hand over outbox items and address requests whose job was lost,
    make final files that were not made, close rounds past their deadline, forget browser sessions that can no
    longer be used. `now_iso` lets a test set the clock."""
    runtime = current()
    now = dt.datetime.fromisoformat(now_iso) if now_iso else utcnow()
    reminded = run_transaction(runtime.session_factory, lambda session: reminders.send_due(session, now=now))
    # Meetings: a reminder to those invited who have not answered, on the meeting's schedule.
    meeting_reminders = run_transaction(runtime.session_factory,
                                        lambda session: meetings.send_due_reminders(session, now=now))
    # Action points: their owners' reminders before and on the due day.
    action_reminders = run_transaction(runtime.session_factory,
                                       lambda session: action_followup.send_due_reminders(session, now=now))
    # Action points whose due day has come: their action.due event, once each, whether or not the mail can go.
    actions_due = run_transaction(runtime.session_factory, lambda session: action_followup.record_due(session, now=now))
    # Substitutes whose period began, or rounds opened during one: the substitute's invitation.
    substitutes_invited = run_transaction(runtime.session_factory,
                                          lambda session: substitutes.invite_due(session, now=now))
    forgotten = run_transaction(runtime.session_factory, lambda session: idempotency.expire(session, now))
    sessions_deleted = run_transaction(runtime.session_factory, lambda session: web_sessions.delete_finished(
        session, now, runtime.session_lifetimes))
    gave_up = run_transaction(runtime.session_factory,
                              lambda session: outbox.give_up_crashed(session, now, runtime.schedule))
    with runtime.read_session_factory() as session:
        mail_ids, webhook_ids = outbox.sweep(session, now, runtime.schedule)
        before = now - dt.timedelta(seconds=runtime.schedule.sweep_grace)
        unmade = sorted(set(finalising.without_files(session, before)) | set(without_dossier(session, before)))
        overdue = rounds.overdue_round_ids(session, now=now)
        requests = address_requests.forgotten(session, now - dt.timedelta(seconds=runtime.schedule.sweep_grace))
    q = queue()
    if q.count >= BACKLOG:
        # The workers are behind; the items' and requests' own jobs are still waiting in the queue.
        mail_ids = webhook_ids = requests = []
    enqueue_items(q, mail_ids, webhook_ids)
    for request_id in requests:
        q.enqueue(handle_address_request, request_id)
    for document_id in unmade:
        q.enqueue(make_final_files, document_id)
    closed = sum(run_transaction(runtime.session_factory,
                                 lambda session, round_id=round_id: rounds.close_round_if_due(session, round_id, now=now))
                 for round_id in overdue)
    return {"enqueued": len(mail_ids), "webhooks": len(webhook_ids), "address_requests": len(requests),
            "closed_rounds": closed, "reminders": reminded, "substitutes_invited": substitutes_invited,
            "final_files": len(unmade), "gave_up": gave_up, "idempotency_records_forgotten": forgotten,
            "web_sessions_deleted": sessions_deleted, "meeting_reminders": meeting_reminders,
            "action_reminders": action_reminders, "actions_due": actions_due}


def periodic_tick() -> dict:
    """The tick as every worker's clock enqueues it: run by one of them per interval, however many there are."""
    runtime = current()
    if not runtime.redis.set(TICK_LOCK, "1", nx=True, ex=max(1, runtime.tick_seconds - 1)):
        return {"skipped": "another worker's tick ran in this interval"}
    done = tick()
    runtime.redis.set(TICK_DONE, repr(time.time()))
    return done
