"""Requests by address: the response time of POST /signin and POST /link for a known and an unknown address.

    .venv/bin/python bench/bench_address_requests.py [--requests 200] [--pages /signin,/link]

Builds a fresh SQLite database (migrations) with one network (a coordinator, an editor and members in an open
round) and an embedded Redis; then, in-process (app.test_client), after a warm-up, sends `--requests` requests
for a known address (the coordinator for /signin, a member in the round for /link) and as many for an unknown
one, interleaved, each from a client address of its own, and prints the median and 90th percentile of each.
The caps per address and per client are raised by their settings so every request does the whole work (the
code path is the one production runs). No worker runs: the jobs the requests hand over stay in Redis.

It is a measurement, not a test (tests/service/test_limits.py holds the same work for both, statement by
statement): it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fresh_database, load_average, machine, make_app  # noqa: E402

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def build_network(app) -> dict:
    import datetime as dt

    from storage.database.models import utcnow
    from workflows.domain import documents, membership, rounds

    with app.extensions["akkoord_sessions"]() as session:
        coordinator = membership.get_or_create_person(session, name="Coördinator", email="coordinator@example.org")
        network = membership.create_network(session, "Zorgnetwerk Bench", coordinator=coordinator)
        for i in range(20):
            membership.add_member(session, network, name=f"Lid {i}", email=f"member{i}@example.org",
                                  organisation_name=f"Praktijk {i}", role="member", actor=coordinator)
        document = documents.create_document(session, network, kind="samenwerkingsovereenkomst",
                                             title="Samenwerkingsovereenkomst", actor=coordinator)
        documents.upload_version(session, document, filename="v1.md", data=b"# Titel\n\nTekst.\n",
                                 change_note="eerste concept", actor=coordinator)
        rounds.open_round(session, document, deadline=utcnow() + dt.timedelta(days=30), message="Graag reageren.",
                          actor=coordinator)
        session.commit()
    return {"/signin": "coordinator@example.org", "/link": "member3@example.org"}


def measure(app, page: str, known: str, requests: int) -> dict[str, list[float]]:
    client = app.test_client()
    token = CSRF.search(client.get(page).get_data(as_text=True)).group(1)
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    addresses = {"known": known, "unknown": "nobody-at-all@example.org"}
    for n in range(requests * 2 + 40):
        kind = ("known", "unknown")[n % 2]
        client.environ_base["REMOTE_ADDR"] = f"10.{n // 62500}.{n // 250 % 250}.{n % 250 + 1}"
        started = time.perf_counter()
        response = client.post(page, data={"email": addresses[kind], "csrf_token": token})
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"POST {page} answered {response.status_code}")
        if n >= 40:  # the first 40 warm up (templates, statements, Lua scripts)
            times[kind].append(elapsed * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per address and page")
    parser.add_argument("--pages", default="/signin,/link")
    args = parser.parse_args()

    from service.embedded.servers import start_redis_server

    with tempfile.TemporaryDirectory(prefix="akkoord-bench-") as tmp:
        workdir = Path(tmp)
        redis = start_redis_server(workdir / "redis")
        try:
            app = make_app(fresh_database(workdir), redis.url, SMTP_URL="smtp://127.0.0.1:9",
                           LIMIT_ADDRESS_REQUESTS="1000000/minute", LIMIT_MAILS_PER_ADDRESS="1000000/hour")
            known = build_network(app)
            print(f"machine: {machine()}; load average {load_average()}; {args.requests} requests per address")
            print(f"{'page':<8} {'address':<8} {'median ms':>10} {'p90 ms':>8}")
            for page in args.pages.split(","):
                times = measure(app, page, known[page], args.requests)
                for kind, values in times.items():
                    p90 = statistics.quantiles(values, n=10)[-1]
                    print(f"{page:<8} {kind:<8} {statistics.median(values):>10.2f} {p90:>8.2f}")
            app.extensions["akkoord_engine"].dispose()
        finally:
            redis.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
