"""Personal API tokens: made in the pages (shown once, kept as a sha256), never above the maker's role,
revocable, with their last use shown; and the operator's make-api-token command."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from storage.database.models import ApiToken
from tests.api.conftest import auth
from tests.conftest import csrf_token
from tests.factories import fresh, make_network
from tests.service.test_staff_pages import signed_in
from workflows.domain import api_tokens
from workflows.errors import InvalidInput, NotAllowed, NotFound

TOKEN = re.compile(r'<code id="new-token">(akk_[\w-]+)</code>')


def test_a_token_is_made_shown_once_and_stored_as_a_hash(app, db):
    network, _coordinator, people = make_network(db)
    db.commit()
    browser = signed_in(app, db, people[0].person)  # the editor
    assert 'api-tokens' in browser.get(f"/n/{network.id}").get_data(as_text=True)  # the network page links here
    page = browser.get(f"/n/{network.id}/api-tokens").get_data(as_text=True)
    made = browser.post(f"/n/{network.id}/api-tokens", data={"csrf_token": csrf_token(page), "name": "Export",
                                                              "role": "editor"})
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    token = TOKEN.search(made.get_data(as_text=True)).group(1)
    fresh(db)
    stored = db.scalar(select(ApiToken).where(ApiToken.network_id == network.id))
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and stored.prefix == token[:12]
    listing = browser.get(f"/n/{network.id}/api-tokens").get_data(as_text=True)
    assert token not in listing and stored.prefix in listing
    assert stored.last_used_at is None
    assert browser.get("/api/v1/networks", headers=auth(token)).status_code == 200
    fresh(db)
    assert db.get(ApiToken, stored.id).last_used_at is not None
    # An editor may not make a coordinator's token.
    page = browser.get(f"/n/{network.id}/api-tokens").get_data(as_text=True)
    refused = browser.post(f"/n/{network.id}/api-tokens", data={"csrf_token": csrf_token(page), "name": "Meer",
                                                                "role": "coordinator"})
    assert refused.status_code == 403
    # Revoked in the page: the API refuses it.
    revoked = browser.post(f"/n/{network.id}/api-tokens/{stored.id}/revoke", data={"csrf_token": csrf_token(page)})
    assert revoked.status_code == 303
    assert browser.get("/api/v1/networks", headers=auth(token)).status_code == 401


def test_only_signed_in_staff_have_a_token_page(app, db):
    network, _coordinator, _people = make_network(db)
    db.commit()
    assert app.test_client().get(f"/n/{network.id}/api-tokens").status_code == 302  # to the sign-in page
    from workflows.domain import membership

    outsider = membership.get_or_create_person(db, name="Buiten", email="buiten@example.org")
    other = membership.create_network(db, "Ander netwerk", coordinator=outsider)
    db.commit()
    assert signed_in(app, db, outsider).get(f"/n/{network.id}/api-tokens").status_code == 403
    assert other.id != network.id


def test_token_rules(db):
    network, coordinator, people = make_network(db)
    editor = people[0].person
    with pytest.raises(NotAllowed):
        api_tokens.create_token(db, network, editor, role="coordinator", name="x")
    with pytest.raises(NotAllowed):
        api_tokens.create_token(db, network, people[1].person, role="editor", name="x")  # a member
    with pytest.raises(InvalidInput):
        api_tokens.create_token(db, network, coordinator, role="member", name="x")
    with pytest.raises(InvalidInput):
        api_tokens.create_token(db, network, coordinator, role="editor", name=" ")
    token, raw = api_tokens.create_token(db, network, coordinator, role="editor", name="x")
    assert raw.startswith("akk_") and len(raw) > 40 and api_tokens.authenticate(db, raw).id == token.id
    # Another editor cannot revoke it; the coordinator who made it can.
    other_editor = api_tokens.create_token(db, network, editor, role="editor", name="mine")[0]
    with pytest.raises(NotFound):
        api_tokens.revoke(db, token, actor=editor)
    api_tokens.revoke(db, other_editor, actor=coordinator)  # a coordinator revokes any token of the network
    with pytest.raises(api_tokens.TokenRefused):
        api_tokens.authenticate(db, "akk_nothing")
    db.rollback()


def test_make_api_token_command(app, db):
    network, coordinator, _people = make_network(db)
    db.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["make-api-token", "--network", str(network.id), "--email", coordinator.email,
                                 "--role", "coordinator", "--name", "nachtelijke export"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("akk_")
    assert app.test_client().get(f"/api/v1/networks/{network.id}", headers=auth(token)).status_code == 200
    refused = runner.invoke(args=["make-api-token", "--network", str(network.id), "--email", "niemand@example.org",
                                  "--role", "editor", "--name", "x"])
    assert refused.exit_code != 0
