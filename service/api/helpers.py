"""What the API's views share: loading a row of the caller's network (404 for any other), pages with a Link
header, ETags, and downloads."""

from __future__ import annotations

from flask import Response, request, url_for
from flask_babel import force_locale
from pydantic import BaseModel
from sqlalchemy import Select

from service.api.auth import caller
from service.api.problems import caller_locale
from service.web import db
from service.web.i18n import failure_text
from service.web.rendering import download
from storage.database.models import (
    ActionPoint,
    Comment,
    Document,
    MailMessage,
    Meeting,
    Membership,
    Organisation,
    Participant,
    Round,
    Version,
    Webhook,
    WebhookDelivery,
)
from workflows.errors import NotFound


def network_of(obj) -> int | None:
    session = db.session()
    if isinstance(obj, (Document, Membership, Organisation, Webhook, MailMessage, Meeting)):
        return obj.network_id
    if isinstance(obj, ActionPoint):
        return session.get(Meeting, obj.meeting_id).network_id
    if isinstance(obj, WebhookDelivery):
        return session.get(Webhook, obj.webhook_id).network_id
    if isinstance(obj, Version):
        return session.get(Document, obj.document_id).network_id
    if isinstance(obj, Round):
        return session.get(Document, obj.document_id).network_id
    if isinstance(obj, (Comment, Participant)):
        return network_of(session.get(Round, obj.round_id))
    raise TypeError(type(obj))


def load(model, id_: int):
    """The row, when it belongs to the caller's network; otherwise NotFound (its existence is not revealed)."""
    obj = db.session().get(model, id_)
    if obj is None or network_of(obj) != caller().network_id:
        raise NotFound()
    return obj


def failure_words(code: str | None) -> str | None:
    """Why something did not go out, in words in the caller's language (like the problems' details)."""
    if code is None:
        return None
    with force_locale(caller_locale()):
        return failure_text(code)


def check_network(network_id: int) -> None:
    if network_id != caller().network_id:
        raise NotFound()


def page(statement: Select, id_column, query, convert, model: type[BaseModel]) -> Response:
    """One page of `statement` ordered by `id_column`, after `query.after`, with `next` and a Link header."""
    rows = db.session().scalars(statement.where(id_column > query.after).order_by(id_column)
                                .limit(query.limit + 1)).unique().all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_url = None
    if more:
        args = request.args.to_dict()
        args.update(after=str(rows[-1].id), limit=str(query.limit))
        next_url = url_for(request.endpoint, **(request.view_args or {}), **args)
    body = model(items=[convert(row) for row in rows], next=next_url)
    response = Response(body.model_dump_json(), mimetype="application/json")
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


def conditional(make: callable, etag: str, mimetype: str, filename: str | None = None) -> Response:
    """A representation of an immutable version: 304 when the client holds it already (If-None-Match)."""
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        response = download(make(), mimetype, filename) if filename else Response(make(), mimetype=mimetype)
    response.set_etag(etag)
    # Network data: kept by no cache; a client that keeps the body itself still sends its ETag and gets a 304.
    response.headers["Cache-Control"] = "no-store"
    return response

