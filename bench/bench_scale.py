"""Benchmark: the staff pages at network scale, 100 against 1,000 members, in-process, on SQLite or PostgreSQL.

    .venv/bin/python bench/bench_scale.py [DATABASE_URL] [--repeat 10] [--reuse] [--show-sql PAGE]

Builds 100 networks in a fresh database (SQLite in a temporary directory, or the PostgreSQL database named by
DATABASE_URL, whose public schema is DROPPED and rebuilt by the migrations): 98 small ones (a coordinator, an editor,
three members, one document with one round), and two measured ones of the same shape at two sizes:

- 1,000 members (40 organisations), 10 documents, 10 rounds on the first document (9 closed with most verdicts
  given, the 10th open with half of them), 2,000 comments in the open round (40% processed);
- 100 members, the same documents and rounds, 200 comments.

Everything is made through the workflows (members, versions, rounds, verdicts, comments, processing), as a user
would have made it, and its mail is then marked sent, as a worker would have left it (on PostgreSQL the tables
are then ANALYZEd, as autovacuum would after such a load). Then, for each staff page
(network, document, round, processing, dashboard) of each size, with
the coordinator's session through app.test_client: the median in-process time of N warm requests, the SQL
statements of one warm request (a before_cursor_execute listener on the app's engine, BEGIN included) and the page
size, the ratio 1,000 : 100, and GET /hello measured the same way as a yardstick. Targets at 1,000 members:
<= 50 ms, <= 200 KB, <= 15 statements (the same at both sizes), <= 1.5x the time at 100 members.

It is a measurement, not a test: it exits 0 whether or not the targets are met.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import clean_up, load_average, machine, make_app, print_table, report_failure, verdict  # noqa: E402

TARGET_MS = 50.0
TARGET_KB = 200.0
TARGET_STATEMENTS = 15
TARGET_RATIO = 1.5
SIZES = ((1000, 2000), (100, 200))  # (members, comments) of the two measured networks
FILLER_NETWORKS = 98
DOCUMENTS = 10
ROUNDS = 10
ORGANISATIONS = 40

PARAGRAPHS = [
    "De partijen werken samen aan goede zorg voor mensen met een zeldzame aandoening.",
    "De patiëntenvereniging brengt de ervaringskennis in; het expertisecentrum de medische kennis.",
    "Elke partij wijst een contactpersoon aan die namens de organisatie spreekt.",
    "Gegevens worden alleen gedeeld met toestemming van de patiënt en volgens de privacyverklaring.",
    "De kosten van gezamenlijke activiteiten worden naar rato van het aantal patiënten verdeeld.",
    "Het netwerk komt ten minste twee keer per jaar bijeen om de afspraken te evalueren.",
    "Een partij kan de overeenkomst opzeggen met een termijn van drie maanden.",
    "Geschillen worden eerst in het kernteam besproken voordat een andere weg wordt gekozen.",
]
COMMENTS = [
    "Graag verduidelijken wie hier verantwoordelijk is.",
    "Wij stellen voor om de termijn te verlengen naar drie maanden.",
    "Akkoord met de strekking, maar de formulering kan scherper.",
    "Is dit haalbaar voor kleinere huisartsenpraktijken?",
    "Wie draagt de kosten van deze maatregel?",
]


def agreement(version: int) -> bytes:
    """A short Markdown agreement; each version words one article a little differently."""
    lines = [f"# Samenwerkingsovereenkomst (versie {version})", ""]
    for article, text in enumerate(PARAGRAPHS, start=1):
        suffix = f" Aangepast in versie {version}." if article == version % len(PARAGRAPHS) + 1 else ""
        lines += [f"## Artikel {article}", "", text + suffix, ""]
    return "\n".join(lines).encode()


def fresh_database(url: str | None, workdir: Path) -> str:
    from sqlalchemy import create_engine, text

    from storage.database.engine import upgrade

    if url is None:
        url = f"sqlite:///{workdir / 'scale.db'}"
    else:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url


def build_network(session, *, members: int, comments: int, tag: str, documents: int = DOCUMENTS,
                  rounds_: int = ROUNDS) -> dict:
    """One network of `members` memberships made through the workflows (see the module docstring); commits as it
    goes. Returns the ids of what the pages show."""
    from sqlalchemy import select

    from storage.database.models import Participant, utcnow
    from workflows.domain import comments as comment_rules
    from workflows.domain import documents as document_rules
    from workflows.domain import membership, rounds

    coordinator = membership.get_or_create_person(session, name=f"Coördinator {tag}",
                                                  email=f"coordinator-{tag}@example.org")
    network = membership.create_network(session, f"Zorgnetwerk {tag}", coordinator=coordinator)
    editor = membership.add_member(session, network, name=f"Redacteur {tag}", email=f"editor-{tag}@example.org",
                                   organisation_name=f"Expertisecentrum {tag}", role="editor",
                                   actor=coordinator).person
    for i in range(members - 2):
        membership.add_member(session, network, name=f"Lid {i:04d} {tag}", email=f"member{i}-{tag}@example.org",
                              organisation_name=f"Organisatie {i % ORGANISATIONS} {tag}", role="member",
                              actor=coordinator)
    session.commit()
    docs = [document_rules.create_document(session, network, kind="samenwerkingsovereenkomst",
                                           title=f"Overeenkomst {d + 1} {tag}", actor=editor)
            for d in range(documents)]
    for document in docs[1:]:
        document_rules.upload_version(session, document, filename="concept.md", data=agreement(1),
                                      change_note="eerste concept", actor=editor)
    session.commit()
    main = docs[0]
    deadline = utcnow() + dt.timedelta(days=30)
    round_ = None
    for number in range(1, rounds_ + 1):
        if round_ is not None:
            rounds.close_round(session, round_, actor=coordinator)
        version = document_rules.upload_version(session, main, filename="concept.md", data=agreement(number),
                                                change_note=f"versie {number}", actor=editor)
        round_ = rounds.open_round(session, main, deadline=deadline, message="Graag uw reactie.", actor=coordinator)
        session.commit()
        last = number == rounds_
        participants = list(session.scalars(select(Participant).where(Participant.round_id == round_.id,
                                                                      Participant.can_vote.is_(True))
                                            .order_by(Participant.id)))
        # Closed rounds: most said akkoord; the open one: half of them so far, a few niet akkoord.
        given = len(participants) // 2 if last else len(participants) * 9 // 10
        for i, participant in enumerate(participants[:given]):
            if i % 20 == 7:
                rounds.record_verdict(session, participant, value="niet_akkoord", reason="De kosten zijn onduidelijk.",
                                      evidence=rounds.Evidence())
            else:
                rounds.record_verdict(session, participant, value="akkoord_met_opmerkingen" if i % 10 == 3
                                      else "akkoord", reason="", evidence=rounds.Evidence())
            if i % 200 == 199:
                session.commit()
        session.commit()
    block_ids = [b["id"] for b in version.blocks if b["type"] == "paragraph"]
    participants = list(session.scalars(select(Participant).where(Participant.round_id == round_.id)
                                        .order_by(Participant.id)))
    made = []
    for n in range(comments):
        participant = participants[(n * 7) % len(participants)]
        made.append(rounds.add_comment(session, participant, body=COMMENTS[n % len(COMMENTS)],
                                       block_id=None if n % 10 == 0 else block_ids[n % len(block_ids)]))
        if n % 200 == 199:
            session.commit()
    for n, comment in enumerate(made):
        if n % 5 < 2:
            comment_rules.process_comment(session, comment, disposition="overgenomen", answer="", actor=editor)
    session.commit()
    deliver_everything(session, network.id)
    return {"members": members, "comments": comments, "coordinator": coordinator.id, "network": network.id,
            "document": main.id, "round": round_.id}


def deliver_everything(session, network_id: int) -> None:
    """The network's mail marked sent, as a worker would have left it: the pages count what did not go out, and a
    service whose every mail is still waiting is not the one measured here (the benchmark runs no worker)."""
    from sqlalchemy import update

    from storage.database.models import OutboxItem, utcnow

    session.execute(update(OutboxItem).where(OutboxItem.network_id == network_id, OutboxItem.status == "pending")
                    .values(status="sent", sent_at=utcnow(), next_attempt_at=None, attempts=1))
    session.commit()


def find_network(session, *, members: int, comments: int, tag: str) -> dict:
    """The ids `build_network` returned, looked up by name in a database built by an earlier run (--reuse)."""
    from sqlalchemy import select

    from storage.database.models import Document, Network, Person, Round

    network = session.scalar(select(Network).where(Network.name == f"Zorgnetwerk {tag}"))
    coordinator = session.scalar(select(Person).where(Person.email == f"coordinator-{tag}@example.org"))
    document = session.scalar(select(Document).where(Document.title == f"Overeenkomst 1 {tag}"))
    round_ = session.scalar(select(Round).where(Round.document_id == document.id).order_by(Round.number.desc()))
    return {"members": members, "comments": comments, "coordinator": coordinator.id, "network": network.id,
            "document": document.id, "round": round_.id}


def signed_in_client(app, person_id: int):
    """A test client with the person's session, signed in through a sign-in link as a user would."""
    from storage.database.models import Person
    from tests.conftest import csrf_token
    from workflows.domain import signin

    with app.extensions["akkoord_sessions"]() as session:
        token = signin.issue_link_token(session, session.get(Person, person_id))
        session.commit()
    client = app.test_client()
    page = client.get(f"/signin/{token}").get_data(as_text=True)
    response = client.post(f"/signin/{token}", data={"csrf_token": csrf_token(page)})
    assert response.status_code in (302, 303), response.status_code
    return client


