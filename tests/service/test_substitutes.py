"""Substitutes (plaatsvervangers) over HTTP, with a real worker and SMTP: a member names a colleague for an absence,
the substitute gives the verdict on their behalf (it counts for the absent person, the evidence says namens, the
mails arrive), outside the period nobody acts for anyone, taking over ends it, and refusals change nothing."""

from __future__ import annotations

import datetime as dt
import html
import threading
import time

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from service.web.i18n import ERRORS
from storage.database.models import (
    AuditEvent,
    MailMessage,
    Membership,
    Participant,
    Substitution,
    Verdict,
    utcnow,
)
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.service.test_staff_pages import signed_in
from workflows.domain import api_tokens, decisions, finalising, rounds, substitutes
from workflows.domain.wording import TIMEZONE, kenmerk
from workflows.errors import DomainError
from workflows.outbound import jobs

BASE = "http://localhost"


def in_dutch(app, message, **params) -> str:
    """The message as a Dutch page shows it (the catalogue's words, escaped as in HTML)."""
    with app.test_request_context(), force_locale("nl"):
        text = gettext(message) if isinstance(message, str) else str(message)
        return html.escape(text % params if params else text)


def local(value: dt.datetime) -> str:
    """A time as the form's datetime-local field takes it (Dutch time)."""
    return value.astimezone(TIMEZONE).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def absence(app, db):
    """A round in which Ans (absent-to-be) and Sem (her colleague of the same organisation) take part, with Olga of
    another organisation; each holds their personal link."""
    network, coordinator, people = make_network(db, members=3, editors=1)
    _editor, ans, olga, sem = people  # organisations: 0, 0, 1, 0 (make_network alternates them)
    assert ans.organisation_id == sem.organisation_id != olga.organisation_id
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    links = {who: rounds.mint_link(db, participant(db, round_, m).id) for who, m in (("ans", ans), ("sem", sem))}
    db.commit()
    return {"network": network, "coordinator": coordinator, "people": people, "ans": ans, "sem": sem, "olga": olga,
            "document": document, "version": version, "round": round_, "links": links}


def holder(app, token: str):
    """A browser that followed a personal link; and the review page it landed on."""
    client = app.test_client()
    response = client.get(f"/l/{token}")
    assert response.status_code == 303
    return client, response.headers["Location"]


def name_substitute(client, review: str, substitute_id: int, starts: dt.datetime, ends: dt.datetime):
    page = client.get(review + "substitutes")
    assert page.status_code == 200
    return client.post(review + "substitutes", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "substitute": str(substitute_id),
        "starts_at": local(starts), "ends_at": local(ends)})


def give_on_behalf(client, review: str, substitution_id: int, value: str, reason: str = ""):
    page = client.get(review)
    token = csrf_token(page.get_data(as_text=True))
    prefix = f"namens{substitution_id}"
    return client.post(f"{review}namens/{substitution_id}", data={
        "csrf_token": token, f"{prefix}-csrf_token": token, f"{prefix}-value": value, f"{prefix}-reason": reason})


def state(db) -> tuple:
    """What a refused request must leave as it was."""
    fresh(db)
    return (db.scalar(select(func.count()).select_from(Substitution)),
            db.scalar(select(func.count()).select_from(Verdict)),
            db.scalar(select(func.count()).select_from(MailMessage)),
            db.scalar(select(func.count()).select_from(AuditEvent)),
            tuple(db.scalars(select(Substitution.ended_at).order_by(Substitution.id))))


def to(address: str, subject_part: str = ""):
    return lambda messages: any(m.to == [address] and subject_part in m.subject for m in messages)


