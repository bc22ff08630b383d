"""Structured logs (issue 13): a request id on every line of a request and of the jobs it enqueued, one line per
request, JSON with LOG_FORMAT=json, and no token, personal link or password in any line, gunicorn's included."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.cli import InProcessWorker
from service.config import from_environment
from service.embedded.servers import child_process_options, free_port
from service.web import logs
from tests.conftest import csrf_token
from tests.factories import make_document, make_network, open_round, participant
from tests.races.harness import HOST, Request, send
from tests.variant_app import app_with
from workflows import redaction
from workflows.domain import rounds
from workflows.outbound import jobs
from workflows.tokens import new_token

ROOT = Path(__file__).resolve().parents[2]
TOKEN = new_token()[0]  # the shape of every link, sign-in and session token
API_TOKEN = "akk_" + secrets.token_urlsafe(32)
WEBHOOK_SECRET = "whsec_" + secrets.token_urlsafe(32)

# Every shape a secret takes in a line, and what must be left of it.
REDACTIONS = [
    (f"GET /l/{TOKEN} HTTP/1.1", "GET /l/[redacted] HTTP/1.1"),
    (f"GET /l/{TOKEN}?x=1", "GET /l/[redacted]?x=1"),
    (f"http://akkoord.example/signin/{TOKEN}", "http://akkoord.example/signin/[redacted]"),
    (f"POST /signin/{TOKEN}", "POST /signin/[redacted]"),
    (f"/signin?next=%2Fl%2F{TOKEN}", "/signin?next=%2Fl%2F[redacted]"),
    (f"/unsubscribe?token={TOKEN}&a=b", "/unsubscribe?token=[redacted]&a=b"),
    ("/x?csrf_token=IjA2ZjE4.ZxY&y=1", "/x?csrf_token=[redacted]&y=1"),
    ('{"token": "abc.def"}', '{"token": "[redacted]"}'),
    ("password=hunter2 and more", "password=[redacted] and more"),
    (f"Authorization: Bearer {API_TOKEN}", "Authorization: Bearer [redacted]"),
    ("Authorization: Bearer opaque-value", "Authorization: Bearer [redacted]"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [redacted]"),
    (f"token {API_TOKEN} refused", "token akk_[redacted] refused"),
    (f"secret {WEBHOOK_SECRET}", "secret whsec_[redacted]"),
    (f"session {TOKEN} ended", "session [redacted] ended"),
    ("postgresql+psycopg://akkoord:s3cret@db.internal/akkoord", "postgresql+psycopg://akkoord:[redacted]@db.internal/akkoord"),
    ("redis://:hunter2@127.0.0.1:6379/0", "redis://:[redacted]@127.0.0.1:6379/0"),
]
# Lines that hold no secret stay as they are.
UNTOUCHED = [
    "GET /n/3/documents/4/rounds/7 200",
    "GET /signin 200",
    "POST /link 200",
    "sha256 " + "ab" * 32,
    "request 0f8fad5bd9cb469fa16570867728950e",
    "mail delivery: sent [1, 2, 3]",
    "tokens=3 api_token_id=5",
    "redis://127.0.0.1:6379/0",
]


@pytest.fixture
def restore_logging(app):
    yield
    logs.configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])


@pytest.mark.parametrize(("line", "expected"), REDACTIONS)
def test_every_secret_shape_is_redacted(line, expected):
    assert redaction.redact(line) == expected


@pytest.mark.parametrize("line", UNTOUCHED)
def test_lines_without_secrets_are_left_alone(line):
    assert redaction.redact(line) == line


def test_the_filter_redacts_arguments_and_tracebacks(restore_logging, capsys):
    logs.configure("text", "INFO")
    log = logging.getLogger("tests.logs")
    log.info("opened %s for %s", f"/l/{TOKEN}", "Bearer " + API_TOKEN)
    try:
        raise RuntimeError(f"cannot reach postgresql://u:pw@host/db for /signin/{TOKEN}")
    except RuntimeError:
        log.exception("failed")
    written = capsys.readouterr().err
    assert "/l/[redacted]" in written and "Bearer [redacted]" in written and "RuntimeError" in written
    for secret in (TOKEN, API_TOKEN, "pw@"):
        assert secret not in written


def test_json_lines_parse_and_carry_the_fields(restore_logging, capsys):
    logs.configure("json", "INFO")
    log = logging.getLogger("tests.logs")
    log.info("opened %s", f"/l/{TOKEN}", extra={"route": "/l/<token>"})
    try:
        raise ValueError(f"token={TOKEN}")
    except ValueError:
        log.exception("failed")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["message"] for line in lines] == ["opened /l/[redacted]", "failed"]
    first = lines[0]
    assert first["level"] == "INFO" and first["logger"] == "tests.logs" and first["request_id"] == "-"
    assert first["route"] == "/l/<token>" and first["time"].endswith("+00:00")
    assert "ValueError: token=[redacted]" in lines[1]["exc_info"]
    assert TOKEN not in json.dumps(lines)


def test_log_settings_are_checked():
    assert from_environment({"LOG_FORMAT": "JSON", "SECRET_KEY": "x"})["LOG_FORMAT"] == "json"
    assert from_environment({"SECRET_KEY": "x"})["LOG_FORMAT"] == "text"
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        from_environment({"LOG_FORMAT": "xml", "SECRET_KEY": "x"})


def test_a_request_has_an_id_on_every_line_and_one_line_of_its_own(client, caplog):
    caplog.set_level(logging.INFO)
    response = client.get("/hello", headers={"X-Request-ID": "lb-4f2a.77"})
    assert response.headers["X-Request-ID"] == "lb-4f2a.77"
    (line,) = [r for r in caplog.records if r.name == "akkoord.request"]
    assert line.request_id == "lb-4f2a.77"
    assert (line.method, line.route, line.status) == ("GET", "/hello", 200)
    assert line.duration_ms >= 0
    assert line.getMessage().startswith("GET /hello 200 ")


@pytest.mark.parametrize("sent", ["", "two words", "x" * 65, 'quote"d', TOKEN])
def test_an_id_that_is_not_sane_is_replaced(client, sent):
    answer = client.get("/hello", headers={"X-Request-ID": sent}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", answer)
    assert client.get("/hello").headers["X-Request-ID"] != answer  # one per request


def test_a_personal_link_is_logged_by_its_route_never_its_token(app, db, client, caplog):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    token = rounds.mint_link(db, participant(db, round_, people[1]).id)
    db.commit()
    caplog.set_level(logging.INFO)
    assert client.get(f"/l/{token}").status_code == 303
    (line,) = [r for r in caplog.records if r.name == "akkoord.request"]
    assert line.route == "/l/<token>" and line.status == 303
    assert all(token not in record.getMessage() for record in caplog.records)


def test_the_request_id_travels_into_the_jobs_the_request_enqueued(app, db, run_worker, mail_store, caplog):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    open_round(db, document, coordinator)
    db.commit()
    run_worker()  # the invitations
    mail_store.clear()
    client = app.test_client()
    page = client.get("/link").get_data(as_text=True)
    caplog.set_level(logging.INFO)
    caplog.clear()  # not the invitations' lines
    response = client.post("/link", data={"email": people[1].person.email, "csrf_token": csrf_token(page)},
                           headers={"X-Request-ID": "lost-link-42"})
    assert response.status_code == 200
    # The request's job looks the address up and queues the mail; the mail's own job sends it: both under the id.
    run_worker()
    mail_store.wait_for(lambda mails: len(mails) == 1)
    (sent,) = [r for r in caplog.records if r.getMessage().startswith("mail delivery: sent")]
    assert sent.request_id == "lost-link-42"

    # The worker command's own worker class puts RQ's lines about a job under the job's request id too.
    mail_store.clear()
    caplog.clear()
    client.post("/link", data={"email": people[1].person.email, "csrf_token": csrf_token(page)},
                headers={"X-Request-ID": "lost-link-43"})
    InProcessWorker([jobs.queue()], connection=jobs.current().redis).work(burst=True)
    mail_store.wait_for(lambda mails: len(mails) == 1)
    done = [r for r in caplog.records if r.name == "rq.worker" and r.getMessage().startswith("Successfully completed")]
    assert len(done) == 2 and {r.request_id for r in done} == {"lost-link-43"}
    # Lines logged outside any request or job have none.
    logging.getLogger("tests.logs").warning("after")
    assert caplog.records[-1].request_id == "-"


def test_a_crash_is_logged_once_without_the_token_in_its_url(app, capsys):
    with app_with(app, PROPAGATE_EXCEPTIONS=False) as variant:
        def boom(token):
            raise RuntimeError(f"cannot open {token}")

        variant.add_url_rule("/boom/<token>", "boom", boom)
        assert variant.test_client().get(f"/boom/{TOKEN}", headers={"X-Request-ID": "crash-1"}).status_code == 500
    written = capsys.readouterr().err
    assert TOKEN not in written
    assert written.count("ERROR service [crash-1] Exception on /boom/[redacted] [GET]") == 1, written
    assert "RuntimeError: cannot open [redacted]" in written


# --- Through gunicorn ---------------------------------------------------------------------------------------------


@contextmanager
def _gunicorn(database_url, redis_server, smtp_server, tmp_path_factory, log_format: str):
    """The app in gunicorn with gunicorn.conf.py, as the Procfile starts it, on the suite's database, Redis, SMTP."""
    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {key: value for key, value in os.environ.items() if key not in ("MAILBOX_DIR", "LOG_FORMAT")}
    env.update({"DATABASE_URL": database_url, "REDIS_URL": redis_server.url, "SMTP_URL": smtp_server.url,
                "BASE_URL": f"http://{HOST}:{port}", "SECRET_KEY": "logs-secret",
                "MAIL_FROM": "Akkoord <akkoord@test.invalid>", "LOG_FORMAT": log_format})
    args = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-w", "1", "-k", "gthread",
            "--threads", "2", "-b", f"{HOST}:{port}", "--no-control-socket", "service:create_app()"]
    with open(log, "wb") as out:
        process = subprocess.Popen(args, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, **child_process_options())
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"gunicorn exited: {log.read_text(errors='replace')[-3000:]}"
            try:
                if send(port, Request("GET", "/healthz")).status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"gunicorn did not answer: {log.read_text(errors='replace')[-3000:]}"
            time.sleep(0.1)
        yield port, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def gunicorn(database_url, redis_server, smtp_server, tmp_path_factory):
    with _gunicorn(database_url, redis_server, smtp_server, tmp_path_factory, "text") as served:
        yield served


