"""The processing view for a round of 2,000 comments (target <= 1 s per page), in-process.

    .venv/bin/python bench/bench_processing.py [--proposals]

With --proposals a third of the comments propose wording, two on the same words of each passage of a document of
400 passages (the page shows them together); of each pair processed, one is taken.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from service import create_app
    from service.embedded.servers import start_redis_server
    from storage.blocks import block_text
    from storage.database.engine import upgrade
    from tests.conftest import csrf_token
    from tests.factories import make_document, make_network, open_round, participant
    from workflows.domain import comments, rounds, signin

    proposing = "--proposals" in sys.argv[1:]

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        redis = start_redis_server(Path(folder) / "redis")
        try:
            app = create_app({"DATABASE_URL": url, "REDIS_URL": redis.url, "SECRET_KEY": "bench",
                              "BASE_URL": "http://localhost"})
            with app.app_context():
                db = app.extensions["akkoord_sessions"]()
                network, coordinator, people = make_network(db, members=40)
                # With proposals: a document of 400 passages, so that each proposal shares its words with one other.
                text = "\n\n".join(f"Artikel {n}: de partijen werken samen aan goede zorg." for n in range(400))
                document, version = (make_document(db, network, coordinator, text=text) if proposing
                                     else make_document(db, network, coordinator))
                round_ = open_round(db, document, coordinator)
                members = [participant(db, round_, p) for p in people]
                paragraphs = [b["id"] for b in version.blocks if b["type"] == "paragraph"]
                texts = {b["id"]: block_text(b) for b in version.blocks}
                made, proposed = [], 0
                for i in range(2000):
                    block_id = paragraphs[i % len(paragraphs)] if i % 3 else None
                    if proposing and i % 3 == 1:  # two proposals on the first two words of each passage
                        block_id = paragraphs[proposed // 2 % len(paragraphs)]
                        selected = " ".join(texts[block_id].split()[:2])
                        made.append(rounds.add_comment(db, members[i % len(members)], body="", block_id=block_id,
                                                       start=0, end=len(selected), selected=selected,
                                                       proposed_text=f"{selected} ({i})", kind="editorial"))
                        proposed += 1
                    else:
                        made.append(rounds.add_comment(db, members[i % len(members)], block_id=block_id,
                                                       body=f"Opmerking {i}: graag concreter."))
                taken: set[str] = set()
                for comment in made[:1200]:
                    # Of two proposals on the same words one is taken, the other noted.
                    first = comment.proposed_text is None or comment.block_id not in taken
                    if comment.proposed_text is not None:
                        taken.add(comment.block_id)
                    comments.process_comment(db, comment, disposition="overgenomen" if first else "voor_kennisgeving",
                                             answer="", actor=coordinator)
                token = signin.issue_link_token(db, coordinator)
                db.commit()
                round_id = round_.id
            client = app.test_client()
            page = client.get(f"/signin/{token}").get_data(as_text=True)
            client.post(f"/signin/{token}", data={"csrf_token": csrf_token(page)})
            figures = {}
            for name, path in (("open comments, page 1", f"/r/{round_id}/processing"),
                               ("all comments, page 40", f"/r/{round_id}/processing?show=all&page=40"),
                               ("round page (full comment list)", f"/r/{round_id}")):
                client.get(path)
                times = []
                for _ in range(5):
                    started = time.perf_counter()
                    response = client.get(path)
                    times.append(time.perf_counter() - started)
                    assert response.status_code == 200, path
                figures[name] = statistics.median(times)
        finally:
            redis.stop()
    print("Processing view, round of 2,000 comments (1,200 processed)"
          f"{', a third of them proposals' if proposing else ''}, median of 5, in-process")
    for name, seconds in figures.items():
        print(f"  {name:<34} {seconds * 1000:6.0f} ms   (target <= 1000 ms) {'met' if seconds <= 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
