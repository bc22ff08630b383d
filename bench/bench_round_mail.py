"""Benchmark 2: open a comment round for 1,000 members and deliver their 1,000 invitations.

    .venv/bin/python bench/bench_round_mail.py [--members 1000] [--workers 2] [--timeout 120]

Builds a fresh SQLite database (migrations) in a temporary directory with a network of 1,000 members and a
document with a small version, and an embedded Redis. Then:

- times rounds.open_round + commit in-process, with the app made by create_app pointing at that Redis, so
  the after-commit hook enqueues the delivery jobs as in production (target <= 2 s);
- starts an embedded SMTP server (MailStore in the temporary directory) and 2 worker processes
  (`flask --app service worker --burst`) and times from their start until the SMTP server has accepted
  every invitation (target <= 10 s).

Every process it starts is stopped, also on error. It is a measurement, not a test: it exits 0 whether or not
the targets are met.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    SECRET_KEY,
    VENV_BIN,
    Children,
    callees,
    child_env,
    find_functions,
    fresh_database,
    indent,
    load_average,
    machine,
    make_app,
    print_table,
    trim_pstats,
    verdict,
)

TARGET_OPEN_SECONDS = 2.0
TARGET_DELIVERY_SECONDS = 10.0

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


def build(app, members: int) -> tuple[int, int, int]:
    """A network of `members` memberships (coordinator, editor, members) and two documents with a small version."""
    from workflows.domain import documents, membership

    with app.extensions["akkoord_sessions"]() as session:
        coordinator = membership.get_or_create_person(session, name="Coördinator", email="coordinator@example.org")
        network = membership.create_network(session, "Zorgnetwerk Benchmark", coordinator=coordinator)
        editor = membership.add_member(session, network, name="Redacteur", email="editor@example.org",
                                       organisation_name="Expertisecentrum", role="editor", actor=coordinator).person
        for i in range(members - 2):
            membership.add_member(session, network, name=f"Lid {i}", email=f"member{i}@example.org",
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


def open_round_timed(app, document_id: int, coordinator_id: int) -> tuple[float, int, int]:
    """Seconds for open_round + commit (the commit's after-commit hook enqueues the deliveries); the round id and
    the number of jobs waiting in the queue afterwards."""
    from storage.database.models import Document, Person, utcnow
    from workflows.domain import rounds
    from workflows.outbound import jobs

    with app.extensions["akkoord_sessions"]() as session:
        document = session.get(Document, document_id)
        coordinator = session.get(Person, coordinator_id)
        started = time.perf_counter()
        round_ = rounds.open_round(session, document, deadline=utcnow() + dt.timedelta(days=14),
                                   message="Graag uw reactie.", actor=coordinator)
        session.commit()
        elapsed = time.perf_counter() - started
        return elapsed, round_.id, jobs.queue().count


def profile_delivery(app, document_id: int, coordinator_id: int, smtp_url: str, mails: int = 100) -> str:
    """Where one mail's delivery spends its time: a round on the spare document, then workflows.jobs.deliver on
    `mails` of its invitations in this process under cProfile (the SMTP server's thread runs here too)."""
    import dataclasses

    from sqlalchemy import select

    from storage.database.models import MailMessage
    from workflows.outbound import jobs

    _, round_id, _ = open_round_timed(app, document_id, coordinator_id)
    jobs.queue().empty()  # its delivery jobs are not wanted: the profile delivers in-process
    jobs.configure(dataclasses.replace(jobs.current(), smtp_url=smtp_url))
    with app.extensions["akkoord_sessions"]() as session:
        ids = list(session.scalars(select(MailMessage.id).where(MailMessage.round_id == round_id)
                                   .order_by(MailMessage.id)))
        session.rollback()
    batch = jobs.DELIVERY_BATCH
    started = time.perf_counter()
    jobs.deliver(ids[:batch])  # one warm-up batch (templates, translations), also timed without the profiler
    plain = (time.perf_counter() - started) / batch
    profiler = cProfile.Profile()
    profiler.enable()
    for start in range(batch, batch + mails, batch):
        jobs.deliver(ids[start:start + batch])
    profiler.disable()
    stats = pstats.Stats(profiler)
    per_mail = sum(row[2] for row in stats.stats.values()) / mails

    def under(label: str, predicate) -> str:
        return f"\n  {label}:\n" + callees(stats, find_functions(stats, predicate), mails, per_mail)

    out = io.StringIO()
    out.write(f"\nProfile of workflows.jobs.deliver in-process, {mails} invitations in batches of {batch}\n")
    out.write(f"  {plain * 1000:.1f} ms per mail without the profiler (one batch of {batch}, SMTP server in this "
              f"process); {per_mail * 1000:.1f} ms with it; shares below are of the latter\n")
    for label, filename, name in (("jobs.deliver", "workflows/jobs.py", "deliver"),
                                  ("delivery.deliver_batch", "workflows/delivery.py", "deliver_batch"),
                                  ("emails.render", "workflows/emails.py", "render"),
                                  ("delivery.build_message", "workflows/delivery.py", "build_message")):
        out.write(under(f"{label}, per mail", lambda f, n, filename=filename, name=name: f.endswith(filename) and n == name))
    out.write("\n  Top functions by own time (tottime):\n")
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(12)
    out.write(indent(trim_pstats(buffer.getvalue())))
    out.write(lock_waits(app, ids[batch + mails:]))
    return out.getvalue()


def _deliver_and_time(engine_url_ids):
    """In a forked child: deliver the ids, return (wall, cpu, seconds spent waiting to BEGIN IMMEDIATE)."""
    app, ids, results = engine_url_ids
    from sqlalchemy import event

    from workflows.outbound import jobs

    engine = app.extensions["akkoord_engine"]
    engine.dispose(close=False)  # the parent's connections stay the parent's
    waited = [0.0]
    started_at: list[float] = []

    def before(_conn, _cursor, statement, *_):
        started_at.append(time.perf_counter())

    def after(_conn, _cursor, statement, *_):
        took = time.perf_counter() - started_at.pop()
        if statement.startswith("BEGIN IMMEDIATE"):
            waited[0] += took

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    wall, cpu = time.perf_counter(), time.process_time()
    jobs.deliver(ids)
    results.put((time.perf_counter() - wall, time.process_time() - cpu, waited[0]))


def lock_waits(app, ids: list[int], per_process: int = 100) -> str:
    """Two forked processes deliver side by side, as the two workers do: how long each waits for SQLite's write
    lock (BEGIN IMMEDIATE), against one process alone."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    out = io.StringIO()
    out.write("\n  SQLite write lock: processes delivering at the same time (forked from this one)\n")
    offset = 0
    for processes in (1, 2):
        results = context.Queue()
        chunks = [ids[offset + i * per_process: offset + (i + 1) * per_process] for i in range(processes)]
        offset += processes * per_process
        children = [context.Process(target=_deliver_and_time, args=((app, chunk, results),)) for chunk in chunks]
        started = time.perf_counter()
        for child in children:
            child.start()
        measured = [results.get(timeout=120) for _ in children]
        for child in children:
            child.join(30)
        wall = time.perf_counter() - started
        mails = sum(len(chunk) for chunk in chunks)
        out.write(f"    {processes} process(es), {mails} mails: {wall:.2f} s, {mails / wall:.0f} mails/s; per process "
                  + "; ".join(f"wall {w:.2f} s, CPU {c:.2f} s, waiting for the write lock {x:.2f} s"
                              for w, c, x in measured) + "\n")
    return out.getvalue()


def _cpu(usage) -> float:
    return usage.ru_utime + usage.ru_stime


def outbox_summary(app, round_id: int) -> dict:
    from sqlalchemy import func, select

    from storage.database.models import MailMessage

    with app.extensions["akkoord_sessions"]() as session:
        rows = session.execute(
            select(MailMessage.status, func.count()).where(MailMessage.round_id == round_id)
            .group_by(MailMessage.status)
        ).all()
        session.rollback()
    return dict(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0, help="give up waiting for the mail after this")
    parser.add_argument("--profile", action="store_true", help="profile delivery even if the target is met")
    args = parser.parse_args()
    members = max(3, min(args.members, 5000))
    workers = max(1, min(args.workers, 8))
    timeout = max(5.0, min(args.timeout, 600.0))

    from service.embedded.servers import MailStore, start_redis_server, start_smtp_server

    workdir = Path(tempfile.mkdtemp(prefix="akkoord-bench-mail-"))
    children = Children()
    redis = smtp = app = None
    try:
        print(f"machine: {machine()}; work directory {workdir}")
        t0 = time.perf_counter()
        redis = start_redis_server(workdir / "redis")
        database_url = fresh_database(workdir)
        app = make_app(database_url, redis.url)
        document_id, spare_id, coordinator_id = build(app, members)
        print(f"setup: {members} members and a document in {time.perf_counter() - t0:.1f} s")

        open_seconds, round_id, queued = open_round_timed(app, document_id, coordinator_id)
        print(f"open_round + commit: {open_seconds:.2f} s; {queued} jobs in the queue")

        store = MailStore(workdir / "mailbox")
        smtp = start_smtp_server(store)
        env = child_env(DATABASE_URL=database_url, REDIS_URL=redis.url, SMTP_URL=smtp.url,
                        BASE_URL="http://127.0.0.1:5000", SECRET_KEY=SECRET_KEY)
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        processes = [
            children.start([str(VENV_BIN / "flask"), "--app", "service", "worker", "--burst"], env=env,
                           log=workdir / f"worker{n}.log")
            for n in range(workers)
        ]
        delivered_at = first_at = None
        received = 0
        while time.perf_counter() - started < timeout:
            received = store.count()
            if received and first_at is None:
                first_at = time.perf_counter() - started
            if received >= members:
                delivered_at = time.perf_counter() - started
                break
            if all(p.poll() is not None for p in processes):
                received = store.count()
                if received >= members:
                    delivered_at = time.perf_counter() - started
                break
            time.sleep(0.05)
        for process in processes:  # burst workers stop by themselves once the queue is empty
            try:
                process.wait(max(1.0, timeout - (time.perf_counter() - started)))
            except Exception:
                break
        workers_done = time.perf_counter() - started
        children.stop()
        own_cpu = _cpu(resource.getrusage(resource.RUSAGE_SELF)) - _cpu(own_before)
        workers_cpu = _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)) - _cpu(children_before)
        statuses = outbox_summary(app, round_id)
        invitations = sum(1 for m in store.list() if m.links)
        print(f"mail: {received} accepted by the SMTP server ({invitations} with a link); outbox {statuses}")
        if delivered_at is None:
            for n in range(workers):
                log = (workdir / f"worker{n}.log").read_text(errors="replace")
                print(f"worker {n} log (tail):\n{log[-2000:]}")

        rows = [
            (f"open_round + commit ({members} members, jobs enqueued)", f"{open_seconds:.2f} s",
             f"<= {TARGET_OPEN_SECONDS:g} s", verdict(open_seconds <= TARGET_OPEN_SECONDS)),
            (f"{members} invitations accepted by SMTP ({workers} burst workers, from start)",
             f"{delivered_at:.2f} s" if delivered_at is not None else f"not done after {timeout:g} s ({received})",
             f"<= {TARGET_DELIVERY_SECONDS:g} s",
             verdict(delivered_at is not None and delivered_at <= TARGET_DELIVERY_SECONDS)),
            ("  first invitation accepted (worker start-up)",
             f"{first_at:.2f} s" if first_at is not None else "none", "", ""),
            ("  throughput from start", f"{received / delivered_at:.0f} mails/s" if delivered_at else "", "", ""),
            ("  throughput after the first mail",
             f"{(received - 1) / (delivered_at - first_at):.0f} mails/s" if delivered_at and first_at is not None
             and delivered_at > first_at else "", "", ""),
            ("  until the burst workers exited", f"{workers_done:.2f} s", "", ""),
            ("  CPU of the workers (and their work horses)",
             f"{workers_cpu:.1f} s = {workers_cpu / max(received, 1) * 1000:.1f} ms per mail", "", ""),
            ("  CPU of this process (SMTP server thread, polling)",
             f"{own_cpu:.1f} s = {own_cpu / max(received, 1) * 1000:.1f} ms per mail", "", ""),
        ]
        print_table(f"Benchmark 2: round mail ({time.strftime('%Y-%m-%d')}, {machine()}, "
                    f"load average {load_average()})", rows)
        if args.profile or delivered_at is None or delivered_at > TARGET_DELIVERY_SECONDS:
            print(profile_delivery(app, spare_id, coordinator_id, smtp.url))
    except Exception as error:  # a measurement: report what broke, stop what we started, exit 0
        import traceback

        traceback.print_exc()
        print(f"benchmark did not complete: {error}", file=sys.stderr)
    finally:
        children.stop()
        if smtp is not None:
            smtp.stop()
        if app is not None:
            app.extensions["akkoord_engine"].dispose()
        if redis is not None:
            redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
