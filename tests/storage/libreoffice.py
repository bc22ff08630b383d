"""LibreOffice's own Accept All and Reject All of a .docx's tracked changes, for the tests and the redline check.

LibreOffice runs headless with a profile of its own and is driven over UNO from Debian's /usr/bin/python3 (which
has the bridge); the texts come back as JSON: one string per body paragraph, a list of cell texts per table.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"

UNO_PART = r'''
import json, sys, time, uno
from com.sun.star.beans import PropertyValue

path, port = sys.argv[1], sys.argv[2]
local = uno.getComponentContext()
resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
for _ in range(120):
    try:
        context = resolver.resolve("uno:socket,host=127.0.0.1,port=%s;urp;StarOffice.ComponentContext" % port)
        break
    except Exception:
        time.sleep(0.5)
smgr = context.ServiceManager
desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", context)
dispatcher = smgr.createInstanceWithContext("com.sun.star.frame.DispatchHelper", context)

def prop(name, value):
    p = PropertyValue(); p.Name = name; p.Value = value; return p

def texts(command):
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(path), "_blank", 0, (prop("Hidden", True),))
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


def available() -> bool:
    """LibreOffice and the UNO bridge are both installed."""
    if shutil.which("soffice") is None or not Path(SYSTEM_PYTHON).exists():
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True, env=_system_env())
    return probe.returncode == 0


def accept_and_reject(data: bytes, *, timeout: int = 600, attempts: int = 3) -> dict[str, list]:
    """{"accept": [...], "reject": [...]}: the body's texts after LibreOffice's Accept All and Reject All.
    A trailing empty paragraph (Word's required last paragraph mark) is left out.

    The UNO client is only started once LibreOffice listens. Even so, pyuno's client has been seen to die with
    SIGSEGV on a loaded machine before it read the document (CI, 2026-12-03): a run that dies without an answer is
    tried again with a fresh LibreOffice, at most `attempts` times. A wrong answer is never retried."""
    for attempt in range(1, attempts + 1):
        try:
            found = _accept_and_reject_once(data, timeout)
            break
        except subprocess.CalledProcessError:
            if attempt == attempts:
                raise
    for texts in found.values():
        while texts and texts[-1] == "":
            texts.pop()
    return found


def _accept_and_reject_once(data: bytes, timeout: int) -> dict[str, list]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "document.docx"
        path.write_bytes(data)
        port = _free_port()
        office = subprocess.Popen(["soffice", "--headless", "--invisible", "--nologo", "--norestore",
                                   f"-env:UserInstallation=file://{folder}/profile",
                                   f"--accept=socket,host=127.0.0.1,port={port};urp;"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_port(port, timeout=120)
            script = Path(folder) / "uno_part.py"
            script.write_text(UNO_PART)
            result = subprocess.run([SYSTEM_PYTHON, str(script), str(path), str(port)], check=True,
                                    capture_output=True, text=True, timeout=timeout, env=_system_env())
        finally:
            office.terminate()
            office.wait(30)
    return json.loads(result.stdout)


def _wait_for_port(port: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def text_of(data: bytes, *, timeout: int = 300) -> str:
    """The document as LibreOffice's own text export gives it (`soffice --convert-to txt`): it opens the file.

    Used for documents with Word comments: LibreOffice 7.4 loads those fine this way, but its UNO bridge dies
    loading any .docx with comments (python-docx's own too), so Accept/Reject All is checked without them."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "document.docx"
        path.write_bytes(data)
        subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{folder}/profile",
                        "--convert-to", "txt:Text", "--outdir", folder, str(path)], check=True, capture_output=True,
                       timeout=timeout)
        return (Path(folder) / "document.txt").read_text(encoding="utf-8-sig")


def _system_env() -> dict[str, str]:
    """The environment without this project's Python paths: the system Python runs with its own."""
    return {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
