"""Benchmark 2: open a comment round for 1,000 members and deliver the 1,000 invitations with 2 workers, against a
plain RQ batch sender on the same SMTP server in the same run.

    .venv/bin/python bench/bench_round_mail.py [--members 1000] [--workers 2] [--database-url URL] [--profile]

It builds a fresh database (SQLite by default; PostgreSQL with --database-url, whose public schema it replaces)
with a network of `members` people and a document, an embedded Redis, and an embedded SMTP server in a process of
its own (so its CPU is not counted as the workers'). Then:

- starts `workers` long-running worker processes (`flask --app service worker`, as the Procfile does) and waits
  until they listen;
- times rounds.open_round + commit in-process (target <= 2 s), and from the commit until the SMTP server has
  accepted every invitation (target <= 2 s), and reads the workers' CPU time from /proc (target <= 3 ms a mail);
- the yardstick, in the same run and on the same SMTP server: `workers` plain RQ workers (`rq worker --burst`,
  a forked work horse per job) sending the same number of ready-made messages of the same size, in jobs of 50
  over one SMTP connection each; the ratio of the two times is printed.

Every process it starts is stopped, also on error. It is a measurement, not a test: it exits 0 whether or not the
targets are met.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    SECRET_KEY,
    VENV_BIN,
    Children,
    child_env,
    clean_up,
    indent,
    load_average,
    machine,
    make_app,
    print_table,
    process_cpu,
    report_failure,
    trim_pstats,
    verdict,
    wait_for_workers,
)

TARGET_OPEN_SECONDS = 2.0
TARGET_DELIVERY_SECONDS = 2.0
TARGET_CPU_MS = 3.0
BATCH = 50

DRAFT = """# Samenwerkingsovereenkomst zorgnetwerk

## Artikel 1 Doel

De partijen werken samen aan goede zorg voor mensen met een zeldzame aandoening in de regio.

## Artikel 2 Taken

- De patiëntenvereniging brengt de ervaringskennis in.
- Het expertisecentrum brengt de medische kennis in.
- De huisartsen zorgen voor de verwijzing.

## Artikel 3 Besluitvorming

