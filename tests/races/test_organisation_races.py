"""Races under the per-organisation rule on a real gunicorn server: one representative of an organisation switches
its verdict to niet akkoord while the coordinator finalises (DESIGN invariant 2 per organisation), and a
coordinator switches a document's rule while another opens its first round."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from storage.database.models import Document, Membership, Network, Round, utcnow
from tests.factories import make_document, open_round, participant, unique
from tests.races.checks import check_document, check_outbox_handed_over
from tests.races.conftest import expect
from tests.races.harness import api
from tests.races.test_api_races import both_happened, no_deadlocks, run_races
from workflows.domain import api_tokens, decisions, membership, rounds

VERDICT = ("POST", "/participation/verdicts")
FINALISE = ("POST", "/documents/{document_id}/finalise")
RULE = ("PUT", "/documents/{document_id}/decision-rule")
OPEN = ("POST", "/documents/{document_id}/rounds")


@dataclass
class Parties:
    """A network deciding per organisation: three organisations with two representatives and a colleague each."""

    network: Network
    coordinator: object
    members: list[Membership]
    coordinator_token: str
    second_coordinator_token: str


@pytest.fixture
def parties(app, db, race_server) -> Parties:
    tag = unique("race-org")
    coordinator = membership.get_or_create_person(db, name="Coördinator", email=f"c-{tag}@example.org")
    network = membership.create_network(db, f"Regio {tag}", coordinator=coordinator)
    second = membership.add_member(db, network, name="Tweede coördinator", email=f"c2-{tag}@example.org",
                                   organisation_name="", role="coordinator", actor=coordinator)
    decisions.set_network_rule(db, network, "organisation", actor=coordinator)
    members = []
    for practice in "ABC":
        for who in ("rep1", "rep2", "collega"):
            member = membership.add_member(db, network, name=f"{who} {practice}", email=f"{practice}{who}-{tag}@example.org",
                                           organisation_name=f"Praktijk {practice}", role="member", actor=coordinator)
            if who != "collega":
                decisions.set_representative(db, member, True, actor=coordinator)
            members.append(member)
    _t, token = api_tokens.create_token(db, network, coordinator, role="coordinator", name="races")
    _t, second_token = api_tokens.create_token(db, network, second.person, role="coordinator", name="races")
    db.commit()
    return Parties(network, coordinator, members, token, second_token)


def test_a_representative_switching_to_niet_akkoord_racing_finalising(app, db, race_server, parties, deadlocks):
    """Every organisation agreed (through its first representative), the coordinators for themselves; A's second
    representative says niet akkoord while the coordinator finalises. Exactly one wins."""

    def build():
        document, version = make_document(db, parties.network, parties.coordinator)
        round_ = open_round(db, document, parties.coordinator)
        voters = [m for m in parties.members if m.name.startswith("rep1")]
        voters += list(db.scalars(select(Membership).where(Membership.network_id == parties.network.id,
                                                           Membership.role == "coordinator")))
        for voter in voters:
            rounds.record_verdict(db, participant(db, round_, voter), value="akkoord", reason="",
                                  evidence=rounds.Evidence())
        switcher = participant(db, round_, next(m for m in parties.members if m.name == "rep2 A"))
        token = rounds.mint_link(db, switcher.id)
        db.commit()
        verdict = api(*VERDICT, token, {"value": "niet_akkoord", "reason": "Praktijk A wil nog praten."},
                      label="niet akkoord")
        finalise = api("POST", f"/documents/{document.id}/finalise", parties.coordinator_token,
                       {"version_id": version.id}, label="finalise")
        return document, verdict, finalise

    def judge(document, verdict, finalise):
        expect(app, race_server, verdict, VERDICT, {201: None, 409: {"round_closed"}})
        expect(app, race_server, finalise, FINALISE, {200: None, 409: {"not_unanimous"}})
        assert (verdict.status == 201) != (finalise.status == 200), f"both or neither won: {verdict} / {finalise}"
        check_document(db, document.id)  # invariant 2, counted per organisation
        assert (db.get(Document, document.id).status == "final") == (finalise.status == 200)
        if verdict.status == 201:
            assert [m["name"] for m in finalise.json()["missing"]] == ["Praktijk A"]
            return "niet akkoord first"
        return "finalise first"

    tally = run_races(race_server, build, judge, "representative's niet akkoord vs finalise")
    both_happened(tally, "niet akkoord first", "finalise first")
    check_outbox_handed_over(db, parties.network.id)
    no_deadlocks(deadlocks, tally)


def test_switching_a_documents_rule_racing_its_first_round(app, db, race_server, parties, deadlocks):
    """One coordinator sets the document's rule to per person while the other opens its first round: either the
    rule is set first and the round decides per person, or the round opens per organisation and the rule is
    refused (409). Never a round whose rule differs from the document's."""

    def build():
        document, _version = make_document(db, parties.network, parties.coordinator)
        db.commit()
        rule = api("PUT", f"/documents/{document.id}/decision-rule", parties.second_coordinator_token,
                   {"rule": "person"}, label="rule")
        opening = api("POST", f"/documents/{document.id}/rounds", parties.coordinator_token,
                      {"deadline": (utcnow() + dt.timedelta(days=7)).isoformat()}, label="open")
        return document, rule, opening

    def judge(document, rule, opening):
        expect(app, race_server, rule, RULE, {200: None, 409: {"decision_rule_round_open"}})
        expect(app, race_server, opening, OPEN, {201: None})
        check_document(db, document.id)
        round_ = db.scalar(select(Round).where(Round.document_id == document.id))
        stored = db.get(Document, document.id).decision_rule
        if rule.status == 200:
            assert stored == "person" and round_.decision_rule == "person"
            return "rule first"
        assert stored is None and round_.decision_rule == "organisation"
        return "round first"

    tally = run_races(race_server, build, judge, "rule vs first round")
    both_happened(tally, "rule first", "round first")
    check_outbox_handed_over(db, parties.network.id)
    no_deadlocks(deadlocks, tally)
