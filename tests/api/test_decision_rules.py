"""The per-organisation rule through the JSON API: set the rule and the representatives, decide through the
personal round tokens, the standings and finalising follow the rule, the rule cannot switch during a round, and the
webhook payload of a verdict names the organisation it counts for."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import select

from storage.database.models import AuditEvent, Participant, Round, utcnow
from tests.api.conftest import auth
from tests.factories import fresh, unique
from workflows.domain import api_tokens, membership, rounds
from workflows.outbound import webhooks as outbound_webhooks

API = "/api/v1"
TEXT = b"# Regioplan\n\nDe apotheken en praktijken werken samen.\n"


def test_the_per_organisation_rule_through_the_api(app, client, db):
    tag = unique("api-org")
    coordinator = membership.get_or_create_person(db, name="Coördinator", email=f"c-{tag}@example.org")
    network = membership.create_network(db, f"Cluster {tag}", coordinator=coordinator)
    _t, token = api_tokens.create_token(db, network, coordinator, role="coordinator", name="script")
    db.commit()
    headers = auth(token)
    n = network.id

    assert client.put(f"{API}/networks/{n}/decision-rule", json={"rule": "per_huis"}, headers=headers).status_code == 422
    answer = client.put(f"{API}/networks/{n}/decision-rule", json={"rule": "organisation"}, headers=headers)
    assert answer.status_code == 200 and answer.get_json()["decision_rule"] == "organisation"

    members = {}
    for organisation in ("Apotheek Noord", "Praktijk Zuid"):
        for who in ("rep", "collega"):
            added = client.post(f"{API}/networks/{n}/members", headers=headers, json={
                "name": f"{who} {organisation}", "email": f"{who}-{organisation.split()[1].lower()}-{tag}@example.org",
                "organisation": organisation, "role": "member"})
            assert added.status_code == 201
            members[(organisation, who)] = added.get_json()
    observer = client.post(f"{API}/networks/{n}/members", headers=headers, json={
        "name": "Waarnemer", "email": f"obs-{tag}@example.org", "organisation": "Praktijk Zuid", "role": "observer"})
    refused = client.put(f"{API}/members/{observer.get_json()['id']}/representative", json={"representative": True},
                         headers=headers)
    assert refused.status_code == 400 and refused.get_json()["code"] == "representative_needs_vote"
    for organisation in ("Apotheek Noord", "Praktijk Zuid"):
        marked = client.put(f"{API}/members/{members[(organisation, 'rep')]['id']}/representative",
                            json={"representative": True}, headers=headers)
        assert marked.status_code == 200 and marked.get_json()["representative"] is True

    document = client.post(f"{API}/networks/{n}/documents", headers=headers,
                           json={"kind": "regioplan", "title": "Regioplan"}).get_json()
    d = document["id"]
    assert document["decision_rule"] is None and document["effective_decision_rule"] == "organisation"
    uploaded = client.post(f"{API}/documents/{d}/versions", headers=headers,
                           data={"file": (io.BytesIO(TEXT), "plan.md")},
                           content_type="multipart/form-data")
    assert uploaded.status_code == 201
    # Before the first round the document may take its own rule, and go back to the network's.
    assert client.put(f"{API}/documents/{d}/decision-rule", json={"rule": "person"},
                      headers=headers).get_json()["effective_decision_rule"] == "person"
    assert client.put(f"{API}/documents/{d}/decision-rule", json={"rule": None},
                      headers=headers).get_json()["effective_decision_rule"] == "organisation"
    deadline = (utcnow() + dt.timedelta(days=7)).isoformat()
    opened = client.post(f"{API}/documents/{d}/rounds", json={"deadline": deadline}, headers=headers)
    assert opened.status_code == 201 and opened.get_json()["decision_rule"] == "organisation"
    round_id = opened.get_json()["id"]
    # Under the per-organisation rule the round's voters are the two organisations and the coordinator.
    assert opened.get_json()["voters"] == 3

    for body, where in (({"rule": "person"}, f"/documents/{d}"), ({"rule": "person"}, f"/networks/{n}")):
        refused = client.put(f"{API}{where}/decision-rule", json=body, headers=headers)
        assert refused.status_code == 409 and refused.get_json()["code"] == "decision_rule_round_open"

    fresh(db)
    tokens = {}
    for participant in db.scalars(select(Participant).where(Participant.round_id == round_id)):
        tokens[participant.person.email] = rounds.mint_link(db, participant.id)
    db.commit()

    def member_token(organisation: str, who: str) -> dict:
        return auth(tokens[members[(organisation, who)]["person"]["email"]])

    colleague = member_token("Praktijk Zuid", "collega")
    mine = client.get(f"{API}/participation", headers=colleague).get_json()
    assert mine["capacity"] == "colleague" and mine["organisation_view"]["verdict"] is None
    suggested = client.post(f"{API}/participation/verdicts", json={"value": "niet_akkoord", "reason": "Te vaag."},
                            headers=colleague)
    assert suggested.status_code == 201 and suggested.get_json()["suggestion"] is True
    rep = member_token("Praktijk Zuid", "rep")
    view = client.get(f"{API}/participation", headers=rep).get_json()
    assert view["capacity"] == "representative"
    assert [s["reason"] for s in view["organisation_view"]["suggestions"]] == ["Te vaag."]
    given = client.post(f"{API}/participation/verdicts", json={"value": "akkoord", "reason": ""}, headers=rep)
    assert given.status_code == 201
    assert given.get_json()["organisation_id"] == members[("Praktijk Zuid", "rep")]["organisation"]["id"]
    seen = client.get(f"{API}/participation", headers=colleague).get_json()["organisation_view"]["verdict"]
    assert seen["person_name"] == "rep Praktijk Zuid" and seen["value"] == "akkoord"

    standings = client.get(f"{API}/documents/{d}/standings", headers=headers).get_json()
    assert standings["decision_rule"] == "organisation" and not standings["unanimous"]
    by_name = {s["name"]: s for s in standings["standings"]}
    assert by_name["Praktijk Zuid"]["state"] == "akkoord" and by_name["Praktijk Zuid"]["given_by"] == "rep Praktijk Zuid"
    assert by_name["Apotheek Noord"]["state"] == "no_verdict" and by_name["Apotheek Noord"]["kind"] == "organisation"
    version_id = standings["version_id"]
    refused = client.post(f"{API}/documents/{d}/finalise", json={"version_id": version_id}, headers=headers)
    assert refused.status_code == 409 and {m["name"] for m in refused.get_json()["missing"]} == {
        "Apotheek Noord", "Coördinator"}

    assert client.post(f"{API}/participation/verdicts", json={"value": "akkoord", "reason": ""},
                       headers=member_token("Apotheek Noord", "rep")).status_code == 201
    assert client.post(f"{API}/participation/verdicts", json={"value": "akkoord", "reason": ""},
                       headers=auth(tokens[coordinator.email])).status_code == 201

    # The webhook payload of a verdict says which organisation it counts for, or that it is a suggestion.
    fresh(db)
    events = db.scalars(select(AuditEvent).where(AuditEvent.round_id == round_id,
                                                 AuditEvent.kind == "verdict_given").order_by(AuditEvent.id)).all()
    payloads = [outbound_webhooks._event_data(db, event) for event in events]
    assert [p["verdict"]["suggestion"] for p in payloads] == [True, False, False, False]
    assert payloads[1]["verdict"]["organisation_id"] == given.get_json()["organisation_id"]
    assert payloads[-1]["round"]["decision_rule"] == "organisation"
    assert payloads[-1]["round"]["voters"] == 3 and payloads[-1]["round"]["without_verdict"] == 0

    done = client.post(f"{API}/documents/{d}/finalise", json={"version_id": version_id}, headers=headers)
    assert done.status_code == 200, done.get_json()
    fresh(db)
    assert db.get(Round, round_id).status == "closed"
    assert client.put(f"{API}/documents/{d}/decision-rule", json={"rule": "person"},
                      headers=headers).get_json()["code"] in ("already_final", "decision_rule_after_first_round")
