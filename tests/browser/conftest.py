"""Browser fixtures: the test app served over real HTTP, and a headless Debian Chromium driven by Playwright.

`live_server` serves the very same app object as the `app` fixture (same database, Redis and SMTP server) from a
werkzeug server in a thread on 127.0.0.1 and a free port. `browser_page` is a fresh browser context and page for each
test; `screenshot(page, name)` saves full-page PNGs to tests/browser/screenshots/ (gitignored).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path(os.environ.get("AKKOORD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-proxy-server"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


@dataclass(frozen=True)
class LiveServer:
    url: str  # the origin, e.g. "http://127.0.0.1:41234", without a trailing slash
    base_url: str  # the app's BASE_URL, the origin its mails link to

    def rewrite(self, link: str) -> str:
        """A link from a mail (built on BASE_URL) pointed at this server instead."""
        assert link.startswith(self.base_url + "/"), f"{link!r} does not start with BASE_URL {self.base_url!r}"
        return self.url + link[len(self.base_url):]


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", base_url=app.config["BASE_URL"].rstrip("/"))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set AKKOORD_CHROMIUM)"
        if os.environ.get("AKKOORD_REQUIRE_BROWSER"):  # scripts/test installed it as root: CI never skips these
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, request):
    (SCREENSHOTS / f"FAILED-{request.node.name}.png").unlink(missing_ok=True)
    context = chromium.new_context(viewport=DESKTOP, locale="nl-NL")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        screenshot(page, f"FAILED-{request.node.name}")
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
