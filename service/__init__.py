"""The Flask application: create_app() wires configuration, database, jobs, languages, CSRF and the pages."""

from __future__ import annotations

import datetime as dt

from flask import Flask, render_template, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from redis import Redis
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from service import config, db, i18n, templating
from workflows import jobs
from workflows.errors import DomainError

csrf = CSRFProtect()
# Flask-Limiter, counting in the same Redis, so every web process shares the counts.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

NO_STORE_PREFIXES = ("/l/", "/review/", "/signin")


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
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
        PERMANENT_SESSION_LIFETIME=dt.timedelta(days=45),
        SESSION_REFRESH_EACH_REQUEST=False,  # re-sign the cookie only when the session changed
        WTF_CSRF_TIME_LIMIT=None,  # the token is bound to the session; members may read for hours first
    )
    app.config.update(overrides or {})

    db.init_app(app)
    jobs.configure(jobs.Runtime(
        session_factory=app.extensions["akkoord_sessions"],
        redis=Redis.from_url(app.config["REDIS_URL"]),
        smtp_url=app.config["SMTP_URL"],
        mail_from=app.config["MAIL_FROM"],
        base_url=app.config["BASE_URL"],
        webhook_allow_private=app.config.get("WEBHOOK_ALLOW_PRIVATE", False),
    ))
    i18n.init_app(app)
    csrf.init_app(app)
    templating.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    limiter.init_app(app)

    from service.views import auth, member, staff, webhooks

    app.register_blueprint(auth.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(member.bp)
    from service import api
    from service.views import api_tokens

    api.init_app(app, csrf)
    app.register_blueprint(api_tokens.bp)
    app.register_blueprint(webhooks.bp)
    if app.config.get("MAILBOX_DIR"):
        from service import mailbox

        app.register_blueprint(mailbox.bp)

    from service import cli

    cli.init_app(app)
    _register_error_pages(app)
    app.after_request(_security_headers)
    app.add_url_rule("/hello", "hello", lambda: "hello")
    return app


def _security_headers(response):
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    if request.path.startswith(NO_STORE_PREFIXES):
        response.headers["Cache-Control"] = "no-store"
    return response


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        if error.code == "sign_in_required":
            from flask import redirect, url_for

            return redirect(url_for("auth.sign_in", next=request.full_path))
        message = i18n.error_message(error.code, error.params)
        return render_template("error.html", message=message, error=error), error.status

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("error.html", message=i18n.error_message("csrf", {}), error=None), 400

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error):
        return render_template("error.html", message=i18n.error_message("rate_limited", {}), error=None), 429

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error):
        from service import api

        if api.is_api_request():
            return api.http_problem(error)
        message = str(i18n.UPLOAD_ERRORS["too_large"]) % {"limit_mb": 20}
        return render_template("error.html", message=message, error=None), 413

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        from service import api

        if api.is_api_request():
            return api.http_problem(error)
        code = {404: "not_found", 403: "not_allowed", 400: "bad_request"}.get(error.code, "invalid")
        return render_template("error.html", message=i18n.error_message(code, {}), error=None), error.code
