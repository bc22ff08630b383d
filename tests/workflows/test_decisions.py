"""Decision rules in the workflows: who may set them when, representatives, verdicts and suggestions, who counts
(organisations without a vote or that left do not; people without an organisation decide for themselves), and
the standings and the finalisation check in a constant number of SQL statements."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from storage.database.models import AuditEvent, Membership, Organisation, utcnow
from tests.factories import fresh, make_document, open_round, participant, unique
from workflows.domain import decisions, finalising, membership, reminders, rounds, timeline
from workflows.errors import Conflict, InvalidInput, NotAllowed, NotUnanimous


def organisation_network(db, practices: int = 3, *, representatives: int = 2, colleagues: int = 1):
    """A network deciding per organisation, its coordinator (without an organisation) and its members by practice."""
    tag = unique("dec")
    coordinator = membership.get_or_create_person(db, name="Coördinator", email=f"c-{tag}@example.org")
    network = membership.create_network(db, f"Regio {tag}", coordinator=coordinator)
    decisions.set_network_rule(db, network, "organisation", actor=coordinator)
    by_practice: dict[str, list[Membership]] = {}
    for p in range(practices):
        name = f"Praktijk {p} {tag}"
        for i in range(representatives + colleagues):
            member = membership.add_member(db, network, name=f"Huisarts {i} van {p}", email=f"h{i}-{p}-{tag}@example.org",
                                           organisation_name=name, role="member", actor=coordinator)
            if i < representatives:
                decisions.set_representative(db, member, True, actor=coordinator)
            by_practice.setdefault(name, []).append(member)
    return network, coordinator, by_practice


def say(db, round_, member, value="akkoord", reason=""):
    return rounds.record_verdict(db, participant(db, round_, member), value=value, reason=reason,
                                 evidence=rounds.Evidence())


def coordinator_membership(db, network, coordinator):
    return db.scalar(select(Membership).where(Membership.network_id == network.id,
                                              Membership.person_id == coordinator.id))


def test_representatives_give_the_verdict_and_colleagues_suggest(app, db):
    network, coordinator, practices = organisation_network(db)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    assert round_.decision_rule == "organisation"
    (a_name, a), (b_name, b), (c_name, c) = practices.items()
    suggestion = say(db, round_, a[2], "niet_akkoord", "Nee.")
    assert suggestion.suggestion and suggestion.organisation_id is None
    given = say(db, round_, a[0])
    assert given.organisation_id == a[0].organisation_id and not given.suggestion
    standing = {p.name: p for p in finalising.parties(db, document, version)}
    assert standing[a_name].state == "akkoord" and standing[a_name].verdict.id == given.id
    assert standing[b_name].state == "no_verdict" and standing["Coördinator"].membership is not None
    # The last verdict among the representatives counts.
    say(db, round_, a[1], "niet_akkoord", "Toch niet.")
    assert {p.name: p.state for p in finalising.parties(db, document, version)}[a_name] == "niet_akkoord"
    view = decisions.internal_view(db, participant(db, round_, a[0]))
    assert view.verdict.person_name == "Huisarts 1 van 0" and [n for n, _v in view.suggestions] == ["Huisarts 2 van 0"]
    # Reminders: the representatives of B and C, and the coordinator; not A's people, nor colleagues.
    undecided = {p.person_id for p in decisions.undecided(db, round_)}
    assert undecided == {m.person_id for m in (*b[:2], *c[:2])} | {coordinator.id}
    summary = rounds.summary(db, round_)
    assert (summary.voters, summary.decided, summary.counts["niet_akkoord"]) == (4, 1, 1)
    assert set(summary.silent) == {b_name, c_name, "Coördinator"}
    opened = next(e for e in timeline.timeline(db, document) if e.kind == "round_opened")
    assert (opened.figures.voters, opened.figures.decided) == (4, 1)  # the document's timeline counts parties too
    assert reminders.send_now(db, round_, actor=coordinator) == 5


def test_finalising_waits_for_every_counting_organisation(app, db):
    network, coordinator, practices = organisation_network(db)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    (a_name, a), (b_name, b), (c_name, c) = practices.items()
    say(db, round_, coordinator_membership(db, network, coordinator))
    say(db, round_, a[0])
    say(db, round_, b[1], "akkoord_met_opmerkingen", "Kleine punten.")
    for member in (c[2], a[2], b[2]):
        say(db, round_, member)  # colleagues' suggestions count for nothing
    with pytest.raises(NotUnanimous) as refused:
        finalising.finalise_document(db, document, version, actor=coordinator)
    assert refused.value.params["missing"] == [(c_name, c_name, "no_verdict")]
    # An organisation without a vote does not count, nor may its people give a verdict (they comment).
    organisation = db.get(Organisation, c[0].organisation_id)
    organisation.has_vote = False
    with pytest.raises(NotAllowed) as no_vote:
        say(db, round_, c[0])
    assert no_vote.value.code == "organisation_no_vote"
    assert decisions.capacity(round_, participant(db, round_, c[0])) == decisions.NO_VOTE
    finalising.finalise_document(db, document, version, actor=coordinator)
    db.commit()
    approvals = db.scalar(select(AuditEvent).where(AuditEvent.kind == "document_finalised",
                                                   AuditEvent.document_id == document.id)).data["approvals"]
    assert sorted("organisation_id" in a for a in approvals) == [False, True, True]


def test_an_organisation_that_left_or_has_no_representative(app, db):
    network, coordinator, practices = organisation_network(db, practices=2, representatives=1)
    (a_name, a), (b_name, b) = practices.items()
    decisions.set_representative(db, b[0], False, actor=coordinator)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    states = {p.name: p.state for p in finalising.parties(db, document, version)}
    assert states[b_name] == "no_representative"
    say(db, round_, a[0])
    say(db, round_, coordinator_membership(db, network, coordinator))
    db.get(Organisation, b[0].organisation_id).left_at = utcnow()
    assert all(p.approves for p in finalising.parties(db, document, version))


def test_who_may_set_the_rule_and_represent(app, db):
    network, coordinator, practices = organisation_network(db, practices=1)
    members = next(iter(practices.values()))
    observer = membership.add_member(db, network, name="Waarnemer", email=f"w-{unique('o')}@example.org",
                                     organisation_name="Praktijk X", role="observer", actor=coordinator)
    with pytest.raises(InvalidInput, match="representative_needs_vote"):
        decisions.set_representative(db, observer, True, actor=coordinator)
    with pytest.raises(InvalidInput, match="representative_needs_organisation"):
        decisions.set_representative(db, coordinator_membership(db, network, coordinator), True, actor=coordinator)
    with pytest.raises(InvalidInput, match="unknown_decision_rule"):
        decisions.set_network_rule(db, network, "per_huis", actor=coordinator)
    document, version = make_document(db, network, coordinator)
    decisions.set_document_rule(db, document, "person", actor=coordinator)
    round_ = open_round(db, document, coordinator)
    assert round_.decision_rule == "person"  # the document's own rule
    assert not say(db, round_, members[2]).suggestion  # per person, everyone decides for themselves
    with pytest.raises(Conflict, match="decision_rule_round_open"):
        decisions.set_document_rule(db, document, "organisation", actor=coordinator)
    # The network's rule may change while that round is open: the document has its own.
    decisions.set_network_rule(db, network, "person", actor=coordinator)
    rounds.close_round(db, round_, actor=coordinator)
    with pytest.raises(Conflict, match="decision_rule_after_first_round"):
        decisions.set_document_rule(db, document, None, actor=coordinator)
    db.commit()
    kinds = [e.kind for e in db.scalars(select(AuditEvent).where(AuditEvent.network_id == network.id)
                                        .order_by(AuditEvent.seq))]
    assert kinds.count("decision_rule_set") == 3 and kinds.count("representative_set") == 2


class Statements:
    def __init__(self, db):
        self.engine = db.get_bind()
        self.count = 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._one)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._one)

    def _one(self, *args, **kwargs):
        self.count += 1


@pytest.mark.parametrize("rule", ["organisation", "person"])
def test_the_standings_and_the_check_take_a_constant_number_of_statements(app, db, rule):
    counted = []
    for practices in (3, 24):
        network, coordinator, by_practice = organisation_network(db, practices=practices)
        decisions.set_network_rule(db, network, rule, actor=coordinator)
        document, version = make_document(db, network, coordinator)
        round_ = open_round(db, document, coordinator)
        for members in by_practice.values():
            for member in members:
                say(db, round_, member)
        db.commit()
        fresh(db)
        with Statements(db) as statements:
            parties = finalising.parties(db, document, version)
        assert len(parties) == (practices + 1 if rule == "organisation" else 3 * practices + 1)
        counted.append(statements.count)
    assert counted[0] == counted[1], f"statements grow with the network: {counted}"
