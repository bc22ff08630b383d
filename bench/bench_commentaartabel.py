"""The commentaartabel of a round with 2,000 comments: rows_for_round and the .docx and .xlsx exports.

    .venv/bin/python bench/bench_commentaartabel.py [--comments 2000] [--repeat 5] [--rule person|organisation]

Builds a fresh SQLite database (migrations) in a temporary directory, a network of 60 members reviewing the
generated 200-page agreement (shared/tools/gen_agreement.py), and a round with the comments made through
workflows.domain.rounds.add_comment (one in ten general, the rest on passages spread over the text); two in three
get a disposition and half of those an answer. Then, each in a fresh session and repeated, it times
rows_for_round (and counts its SQL statements, and those of a whole export), export(…, "docx") and
export(…, "xlsx"). Target: ≤ 1 s each. With --rule organisation the network decides per organisation: the first
member of each of its 25 organisations represents it, every third participant gives a verdict (a representative's
counts, a colleague's is a suggestion), and the export adds the verdicts per organisation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import GEN_AGREEMENT, fresh_database, load_average, machine, print_table, timed, verdict

TARGET_SECONDS = 1.0
PHRASES = [
    "Graag verduidelijken wie hier verantwoordelijk is.",
    "Wij stellen voor om de termijn te verlengen naar drie maanden.",
    "Dit sluit niet aan bij de afspraken in de regio; kunnen we dit bespreken op de bijeenkomst?",
    "Akkoord met de strekking, maar de formulering kan scherper.",
    "Hoe verhoudt dit artikel zich tot de privacyverklaring van het netwerk?",
    "De patiëntenvereniging mist hier de rol van ervaringsdeskundigen.",
    "Is dit haalbaar voor kleinere huisartsenpraktijken?\nEn voor de apotheken?",
    "Wie draagt de kosten van deze maatregel?",
]
DISPOSITIONS = ("overgenomen", "deels_overgenomen", "niet_overgenomen", "voor_kennisgeving")


def body(n: int) -> str:
    return " ".join(PHRASES[(n + i) % len(PHRASES)] for i in range(1 + n % 5))


def build(factory, docx: bytes, comments: int, members: int = 60, rule: str = "person") -> int:
    from sqlalchemy import select

    from storage.database.models import Comment, Participant, utcnow
    from workflows.domain import decisions, documents, membership, rounds

    with factory() as session:
        coordinator = membership.get_or_create_person(session, name="Coördinator", email="coordinator@example.org")
        network = membership.create_network(session, "Zorgnetwerk Zeldzaam", coordinator=coordinator)
        decisions.set_network_rule(session, network, rule, actor=coordinator)
        editor = membership.add_member(session, network, name="Redacteur", email="editor@example.org",
                                       organisation_name="Expertisecentrum", role="editor", actor=coordinator).person
        for i in range(members - 2):
            member = membership.add_member(session, network, name=f"Lid {i} Ünal-de Vries",
                                           email=f"member{i}@example.org", organisation_name=f"Organisatie {i % 25}",
                                           role="member", actor=coordinator)
            if i < 25:
                decisions.set_representative(session, member, True, actor=coordinator)
        document = documents.create_document(session, network, kind="samenwerkingsovereenkomst",
                                             title="Samenwerkingsovereenkomst zeldzame aandoeningen", actor=editor)
        version = documents.upload_version(session, document, filename="v1.docx", data=docx,
                                           change_note="eerste concept", actor=editor)
        round_ = rounds.open_round(session, document, deadline=utcnow() + dt.timedelta(days=30),
                                   message="Graag uw reactie.", actor=coordinator)
        session.commit()
        block_ids = [block["id"] for block in version.blocks if block["type"] not in ("header", "footer")]
        participants = list(session.scalars(
            select(Participant).where(Participant.round_id == round_.id).order_by(Participant.id)))
        for n in range(comments):
            participant = participants[(n * 7) % len(participants)]
            block_id = None if n % 10 == 0 else block_ids[(n * 37) % len(block_ids)]
            rounds.add_comment(session, participant, body=body(n), block_id=block_id)
            if n % 200 == 199:
                session.commit()
        for n, participant in enumerate(participants):
            if n % 3 == 0 and participant.can_vote:
                rounds.record_verdict(session, participant, value="akkoord", reason="", evidence=rounds.Evidence())
        now = utcnow()
        for n, comment in enumerate(session.scalars(select(Comment).where(Comment.round_id == round_.id))):
            if n % 3:
                comment.disposition = DISPOSITIONS[n % 4]
                comment.answer = "Verwerkt in versie 2; zie artikel 3." if n % 2 else ""
                if hasattr(comment, "processed_at"):  # the processing columns, where the schema has them
                    comment.processed_at = now
        session.commit()
        return round_.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rule", choices=("person", "organisation"), default="person")
    args = parser.parse_args()

    from sqlalchemy import event

    from storage.database.engine import make_engine, make_session_factory
    from workflows.domain import commentaartabel

    print(f"machine: {machine()}; load average {load_average()}")
    with tempfile.TemporaryDirectory(prefix="bench-commentaartabel-") as directory:
        workdir = Path(directory)
        subprocess.run([sys.executable, str(GEN_AGREEMENT), str(workdir / "agreement")], check=True,
                       stdout=subprocess.DEVNULL)
        engine = make_engine(fresh_database(workdir))
        factory = make_session_factory(engine)
        started = time.perf_counter()
        round_id = build(factory, (workdir / "agreement" / "v1.docx").read_bytes(), args.comments, rule=args.rule)
        print(f"setup: {args.comments} comments, rule {args.rule}, in {time.perf_counter() - started:.1f} s")
        reader = make_session_factory(engine, read_only=True)  # as a download request reads

        statements: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        with reader() as session:
            commentaartabel.rows_for_round(session, round_id)
        queries = len(statements)
        with reader() as session:
            commentaartabel.export(session, round_id, "xlsx")
        export_queries = len(statements) - queries
        event.remove(engine, "before_cursor_execute", count)
        statements = statements[:queries]

        rows_median, rows_max, rows = timed(reader, lambda s: commentaartabel.rows_for_round(s, round_id),
                                            args.repeat)
        figures = [("rows_for_round", rows_median, rows_max)]
        sizes = {}
        for fmt in ("docx", "xlsx"):
            median, worst, (filename, _mimetype, data) = timed(
                reader, lambda s, fmt=fmt: commentaartabel.export(s, round_id, fmt), args.repeat)
            figures.append((f"export {fmt}", median, worst))
            sizes[fmt] = (filename, len(data))
        engine.dispose()

    shown = "; ".join(" ".join(statement.split())[:60] for statement in statements)
    print(f"rows: {len(rows)}; SQL statements for rows_for_round: {queries} ({shown}); for a whole export: "
          f"{export_queries}")
    for fmt, (filename, size) in sizes.items():
        print(f"{fmt}: {filename}, {size / 1024:.0f} KiB")
    print_table(f"Commentaartabel, {args.comments} comments (median of {args.repeat}, fresh session each)", [
        (name, f"{median * 1000:.0f} ms (max {worst * 1000:.0f} ms)", f"<= {TARGET_SECONDS:g} s",
         verdict(worst <= TARGET_SECONDS)) for name, median, worst in figures
    ])


if __name__ == "__main__":
    main()
