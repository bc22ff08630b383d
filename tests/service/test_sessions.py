"""Sessions kept on the server (issue 10): signing out ends a session for every copy of its cookie, sessions end
when left idle and at their absolute end, staff can sign out everywhere, members can log out, the token changes at
sign-in and at the link exchange, losing a role counts at once in an open session, old sessions are forgotten by
the tick, a public page writes no session, and the pages keep working with Redis away. Time is moved with the
session interface's clock, never slept."""

from __future__ import annotations

import datetime as dt
import re
import socket

import pytest
from sqlalchemy import event, func, select, update

from service import runtime
from storage.database.models import Membership, Participant, Verdict, WebSession, utcnow
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.service.test_staff_pages import signed_in
from tests.variant_app import app_with
from workflows.domain import membership, rounds, signin, web_sessions
from workflows.outbound import jobs
from workflows.tokens import hash_token

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(app, monkeypatch):
    clock = Clock(utcnow())
    monkeypatch.setattr(app.session_interface, "clock", clock)
    return clock


@pytest.fixture
def world(db):
    network, coordinator, people = make_network(db, members=2)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    token = rounds.mint_link(db, member.id)
    db.commit()
    return {"network": network, "coordinator": coordinator, "editor": people[0], "member": member,
            "member_membership": people[1], "round": round_, "token": token}


