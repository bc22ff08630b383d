"""Where everyone stands on a version, counted in SQL (`finalising.agreement`, `person_approvals`), says what the full
list of `finalising.parties` says: the same counts, the same states, those without akkoord first."""

from __future__ import annotations

from sqlalchemy import select

from storage.database.models import Participant
from tests.factories import make_document, make_network, open_round, participant
from workflows.domain import finalising, membership, rounds


def _compare(db, document, version, limit: int = 50):
    full = finalising.parties(db, document, version)
    counted = finalising.agreement(db, document, version, limit=limit)
    assert (counted.total, counted.approving) == (len(full), sum(1 for p in full if p.approves))
    assert counted.unanimous == (bool(full) and all(p.approves for p in full))
    expected = ([p for p in full if not p.approves] + [p for p in full if p.approves])[:limit]
    assert [(p.membership.id, p.state, p.verdict.id if p.verdict else None) for p in counted.first] == \
        [(p.membership.id, p.state, p.verdict.id if p.verdict else None) for p in expected]
    assert finalising.person_approvals(db, [version.id]).get(version.id, (0, 0)) == (counted.total, counted.approving)
    return counted


def test_the_counts_and_the_first_page_agree_with_the_full_list_through_two_rounds_on_one_version(db):
    network, coordinator, people = make_network(db, members=7, observers=1)
    document, version = make_document(db, network, coordinator)
    assert _compare(db, document, version).first[0].state == "not_invited"  # no round yet: nobody was asked
    first = open_round(db, document, coordinator)
    values = ["akkoord", "niet_akkoord", "akkoord_met_opmerkingen", "akkoord"]
    for member, value in zip(people[1:5], values, strict=True):
        rounds.record_verdict(db, participant(db, first, member), value=value,
                              reason="Nog niet." if value == "niet_akkoord" else "", evidence=rounds.Evidence())
    _compare(db, document, version)
    rounds.close_round(db, first, actor=coordinator)
    # A second round on the same version: a new verdict overrides the first; without one, the first still counts.
    second = open_round(db, document, coordinator)
    rounds.record_verdict(db, participant(db, second, people[2]), value="akkoord", reason="",
                          evidence=rounds.Evidence())
    # Someone who joins during the round is asked in it; the first page holds those without akkoord.
    asked = membership.add_member(db, network, name="Nieuw lid", email="nieuw@example.org", organisation_name="",
                                  role="member", actor=coordinator)
    db.flush()
    counted = _compare(db, document, version, limit=3)
    states = {p.membership.id: p.state for p in finalising.parties(db, document, version)}
    assert states[people[2].id] == "akkoord" and states[people[1].id] == "akkoord" and states[asked.id] == "no_verdict"
    assert len(counted.first) == 3 and not any(p.approves for p in counted.first)
    # Everyone with a vote says akkoord; then someone joins after the last round on the version: not asked.
    for voter in db.scalars(select(Participant).where(Participant.round_id == second.id, Participant.can_vote)):
        if voter.current_verdict_id is None:
            rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    rounds.close_round(db, second, actor=coordinator)
    assert _compare(db, document, version).unanimous
    late = membership.add_member(db, network, name="Later lid", email="later@example.org", organisation_name="",
                                 role="member", actor=coordinator)
    db.flush()
    counted = _compare(db, document, version)
    assert not counted.unanimous and [(p.membership.id, p.state) for p in counted.first][0] == (late.id, "not_invited")
    # A member who leaves no longer counts.
    membership.remove_member(db, late, actor=coordinator)
    db.flush()
    assert _compare(db, document, version).unanimous


def test_many_versions_are_counted_in_one_statement_each_against_its_own_network(db):
    one, coordinator_one, _people = make_network(db, members=2)
    two, coordinator_two, _people = make_network(db, members=5)
    document_one, version_one = make_document(db, one, coordinator_one)
    document_two, version_two = make_document(db, two, coordinator_two)
    open_round(db, document_one, coordinator_one)
    assert finalising.person_approvals(db, [version_one.id, version_two.id]) == {
        version_one.id: (len(finalising.parties(db, document_one, version_one)), 0),
        version_two.id: (len(finalising.parties(db, document_two, version_two)), 0),
    }
