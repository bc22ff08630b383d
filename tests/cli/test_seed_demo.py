"""seed-demo: the demo zorgnetwerk decides per organisation (a patiëntenorganisatie and an expertisecentrum in its
kerngroep, representatives, its own record), a second demo network decides per person; running it twice adds
nothing. The demo zorgnetwerk has held a meeting with minutes (two decisions, open action points, who came) and plans
the next one with its agenda; the cluster's open round has proposals, one of them taken, and a returned Word file."""

from __future__ import annotations

from sqlalchemy import func, select

from service.cli import DEMO_CLUSTER, DEMO_NETWORK
from storage.blocks import block_text
from storage.database.models import Comment, Document, Membership, Network, Organisation, ReturnedFile, Round
from tests.factories import fresh
from tests.storage.tracked_changes import accepted
from workflows.domain import meetings, minutes, network_record, proposals


def test_seed_demo_makes_both_decision_rules_and_a_complete_record(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("Sign in as the demo coordinator")
    fresh(db)
    zorgnetwerk = db.scalar(select(Network).where(Network.name == DEMO_NETWORK))
    cluster = db.scalar(select(Network).where(Network.name == DEMO_CLUSTER))
    assert zorgnetwerk.decision_rule == "organisation" and cluster.decision_rule == "person"
    assert zorgnetwerk.purpose and zorgnetwerk.target_group and zorgnetwerk.privacy_statement
    kinds = {o.name: o.kind for o in db.scalars(select(Organisation).where(Organisation.network_id == zorgnetwerk.id))}
    assert kinds["Patiëntenvereniging Noord"] == "patientenorganisatie"
    assert kinds["Expertisecentrum UMC Noord"] == "expertisecentrum"
    assert all(o.joined_at and o.joined_reference for o in db.scalars(
        select(Organisation).where(Organisation.network_id == zorgnetwerk.id)))
    board = network_record.board_members(db, zorgnetwerk.id)
    assert {m.organisation.kind for m in board} == {"patientenorganisatie", "expertisecentrum"}
    # Every organisation with people and a vote has a representative; the kerngroep checks find nothing missing.
    represented = set(db.scalars(select(Membership.organisation_id).where(
        Membership.network_id == zorgnetwerk.id, Membership.representative.is_(True))))
    with_people = set(db.scalars(select(Membership.organisation_id).where(
        Membership.network_id == zorgnetwerk.id, Membership.organisation_id.is_not(None))))
    assert with_people and with_people <= represented
    # Each board is asked what the handbooks ask of its kind, and both demos have it all: no warning at all.
    assert (zorgnetwerk.board_kind, cluster.board_kind) == ("kerngroep", "bestuur")
    assert network_record.warnings(db, zorgnetwerk.id) == []
    # The cluster's bestuur: four people, two disciplines equally.
    assert network_record.warnings(db, cluster.id) == []
    # Its meetings: one held, with minutes; one to come, with an agenda whose standing item lists the open points.
    upcoming, past = meetings.of_network(db, zorgnetwerk.id)
    [held], [coming] = past, upcoming
    agenda = meetings.agenda_entries(db, held)
    record = minutes.minutes(db, held, [e.item.id for e in agenda])
    assert sum(len(found) for found in record.decisions.values()) == 2
    assert [e.action.status for e in record.actions] == ["open"] * 3
    assert any(e.overdue for e in record.actions)
    assert record.present.count == 4
    assert len(meetings.agenda_entries(db, coming)) == 2 and coming.invited_at is None
    assert len(minutes.open_before(db, coming)) == 3
    # The cluster's open round has proposals (two on the same words, one taken) and a returned Word file.
    round_ = db.scalar(select(Round).join(Document).where(Document.network_id == cluster.id, Round.status == "open"))
    found = proposals.of_round(db, round_.id)
    assert len(found) == 3 and len(proposals.collisions(db, round_.id)) == 2
    assert [p.taken_text for p in found if p.taken_text is not None] == ["dezelfde dag"]
    returned = db.scalar(select(ReturnedFile).where(ReturnedFile.round_id == round_.id))
    assert returned.submitted_at is not None
    assert db.scalar(select(func.count(Comment.id)).where(Comment.returned_file_id == returned.id)) == 2
    _name, draft = proposals.draft_docx(db, round_)
    assert any("dezelfde dag" in block_text(b) for b in accepted(draft))
    # Idempotent.
    before = db.scalar(select(func.count()).select_from(Organisation))
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    fresh(db)
    assert db.scalar(select(func.count()).select_from(Organisation)) == before
    assert db.scalar(select(func.count()).select_from(Network).where(Network.name.in_((DEMO_NETWORK, DEMO_CLUSTER)))) == 2
