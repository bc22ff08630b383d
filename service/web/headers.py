"""The security headers of every answer: a Content-Security-Policy without inline code, no framing, HSTS when the
service is on https, and no-store on everything but static files.

One small middleware rather than Flask-Talisman: the policy is one fixed string (no inline code is left, so no
nonces), Talisman has nothing for Cache-Control, and it would decide about https from an X-Forwarded-Proto that
any client can send, past the TRUSTED_PROXIES setting (see service/__init__.py).
"""

from __future__ import annotations

from flask import Flask, request

# Scripts, styles and everything else only from this site's own files: no inline <script>, style="" or <style>
# in a page (the review page's data is a JSON block, which is not run). seen.js posts to this site.
POLICY = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
}
HSTS = "max-age=31536000"  # a year; no includeSubDomains: the operator's other hosts are not ours to decide
# Nothing personal: a browser or proxy may keep these.
CACHEABLE_ENDPOINTS = frozenset({"static", "hello"})


def content_security_policy(**extra: str) -> str:
    """The policy, with directives added or replaced (`frame_src="'self'"` for frame-src)."""
    directives = {**POLICY, **{name.replace("_", "-"): value for name, value in extra.items()}}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


CSP = content_security_policy()


def init_app(app: Flask) -> None:
    hsts = app.config["BASE_URL"].startswith("https://")

    @app.after_request
    def security_headers(response):
        headers = response.headers
        # A view that needs another policy (the mailbox's frame) sets its own.
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for browsers without CSP 2
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if hsts:
            headers["Strict-Transport-Security"] = HSTS
        # Pages, exports and API answers show personal or network data: never kept by a browser or proxy.
        if request.endpoint not in CACHEABLE_ENDPOINTS:
            headers["Cache-Control"] = "no-store"
        return response
