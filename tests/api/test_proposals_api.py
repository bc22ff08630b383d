"""The API's side of proposals: a member posts a comment with a type and proposed wording; comments read back
carry kind, proposed_text and taken_text; refusals are problem+json naming the field."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.blocks import block_text
from storage.database.models import Comment
from tests.api.conftest import auth
from tests.factories import fresh
from workflows.domain import comments

API = "/api/v1"
PASSAGE = "De partijen werken samen aan goede en tijdige zorg voor mensen met een zeldzame aandoening."


def passage(world) -> dict:
    return next(b for b in world.second.blocks if block_text(b) == PASSAGE)


def count(db, world) -> int:
    fresh(db)
    return db.scalar(select(func.count(Comment.id)).where(Comment.round_id == world.round.id))


def test_a_member_proposes_wording_with_a_type_and_reads_it_back(client, db, world):
    headers = auth(world.member_token)
    block = passage(world)
    start = PASSAGE.index("tijdige")
    posted = client.post(f"{API}/participation/comments", headers=headers, json={
        "block_id": block["id"], "start": start, "end": start + 7, "selected": "tijdige",
        "proposed_text": "snelle", "kind": "editorial"})
    assert posted.status_code == 201, posted.get_data(as_text=True)
    proposal = posted.get_json()
    assert (proposal["quote"], proposal["proposed_text"], proposal["kind"], proposal["body"]) == (
        "tijdige", "snelle", "editorial", "")
    assert proposal["start_offset"] == start and proposal["taken_text"] is None

    plain = client.post(f"{API}/participation/comments", headers=headers, json={"body": "Helder."}).get_json()
    assert (plain["kind"], plain["proposed_text"], plain["taken_text"]) == ("general", None, None)

    listed = {c["id"]: c for c in client.get(f"{API}/participation/comments", headers=headers).get_json()["items"]}
    assert listed[proposal["id"]]["proposed_text"] == "snelle" and listed[proposal["id"]]["kind"] == "editorial"

    # The project group takes it edited; the staff list and the member's list both say so.
    fresh(db)
    comments.process_comment(db, db.get(Comment, proposal["id"]), disposition="deels_overgenomen",
                             answer="Tijdig en snel.", actor=world.coordinator, taken_text="tijdige en snelle")
    db.commit()
    staff = client.get(f"{API}/rounds/{world.round.id}/comments", headers=auth(world.coordinator_token)).get_json()
    [taken] = [c for c in staff["items"] if c["id"] == proposal["id"]]
    assert taken["taken_text"] == "tijdige en snelle" and taken["disposition"] == "deels_overgenomen"
    mine = client.get(f"{API}/participation/comments", headers=headers).get_json()["items"]
    assert [c["taken_text"] for c in mine if c["id"] == proposal["id"]] == ["tijdige en snelle"]


def test_refused_proposals_are_problems_naming_the_field_and_change_nothing(client, db, world):
    headers = auth(world.member_token)
    block = passage(world)
    start = PASSAGE.index("tijdige")
    url = f"{API}/participation/comments"
    before = count(db, world)
    cases = [
        ({"block_id": block["id"], "start": start, "end": start + 7, "selected": "tijdige",
          "proposed_text": "tijdige"}, 400, "proposed_text", "proposal_unchanged"),
        ({"proposed_text": "Iets anders."}, 400, "block_id", "proposal_needs_passage"),
        ({"block_id": block["id"], "body": ""}, 400, "body", "comment_required"),
        ({"body": "x", "kind": "urgent"}, 422, "kind", None),
        ({"block_id": block["id"], "proposed_text": "a\x00b"}, 422, "proposed_text", "text_control_characters"),
    ]
    for body, status, field, code in cases:
        response = client.post(url, headers=headers, json=body)
        assert response.status_code == status, (body, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"
        error = response.get_json()["errors"][0]
        assert error["field"] == field and error["message"], body
        if code:
            assert response.get_json()["code"] == code or error["code"] == code, body
    assert count(db, world) == before


def test_a_proposal_may_delete_or_replace_a_whole_passage(client, db, world):
    headers = auth(world.member_token)
    block = passage(world)
    whole = client.post(f"{API}/participation/comments", headers=headers,
                        json={"block_id": block["id"], "proposed_text": "Partijen werken samen.", "body": "Korter."})
    assert whole.status_code == 201 and whole.get_json()["quote"] == PASSAGE
    start = PASSAGE.index(" en tijdige")
    deleted = client.post(f"{API}/participation/comments", headers=headers, json={
        "block_id": block["id"], "start": start, "end": start + 11, "selected": " en tijdige", "proposed_text": ""})
    assert deleted.status_code == 201 and deleted.get_json()["quote"] == "en tijdige"
    assert deleted.get_json()["proposed_text"] == ""
