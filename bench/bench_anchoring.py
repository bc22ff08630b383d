"""Benchmark: 1,000 comments on the generated 200-page agreement re-anchored onto its next version.

    .venv/bin/python bench/bench_anchoring.py [--comments 1000] [--seed 7]

Targets: carry_ids + reanchor in at most 0.5 s; at least 98% of the comments whose text still exists
placed; none placed in a wrong spot. Checked against the generator's edits.json: on an unchanged
paragraph a placement must be the same block, offsets and text; on an edited one the same block with
text at least 0.8 like the quote; a comment on a deleted paragraph must be removed.

For contrast, the same comments placed the way a plain fuzzy search would: diff-match-patch's
match_main over the whole new text with the quote's first 32 characters, near the comment's old
offset in the whole old text, without passages or a diff.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from difflib import SequenceMatcher
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from diff_match_patch import diff_match_patch  # noqa: E402 (after the path is set)

from storage.blocks import block_text  # noqa: E402
from storage.formats.importing import import_upload  # noqa: E402
from workflows.text.anchoring import anchor_at, reanchor  # noqa: E402
from workflows.text.passages import carry_ids  # noqa: E402

GEN_AGREEMENT = ROOT.parent / "shared/tools/gen_agreement.py"
TIME_TARGET_S = 0.5
PLACED_TARGET = 0.98
SIMILAR = 0.8
RUNS = 5


def agreement() -> tuple[list[dict], list[dict], dict]:
    directory = Path("/tmp/agreement")
    if not all((directory / name).exists() for name in ("v1.docx", "v2.docx", "edits.json")):
        directory = Path(tempfile.mkdtemp(prefix="agreement-"))
        subprocess.run([sys.executable, str(GEN_AGREEMENT), str(directory)], check=True, capture_output=True)
    v1 = import_upload("v1.docx", (directory / "v1.docx").read_bytes()).blocks
    v2 = import_upload("v2.docx", (directory / "v2.docx").read_bytes()).blocks
    return v1, v2, json.loads((directory / "edits.json").read_text(encoding="utf-8"))


def similarity(a: str, b: str) -> float:
    return min(SequenceMatcher(None, a, b, autojunk=False).ratio(), SequenceMatcher(None, b, a, autojunk=False).ratio())


def comments(v1: list[dict], count: int, seed: int) -> list[tuple[int, int, int]]:
    """(block index, start, end) of random spans of 15-120 characters."""
    rnd = random.Random(seed)
    candidates = [k for k, b in enumerate(v1) if len(block_text(b)) >= 15]
    out = []
    for _ in range(count):
        k = rnd.choice(candidates)
        n = len(block_text(v1[k]))
        length = rnd.randint(15, min(120, n))
        start = rnd.randint(0, n - length)
        out.append((k, start, start + length))
    return out


def expected_positions(v1: list[dict], edits: dict) -> dict[int, int]:
    """v1 block index -> index in v2 of the same passage, for the blocks not deleted."""
    deleted, inserted_after = set(edits["deleted"]), set(edits["inserted"])
    out, k = {}, 0
    for i in range(len(v1)):
        if i in deleted:
            continue
        out[i] = k
        k += 1 + (i in inserted_after)
    return out


def judge(v1, v2, edits, spans, placed_at):
    """Counts: exists, placed among those, wrong. `placed_at(n)` gives (v2 block index, start, end) or None."""
    position = expected_positions(v1, edits)
    edited = set(edits["edited"]) | {edits["table"]}
    exists = placed_exists = wrong = removed_right = 0
    for n, (i, start, end) in enumerate(spans):
        quote = block_text(v1[i])[start:end]
        place = placed_at(n)
        text_exists = i in position and (i not in edited or quote in block_text(v2[position[i]]))
        exists += text_exists
        if place is None:
            removed_right += i not in position
            continue
        k, new_start, new_end = place
        new_quote = block_text(v2[k])[new_start:new_end]
        if i not in position:
            right = False
        elif i not in edited:
            right = (k, new_start, new_end) == (position[i], start, end) and new_quote == quote
        else:
            right = k == position[i] and similarity(new_quote, quote) >= SIMILAR
        wrong += not right
        placed_exists += text_exists and right
    return exists, placed_exists, wrong, removed_right


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comments", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    v1, v2_raw, edits = agreement()
    spans = comments(v1, args.comments, args.seed)
    anchors = [anchor_at(v1[i], start, end) for i, start, end in spans]
    print(f"agreement: {len(v1)} -> {len(v2_raw)} blocks; {len(edits['edited'])} edited, "
          f"{len(edits['deleted'])} deleted, {len(edits['inserted'])} inserted; {len(anchors)} comments")
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")

    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        v2 = carry_ids(v1, v2_raw, taken={b["id"] for b in v1})
        placements = reanchor(v1, v2, anchors)
        times.append(time.perf_counter() - began)
    index = {b["id"]: k for k, b in enumerate(v2)}

    def ours(n):
        p = placements[n]
        return None if p.status == "removed" else (index[p.block_id], p.start, p.end)

    exists, placed, wrong, removed_right = judge(v1, v2, edits, spans, ours)
    statuses = {s: sum(p.status == s for p in placements) for s in ("exact", "moved", "edited", "removed")}
    print(f"\nreanchor (carry_ids + word diff + reanchor), best of {RUNS}: {min(times):.3f} s "
          f"(median {statistics.median(times):.3f} s; target <= {TIME_TARGET_S} s)")
    print(f"  statuses: {statuses}")
    print(f"  placed: {placed}/{exists} of the comments whose text still exists = {placed / exists:.1%} "
          f"(target >= {PLACED_TARGET:.0%})")
    print(f"  on deleted paragraphs and removed: {removed_right}")
    print(f"  placed in a wrong spot: {wrong} (target 0)")

    # The contrast: one fuzzy search over the whole text from the old offset.
    old_starts, at = [], 0
    for block in v1:
        old_starts.append(at)
        at += len(block_text(block)) + 2
    new_starts, at = [], 0
    for block in v2:
        new_starts.append(at)
        at += len(block_text(block)) + 2
    new_whole = "\n\n".join(block_text(b) for b in v2)
    dmp = diff_match_patch()
    began = time.perf_counter()
    found = [dmp.match_main(new_whole, block_text(v1[i])[start:end][:32], old_starts[i] + start)
             for i, start, end in spans]
    elapsed = time.perf_counter() - began

    def fuzzy(n):
        if found[n] == -1:
            return None
        _, start, end = spans[n]
        k = bisect.bisect_right(new_starts, found[n]) - 1
        new_start = found[n] - new_starts[k]
        return k, new_start, new_start + end - start

    exists, placed, wrong, removed_right = judge(v1, v2, edits, spans, fuzzy)
    print(f"\nfor contrast, match_main over the whole text near the old offset (no passages, no diff): {elapsed:.3f} s")
    print(f"  placed: {placed}/{exists} = {placed / exists:.1%}; on deleted paragraphs and removed: {removed_right}; "
          f"placed in a wrong spot: {wrong}")


if __name__ == "__main__":
    main()
