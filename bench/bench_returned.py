"""Benchmark: comparing a member's returned 200-page agreement with its version.

    .venv/bin/python bench/bench_returned.py

The generated agreement's v1 is the version; its v2 (about 5% of the paragraphs edited, 1% added, 1% removed,
one table changed) is the member's returned file, once with the edits typed in (v2.docx) and once with the
same edits as Word tracked changes (the v1 -> v2 redline .docx). Target: reading the file and comparing it
in at most 1 s (median of 5), every edit found, none invented. Yardstick, in the same run: reading v1.docx.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import GEN_AGREEMENT, load_average, machine, median_seconds, verdict  # noqa: E402
from storage.blocks import block_text, body_blocks  # noqa: E402
from storage.formats.importing import import_upload  # noqa: E402
from tests.workflows.test_returned import applied  # noqa: E402 (the tests' own, independent application)
from workflows.domain.exports import redline_docx  # noqa: E402
from workflows.text.returned import (  # noqa: E402
    NEW_PASSAGE,
    REMOVED_PASSAGE,
    REPLACED_PASSAGE,
    TEXT,
    compare_returned,
)

TARGET_S = 1.0
REPEAT = 5


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="akkoord-bench-") as out:
        subprocess.run([sys.executable, str(GEN_AGREEMENT), out], check=True, capture_output=True)
        v1_file = (Path(out) / "v1.docx").read_bytes()
        untracked_file = (Path(out) / "v2.docx").read_bytes()
        edits = json.loads((Path(out) / "edits.json").read_text())
    version = import_upload("v1.docx", v1_file).blocks
    expected = [block_text(block) for block in body_blocks(import_upload("v2.docx", untracked_file).blocks)]
    tracked_file = redline_docx(version, import_upload("v2.docx", untracked_file).blocks, author="Lid",
                                date=datetime(2026, 12, 1, tzinfo=UTC))

    def compare(data: bytes):
        imported = import_upload("terug.docx", data)
        return compare_returned(version, imported.blocks, imported.word_comments)

    yardstick, _ = median_seconds(lambda: import_upload("v1.docx", v1_file), REPEAT)
    print(f"Machine: {machine()}, load {load_average()}")
    print(f"Version: {len(version)} blocks; generator's edits: {len(edits['edited'])} paragraphs edited, "
          f"{len(edits['inserted'])} added, {len(edits['deleted'])} removed, one table changed")
    print(f"yardstick: reading v1.docx {yardstick * 1000:.0f} ms")
    ok = True
    for name, data in (("edits typed in", untracked_file), ("edits as tracked changes", tracked_file)):
        seconds, comparison = median_seconds(lambda data=data: compare(data), REPEAT)
        changes = comparison.changes
        exact = applied(body_blocks(version), changes) == expected
        invented = sum(1 for c in changes if c.old == c.text)
        counts_ok = (sum(1 for c in changes if c.kind == NEW_PASSAGE) == len(edits["inserted"])
                     and sum(1 for c in changes if c.kind == REMOVED_PASSAGE) == len(edits["deleted"]))
        passages = len({c.block_id for c in changes if c.kind in (TEXT, REPLACED_PASSAGE)})
        print(f"{name}: {seconds * 1000:.0f} ms read + compare (median of {REPEAT}, {seconds / yardstick:.1f}x the "
              f"yardstick) -> target {TARGET_S:.0f} s: {verdict(seconds <= TARGET_S)}")
        print(f"  {len(changes)} changes: {passages} passages changed, "
              f"{sum(1 for c in changes if c.kind == NEW_PASSAGE)} added, "
              f"{sum(1 for c in changes if c.kind == REMOVED_PASSAGE)} removed; applying them gives the returned "
              f"text: {verdict(exact)}; added/removed as the generator made them: {verdict(counts_ok)}; "
              f"invented (no change of text): {invented}")
        ok = ok and seconds <= TARGET_S and exact and counts_ok and not invented
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
