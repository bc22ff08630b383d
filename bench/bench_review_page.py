"""Benchmark 1: the member's review page of a 200-page agreement with 1,000 comments, against hello-world.

    .venv/bin/python bench/bench_review_page.py [--seconds 10] [--connections 8] [--profile]

Builds a fresh SQLite database (migrations) in a temporary directory holding two networks:
300 members / 1,000 comments and 30 members / 100 comments, each reviewing the generated
200-page agreement (shared/tools/gen_agreement.py: ~2,000 paragraphs, 20 tables). Then:

- SQL statements per review-page request, counted in-process (app.test_client and a
  before_cursor_execute listener on the app's engine) for both sizes: the count must not grow
  with members or comments (target <= 15);
- requests/second for GET /hello and GET /review/<participant>/ (with the cookie from
  GET /l/<token>) on gunicorn with 2 workers, driven by wrk for the same time each; target:
  the review page makes at least 20% of hello-world's rate;
- if that target is missed (or with --profile) a cProfile of warm review-page requests
  in-process, summarised by where the time goes.

It is a measurement, not a test: it exits 0 whether or not the targets are met.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    GEN_AGREEMENT,
    HOST,
    SECRET_KEY,
    VENV_BIN,
    Children,
    callees,
    child_env,
    clean_up,
    find_functions,
    fresh_database,
    http_get,
    indent,
    load_average,
    machine,
    make_app,
    print_table,
    report_failure,
    run_wrk,
    trim_pstats,
    verdict,
    wait_for_http,
)

TARGET_RATIO = 0.20
TARGET_QUERIES = 15
SIZES = ((300, 1000), (30, 100))  # (members, comments); the first one is put under load

COMMENT_PHRASES = [
    "Graag verduidelijken wie hier verantwoordelijk is.",
    "Wij stellen voor om de termijn te verlengen naar drie maanden.",
    "Dit sluit niet aan bij de afspraken in de regio; kunnen we dit bespreken op de bijeenkomst?",
    "Akkoord met de strekking, maar de formulering kan scherper.",
    "Hoe verhoudt dit artikel zich tot de privacyverklaring van het netwerk?",
    "De patiëntenvereniging mist hier de rol van ervaringsdeskundigen.",
    "Is dit haalbaar voor kleinere huisartsenpraktijken?",
    "Wie draagt de kosten van deze maatregel?",
]


def comment_body(n: int) -> str:
    return " ".join(COMMENT_PHRASES[(n + i) % len(COMMENT_PHRASES)] for i in range(1 + n % 4))


def build_network(app, docx: bytes, *, members: int, comments: int, tag: str) -> dict:
    """A network of `members` memberships (coordinator, editor, members) with an open round on the
    agreement and `comments` comments spread over the participants and the passages; two personal links
    for one ordinary member (one for the in-process client, one for the HTTP load)."""
    import datetime as dt

    from sqlalchemy import select

    from storage.database.models import Participant, utcnow
    from workflows.domain import documents, membership, rounds

    sessions = app.extensions["akkoord_sessions"]
    with sessions() as session:
        coordinator = membership.get_or_create_person(session, name=f"Coördinator {tag}",
                                                      email=f"coordinator-{tag}@example.org")
        network = membership.create_network(session, f"Zorgnetwerk {tag}", coordinator=coordinator)
        editor = membership.add_member(session, network, name=f"Redacteur {tag}", email=f"editor-{tag}@example.org",
                                       organisation_name=f"Expertisecentrum {tag}", role="editor",
                                       actor=coordinator).person
        for i in range(members - 2):
            membership.add_member(session, network, name=f"Lid {i} {tag}", email=f"member{i}-{tag}@example.org",
                                  organisation_name=f"Organisatie {i % 40} {tag}", role="member", actor=coordinator)
        document = documents.create_document(session, network, kind="samenwerkingsovereenkomst",
                                             title=f"Samenwerkingsovereenkomst {tag}", actor=editor)
        version = documents.upload_version(session, document, filename="v1.docx", data=docx,
                                           change_note="eerste concept", actor=editor)
        round_ = rounds.open_round(session, document, deadline=utcnow() + dt.timedelta(days=30),
                                   message="Graag uw reactie voor de deadline.", actor=coordinator)
        session.commit()
        block_ids = [block["id"] for block in version.blocks]
        participants = list(session.scalars(
            select(Participant).where(Participant.round_id == round_.id).order_by(Participant.id)
        ))
        for n in range(comments):
            participant = participants[(n * 7) % len(participants)]
            block_id = None if n % 10 == 0 else block_ids[(n * 37) % len(block_ids)]
            rounds.add_comment(session, participant, body=comment_body(n), block_id=block_id)
            if n % 100 == 99:
                session.commit()
        reviewer = next(p for p in participants if p.person.email == f"member0-{tag}@example.org")
        tokens = [rounds.mint_link(session, reviewer.id), rounds.mint_link(session, reviewer.id)]
        session.commit()
        return {"members": members, "comments": comments, "participant_id": reviewer.id, "tokens": tokens,
                "blocks": len(block_ids)}


def in_process_figures(app, net: dict) -> dict:
    """Statements per warm review-page request and the page size, through app.test_client."""
    from sqlalchemy import event

    engine = app.extensions["akkoord_engine"]
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    client = app.test_client()
    response = client.get(f"/l/{net['tokens'][0]}")
    assert response.status_code == 303, response.status_code
    path = f"/review/{net['participant_id']}/"
    event.listen(engine, "before_cursor_execute", count)
    try:
        cold = client.get(path)
        cold_count = len(statements)
        statements.clear()
        warm = client.get(path)
        warm_statements = list(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert cold.status_code == 200 and warm.status_code == 200, (cold.status_code, warm.status_code)
    started = time.perf_counter()
    for _ in range(20):
        client.get(path)
    ms = (time.perf_counter() - started) / 20 * 1000
    return {"cold": cold_count, "warm": len(warm_statements), "statements": warm_statements,
            "kb": len(warm.data) / 1024, "ms": ms, "client": client, "path": path}


def profile_review(app, figures: dict, requests: int = 40) -> str:
    """Where a warm review-page request spends its time (in-process, test client, cProfile)."""
    from sqlalchemy import event

    client, path = figures["client"], figures["path"]
    engine = app.extensions["akkoord_engine"]
    sql_time = [0.0]
    started: list[float] = []

    def before(*_):
        started.append(time.perf_counter())

    def after(*_):
        sql_time[0] += time.perf_counter() - started.pop()

    for _ in range(3):
        client.get(path)  # warm every cache first
    t0 = time.perf_counter()
    for _ in range(requests):
        client.get(path)
    plain = (time.perf_counter() - t0) / requests

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        for _ in range(requests):
            client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    sql_per_request = sql_time[0] / requests

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        client.get(path)
    profiler.disable()
    stats = pstats.Stats(profiler)
    per_request = sum(row[2] for row in stats.stats.values()) / requests  # all own time = profiled time

    out = io.StringIO()
    out.write(f"\nProfile of {requests} warm review-page requests in-process ({figures['kb']:.0f} KB page)\n")
    out.write(f"  wall time per request without profiler: {plain * 1000:.1f} ms "
              f"(of which in the SQLite cursor: {sql_per_request * 1000:.1f} ms)\n")
    out.write(f"  with cProfile: {per_request * 1000:.1f} ms per request; shares below are of that\n")
    view = find_functions(stats, lambda f, n: f.endswith("service/views/member.py") and n == "review")
    template = find_functions(stats, lambda f, n: f.endswith("review.html") and n == "block_content")
    out.write("\n  The view's direct callees (time spent under each, per request):\n")
    out.write(callees(stats, view, requests, per_request))
    out.write("\n  Inside the review.html content block (the comment loop), direct callees:\n")
    out.write(callees(stats, template, requests, per_request))
    out.write(what_ifs(app, figures))
    out.write("\n  Top functions by own time (tottime):\n")
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(12)
    out.write(indent(trim_pstats(buffer.getvalue())))
    return out.getvalue()


def what_ifs(app, figures: dict, repeat: int = 10) -> str:
    """The two biggest costs measured in isolation next to a cheaper way to get the same values (nothing in the
    service is changed: these only show how much a fix could save)."""
    from zoneinfo import ZoneInfo

    from babel import Locale
    from babel.dates import get_month_names
    from flask_babel import get_locale
    from sqlalchemy import select

    from service.web.templating import when
    from storage.database.models import Comment, Participant, Person

    def timed(fn) -> float:
        fn()
        started = time.perf_counter()
        for _ in range(repeat):
            fn()
        return (time.perf_counter() - started) / repeat * 1000

    participant_id = int(figures["path"].strip("/").split("/")[-1])
    out = io.StringIO()
    with app.test_request_context("/"):
        session = app.extensions["akkoord_read_sessions"]()
        try:
            round_id = session.get(Participant, participant_id).round_id
            orm = lambda: session.scalars(  # noqa: E731 - what the view does today
                select(Comment).where(Comment.round_id == round_id).order_by(Comment.id)).all()
            columns = lambda: session.execute(  # noqa: E731 - only what review.html shows
                select(Comment.id, Comment.block_id, Comment.quote, Comment.body, Comment.created_at, Person.name)
                .join(Person, Person.id == Comment.person_id).where(Comment.round_id == round_id)
                .order_by(Comment.id)).all()
            comments = orm()
            dates = [c.created_at for c in comments]
            orm_ms, columns_ms = timed(orm), timed(columns)
            locale = Locale.parse(str(get_locale()))
            months = get_month_names("abbreviated", locale=locale)
            zone = ZoneInfo(app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Amsterdam"))

            def table_format():
                for value in dates:
                    local = value.astimezone(zone)
                    f"{local.day} {months[local.month]} {local.year}, {local:%H:%M}"

            when_ms = timed(lambda: [when(value) for value in dates])
            table_ms = timed(table_format)
        finally:
            session.close()
    out.write(f"\n  Possible savings, measured in isolation ({len(comments)} comments, no profiler):\n")
    out.write(f"    comments query as ORM objects (Comment + joined Person): {orm_ms:6.1f} ms"
              f"   vs only the shown columns as rows: {columns_ms:6.1f} ms\n")
    out.write(f"    |when on every comment date (flask_babel.format_datetime): {when_ms:6.1f} ms"
              f"   vs a month-name table + strftime: {table_ms:6.1f} ms\n")
    return out.getvalue()


def ceiling_app():
    """gunicorn entry point for the ceiling: the same app plus GET /bench/constant, which answers with the bytes
    of a review page saved earlier (BENCH_PAGE_FILE). No view, query or template: what a fully cached page of
    this size would cost through gunicorn, Flask and the socket."""
    from flask import Response

    from service import create_app

    app = create_app()
    page = Path(os.environ["BENCH_PAGE_FILE"]).read_bytes()
    app.add_url_rule("/bench/constant", "bench_constant", lambda: Response(page, mimetype="text/html"))
    return app


def combine(runs: list[dict]) -> dict:
    """Equal-length wrk runs as one: mean rate, summed counts, latency percentiles of the slowest slice."""
    return {
        "rps": sum(r["rps"] for r in runs) / len(runs), "requests": sum(r["requests"] for r in runs),
        "non_2xx": sum(r["non_2xx"] for r in runs),
        "socket_errors": "; ".join(r["socket_errors"] for r in runs if r["socket_errors"]),
        "p50": max((r["p50"] for r in runs), key=_ms), "p99": max((r["p99"] for r in runs), key=_ms),
    }


def _ms(text: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60000.0)):
        if text.endswith(unit):
            try:
                return float(text[: -len(unit)]) * factor
            except ValueError:
                return 0.0
    return 0.0


def session_cookie(port: int, token: str) -> str:
    status, headers, _ = http_get(port, f"/l/{token}")
    if status != 303:
        raise RuntimeError(f"GET /l/<token> answered {status}, expected 303")
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("session="):
            return value.split(";", 1)[0]
    raise RuntimeError("GET /l/<token> set no session cookie")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per endpoint (default 10)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--profile", action="store_true", help="profile the review page even if the target is met")
    parser.add_argument("--no-ceiling", action="store_true",
                        help="skip the ceiling run (the same page served as constant bytes)")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one review-page request")
    args = parser.parse_args()
    seconds = max(1, min(args.seconds, 120))
    connections = max(1, min(args.connections, 64))

    from service.embedded.servers import free_port, start_redis_server

    workdir = Path(tempfile.mkdtemp(prefix="akkoord-bench-review-"))
    children = Children()
    redis = app = None
    rows = []
    try:
        print(f"machine: {machine()}; work directory {workdir}")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(GEN_AGREEMENT), str(workdir / "agreement")], check=True,
                       stdout=subprocess.DEVNULL)
        docx = (workdir / "agreement" / "v1.docx").read_bytes()
        redis = start_redis_server(workdir / "redis")
        database_url = fresh_database(workdir)
        app = make_app(database_url, redis.url)
        networks = [build_network(app, docx, members=m, comments=c, tag=f"m{m}c{c}") for m, c in SIZES]
        print(f"setup: agreement of {networks[0]['blocks']} blocks, networks "
              + ", ".join(f"{n['members']} members/{n['comments']} comments" for n in networks)
              + f", in {time.perf_counter() - t0:.1f} s")

        figures = [in_process_figures(app, net) for net in networks]
        for net, fig in zip(networks, figures):
            print(f"in-process: {net['members']} members/{net['comments']} comments: {fig['warm']} statements "
                  f"per warm request ({fig['cold']} on the first, which renders the body), page {fig['kb']:.0f} KB, "
              f"{fig['ms']:.0f} ms per warm request")
        if args.show_sql:
            for statement in figures[0]["statements"]:
                print("   ", " ".join(statement.split())[:160])

        large = networks[0]
        port = free_port()
        env = child_env(DATABASE_URL=database_url, REDIS_URL=redis.url, SECRET_KEY=SECRET_KEY,
                        BASE_URL=f"http://{HOST}:{port}")
        gunicorn = children.start(
            [str(VENV_BIN / "gunicorn"), "-w", "2", "-b", f"{HOST}:{port}", "service:create_app()"],
            env=env, log=workdir / "gunicorn.log")
        wait_for_http(port, "/hello", process=gunicorn)
        cookie = session_cookie(port, large["tokens"][1])
        review_path = f"/review/{large['participant_id']}/"
        status, _, body = http_get(port, review_path, headers={"Cookie": cookie})
        if status != 200:
            raise RuntimeError(f"GET {review_path} with the cookie answered {status}")
        base = f"http://{HOST}:{port}"
        # Warm both workers (the rendered body is cached per process), then measure each for the same time.
        run_wrk(base + review_path, seconds=2, connections=connections, threads=1, headers={"Cookie": cookie})
        run_wrk(base + "/hello", seconds=2, connections=connections, threads=1)
        # Alternate the two in slices, so that other load on the machine falls on both alike.
        # Twice: as a browser asks (Accept-Encoding: gzip, for both routes) and without compression.
        slices = 2 if seconds >= 4 else 1
        gzip_header = {"Accept-Encoding": "gzip"}
        hello_runs, review_runs, hello_gz_runs, review_gz_runs = [], [], [], []
        for _ in range(slices):
            hello_runs.append(run_wrk(base + "/hello", seconds=seconds // slices, connections=connections, threads=1))
            review_runs.append(run_wrk(base + review_path, seconds=seconds // slices, connections=connections,
                                       threads=1, headers={"Cookie": cookie}))
            hello_gz_runs.append(run_wrk(base + "/hello", seconds=seconds // slices, connections=connections,
                                         threads=1, headers=gzip_header))
            review_gz_runs.append(run_wrk(base + review_path, seconds=seconds // slices, connections=connections,
                                          threads=1, headers={"Cookie": cookie, **gzip_header}))
        hello, review = combine(hello_runs), combine(review_runs)
        hello_gz, review_gz = combine(hello_gz_runs), combine(review_gz_runs)
        status, headers_gz, body_gz = http_get(port, review_path, headers={"Cookie": cookie, **gzip_header})
        gz_kb = len(body_gz) / 1024
        for name, result in (("hello", hello), ("review", review), ("hello gzip", hello_gz), ("review gzip", review_gz)):
            if result["non_2xx"] or result["socket_errors"]:
                print(f"warning: {name}: {result['non_2xx']} non-2xx responses; "
                      f"socket errors: {result['socket_errors']}")
        ratio = review["rps"] / hello["rps"] if hello["rps"] else 0.0
        ratio_gz = review_gz["rps"] / hello_gz["rps"] if hello_gz["rps"] else 0.0
        children.stop()

        # The ceiling: the same page as constant bytes from the same app stack (see ceiling_app).
        ceiling = None
        if not args.no_ceiling:
            page_file = workdir / "review-page.html"
            page_file.write_bytes(body)
            port = free_port()
            env = child_env(DATABASE_URL=database_url, REDIS_URL=redis.url, SECRET_KEY=SECRET_KEY,
                            BASE_URL=f"http://{HOST}:{port}", BENCH_PAGE_FILE=str(page_file))
            server = children.start([str(VENV_BIN / "gunicorn"), "-w", "2", "-b", f"{HOST}:{port}",
                                     "--pythonpath", str(Path(__file__).resolve().parent),
                                     "bench_review_page:ceiling_app()"], env=env, log=workdir / "gunicorn-ceiling.log")
            wait_for_http(port, "/hello", process=server)
            run_wrk(f"http://{HOST}:{port}/bench/constant", seconds=2, connections=connections, threads=1)
            ceiling = run_wrk(f"http://{HOST}:{port}/bench/constant", seconds=seconds, connections=connections,
                              threads=1)
            children.stop()
            if ceiling["non_2xx"] or ceiling["socket_errors"]:
                print(f"warning: ceiling: {ceiling['non_2xx']} non-2xx; socket errors: {ceiling['socket_errors']}")

        big, small = figures[0], figures[1]
        constant = big["warm"] == small["warm"]
        rows = [
            (f"GET /hello req/s, as a browser (Accept-Encoding: gzip; gunicorn -w 2, wrk -c{connections})",
             f"{hello_gz['rps']:.0f} (p50 {hello_gz['p50']}, p99 {hello_gz['p99']})", "", ""),
            (f"GET /review/<id>/ req/s, as a browser ({large['members']} members, {large['comments']} comments)",
             f"{review_gz['rps']:.0f} (p50 {review_gz['p50']}, p99 {review_gz['p99']})", "", ""),
            ("review / hello, as a browser", f"{ratio_gz * 100:.1f}%", f">= {TARGET_RATIO * 100:.0f}%",
             verdict(ratio_gz >= TARGET_RATIO)),
            (f"GET /hello req/s, no Accept-Encoding ({seconds} s)",
             f"{hello['rps']:.0f} (p50 {hello['p50']}, p99 {hello['p99']})", "", ""),
            ("GET /review/<id>/ req/s, no Accept-Encoding",
             f"{review['rps']:.0f} (p50 {review['p50']}, p99 {review['p99']})", "", ""),
            ("review / hello, no Accept-Encoding", f"{ratio * 100:.1f}%", f">= {TARGET_RATIO * 100:.0f}%",
             verdict(ratio >= TARGET_RATIO)),
            ("review page bytes sent gzipped", f"{gz_kb:.0f} KB", "", ""),
        ]
        if ceiling is not None:
            rows += [
                ("ceiling: same page as constant bytes, req/s",
                 f"{ceiling['rps']:.0f} (p50 {ceiling['p50']}, p99 {ceiling['p99']})", "", ""),
                ("ceiling / hello", f"{ceiling['rps'] / hello['rps'] * 100:.1f}%", "", ""),
            ]
        rows += [
            (f"SQL statements per review request ({networks[1]['members']}/{networks[1]['comments']})",
             str(small["warm"]), f"<= {TARGET_QUERIES}", verdict(small["warm"] <= TARGET_QUERIES)),
            (f"SQL statements per review request ({large['members']}/{large['comments']})",
             str(big["warm"]), f"<= {TARGET_QUERIES}, constant",
             verdict(big["warm"] <= TARGET_QUERIES and constant)),
            (f"review page size ({large['members']}/{large['comments']})", f"{big['kb']:.0f} KB", "", ""),
            (f"review page size ({networks[1]['members']}/{networks[1]['comments']})", f"{small['kb']:.0f} KB", "", ""),
            (f"in-process ms per warm review request ({large['members']}/{large['comments']})", f"{big['ms']:.0f} ms",
             "", ""),
            (f"in-process ms per warm review request ({networks[1]['members']}/{networks[1]['comments']})",
             f"{small['ms']:.0f} ms", "", ""),
        ]
        print_table(f"Benchmark 1: review page ({time.strftime('%Y-%m-%d')}, {machine()}, "
                    f"load average {load_average()})", rows)
        print("(statements counted with before_cursor_execute, BEGIN included; wrk shares the CPU with gunicorn)")

        if ratio < TARGET_RATIO or args.profile:
            print(profile_review(app, big))
    except Exception as error:  # a measurement: report what broke, stop what we started, exit 0
        report_failure(error)
        log = workdir / "gunicorn.log"
        if log.exists():
            print("gunicorn log (tail):\n" + log.read_text(errors="replace")[-3000:], file=sys.stderr)
    finally:
        clean_up(workdir, app=app, redis=redis, children=children)
    return 0


if __name__ == "__main__":
    sys.exit(main())
