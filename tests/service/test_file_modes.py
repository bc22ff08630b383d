"""What the run command (scripts/run: service.embedded.devstack) creates is readable by its owner only (issue 10):
the instance folder, the SQLite database, the mailbox and its mails (which hold sign-in and personal links), the
secret key and the embedded Redis's files; also when started with a umask that lets others read, and when an
earlier run left the instance folder open."""

from __future__ import annotations

import os
import re
import signal
import smtplib
import stat
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from service import config
from service.embedded.servers import child_process_options, free_port

ROOT = Path(__file__).resolve().parents[2]
NOT_FOR_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def modes_open_to_others(folder: Path) -> list[str]:
    found = []
    for path in [folder, *folder.rglob("*")]:
        mode = path.lstat().st_mode
        if not stat.S_ISSOCK(mode) and mode & NOT_FOR_OTHERS:
            found.append(f"{path.relative_to(folder.parent)}: {stat.filemode(mode)}")
    return found


@pytest.mark.slow
def test_the_run_command_keeps_its_files_to_its_owner(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    instance.chmod(0o755)  # as a checkout, or a run before this change, left it
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if key not in ("REDIS_URL", "SMTP_URL", "DATABASE_URL", "SECRET_KEY", "MAILBOX_DIR", "BASE_URL")}
    env.update(PORT=str(port), PYTHONUNBUFFERED="1")
    # The run command's own code (service.embedded.devstack.run), on an instance folder of the test's.
    start = ("import sys; from pathlib import Path; from service.embedded import devstack; "
             f"sys.exit(devstack.run(Path({str(instance)!r})))")
    process = subprocess.Popen([sys.executable, "-c", start],
                               cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, umask=0o022, **child_process_options())
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.decode(errors="replace") for line in process.stdout),
                              daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("Akkoord is running" in line for line in lines):
            assert process.poll() is None, "the stack stopped:\n" + "".join(lines)
            assert time.monotonic() < deadline, "the stack did not start:\n" + "".join(lines)
            time.sleep(0.2)
        # A mail into the embedded mailbox, as the worker sends them.
        smtp_url = next(re.search(r"smtp://127\.0\.0\.1:(\d+)", line) for line in lines if "SMTP (embedded)" in line)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "akkoord@localhost", "anna@example.org", "Uw link"
        message.set_content("https://akkoord.example/l/geheim")
        with smtplib.SMTP("127.0.0.1", int(smtp_url.group(1)), timeout=10) as smtp:
            smtp.send_message(message)
        deadline = time.monotonic() + 10
        while not list((instance / "mailbox").glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.05)

        for made in ("akkoord.db", "secret_key", "mailbox", "redis"):
            assert (instance / made).exists(), f"{made} not made: {sorted(p.name for p in instance.iterdir())}"
        assert list((instance / "mailbox").glob("*.eml"))
        assert any(path.is_file() for path in (instance / "redis").rglob("*"))
        assert modes_open_to_others(instance) == []
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        reader.join(5)
        process.stdout.close()
    assert process.returncode == 0, "".join(lines)


def test_the_secret_key_file_is_made_for_its_owner_only(tmp_path):
    previous = os.umask(0o022)
    try:
        key = config.secret_key_file(tmp_path / "instance" / "secret_key")
    finally:
        os.umask(previous)
    assert len(key) == 64
    assert modes_open_to_others(tmp_path / "instance") == []
    assert config.secret_key_file(tmp_path / "instance" / "secret_key") == key  # made once, then read
    assert [p.name for p in (tmp_path / "instance").iterdir()] == ["secret_key"]  # nothing left aside
