"""Benchmark: building the draft next version of the 200-page agreement with 200 accepted proposals.

    .venv/bin/python bench/bench_draft.py [--proposals 200] [--libreoffice]

Target: `write_draft_docx` (the version's .docx with every proposal as a Word tracked change by its
proposer, and a Word comment on every tenth) in at most 2 s (median of 5). Yardstick, measured in the same
run: `write_docx` of the same version without changes. It checks the result too: Accept all (the tests'
XML transform, read back) gives the version with the proposals applied and Reject all the version as it
is; with --libreoffice, LibreOffice's own Accept All and Reject All are compared as well (about a minute).
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import GEN_AGREEMENT, load_average, machine, median_seconds, verdict  # noqa: E402
from storage.blocks import block_text  # noqa: E402
from storage.formats.docx_draft import TEXT_TYPES, TextChange, apply_changes, write_draft_docx  # noqa: E402
from storage.formats.docx_reader import read_docx  # noqa: E402
from storage.formats.docx_writer import write_docx  # noqa: E402
from storage.formats.importing import import_upload  # noqa: E402
from tests.storage import libreoffice  # noqa: E402
from tests.storage.tracked_changes import accept_all, reject_all  # noqa: E402

TARGET_S = 2.0
REPEAT = 5
WORDS = ("twaalf maanden", "de cliëntenraad", "uiterlijk binnen vier weken", "het zorgnetwerk", "")


def proposals(blocks: list[dict], count: int, chance: random.Random) -> list[TextChange]:
    """`count` proposals on distinct text passages: a few words replaced, deleted, or added."""
    passages = [b for b in blocks if b["type"] in TEXT_TYPES and len(b["text"]) > 40
                and not any(run.get("note") is not None for run in b.get("runs") or [])]
    changes = []
    for number, block in enumerate(chance.sample(passages, count)):
        start = chance.randrange(0, len(block["text"]) - 30)
        end = start + chance.choice((0, 7, 15, 25))
        text = chance.choice(WORDS) or ("" if end > start else "nieuw")
        changes.append(TextChange(block["id"], start, end, text, f"Lid {number % 23 + 1}",
                                  datetime(2026, 12, 1, 9, number % 60, tzinfo=UTC),
                                  comment="Overgenomen." if number % 10 == 0 else "",
                                  comment_author="Projectgroep"))
    return changes


def body_texts(blocks: list[dict]) -> list:
    return [[block_text(inner) for row in b["rows"] for cell in row for inner in cell["blocks"]]
            if b["type"] == "table" else block_text(b)
            for b in blocks if b["type"] not in ("note", "header", "footer")]


def main() -> int:
    count = int(sys.argv[sys.argv.index("--proposals") + 1]) if "--proposals" in sys.argv else 200
    with tempfile.TemporaryDirectory(prefix="akkoord-bench-") as out:
        subprocess.run([sys.executable, str(GEN_AGREEMENT), out], check=True, capture_output=True)
        blocks = import_upload("v1.docx", (Path(out) / "v1.docx").read_bytes()).blocks
    changes = proposals(blocks, count, random.Random(15))

    yardstick, plain = median_seconds(lambda: write_docx(blocks), REPEAT)
    seconds, draft = median_seconds(lambda: write_draft_docx(blocks, changes), REPEAT)

    expected = apply_changes(blocks, changes)
    accepted_ok = [block_text(b) for b in read_docx(accept_all(draft))[0]] == \
        [block_text(b) for b in read_docx(write_docx(expected))[0]]
    rejected_ok = [block_text(b) for b in read_docx(reject_all(draft))[0]] == \
        [block_text(b) for b in read_docx(plain)[0]]

    print(f"Machine: {machine()}, load {load_average()}")
    print(f"Version: {len(blocks)} blocks, {sum(len(block_text(b)) for b in blocks):,} characters; "
          f"{len(changes)} proposals by {len({c.author for c in changes})} members, "
          f"{sum(1 for c in changes if c.comment)} with a comment")
    print(f"yardstick write_docx (no changes): {yardstick * 1000:.0f} ms, {len(plain) / 1024:.0f} KB")
    print(f"write_draft_docx: {seconds * 1000:.0f} ms (median of {REPEAT}), {len(draft) / 1024:.0f} KB, "
          f"{seconds / yardstick:.2f}x the yardstick -> target {TARGET_S:.0f} s: {verdict(seconds <= TARGET_S)}")
    print(f"Accept all (XML transform) == version with the proposals: {verdict(accepted_ok)}")
    print(f"Reject all (XML transform) == the version: {verdict(rejected_ok)}")
    ok = seconds <= TARGET_S and accepted_ok and rejected_ok
    if "--libreoffice" in sys.argv:
        if not libreoffice.available():
            print("LibreOffice: not installed, not checked")
        else:
            started = time.perf_counter()
            # LibreOffice's UNO bridge dies loading any .docx with Word comments: Accept/Reject All is
            # checked on the draft without them, and the draft with them is opened by its text export.
            opened = "Artikel" in libreoffice.text_of(draft)
            found = libreoffice.accept_and_reject(write_draft_docx(blocks, [replace(c, comment="") for c in changes]))
            lo_accept = found["accept"] == body_texts(expected)
            lo_reject = found["reject"] == body_texts(blocks)
            print(f"LibreOffice ({time.perf_counter() - started:.0f} s): opens the draft with comments: "
                  f"{verdict(opened)}; Accept All == version with the proposals: {verdict(lo_accept)}; "
                  f"Reject All == the version: {verdict(lo_reject)}")
            ok = ok and opened and lo_accept and lo_reject
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
