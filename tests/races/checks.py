"""What must hold after any race, read straight from the database (not through the rules under test): the audit
chain, versions, rounds, verdicts, comments, finalisation (DESIGN invariant 2) and the outbox."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict

from sqlalchemy import func, select

from storage.database.models import (
    APPROVING_VERDICTS,
    STAFF_ROLES,
    VOTING_ROLES,
    AuditEvent,
    Comment,
    Document,
    Finalisation,
    MailMessage,
    Membership,
    Participant,
    Round,
    Verdict,
    Version,
)
from tests.factories import fresh
from workflows import audit
from workflows.outbound import jobs


def events(db, document_id: int) -> list[AuditEvent]:
    """The document's audit events in chain order, which is commit order: the chain head is taken at commit."""
    return list(db.scalars(select(AuditEvent).where(AuditEvent.document_id == document_id).order_by(AuditEvent.seq)))


def seq_of(found: list[AuditEvent], kind: str, **data) -> list[int]:
    return [e.seq for e in found if e.kind == kind and all(e.data.get(k) == v for k, v in data.items())]


def mail_keys(db, network_id: int) -> set[str]:
    return set(db.scalars(select(MailMessage.idempotency_key).where(MailMessage.network_id == network_id)))


def check_document(db, document_id: int) -> None:
    """Every invariant a race could break, for one document and its network."""
    fresh(db)
    document = db.get(Document, document_id)
    network_id = document.network_id
    assert audit.verify_chain(db, network_id) == [], "the audit chain is broken"
    found = events(db, document_id)
    keys = mail_keys(db, network_id)

    numbers = list(db.scalars(select(Version.number).where(Version.document_id == document_id)
                              .order_by(Version.number)))
    assert numbers == list(range(1, len(numbers) + 1)), f"version numbers not unique and consecutive: {numbers}"
    for number in numbers:
        assert len(seq_of(found, "version_uploaded", number=number)) == 1, f"version {number} has no single event"

    round_list = list(db.scalars(select(Round).where(Round.document_id == document_id).order_by(Round.number)))
    assert sum(r.is_open for r in round_list) <= 1, "two open rounds"
    for round_ in round_list:
        _check_round(db, round_, found, keys)

    if document.status == "final":
        _check_final(db, document, found, keys, round_list)
    else:
        assert document.final_version_id is None
        assert db.scalar(select(func.count(Finalisation.id)).where(Finalisation.document_id == document_id)) == 0


def _check_round(db, round_: Round, found: list[AuditEvent], keys: set[str]) -> None:
    closed = [e for e in found if e.kind == "round_closed" and e.round_id == round_.id]
    if round_.is_open:
        assert not closed, f"round {round_.id} is open but has a round_closed event"
        closed_at = None
    else:
        assert len(closed) == 1, f"round {round_.id} was closed {len(closed)} times"
        closed_at = closed[0].seq
        assert closed[0].data["status"] == round_.status

    def before_close(seq: int, what: str) -> None:
        # Nothing is given in a round after the transaction that closed it committed.
        assert closed_at is None or seq < closed_at, f"{what} committed after round {round_.id} closed"

    verdicts = list(db.scalars(select(Verdict).where(Verdict.round_id == round_.id).order_by(Verdict.id)))
    latest: dict[int, int] = {}
    for verdict in verdicts:
        given = [e.seq for e in found if e.kind == "verdict_given" and e.data.get("verdict_id") == verdict.id]
        assert len(given) == 1, f"verdict {verdict.id} has {len(given)} verdict_given events"
        before_close(given[0], f"verdict {verdict.id} ({verdict.value})")
        assert verdict.version_id == round_.version_id, f"verdict {verdict.id} is not on its round's version"
        assert f"verdict_confirmation:{verdict.id}" in keys, f"verdict {verdict.id} has no confirmation mail"
        latest[verdict.participant_id] = verdict.id
    for p in db.scalars(select(Participant).where(Participant.round_id == round_.id)):
        assert p.current_verdict_id == latest.get(p.id), f"participant {p.id} does not point at their latest verdict"

    for comment in db.scalars(select(Comment).where(Comment.round_id == round_.id)):
        kind = "comment_replied" if comment.parent_id else "comment_added"
        added = [e.seq for e in found if e.kind == kind and e.data.get("comment_id") == comment.id]
        assert len(added) == 1, f"comment {comment.id} has {len(added)} events"
        before_close(added[0], f"comment {comment.id}")

    for reminder in (e for e in found if e.kind == "reminder_sent" and e.round_id == round_.id):
        before_close(reminder.seq, f"reminder {reminder.data['slot']}")

    if round_.close_reason == "manual":
        participants = list(db.scalars(select(Participant.id).where(Participant.round_id == round_.id,
                                                                    Participant.removed_at.is_(None))))
        missing = [p for p in participants if f"round_outcome:{round_.id}:{p}" not in keys]
        assert not missing, f"round {round_.id} closed without the outcome mail for participants {missing}"
        staff = _active(db, round_.document.network_id, STAFF_ROLES)
        assert all(f"round_summary:{round_.id}:{m.person_id}" in keys for m in staff), "a round summary is missing"