def test_a_substitute_gives_the_verdict_during_an_absence(app, db, absence, mail_store, run_worker):
    ans, sem = absence["ans"], absence["sem"]
    coordinator = signed_in(app, db, absence["coordinator"])
    token_row, token = api_tokens.create_token(db, absence["network"], absence["coordinator"], role="coordinator",
                                               name="test")
    db.commit()
    ans_client, ans_review = holder(app, absence["links"]["ans"])
    now = utcnow()

    # Ans names Sem from her own page, for the coming days.
    response = name_substitute(ans_client, ans_review, sem.id, now, now + dt.timedelta(days=5))
    assert response.status_code == 303
    fresh(db)
    substitution = db.scalar(select(Substitution).where(Substitution.absent_membership_id == ans.id))
    assert substitution.substitute_membership_id == sem.id and substitution.created_by_id == ans.person_id
    assert db.scalar(select(AuditEvent).where(AuditEvent.kind == "substitute_named",
                                              AuditEvent.network_id == ans.network_id)).data["substitution_id"] \
        == substitution.id
    run_worker()
    # Both are told; Sem gets a personal link for the open round, saying for whom.
    messages = mail_store.wait_for(lambda ms: to(ans.person.email)(ms) and sum(m.to == [sem.person.email]
                                                                               for m in ms) >= 2)
    told_ans = next(m for m in messages if m.to == [ans.person.email])
    assert sem.name in told_ans.subject and sem.name in told_ans.text_body()
    invitation = next(m for m in messages if m.to == [sem.person.email] and ans.name in m.subject
                      and any("/l/" in link for link in m.links()))
    # Ans's page says who stands in for her, with a way to take over again.
    ans_page = ans_client.get(ans_review).get_data(as_text=True)
    assert sem.name in ans_page and f"/substitutes/{substitution.id}/end" in ans_page

    # Sem follows the link from that mail: her page offers the verdict on behalf of Ans.
    sem_client = app.test_client()
    link = next(link for link in invitation.links() if "/l/" in link)
    sem_review = sem_client.get(link[len(BASE):]).headers["Location"]
    page = sem_client.get(sem_review).get_data(as_text=True)
    assert f'id="namens-{substitution.id}"' in page and ans.name in page
    response = give_on_behalf(sem_client, sem_review, substitution.id, "akkoord_met_opmerkingen", "Namens Ans: prima.")
    assert response.status_code == 303

    # Recorded on Ans's participant, with Sem as who gave it and Ans as on whose behalf.
    fresh(db)
    absent = participant(db, absence["round"], ans)
    verdict = db.get(Verdict, absent.current_verdict_id)
    assert verdict.substitution_id == substitution.id and verdict.participant_id == absent.id
    assert (verdict.person_name, verdict.person_email) == (sem.name, sem.person.email)
    assert (verdict.on_behalf_of_name, verdict.on_behalf_of_email) == (ans.name, ans.person.email)
    assert verdict.organisation_name == ans.organisation.name
    assert participant(db, absence["round"], sem).current_verdict_id is None  # Sem's own verdict is her own affair
    event = db.scalar(select(AuditEvent).where(AuditEvent.kind == "verdict_given",
                                               AuditEvent.data["verdict_id"].as_integer() == verdict.id))
    assert event.actor_id == sem.person_id and event.data["substitution_id"] == substitution.id

    # The mails: Sem's confirmation says namens, Ans is told what was said for her and how to take over.
    run_worker()
    messages = mail_store.wait_for(lambda ms: sum(m.to == [ans.person.email] for m in ms) >= 2
                                   and sum(m.to == [sem.person.email] for m in ms) >= 3)
    reference = kenmerk(verdict.content_hash)  # the verdict's text, as people read it (the hash is for evidence)
    confirmation = next(m for m in messages if m.to == [sem.person.email] and reference in (m.text_body() or "")
                        and ans.name in m.text_body())
    assert ans.name in confirmation.html_body()
    told = next(m for m in messages if m.to == [ans.person.email] and sem.name in m.subject and m.id != told_ans.id)
    assert "/link" in told.text_body() and reference in told.text_body()
    assert verdict.content_hash not in told.text_body()

    # The evidence shows namens: the round page, the standings and the API.
    namens = in_dutch(app, "%(substitute)s on behalf of %(absent)s", substitute=sem.name, absent=ans.name)
    round_page = coordinator.get(f"/r/{absence['round'].id}").get_data(as_text=True)
    assert namens in round_page
    assert namens in coordinator.get(f"/d/{absence['document'].id}").get_data(as_text=True)  # the standings
    answer = app.test_client().get(f"/api/v1/rounds/{absence['round'].id}/participants",
                                   headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    rows = {row["id"]: row for row in answer.get_json()["items"]}
    assert rows[absent.id]["verdict"]["on_behalf_of"] == {"substitution_id": substitution.id, "name": ans.name,
                                                          "email": ans.person.email}
    assert rows[absent.id]["verdict"]["person_name"] == sem.name

    # It counts for Ans: once everyone else agrees, the version can be made final.
    fresh(db)
    for voter in db.scalars(select(Participant).where(Participant.round_id == absence["round"].id,
                                                      Participant.can_vote, Participant.person_id != ans.person_id)):
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    finalising.finalise_document(db, absence["document"], absence["version"], actor=absence["coordinator"])
    db.rollback()  # proven; leave the round open for the rest


def test_taking_over_ends_the_substitution(app, db, absence, mail_store, run_worker):
    ans, sem = absence["ans"], absence["sem"]
    ans_client, ans_review = holder(app, absence["links"]["ans"])
    sem_client, sem_review = holder(app, absence["links"]["sem"])
    assert name_substitute(ans_client, ans_review, sem.id, utcnow(), utcnow() + dt.timedelta(days=3)).status_code == 303
    fresh(db)
    substitution = db.scalar(select(Substitution).where(Substitution.absent_membership_id == ans.id))
    assert give_on_behalf(sem_client, sem_review, substitution.id, "akkoord").status_code == 303

    # Ans takes over again from her review page.
    page = ans_client.get(ans_review).get_data(as_text=True)
    response = ans_client.post(f"{ans_review}substitutes/{substitution.id}/end",
                               data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    fresh(db)
    assert db.get(Substitution, substitution.id).ended_at is not None
    assert db.scalar(select(AuditEvent).where(AuditEvent.kind == "substitution_ended",
                                              AuditEvent.network_id == ans.network_id)).actor_id == ans.person_id
    before = state(db)
    # Sem can no longer act for her, and her page no longer offers it.
    assert give_on_behalf(sem_client, sem_review, substitution.id, "niet_akkoord", "Toch niet").status_code == 403
    assert state(db) == before
    assert f'id="namens-{substitution.id}"' not in sem_client.get(sem_review).get_data(as_text=True)
    # The verdict given meanwhile stays; Ans's own verdict replaces it.
    absent = participant(db, absence["round"], ans)
    assert db.get(Verdict, absent.current_verdict_id).substitution_id == substitution.id
    page = ans_client.get(ans_review).get_data(as_text=True)
    assert ans_client.post(ans_review + "verdict", data={"csrf_token": csrf_token(page), "value": "akkoord"}
                           ).status_code == 303
    fresh(db)
    own = db.get(Verdict, participant(db, absence["round"], ans).current_verdict_id)
    assert own.substitution_id is None and own.person_name == ans.name and own.on_behalf_of_name == ""
    # Sem is told it ended; taking over twice is refused.
    run_worker()
    fresh(db)
    assert db.scalar(select(MailMessage.status).where(MailMessage.email == "substitution_ended",
                                                      MailMessage.person_id == sem.person_id)) is not None
    # Named, and told it ended (each mail names Ans in its subject); the invitation for the round was not yet
    # delivered when it ended, and then it no longer went.
    mail_store.wait_for(lambda ms: sum(m.to == [sem.person.email] and ans.name in m.subject for m in ms) >= 2)
    fresh(db)
    assert db.scalar(select(MailMessage.status).where(MailMessage.email == "substitute_invitation",
                                                      MailMessage.person_id == sem.person_id)) == "cancelled"
    before = state(db)
    page = ans_client.get(ans_review + "substitutes").get_data(as_text=True)
    assert ans_client.post(f"{ans_review}substitutes/{substitution.id}/end",
                           data={"csrf_token": csrf_token(page)}).status_code == 409
    assert state(db) == before


def test_outside_the_period_the_substitute_cannot_act(app, db, absence, run_worker, mail_store):
    ans, sem = absence["ans"], absence["sem"]
    sem_client, sem_review = holder(app, absence["links"]["sem"])
    now = utcnow()
    # One that is over, and one that is still to come (named at an earlier moment, through the rule itself).
    past = substitutes.name_substitute(db, ans, sem.id, starts_at=now - dt.timedelta(days=3),
                                       ends_at=now - dt.timedelta(days=1), actor=ans.person,
                                       now=now - dt.timedelta(days=4))
    future = substitutes.name_substitute(db, ans, sem.id, starts_at=now + dt.timedelta(days=2),
                                         ends_at=now + dt.timedelta(days=4), actor=ans.person)
    db.commit()
    page = sem_client.get(sem_review).get_data(as_text=True)
    assert f'id="namens-{past.id}"' not in page
    assert f'id="namens-{future.id}"' not in page
    before = state(db)
    for substitution in (past, future):
        assert give_on_behalf(sem_client, sem_review, substitution.id, "akkoord").status_code == 403
    assert state(db) == before
    run_worker()
    fresh(db)
    assert db.scalar(select(func.count()).select_from(MailMessage).where(
        MailMessage.email == "substitute_invitation", MailMessage.person_id == sem.person_id)) == 0  # not yet
    # When it begins, the tick invites Sem to the open round (once, however often it runs).
    during = now + dt.timedelta(days=3)
    with app.app_context():
        assert jobs.tick(during.isoformat())["substitutes_invited"] >= 1  # other tests' may begin then too
        assert jobs.tick(during.isoformat())["substitutes_invited"] == 0
    fresh(db)
    invitation = db.scalar(select(MailMessage).where(MailMessage.email == "substitute_invitation",
                                                     MailMessage.person_id == sem.person_id))
    assert invitation.params["substitution_id"] == future.id
    # Within the period (the rule's clock set there), the verdict goes through.
    substitute = participant(db, absence["round"], sem)
    verdict = substitutes.record_verdict_for(db, substitute, future.id, value="akkoord", reason="",
                                             evidence=rounds.Evidence(), now=during)
    assert verdict.on_behalf_of_name == ans.name
    db.rollback()


@pytest.mark.parametrize("case", ["other_organisation", "themselves", "reversed", "past", "overlapping", "observer"])
def test_refusals_change_nothing(app, db, absence, case):
    ans, sem, olga = absence["ans"], absence["sem"], absence["olga"]
    ans_client, ans_review = holder(app, absence["links"]["ans"])
    now = utcnow()
    substitute, starts, ends, code, status = sem.id, now, now + dt.timedelta(days=2), None, 400
    if case == "other_organisation":
        substitute, code = olga.id, "substitute_other_organisation"
    elif case == "themselves":
        substitute, code = ans.id, "substitute_self"
    elif case == "reversed":
        starts, ends, code = now + dt.timedelta(days=3), now + dt.timedelta(days=1), "substitution_ends_before_start"
    elif case == "past":
        starts, ends, code = now - dt.timedelta(days=3), now - dt.timedelta(days=1), "substitution_in_past"
    elif case == "overlapping":
        substitutes.name_substitute(db, ans, sem.id, starts_at=now + dt.timedelta(days=1),
                                    ends_at=now + dt.timedelta(days=4), actor=ans.person)
        db.commit()
        code, status = "substitution_overlaps", 409
    elif case == "observer":
        observer = db.scalar(select(Membership).where(Membership.id == sem.id))
        observer.role = "observer"
        db.commit()
        code = "substitute_no_vote"
    before = state(db)
    response = name_substitute(ans_client, ans_review, substitute, starts, ends)
    assert response.status_code == status
    assert in_dutch(app, ERRORS[code]) in response.get_data(as_text=True)
    assert state(db) == before


def test_a_coordinator_names_and_ends_a_substitute(app, db, absence, mail_store, run_worker):
    ans, sem, olga = absence["ans"], absence["sem"], absence["olga"]
    coordinator = signed_in(app, db, absence["coordinator"])
    page_path = f"/n/{absence['network'].id}/substitutes"
    page = coordinator.get(page_path)
    assert page.status_code == 200
    token = csrf_token(page.get_data(as_text=True))
    now = utcnow()
    data = {"csrf_token": token, "absent": str(ans.id), "substitute": str(olga.id), "starts_at": local(now),
            "ends_at": local(now + dt.timedelta(days=1))}
    before = state(db)
    refused = coordinator.post(page_path, data=data)
    assert refused.status_code == 400
    assert in_dutch(app, ERRORS["substitute_other_organisation"]) in refused.get_data(as_text=True)
    assert state(db) == before
    assert coordinator.post(page_path, data={**data, "substitute": str(sem.id)}).status_code == 303
    fresh(db)
    substitution = db.scalar(select(Substitution).where(Substitution.absent_membership_id == ans.id))
    assert substitution.created_by_id == absence["coordinator"].id
    run_worker()
    told = mail_store.wait_for(to(ans.person.email))
    assert any(absence["coordinator"].name in (m.text_body() or "") or "Coördinator" in (m.text_body() or "")
               for m in told if m.to == [ans.person.email])
    listed = coordinator.get(page_path).get_data(as_text=True)
    assert sem.name in listed and ans.name in listed
    assert coordinator.post(f"{page_path}/{substitution.id}/end", data={"csrf_token": token}).status_code == 303
    fresh(db)
    assert db.get(Substitution, substitution.id).ended_at is not None
    # An editor sees the page but may not name or end anyone.
    editor = signed_in(app, db, absence["people"][0].person)
    assert editor.get(page_path).status_code == 200
    assert editor.post(page_path, data={**data, "csrf_token": csrf_token(editor.get(page_path).get_data(
        as_text=True)), "substitute": str(sem.id)}).status_code == 403


def test_per_organisation_a_substitute_of_a_representative_answers_for_the_organisation(app, db):
    """Under the per-organisation rule the substitute's verdict for an absent representative is the organisation's
    verdict (as the representative's would be), and its evidence says on whose behalf."""
    network, coordinator, people = make_network(db, members=3, editors=1)
    _editor, ans, _olga, sem = people
    decisions.set_network_rule(db, network, "organisation", actor=coordinator)
    decisions.set_representative(db, ans, True, actor=coordinator)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    token = rounds.mint_link(db, participant(db, round_, sem).id)
    substitution = substitutes.name_substitute(db, ans, sem.id, starts_at=utcnow(),
                                               ends_at=utcnow() + dt.timedelta(days=2), actor=coordinator)
    db.commit()
    sem_client, sem_review = holder(app, token)
    assert f'id="namens-{substitution.id}"' in sem_client.get(sem_review).get_data(as_text=True)
    assert give_on_behalf(sem_client, sem_review, substitution.id, "akkoord").status_code == 303
    fresh(db)
    verdict = db.get(Verdict, participant(db, round_, ans).current_verdict_id)
    assert verdict.organisation_id == ans.organisation_id and not verdict.suggestion
    assert (verdict.person_name, verdict.on_behalf_of_name) == (sem.name, ans.name)
    standings = {party.name: party for party in decisions.organisation_standings(db, document, round_.version)}
    assert standings[ans.organisation.name].state == "akkoord"


@pytest.mark.parametrize("first", ["verdict", "take_over"])
def test_a_take_over_and_a_verdict_at_the_same_moment(app, db, absence, first):
    """Each on its own connection, the first holding its locks until the second waits: a verdict the take-over waited
    for was given before the substitution ended; one that waited for the take-over is refused. Never a verdict on
    behalf of someone after they took over."""
    ans, sem = absence["ans"], absence["sem"]
    substitution = substitutes.name_substitute(db, ans, sem.id, starts_at=utcnow(),
                                               ends_at=utcnow() + dt.timedelta(days=2), actor=ans.person)
    db.commit()
    sessions = app.extensions["akkoord_sessions"]
    holding, results = threading.Event(), {}

    def verdict() -> None:
        with sessions() as session:
            try:
                substitute = participant(session, absence["round"], sem)
                substitutes.record_verdict_for(session, substitute, substitution.id, value="akkoord", reason="",
                                               evidence=rounds.Evidence())
                if first == "verdict":
                    holding.set()
                    time.sleep(0.5)  # the take-over now waits for this transaction
                session.commit()
                results["verdict"] = "given"
            except DomainError as error:
                session.rollback()
                results["verdict"] = error.code

    def take_over() -> None:
        with sessions() as session:
            substitutes.end_substitution(session, session.get(Substitution, substitution.id),
                                         actor=session.get(Membership, ans.id).person)
            if first == "take_over":
                holding.set()
                time.sleep(0.5)  # the verdict now waits for this transaction
            session.commit()
            results["take_over"] = "ended"

    first_thread = threading.Thread(target=verdict if first == "verdict" else take_over)
    second_thread = threading.Thread(target=take_over if first == "verdict" else verdict)
    first_thread.start()
    assert holding.wait(10)
    second_thread.start()
    first_thread.join(20)
    second_thread.join(20)
    assert results["take_over"] == "ended"
    fresh(db)
    ended_at = db.get(Substitution, substitution.id).ended_at
    given = db.scalars(select(Verdict).where(Verdict.substitution_id == substitution.id)).all()
    if first == "verdict":
        assert results["verdict"] == "given" and len(given) == 1 and given[0].created_at < ended_at
    else:
        assert results["verdict"] == "substitution_not_active" and given == []
