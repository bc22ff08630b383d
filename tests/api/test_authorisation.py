"""Who may call what: a token of network A never reads or changes anything of network B, a member's token never
reaches the staff operations (nor a staff token the member's), revoked and orphaned tokens are refused, and the
browser's session cookie is no credential here."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from storage.database.models import ApiToken, Comment, Membership, Network, Organisation, Round, Verdict, Webhook
from tests.api.conftest import auth
from tests.factories import fresh
from workflows.domain import api_tokens, membership, people

PARAM = re.compile(r"{(\w+)}")


def operations(client) -> list[tuple[str, str, dict]]:
    spec = client.get("/api/v1/openapi.json").get_json()
    return [(method.upper(), path, op) for path, methods in spec["paths"].items() for method, op in methods.items()]


# A valid body for each operation that takes one, so that only the ids decide the answer.
BODIES = {
    "create_organisation": {"name": "Apotheek Zuid"},
    "add_member": {"name": "Nieuw Lid", "email": "nieuw@example.org", "role": "member"},
    "create_document": {"kind": "notitie", "title": "Notitie"},
    "finalise": {"version_id": 1},
    "open_round": {"deadline": "2099-01-01T12:00:00+01:00"},
    "extend_deadline": {"deadline": "2099-01-01T12:00:00+01:00"},
    "set_schedule": {"days": [3]},
    "process_comment": {"disposition": "overgenomen", "answer": ""},
    "reply": {"body": "Dank, we nemen het mee."},
    "participation_comment": {"body": "Een opmerking."},
    "participation_verdict": {"value": "akkoord"},
    "participation_reply": {"body": "Eens."},
    "create_webhook": {"url": "https://hooks.example.org/akkoord"},
    "correct_member_email": {"email": "verbeterd@example.org"},
    "set_network_rule": {"rule": "organisation"},
    "set_document_rule": {"rule": "organisation"},
    "set_representative": {"representative": True},
    "update_organisation": {"kind": "apotheek", "has_vote": False},
    "record_organisation_joining": {"on": "2024-01-15", "reference": "ALV 15-01-2024"},
    "record_organisation_leaving": {"on": "2024-01-15", "reference": "ALV 15-01-2024"},
    "update_network_record": {"purpose": "Inbraak", "target_group": "", "privacy_statement": ""},
    "set_board_membership": {"board": True, "discipline": "huisarts"},
    "participation_name_substitute": {"substitute_membership_id": 1, "starts_at": "2099-01-01T12:00:00+01:00",
                                      "ends_at": "2099-01-02T12:00:00+01:00"},
    "plan_meeting": {"title": "Bijeenkomst", "starts_at": "2099-01-01T19:30:00+01:00", "duration_minutes": 150,
                     "place": "Utrecht"},
    "change_meeting": {"title": "Bijeenkomst", "starts_at": "2099-01-01T19:30:00+01:00", "duration_minutes": 150,
                       "place": "Utrecht"},
}


def call(client, method: str, path: str, ids: dict, headers: dict, op: dict | None = None):
    url = "/api/v1" + PARAM.sub(lambda m: str(ids[m.group(1)]), path)
    content = ((op or {}).get("requestBody") or {}).get("content", {})
    kwargs = {}
    if "application/json" in content:
        kwargs["json"] = BODIES.get(op["operationId"], {})
    elif "text/csv" in content:
        kwargs["data"], kwargs["content_type"] = b"naam,email,organisatie,rol\nA,a@example.org,,lid\n", "text/csv"
    elif "multipart/form-data" in content:
        import io

        kwargs["data"] = {"file": (io.BytesIO(b"# Titel\n\nTekst."), "v.md")}
    return client.open(url, method=method, headers=headers, **kwargs)


def staff_ops(client):
    return [(m, p, op) for m, p, op in operations(client) if op["security"] == [{"apiToken": []}]]


def member_ops(client):
    return [(m, p, op) for m, p, op in operations(client) if op["security"] == [{"memberToken": []}]]


def test_a_token_of_network_a_never_reaches_network_b(client, db, world, other):
    """Every staff operation with a path id, called with A's coordinator token and B's ids: 404, B unchanged."""
    tried = 0
    before = _state(db, other)
    for method, path, _op in staff_ops(client):
        if "{" not in path:
            continue
        response = call(client, method, path, other.ids, auth(world.coordinator_token), _op)
        assert response.status_code == 404, (method, path, response.status_code, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"
        tried += 1
    assert tried >= 30
    fresh(db)
    assert _state(db, other) == before
    # The list without a path id shows only A.
    listed = client.get("/api/v1/networks", headers=auth(world.coordinator_token)).get_json()
    assert [n["id"] for n in listed["items"]] == [world.network.id]


def test_a_member_of_network_a_reaches_nothing_of_b_with_real_bodies(client, db, world, other):
    """Writes with valid bodies too: A's token and B's ids change nothing of B."""
    headers = auth(world.coordinator_token)
    attempts = [
        ("POST", f"/networks/{other.network.id}/members", {"name": "X", "email": "x@example.org", "role": "member"}),
        ("POST", f"/networks/{other.network.id}/documents", {"kind": "notitie", "title": "Inbraak"}),
        ("POST", f"/documents/{other.document.id}/finalise", {"version_id": other.second.id}),
        ("POST", f"/rounds/{other.round.id}/close", None),
        ("POST", f"/comments/{other.comment.id}/process", {"disposition": "overgenomen", "answer": ""}),
        ("DELETE", f"/members/{other.members[1].id}", None),
        ("POST", f"/organisations/{other.members[1].organisation_id}/leave", {"on": "2024-01-15", "reference": ""}),
        ("PUT", f"/organisations/{other.members[1].organisation_id}", {"kind": "apotheek", "has_vote": False}),
        ("PUT", f"/networks/{other.network.id}/record", {"purpose": "Inbraak", "target_group": "",
                                                         "privacy_statement": ""}),
        ("PUT", f"/members/{other.members[1].id}/board", {"board": True, "discipline": "huisarts"}),
    ]
    for method, path, body in attempts:
        response = client.open("/api/v1" + path, method=method, json=body, headers=headers)
        assert response.status_code == 404, (path, response.get_data(as_text=True))
    fresh(db)
    assert db.get(Round, other.round.id).status == "open"
    assert db.get(Comment, other.comment.id).disposition is None
    assert db.get(Membership, other.members[1].id).left_at is None
    assert db.get(Membership, other.members[1].id).board is False
    organisation = db.get(Organisation, other.members[1].organisation_id)
    assert (organisation.left_at, organisation.kind, organisation.has_vote) == (None, "other", True)
    assert db.get(Network, other.network.id).purpose == ""


def _state(db, world) -> tuple:
    return (
        db.scalar(select(Round.status).where(Round.id == world.round.id)),
        tuple(db.scalars(select(Membership.left_at).where(Membership.network_id == world.network.id))),
        db.scalar(select(Comment.disposition).where(Comment.id == world.comment.id)),
        tuple(db.scalars(select(Verdict.id).where(Verdict.round_id == world.round.id))),
        db.scalar(select(Webhook.disabled_at).where(Webhook.id == world.webhook.id)),
        db.scalar(select(Webhook.secret).where(Webhook.id == world.webhook.id)),
        db.scalar(select(func.count(Webhook.id)).where(Webhook.network_id == world.network.id)),
    )


def test_a_member_token_never_reaches_a_staff_operation(client, world):
    for method, path, op in staff_ops(client):
        response = call(client, method, path, world.ids, auth(world.member_token), op)
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.get_json()["code"] == "staff_token_required"


def test_a_staff_token_never_acts_as_a_member(client, world):
    ops = member_ops(client)
    assert len(ops) >= 5
    for method, path, op in ops:
        response = call(client, method, path, world.ids, auth(world.coordinator_token), op)
        assert response.status_code == 403, (method, path)
        assert response.get_json()["code"] == "member_token_required"


def test_without_a_token_or_with_a_wrong_one_every_operation_is_refused(client, world):
    for number, (method, path, op) in enumerate(staff_ops(client) + member_ops(client)):
        # Each operation from a client address of its own: one address gets LIMIT_FAILED_SECRETS refusals, then
        # 429s (tests/service/test_limits.py).
        client.environ_base["REMOTE_ADDR"] = f"10.9.{number // 200}.{number % 200 + 1}"
        for headers in ({}, auth("akk_not-a-token"), {"Authorization": "Basic abc"}):
            response = call(client, method, path, world.ids, headers, op)
            assert response.status_code == 401, (method, path)
            assert response.mimetype == "application/problem+json"
            assert "WWW-Authenticate" in response.headers


def test_an_editor_token_may_not_do_what_only_coordinators_do(client, world):
    headers = auth(world.editor_token)
    assert client.get(f"/api/v1/documents/{world.document.id}", headers=headers).status_code == 200
    response = client.post(f"/api/v1/rounds/{world.round.id}/close", headers=headers)
    assert response.status_code == 403
    assert response.get_json()["code"] == "not_allowed"


def test_a_revoked_token_is_refused(client, db, world):
    headers = auth(world.editor_token)
    assert client.get("/api/v1/networks", headers=headers).status_code == 200
    token = db.scalar(select(ApiToken).where(ApiToken.role == "editor", ApiToken.network_id == world.network.id))
    api_tokens.revoke(db, token, actor=world.members[0].person)
    db.commit()
    response = client.get("/api/v1/networks", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_invalid"


def test_a_removed_members_token_is_refused(client, db, world):
    headers = auth(world.editor_token)
    assert client.get("/api/v1/networks", headers=headers).status_code == 200
    editor = db.get(Membership, world.members[0].id)
    membership.remove_member(db, editor, actor=world.coordinator)
    db.commit()
    assert client.get("/api/v1/networks", headers=headers).status_code == 401


def test_a_token_follows_its_persons_role_down(client, db, world):
    """A coordinator token of someone who is now an editor acts as an editor."""
    coordinator = people.active_membership(db, world.network.id, world.coordinator.id)
    membership.remove_member(db, coordinator, actor=world.coordinator)
    membership.add_member(db, world.network, name=world.coordinator.name, email=world.coordinator.email,
                          organisation_name="", role="editor", actor=world.coordinator)
    db.commit()
    headers = auth(world.coordinator_token)
    assert client.get("/api/v1/networks", headers=headers).status_code == 200
    assert client.post(f"/api/v1/rounds/{world.round.id}/close", headers=headers).status_code == 403


def test_a_member_token_stops_working_when_the_member_leaves(client, db, world):
    headers = auth(world.member_token)
    assert client.get("/api/v1/participation", headers=headers).status_code == 200
    membership.remove_member(db, db.get(Membership, world.members[1].id), actor=world.coordinator)
    db.commit()
    response = client.get("/api/v1/participation", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "link_revoked"


def test_the_session_cookie_is_no_credential(app, db, world):
    """A signed-in browser gets nothing from the API: otherwise a page elsewhere could act for it (CSRF)."""
    from tests.service.test_staff_pages import signed_in

    browser = signed_in(app, db, world.coordinator)
    assert browser.get(f"/n/{world.network.id}").status_code == 200
    response = browser.get("/api/v1/networks")
    assert response.status_code == 401
    response = browser.post(f"/api/v1/networks/{world.network.id}/documents",
                            json={"kind": "notitie", "title": "Via de browser"})
    assert response.status_code == 401


def test_api_writes_need_no_csrf_token(client, world):
    response = client.post(f"/api/v1/networks/{world.network.id}/documents", json={"kind": "notitie", "title": "T"},
                           headers=auth(world.editor_token))
    assert response.status_code == 201


@pytest.mark.parametrize("value", ["0", "2147483648", "99999999999999999999"])
def test_ids_out_of_range_are_simply_not_found(client, world, value):
    response = client.get(f"/api/v1/documents/{value}", headers=auth(world.editor_token))
    assert response.status_code == 404


def test_the_api_never_sets_a_cookie(client, world):
    for url, token in (("/api/v1/networks", world.editor_token), ("/api/v1/participation", world.member_token),
                       ("/api/v1/networks", None), ("/api/v1/docs", None), ("/api/v1/openapi.json", None)):
        response = client.get(url, headers=auth(token) if token else {})
        assert "Set-Cookie" not in response.headers, url
