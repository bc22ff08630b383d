"""Substitutes through the member's JSON API: the absent person names and ends a substitute, the substitute sees
whom they may act for and gives that verdict with on_behalf_of; outside the period, after the end or for someone
else's substitution the answer is a problem in the caller's language and nothing changes."""

from __future__ import annotations

import datetime as dt

from flask_babel import force_locale
from sqlalchemy import func, select

from service.web.i18n import ERRORS
from storage.database.models import AuditEvent, MailMessage, Substitution, Verdict, utcnow
from tests.api.conftest import auth
from tests.factories import fresh, make_document, make_network, open_round, participant
from workflows.domain import rounds
from workflows.domain.wording import kenmerk

API = "/api/v1"


def state(db) -> tuple:
    fresh(db)
    return (db.scalar(select(func.count()).select_from(Substitution)),
            db.scalar(select(func.count()).select_from(Verdict)),
            db.scalar(select(func.count()).select_from(MailMessage)),
            db.scalar(select(func.count()).select_from(AuditEvent)),
            tuple(db.scalars(select(Substitution.ended_at).order_by(Substitution.id))))


def in_language(app, code: str, locale: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return str(ERRORS[code])


def test_a_substitute_acts_through_the_api(app, client, db, run_worker, mail_store):
    network, coordinator, people = make_network(db, members=3, editors=1)
    _editor, ans, olga, sem = people  # organisations 0, 0, 1, 0
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    tokens = {who: auth(rounds.mint_link(db, participant(db, round_, m).id))
              for who, m in (("ans", ans), ("sem", sem), ("olga", olga))}
    db.commit()
    now = utcnow()

    # Ans sees who may stand in for her, and names Sem for the coming days.
    offered = client.get(f"{API}/participation/substitutes", headers=tokens["ans"]).get_json()
    assert sem.id in {c["membership_id"] for c in offered["candidates"]}
    assert olga.id not in {c["membership_id"] for c in offered["candidates"]} and offered["substitutions"] == []
    refused = client.post(f"{API}/participation/substitutes", headers=tokens["ans"], json={
        "substitute_membership_id": olga.id, "starts_at": now.isoformat(),
        "ends_at": (now + dt.timedelta(days=5)).isoformat()})
    assert refused.status_code == 400 and refused.get_json()["code"] == "substitute_other_organisation"
    assert refused.get_json()["errors"][0]["field"] == "substitute_membership_id"
    named = client.post(f"{API}/participation/substitutes", headers=tokens["ans"], json={
        "substitute_membership_id": sem.id, "starts_at": now.isoformat(),
        "ends_at": (now + dt.timedelta(days=5)).isoformat()})
    assert named.status_code == 201, named.get_json()
    substitution = named.get_json()
    assert (substitution["absent_name"], substitution["substitute_name"]) == (ans.name, sem.name)

    # Each side's participation says so: Sem may act for Ans, who has no verdict yet; Ans has a substitute.
    mine = client.get(f"{API}/participation", headers=tokens["sem"]).get_json()
    assert [(a["substitution_id"], a["absent_name"], a["verdict_value"]) for a in mine["acting_for"]] == [
        (substitution["id"], ans.name, None)]
    assert mine["absences"] == []
    theirs = client.get(f"{API}/participation", headers=tokens["ans"]).get_json()
    assert [(a["substitution_id"], a["substitute_name"], a["active"]) for a in theirs["absences"]] == [
        (substitution["id"], sem.name, True)]
    assert theirs["acting_for"] == []

    # Someone else's substitution, or one that does not exist: 404 in the caller's language, nothing changed.
    before = state(db)
    for token, sid in ((tokens["olga"], substitution["id"]), (tokens["ans"], substitution["id"]),
                       (tokens["sem"], 2**31 - 1)):
        answer = client.post(f"{API}/participation/verdicts", headers={**token, "Accept-Language": "en"},
                             json={"value": "akkoord", "on_behalf_of": sid})
        assert answer.status_code == 404 and answer.mimetype == "application/problem+json"
        assert answer.headers["Content-Language"] == "en"
    assert state(db) == before

    # Sem gives the verdict on Ans's behalf: it is Ans's, with namens; Sem's own stays unset.
    given = client.post(f"{API}/participation/verdicts", headers=tokens["sem"],
                        json={"value": "niet_akkoord", "reason": "Artikel 2 ontbreekt.",
                              "on_behalf_of": substitution["id"]})
    assert given.status_code == 201, given.get_json()
    verdict = given.get_json()
    assert verdict["participant_id"] == participant(db, round_, ans).id and verdict["person_name"] == sem.name
    assert verdict["on_behalf_of"] == {"substitution_id": substitution["id"], "name": ans.name,
                                       "email": ans.person.email}
    assert client.get(f"{API}/participation", headers=tokens["sem"]).get_json()["verdict"] is None
    assert client.get(f"{API}/participation", headers=tokens["ans"]).get_json()["verdict"]["id"] == verdict["id"]
    acting = client.get(f"{API}/participation", headers=tokens["sem"]).get_json()["acting_for"][0]
    assert (acting["verdict_value"], acting["verdict_by"]) == ("niet_akkoord", sem.name)
    run_worker()
    mail_store.wait_for(lambda ms: any(m.to == [ans.person.email] and sem.name in m.subject
                                       and kenmerk(verdict["content_hash"]) in (m.text_body() or "") for m in ms))

    # Ans takes over again; then Sem can no longer act for her (Dutch by default), and ending twice is refused.
    ended = client.post(f"{API}/participation/substitutes/{substitution['id']}/end", headers=tokens["ans"])
    assert ended.status_code == 200 and ended.get_json()["ended_at"] is not None
    assert client.post(f"{API}/participation/substitutes/{substitution['id']}/end",
                       headers=tokens["sem"]).status_code == 404  # only the absent person ends it here
    again = client.post(f"{API}/participation/substitutes/{substitution['id']}/end", headers=tokens["ans"])
    assert again.status_code == 409 and again.get_json()["code"] == "substitution_over"
    before = state(db)
    late = client.post(f"{API}/participation/verdicts", headers=tokens["sem"],
                       json={"value": "akkoord", "on_behalf_of": substitution["id"]})
    assert late.status_code == 403 and late.get_json()["code"] == "substitution_not_active"
    assert late.headers["Content-Language"] == "nl"
    assert late.get_json()["detail"] == in_language(app, "substitution_not_active", "nl")
    english = client.post(f"{API}/participation/verdicts", headers={**tokens["sem"], "Accept-Language": "en"},
                          json={"value": "akkoord", "on_behalf_of": substitution["id"]})
    assert english.get_json()["detail"] == in_language(app, "substitution_not_active", "en")
    assert client.get(f"{API}/participation", headers=tokens["sem"]).get_json()["acting_for"] == []
    assert state(db) == before

    # A period still to come: Sem sees nothing to act on yet, and a verdict for Ans is refused.
    later = client.post(f"{API}/participation/substitutes", headers=tokens["ans"], json={
        "substitute_membership_id": sem.id, "starts_at": (now + dt.timedelta(days=2)).isoformat(),
        "ends_at": (now + dt.timedelta(days=4)).isoformat()}).get_json()
    assert client.get(f"{API}/participation", headers=tokens["ans"]).get_json()["absences"][0]["active"] is False
    assert client.get(f"{API}/participation", headers=tokens["sem"]).get_json()["acting_for"] == []
    before = state(db)
    early = client.post(f"{API}/participation/verdicts", headers=tokens["sem"],
                        json={"value": "akkoord", "on_behalf_of": later["id"]})
    assert early.status_code == 403 and early.get_json()["code"] == "substitution_not_active"
    assert state(db) == before
    fresh(db)
    assert db.get(Verdict, participant(db, round_, ans).current_verdict_id).value == "niet_akkoord"


def test_naming_through_the_api_refuses_what_the_page_refuses(client, db):
    network, coordinator, people = make_network(db, members=3, editors=1)
    _editor, ans, _olga, sem = people
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    token = auth(rounds.mint_link(db, participant(db, round_, ans).id))
    db.commit()
    now = utcnow()
    before = state(db)
    for body, status, code in (
        ({"substitute_membership_id": ans.id}, 400, "substitute_self"),
        ({"substitute_membership_id": sem.id, "ends_at": (now - dt.timedelta(days=1)).isoformat(),
          "starts_at": (now - dt.timedelta(days=2)).isoformat()}, 400, "substitution_in_past"),
        ({"substitute_membership_id": sem.id, "ends_at": now.isoformat(),
          "starts_at": (now + dt.timedelta(days=1)).isoformat()}, 400, "substitution_ends_before_start"),
    ):
        full = {"starts_at": now.isoformat(), "ends_at": (now + dt.timedelta(days=3)).isoformat(), **body}
        answer = client.post(f"{API}/participation/substitutes", headers=token, json=full)
        assert (answer.status_code, answer.get_json()["code"]) == (status, code)
    no_zone = client.post(f"{API}/participation/substitutes", headers=token, json={
        "substitute_membership_id": sem.id, "starts_at": "2099-01-01T10:00", "ends_at": "2099-01-02T10:00"})
    assert no_zone.status_code == 422
    assert state(db) == before
