"""Benchmark: importing and exporting the generated 200-page agreement as .docx.

    .venv/bin/python bench/bench_import.py

Targets: read_docx of v1.docx in at most 0.5 s and of v1_fragmented.docx (the same text in Word's
many small runs) in at most 1 s, best of 5, in-process; write_docx of v1's blocks in at most 2 s.
Peak memory of each import is measured with tracemalloc, which sees Python's allocations only, not
libxml2's parsed tree (about the size of the unzipped XML, freed when read_docx returns).
mammoth.convert_to_html on the same files is timed for comparison (package to structured text).
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mammoth  # noqa: E402

from bench._common import load_average, machine, print_table, verdict  # noqa: E402
from storage.formats.docx_reader import read_docx  # noqa: E402
from storage.formats.docx_writer import write_docx  # noqa: E402
from storage.formats.importing import import_upload  # noqa: E402

GEN_AGREEMENT = Path(__file__).resolve().parents[1].parent / "shared/tools/gen_agreement.py"
TARGETS = {"v1.docx": 0.5, "v1_fragmented.docx": 1.0}
EXPORT_TARGET = 2.0
RUNS = 5


def best_of(runs: int, action) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def peak_memory(action) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


RSS_PROBE = """
import resource, sys
from storage.formats.docx_reader import read_docx
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
read_docx(data)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before, after)
"""


def peak_rss(path: Path) -> tuple[int, int]:
    """(peak resident set of a fresh process that imports the file, its growth during the import): unlike
    tracemalloc this sees lxml's C memory. The growth is 0 when parsing stays below the import's own peak."""
    out = subprocess.run([sys.executable, "-c", RSS_PROBE, str(path)], check=True, capture_output=True, text=True)
    before, after = map(int, out.stdout.split())
    return after * 1024, (after - before) * 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, str(GEN_AGREEMENT), folder], check=True, capture_output=True)
        files = {name: (Path(folder) / name).read_bytes() for name in TARGETS}
        rss = {name: peak_rss(Path(folder) / name) for name in TARGETS}

    print(f"machine: {machine()}, load {load_average()}")
    rows = []
    for name, data in files.items():
        blocks, _ = read_docx(data)
        seconds = best_of(RUNS, lambda: read_docx(data))
        upload = best_of(RUNS, lambda: import_upload(name, data))
        peak = peak_memory(lambda: read_docx(data))
        mammoth_seconds = best_of(3, lambda: mammoth.convert_to_html(io.BytesIO(data)))
        print(f"{name}: {len(data) / 1024:.0f} KB, {len(blocks)} blocks")
        rows += [
            (f"read_docx {name}", f"{seconds * 1000:.0f} ms", f"<= {TARGETS[name] * 1000:.0f} ms",
             verdict(seconds <= TARGETS[name])),
            (f"import_upload {name} (with archive checks)", f"{upload * 1000:.0f} ms", "", ""),
            (f"peak memory read_docx {name} (tracemalloc)", f"{peak / 2**20:.1f} MiB", "", ""),
            (f"peak RSS of a process importing {name} (growth)",
             f"{rss[name][0] / 2**20:.0f} MiB ({rss[name][1] / 2**20:.0f})", "<= 100 MiB",
             verdict(rss[name][0] <= 100 * 2**20)),
            (f"mammoth.convert_to_html {name}", f"{mammoth_seconds * 1000:.0f} ms", "(comparison)", ""),
        ]

    blocks, _ = read_docx(files["v1.docx"])
    export = best_of(RUNS, lambda: write_docx(blocks))
    rows.append(("write_docx v1 blocks", f"{export * 1000:.0f} ms", f"<= {EXPORT_TARGET * 1000:.0f} ms",
                 verdict(export <= EXPORT_TARGET)))
    print_table(f"Import and export of the generated agreement (best of {RUNS})", rows)


if __name__ == "__main__":
    main()
