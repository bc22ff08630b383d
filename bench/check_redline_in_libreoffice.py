"""An independent check of the tracked-changes redline: LibreOffice opens it, runs its own Accept All and
Reject All, and the paragraphs must equal the newer and the older version.

    .venv/bin/python bench/check_redline_in_libreoffice.py [--chapters 25]

Needs LibreOffice and its Python bridge from Debian (`apt-get install libreoffice-writer-nogui python3-uno`);
the UNO half (tests/storage/libreoffice.py) runs under /usr/bin/python3, which has the bridge. The 200-page
check takes minutes, so it is not part of the test suite (the suite checks a small redline and the draft
next version in LibreOffice where it is installed). Compares body paragraphs (headings, paragraphs, list
items without their labels, which LibreOffice keeps apart); tables are compared cell by cell.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GEN_AGREEMENT = ROOT.parent / "shared" / "tools" / "gen_agreement.py"


def prepare(folder: Path, chapters: int) -> None:
    """Under the project's Python: the versions, their redline, and the texts expected after accept/reject."""
    sys.path.insert(0, str(ROOT))
    from datetime import datetime

    from storage.blocks import block_text
    from storage.formats.importing import import_upload
    from workflows.domain.exports import redline_docx

    subprocess.run([sys.executable, str(GEN_AGREEMENT), str(folder), "--chapters", str(chapters)], check=True,
                   capture_output=True)
    old = import_upload("v1.docx", (folder / "v1.docx").read_bytes()).blocks
    new = import_upload("v2.docx", (folder / "v2.docx").read_bytes()).blocks
    started = time.perf_counter()
    data = redline_docx(old, new, author="Akkoord", date=datetime(2026, 11, 22, 10, tzinfo=UTC))
    print(f"redline_docx: {time.perf_counter() - started:.2f} s, {len(data) / 1024:.0f} KB")
    (folder / "redline.docx").write_bytes(data)

    def expected(blocks):
        out = []
        for block in blocks:
            if block["type"] == "table":
                out.append(["\t".join(block_text(inner) for inner in cell["blocks"]) for row in block["rows"]
                            for cell in row])
            else:
                out.append(block_text(block))
        return out

    (folder / "expected.json").write_text(json.dumps({"accept": expected(new), "reject": expected(old)}))


def compare(name: str, expected: list, got: list) -> bool:
    # A trailing empty paragraph is Word's required last paragraph mark, not text.
    while got and got[-1] == "":
        got.pop()
    mismatches = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    ok = not mismatches and len(expected) == len(got)
    print(f"{name}: {len(got)} blocks from LibreOffice, {len(expected)} expected, "
          f"{len(mismatches)} differ -> {'EXACT' if ok else 'DIFFERENT'}")
    for i, e, g in mismatches[:5]:
        print(f"  block {i}:\n    expected {str(e)[:150]!r}\n    got      {str(g)[:150]!r}")
    return ok


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from tests.storage import libreoffice

    chapters = sys.argv[sys.argv.index("--chapters") + 1] if "--chapters" in sys.argv else "25"
    with tempfile.TemporaryDirectory() as folder:
        prepare(Path(folder), int(chapters))
        got = libreoffice.accept_and_reject((Path(folder) / "redline.docx").read_bytes())
        expected = json.loads((Path(folder) / "expected.json").read_text())
    accepted = compare("Accept All == newer version", expected["accept"], got["accept"])
    rejected = compare("Reject All == older version", expected["reject"], got["reject"])
    return 0 if accepted and rejected else 1


if __name__ == "__main__":
    sys.exit(main())