def cookie_of(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def copy_of(app, client=None, *, value: str | None = None):
    """Another browser holding a copy of this one's cookie (taken from its disk, say)."""
    other = app.test_client()
    other.set_cookie("session", value or cookie_of(client))
    return other


def stored(db, token: str) -> WebSession | None:
    fresh(db)
    return db.scalar(select(WebSession).where(WebSession.token_hash == hash_token(token)))


def session_rows(db) -> int:
    fresh(db)
    return db.scalar(select(func.count()).select_from(WebSession))


def sign_out(client, page: str = "/", **fields):
    return client.post("/signout", data={"csrf_token": csrf_token(client.get(page).get_data(as_text=True)), **fields})


def member_client(app, token: str):
    client = app.test_client()
    review = client.get(f"/l/{token}").headers["Location"]
    assert client.get(review).status_code == 200
    return client, review


def staff_browser(app, db, person):
    """Signed in, and back on the dashboard (where a browser goes next): the session has been come back to."""
    browser = signed_in(app, db, person)
    assert browser.get("/").status_code == 200
    return browser


def signed_out(response) -> bool:
    return response.status_code == 302 and "/signin" in response.headers["Location"]


# Sign-out ends the session.

def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(app, db, world):
    network_page = f"/n/{world['network'].id}"
    browser = signed_in(app, db, world["coordinator"])
    token = cookie_of(browser)
    assert TOKEN.fullmatch(token), "the cookie carries a random token, not the session"
    assert stored(db, token).person_id == world["coordinator"].id
    copy = copy_of(app, browser)
    assert copy.get(network_page).status_code == 200

    response = sign_out(browser)
    assert response.status_code == 303 and response.headers["Location"].endswith("/signin")
    assert signed_out(copy.get(network_page))
    assert signed_out(browser.get(network_page))
    assert stored(db, token).ended_at is not None
    assert cookie_of(browser) != token  # the browser's cookie was replaced


def test_a_cookie_signed_by_the_earlier_release_signs_nobody_in(app, db, world):
    """Sessions were signed cookies holding the person: such a cookie, validly signed, now opens nothing."""
    old = app.session_interface.get_signing_serializer(app).dumps({"person_id": world["coordinator"].id})
    browser = app.test_client()
    browser.set_cookie("session", old)
    assert signed_out(browser.get(f"/n/{world['network'].id}"))
    links = app.session_interface.get_signing_serializer(app).dumps(
        {"links": {str(world["member"].id): world["member"].id}})
    browser.set_cookie("session", links)
    assert browser.get(f"/review/{world['member'].id}/").status_code == 404


# Inactivity and absolute lifetime.

def test_a_staff_session_ends_after_its_idle_time_and_activity_keeps_it(app, db, world, clock):
    lifetimes = app.session_interface.lifetimes
    network_page = f"/n/{world['network'].id}"
    browser = staff_browser(app, db, world["coordinator"])
    token = cookie_of(browser)
    for _ in range(2):  # used a little less often than the idle time: still signed in
        clock.advance(seconds=(lifetimes.staff_idle - dt.timedelta(minutes=1)).total_seconds())
        assert browser.get(network_page).status_code == 200
    clock.advance(seconds=lifetimes.staff_idle.total_seconds())
    assert signed_out(browser.get(network_page))
    assert cookie_of(browser) != token
    assert signed_out(copy_of(app, value=token).get(network_page))


def test_a_staff_session_ends_at_its_absolute_end_however_active(app, db, world, clock):
    lifetimes = app.session_interface.lifetimes
    network_page = f"/n/{world['network'].id}"
    browser = staff_browser(app, db, world["coordinator"])
    started = clock.now
    step = lifetimes.staff_idle / 2
    while clock.now + step < started + lifetimes.staff_absolute:
        clock.advance(seconds=step.total_seconds())
        assert browser.get(network_page).status_code == 200
    clock.advance(seconds=step.total_seconds())
    assert signed_out(browser.get(network_page))


def test_a_member_session_lives_longer_but_ends_when_idle_and_at_its_absolute_end(app, db, world, clock):
    lifetimes = app.session_interface.lifetimes
    assert lifetimes.member_idle > lifetimes.staff_absolute  # members read over days
    browser, review = member_client(app, world["token"])
    clock.advance(seconds=(lifetimes.member_idle - dt.timedelta(minutes=1)).total_seconds())
    assert browser.get(review).status_code == 200
    clock.advance(seconds=lifetimes.member_idle.total_seconds())
    assert browser.get(review).status_code == 404  # idle too long: no link in this browser any more
    assert browser.get(f"/l/{world['token']}").status_code == 303  # the link in the mail opens it again
    assert browser.get(review).status_code == 200
    started = clock.now
    step = lifetimes.member_idle / 2
    while clock.now + step < started + lifetimes.member_absolute:
        clock.advance(seconds=step.total_seconds())
        assert browser.get(review).status_code == 200
    clock.advance(seconds=step.total_seconds())
    assert browser.get(review).status_code == 404


# Sign out everywhere; the member's Afmelden.

def test_sign_out_everywhere_ends_every_session_of_the_person_and_no_one_elses(app, db, world):
    network_page = f"/n/{world['network'].id}"
    laptop = signed_in(app, db, world["coordinator"])
    phone = signed_in(app, db, world["coordinator"])
    stolen = copy_of(app, laptop)
    colleague = signed_in(app, db, world["editor"].person)
    dashboard = laptop.get("/").get_data(as_text=True)
    assert 'name="everywhere"' in dashboard

    response = sign_out(laptop, "/", everywhere="1")
    assert response.status_code == 303 and response.headers["Location"].endswith("/signin")
    assert 'class="flash' in laptop.get("/signin").get_data(as_text=True)  # saying so
    for browser in (laptop, phone, stolen):
        assert signed_out(browser.get(network_page))
    assert colleague.get(network_page).status_code == 200
    fresh(db)
    assert db.scalar(select(func.count()).select_from(WebSession).where(
        WebSession.person_id == world["coordinator"].id, WebSession.ended_at.is_(None))) == 0


def test_a_member_logs_out_and_the_link_session_ends_for_every_copy(app, db, world):
    browser, review = member_client(app, world["token"])
    page = browser.get(review).get_data(as_text=True)
    assert re.search(r'<form method="post" action="/signout">', page), "no log-out button on the member's page"
    token = cookie_of(browser)
    copy = copy_of(app, browser)

    response = browser.post("/signout", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/link")
    assert browser.get(review).status_code == 404
    assert copy.get(review).status_code == 404
    assert stored(db, token).ended_at is not None
    assert browser.get(f"/l/{world['token']}").status_code == 303  # the mail's link still opens it again


def test_sign_out_also_ends_the_personal_links_of_a_signed_in_person(app, db, world):
    """/signout once left the links in the session: a shared computer kept the member's page for 45 days."""
    coordinator_part = participant(db, world["round"], db.scalar(select(Membership).where(
        Membership.person_id == world["coordinator"].id, Membership.network_id == world["network"].id)))
    token = rounds.mint_link(db, coordinator_part.id)
    db.commit()
    browser = signed_in(app, db, world["coordinator"])
    review = browser.get(f"/l/{token}").headers["Location"]
    assert browser.get(review).status_code == 200
    sign_out(browser)
    assert browser.get(review).status_code == 404


# The token changes at sign-in and at the link exchange.

def test_the_token_changes_at_sign_in_and_a_planted_cookie_is_left_behind(app, db, world):
    attacker, _review = member_client(app, world["token"])  # a session the attacker holds the token of
    victim = copy_of(app, attacker)  # planted in the victim's browser
    planted = cookie_of(victim)
    token = signin.issue_link_token(db, world["coordinator"])
    db.commit()
    confirm = victim.get(f"/signin/{token}").get_data(as_text=True)
    assert victim.post(f"/signin/{token}", data={"csrf_token": csrf_token(confirm)}).status_code == 303
    assert cookie_of(victim) != planted and TOKEN.fullmatch(cookie_of(victim))
    assert victim.get(f"/n/{world['network'].id}").status_code == 200
    assert signed_out(attacker.get(f"/n/{world['network'].id}"))  # the planted token signs nobody in
    assert stored(db, planted).ended_at is not None


def test_the_token_and_the_csrf_secret_change_at_the_link_exchange(app, db, world):
    browser = signed_in(app, db, world["coordinator"])
    before, form_before = cookie_of(browser), csrf_token(browser.get("/").get_data(as_text=True))
    coordinator_part = participant(db, world["round"], db.scalar(select(Membership).where(
        Membership.person_id == world["coordinator"].id, Membership.network_id == world["network"].id)))
    token = rounds.mint_link(db, coordinator_part.id)
    db.commit()
    review = browser.get(f"/l/{token}").headers["Location"]
    after = cookie_of(browser)
    assert after != before and TOKEN.fullmatch(after)
    assert stored(db, before).ended_at is not None
    row = stored(db, after)
    assert row.person_id == world["coordinator"].id and str(coordinator_part.id) in str(row.data)
    assert browser.get(f"/n/{world['network'].id}").status_code == 200  # still signed in, with the link
    assert browser.get(review).status_code == 200
    assert csrf_token(browser.get("/").get_data(as_text=True)) != form_before
    # The link exchange does not stretch a staff session beyond the end its sign-in gave it.
    assert row.expires_at <= stored(db, before).expires_at


# Rows: only for sessions that carry someone; the tick forgets them.

def test_a_public_page_writes_no_session_and_a_dead_cookie_is_replaced(app, db, world):
    before = session_rows(db)
    visitor = app.test_client()
    for path in ("/signin", "/link", "/hello", "/no-such-page", f"/review/{world['member'].id}/"):
        visitor.get(path)
    token = signin.issue_link_token(db, world["coordinator"])
    db.commit()
    visitor.get(f"/signin/{token}")  # a mail scanner opening a sign-in link
    assert session_rows(db) == before
    forged = app.test_client()
    forged.set_cookie("session", "A" * 43)
    response = forged.get("/signin")
    assert response.status_code == 200 and cookie_of(forged) != "A" * 43
    assert session_rows(db) == before


def test_a_session_never_come_back_to_is_forgotten_within_the_hour_and_the_tick_deletes_what_has_ended(
        app, db, world, clock):
    lifetimes = app.session_interface.lifetimes
    clock.now = utcnow() - lifetimes.first_return - dt.timedelta(minutes=1)
    scanner = app.test_client()  # follows the link, never sends its cookie back
    assert scanner.get(f"/l/{world['token']}").status_code == 303
    scanned = cookie_of(scanner)
    person, review = member_client(app, world["token"])  # comes back at once (the redirect)
    kept = cookie_of(person)
    leaving = signed_in(app, db, world["coordinator"])
    ended = cookie_of(leaving)
    sign_out(leaving)
    clock.now = utcnow()
    assert copy_of(app, scanner).get(review).status_code == 404  # a scanner's session is dead after the hour
    # The periodic tick (what the workers' clock runs) deletes the scanner's session and the ended one.
    result = jobs.tick()
    assert result["web_sessions_deleted"] >= 2
    assert stored(db, scanned) is None and stored(db, ended) is None
    assert stored(db, kept) is not None and person.get(review).status_code == 200


def test_delete_finished_keeps_live_sessions_and_forgets_idle_and_expired_ones(app, db):
    lifetimes = web_sessions.Lifetimes()
    now = utcnow()
    _n, coordinator, _people = make_network(db, members=0)
    db.commit()
    tokens = {}
    for name, person_id, age in (("staff_live", coordinator.id, dt.timedelta(hours=1)),
                                 ("staff_idle", coordinator.id, lifetimes.staff_idle + dt.timedelta(minutes=1)),
                                 ("member_live", None, dt.timedelta(days=6)),
                                 ("member_idle", None, lifetimes.member_idle + dt.timedelta(minutes=1))):
        created = now - age - dt.timedelta(minutes=5)
        tokens[name], _end = web_sessions.start(db, {}, person_id=person_id, now=created, lifetimes=lifetimes)
        db.execute(update(WebSession).where(WebSession.token_hash == hash_token(tokens[name]))
                   .values(last_seen_at=now - age))
    db.commit()
    web_sessions.delete_finished(db, now, lifetimes)
    db.commit()
    assert {name for name, token in tokens.items() if stored(db, token) is not None} == {"staff_live", "member_live"}


# Losing a role or leaving the network, in an open session.

def test_a_person_removed_from_their_last_network_as_staff_is_signed_out(app, db, world):
    second = membership.add_member(db, world["network"], name="Tweede coördinator", email="tweede-coord@example.org",
                                   organisation_name="", role="coordinator", actor=world["coordinator"])
    db.commit()
    browser = signed_in(app, db, second.person)
    token = cookie_of(browser)
    copy = copy_of(app, browser)
    network_page = f"/n/{world['network'].id}"
    assert browser.get(network_page).status_code == 200
    membership.remove_member(db, db.get(Membership, second.id), actor=world["coordinator"])
    db.commit()
    assert stored(db, token).ended_at is not None
    assert signed_out(browser.get(network_page)) and signed_out(copy.get("/"))


def test_leaving_one_network_keeps_the_session_for_another_but_not_its_pages(app, db, world):
    editor = world["editor"]
    other, other_coordinator, _people = make_network(db, members=0)
    membership.add_member(db, other, name="Redacteur elders", email=editor.person.email, organisation_name="",
                          role="editor", actor=other_coordinator)
    db.commit()
    browser = signed_in(app, db, editor.person)
    membership.remove_member(db, db.get(Membership, editor.id), actor=world["coordinator"])
    db.commit()
    assert browser.get(f"/n/{world['network'].id}").status_code == 403
    assert browser.get(f"/n/{other.id}").status_code == 200


def test_a_lowered_role_counts_on_the_next_request_of_an_open_session(app, db, world):
    network_id = world["network"].id
    second = membership.add_member(db, world["network"], name="Tweede coördinator", email="lager@example.org",
                                   organisation_name="", role="coordinator", actor=world["coordinator"])
    db.commit()
    browser = signed_in(app, db, second.person)
    page = browser.get(f"/n/{network_id}").get_data(as_text=True)
    new_member = {"csrf_token": csrf_token(page), "name": "Nieuw lid", "email": "nieuw-lid@example.org",
                  "organisation": "", "role": "member"}
    db.execute(update(Membership).where(Membership.id == second.id).values(role="editor"))
    db.commit()
    assert browser.post(f"/n/{network_id}/members", data=new_member).status_code == 403  # coordinators only
    assert browser.get(f"/n/{network_id}").status_code == 200  # an editor's page
    db.execute(update(Membership).where(Membership.id == second.id).values(role="member"))
    db.commit()
    assert browser.get(f"/n/{network_id}").status_code == 403
    fresh(db)
    assert db.scalar(select(func.count()).select_from(Membership).where(
        Membership.network_id == network_id, Membership.name == "Nieuw lid")) == 0


def test_a_member_removed_while_reading_can_do_nothing_more_in_the_open_session(app, db, world):
    browser, review = member_client(app, world["token"])
    token = csrf_token(browser.get(review).get_data(as_text=True))
    membership.remove_member(db, db.get(Membership, world["member_membership"].id), actor=world["coordinator"])
    db.commit()
    assert browser.get(review).status_code == 410
    assert browser.post(review + "verdict", data={"value": "akkoord", "csrf_token": token}).status_code == 410
    assert browser.post(review + "comments", data={"body": "Nog iets", "csrf_token": token}).status_code == 410
    fresh(db)
    assert db.scalar(select(func.count()).select_from(Verdict).where(
        Verdict.participant_id == world["member"].id)) == 0


# The hot path and Redis.

def test_a_warm_review_page_reads_one_row_more_and_writes_nothing(app, db, world):
    browser, review = member_client(app, world["token"])
    browser.get(review)
    engine = app.extensions["akkoord_engine"]
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert browser.get(review).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    queries = [s for s in statements if s != "BEGIN"]
    assert not [s for s in queries if not s.startswith("SELECT")], statements
    assert len(queries) == 2, statements  # the session by its token's hash, the link's state


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


def test_sessions_and_pages_work_while_redis_is_away(app, db, world):
    away = f"redis://127.0.0.1:{_closed_port()}/0"
    suite_runtime = jobs.current()
    with app_with(app, REDIS_URL=away, RATELIMIT_STORAGE_URI=away) as variant:
        jobs.configure(runtime(variant))  # the after-commit hand-off meets the missing Redis too
        try:
            browser = signed_in(variant, db, world["coordinator"])
            assert browser.get(f"/n/{world['network'].id}").status_code == 200
            member, review = member_client(variant, world["token"])
            token = csrf_token(member.get(review).get_data(as_text=True))
            response = member.post(review + "verdict", data={"value": "akkoord", "csrf_token": token})
            assert response.status_code == 303
            assert "/signin" in sign_out(browser).headers["Location"]
            assert signed_out(browser.get(f"/n/{world['network'].id}"))
        finally:
            jobs.configure(suite_runtime)
    fresh(db)
    assert db.get(Participant, world["member"].id).current_verdict_id is not None
