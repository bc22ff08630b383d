"""Finalising: only on everyone's akkoord to exactly that version, checked under a lock (invariant 2)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from storage.database.models import Document, Finalisation, MailMessage, Participant, Version
from tests.factories import make_document, make_network, open_round, participant
from workflows.domain import documents, finalising, membership, rounds
from workflows.errors import AlreadyFinal, NotUnanimous, StaleVersion


def everyone_says(db, round_, value="akkoord", skip=()):
    for voter in db.scalars(select(Participant).where(Participant.round_id == round_.id)):
        if voter.can_vote and voter.person_id not in skip:
            rounds.record_verdict(db, voter, value=value, reason="prima" if value != "akkoord" else "",
                                  evidence=rounds.Evidence())


def test_finalising_without_everyone_says_who_is_missing_and_changes_nothing(db):
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    everyone_says(db, round_, skip={people[1].person_id})
    with pytest.raises(NotUnanimous) as error:
        finalising.finalise_document(db, document, version, actor=coordinator)
    assert [name for name, _org, _state in error.value.params["missing"]] == [people[1].person.name]
    assert error.value.params["missing"][0][2] == "no_verdict"
    assert document.status == "in_review" and db.scalar(select(func.count()).select_from(Finalisation).where(
        Finalisation.document_id == document.id)) == 0


def test_niet_akkoord_blocks_and_akkoord_met_opmerkingen_counts_as_agreement(db):
    network, coordinator, people = make_network(db, members=1)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    everyone_says(db, round_, value="akkoord_met_opmerkingen")
    member = participant(db, round_, people[1])
    rounds.record_verdict(db, member, value="niet_akkoord", reason="Nee", evidence=rounds.Evidence())
    with pytest.raises(NotUnanimous):
        finalising.finalise_document(db, document, version, actor=coordinator)
    rounds.record_verdict(db, member, value="akkoord_met_opmerkingen", reason="Kleine punten", evidence=rounds.Evidence())
    finalising.finalise_document(db, document, version, actor=coordinator)
    assert document.status == "final" and document.final_version_id == version.id
    assert round_.status == "closed" and round_.close_reason == "finalised"


def test_a_final_document_is_frozen_and_everyone_gets_it(db):
    network, coordinator, people = make_network(db, members=2, observers=1)
    document, version = make_document(db, network, coordinator)
    everyone_says(db, open_round(db, document, coordinator))
    finalising.finalise_document(db, document, version, actor=coordinator)
    finals = db.scalars(select(MailMessage).where(MailMessage.email == "final_document",
                                                    MailMessage.params["document_id"].as_integer() == document.id)).all()
    assert len(finals) == 5  # observers receive the final document too
    with pytest.raises(AlreadyFinal):
        documents.upload_version(db, document, filename="x.md", data=b"Nieuwe tekst", change_note="", actor=coordinator)
    with pytest.raises(AlreadyFinal):
        open_round(db, document, coordinator)
    with pytest.raises(AlreadyFinal):
        finalising.finalise_document(db, document, version, actor=coordinator)


def test_only_the_latest_version_can_be_finalised(db):
    network, coordinator, _ = make_network(db, members=1)
    document, v1 = make_document(db, network, coordinator)
    everyone_says(db, open_round(db, document, coordinator))
    documents.upload_version(db, document, filename="v2.md", data=b"Tweede versie", change_note="", actor=coordinator)
    with pytest.raises(StaleVersion):
        finalising.finalise_document(db, document, v1, actor=coordinator)


def test_a_member_who_joined_after_the_round_blocks_until_they_agree_and_one_who_left_does_not_count(db):
    network, coordinator, people = make_network(db, members=1)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    everyone_says(db, round_)
    rounds.close_round(db, round_, actor=coordinator)
    newcomer = membership.add_member(db, network, name="Laat Lid", email="laat@example.org", organisation_name="",
                                     role="member", actor=coordinator)
    with pytest.raises(NotUnanimous) as error:
        finalising.finalise_document(db, document, version, actor=coordinator)
    assert error.value.params["missing"] == [("Laat Lid", "", "not_invited")]
    membership.remove_member(db, newcomer, actor=coordinator)
    finalising.finalise_document(db, document, version, actor=coordinator)
    assert document.status == "final"


def test_two_coordinators_finalising_at_the_same_moment_exactly_one_succeeds(app, db):
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    everyone_says(db, open_round(db, document, coordinator))
    db.commit()
    factory = app.extensions["akkoord_sessions"]
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt():
        with factory() as session:
            barrier.wait()
            try:
                finalising.finalise_document(session, session.get(Document, document.id), session.get(Version, version.id),
                                             actor=coordinator)
                session.commit()
                outcomes.append("final")
            except AlreadyFinal:
                session.rollback()
                outcomes.append("already_final")

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["already_final", "final"]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Finalisation).where(Finalisation.document_id == document.id)) == 1


def test_the_database_allows_one_finalisation_per_document(db):
    network, coordinator, _ = make_network(db, members=1)
    document, version = make_document(db, network, coordinator)
    everyone_says(db, open_round(db, document, coordinator))
    finalising.finalise_document(db, document, version, actor=coordinator)
    db.flush()
    with pytest.raises(IntegrityError):
        db.execute(text("INSERT INTO finalisations (document_id, version_id, content_hash, finalised_by_id, finalised_at) "
                        "VALUES (:d, :v, 'x', :p, CURRENT_TIMESTAMP)"), {"d": document.id, "v": version.id, "p": coordinator.id})
    db.rollback()


def test_the_approval_annex_keeps_who_agreed_at_finalisation(db):
    import io

    import docx

    from workflows.domain import exports

    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    everyone_says(db, open_round(db, document, coordinator))
    finalising.finalise_document(db, document, version, actor=coordinator)
    db.commit()  # the annex reads the approvals from the audit chain
    leaver = people[1]
    membership.remove_member(db, leaver, actor=coordinator)
    membership.add_member(db, network, name="Na Afloop", email="na-afloop@example.org", organisation_name="",
                          role="member", actor=coordinator)
    _filename, data = exports.final_docx(db, document)
    table = docx.Document(io.BytesIO(data)).tables[-1]
    names = [row.cells[0].text for row in table.rows[1:]]
    assert leaver.person.name in names and "Na Afloop" not in names
    assert len(names) == 4  # coordinator, editor, two members: as they were when it was made final
