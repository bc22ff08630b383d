"""The Flask application: create_app() wires configuration, database, jobs, languages, CSRF and the pages."""

from __future__ import annotations

from flask import Flask, redirect, render_template, request, url_for
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from redis import Redis
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from service import api, cli, config, ops_cli
from service.api.problems import problem
from service.views import (
    api_tokens,
    auth,
    health,
    mail,
    mailbox,
    meetings,
    member,
    minutes,
    minutes_document,
    organisations,
    privacy,
    staff,
    substitutes,
    webhooks,
)
from service.web import db, field_errors, headers, i18n, limits, logs, metrics, routing, sessions, templating
from service.web.extensions import csrf, limiter
from workflows.errors import DomainError
from workflows.outbound import jobs, outbox


def create_app(overrides: dict | None = None) -> Flask:
    app = db.AkkoordFlask(
        __name__,
        template_folder=str(config.ROOT / "templates"),
        static_folder=str(config.ROOT / "static"),
        instance_path=str(config.INSTANCE),
    )
    app.config.update(config.from_environment())
    app.config.update(
        MAX_CONTENT_LENGTH=21 * 1024 * 1024,  # 20 MB file plus the form around it
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token is bound to the session; members may read for hours first
    )
    app.config.update(overrides or {})

    logs.init_app(app)  # first: the request id and the request's line cover every other hook
    db.init_app(app)
    # Sessions on the server, in the database (service/web/sessions.py says why there and not in Redis).
    app.session_interface = sessions.ServerSessionInterface(sessions.lifetimes_from(app.config))
    jobs.configure(runtime(app))
    i18n.init_app(app)
    csrf.init_app(app)
    templating.init_app(app)
    field_errors.init_app(app)
    headers.init_app(app)
    routing.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    # Short timeouts, as for the jobs' Redis: a Redis that is away costs a request 2 s once, then the limits are
    # counted in the process until it is back (swallow_errors and the in-memory fallback in extensions.py).
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 2, "socket_timeout": 2})
    # "No more than N in any hour", not per clock hour (a fixed window lets 2N through around the hour).
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    limiter.init_app(app)

    for blueprint in (auth.bp, staff.bp, member.bp, api_tokens.bp, webhooks.bp, mail.bp, privacy.bp, organisations.bp,
                      substitutes.bp, meetings.bp, minutes.bp, minutes_document.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(health.bp)  # /healthz, /readyz: public, no session, no rate limit
    api.init_app(app, csrf)
    metrics.init_app(app)  # /metrics, and the request counters when METRICS_TOKEN is set
    if app.config.get("MAILBOX_DIR"):
        app.register_blueprint(mailbox.bp)

    cli.init_app(app)
    ops_cli.init_app(app)  # backup, restore, prune; the retention settings for the workers' job
    _register_error_pages(app)
    app.add_url_rule("/hello", "hello", lambda: "hello")
    if app.config["TRUSTED_PROXIES"]:
        # The client's address and scheme as the proxies in front saw them (request.remote_addr, is_secure):
        # X-Forwarded-For and -Proto are believed only for that many hops, so a client cannot make them up.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    return app


def runtime(app: Flask) -> jobs.Runtime:
    """What the jobs and the after-commit hand-off need, from the app's settings."""
    return jobs.Runtime(
        session_factory=app.extensions["akkoord_sessions"],
        read_session_factory=app.extensions["akkoord_read_sessions"],
        # Short timeouts: a request that hands work to Redis after its commit never hangs on a Redis that is away
        # (the sweep hands it over later). The worker makes its own connection, without them.
        redis=Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5),
        smtp_url=app.config["SMTP_URL"],
        mail_from=app.config["MAIL_FROM"],
        base_url=app.config["BASE_URL"],
        webhook_allow_private=app.config.get("WEBHOOK_ALLOW_PRIVATE", False),
        schedule=outbox.Schedule(retry_after=tuple(app.config["OUTBOX_RETRY_SCHEDULE"]),
                                 claim_timeout=app.config["OUTBOX_CLAIM_TIMEOUT"],
                                 sweep_grace=app.config["OUTBOX_SWEEP_GRACE"]),
        tick_seconds=app.config["TICK_SECONDS"],
        session_lifetimes=sessions.lifetimes_from(app.config),
        queue_class=logs.TracedQueue,  # jobs carry the id of the request that enqueued them
    )


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        if error.code == "sign_in_required":
            return redirect(url_for("auth.sign_in", next=request.full_path))
        message = i18n.error_message(error.code, error.params)
        return render_template("error.html", message=message, error=error), error.status

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("error.html", message=i18n.error_message("csrf", {}), error=None), 400

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error):
        params = {"minutes": limits.wait_minutes()}  # Flask-Limiter adds Retry-After to either answer
        if api.is_api_request():
            return problem(429, "rate_limited", params=params)
        return render_template("error.html", message=i18n.error_message("rate_limited", params), error=None), 429

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error):
        if api.is_api_request():
            return api.http_problem(error)
        message = str(i18n.UPLOAD_ERRORS["too_large"]) % {"limit_mb": 20}
        return render_template("error.html", message=message, error=None), 413

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if api.is_api_request():
            return api.http_problem(error)
        code = {404: "not_found", 403: "not_allowed", 400: "bad_request"}.get(error.code, "invalid")
        return render_template("error.html", message=i18n.error_message(code, {}), error=None), error.code
