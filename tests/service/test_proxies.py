"""Behind a reverse proxy (issue 10): with TRUSTED_PROXIES=n the client is the one the n proxies in front saw, for
the verdict's evidence and for the rate limits; without it (the default) X-Forwarded-* are a client's own words and
change nothing, so a client cannot dodge a limit or forge its evidence by sending them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service import config
from storage.database.models import Verdict
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.variant_app import app_with
from workflows.domain import rounds

PROXY = "10.0.0.2"
CLIENT = "198.51.100.7"
MADE_UP = "203.0.113.66"  # what a client put in X-Forwarded-For itself; the proxy appends the address it saw


def forwarded(client_address: str, *, made_up: str | None = None) -> dict:
    """What the proxy adds to a request it passes on: the client's address after whatever the client sent, and the
    scheme it was reached by. (A browser's own Referer too: on https Flask-WTF checks that a form came from here.)"""
    chain = f"{made_up}, {client_address}" if made_up else client_address
    return {"X-Forwarded-For": chain, "X-Forwarded-Proto": "https", "Referer": "https://localhost/"}


def verdict_from(app, db, headers: dict) -> Verdict:
    """A member opens their link and says akkoord through `app`, every request arriving from PROXY with `headers`;
    the verdict as stored."""
    network, coordinator, people = make_network(db, members=1)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[0])
    link = rounds.mint_link(db, member.id)
    db.commit()
    member_id = member.id
    browser = app.test_client()
    browser.environ_base.update(REMOTE_ADDR=PROXY)
    assert browser.get(f"/l/{link}", headers=headers).status_code == 303
    page = browser.get(f"/review/{member_id}/", headers=headers)
    answer = browser.post(f"/review/{member_id}/verdict", headers=headers, data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "value": "akkoord", "reason": ""})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    fresh(db)
    return db.scalar(select(Verdict).where(Verdict.participant_id == member_id))


def test_behind_one_trusted_proxy_the_evidence_is_the_clients_address(app, db):
    with app_with(app, TRUSTED_PROXIES=1) as proxied:
        verdict = verdict_from(proxied, db, forwarded(CLIENT, made_up=MADE_UP))
        assert verdict.ip_address == CLIENT  # the one hop believed: not the proxy, not what the client made up
        docs = proxied.test_client().get("/api/v1/docs", headers=forwarded(CLIENT),
                                         environ_base={"REMOTE_ADDR": PROXY})
        assert "https://localhost/api/v1" in docs.get_data(as_text=True)  # the scheme the proxy was reached by


def test_without_trusted_proxies_forwarded_headers_are_not_believed(app, db):
    verdict = verdict_from(app, db, forwarded(CLIENT, made_up=MADE_UP))
    assert verdict.ip_address == PROXY
    docs = app.test_client().get("/api/v1/docs", headers=forwarded(CLIENT), environ_base={"REMOTE_ADDR": PROXY})
    assert "http://localhost/api/v1" in docs.get_data(as_text=True)


def limited_after(client, headers: dict, *, most: int = 200) -> int:
    """POST the lost-link form with a new address each time until the per-client limit answers 429; how many
    requests got through."""
    token = csrf_token(client.get("/link", headers=headers).get_data(as_text=True))
    for sent in range(most):
        answer = client.post("/link", headers=headers, data={"csrf_token": token, "email": f"iemand{sent}@example.org"})
        if answer.status_code == 429:
            return sent
        assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    pytest.fail(f"no 429 after {most} requests")


def test_rate_limits_count_the_real_client_behind_a_trusted_proxy(app, db):
    with app_with(app, TRUSTED_PROXIES=1) as proxied:
        first, second = proxied.test_client(), proxied.test_client()
        for browser in (first, second):
            browser.environ_base.update(REMOTE_ADDR=PROXY)
        allowed = limited_after(first, forwarded(CLIENT))
        assert allowed >= 1
        # Another client behind the same proxy has its own count ...
        assert limited_after(second, forwarded("198.51.100.8")) == allowed
        # ... and making up an address in front of the real one changes nothing.
        assert limited_after(first, forwarded(CLIENT, made_up=MADE_UP)) == 0


def test_without_trusted_proxies_a_made_up_forwarded_for_does_not_reset_the_limit(app, db):
    browser = app.test_client()
    browser.environ_base.update(REMOTE_ADDR=PROXY)
    assert limited_after(browser, forwarded(CLIENT)) >= 1
    assert limited_after(browser, forwarded("198.51.100.8")) == 0


@pytest.mark.parametrize("value, hops", [(None, 0), ("", 0), ("0", 0), ("1", 1), (" 2 ", 2)])
def test_the_setting_is_a_number_of_hops(value, hops):
    environ = {"SECRET_KEY": "x"} | ({} if value is None else {"TRUSTED_PROXIES": value})
    assert config.from_environment(environ)["TRUSTED_PROXIES"] == hops


@pytest.mark.parametrize("value", ["-1", "yes", "10.0.0.2", "1.5"])
def test_a_setting_that_is_not_a_number_of_hops_stops_the_start(value):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        config.from_environment({"SECRET_KEY": "x", "TRUSTED_PROXIES": value})