@pytest.fixture(scope="module")
def gunicorn_json(database_url, redis_server, smtp_server, tmp_path_factory):
    with _gunicorn(database_url, redis_server, smtp_server, tmp_path_factory, "json") as served:
        yield served


def _wait_for(log: Path, written) -> str:
    """The log once `written(text)` holds (gunicorn writes an access line after the answer, a thread's line may come
    after the next request's), or as it is after 10 s."""
    deadline = time.monotonic() + 10
    while not written(text := log.read_text(errors="replace")) and time.monotonic() < deadline:
        time.sleep(0.1)
    return text


def _access_lines(text: str) -> dict[str, dict]:
    """gunicorn's JSON access lines by request id (a line still being written is not one yet)."""
    lines = [line for line in text.splitlines() if line.endswith("}")]
    return {line["request_id"]: line for line in map(json.loads, lines) if line["logger"] == "gunicorn.access"}


def test_gunicorns_access_log_has_the_request_id_and_no_token(gunicorn):
    port, log = gunicorn
    link = send(port, Request("GET", f"/l/{TOKEN}", headers={"X-Request-ID": "probe-link"}))
    assert link.status in (404, 410), link.status  # no such link: the page says so
    sign_in = send(port, Request("GET", f"/signin/{TOKEN}?next=%2Fl%2F{TOKEN}",
                                 headers={"X-Request-ID": "probe-signin", "Referer": f"http://x/l/{TOKEN}"}))
    assert sign_in.status < 500
    assert send(port, Request("GET", "/readyz")).status in (200, 503)

    text = _wait_for(log, lambda text: "rid=probe-link" in text and "rid=probe-signin" in text)
    assert TOKEN not in text
    access = [line for line in text.splitlines() if "rid=probe-" in line]
    assert len(access) == 2, text[-3000:]
    assert '"GET /l/[redacted] HTTP/1.1"' in access[0] and "rid=probe-link" in access[0]
    assert "/signin/[redacted]" in access[1] and "rid=probe-signin" in access[1]
    # The app's own line for the same request: its route, and the same id.
    assert re.search(r"akkoord\.request \[probe-link\] GET /l/<token> (404|410) ", text), text[-3000:]


