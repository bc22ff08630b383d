"""Benchmark: a 200-page agreement made final in a network of 1,000 members: the final files made once, then
1,000 final mails with both attached.

    .venv/bin/python bench/bench_final_mail.py [--members 1000] [--workers 2] [--receiver mailstore|sink]
                                               [--timeout 300] [--profile]

Builds a fresh SQLite database (migrations) in a temporary directory: a network of 1,000 members (coordinator,
editor, members) and a document whose version is the generated 200-page agreement (shared/tools/gen_agreement.py),
a round in which every member said akkoord (the mail that queued is cancelled). Starts an embedded Redis, an SMTP
server in a process of its own (`mailstore`: the project's embedded server, saving every message into a mailbox
in the temporary directory as the tests' mail_store does; `sink`: a bare listener that only notes each message's
acceptance) and 2 worker processes (`flask --app service worker`), waits until both workers are registered, then
finalises in-process (the commit's after-commit hook enqueues the job that makes the final files) and measures:

- the job `make_final_files`: from RQ's start to its end (building the .docx and PDF with the approval annex,
  storing them, releasing the 1,000 held mails); and from the finalisation's commit to `files_made_at`;
- from `files_made_at` (the files exist) to the last final mail accepted by the SMTP server (target <= 10 s);
- the CPU of the workers and of the SMTP server over that time, and the size of one final mail;
- a yardstick: the same bytes (one real final mail, 1,000 times) sent by 2 plain processes, each over one SMTP
  connection, to the same SMTP server; no database, no rendering.

If the target is missed (or with --profile): a cProfile of making the files, and of `deliver_mail` on 100 of the
final mails in this process (sent again to the same SMTP server).

Every process it starts is stopped, also on error; the temporary directory is removed. It is a measurement, not a
test: it exits 0 whether or not the target is met.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import multiprocessing
import os
import pstats
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    GEN_AGREEMENT,
    SECRET_KEY,
    VENV_BIN,
    Children,
    callees,
    child_env,
    clean_up,
    find_functions,
    fresh_database,
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

TARGET_DELIVERY_SECONDS = 10.0


def build(app, docx: bytes, members: int) -> tuple[int, int, int]:
    """A network of `members` memberships, a document with the 200-page agreement and a round in which everyone
    said akkoord; the mail all that queued is cancelled (only the final mails are measured)."""
    from sqlalchemy import select, update

    from storage.database.models import MailMessage, Participant, utcnow
    from workflows.domain import documents, membership, rounds
    from workflows.outbound import jobs

    with app.extensions["akkoord_sessions"]() as session:
        coordinator = membership.get_or_create_person(session, name="Coördinator", email="coordinator@example.org")
        network = membership.create_network(session, "Zorgnetwerk Benchmark", coordinator=coordinator)
        editor = membership.add_member(session, network, name="Redacteur", email="editor@example.org",
                                       organisation_name="Expertisecentrum", role="editor", actor=coordinator).person
        for i in range(members - 2):
            membership.add_member(session, network, name=f"Lid {i}", email=f"member{i}@example.org",
                                  organisation_name=f"Organisatie {i % 60}", role="member", actor=coordinator)
        document = documents.create_document(session, network, kind="samenwerkingsovereenkomst",
                                             title="Samenwerkingsovereenkomst zorgnetwerk", actor=editor)
        version = documents.upload_version(session, document, filename="v1.docx", data=docx,
                                           change_note="eerste concept", actor=editor)
        round_ = rounds.open_round(session, document, deadline=utcnow() + dt.timedelta(days=30),
                                   message="Graag uw oordeel.", actor=coordinator)
        for voter in session.scalars(select(Participant).where(Participant.round_id == round_.id)):
            rounds.record_verdict(session, voter, value="akkoord", reason="", evidence=rounds.Evidence())
        session.commit()
        session.execute(update(MailMessage).values(status="cancelled"))
        session.commit()
        jobs.queue().empty()
        return document.id, version.id, coordinator.id


def finalise(app, document_id: int, version_id: int, coordinator_id: int) -> tuple[float, dt.datetime]:
    """Finalise and commit (timed; the commit enqueues the job that makes the files); when it committed."""
    from storage.database.models import Document, Person, Version, utcnow
    from workflows.domain import finalising

    with app.extensions["akkoord_sessions"]() as session:
        started = time.perf_counter()
        finalising.finalise_document(session, session.get(Document, document_id), session.get(Version, version_id),
                                     actor=session.get(Person, coordinator_id))
        session.commit()
        committed_at = utcnow()
        return time.perf_counter() - started, committed_at


def progress(app, document_id: int) -> tuple[dt.datetime | None, dict]:
    """files_made_at, and the final mails by status."""
    from sqlalchemy import func, select

    from storage.database.models import Finalisation, MailMessage

    with app.extensions["akkoord_read_sessions"]() as session:
        made = session.scalar(select(Finalisation.files_made_at).where(Finalisation.document_id == document_id))
        statuses = dict(session.execute(
            select(MailMessage.status, func.count()).where(
                MailMessage.email == "final_document",
                MailMessage.params["document_id"].as_integer() == document_id)
            .group_by(MailMessage.status)).all())
        session.rollback()
    return aware(made), statuses


def aware(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives datetimes back without their zone; they are UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


class Receiver:
    """The SMTP server the workers deliver to, in a process of its own (as the receiving server is in production):
    "mailstore", the project's embedded server (aiosmtpd, each message parsed and saved as a file, as the tests'
    mail_store), or "sink", a bare SMTP listener that only notes when each message was accepted (what the workers
    could do with a receiver that costs nothing)."""

    def __init__(self, kind: str, children: Children, workdir: Path):
        from service.embedded.servers import free_port

        self.kind, self.directory = kind, workdir / kind
        self.directory.mkdir()
        port = free_port()
        log = workdir / f"{kind}.log"
        if kind == "mailstore":
            args = [sys.executable, "-c", "import sys; from service.embedded.servers import serve_smtp_forever; "
                    "serve_smtp_forever(sys.argv[1], int(sys.argv[2]))", str(self.directory), str(port)]
        else:
            args = [sys.executable, str(Path(__file__).resolve()), "--serve-sink", str(port), str(self.directory)]
        self.process = children.start(args, env=child_env(), log=log)
        self.url = f"smtp://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while "listening" not in (log.read_text() if log.exists() else ""):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the SMTP server did not start: {log.read_text()}")
            time.sleep(0.05)

    def accepted(self) -> list[tuple[dt.datetime, int]]:
        """(accepted at, size) of every message so far, oldest first, without parsing them."""
        if self.kind == "sink":
            lines = (self.directory / "accepted").read_text().split() if (self.directory / "accepted").exists() else []
            return [(dt.datetime.fromtimestamp(int(at) / 1e9, tz=dt.UTC), int(size))
                    for at, size in zip(lines[::2], lines[1::2])]
        found = []
        for entry in os.scandir(self.directory):
            if entry.name.endswith(".eml") and not entry.name.startswith("."):  # the id is the time of saving
                found.append((dt.datetime.fromtimestamp(int(entry.name[:20]) / 1e9, tz=dt.UTC), entry.stat().st_size))
        return sorted(found)

    def sample(self) -> bytes | None:
        """One final mail as the workers sent it (without the envelope headers the mail store adds)."""
        if self.kind == "sink":
            path = self.directory / "first.eml"
            return path.read_bytes() if path.exists() else None
        names = sorted(e.name for e in os.scandir(self.directory) if e.name.endswith(".eml") and e.name[0] != ".")
        if not names:
            return None
        raw = (self.directory / names[-1]).read_bytes()
        while raw.startswith(b"X-Envelope-"):
            raw = raw[raw.index(b"\n") + 1:]
        return raw

    def clear(self) -> None:
        if self.kind == "mailstore":
            for entry in os.scandir(self.directory):
                os.unlink(entry.path)


def serve_sink(port: int, directory: Path) -> None:
    """A bare SMTP server: answers every command, reads DATA up to the final dot without looking at it, and
    appends "<time_ns> <size>" to `directory`/accepted for each message; keeps the first as first.eml."""
    import asyncio
    import signal

    accepted = open(directory / "accepted", "a")  # noqa: SIM115 - open for the server's life

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 sink ESMTP\r\n")
        try:
            while line := await reader.readline():
                command = line[:4].upper()
                if command == b"EHLO":
                    writer.write(b"250-sink\r\n250-8BITMIME\r\n250 SIZE 104857600\r\n")
                elif command == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    break
                elif command == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    chunks, tail = [], b""
                    while tail != b"\r\n.\r\n":  # smtplib waits for the reply: nothing follows the final dot
                        chunk = await reader.read(1 << 20)
                        if not chunk:
                            return
                        chunks.append(chunk)
                        tail = (tail + chunk)[-5:]
                    size = sum(len(c) for c in chunks)
                    accepted.write(f"{time.time_ns()} {size}\n")
                    accepted.flush()
                    first = directory / "first.eml"
                    if not first.exists():
                        first.write_bytes(b"".join(chunks)[:-5].replace(b"\r\n..", b"\r\n."))
                    writer.write(b"250 OK\r\n")
                else:
                    writer.write(b"250 OK\r\n")
                await writer.drain()
        finally:
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(session, "127.0.0.1", port)
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        print(f"SMTP sink listening on 127.0.0.1:{port}", flush=True)
        async with server:
            await stop.wait()

    asyncio.run(serve())


def job_times(redis_url: str) -> tuple[float | None, str]:
    """Seconds from start to end of the make_final_files job (RQ's own record of it), and what it returned."""
    from redis import Redis
    from rq import Queue
    from rq.job import Job

    from workflows.outbound import jobs

    q = Queue(jobs.QUEUE_NAME, connection=Redis.from_url(redis_url))
    for registry in (q.finished_job_registry, q.started_job_registry, q.failed_job_registry):
        for job in Job.fetch_many(registry.get_job_ids(), connection=q.connection):
            if job is not None and job.func_name.endswith("make_final_files"):
                if job.started_at is None or job.ended_at is None:
                    return None, str(job.get_status())
                return (job.ended_at - job.started_at).total_seconds(), str(job.return_value())
    return None, "no make_final_files job found"


# The yardstick ----------------------------------------------------------------------------------------------


def _plain_sender(args) -> None:
    smtp_url, raw, addresses = args
    host, port = smtp_url.removeprefix("smtp://").split(":")
    with smtplib.SMTP(host, int(port), timeout=60) as connection:
        for address in addresses:
            connection.sendmail("akkoord@localhost", [address], raw)


def yardstick(smtp_url: str, raw: bytes, mails: int, processes: int) -> float:
    """Seconds for `processes` plain senders to hand `mails` copies of these bytes to the SMTP server."""
    addresses = [f"member{i}@example.org" for i in range(mails)]
    chunks = [(smtp_url, raw, addresses[i::processes]) for i in range(processes)]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(_plain_sender, chunks)
    return time.perf_counter() - started


# The profile ------------------------------------------------------------------------------------------------


def profile(app, document_id: int, smtp_url: str, mails: int = 100) -> str:
    """Where the time goes, in this process: making the files once, and deliver_mail on `mails` final mails (the
    first 50 once more unprofiled as a warm-up), sent again to the same SMTP server."""
    import dataclasses

    from sqlalchemy import select, update

    from storage.database.models import Document, MailMessage, utcnow
    from workflows.domain import exports
    from workflows.outbound import jobs

    out = io.StringIO()
    jobs.configure(dataclasses.replace(jobs.current(), smtp_url=smtp_url))
    with app.extensions["akkoord_read_sessions"]() as session:
        document = session.get(Document, document_id)
        started = time.perf_counter()
        exports.final_docx(session, document)
        docx_seconds = time.perf_counter() - started
        started = time.perf_counter()
        exports.final_pdf(session, document)
        pdf_seconds = time.perf_counter() - started
        profiler = cProfile.Profile()
        profiler.enable()
        exports.final_files(session, document_id)
        profiler.disable()
        session.rollback()
    out.write(f"\nMaking the final files in-process: .docx {docx_seconds:.2f} s, PDF {pdf_seconds:.2f} s "
              f"(without the profiler)\n  Top functions by cumulative time (exports.final_files, profiled):\n")
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(18)
    out.write(indent(trim_pstats(buffer.getvalue())))

    batch = 50
    with app.extensions["akkoord_sessions"]() as session:
        ids = list(session.scalars(select(MailMessage.id).where(
            MailMessage.email == "final_document", MailMessage.params["document_id"].as_integer() == document_id)
            .order_by(MailMessage.id).limit(batch + mails)))
        # Sent already; made pending again so deliver_mail takes them as the workers did.
        session.execute(update(MailMessage).where(MailMessage.id.in_(ids)).values(
            status="pending", attempts=0, next_attempt_at=utcnow(), claimed_at=None, sent_at=None))
        session.commit()
    started = time.perf_counter()
    jobs.deliver_mail(ids[:batch])
    plain = (time.perf_counter() - started) / batch
    profiler = cProfile.Profile()
    profiler.enable()
    for start in range(batch, batch + mails, batch):
        jobs.deliver_mail(ids[start:start + batch])
    profiler.disable()
    stats = pstats.Stats(profiler)
    per_mail = sum(row[2] for row in stats.stats.values()) / mails
    out.write(f"\nProfile of jobs.deliver_mail in-process, {mails} final mails in batches of {batch}\n")
    out.write(f"  {plain * 1000:.1f} ms per mail without the profiler (one warm batch of {batch}); "
              f"{per_mail * 1000:.1f} ms with it; shares below are of the latter\n")
    for label, filename, name in (("jobs.deliver_mail", "workflows/outbound/jobs.py", "deliver_mail"),
                                  ("outbox.deliver", "workflows/outbound/outbox.py", "deliver"),
                                  ("jobs.deliver_mail.<send>", "workflows/outbound/jobs.py", "send"),
                                  ("mail.build", "workflows/outbound/mail.py", "build"),
                                  ("Mailer.send", "workflows/outbound/mail.py", "send")):
        parents = find_functions(stats, lambda f, n, filename=filename, name=name: f.endswith(filename) and n == name)
        if parents:
            out.write(f"\n  {label}, per mail:\n" + callees(stats, parents, mails, per_mail))
    out.write("\n  Top functions by own time (tottime):\n")
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(15)
    out.write(indent(trim_pstats(buffer.getvalue())))
    return out.getvalue()


def main() -> int:
    if sys.argv[1:2] == ["--serve-sink"]:
        serve_sink(int(sys.argv[2]), Path(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--receiver", choices=("mailstore", "sink"), default="mailstore",
                        help="the project's embedded SMTP server (default), or a bare SMTP sink")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up waiting for the mail after this")
    parser.add_argument("--profile", action="store_true", help="profile even if the target is met")
    args = parser.parse_args()
    members = max(3, min(args.members, 5000))
    workers = max(1, min(args.workers, 8))
    timeout = max(10.0, min(args.timeout, 1800.0))

    from service.embedded.servers import start_redis_server

    workdir = Path(tempfile.mkdtemp(prefix="akkoord-bench-final-"))
    children = Children()
    redis = app = None
    try:
        print(f"machine: {machine()}; work directory {workdir}")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(GEN_AGREEMENT), str(workdir / "agreement")], check=True,
                       stdout=subprocess.DEVNULL)
        docx = (workdir / "agreement" / "v1.docx").read_bytes()
        redis = start_redis_server(workdir / "redis")
        receiver = Receiver(args.receiver, children, workdir)
        database_url = fresh_database(workdir)
        app = make_app(database_url, redis.url, SMTP_URL=receiver.url)
        document_id, version_id, coordinator_id = build(app, docx, members)
        print(f"setup: {members} members, the 200-page agreement, everyone akkoord, in {time.perf_counter() - t0:.1f} s")

        env = child_env(DATABASE_URL=database_url, REDIS_URL=redis.url, SMTP_URL=receiver.url,
                        BASE_URL="http://127.0.0.1:5000", SECRET_KEY=SECRET_KEY)
        processes = [children.start([str(VENV_BIN / "flask"), "--app", "service", "worker"], env=env,
                                    log=workdir / f"worker{n}.log") for n in range(workers)]
        wait_for_workers(redis.url, processes)
        worker_pids = [p.pid for p in processes]
        cpu_before = process_cpu(worker_pids), process_cpu([receiver.process.pid]), time.process_time()

        finalise_seconds, committed_at = finalise(app, document_id, version_id, coordinator_id)
        started = time.perf_counter()
        made_at, statuses, done, cpu_at_made = None, {}, False, None
        while time.perf_counter() - started < timeout:
            made_at, statuses = progress(app, document_id)
            if made_at is not None and cpu_at_made is None:  # the files exist: from here on the workers deliver
                cpu_at_made = process_cpu(worker_pids)
            if made_at is not None and sum(statuses.get(s, 0) for s in ("sent", "failed", "cancelled")) >= members:
                done = True
                break
            if any(p.poll() is not None for p in processes):
                break
            time.sleep(0.1)
        waited = time.perf_counter() - started
        cpu_after = process_cpu(worker_pids), process_cpu([receiver.process.pid]), time.process_time()
        make_seconds, job_result = job_times(redis.url)
        for process in processes:  # their CPU is read; their clocks and schedulers are not wanted any more
            children.processes.remove(process)
            process.terminate()
        for process in processes:
            process.wait(30)

        accepted = receiver.accepted()
        first_at, last_at = (accepted[0][0], accepted[-1][0]) if accepted else (None, None)
        delivery = (last_at - made_at).total_seconds() if done and last_at and made_at else None
        sizes = sorted(size for _at, size in accepted)
        per_mail = sizes[len(sizes) // 2] if sizes else 0
        worker_cpu = cpu_after[0] - cpu_before[0]
        receiver_cpu = cpu_after[1] - cpu_before[1]
        own_cpu = cpu_after[2] - cpu_before[2]
        raw = receiver.sample()
        attachments = ""
        if raw is not None:
            from email import message_from_bytes, policy

            message = message_from_bytes(raw, policy=policy.default)
            attachments = ", ".join(f"{part.get_filename().rsplit('.', 1)[-1]} "
                                    f"{len(part.get_payload(decode=True)) / 1e6:.2f} MB"
                                    for part in message.iter_attachments())
        print(f"final mails: {len(accepted)} accepted by the SMTP server ({args.receiver}); outbox {statuses}; "
              f"job: {job_result}")
        if not done:
            for n in range(workers):
                log = (workdir / f"worker{n}.log").read_text(errors="replace")
                print(f"worker {n} log (tail):\n{log[-3000:]}")

        plain = None
        if raw is not None:
            receiver.clear()
            plain = yardstick(receiver.url, raw, len(accepted), workers)

        rows = [
            ("finalise + commit (the job enqueued after it)", f"{finalise_seconds:.2f} s", "", ""),
            ("make_final_files job (start to end: build, store, release)",
             f"{make_seconds:.2f} s" if make_seconds is not None else job_result, "", ""),
            ("  commit to files_made_at (worker pick-up + building)",
             f"{(made_at - committed_at).total_seconds():.2f} s" if made_at else "not made", "", ""),
            (f"files_made_at to the last of {members} final mails accepted ({workers} workers, {args.receiver})",
             f"{delivery:.2f} s" if delivery is not None else f"not done after {waited:.0f} s ({len(accepted)} mails)",
             f"<= {TARGET_DELIVERY_SECONDS:g} s",
             verdict(delivery is not None and delivery <= TARGET_DELIVERY_SECONDS)),
            ("  files_made_at to the first final mail accepted",
             f"{(first_at - made_at).total_seconds():.2f} s" if first_at and made_at else "", "", ""),
            ("  throughput", f"{len(accepted) / delivery:.0f} mails/s, {sum(sizes) / delivery / 1e6:.0f} MB/s"
             if delivery else "", "", ""),
            ("  size of one final mail (median)", f"{per_mail / 1e6:.2f} MB ({attachments})", "", ""),
            ("  CPU of the workers: making the files, then delivering",
             f"{cpu_at_made - cpu_before[0]:.1f} s, then {cpu_after[0] - cpu_at_made:.1f} s = "
             f"{(cpu_after[0] - cpu_at_made) / max(len(accepted), 1) * 1000:.1f} ms per mail"
             if cpu_at_made is not None else f"{worker_cpu:.1f} s in all", "", ""),
            ("  CPU of the SMTP server process", f"{receiver_cpu:.1f} s", "", ""),
            ("  CPU of this process (polling)", f"{own_cpu:.1f} s", "", ""),
            (f"yardstick: the same bytes x {len(accepted)}, {workers} plain senders, one connection each",
             f"{plain:.2f} s" if plain is not None else "", "", ""),
            ("  delivery / yardstick", f"{delivery / plain:.1f}x" if delivery and plain else "", "", ""),
        ]
        print_table(f"Benchmark: final mail ({time.strftime('%Y-%m-%d')}, {machine()}, "
                    f"load average {load_average()})", rows)
        if args.profile or delivery is None or delivery > TARGET_DELIVERY_SECONDS:
            print(profile(app, document_id, receiver.url))
    except Exception as error:  # a measurement: report what broke, stop what we started, exit 0
        report_failure(error)
    finally:
        clean_up(workdir, app=app, redis=redis, children=children)
    return 0


if __name__ == "__main__":
    sys.exit(main())
