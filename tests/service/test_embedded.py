"""The embedded real parts: a real redis-server, a real SMTP server, the mail store."""

import os
import smtplib
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
import redis

from service.embedded.servers import MailStore, start_redis_server, start_smtp_server

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _mail(subject: str, body: str, to: str = "anna@example.org") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Akkoord <noreply@akkoord.example>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def _refuses_connections(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return True
    return False


def test_redis_server_answers_ping_and_leaves_no_process(tmp_path):
    server = start_redis_server(tmp_path / "redis")
    pid = server.pid
    try:
        client = redis.Redis.from_url(server.url)
        assert client.ping()
        client.set("greeting", "hallo")
        assert client.get("greeting") == b"hallo"
        client.close()
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()

    assert server.process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert _refuses_connections("127.0.0.1", server.port)
    server.stop()  # stopping twice is harmless


def test_redis_server_on_a_taken_port_fails_with_its_log(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"port {port}"):
            start_redis_server(tmp_path / "redis", port=port)


def test_smtp_server_stores_200_messages_from_one_connection(tmp_path):
    store = MailStore(tmp_path / "mailbox")
    server = start_smtp_server(store)
    document = os.urandom(50_000)
    try:
        assert server.url == f"smtp://127.0.0.1:{server.port}"
        with smtplib.SMTP(server.host, server.port) as smtp:
            for i in range(200):
                message = _mail(f"Commentaarronde {i} — ronde één", f"Lees en reageer: https://akkoord.example/r/{i}.\n")
                if i == 199:
                    message.add_attachment(document, maintype="application", subtype=DOCX.split("/")[1],
                                           filename="ambitieverklaring.docx")
                # Bcc-style: an envelope recipient that is in no header.
                smtp.send_message(message, to_addrs=["anna@example.org", "stille@example.org"])
        messages = store.wait_for(lambda ms: len(ms) >= 200, timeout=10)
    finally:
        server.stop()

    assert len(messages) == 200
    assert [m.subject for m in messages[:2]] == ["Commentaarronde 199 — ronde één", "Commentaarronde 198 — ronde één"]
    newest = messages[0]
    assert newest.mail_from == "noreply@akkoord.example"
    assert newest.to == ["anna@example.org", "stille@example.org"]
    assert newest.message["To"] == "anna@example.org"
    assert newest.links() == ["https://akkoord.example/r/199"]
    assert newest.attachments() == [("ambitieverklaring.docx", DOCX, document)]
    assert messages[1].attachments() == []
    assert store.get(newest.id).subject == newest.subject
    assert _refuses_connections(server.host, server.port)


def test_message_with_html_and_text_parts(tmp_path):
    store = MailStore(tmp_path)
    message = _mail("Uitnodiging", "Open https://a.example/x?y=1&z=2, of (https://b.example/).\n")
    message.add_alternative('<p><a href="https://a.example/x?y=1&amp;z=2">Open</a></p>', subtype="html")
    stored = store.get(store.save(message.as_bytes()))

    assert stored.links() == ["https://a.example/x?y=1&z=2", "https://b.example/"]
    assert "Open https://a.example" in stored.text_body()
    assert 'href="https://a.example/x?y=1&amp;z=2"' in stored.html_body()
    assert stored.to == ["anna@example.org"]  # no envelope: taken from the headers


@pytest.mark.parametrize(
    "bad_id",
    ["", "..", "../secret", "../../etc/passwd", "/etc/passwd", "x" * 53,
     "01795356842096760744-18afeed3fb4b4501b62ef9e3580fdef5/../../secret",
     "01795356842096760744-18afeed3fb4b4501b62ef9e3580fdef5\n",
     "01795356842096760744-18AFEED3FB4B4501B62EF9E3580FDEF5"],
)
def test_get_refuses_ids_that_are_not_message_ids(tmp_path, bad_id):
    (tmp_path / "secret.eml").write_bytes(b"Subject: secret\r\n\r\nsecret\r\n")
    store = MailStore(tmp_path / "mailbox")
    store.save(b"Subject: hallo\r\n\r\nhallo\r\n")

    assert store.get(bad_id) is None


def test_unknown_but_well_formed_id_is_none(tmp_path):
    assert MailStore(tmp_path).get("01795356842096760744-18afeed3fb4b4501b62ef9e3580fdef5") is None


def test_half_written_files_are_not_listed_and_clear_empties(tmp_path):
    store = MailStore(tmp_path)
    store.save(b"Subject: een\r\n\r\n1\r\n")
    (tmp_path / ".01795356842096760744-18afeed3fb4b4501b62ef9e3580fdef5.tmp").write_bytes(b"Subject: half")

    assert [m.subject for m in store.list()] == ["een"]
    store.clear()
    assert store.list() == []
    assert store.count() == 0


def test_wait_for_times_out_with_a_clear_error(tmp_path):
    store = MailStore(tmp_path)
    store.save(_mail("Herinnering: deadline nadert", "x\n").as_bytes())

    def has_a_final_version(messages):
        return any("definitief" in m.subject for m in messages)

    with pytest.raises(TimeoutError) as raised:
        store.wait_for(has_a_final_version, timeout=0.2)

    text = str(raised.value)
    assert "has_a_final_version" in text
    assert str(tmp_path) in text
    assert "1 message(s)" in text
    assert "Herinnering: deadline nadert" in text


def _is_running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # Field 3 is the state; a zombie has exited and only awaits reaping.
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="relies on Linux's parent-death signal")
def test_redis_server_dies_with_a_killed_parent(tmp_path):
    owner = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from service.embedded.servers import start_redis_server\n"
         f"server = start_redis_server({str(tmp_path)!r})\n"
         "print(server.pid, flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )
    try:
        redis_pid = int(owner.stdout.readline())
        assert _is_running(redis_pid)
        owner.kill()
        owner.wait()
        deadline = time.monotonic() + 5
        while _is_running(redis_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _is_running(redis_pid)
    finally:
        owner.kill()
        owner.wait()
        owner.stdout.close()
