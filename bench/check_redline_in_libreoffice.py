"""An independent check of the tracked-changes redline: LibreOffice opens it, runs its own Accept All and
Reject All, and the paragraphs must equal the newer and the older version.

    .venv/bin/python bench/check_redline_in_libreoffice.py [--chapters 25]

Needs LibreOffice and its Python bridge from Debian (`apt-get install libreoffice-writer-nogui python3-uno`);
the UNO half runs under /usr/bin/python3, which has the bridge. Not part of the test suite: CI machines
do not carry LibreOffice. Compares body paragraphs (headings, paragraphs, list items without their
labels, which LibreOffice keeps apart); tables are compared cell by cell.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GEN_AGREEMENT = ROOT.parent / "shared" / "tools" / "gen_agreement.py"
SYSTEM_PYTHON = "/usr/bin/python3"


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


UNO_PART = r'''
import json, sys, time, uno
from com.sun.star.beans import PropertyValue

folder = sys.argv[1]
local = uno.getComponentContext()
resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
for _ in range(60):
    try:
        context = resolver.resolve("uno:socket,host=127.0.0.1,port=%s;urp;StarOffice.ComponentContext" % sys.argv[2])
        break
    except Exception:
        time.sleep(0.5)
smgr = context.ServiceManager
desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", context)
dispatcher = smgr.createInstanceWithContext("com.sun.star.frame.DispatchHelper", context)

def prop(name, value):
    p = PropertyValue(); p.Name = name; p.Value = value; return p

def texts(command):
    url = uno.systemPathToFileUrl(folder + "/redline.docx")
    doc = desktop.loadComponentFromURL(url, "_blank", 0, (prop("Hidden", True),))
    dispatcher.executeDispatch(doc.getCurrentController().getFrame(), command, "", 0, ())
    out = []
    enumeration = doc.getText().createEnumeration()
    while enumeration.hasMoreElements():
        element = enumeration.nextElement()
        if element.supportsService("com.sun.star.text.TextTable"):
            out.append([element.getCellByName(name).getString().replace("\n", "\t")
                        for name in element.getCellNames()])
        else:
            out.append(element.getString())
    doc.close(True)
    return out

print(json.dumps({"accept": texts(".uno:AcceptAllTrackedChanges"),
                  "reject": texts(".uno:RejectAllTrackedChanges")}))
'''


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
    chapters = sys.argv[sys.argv.index("--chapters") + 1] if "--chapters" in sys.argv else "25"
    with tempfile.TemporaryDirectory() as folder:
        prepare(Path(folder), int(chapters))
        port = "2199"
        profile = Path(folder) / "profile"
        office = subprocess.Popen(["soffice", "--headless", "--invisible", "--nologo", "--norestore",
                                   f"-env:UserInstallation=file://{profile}",
                                   f"--accept=socket,host=127.0.0.1,port={port};urp;"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            script = Path(folder) / "uno_part.py"
            script.write_text(UNO_PART)
            result = subprocess.run([SYSTEM_PYTHON, str(script), folder, port], check=True, capture_output=True,
                                    text=True, timeout=600, env={**os.environ, "PYTHONPATH": ""})
        finally:
            office.terminate()
            office.wait(30)
        got = json.loads(result.stdout)
        expected = json.loads((Path(folder) / "expected.json").read_text())
        accepted = compare("Accept All == newer version", expected["accept"], got["accept"])
        rejected = compare("Reject All == older version", expected["reject"], got["reject"])
    return 0 if accepted and rejected else 1


if __name__ == "__main__":
    sys.exit(main())
