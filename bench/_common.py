"""Shared helpers for the benchmarks: paths, child processes that always get stopped, wrk, a table of figures.

Everything here talks to 127.0.0.1 only, and every load run is bounded in time.
"""

from __future__ import annotations

import http.client
import os
import platform
import pstats
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GEN_AGREEMENT = Path(__file__).resolve().parents[1].parent / "shared/tools/gen_agreement.py"
VENV_BIN = Path(sys.executable).parent
SECRET_KEY = "bench-secret-key-not-for-production"
HOST = "127.0.0.1"


def timed(factory, function, repeat: int) -> tuple[float, float, object]:
    """Median and maximum seconds of `function(session)` over `repeat` runs, each in a fresh session of
    `factory`, and the last run's result."""
    times, result = [], None
    for _ in range(repeat):
        with factory() as session:
            started = time.perf_counter()
            result = function(session)
            times.append(time.perf_counter() - started)
    return statistics.median(times), max(times), result


def median_seconds(function, repeat: int) -> tuple[float, object]:
    """Median seconds of `function()` over `repeat` runs, and the last run's result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews every figure, so print it along."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def fresh_database(directory: Path) -> str:
    """A new SQLite database built by the migrations."""
    from storage.database.engine import upgrade

    url = f"sqlite:///{directory / 'bench.db'}"
    upgrade(url)
    return url


def make_app(database_url: str, redis_url: str, **overrides):
    from service import create_app

    config = {
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "BASE_URL": "http://127.0.0.1",
        "MAILBOX_DIR": None,
    }
    config.update(overrides)
    return create_app(config)


def child_env(**values: str) -> dict:
    env = dict(os.environ)
    env.pop("MAILBOX_DIR", None)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(values)
    return env


class Children:
    """Child processes started by a benchmark; stop() ends each one (its own process group), newest first."""

    def __init__(self):
        self.processes: list[subprocess.Popen] = []

    def start(self, args: list[str], *, env: dict, log: Path) -> subprocess.Popen:
        from service.embedded.servers import child_process_options  # own session; SIGTERM if this process dies

        with open(log, "wb") as out:
            process = subprocess.Popen(args, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, **child_process_options())
        self.processes.append(process)
        return process

    def stop(self, timeout: float = 10.0) -> None:
        while self.processes:
            process = self.processes.pop()
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(process, signal.SIGKILL)
                    process.wait()

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def report_failure(error: BaseException) -> None:
    """A measurement that broke says what broke (its traceback, then one line) and goes on to clean up: the
    benchmark still exits 0. Call it inside the `except` that caught `error`."""
    traceback.print_exc()
    print(f"benchmark did not complete: {error}", file=sys.stderr)


def clean_up(workdir: Path, *, app=None, redis=None, children: Children | None = None) -> None:
    """Stop what a benchmark started, whichever of it was reached: its child processes (newest first), its app's
    database connections, its Redis, and its temporary directory."""
    if children is not None:
        children.stop()
    if app is not None:
        app.extensions["akkoord_engine"].dispose()
    if redis is not None:
        redis.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    # The child was started in a session of its own, so its group id is its pid: this reaches
    # exactly the processes it forked (gunicorn workers, RQ work horses) and nothing else.
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def http_get(port: int, path: str, headers: dict | None = None, timeout: float = 30.0):
    """One GET to 127.0.0.1 (redirects are not followed): (status, headers, body)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def wait_for_http(port: int, path: str = "/hello", timeout: float = 30.0, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode} before answering")
        try:
            status, _, _ = http_get(port, path, timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"nothing answered on 127.0.0.1:{port}{path} within {timeout:g}s")
        time.sleep(0.1)


def run_wrk(url: str, *, seconds: int, connections: int, threads: int = 2, headers: dict | None = None) -> dict:
    """Run wrk against a 127.0.0.1 URL for a fixed time; returns requests/s, latency and error counts."""
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError("load goes to 127.0.0.1 only")
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    args = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    output = subprocess.run(args + [url], capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    p50 = re.search(r"50%\s+(\S+)", output)
    p99 = re.search(r"99%\s+(\S+)", output)
    return {
        "rps": rps, "requests": total, "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "", "p50": p50.group(1) if p50 else "?",
        "p99": p99.group(1) if p99 else "?", "output": output,
    }


def process_cpu(pids: list[int]) -> float:
    """User + system CPU seconds of these running processes so far, from /proc (an Akkoord worker runs its jobs in
    its own process, so this is all of its work)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime and stime: fields 14 and 15 of stat
    return total / ticks


def wait_for_workers(redis_url: str, processes: list[subprocess.Popen], timeout: float = 60.0) -> None:
    """Until every one of these worker processes has registered with RQ (and none of them died)."""
    from redis import Redis
    from rq import Worker

    connection = Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while len(Worker.all(connection=connection)) < len(processes):
        if any(p.poll() is not None for p in processes) or time.monotonic() > deadline:
            raise RuntimeError(f"{len(processes)} workers did not register within {timeout:g} s")
        time.sleep(0.05)


def print_table(title: str, rows: list[tuple[str, str, str, str]]) -> None:
    """rows: (figure, measured, target, verdict)."""
    header = ("figure", "measured", "target", "")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print()
    print(title)
    print(line)
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())
        if row is header:
            print(line)
    print(line)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "MISSED")


# --- Reading a cProfile ---------------------------------------------------------------------------------


def find_functions(stats: pstats.Stats, predicate) -> list[tuple]:
    return [key for key in stats.stats if predicate(key[0], key[2])]


def callees(stats: pstats.Stats, parents: list[tuple], requests: int, per_request: float, top: int = 8) -> str:
    """Cumulative time of each function called directly from `parents` (from the profile's call graph)."""
    found: dict[tuple, float] = {}
    for key, (_cc, _nc, _tt, _ct, callers) in stats.stats.items():
        for parent in parents:
            if parent in callers:
                found[key] = found.get(key, 0.0) + callers[parent][3]
    own = sum(stats.stats[parent][2] for parent in parents)
    rows = sorted(found.items(), key=lambda item: -item[1])[:top]
    lines = [(f"{_short(key)}", seconds) for key, seconds in rows] + [("(own code of the caller)", own)]
    return "".join(f"    {seconds / requests * 1000:7.1f} ms {seconds / requests / per_request * 100:5.1f}%  {label}\n"
                   for label, seconds in lines)


def _short(key: tuple) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    path = Path(filename)
    root = ROOT
    if "site-packages" in path.parts:
        shown = "/".join(path.parts[path.parts.index("site-packages") + 1:])
    elif path.is_relative_to(root):
        shown = str(path.relative_to(root))
    else:
        shown = "/".join(path.parts[-2:])
    return f"{shown}:{line}({name})"


def trim_pstats(text: str) -> str:
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
    root = str(Path(sys.prefix).resolve())
    return "\n".join(line.replace(root + "/lib/", "").replace(str(ROOT) + "/", "")
                     for line in lines[start:] if line.strip()) + "\n"


def indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines())