def test_gunicorns_json_lines_carry_the_access_fields_and_no_token(gunicorn_json):
    port, log = gunicorn_json
    agent = f"probe-agent /l/{TOKEN}"
    link = send(port, Request("GET", f"/l/{TOKEN}", headers={"X-Request-ID": "json-link", "User-Agent": agent,
                                                               "Referer": f"http://x/signin/{TOKEN}"}))
    assert link.status in (404, 410), link.status
    sign_in = send(port, Request("GET", f"/signin/{TOKEN}?next=%2Fl%2F{TOKEN}",
                                 headers={"X-Request-ID": "json-signin", "Referer": f"http://x/l/{TOKEN}?a=1"}))
    assert sign_in.status < 500
    text = _wait_for(log, lambda text: {"json-link", "json-signin"} <= _access_lines(text).keys())
    assert TOKEN not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line one JSON object
    assert all(isinstance(line, dict) and {"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines)
    access = _access_lines(text)
    link_line, sign_in_line = access["json-link"], access["json-signin"]
    assert (link_line["method"], link_line["path"], link_line["status"]) == ("GET", "/l/[redacted]", link.status)
    assert link_line["message"] == f"GET /l/[redacted] {link.status}" and link_line["level"] == "INFO"
    assert link_line["remote"] == HOST and link_line["bytes"] > 0 and link_line["duration_ms"] >= 0
    assert link_line["user_agent"] == "probe-agent /l/[redacted]"
    assert link_line["referer"] == "http://x/signin/[redacted]" and link_line["time"].endswith("+00:00")
    assert sign_in_line["path"] == "/signin/[redacted]?next=%2Fl%2F[redacted]"
    assert sign_in_line["referer"] == "http://x/l/[redacted]?a=1" and sign_in_line["status"] == sign_in.status
    # The app's own line for the same request, JSON too: its route, and the same id.
    (app_line,) = [line for line in lines if line["logger"] == "akkoord.request" and line["request_id"] == "json-link"]
    assert app_line["route"] == "/l/<token>"
