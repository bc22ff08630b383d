"""Benchmark: the redline between two versions of the generated 200-page agreement.

    .venv/bin/python bench/bench_redline.py

Targets: redline() in at most 100 ms (best of 5); changed characters at most 10% above the minimal
character diff of the same changed blocks. It also times rendering that redline as the pages show it
(templates/partials/redline.html, in Dutch). For comparison it also runs plain diff-match-patch,
character level with its default 1 s Diff_Timeout, over the whole text, and says whether that
degenerated into "delete everything, insert everything".
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jinja2  # noqa: E402
from diff_match_patch import diff_match_patch  # noqa: E402

from storage.blocks import assign_ids, plain_text  # noqa: E402
from workflows.domain.wording import catalogue  # noqa: E402
from workflows.text import redlines  # noqa: E402
from workflows.text.redlines import redline  # noqa: E402

GEN_AGREEMENT = Path(__file__).resolve().parents[1].parent / "shared/tools/gen_agreement.py"
TIME_TARGET_MS = 100.0
RENDER_TARGET_MS = 100.0
MINIMALITY_TARGET = 1.10


def model_blocks(model: list[dict]) -> list[dict]:
    """gen_agreement's model (kind title/p/h1-h3/bullet/num/table) as version blocks."""
    blocks, number = [], 0
    for item in model:
        kind = item["kind"]
        number = number + 1 if kind == "num" else 0
        if kind == "title":
            blocks.append({"type": "heading", "level": 1, "text": item["text"]})
        elif kind in ("h1", "h2", "h3"):
            blocks.append({"type": "heading", "level": int(kind[1]), "text": item["text"]})
        elif kind == "bullet":
            blocks.append({"type": "list_item", "level": 0, "ordered": False, "label": "•", "text": item["text"]})
        elif kind == "num":
            blocks.append({"type": "list_item", "level": 0, "ordered": True, "label": f"{number}.",
                           "text": item["text"]})
        elif kind == "table":
            blocks.append({"type": "table", "rows": [
                [{"blocks": [{"type": "paragraph", "text": cell}], "colspan": 1, "rowspan": 1} for cell in row]
                for row in item["rows"]]})
        else:
            blocks.append({"type": "paragraph", "text": item["text"]})
    return assign_ids(blocks)


def changed_chars(diffs) -> int:
    return sum(len(text) for op, text in diffs if op not in (0, "equal"))


def minimal_chars(old: str, new: str) -> int:
    exact = diff_match_patch()
    exact.Diff_Timeout = 0
    return changed_chars(exact.diff_main(old, new, False))


def semantic_chars(old: str, new: str) -> int:
    """diff-match-patch's own readable answer: the exact character diff after its semantic cleanup."""
    exact = diff_match_patch()
    exact.Diff_Timeout = 0
    diffs = exact.diff_main(old, new, False)
    exact.diff_cleanupSemantic(diffs)
    return changed_chars(diffs)


def smallest_token_diff(old: str, new: str) -> int:
    """The fewest changed characters any diff of whole words, spaces and punctuation marks can have."""
    exact = diff_match_patch()
    exact.Diff_Timeout = 0
    vocabulary: dict[str, str] = {}
    a = redlines._encode(redlines._TOKEN.findall(old), vocabulary)
    b = redlines._encode(redlines._TOKEN.findall(new), vocabulary)
    tokens = {code: token for token, code in vocabulary.items()}
    return sum(len("".join(tokens[c] for c in text)) for op, text in exact.diff_main(a, b, False) if op)


