"""The processing view for a round of 2,000 comments (target <= 1 s per page), in-process.

    .venv/bin/python bench/bench_processing.py
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
    from storage.database.engine import upgrade
    from tests.conftest import csrf_token
    from tests.factories import make_document, make_network, open_round, participant
    from workflows.domain import comments, rounds, signin

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
                document, version = make_document(db, network, coordinator)
                round_ = open_round(db, document, coordinator)
                members = [participant(db, round_, p) for p in people]
                paragraphs = [b["id"] for b in version.blocks if b["type"] == "paragraph"]
                made = [rounds.add_comment(db, members[i % len(members)], body=f"Opmerking {i}: graag concreter.",
                                           block_id=paragraphs[i % len(paragraphs)] if i % 3 else None)
                        for i in range(2000)]
                for comment in made[:1200]:
                    comments.process_comment(db, comment, disposition="overgenomen", answer="", actor=coordinator)
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
    print("Processing view, round of 2,000 comments (1,200 processed), median of 5, in-process")
    for name, seconds in figures.items():
        print(f"  {name:<34} {seconds * 1000:6.0f} ms   (target <= 1000 ms) {'met' if seconds <= 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
