"""The evidence dossier of a document decided by a round of 280 organisations and 900 people: its JSON and its PDF.

    .venv/bin/python bench/bench_dossier.py [--organisations 280] [--people 900] [--comments 600] [--repeat 3]

Builds a fresh SQLite database (migrations) in a temporary directory and, through the workflows, a network of
280 organisations (1 to 5 people each, 900 in all), a document, one round with every invitation delivered (the
outbox rows marked sent, as a worker would), every person's first look, a verdict from each (a few with
remarks), 600 comments with a disposition and an answer for two in three; then the coordinator finalises it.
Then, each in a fresh reading session and repeated, it times the two parts of the dossier's build:
- JSON: `dossier.gather` (and its SQL statement count, which does not grow with the round) + `dossier.canonical`;
- PDF: `dossier.render_pdf` from that data.
The yardstick, measured in the same run on the same database: the least work the same content needs — one plain
SQL query per kind of row (participants, verdicts, comments, invitation mails) encoded by `json.dumps` with sorted
keys; and reportlab laying out the same cells (plain tables of 120 rows, as many rows and columns as the dossier's three
tables, text in Paragraphs, none of our layout code). Target: the build in the job stays under 30 s for the PDF
and 2 s for the JSON on this machine, and within 3x of the yardstick.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import fresh_database, load_average, machine, print_table, timed, verdict

TARGET_JSON_SECONDS = 2.0
TARGET_PDF_SECONDS = 30.0
TARGET_RATIO = 3.0
TEXT = """# Samenwerkingsovereenkomst huisartsenzorg regio Noord

## Artikel 1 Doel

De praktijken werken samen aan goede en toegankelijke huisartsenzorg in de regio.

## Artikel 2 Taken

- De huisartsenpost regelt de avond-, nacht- en weekendzorg.
- De apotheken leveren de medicatie en controleren de interacties.

## Artikel 3 Besluitvorming

