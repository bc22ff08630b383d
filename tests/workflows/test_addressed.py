"""A new version names the comments it addresses: by their numbers in the commentaartabel, or all taken over."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.database.models import AuditEvent, Version, VersionAddress
from tests.factories import DRAFT_TEXT, make_document, make_network, open_round, participant
from workflows.domain import commentaartabel, comments, documents, rounds
from workflows.errors import InvalidInput


def test_comment_numbers_are_read_as_a_person_writes_them():
    assert comments.parse_numbers("3, 7, 12-15") == [3, 7, 12, 13, 14, 15]
    assert comments.parse_numbers("1;2 2  4") == [1, 2, 4]
    assert comments.parse_numbers("") == []
    for wrong in ("drie", "0", "5-2", "1-", "-3", "1-100000"):
        with pytest.raises(InvalidInput) as refused:
            comments.parse_numbers(wrong)
        assert refused.value.code == "bad_comment_numbers"


@pytest.fixture
def round_with_comments(db):
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    first, second = participant(db, round_, people[1]), participant(db, round_, people[2])
    made = [rounds.add_comment(db, who, body=f"Punt {n}") for n, who in enumerate((first, second, first, second), 1)]
    rounds.add_reply(db, made[0].id, body="Een reactie telt niet mee", participant=second)
    comments.process_comment(db, made[1], disposition="overgenomen", answer="", actor=coordinator)
    comments.process_comment(db, made[2], disposition="deels_overgenomen", answer="Deels.", actor=coordinator)
    comments.process_comment(db, made[3], disposition="niet_overgenomen", answer="Nee.", actor=coordinator)
    return document, round_, made, coordinator


def test_numbers_are_those_of_the_commentaartabel(db, round_with_comments):
    document, round_, made, coordinator = round_with_comments
    rows = commentaartabel.rows_for_round(db, round_.id)
    assert [row.comment for row in rows] == ["Punt 1", "Punt 2", "Punt 3", "Punt 4"]
    assert comments.chosen_comments(db, round_, numbers="4, 1") == [made[3].id, made[0].id]
    assert comments.chosen_comments(db, round_, taken_over=True) == [made[1].id, made[2].id]
    assert comments.chosen_comments(db, round_, numbers="2", taken_over=True) == [made[1].id, made[2].id]


def test_a_number_beyond_the_table_is_refused_with_the_tables_size(db, round_with_comments):
    document, round_, made, coordinator = round_with_comments
    with pytest.raises(InvalidInput) as refused:
        comments.chosen_comments(db, round_, numbers="2, 9")
    assert refused.value.code == "unknown_comment_numbers" and refused.value.params["count"] == 4


def test_a_new_version_records_the_comments_it_addresses_and_each_comment_knows_its_versions(db, round_with_comments):
    document, round_, made, coordinator = round_with_comments
    chosen = comments.chosen_comments(db, round_, numbers="1", taken_over=True)
    version = documents.upload_version(db, document, filename="v2.md", data=(DRAFT_TEXT + "\nNieuw.\n").encode(),
                                       change_note="verwerkt", actor=coordinator, addresses=chosen)
    addressed = comments.addressed_by(db, version.id)
    assert [(a.number, a.comment.body) for a in addressed] == [(1, "Punt 1"), (2, "Punt 2"), (3, "Punt 3")]
    assert comments.addressed_in(db, [c.id for c in made]) == {made[0].id: [2], made[1].id: [2], made[2].id: [2]}
    db.commit()  # events join the audit chain when their transaction commits
    event = db.scalar(select(AuditEvent).where(AuditEvent.kind == "version_uploaded",
                                               AuditEvent.data["version_id"].as_integer() == version.id))
    assert event.data["addresses"] == 3


def test_a_version_cannot_address_a_reply_or_a_comment_of_another_document(db, round_with_comments):
    document, round_, made, coordinator = round_with_comments
    thread_reply = rounds.add_reply(db, made[0].id, body="Nog een reactie", staff=coordinator)
    other_document, _ = make_document(db, document.network, coordinator)
    db.commit()
    versions_before = db.scalar(select(func.count(Version.id)))
    attempts = [(document, [thread_reply.id]), (document, [made[0].id, 10**9]), (other_document, [made[0].id])]
    for target, wrong in attempts:
        with pytest.raises(InvalidInput) as refused:
            documents.upload_version(db, target, filename="v2.md", data=b"# Tekst\n\nAnders.\n", change_note="",
                                     actor=coordinator, addresses=wrong)
        assert refused.value.code == "unknown_comment"
        db.rollback()
    assert db.scalar(select(func.count(Version.id))) == versions_before
    assert db.scalar(select(func.count()).select_from(VersionAddress)
                     .where(VersionAddress.comment_id.in_([c.id for c in made] + [thread_reply.id]))) == 0
