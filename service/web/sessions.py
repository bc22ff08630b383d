"""Browser sessions on the server: the cookie carries a random token, the database the session (web_sessions).

Why the database and not Flask-Session with Redis: the web must keep working while Redis is away (pages are served
and rounds opened then; the outbox hands the mail over later), and "sign out everywhere" and ending the sessions of
someone who lost their role need a query by person, which the database has and a key-value store has not.
Flask-Session 0.8 was looked at: its SQLAlchemy backend wants Flask-SQLAlchemy and a table of its own, stores the
session id itself rather than a hash, loads the session on every request that has a cookie (static files too)
and, to renew an expiry, writes on every request. What is taken from it: a session that holds nothing is never
stored and sets no cookie, changes are tracked so only a changed session is written, and the id is regenerated
by ending the old record and starting a new one.

A visitor without a session who only needs a CSRF secret for a form, a language or a flash message (the sign-in
page, the lost-link page, an error page) keeps those in a signed cookie, as Flask does, and is never written to
the database: a GET of a public page (a crawler, a mail scanner opening a sign-in link) writes nothing. Only a
session that carries someone — a signed-in coordinator or editor, or a member's personal link — is stored.

Reading: lazily, the first time a request looks at the session, in the request's own transaction (one SELECT by
the token's hash). Writing: after the response is made, in a short transaction of its own, and only when needed:
a new or changed session, the first return of a browser to a new session, last_seen_at older than
`Lifetimes.touch_every`, or an ending. A member rereading their cached review page reads one row more and writes
nothing."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, current_app, g
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature

from service.web import db
from storage.database.engine import run_transaction
from storage.database.models import utcnow
from workflows.domain import web_sessions
from workflows.domain.web_sessions import Lifetimes, Live

PERSON = "person_id"  # the signed-in coordinator or editor
LINKS = "links"  # a member's personal links: participant id (str) -> personal link id used
MEETING_LINKS = "meeting_links"  # links to meetings' sign-up pages: invitation id (str) -> meeting link id used
ACTION_LINKS = "action_links"  # action point owners' links: action point id (str) -> action link id used
LANGUAGE = "lang"
CSRF = "csrf_token"  # flask_wtf's WTF_CSRF_FIELD_NAME, the key of its secret in the session
# What a visitor without a stored session may keep in the signed cookie: nothing that says who they are. A cookie
# signed by an earlier release (which kept the signed-in person and the links there) opens nothing any more.
VISITOR_KEYS = (CSRF, LANGUAGE, "_flashes")
# A visitor's signed cookie: a form left open longer than this asks to be sent again (the CSRF secret is gone).
VISITOR_MAX_AGE = dt.timedelta(days=1)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # workflows.tokens.new_token: 32 random bytes, URL-safe base64


def lifetimes_from(config) -> Lifetimes:
    return Lifetimes(staff_idle=config["SESSION_STAFF_IDLE"], staff_absolute=config["SESSION_STAFF_LIFETIME"],
                     member_idle=config["SESSION_MEMBER_IDLE"], member_absolute=config["SESSION_MEMBER_LIFETIME"])


class ServerSession(SessionMixin):
    """`flask.session` for one request: read from the database (or the visitor's signed cookie) on first use."""

    def __init__(self, interface: ServerSessionInterface, cookie: str | None):
        self._interface = interface
        self._cookie = cookie
        self._data: dict[str, Any] | None = None
        self.record: Live | None = None  # the stored session the cookie named, if it is alive
        self.stale = False  # the cookie named nothing usable: replace it
        self.modified = False
        self.rotate = False
        self.renew_lifetime = True
        self.ended = False

    # The mapping, loaded on first use.
    @property
    def loaded(self) -> bool:
        return self._data is not None

    def _load(self) -> dict[str, Any]:
        if self._data is None:
            self._data = self._interface.load(self)
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._load()[key] = value
        self.modified = True

    def __delitem__(self, key: str) -> None:
        del self._load()[key]
        self.modified = True

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __contains__(self, key: object) -> bool:
        return key in self._load()

    def get(self, key: str, default: Any = None) -> Any:
        return self._load().get(key, default)

    # What sign-in, sign-out and the link exchange ask for.
    @property
    def carries_someone(self) -> bool:
        return bool(self.get(PERSON) or self.get(LINKS) or self.get(MEETING_LINKS) or self.get(ACTION_LINKS))

    def regenerate(self, *, renew_lifetime: bool) -> None:
        """A new token at the end of this request (sign-in, link exchange): whoever planted or copied the old one
        is left with an ended session. The CSRF secret is new too, since it was readable to the same party.
        `renew_lifetime=False` keeps the absolute end of the session being replaced."""
        self._load().pop(CSRF, None)
        g.pop(CSRF, None)  # flask_wtf's token for this request, signed from the old secret
        self.rotate, self.renew_lifetime, self.modified = True, renew_lifetime, True

    def end(self) -> None:
        """Sign out: the stored session ends (its cookie, wherever copied, opens nothing); only the language stays,
        in the visitor's signed cookie."""
        data = self._load()
        kept = {LANGUAGE: data[LANGUAGE]} if LANGUAGE in data else {}
        data.clear()
        data.update(kept)
        g.pop(CSRF, None)
        self.ended, self.modified = True, True


class ServerSessionInterface(SecureCookieSessionInterface):
    """Flask's hooks: open (lazily) and save, as described in the module's docstring. The visitor's signed cookie
    is Flask's own (`SecureCookieSessionInterface`), limited to VISITOR_KEYS."""

    def __init__(self, lifetimes: Lifetimes):
        self.lifetimes = lifetimes
        self.clock = utcnow  # tests move time by replacing it

    def open_session(self, app: Flask, request) -> ServerSession:
        return ServerSession(self, request.cookies.get(self.get_cookie_name(app)) or None)

    def load(self, session: ServerSession) -> dict[str, Any]:
        cookie = session._cookie
        if cookie is None:
            return {}
        if _TOKEN.fullmatch(cookie):
            live = web_sessions.find(db.session(), cookie, now=self.clock(), lifetimes=self.lifetimes)
            if live is None:
                session.stale = True
                return {}
            session.record = live
            return self.serializer.loads(json.dumps(live.data))
        try:
            data = self.get_signing_serializer(current_app).loads(cookie, max_age=VISITOR_MAX_AGE.total_seconds())
        except BadSignature:
            session.stale = True
            return {}
        kept = {key: data[key] for key in VISITOR_KEYS if key in data}
        session.stale = len(kept) != len(data)
        return kept

    def save_session(self, app: Flask, session: ServerSession, response) -> None:
        if session.accessed:
            response.vary.add("Cookie")
        if not session.loaded:
            return  # not looked at: nothing changed, nothing to note
        now = self.clock()
        record = session.record
        carries_someone = session.carries_someone and not session.ended
        writes = []
        if record is not None and not carries_someone:
            writes.append(lambda s: web_sessions.end(s, record.id, now=now))  # signed out, or nothing left to keep
        if carries_someone:
            data = self.serializer.tag(dict(session))
            person_id = session.get(PERSON)
            if record is None or session.rotate:
                if record is not None:
                    writes.append(lambda s: web_sessions.end(s, record.id, now=now))
                keep_end = None if record is None or session.renew_lifetime else record.expires_at
                started = []
                writes.append(lambda s: started.append(web_sessions.start(
                    s, data, person_id=person_id, now=now, lifetimes=self.lifetimes, expires_at=keep_end)))
                self._write(app, writes)
                token, expires_at = started[-1]
                self._set_cookie(app, response, token, expires=expires_at)
                return
            if session.modified:
                writes.append(lambda s: web_sessions.keep(s, record, now=now, data=data, person_id=person_id))
            elif record.due_for_touch(now, self.lifetimes):
                writes.append(lambda s: web_sessions.keep(s, record, now=now))
            self._write(app, writes)
            return
        self._write(app, writes)
        if session.modified or session.stale or record is not None:
            visitor = {key: session.get(key) for key in VISITOR_KEYS if key in session}
            if visitor:
                self._set_cookie(app, response, self.get_signing_serializer(app).dumps(visitor), expires=None)
            elif session._cookie is not None:
                response.delete_cookie(self.get_cookie_name(app), domain=self.get_cookie_domain(app),
                                       path=self.get_cookie_path(app), secure=self.get_cookie_secure(app),
                                       samesite=self.get_cookie_samesite(app),
                                       httponly=self.get_cookie_httponly(app))
                response.vary.add("Cookie")

    @staticmethod
    def _write(app: Flask, writes: list) -> None:
        if not writes:
            return

        def work(session):
            for write in writes:
                write(session)

        # The request's own transaction has committed (or rolled back) by now: this is one of its own.
        run_transaction(app.extensions["akkoord_sessions"], work)

    def _set_cookie(self, app: Flask, response, value: str, *, expires: dt.datetime | None) -> None:
        # A stored session's cookie lasts until the session's absolute end (the browser drops it then); the
        # visitor's signed cookie is a browser-session cookie.
        response.set_cookie(self.get_cookie_name(app), value, expires=expires, httponly=self.get_cookie_httponly(app),
                            domain=self.get_cookie_domain(app), path=self.get_cookie_path(app),
                            secure=self.get_cookie_secure(app), samesite=self.get_cookie_samesite(app))
        response.vary.add("Cookie")
