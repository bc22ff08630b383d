"""/metrics: absent without METRICS_TOKEN, refused without the token; requests counted by route (never the raw
path), the outbox and open rounds counted at scrape time, a mail the real worker sent in the delivery histogram; and
in multiprocess mode the counters of separate processes (web and worker) add up in one scrape."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from storage.database.models import MailMessage, OutboxItem, Round
from tests.factories import fresh, make_document, make_network, open_round
from tests.variant_app import app_with
from workflows.outbound import jobs

TOKEN = "metrics-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) -> value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scraped: dict, name: str, **labels) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client) -> tuple[str, dict]:
    answer = client.get("/metrics", headers=AUTH)
    assert answer.status_code == 200, answer.status_code
    assert answer.content_type.startswith("text/plain")
    text = answer.get_data(as_text=True)
    return text, samples(text)


@pytest.fixture
def metered(app):
    with app_with(app, METRICS_TOKEN=TOKEN) as variant:
        yield variant


def test_metrics_exist_only_with_the_setting_and_need_the_token(app, metered):
    assert app.test_client().get("/metrics", headers=AUTH).status_code == 404  # no METRICS_TOKEN: no page
    client = metered.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics").headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401  # the scheme too
    assert client.get("/metrics", headers=AUTH).status_code == 200


def test_requests_are_counted_by_route_never_by_path(metered):
    client = metered.test_client()
    _text, before = scrape(client)
    assert client.get("/hello").status_code == 200
    secret = "a-personal-link-token-ABC123"
    assert client.get(f"/l/{secret}").status_code in (404, 410)
    assert client.get("/no/such/page").status_code == 404
    text, after = scrape(client)
    counted = "akkoord_http_requests_total"
    assert value(after, counted, route="/hello", method="GET", status="200") \
        == value(before, counted, route="/hello", method="GET", status="200") + 1
    token_route = [key for key in after if key[0] == counted and ("route", "/l/<token>") in key[1]]
    assert token_route, "the personal link's route is counted by its rule"
    assert value(after, counted, route="<unmatched>", method="GET", status="404") \
        == value(before, counted, route="<unmatched>", method="GET", status="404") + 1
    assert secret not in text and "/no/such/page" not in text
    assert value(after, "akkoord_http_request_duration_seconds_count", route="/hello", method="GET") \
        == value(before, "akkoord_http_request_duration_seconds_count", route="/hello", method="GET") + 1


def test_the_outbox_rounds_and_a_delivered_mail_are_in_the_figures(metered, db, run_worker, mail_store):
    client = metered.test_client()
    _text, before = scrape(client)
    network, coordinator, people = make_network(db, members=2)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    fresh(db)
    invitations = db.scalar(select(func.count(MailMessage.id)).where(MailMessage.round_id == round_.id))
    assert invitations >= 3
    waiting = value(scrape(client)[1], "akkoord_outbox_items", channel="mail", state="pending")
    assert waiting >= invitations
    run_worker()
    mail_store.wait_for(lambda messages: len(messages) >= invitations)
    _text, after = scrape(client)
    fresh(db)
    by_state = dict(db.execute(select(OutboxItem.status, func.count(OutboxItem.id))
                               .where(OutboxItem.channel == "mail").group_by(OutboxItem.status)).all())
    for state in ("pending", "sending", "sent", "failed", "cancelled"):
        assert value(after, "akkoord_outbox_items", channel="mail", state=state) == by_state.get(state, 0)
    sent = by_state["sent"] - value(before, "akkoord_outbox_items", channel="mail", state="sent")
    assert sent >= invitations
    delivered = "akkoord_outbox_delivery_seconds_count"
    assert value(after, delivered, channel="mail") - value(before, delivered, channel="mail") == sent
    assert value(after, "akkoord_outbox_delivery_seconds_bucket", channel="mail", le="+Inf") \
        == value(after, delivered, channel="mail")
    assert value(after, "akkoord_outbox_attempts_total", channel="mail", outcome="sent") \
        - value(before, "akkoord_outbox_attempts_total", channel="mail", outcome="sent") == sent
    assert value(after, "akkoord_open_rounds") == db.scalar(select(func.count(Round.id)).where(Round.status == "open"))
    assert value(after, "akkoord_failed_jobs") == 0 and ("akkoord_queued_jobs", ()) in after


SUBPROCESS = textwrap.dedent("""
    import sys
    from service import create_app

    app = create_app()
    client = app.test_client()
    for _ in range(int(sys.argv[1])):
        assert client.get("/hello").status_code == 200
    if sys.argv[2] == "scrape":
        answer = client.get("/metrics", headers={"Authorization": "Bearer " + app.config["METRICS_TOKEN"]})
        assert answer.status_code == 200, answer.status_code
        sys.stdout.write(answer.get_data(as_text=True))
""")


@pytest.mark.slow
def test_in_multiprocess_mode_the_processes_counters_add_up(app, tmp_path):
    """Two web processes and a worker, each its own Python, one PROMETHEUS_MULTIPROC_DIR: the scrape in one of
    them sums the requests of both and counts the job that raised in the worker."""
    directory = tmp_path / "metrics"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "METRICS_TOKEN": TOKEN,
           "DATABASE_URL": app.config["DATABASE_URL"], "REDIS_URL": app.config["REDIS_URL"],
           "SMTP_URL": app.config["SMTP_URL"], "SECRET_KEY": "test-secret", "BASE_URL": "http://localhost"}
    env.pop("MAILBOX_DIR", None)
    jobs.queue().enqueue("builtins.int", "not a number")  # a job that raises
    flask = os.path.join(os.path.dirname(sys.executable), "flask")

    def start(*args: str) -> subprocess.Popen:
        return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def output(process: subprocess.Popen) -> str:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr[-3000:]
        return stdout

    # The worker and the first web process side by side (each takes a second or two to start), then the second.
    started = [start(flask, "--app", "service", "worker", "--burst"), start(sys.executable, "-c", SUBPROCESS, "3", "")]
    for process in started:
        output(process)
    scraped = samples(output(start(sys.executable, "-c", SUBPROCESS, "2", "scrape")))
    assert len(list(directory.glob("*.db"))) >= 3  # each process kept its own file
    assert value(scraped, "akkoord_http_requests_total", route="/hello", method="GET", status="200") == 5
    assert value(scraped, "akkoord_http_request_duration_seconds_count", route="/hello", method="GET") == 5
    assert value(scraped, "akkoord_job_failures_total", job="builtins.int") == 1
    assert value(scraped, "akkoord_failed_jobs") == 1