def best_of(runs: int, function) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def redline_template() -> jinja2.Template:
    """The redline partial as the compare and changes pages include it, in Dutch, outside a request."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "templates"), autoescape=True,
                             extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(catalogue("nl"), newstyle=True)
    return env.get_template("partials/redline.html")


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="akkoord-bench-") as out:
        subprocess.run([sys.executable, str(GEN_AGREEMENT), out], check=True, capture_output=True)
        v1 = model_blocks(json.loads(Path(out, "model_v1.json").read_text(encoding="utf-8")))
        v2 = model_blocks(json.loads(Path(out, "model_v2.json").read_text(encoding="utf-8")))
    old_text, new_text = plain_text(v1), plain_text(v2)

    print("Redline benchmark: generated agreement (gen_agreement.py, default seed)")
    print(f"  machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"  v1: {len(v1)} blocks, {len(old_text):,} characters; v2: {len(v2)} blocks, {len(new_text):,} characters")
    print()

    print(f"redline() time, best of 5 (target <= {TIME_TARGET_MS:.0f} ms)")
    results = {}
    for granularity in ("word", "char"):
        seconds, results[granularity] = best_of(5, lambda g=granularity: redline(v1, v2, granularity=g))
        label = "word (default)" if granularity == "word" else "char"
        print(f"  {label:<15} {seconds * 1000:7.1f} ms   {verdict(seconds * 1000 <= TIME_TARGET_MS)}")
    result = results["word"]
    equal = sum(1 for row in result.rows if row.status == "equal")
    print(f"  rows: {result.changed_blocks} changed, {result.inserted_blocks} inserted, "
          f"{result.deleted_blocks} deleted, {equal} equal; "
          f"{result.inserted_words} words inserted, {result.deleted_words} deleted")
    template = redline_template()
    seconds, html = best_of(5, lambda: template.render(redline=result))
    print(f"  rendered as the page shows it: {seconds * 1000:.1f} ms, {len(html) / 1024:,.0f} KB "
          f"(target <= {RENDER_TARGET_MS:.0f} ms)   {verdict(seconds * 1000 <= RENDER_TARGET_MS)}")
    print()

    print(f"minimality: changed characters in the changed blocks / minimal character diff of the same pairs "
          f"(dmp, Diff_Timeout=0; target <= {MINIMALITY_TARGET:.2f})")
    for granularity, result in results.items():
        changed = [row for row in result.rows if row.status == "changed"]
        ours = sum(changed_chars(row.segments) for row in changed)
        minimal = sum(minimal_chars(row.old_text, row.new_text) for row in changed)
        ratio = ours / minimal
        print(f"  {granularity:<5} {ours:6,} / {minimal:6,} = {ratio:.3f}   {verdict(ratio <= MINIMALITY_TARGET)}")
        if granularity == "word":
            floor = sum(smallest_token_diff(row.old_text, row.new_text) for row in changed)
            print(f"        against the smallest whole-word diff ({floor:,} characters): {ours / floor:.3f}")
            semantic = sum(semantic_chars(row.old_text, row.new_text) for row in changed)
            print(f"        against dmp's character diff after diff_cleanupSemantic ({semantic:,} characters): "
                  f"{ours / semantic:.3f}   {verdict(ours / semantic <= MINIMALITY_TARGET)}")
    print()

    print("plain diff-match-patch, character level, default Diff_Timeout = 1.0 s, whole text")
    plain = diff_match_patch()
    start = time.perf_counter()
    diffs = plain.diff_main(old_text, new_text, False)
    seconds = time.perf_counter() - start
    plain_changed = changed_chars(diffs)
    char_result = results["char"]
    ours = sum(changed_chars(row.segments) for row in char_result.rows if row.status != "equal")
    ours += 2 * (char_result.inserted_blocks + char_result.deleted_blocks)  # their "\n\n" separators
    largest = max((len(text) for op, text in diffs if op), default=0)
    degenerated = plain_changed > 2 * ours
    print(f"  time {seconds * 1000:.0f} ms; {len(diffs):,} segments; {plain_changed:,} changed characters, "
          f"largest single edit {largest:,} characters")
    print(f"  the redline (char granularity) needs about {ours:,} changed characters for the same two texts")
    share = plain_changed / (len(old_text) + len(new_text))
    print(f"  degenerated: {'YES' if degenerated else 'no'} "
          f"({share:.0%} of the characters of both texts marked deleted or inserted)")


if __name__ == "__main__":
    main()
