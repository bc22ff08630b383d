"""Reminders reach substitutes: when a reminder goes to someone who is away (a substitution running now), their
substitute gets one too, with their own personal link, saying for whom; per person and per organisation, through
the real worker (the tick as a job) and the SMTP server."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select, update

from storage.database.models import MailMessage, Participant, utcnow
from tests.api.conftest import auth
from tests.factories import fresh, make_document, make_network, participant
from workflows.domain import api_tokens, decisions, reminders, rounds, substitutes
from workflows.outbound import jobs

BASE = "http://localhost"


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.commit()


def message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@akkoord>"


def delivered(mail_store, key: str):
    """The mail of this outbox key as the SMTP server received it."""
    wanted = message_id(key)
    found = mail_store.wait_for(lambda ms: any(m.message["Message-ID"] == wanted for m in ms))
    return next(m for m in found if m.message["Message-ID"] == wanted)


def substitute_reminders(db, round_id: int) -> list[MailMessage]:
    fresh(db)
    return list(db.scalars(select(MailMessage).where(MailMessage.round_id == round_id,
                                                     MailMessage.email == "substitute_reminder")
                           .order_by(MailMessage.id)))


def follow(app, mail) -> str:
    """The review page the mail's personal link opens."""
    client = app.test_client()
    link = next(link for link in mail.links() if "/l/" in link)
    landed = client.get(link[len(BASE):])
    assert landed.status_code == 303
    return client.get(landed.headers["Location"]).get_data(as_text=True)


def test_per_person_the_tick_reminds_the_substitute_of_someone_away(app, db, run_worker, mail_store):
    network, coordinator, people = make_network(db, members=3, editors=1)
    editor, ans, olga, sem = people  # organisations 0, 0, 1, 0
    document, _version = make_document(db, network, coordinator)
    now = utcnow()
    deadline = now + dt.timedelta(days=10)
    round_ = rounds.open_round(db, document, deadline=deadline, message="", actor=coordinator)
    reminders.set_schedule(db, round_, [7, 2], actor=coordinator)
    # Ans is away and Sem stands in for her; the editor was away too, but took over again.
    substitution = substitutes.name_substitute(db, ans, sem.id, starts_at=now, ends_at=now + dt.timedelta(days=9),
                                               actor=ans.person)
    ended = substitutes.name_substitute(db, editor, ans.id, starts_at=now, ends_at=now + dt.timedelta(days=9),
                                        actor=editor.person)
    substitutes.end_substitution(db, ended, actor=editor.person)
    db.commit()
    run_worker()
    mail_store.clear()

    # The 7-days-before slot, by the tick the worker runs.
    tick_at = reminders.slot_time(deadline, 7) + dt.timedelta(minutes=1)
    jobs.queue().enqueue(jobs.tick, tick_at.isoformat())
    run_worker()
    queued = substitute_reminders(db, round_.id)
    absent = participant(db, round_, ans)
    assert [(m.person_id, m.params["substitution_id"], m.params["absent_participant_id"]) for m in queued] == [
        (sem.person_id, substitution.id, absent.id)]  # not Ans for the editor: that substitution ended
    assert queued[0].status == "sent" and queued[0].params["participant_id"] == participant(db, round_, sem).id
    # Ans is still reminded herself.
    delivered(mail_store, f"reminder:{round_.id}:d7:{absent.id}")
    mail = delivered(mail_store, queued[0].idempotency_key)
    assert mail.to == [sem.person.email] and ans.name in mail.subject
    assert ans.name in mail.text_body() and ans.name in mail.html_body() and document.title in mail.text_body()
    # The link in it is Sem's own, and her page offers the verdict on behalf of Ans.
    page = follow(app, mail)
    assert f'id="namens-{substitution.id}"' in page and ans.name in page

    # The next slot is queued; Sem answers for Ans before the worker delivers it: it is not sent.
    jobs.tick((reminders.slot_time(deadline, 2) + dt.timedelta(minutes=1)).isoformat())
    second = substitute_reminders(db, round_.id)[-1]
    assert second.params["slot"] == "d2" and second.status == "pending"
    substitutes.record_verdict_for(db, participant(db, round_, sem), substitution.id, value="akkoord", reason="",
                                   evidence=rounds.Evidence())
    db.commit()
    run_worker()
    fresh(db)
    assert db.get(MailMessage, second.id).status == "cancelled"
    assert db.get(MailMessage, second.id).failure == "not_needed"