def _check_final(db, document: Document, found: list[AuditEvent], keys: set[str], round_list: list[Round]) -> None:
    """DESIGN invariant 2: final only when every current voter's latest verdict on exactly the final version is
    akkoord or akkoord met opmerkingen; and it happened once."""
    finalisations = list(db.scalars(select(Finalisation).where(Finalisation.document_id == document.id)))
    assert len(finalisations) == 1
    newest = db.scalar(select(Version.id).where(Version.document_id == document.id).order_by(Version.number.desc())
                       .limit(1))
    assert document.final_version_id == finalisations[0].version_id == newest, "final on another than the newest"
    assert len(seq_of(found, "document_finalised")) == 1
    assert not any(r.is_open for r in round_list), "a final document with an open round"
    on_version = [r.id for r in round_list if r.version_id == document.final_version_id]
    newest_verdict: dict[int, Verdict] = {}
    for verdict, person_id in db.execute(
            select(Verdict, Participant.person_id).join(Participant, Verdict.participant_id == Participant.id)
            .where(Verdict.round_id.in_(on_version)).order_by(Verdict.id)):
        newest_verdict[person_id] = verdict
    voters = _active(db, document.network_id, VOTING_ROLES)
    assert voters
    final_round = max((r for r in round_list if r.version_id == document.final_version_id), key=lambda r: r.number)
    if final_round.decision_rule == "organisation":
        _check_final_per_organisation(db, document, voters, on_version)
        voters = [v for v in voters if v.organisation is None]  # they decide for themselves
    for voter in voters:
        verdict = newest_verdict.get(voter.person_id)
        assert verdict is not None and verdict.value in APPROVING_VERDICTS, (
            f"document {document.id} is final while person {voter.person_id}'s latest verdict on the final version "
            f"is {verdict.value if verdict else None}")
    for member in _active(db, document.network_id, None):
        assert f"final_document:{document.id}:{member.person_id}" in keys, "a final-document mail is missing"


def _check_final_per_organisation(db, document: Document, voters: list[Membership], on_version: list[int]) -> None:
    """Invariant 2 per organisation: every organisation with a vote (and a voting member) has, as its newest verdict
    on the final version given on its behalf, akkoord or akkoord met opmerkingen."""
    newest: dict[int, Verdict] = {}
    for verdict in db.scalars(select(Verdict).join(Participant, Verdict.participant_id == Participant.id)
                              .where(Verdict.round_id.in_(on_version), Verdict.organisation_id.is_not(None),
                                     Verdict.suggestion.is_(False), Participant.removed_at.is_(None))
                              .order_by(Verdict.id)):
        newest[verdict.organisation_id] = verdict
    for organisation in {v.organisation.id: v.organisation for v in voters if v.organisation is not None}.values():
        if not organisation.has_vote or organisation.left_at is not None:
            continue
        verdict = newest.get(organisation.id)
        assert verdict is not None and verdict.value in APPROVING_VERDICTS, (
            f"document {document.id} is final while organisation {organisation.name}'s verdict on the final version "
            f"is {verdict.value if verdict else None}")


def _active(db, network_id: int, roles: tuple[str, ...] | None) -> list[Membership]:
    statement = select(Membership).where(Membership.network_id == network_id, Membership.left_at.is_(None))
    if roles is not None:
        statement = statement.where(Membership.role.in_(roles))
    return list(db.scalars(statement))


def check_outbox_handed_over(db, network_id: int) -> None:
    """Every mail the races made due is in a delivery job in Redis (no worker ran): none was lost between the
    commit and the hand-off."""
    fresh(db)
    due = set(db.scalars(select(MailMessage.id).where(MailMessage.network_id == network_id,
                                                      MailMessage.status == "pending",
                                                      MailMessage.next_attempt_at.is_not(None))))
    queued: set[int] = set()
    for job in jobs.queue().get_jobs():
        if job.func_name.endswith("deliver_mail"):
            queued.update(job.args[0])
    assert due <= queued, f"mails committed but not handed to the workers: {sorted(due - queued)[:20]}"


def message_id(key: str) -> str:
    """The Message-ID of the mail with this idempotency key (workflows.outbound.mail.build)."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@akkoord>"


def check_delivered(db, mail_store, network_id: int, keys: list[str]) -> None:
    """After a real worker drained the queue: every due mail of the network was sent (or found not needed), the
    SMTP server got each sent one exactly once, and among them the mails with these idempotency keys."""
    fresh(db)
    held = (MailMessage.status == "pending") & MailMessage.next_attempt_at.is_(None)  # waiting for something else
    statuses = Counter(db.scalars(select(MailMessage.status).where(MailMessage.network_id == network_id, ~held)))
    # Cancelled: not needed any more (an invitation to a round superseded before the worker came to it).
    assert set(statuses) <= {"sent", "cancelled"}, f"not every due mail was dealt with: {dict(statuses)}"
    received = Counter(str(m.message["Message-ID"]) for m in mail_store.list())
    assert sum(received.values()) == statuses["sent"], "the SMTP server got a different number of mails"
    assert set(received.values()) == {1}, "a mail arrived twice"
    missing = [key for key in keys if received[message_id(key)] != 1]
    assert not missing, f"not delivered: {missing}"


class Tally:
    """How often each outcome of a race happened (also among the trials fired at the very same moment), and how
    often the two requests were in flight together."""

    def __init__(self, name: str):
        self.name = name
        self.outcomes: dict[str, int] = defaultdict(int)
        self.simultaneous: dict[str, int] = defaultdict(int)
        self.overlapping = 0
        self.trials = 0

    def note(self, outcome: str, *, overlapped: bool, simultaneous: bool) -> None:
        self.outcomes[outcome] += 1
        self.simultaneous[outcome] += simultaneous
        self.overlapping += overlapped
        self.trials += 1

    def __str__(self) -> str:
        outcomes = ", ".join(f"{name}: {count} ({self.simultaneous[name]} of them fired at the same moment)"
                             for name, count in sorted(self.outcomes.items()))
        return f"{self.name}: {self.trials} trials; {outcomes}; both in flight at once in {self.overlapping}"
