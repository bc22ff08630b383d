"""Limits that hold and requests by address that tell nothing: per client address a 429 (a Dutch page, or a problem
for the API), per address asked for a cap on mail that refuses nobody; a new sign-in link replaces the earlier ones
and a token signs in once; known and unknown addresses cost the same work; a lost-link request cuts nobody off."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest
import redis
from flask_babel import force_locale
from sqlalchemy import delete, event, func, select

from service.web.i18n import error_message
from storage.database.models import AddressRequest, MailMessage, PersonalLink, SignInToken, utcnow
from tests.api.conftest import auth
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round, participant
from workflows.domain import api_tokens, rounds, signin
from workflows.errors import LinkInvalid
from workflows.outbound import jobs

MAILS_PER_ADDRESS = 5  # LIMIT_MAILS_PER_ADDRESS's default, "5/hour"
REQUESTS_PER_CLIENT = 10  # LIMIT_ADDRESS_REQUESTS's default, "10/minute;50/hour"
FAILED_SECRETS = 10  # LIMIT_FAILED_SECRETS's default, "10/minute;100/hour"


def from_address(app, number: int):
    """A browser at a client address of its own (the limits count per address)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.20.{number // 200}.{number % 200 + 1}"
    return client


def ask(client, page: str, email: str):
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(page, data={"email": email, "csrf_token": token})


def without_tokens(html: str, email: str) -> str:
    return re.sub(r'name="csrf_token" (type="hidden" )?value="[^"]+"', "", html.replace(email, "X"))


def said(app, code: str, **params) -> str:
    """The message for `code` as the pages say it (Dutch, from the catalogue)."""
    with app.test_request_context(), force_locale("nl"):
        return error_message(code, params)


@pytest.fixture(autouse=True)
def _no_requests_left_over(app):
    """Requests whose worker a test did not run would be handled by a later test's tick (and mail someone); and
    a test here counts the requests it leaves."""
    def clear():
        with app.extensions["akkoord_sessions"]() as session:
            session.execute(delete(AddressRequest))
            session.commit()

    clear()
    yield
    clear()


@pytest.fixture
def network(db, run_worker, mail_store):
    network, coordinator, people = make_network(db, members=2)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    run_worker()  # the invitations are out of the way
    mail_store.clear()
    return network, coordinator, people, round_


# Per client address and per address asked for ----------------------------------------------------------------------


def test_one_client_gets_429_after_its_share_and_the_address_at_most_its_share_of_mail(app, db, network, run_worker,
                                                                                       mail_store):
    _network, coordinator, _people, _round = network
    client = app.test_client()
    token = csrf_token(client.get("/signin").get_data(as_text=True))
    statuses = [client.post("/signin", data={"email": coordinator.email, "csrf_token": token}).status_code
                for _ in range(120)]
    assert statuses == [200] * REQUESTS_PER_CLIENT + [429] * (120 - REQUESTS_PER_CLIENT)
    refused = client.post("/signin", data={"email": coordinator.email, "csrf_token": token})
    assert refused.status_code == 429
    assert said(app, "rate_limited", minutes=1) in refused.get_data(as_text=True)  # "... 1 min. ..."
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    run_worker()
    time.sleep(0.2)  # a mail beyond the share would have arrived by now
    assert [m.to for m in mail_store.list()] == [[coordinator.email]]  # the newest link only: see below
    fresh(db)
    assert db.scalar(select(func.count()).select_from(SignInToken)
                     .where(SignInToken.person_id == coordinator.id)) == MAILS_PER_ADDRESS


def test_the_cap_per_address_sends_nothing_more_and_refuses_nobody(app, db, network, run_worker, mail_store):
    _network, coordinator, people, round_ = network
    run_worker()
    mail_store.clear()
    member = people[1].person
    answers = set()
    for number in range(12):  # twelve strangers, each from an address of their own
        for page, email in (("/signin", coordinator.email), ("/link", member.email)):
            response = ask(from_address(app, number), page, email)
            assert response.status_code == 200
            answers.add((page, without_tokens(response.get_data(as_text=True), email)))
        run_worker()  # each sign-in link is delivered before the next one replaces it
    assert len(answers) == 2  # the same page every time, beyond the cap too
    # The owners themselves, from yet another address, are not refused either (nothing is sent beyond the cap).
    assert ask(from_address(app, 99), "/link", member.email).status_code == 200
    assert ask(from_address(app, 99), "/signin", coordinator.email).status_code == 200
    run_worker()
    mails = mail_store.wait_for(lambda ms: len(ms) >= 2 * MAILS_PER_ADDRESS)
    time.sleep(0.2)
    mails = mail_store.list()
    assert sum(m.to == [coordinator.email] for m in mails) == MAILS_PER_ADDRESS
    assert sum(m.to == [member.email] for m in mails) == MAILS_PER_ADDRESS
    fresh(db)
    assert db.scalar(select(func.count()).select_from(AddressRequest)) == 0  # every request was handled


# Sign-in links ------------------------------------------------------------------------------------------------------


def test_a_new_sign_in_link_makes_the_earlier_unused_one_invalid(app, db, network, run_worker, mail_store):
    _network, coordinator, _people, _round = network
    client = app.test_client()
    links = []
    for _ in range(2):
        assert ask(client, "/signin", coordinator.email).status_code == 200
        run_worker()
        (mail,) = mail_store.wait_for(lambda ms: len(ms) == len(links) + 1)[:1]
        links.append(next(link for link in mail.links() if "/signin/" in link).removeprefix("http://localhost"))
    assert links[0] != links[1]
    old = app.test_client().get(links[0])
    assert old.status_code == 410 and said(app, "sign_in_replaced") in old.get_data(as_text=True)
    person = app.test_client()
    token = csrf_token(person.get(links[1]).get_data(as_text=True))
    assert person.post(links[0], data={"csrf_token": token}).status_code == 410
    assert person.post(links[1], data={"csrf_token": token}).status_code == 303


def test_a_sign_in_mail_whose_link_was_replaced_before_delivery_is_not_sent(app, db, network, run_worker, mail_store):
    _network, coordinator, _people, _round = network
    client = app.test_client()
    for _ in range(2):
        assert ask(client, "/signin", coordinator.email).status_code == 200
    run_worker()
    (mail,) = mail_store.wait_for(lambda ms: len(ms) == 1)
    time.sleep(0.2)
    assert len(mail_store.list()) == 1  # a mail with a dead link would only confuse
    fresh(db)
    first, second = db.scalars(select(MailMessage).where(MailMessage.email == "sign_in",
                                                         MailMessage.person_id == coordinator.id)
                               .order_by(MailMessage.id)).all()
    assert (first.status, first.failure, second.status) == ("cancelled", "not_needed", "sent")


def test_two_uses_of_one_sign_in_token_sign_in_once(app, db, network):
    """Two transactions with the same token at once: the second waits for the first (PostgreSQL's row lock,
    SQLite's write lock) and then finds the token used. Checked without timing: whoever runs second fails."""
    _network, coordinator, _people, _round = network
    token = signin.issue_link_token(db, coordinator)
    db.commit()
    sessions = app.extensions["akkoord_sessions"]
    first = sessions()
    assert signin.complete_sign_in(first, token).id == coordinator.id  # not committed yet
    outcome = []

    def second_use():
        with sessions() as second:
            try:
                outcome.append(signin.complete_sign_in(second, token).id)
                second.commit()
            except LinkInvalid as error:
                outcome.append(error.code)
                second.rollback()

    thread = threading.Thread(target=second_use)
    thread.start()
    thread.join(timeout=0.5)  # on both databases it now waits for the first transaction
    first.commit()
    first.close()
    thread.join(timeout=30)
    assert outcome == ["sign_in_used_or_unknown"]
    fresh(db)
    assert db.scalar(select(SignInToken.used_at).where(SignInToken.person_id == coordinator.id)) is not None


def test_two_requests_with_one_sign_in_token_sign_in_once(app, db, network):
    _network, coordinator, _people, _round = network
    token = signin.issue_link_token(db, coordinator)
    db.commit()
    browsers = [app.test_client() for _ in range(2)]
    forms = [csrf_token(b.get(f"/signin/{token}").get_data(as_text=True)) for b in browsers]
    barrier = threading.Barrier(2)
    statuses = []

    def use(browser, form):
        barrier.wait()
        statuses.append(browser.post(f"/signin/{token}", data={"csrf_token": form}).status_code)

    threads = [threading.Thread(target=use, args=pair) for pair in zip(browsers, forms, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [303, 410]
    assert sum(b.get("/").status_code == 200 for b in browsers) == 1


# The same work for known and unknown addresses -----------------------------------------------------------------------


class Work:
    """The SQL statements (their text) and the Redis commands (their names) a request makes."""

    def __init__(self, app, monkeypatch):
        self.sql: list[str] = []
        self.redis: list[str] = []
        self.recording = False
        engine = app.extensions["akkoord_engine"]
        event.listen(engine, "before_cursor_execute", self._statement)
        self._engine = engine
        real_command, real_execute = redis.Redis.execute_command, redis.client.Pipeline.execute

        def command(client, *args, **options):
            if self.recording and not isinstance(client, redis.client.Pipeline):
                self.redis.append(str(args[0]).upper())
            return real_command(client, *args, **options)

        def execute(pipeline, *args, **options):
            if self.recording:
                self.redis.extend(str(c[0][0]).upper() for c in pipeline.command_stack)
            return real_execute(pipeline, *args, **options)

        monkeypatch.setattr(redis.Redis, "execute_command", command)
        monkeypatch.setattr(redis.client.Pipeline, "execute", execute)

    def _statement(self, conn, cursor, statement, parameters, context, executemany):
        if self.recording:
            self.sql.append(" ".join(statement.split()))

    def of(self, run) -> tuple[list[str], list[str]]:
        self.sql, self.redis, self.recording = [], [], True
        try:
            run()
        finally:
            self.recording = False
        return self.sql, self.redis

    def close(self):
        event.remove(self._engine, "before_cursor_execute", self._statement)


@pytest.mark.parametrize("page", ["/signin", "/link"])
def test_known_and_unknown_addresses_cost_the_same_work(app, db, network, monkeypatch, page):
    _network, coordinator, people, _round = network
    known = coordinator.email if page == "/signin" else people[1].person.email
    client = app.test_client()
    token = csrf_token(client.get(page).get_data(as_text=True))
    work = Work(app, monkeypatch)
    try:
        answers, costs = [], []
        for email in ("warm-up@example.org", known, "nobody@example.org"):
            def post(email=email):
                response = client.post(page, data={"email": email, "csrf_token": token})
                assert response.status_code == 200
                answers.append(without_tokens(response.get_data(as_text=True), email))
            costs.append(work.of(post))
    finally:
        work.close()
    (_, _), (known_sql, known_redis), (unknown_sql, unknown_redis) = costs
    assert answers[1] == answers[2]
    assert known_sql == unknown_sql and known_redis == unknown_redis
    assert any(s.startswith("INSERT INTO address_requests") for s in known_sql)
    assert not any("people" in s or "sign_in_tokens" in s or "outbox" in s for s in known_sql)  # all in the worker
    assert "RPUSH" in known_redis or "LPUSH" in known_redis  # the job, handed over after the commit


def test_a_request_whose_job_was_lost_is_handled_by_the_tick(app, db, network, run_worker, mail_store):
    _network, coordinator, _people, _round = network
    run_worker()
    mail_store.clear()
    assert ask(app.test_client(), "/signin", coordinator.email).status_code == 200
    jobs.current().redis.flushdb()  # Redis lost the job
    assert run_worker() == 0
    grace = jobs.current().schedule.sweep_grace
    assert jobs.tick((utcnow() + dt.timedelta(seconds=grace / 2)).isoformat())["address_requests"] == 0
    run_worker()  # what that tick handed over (mail other tests left pending): an empty queue, no backlog
    assert jobs.tick((utcnow() + dt.timedelta(seconds=grace + 1)).isoformat())["address_requests"] == 1
    run_worker()  # (the sweep also hands over mail other tests left pending: only this person's is looked at)
    mail_store.wait_for(lambda ms: any(m.to == [coordinator.email] for m in ms))
    fresh(db)
    assert db.scalar(select(func.count()).select_from(AddressRequest)) == 0
    assert jobs.tick((utcnow() + dt.timedelta(seconds=grace + 1)).isoformat())["address_requests"] == 0


def test_a_request_handed_to_two_workers_is_handled_once(app, db, network, run_worker, mail_store):
    _network, coordinator, _people, _round = network
    assert ask(app.test_client(), "/signin", coordinator.email).status_code == 200
    fresh(db)
    request_id = db.scalar(select(AddressRequest.id).where(AddressRequest.email == coordinator.email))
    assert [jobs.handle_address_request(request_id), jobs.handle_address_request(request_id)] == [True, False]
    fresh(db)
    assert db.scalar(select(func.count()).select_from(SignInToken).where(SignInToken.person_id == coordinator.id)) == 1


# A lost-link request cuts nobody off ---------------------------------------------------------------------------------


def _act(client, participant_id: int, how: str):
    review = f"/review/{participant_id}/"
    token = csrf_token(client.get(review).get_data(as_text=True))
    if how == "seen":
        return client.post(f"{review}seen", data={"csrf_token": token})
    if how == "comment":
        return client.post(f"{review}comments", data={"csrf_token": token, "body": "Graag artikel 2 aanvullen."})
    return client.post(f"{review}verdict", data={"csrf_token": token, "value": "akkoord", "reason": ""})


@pytest.mark.parametrize("how", ["seen", "comment", "verdict"])
def test_a_lost_link_request_leaves_the_open_page_working_until_the_new_link_is_used(app, db, network, run_worker,
                                                                                    mail_store, how):
    _network, _coordinator, people, round_ = network
    member = participant(db, round_, people[1])
    old_token = rounds.mint_link(db, member.id)
    db.commit()
    run_worker()
    mail_store.clear()
    review = f"/review/{member.id}/"
    reader = app.test_client()  # the member, reading with the link they have
    assert reader.get(f"/l/{old_token}").status_code == 303
    assert reader.get(review).status_code == 200

    for number in range(3):  # a stranger asks three times in the member's name
        assert ask(from_address(app, number), "/link", people[1].person.email).status_code == 200
    run_worker()
    mails = mail_store.wait_for(lambda ms: len(ms) == 3)
    new_link = next(link for link in mails[0].links() if "/l/" in link).removeprefix("http://localhost")
    assert reader.get(review).status_code == 200  # nothing was revoked
    assert _act(reader, member.id, "seen").status_code == 204
    assert app.test_client().get(f"/l/{old_token}").status_code == 303
    # The owner can still ask for a link themselves (no lock-out).
    assert ask(from_address(app, 50), "/link", people[1].person.email).status_code == 200

    # A mail scanner follows the new link (GET, HEAD): that is no use, and revokes nothing.
    scanner = app.test_client()
    assert scanner.head(new_link).status_code == 303
    assert scanner.get(new_link, follow_redirects=True).status_code == 200
    assert reader.get(review).status_code == 200

    # The person opens the new link and acts on the page: now, and only now, the earlier links die.
    person = app.test_client()
    assert person.get(new_link).status_code == 303
    assert _act(person, member.id, how).status_code in (204, 303)
    assert reader.get(review).status_code == 410
    assert app.test_client().get(f"/l/{old_token}").status_code == 410
    assert person.get(review).status_code == 200
    fresh(db)
    links = db.scalars(select(PersonalLink).where(PersonalLink.participant_id == member.id)
                       .order_by(PersonalLink.id)).all()
    used = next(link for link in links if link.first_used_at is not None and link.revoked_at is None)
    assert all(link.revoked_at is not None for link in links if link.id < used.id)
    assert all(link.revoked_at is None for link in links if link.id > used.id)  # later mails' links live on


def test_a_coordinators_new_link_still_revokes_at_once(app, db, network, run_worker):
    """A deliberate act (the link went to the wrong person): the earlier links die when it is sent."""
    _network, coordinator, people, round_ = network
    member = participant(db, round_, people[1])
    old_token = rounds.mint_link(db, member.id)
    rounds.resend_link(db, member, actor=coordinator)
    db.commit()
    assert app.test_client().get(f"/l/{old_token}").status_code == 410


# Token links and API tokens -----------------------------------------------------------------------------------------


def test_refused_tokens_in_links_are_limited_per_client(app, db, network):
    _network, coordinator, people, round_ = network
    member = participant(db, round_, people[1])
    good = rounds.mint_link(db, member.id)
    sign_in = signin.issue_link_token(db, coordinator)
    db.commit()
    guesser = app.test_client()
    statuses = [guesser.get(f"/l/guess{n}").status_code for n in range(FAILED_SECRETS // 2)]
    statuses += [guesser.get(f"/signin/guess{n}").status_code for n in range(FAILED_SECRETS // 2)]
    assert statuses == [410] * FAILED_SECRETS
    refused = guesser.get(f"/l/{good}")
    assert refused.status_code == 429 and said(app, "rate_limited", minutes=1) in refused.get_data(as_text=True)
    assert guesser.get(f"/signin/{sign_in}").status_code == 429
    # Another client address is not affected; links that work never count.
    person = from_address(app, 7)
    assert [person.get(f"/l/{good}").status_code for _ in range(FAILED_SECRETS + 5)] == [303] * (FAILED_SECRETS + 5)


def test_the_link_exchange_is_limited_per_client_also_when_the_links_work(app, db, network, monkeypatch):
    _network, _coordinator, people, round_ = network
    member = participant(db, round_, people[1])
    good = rounds.mint_link(db, member.id)
    db.commit()
    monkeypatch.setitem(app.config, "LIMIT_TOKEN_LINKS", "5/minute")  # compressed: the default is 60/minute
    client = app.test_client()
    assert [client.get(f"/l/{good}").status_code for _ in range(7)] == [303] * 5 + [429] * 2


def test_refused_api_tokens_are_limited_and_answered_with_a_problem(app, db, network):
    network_, coordinator, _people, _round = network
    _row, good = api_tokens.create_token(db, network_, coordinator, role="coordinator", name="script")
    db.commit()
    client = app.test_client()
    for _ in range(3 * FAILED_SECRETS):  # tokens that work never count, nor requests without one (no check)
        assert client.get("/api/v1/networks", headers=auth(good)).status_code == 200
        assert client.get("/api/v1/networks").status_code == 401
    statuses = [client.get("/api/v1/networks", headers=auth("akk_guess")).status_code for _ in range(FAILED_SECRETS)]
    assert statuses == [401] * FAILED_SECRETS
    response = client.get("/api/v1/networks", headers=auth("akk_guess"))
    assert response.status_code == 429 and response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "rate_limited" and body["status"] == 429
    assert body["detail"] == said(app, "rate_limited", minutes=1)
    assert int(response.headers["Retry-After"]) >= 1
    english = client.get("/api/v1/networks", headers=auth(good, **{"Accept-Language": "en"}))
    assert english.status_code == 429 and "Too many requests" in english.get_json()["detail"]
    elsewhere = from_address(app, 3)
    assert elsewhere.get("/api/v1/networks", headers=auth(good)).status_code == 200
    assert "429" in elsewhere.get("/api/v1/openapi.json").get_json()["paths"]["/networks"]["get"]["responses"]
