"""Two real HTTP requests fired at the same moment: each on its own connection, opened before a barrier lets both
go; a sweep of small head starts makes every ordering happen, from truly simultaneous to one after the other."""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

HOST = "127.0.0.1"
TIMEOUT = 60.0


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    label: str = ""

    def __str__(self) -> str:
        return self.label or f"{self.method} {self.path}"


@dataclass
class Answer:
    request: Request
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    started: float
    ended: float

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    def __str__(self) -> str:
        return f"{self.request} -> {self.status} in {self.seconds * 1000:.0f} ms: {self.text[:2000]}"


def api(method: str, path: str, token: str, payload: dict | None = None, *, label: str = "") -> Request:
    """A JSON API call with a bearer token (no Accept-Language: the answer must be Dutch by default)."""
    headers = {"Authorization": f"Bearer {token}"}
    body = b""
    if payload is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(payload).encode()
    return Request(method, f"/api/v1{path}", headers, body, label)


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type."""
    boundary = uuid.uuid4().hex
    out = bytearray()
    for name, value in fields.items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n').encode()
    for name, (filename, data, content_type) in files.items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n").encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def api_upload(path: str, token: str, filename: str, data: bytes, change_note: str, *, label: str = "") -> Request:
    body, content_type = multipart({"change_note": change_note}, {"file": (filename, data, "text/markdown")})
    return Request("POST", f"/api/v1{path}", {"Authorization": f"Bearer {token}", "Content-Type": content_type},
                   body, label)


def _connect(port: int) -> http.client.HTTPConnection:
    connection = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
    connection.connect()
    return connection


def _exchange(connection: http.client.HTTPConnection, request: Request) -> Answer:
    headers = {"Connection": "close", **request.headers}
    started = time.monotonic()
    try:
        connection.request(request.method, request.path, body=request.body or None, headers=headers)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    return Answer(request, response.status, response.getheaders(), body, started, time.monotonic())


def send(port: int, request: Request) -> Answer:
    return _exchange(_connect(port), request)


def race(port: int, first: Request, second: Request, *, delays: tuple[float, float] = (0.0, 0.0)
         ) -> tuple[Answer, Answer]:
    """Both requests on connections of their own, released by one barrier; `delays` gives one side a head start."""
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    answers: list[Answer | None] = [None, None]
    errors: list[BaseException] = []

    def run(index: int, request: Request, delay: float) -> None:
        try:
            connection = _connect(port)
            barrier.wait()
            if delay > 0:
                time.sleep(delay)
            answers[index] = _exchange(connection, request)
        except BaseException as error:  # noqa: BLE001 - reported by the caller's thread
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i, r, d)) for i, (r, d) in enumerate(zip((first, second), delays))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    if errors:
        raise errors[0]
    assert all(answers), "a request of the race did not finish"
    return answers[0], answers[1]


def overlapped(a: Answer, b: Answer) -> bool:
    """Both requests were in flight at the same time (as the client saw it)."""
    return a.started < b.ended and b.started < a.ended


class Sweep:
    """When each side of a series of trials starts. A race is only a race where both requests reach their locks at
    about the same time, and that is rarely when both leave the client together (an upload is parsed before it
    locks anything, a verdict locks at once). So: a few trials fired at the very same moment; then one side given
    a head start of 1.5 times the other side's typical answer time, and the other side likewise (each ordering
    for certain); then a bisection between the two for the head start at which the winner changes; and the rest
    of the trials around that point, 1 ms apart, where the two transactions meet.

    A head start is signed: d > 0 delays the second request by d seconds, d < 0 the first by -d."""

    def __init__(self, trials: int):
        self.trials = trials
        self.seconds: tuple[list[float], list[float]] = ([], [])
        self.outcomes: list[str] = []
        self.crossing: float | None = None

    def __iter__(self):
        simultaneous = max(1, self.trials // 5)
        for _ in range(simultaneous):
            yield 0.0
        left = self.trials - simultaneous
        if left < 2:
            return
        low, high = -1.5 * self._typical(1), 1.5 * self._typical(0)
        yield low
        low_outcome = self.outcomes[-1]
        yield high
        high_outcome = self.outcomes[-1]
        left -= 2
        bisections = min(6, left // 2)
        for _ in range(bisections):
            middle = (low + high) / 2
            yield middle
            if self.outcomes[-1] == high_outcome != low_outcome:
                high = middle
            else:
                low = middle
        self.crossing = (low + high) / 2
        left -= bisections
        for k in range(left):
            yield self.crossing + (k - (left - 1) / 2) * 0.001

    @staticmethod
    def delays(head_start: float) -> tuple[float, float]:
        return (0.0, head_start) if head_start >= 0 else (-head_start, 0.0)

    def _typical(self, side: int) -> float:
        return statistics.median(self.seconds[side]) if self.seconds[side] else 0.05

    def note(self, first: Answer, second: Answer, outcome: str) -> None:
        self.seconds[0].append(first.seconds)
        self.seconds[1].append(second.seconds)
        self.outcomes.append(outcome)

    def __str__(self) -> str:
        where = "none found" if self.crossing is None else f"{self.crossing * 1000:+.1f} ms"
        return f"head start where the winner changes: {where}"


class Browser:
    """A person's browser for the HTML pages: its own cookies, every request on a new connection."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def prepare(self, method: str, path: str, *, form: dict[str, str] | None = None,
                files: dict[str, tuple[str, bytes, str]] | None = None, label: str = "") -> Request:
        headers = {}
        body = b""
        if files is not None:
            body, headers["Content-Type"] = multipart(form or {}, files)
        elif form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return Request(method, path, headers, body, label)

    def keep_cookies(self, answer: Answer) -> Answer:
        for name, value in answer.headers:
            if name.lower() == "set-cookie":
                jar = SimpleCookie()
                jar.load(value)
                for morsel in jar.values():
                    if morsel.value:
                        self.cookies[morsel.key] = morsel.value
                    else:
                        self.cookies.pop(morsel.key, None)
        return answer

    def get(self, path: str) -> Answer:
        return self.keep_cookies(send(self.port, self.prepare("GET", path)))

    def post(self, path: str, form: dict[str, str]) -> Answer:
        return self.keep_cookies(send(self.port, self.prepare("POST", path, form=form)))