def measure(app, client, path: str, repeat: int) -> dict:
    """Median ms of `repeat` warm requests, the statements of one warm request, the page size."""
    from sqlalchemy import event

    engine = app.extensions["akkoord_engine"]
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    first = client.get(path)
    assert first.status_code == 200, (path, first.status_code)
    event.listen(engine, "before_cursor_execute", count)
    try:
        warm = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    return {"ms": statistics.median(times) * 1000, "statements": len(statements), "sql": list(statements),
            "kb": len(warm.data) / 1024}


def pages(net: dict) -> list[tuple[str, str]]:
    return [
        ("network", f"/n/{net['network']}"),
        ("document", f"/d/{net['document']}"),
        ("round", f"/r/{net['round']}"),
        ("processing", f"/r/{net['round']}/processing"),
        ("dashboard", "/"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database_url", nargs="?", help="a PostgreSQL URL (its public schema is rebuilt); "
                        "default: a new SQLite file")
    parser.add_argument("--repeat", type=int, default=10, help="warm requests per page (default 10)")
    parser.add_argument("--reuse", action="store_true", help="measure the PostgreSQL database an earlier run built "
                        "(building it takes minutes) instead of building it anew")
    parser.add_argument("--show-sql", metavar="PAGE", help="print the statements of this page at 1,000 members")
    args = parser.parse_args()
    repeat = max(3, min(args.repeat, 100))

    from service.embedded.servers import start_redis_server

    workdir = Path(tempfile.mkdtemp(prefix="akkoord-bench-scale-"))
    redis = app = None
    try:
        t0 = time.perf_counter()
        redis = start_redis_server(workdir / "redis")
        reuse = args.reuse and args.database_url is not None
        database_url = args.database_url if reuse else fresh_database(args.database_url, workdir)
        backend = database_url.split(":", 1)[0].split("+", 1)[0]
        app = make_app(database_url, redis.url)
        logging.getLogger("akkoord").setLevel(logging.WARNING)  # a line per request would only slow the figures
        sessions = app.extensions["akkoord_sessions"]
        with sessions() as session:
            for n in range(0 if reuse else FILLER_NETWORKS):
                build_network(session, members=5, comments=3, tag=f"f{n}", documents=1, rounds_=1)
        t1 = time.perf_counter()
        networks = []
        for members, comments in SIZES:
            with sessions() as session:
                networks.append((find_network if reuse else build_network)(
                    session, members=members, comments=comments, tag=f"m{members}"))
        if backend == "postgresql":  # the statistics autovacuum would have gathered after a load like this one
            with app.extensions["akkoord_engine"].connect() as connection:
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
        print(f"{backend}: {machine()}; setup {time.perf_counter() - t0:.0f} s "
              f"({FILLER_NETWORKS} small networks in {t1 - t0:.0f} s)")

        results = {}
        for net in networks:
            client = signed_in_client(app, net["coordinator"])
            results[net["members"]] = {name: measure(app, client, path, repeat) for name, path in pages(net)}
        hello_client = app.test_client()
        hello = measure(app, hello_client, "/hello", repeat)

        big, small = (results[m] for m, _c in SIZES)
        rows = [("GET /hello (yardstick)", f"{hello['ms']:.1f} ms, {hello['statements']} statements", "", "")]
        for name, _path in pages(networks[0]):
            b, s = big[name], small[name]
            ratio = b["ms"] / s["ms"] if s["ms"] else 0.0
            rows += [
                (f"{name}: ms at 100 / 1,000 members", f"{s['ms']:.1f} / {b['ms']:.1f}",
                 f"<= {TARGET_MS:.0f} at 1,000", verdict(b["ms"] <= TARGET_MS)),
                (f"{name}: ratio 1,000 : 100", f"{ratio:.2f}x", f"<= {TARGET_RATIO}x", verdict(ratio <= TARGET_RATIO)),
                (f"{name}: statements at 100 / 1,000", f"{s['statements']} / {b['statements']}",
                 f"<= {TARGET_STATEMENTS}, constant",
                 verdict(b["statements"] <= TARGET_STATEMENTS and b["statements"] == s["statements"])),
                (f"{name}: KB at 100 / 1,000", f"{s['kb']:.0f} / {b['kb']:.0f}", f"<= {TARGET_KB:.0f} at 1,000",
                 verdict(b["kb"] <= TARGET_KB)),
            ]
        print_table(f"Staff pages at scale, {backend} ({time.strftime('%Y-%m-%d')}, {machine()}, "
                    f"load average {load_average()}; median of {repeat} warm requests, in-process)", rows)
        if args.show_sql:
            for statement in big[args.show_sql]["sql"]:
                print("   ", " ".join(statement.split())[:200])
    except Exception as error:  # a measurement: report what broke, stop what we started, exit 0
        report_failure(error)
    finally:
        clean_up(workdir, app=app, redis=redis)
    return 0


if __name__ == "__main__":
    sys.exit(main())
