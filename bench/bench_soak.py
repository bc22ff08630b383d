"""Soak: a round of 1,000 members on 2 web and 2 worker processes, with 20 member clients at once reading the review
page and giving verdicts (and some comments), against a yardstick on the same processes in the same run.

    .venv/bin/python bench/bench_soak.py [--database-url URL] [--members 1000] [--clients 20] [--chapters 3]
                                         [--comment-every 5] [--web 2] [--workers 2]

The database: --database-url, else DATABASE_URL from the environment, else a fresh SQLite file. A PostgreSQL database
is created when it does not exist (the role needs CREATEDB) and its public schema is replaced. Then:

- builds through the workflows a network of `members` people (the coordinator among them) and a document whose
  version is the generated agreement (`shared/tools/gen_agreement.py`, `--chapters` of about 8 pages each);
- starts an embedded Redis, the embedded SMTP server in a process of its own, `--workers` worker processes
  (`flask --app service worker`) and `gunicorn -w <web>` as the Procfile does (gunicorn.conf.py, when there, is
  read as in production), all on 127.0.0.1;
- the yardstick: `--clients` threads asking GET /healthz (or /hello, before health existed) as fast as they can,
  for as many requests as the soak makes, with the same client code;
- opens the round in-process, waits for every invitation at the SMTP server and takes each person's link from it;
- the soak: `--clients` threads, each taking the next person: the link from the mail (GET /l/<token>, 303), the
  review page (as a browser asks it: gzip), every `--comment-every`-th person a comment through the page's form,
  then a verdict through the verdict form (mostly akkoord, some akkoord met opmerkingen or niet akkoord with a
  reason), each POST followed by the page its 303 names, as a browser does;
- reports p50/p95 of the review page and of the member POSTs, errors (any 5xx, refused connection or unexpected
  status; target 0), how long until every verdict's confirmation mail was delivered, and the resident memory (RSS)
  of each process (the gunicorn master and its workers, each worker with RQ's scheduler) before and after.

Every process it starts is stopped, also on error. A measurement, not a test: it exits 0 whether or not the
targets are met.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    GEN_AGREEMENT,
    HOST,
    SECRET_KEY,
    VENV_BIN,
    Children,
    child_env,
    clean_up,
    load_average,
    machine,
    make_app,
    print_table,
    report_failure,
    verdict,
    wait_for_http,
    wait_for_workers,
)

TARGET_ERRORS = 0
TIMEOUT = 60.0
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
# Every member's link is followed from this one machine (127.0.0.1); real members each come from their own address.
# The limit's code runs as always, counting from a higher ceiling (as tests/faults does).
SETTINGS = {"LIMIT_TOKEN_LINKS": "100000/minute"}


# --- The database -------------------------------------------------------------------------------------------------


def prepare_database(url: str | None, workdir: Path) -> str:
    """A fresh database built by the migrations: SQLite in `workdir`, or the given PostgreSQL database (created when
    missing) with its public schema replaced."""
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.exc import OperationalError

    from storage.database.engine import upgrade

    if url is None:
        url = f"sqlite:///{workdir / 'bench.db'}"
    else:
        engine = create_engine(url)
        try:
            with engine.connect():
                pass
        except OperationalError as error:
            if "does not exist" not in str(error):
                raise
            name = make_url(url).database
            server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
            with server.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            server.dispose()
            print(f"created the database {name}")
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url


def build(app, docx: bytes, members: int) -> tuple[int, int, int]:
    """A network of `members` people (the coordinator one of them) and a document on the agreement:
    (network id, document id, coordinator id)."""
    from workflows.domain import documents, membership

    with app.extensions["akkoord_sessions"]() as session:
        coordinator = membership.get_or_create_person(session, name="Coördinator", email="coordinator@example.org")
        network = membership.create_network(session, "Zorgnetwerk Duurtest", coordinator=coordinator)
        for i in range(members - 1):
            membership.add_member(session, network, name=f"Lid {i} van Ëindhoven", email=f"member{i}@example.org",
                                  organisation_name=f"Praktijk {i % 280}", role="member", actor=coordinator)
        document = documents.create_document(session, network, kind="samenwerkingsovereenkomst",
                                             title="Samenwerkingsovereenkomst regio", actor=coordinator)
        documents.upload_version(session, document, filename="overeenkomst.docx", data=docx,
                                 change_note="eerste concept", actor=coordinator)
        session.commit()
        return network.id, document.id, coordinator.id


def open_round(app, document_id: int, coordinator_id: int) -> int:
    from storage.database.models import Document, Person, utcnow
    from workflows.domain import rounds

    with app.extensions["akkoord_sessions"]() as session:
        round_ = rounds.open_round(session, session.get(Document, document_id),
                                   deadline=utcnow() + dt.timedelta(days=14), message="Graag uw reactie.",
                                   actor=session.get(Person, coordinator_id))
        session.commit()
        return round_.id


def outbox_left(app) -> int:
    """Mail due or being sent."""
    from sqlalchemy import func, select

    from storage.database.models import OutboxItem

    with app.extensions["akkoord_sessions"]() as session:
        return session.scalar(select(func.count(OutboxItem.id)).where(
            (OutboxItem.status == "sending")
            | ((OutboxItem.status == "pending") & OutboxItem.next_attempt_at.is_not(None))))


def wait_for_mail(mailbox: Path, count: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        seen = sum(1 for entry in os.scandir(mailbox) if entry.name.endswith(".eml"))
        if seen >= count or time.monotonic() > deadline:
            return seen
        time.sleep(0.2)


# --- The clients ----------------------------------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str  # link, review, comment, verdict, yardstick
    status: int  # 0: no answer (refused, reset, timed out)
    seconds: float
    detail: str = ""


class Browser:
    """One person's browser: its cookies; a new connection for every request (gunicorn's sync workers close each)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, kind: str, method: str, path: str, form: dict | None = None) -> tuple[Sample, str, str]:
        """(sample, body as text, Location)."""
        headers = {"Accept-Encoding": "gzip", "User-Agent": "akkoord-soak"}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except OSError as error:
            return Sample(kind, 0, time.perf_counter() - started, f"{method} {path}: {error!r}"), "", ""
        finally:
            connection.close()
        seconds = time.perf_counter() - started
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                jar = SimpleCookie()
                jar.load(value)
                for morsel in jar.values():
                    self.cookies[morsel.key] = morsel.value
        if response.getheader("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        text = data.decode("utf-8", "replace")
        detail = "" if response.status < 400 else f"{method} {path}: {text[:300]}"
        return Sample(kind, response.status, seconds, detail), text, urlsplit(response.getheader("Location") or "").path


def member(port: int, index: int, link: str, comment_every: int) -> list[Sample]:
    """One member's visit: link, review page, maybe a comment, a verdict; each POST's 303 followed."""
    browser = Browser(port)
    samples = []
    opened, _, review_path = browser.request("link", "GET", link)
    samples.append(opened)
    if opened.status != 303:
        return samples
    page, text, _ = browser.request("review", "GET", review_path)
    samples.append(page)
    if page.status != 200:
        return samples
    if comment_every and index % comment_every == 0:
        token = _csrf(text)
        posted, _, back = browser.request("comment", "POST", f"{review_path}comments", {
            "csrf_token": token, "body": f"Opmerking {index}: graag de termijn in artikel 3 verduidelijken."})
        samples.append(posted)
        if posted.status == 303:
            page, text, _ = browser.request("review", "GET", back)
            samples.append(page)
    value, reason = ("akkoord", "")
    if index % 10 == 3:
        value, reason = "akkoord_met_opmerkingen", "Akkoord, met het verzoek de bijlage nog te actualiseren."
    elif index % 20 == 7:
        value, reason = "niet_akkoord", "De looptijd is te lang voor onze praktijk."
    given, _, back = browser.request("verdict", "POST", f"{review_path}verdict",
                                     {"csrf_token": _csrf(text), "value": value, "reason": reason})
    samples.append(given)
    if given.status == 303:
        samples.append(browser.request("review", "GET", back)[0])
    return samples


def _csrf(text: str) -> str:
    match = CSRF.search(text)
    return (match.group(1) or match.group(2)) if match else ""


def run_clients(clients: int, work: list, step) -> tuple[list[Sample], float]:
    """`clients` threads taking the next item of `work` until none is left: (samples, wall seconds)."""
    samples: list[Sample] = []
    lock = threading.Lock()
    items = iter(enumerate(work))

    def loop() -> None:
        while True:
            with lock:
                item = next(items, None)
            if item is None:
                return
            found = step(*item)
            with lock:
                samples.extend(found)

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, time.perf_counter() - started


# --- Memory -----------------------------------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def processes(web: subprocess.Popen, workers: list[subprocess.Popen]) -> list[tuple[str, int]]:
    """(name, pid) of the gunicorn master, its workers, each RQ worker and what it started (RQ's scheduler)."""
    found = [("gunicorn master", web.pid)]
    found += [(f"gunicorn worker {n + 1}", pid) for n, pid in enumerate(sorted(children_of(web.pid)))]
    for n, worker in enumerate(workers):
        found.append((f"RQ worker {n + 1}", worker.pid))
        found += [(f"  its child (RQ scheduler) {pid}", pid) for pid in sorted(children_of(worker.pid))]
    return found


# --- Figures --------------------------------------------------------------------------------------------------------


def percentiles(samples: list[Sample]) -> str:
    times = sorted(s.seconds * 1000 for s in samples)
    if not times:
        return "-"
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return f"p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms ({len(times)})"


def errors_of(samples: list[Sample], expected: dict[str, int]) -> list[Sample]:
    return [s for s in samples if s.status != expected[s.kind]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="PostgreSQL URL (created if missing; its public schema is replaced); default "
                             "DATABASE_URL, else a fresh SQLite file")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--chapters", type=int, default=3, help="of the generated agreement, ~8 pages each")
    parser.add_argument("--comment-every", type=int, default=5, help="every n-th member also comments (0: none)")
    parser.add_argument("--web", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    args = parser.parse_args()
    members = max(3, min(args.members, 5000))
    clients = max(1, min(args.clients, 64))
    web_processes = max(1, min(args.web, 8))
    worker_count = max(1, min(args.workers, 8))

    from service.embedded.servers import free_port, start_redis_server

    workdir = Path(tempfile.mkdtemp(prefix="akkoord-bench-soak-"))
    children = Children()
    redis = app = None
    try:
        database = "PostgreSQL" if args.database_url else "SQLite"
        print(f"machine: {machine()}; {database}; work directory {workdir}")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(GEN_AGREEMENT), str(workdir / "agreement"),
                        "--chapters", str(max(1, min(args.chapters, 25)))], check=True, stdout=subprocess.DEVNULL)
        docx = (workdir / "agreement" / "v1.docx").read_bytes()
        redis = start_redis_server(workdir / "redis")
        database_url = prepare_database(args.database_url, workdir)
        mailbox = workdir / "mailbox"
        mailbox.mkdir()
        smtp_port, web_port = free_port(), free_port()
        smtp_url = f"smtp://{HOST}:{smtp_port}"
        children.start([str(VENV_BIN / "python"), "-c", "from service.embedded.servers import "
                        f"serve_smtp_forever; serve_smtp_forever({str(mailbox)!r}, port={smtp_port})"],
                       env=child_env(), log=workdir / "smtp.log")
        base_url = f"http://{HOST}:{web_port}"
        app = make_app(database_url, redis.url, SMTP_URL=smtp_url, BASE_URL=base_url)
        _network_id, document_id, coordinator_id = build(app, docx, members)
        print(f"setup: {members} people and a document of {len(docx) // 1024} KB in {time.perf_counter() - t0:.1f} s")

        env = child_env(DATABASE_URL=database_url, REDIS_URL=redis.url, SMTP_URL=smtp_url, BASE_URL=base_url,
                        SECRET_KEY=SECRET_KEY, **SETTINGS)
        workers = [children.start([str(VENV_BIN / "flask"), "--app", "service", "worker"], env=env,
                                  log=workdir / f"worker{n}.log") for n in range(worker_count)]
        web = children.start([str(VENV_BIN / "gunicorn"), "-w", str(web_processes), "-b", f"{HOST}:{web_port}",
                              "--timeout", "60", "service:create_app()"], env=env, log=workdir / "web.log")
        wait_for_workers(redis.url, workers)
        wait_for_http(web_port, process=web, timeout=60)
        probe = Browser(web_port)
        yard_path = "/healthz" if probe.request("yardstick", "GET", "/healthz")[0].status == 200 else "/hello"
        for _ in range(4 * web_processes):  # every web process up and its app made before any figure
            probe.request("yardstick", "GET", yard_path)
        memory_before = {name: rss_mib(pid) for name, pid in processes(web, workers)}

        open_round(app, document_id, coordinator_id)
        delivered = wait_for_mail(mailbox, members, 120)
        from service.embedded.servers import MailStore

        links = [next(urlsplit(url).path for url in m.links() if "/l/" in urlsplit(url).path)
                 for m in MailStore(mailbox).list() if any("/l/" in url for url in m.links())]
        print(f"invitations: {delivered} delivered, {len(links)} links")

        samples, wall = run_clients(clients, links,
                                    lambda index, link: member(web_port, index, link, args.comment_every))
        posts = Counter(s.kind for s in samples if s.kind in ("comment", "verdict") and s.status == 303)
        soaked = time.perf_counter()
        expected_mail = members + posts["verdict"]
        mails = wait_for_mail(mailbox, expected_mail, 120)
        confirmations = time.perf_counter() - soaked
        settle = time.monotonic() + 60
        while outbox_left(app) and time.monotonic() < settle:
            time.sleep(0.2)
        # The yardstick: as many requests as the soak made, at the same concurrency, from the same client code, on
        # the same processes once their mail is out.
        yard, yard_wall = run_clients(clients, [None] * len(samples),
                                      lambda _i, _x: [Browser(web_port).request("yardstick", "GET", yard_path)[0]])
        memory_after = [(name, memory_before.get(name), rss_mib(pid)) for name, pid in processes(web, workers)]

        expected = {"link": 303, "review": 200, "comment": 303, "verdict": 303, "yardstick": 200}
        failures = errors_of(samples, expected) + errors_of(yard, expected)
        reviews = [s for s in samples if s.kind == "review"]
        member_posts = [s for s in samples if s.kind in ("comment", "verdict")]
        rows = [
            (f"member visits ({clients} clients, {web_processes} web + {worker_count} worker processes)",
             f"{len(links)} in {wall:.1f} s ({len(samples)} requests, {len(samples) / wall:.0f}/s)", "", ""),
            ("review page (GET /review/<id>/, gzip)", percentiles(reviews), "", ""),
            ("member POSTs (verdict + comment, 303)", percentiles(member_posts), "", ""),
            ("  verdict POST", percentiles([s for s in samples if s.kind == "verdict"]), "", ""),
            ("  comment POST", percentiles([s for s in samples if s.kind == "comment"]), "", ""),
            ("  GET /l/<token> (303)", percentiles([s for s in samples if s.kind == "link"]), "", ""),
            (f"yardstick: GET {yard_path}, same clients", percentiles(yard) + f", {len(yard) / yard_wall:.0f}/s",
             "", ""),
            ("review p50 / yardstick p50",
             f"{statistics.median(s.seconds for s in reviews) / statistics.median(s.seconds for s in yard):.1f}x"
             if reviews and yard else "-", "", ""),
            ("errors (5xx, no answer, unexpected status)", str(len(failures)), f"{TARGET_ERRORS}",
             verdict(len(failures) <= TARGET_ERRORS)),
            ("mail: invitations + verdict confirmations", f"{mails} of {expected_mail}", f"{expected_mail}",
             verdict(mails == expected_mail)),
            ("  last confirmation after the last member POST", f"{confirmations:.1f} s",
             "", ""),
        ]
        rows += [(f"RSS {name}", f"{after:.0f} MiB" + (f" (before {before:.0f})" if before else ""), "", "")
                 for name, before, after in memory_after if after is not None]
        print_table(f"Soak: a round of {members} on {database} ({time.strftime('%Y-%m-%d')}, {machine()}, "
                    f"load average {load_average()})", rows)
        for failure in failures[:10]:
            print(f"  error: {failure.kind} {failure.status} {failure.detail}")
        if failures:
            print(f"web log (tail):\n{(workdir / 'web.log').read_text(errors='replace')[-3000:]}")
    except Exception as error:  # a measurement: report what broke, stop what we started, exit 0
        report_failure(error)
    finally:
        clean_up(workdir, app=app, redis=redis, children=children)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
