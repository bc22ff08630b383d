"""A real HTTP receiver on 127.0.0.1 for the webhooks to post to, and the settings that let them reach it."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import update

from storage.database.models import WebhookDelivery
from workflows.outbound import jobs


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers with the statuses in `plan` first, then with `status`."""

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    plan: list[int] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/akkoord?source=test"

    def events(self) -> list[str]:
        return [r.headers["X-Akkoord-Event"] for r in self.requests]


def verify(secret: str, received: Received, tolerance: int = 300) -> bool:
    """What a receiver does (the README's recipe): HMAC-SHA256 over "<timestamp>.<body>", compared in constant
    time, and a timestamp close to now so that a recorded message cannot be replayed later."""
    timestamp = received.headers["X-Akkoord-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= tolerance
    return fresh and hmac.compare_digest(f"sha256={expected}", received.headers["X-Akkoord-Signature"])


def _handler(receiver_ref: list[Receiver]):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            receiver = receiver_ref[0]
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            if receiver.delay:
                time.sleep(receiver.delay)
            status = receiver.plan.pop(0) if receiver.plan else receiver.status
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "/elsewhere")
            answer = b"thanks" if status < 300 else b"receiver says no"
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def make_receiver():
    servers = []

    def make() -> Receiver:
        ref: list[Receiver] = []
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
        server.daemon_threads = True
        receiver = Receiver(server)
        ref.append(receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return receiver

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(make_receiver) -> Receiver:
    return make_receiver()


@pytest.fixture(autouse=True)
def _webhooks_may_reach_loopback(app, monkeypatch):
    """WEBHOOK_ALLOW_PRIVATE, as the dev stack sets it: the receiver listens on 127.0.0.1."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    monkeypatch.setattr(jobs.current(), "webhook_allow_private", True)


@pytest.fixture(autouse=True)
def _no_deliveries_left_by_other_tests(db):
    """The sweep takes every pending delivery older than 30 s, also those of earlier tests' receivers."""
    db.execute(update(WebhookDelivery).where(WebhookDelivery.status.in_(("pending", "sending")))
               .values(status="cancelled"))
    db.commit()