def test_per_organisation_the_substitute_of_an_absent_representative_is_reminded(app, client, db, run_worker,
                                                                                   mail_store):
    network, coordinator, people = make_network(db, members=3, editors=1)
    _editor, ans, _olga, sem = people
    decisions.set_network_rule(db, network, "organisation", actor=coordinator)
    decisions.set_representative(db, ans, True, actor=coordinator)
    document, _version = make_document(db, network, coordinator)
    round_ = rounds.open_round(db, document, deadline=utcnow() + dt.timedelta(days=5), message="",
                               actor=coordinator)
    substitution = substitutes.name_substitute(db, ans, sem.id, starts_at=utcnow(),
                                               ends_at=utcnow() + dt.timedelta(days=3), actor=coordinator)
    _t, token = api_tokens.create_token(db, network, coordinator, role="coordinator", name="script")
    db.commit()
    run_worker()
    mail_store.clear()

    # The coordinator sends a reminder now: the representative Ans, and Sem (a colleague) for her.
    answer = client.post(f"/api/v1/rounds/{round_.id}/reminders", headers=auth(token))
    assert answer.status_code == 201
    run_worker()
    queued = substitute_reminders(db, round_.id)
    assert [(m.person_id, m.params["substitution_id"], m.status) for m in queued] == [
        (sem.person_id, substitution.id, "sent")]
    fresh(db)
    reminded = set(db.scalars(select(MailMessage.person_id).where(MailMessage.round_id == round_.id,
                                                                  MailMessage.email == "reminder")))
    assert ans.person_id in reminded and sem.person_id not in reminded  # a colleague is not reminded herself
    mail = delivered(mail_store, queued[0].idempotency_key)
    assert mail.to == [sem.person.email] and ans.name in mail.subject
    assert f'id="namens-{substitution.id}"' in follow(app, mail)

    # Once Sem is a representative herself she is reminded as one: no second mail for the same verdict.
    fresh(db)
    decisions.set_representative(db, sem, True, actor=coordinator)
    db.commit()
    assert client.post(f"/api/v1/rounds/{round_.id}/reminders", headers=auth(token)).status_code == 201
    fresh(db)
    assert len(substitute_reminders(db, round_.id)) == 1
    assert db.scalar(select(MailMessage.id).where(MailMessage.round_id == round_.id, MailMessage.email == "reminder",
                                                  MailMessage.person_id == sem.person_id)) is not None


def test_a_substitute_not_yet_invited_gets_the_invitation_instead(app, db, run_worker, mail_store):
    """A period that began between two ticks: the reminder's tick invites the substitute (the invitation says the
    same, and more) rather than sending two mails at once."""
    network, coordinator, people = make_network(db, members=3, editors=1)
    _editor, ans, _olga, sem = people
    document, _version = make_document(db, network, coordinator)
    now = utcnow()
    deadline = now + dt.timedelta(days=10)
    round_ = rounds.open_round(db, document, deadline=deadline, message="", actor=coordinator)
    slot = reminders.slot_time(deadline, 7)
    substitution = substitutes.name_substitute(db, ans, sem.id, starts_at=slot - dt.timedelta(hours=1),
                                               ends_at=slot + dt.timedelta(days=1), actor=ans.person)
    db.commit()
    jobs.tick((slot + dt.timedelta(minutes=1)).isoformat())
    fresh(db)
    assert substitute_reminders(db, round_.id) == []
    invitation = db.scalar(select(MailMessage).where(MailMessage.email == "substitute_invitation",
                                                     MailMessage.round_id == round_.id))
    assert invitation.params["substitution_id"] == substitution.id
    assert invitation.params["participant_id"] == db.scalar(select(Participant.id).where(
        Participant.round_id == round_.id, Participant.person_id == sem.person_id))