Dit document wordt definitief zodra iedereen akkoord is.
"""
PHRASES = [
    "Graag verduidelijken wie hier verantwoordelijk is.",
    "Wij stellen voor om de termijn te verlengen naar drie maanden.",
    "Is dit haalbaar voor kleinere huisartsenpraktijken?",
    "Wie draagt de kosten van deze maatregel?",
]
DISPOSITIONS = ("overgenomen", "deels_overgenomen", "niet_overgenomen", "voor_kennisgeving")


def build(factory, organisations: int, people: int, comments: int) -> int:
    from sqlalchemy import select, update

    from storage.database.models import MailMessage, Participant, utcnow
    from workflows.domain import comments as comment_rules
    from workflows.domain import documents, finalising, membership, rounds

    with factory() as session:
        coordinator = membership.get_or_create_person(session, name="Coördinator", email="coordinator@example.org")
        network = membership.create_network(session, "Huisartsen Regio Noord", coordinator=coordinator)
        editor = membership.add_member(session, network, name="Redacteur", email="editor@example.org",
                                       organisation_name="Regio-organisatie", role="editor", actor=coordinator).person
        # 1 to 5 people per practice, `people` in all (the coordinator and editor among them).
        sizes = [1 + (n * 7) % 5 for n in range(organisations)]
        while sum(sizes) > people - 2:
            sizes[sizes.index(max(sizes))] -= 1
        n = 0
        while sum(sizes) < people - 2:
            sizes[n % organisations] += 1
            n += 1
        number = 0
        for practice, size in enumerate(sizes):
            for _ in range(size):
                membership.add_member(session, network, name=f"Huisarts {number} Ünal-de Vries",
                                      email=f"gp{number}@example.org", organisation_name=f"Huisartsenpraktijk {practice}",
                                      role="member", actor=coordinator)
                number += 1
        session.commit()
        document = documents.create_document(session, network, kind="samenwerkingsovereenkomst",
                                             title="Samenwerkingsovereenkomst huisartsenzorg", actor=editor)
        version = documents.upload_version(session, document, filename="v1.md", data=TEXT.encode(),
                                           change_note="eerste concept", actor=editor)
        round_ = rounds.open_round(session, document, deadline=utcnow() + dt.timedelta(days=30),
                                   message="Graag uw reactie.", actor=coordinator)
        session.commit()
        # Delivered, as a worker would have recorded it.
        session.execute(update(MailMessage).where(MailMessage.round_id == round_.id)
                        .values(status="sent", attempts=1, sent_at=utcnow()))
        participants = list(session.scalars(
            select(Participant).where(Participant.round_id == round_.id).order_by(Participant.id)))
        block_ids = [block["id"] for block in version.blocks]
        made = []
        for n in range(comments):
            participant = participants[(n * 7) % len(participants)]
            made.append(rounds.add_comment(session, participant, body=" ".join(PHRASES[: 1 + n % 4]),
                                           block_id=None if n % 10 == 0 else block_ids[(n * 3) % len(block_ids)]))
        session.commit()
        for n, comment in enumerate(made):
            if n % 3:
                comment_rules.process_comment(session, comment, disposition=DISPOSITIONS[n % 4],
                                              answer="Verwerkt in artikel 2." if n % 4 != 3 else "", actor=editor)
        session.commit()
        for n, participant in enumerate(participants):
            rounds.record_verdict(session, participant, value="akkoord_met_opmerkingen" if n % 9 == 0 else "akkoord",
                                  reason="", evidence=rounds.Evidence(
                                      ip_address=f"192.0.2.{n % 250}",
                                      user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/140.0"))
            if n % 200 == 199:
                session.commit()
        session.commit()
        finalising.finalise_document(session, document, version, actor=coordinator)
        session.commit()
        return document.id


# The yardstick ------------------------------------------------------------------------------------------------


def plain_json(path: Path, document_id: int) -> bytes:
    """The same rows read with one plain query per kind and encoded with sorted keys: the least a dossier costs."""
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    try:
        queries = {
            "participants": "SELECT p.*, m.name AS m_name, m.role, m.organisation_id, pe.email FROM participants p "
                            "JOIN memberships m ON m.id = p.membership_id JOIN people pe ON pe.id = p.person_id "
                            "JOIN rounds r ON r.id = p.round_id WHERE r.document_id = ?",
            "verdicts": "SELECT v.* FROM verdicts v JOIN rounds r ON r.id = v.round_id WHERE r.document_id = ?",
            "comments": "SELECT c.* FROM comments c JOIN rounds r ON r.id = c.round_id WHERE r.document_id = ?",
            "mails": "SELECT o.id, o.round_id, o.person_id, o.status, o.sent_at FROM outbox o JOIN rounds r "
                     "ON r.id = o.round_id WHERE r.document_id = ? AND o.email = 'invitation'",
            "events": "SELECT seq, hash, kind, data FROM audit_events WHERE document_id = ?",
        }
        data = {name: [dict(row) for row in connection.execute(sql, (document_id,))] for name, sql in queries.items()}
    finally:
        connection.close()
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def plain_pdf(rows: list[list[str]], columns: int) -> bytes:
    """reportlab laying out the same number of cells in plain tables, each cell a Paragraph, split over pages."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table

    buffer = io.BytesIO()
    template = SimpleDocTemplate(buffer, pagesize=A4)
    style = ParagraphStyle("cell", fontName="Helvetica", fontSize=8, leading=10)
    width = template.width / columns
    header, body = rows[0], rows[1:]
    # Tables of 120 rows, as reportlab splits one long table across pages in time that grows with its length.
    story = [Table([[Paragraph(cell, style) for cell in row] for row in [header, *body[start:start + 120]]],
                   colWidths=[width] * columns, repeatRows=1) for start in range(0, len(body), 120)]
    template.build(story)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organisations", type=int, default=280)
    parser.add_argument("--people", type=int, default=900)
    parser.add_argument("--comments", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from sqlalchemy import event

    from storage.database.engine import make_engine, make_session_factory
    from workflows.domain import dossier

    print(f"machine: {machine()}; load average {load_average()}")
    with tempfile.TemporaryDirectory(prefix="bench-dossier-") as directory:
        workdir = Path(directory)
        url = fresh_database(workdir)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        started = time.perf_counter()
        document_id = build(factory, args.organisations, args.people, args.comments)
        print(f"setup: {args.organisations} organisations, {args.people} people, {args.comments} comments, "
              f"final, in {time.perf_counter() - started:.1f} s")
        reader = make_session_factory(engine, read_only=True)  # as the job reads

        statements: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        with reader() as session:
            data = dossier.gather(session, document_id)
        event.remove(engine, "before_cursor_execute", count)

        json_median, json_max, encoded = timed(
            reader, lambda s: dossier.canonical(dossier.gather(s, document_id)), args.repeat)
        data = json.loads(encoded)
        digest = hashlib.sha256(encoded).hexdigest()
        pdf_times = []
        for _ in range(args.repeat):
            begun = time.perf_counter()
            pdf = dossier.render_pdf(data, digest)
            pdf_times.append(time.perf_counter() - begun)
        pdf_median, pdf_max = statistics.median(pdf_times), max(pdf_times)

        # The yardstick, on the same database and data.
        plain_json_times = []
        for _ in range(args.repeat):
            begun = time.perf_counter()
            plain = plain_json(workdir / "bench.db", document_id)
            plain_json_times.append(time.perf_counter() - begun)
        people_rows = [p for r in data["rounds"] for o in r["organisations"] for p in o["people"]]
        verdict_rows = [v for p in people_rows for v in p["verdicts"]]
        comment_rows = [c for p in people_rows for c in p["comments"]]
        cells = [["Organisatie", "Naam", "Uitgenodigd", "Bezorgd", "Geopend", "Oordeel"]]
        cells += [[p["name"], p["email"], p["invited_at"], p["delivered_at"] or "", p["first_opened_at"] or "",
                   "akkoord"] for p in people_rows]
        cells += [[v["person_name"], v["value"], v["given_at"], v["content_hash"],
                   f"{v['ip_address']} {v['user_agent']}", str(v["link_id"])] for v in verdict_rows]
        cells += [[str(c["id"]), c["quote"], c["body"], c["disposition"] or "", c["answer"], ""] for c in comment_rows]
        plain_pdf_times = []
        for _ in range(args.repeat):
            begun = time.perf_counter()
            plain_pdf(cells, 6)
            plain_pdf_times.append(time.perf_counter() - begun)
        engine.dispose()

    plain_json_s, plain_pdf_s = statistics.median(plain_json_times), statistics.median(plain_pdf_times)
    print(f"dossier: {len(people_rows)} people, {len(verdict_rows)} verdicts, {len(comment_rows)} comments; "
          f"JSON {len(encoded) / 1024:.0f} KiB, PDF {len(pdf) / 1024:.0f} KiB; yardstick JSON {len(plain) / 1024:.0f} KiB")
    shown = "; ".join(" ".join(statement.split())[:50] for statement in statements)
    print(f"SQL statements for gather: {len(statements)} ({shown})")
    json_ratio, pdf_ratio = json_median / plain_json_s, pdf_median / plain_pdf_s
    print_table(f"Evidence dossier, {args.organisations} organisations / {args.people} people "
                f"(median of {args.repeat}, fresh session each)", [
        ("JSON: gather + canonical", f"{json_median * 1000:.0f} ms (max {json_max * 1000:.0f} ms)",
         f"<= {TARGET_JSON_SECONDS:g} s", verdict(json_max <= TARGET_JSON_SECONDS)),
        ("  yardstick: plain SQL + json.dumps", f"{plain_json_s * 1000:.0f} ms", "", ""),
        ("  JSON / yardstick", f"{json_ratio:.1f}x", f"<= {TARGET_RATIO:g}x", verdict(json_ratio <= TARGET_RATIO)),
        ("PDF: render_pdf", f"{pdf_median:.2f} s (max {pdf_max:.2f} s)", f"<= {TARGET_PDF_SECONDS:g} s",
         verdict(pdf_max <= TARGET_PDF_SECONDS)),
        (f"  yardstick: reportlab, {len(cells)} x 6 cells in plain tables", f"{plain_pdf_s:.2f} s", "", ""),
        ("  PDF / yardstick", f"{pdf_ratio:.1f}x", f"<= {TARGET_RATIO:g}x", verdict(pdf_ratio <= TARGET_RATIO)),
        ("SQL statements for gather (constant)", str(len(statements)), "", ""),
    ])


if __name__ == "__main__":
    main()