Dit document wordt definitief zodra iedereen akkoord is.
"""


def prepare_database(url: str | None, workdir: Path) -> str:
    """A fresh database built by the migrations: SQLite in `workdir`, or the given PostgreSQL emptied first."""
    from sqlalchemy import create_engine, text

    from storage.database.engine import upgrade

    if url is None:
        url = f"sqlite:///{workdir / 'bench.db'}"
    else:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url


def build(app, members: int) -> tuple[int, int, int]:
    """A network of `members` memberships (coordinator, editor, members) and two documents with a small version."""
    from workflows.domain import documents, membership

    with app.extensions["akkoord_sessions"]() as session:
        coordinator = membership.get_or_create_person(session, name="Coördinator", email="coordinator@example.org")
        network = membership.create_network(session, "Zorgnetwerk Benchmark", coordinator=coordinator)
        editor = membership.add_member(session, network, name="Redacteur", email="editor@example.org",
                                       organisation_name="Expertisecentrum", role="editor", actor=coordinator).person
        for i in range(members - 2):
            membership.add_member(session, network, name=f"Lid {i} van Ëindhoven", email=f"member{i}@example.org",
                                  organisation_name=f"Organisatie {i % 60}", role="member", actor=coordinator)
        document = documents.create_document(session, network, kind="samenwerkingsovereenkomst",
                                             title="Samenwerkingsovereenkomst", actor=editor)
        documents.upload_version(session, document, filename="concept.md", data=DRAFT.encode(),
                                 change_note="eerste concept", actor=editor)
        # A second document, only for the profile after the measurement (its own round and invitations).
        spare = documents.create_document(session, network, kind="notitie", title="Notitie", actor=editor)
        documents.upload_version(session, spare, filename="notitie.md", data=DRAFT.encode(),
                                 change_note="eerste concept", actor=editor)
        session.commit()
        return document.id, spare.id, coordinator.id


def open_round_timed(app, document_id: int, coordinator_id: int) -> tuple[float, int]:
    """Seconds for open_round + commit (the commit's after-commit hook enqueues the deliveries), and the round id."""
    from storage.database.models import Document, Person, utcnow
    from workflows.domain import rounds

    with app.extensions["akkoord_sessions"]() as session:
        document = session.get(Document, document_id)
        coordinator = session.get(Person, coordinator_id)
        started = time.perf_counter()
        round_ = rounds.open_round(session, document, deadline=utcnow() + dt.timedelta(days=14),
                                   message="Graag uw reactie.", actor=coordinator)
        session.commit()
        return time.perf_counter() - started, round_.id


def wait_for_mail(directory: Path, count: int, timeout: float) -> tuple[float | None, int]:
    """The perf_counter time at which `count` messages are stored (None after `timeout`), polling the folder."""
    started = time.perf_counter()
    seen = 0
    while time.perf_counter() - started < timeout:
        seen = sum(1 for entry in os.scandir(directory) if entry.name.endswith(".eml"))
        if seen >= count:
            return time.perf_counter(), seen
        time.sleep(0.02)  # polling is this process's CPU, taken from the two cores the workers and SMTP share
    return None, seen


def yardstick(redis_url: str, smtp_url: str, mailbox: Path, mails: int, size: int, workers: int,
              children: Children, workdir: Path, timeout: float) -> tuple[float | None, float]:
    """A plain RQ batch sender: messages of about `size` bytes made with EmailMessage in jobs of BATCH, each job over
    one SMTP connection, `workers` plain `rq worker --burst` processes (a forked work horse per job). Returns
    (seconds from the first enqueue to the last message accepted, CPU seconds of the workers and their horses)."""
    import yardstick_sender
    from redis import Redis
    from rq import Queue

    for entry in os.scandir(mailbox):
        os.unlink(entry.path)
    queue = Queue("yardstick", connection=Redis.from_url(redis_url))
    body = ("x" * 72 + "\n") * max(1, size // 73)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    for start in range(0, mails, BATCH):
        queue.enqueue(yardstick_sender.send_batch, smtp_url,
                      [(f"plain{i}@example.org", body) for i in range(start, min(start + BATCH, mails))])
    env = child_env(PYTHONPATH=str(Path(__file__).resolve().parent))
    processes = [children.start([str(VENV_BIN / "rq"), "worker", "--burst", "--url", redis_url, "yardstick"],
                                env=env, log=workdir / f"yardstick{n}.log") for n in range(workers)]
    done, _seen = wait_for_mail(mailbox, mails, timeout)
    for process in processes:
        process.wait(30)  # reaped: their CPU (and their work horses') is in RUSAGE_CHILDREN now
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return (done - started if done is not None else None), cpu


def profile_delivery(app, document_id: int, coordinator_id: int, smtp_url: str, mails: int = 200) -> str:
    """Where one mail's delivery spends its time: a round on the spare document, then deliver_mail on `mails` of its
    invitations in this process under cProfile (the SMTP server runs in its own process)."""
    from sqlalchemy import select

    from storage.database.models import MailMessage
    from workflows.outbound import jobs

    _, round_id = open_round_timed(app, document_id, coordinator_id)
    jobs.queue().empty()  # the workers are stopped; the profile delivers in-process
    with app.extensions["akkoord_sessions"]() as session:
        ids = list(session.scalars(select(MailMessage.id).where(MailMessage.round_id == round_id)
                                   .order_by(MailMessage.id)))
    jobs.configure(jobs.current())
    jobs.deliver_mail(ids[:BATCH])  # warm-up (templates, translations, the SMTP connection)
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(BATCH, BATCH + mails, BATCH):
        jobs.deliver_mail(ids[start:start + BATCH])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    profiler = cProfile.Profile()
    profiler.enable()
    for start in range(BATCH + mails, BATCH + 2 * mails, BATCH):
        jobs.deliver_mail(ids[start:start + BATCH])
    profiler.disable()
    out = io.StringIO()
    out.write(f"\nProfile of workflows.outbound.jobs.deliver_mail in-process ({mails} invitations, batches of {BATCH})\n"
              f"  without the profiler: {wall / mails * 1000:.2f} ms wall and {cpu / mails * 1000:.2f} ms CPU a mail\n")
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(25)
    out.write(indent(trim_pstats(buffer.getvalue())))
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", help="a PostgreSQL URL to use (its public schema is replaced)")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up waiting for the mail after this")
    parser.add_argument("--profile", action="store_true", help="profile delivery even if the targets are met")
    args = parser.parse_args()
    members = max(3, min(args.members, 5000))
    workers = max(1, min(args.workers, 8))
    timeout = max(5.0, min(args.timeout, 600.0))

    from service.embedded.servers import free_port, start_redis_server

    workdir = Path(tempfile.mkdtemp(prefix="akkoord-bench-mail-"))
    children = Children()
    redis = app = None
    try:
        print(f"machine: {machine()}; work directory {workdir}")
        t0 = time.perf_counter()
        redis = start_redis_server(workdir / "redis")
        database_url = prepare_database(args.database_url, workdir)
        mailbox = workdir / "mailbox"
        mailbox.mkdir()
        smtp_port = free_port()
        smtp_url = f"smtp://127.0.0.1:{smtp_port}"
        children.start([str(VENV_BIN / "python"), "-c", "import sys; from service.embedded.servers import "
                        f"serve_smtp_forever; serve_smtp_forever({str(mailbox)!r}, port={smtp_port})"],
                       env=child_env(), log=workdir / "smtp.log")
        app = make_app(database_url, redis.url, SMTP_URL=smtp_url)
        document_id, spare_id, coordinator_id = build(app, members)
        print(f"setup: {members} members and a document in {time.perf_counter() - t0:.1f} s "
              f"({'PostgreSQL' if args.database_url else 'SQLite'})")

        env = child_env(DATABASE_URL=database_url, REDIS_URL=redis.url, SMTP_URL=smtp_url,
                        BASE_URL="http://127.0.0.1:5000", SECRET_KEY=SECRET_KEY)
        processes = [children.start([str(VENV_BIN / "flask"), "--app", "service", "worker"], env=env,
                                    log=workdir / f"worker{n}.log") for n in range(workers)]
        wait_for_workers(redis.url, processes)
        time.sleep(1.0)  # let them settle (the clock's first tick runs once)
        cpu_before = process_cpu([p.pid for p in processes])

        open_seconds, round_id = open_round_timed(app, document_id, coordinator_id)
        committed = time.perf_counter()
        done, received = wait_for_mail(mailbox, members, timeout)
        delivered = done - committed if done is not None else None
        workers_cpu = process_cpu([p.pid for p in processes]) - cpu_before
        sizes = [entry.stat().st_size for entry in os.scandir(mailbox) if entry.name.endswith(".eml")]
        size = sum(sizes) // max(len(sizes), 1)
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
        children.processes = [p for p in children.processes if p not in processes]
        if delivered is None:
            for n in range(workers):
                print(f"worker {n} log (tail):\n{(workdir / f'worker{n}.log').read_text(errors='replace')[-2000:]}")

        plain, plain_cpu = yardstick(redis.url, smtp_url, mailbox, members, size, workers, children, workdir, timeout)
        ratio = delivered / plain if delivered and plain else None
        rows = [
            (f"open_round + commit ({members} members, jobs enqueued)", f"{open_seconds:.2f} s",
             f"<= {TARGET_OPEN_SECONDS:g} s", verdict(open_seconds <= TARGET_OPEN_SECONDS)),
            (f"{members} invitations, commit -> last accepted by SMTP ({workers} workers)",
             f"{delivered:.2f} s" if delivered is not None else f"not done after {timeout:g} s ({received})",
             f"<= {TARGET_DELIVERY_SECONDS:g} s",
             verdict(delivered is not None and delivered <= TARGET_DELIVERY_SECONDS)),
            ("  throughput", f"{members / delivered:.0f} mails/s" if delivered else "", "", ""),
            ("  CPU of the workers a mail", f"{workers_cpu / max(received, 1) * 1000:.2f} ms",
             f"<= {TARGET_CPU_MS:g} ms", verdict(workers_cpu / max(received, 1) * 1000 <= TARGET_CPU_MS)),
            ("  message size (average)", f"{size / 1024:.1f} KB", "", ""),
            (f"yardstick: plain RQ, {members} ready-made messages, jobs of {BATCH}, {workers} workers",
             f"{plain:.2f} s = {members / plain:.0f} mails/s" if plain else "not done", "", ""),
            ("  yardstick CPU a mail (workers and work horses)", f"{plain_cpu / members * 1000:.2f} ms", "", ""),
            ("Akkoord / yardstick (time)", f"{ratio:.2f}" if ratio else "", "", ""),
        ]
        print_table(f"Benchmark 2: round mail ({time.strftime('%Y-%m-%d')}, {machine()}, "
                    f"load average {load_average()})", rows)
        if args.profile or delivered is None or delivered > TARGET_DELIVERY_SECONDS:
            print(profile_delivery(app, spare_id, coordinator_id, smtp_url))
    except Exception as error:  # a measurement: report what broke, stop what we started, exit 0
        report_failure(error)
    finally:
        clean_up(workdir, app=app, redis=redis, children=children)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
