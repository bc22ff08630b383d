"""Ids in URLs: whole numbers from 1 to the largest id a table can hold; any other number names nothing (404)."""

from __future__ import annotations

from flask import Flask, abort, request

MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL; a larger number would overflow in the query


def init_app(app: Flask) -> None:
    # Checked after routing rather than in the <int:> converter: a converter that refuses a number makes werkzeug
    # answer 405 where a path has rules for other methods (GET and POST /n/<id>/api-tokens), not 404.
    @app.url_value_preprocessor
    def ids_in_range(endpoint, values):
        """Every <int:…> of every route, pages and API alike: out of range is a 404 before a view (or the
        database, where it would overflow) sees it."""
        if values and any(isinstance(value, int) and not 1 <= value <= MAX_ID for value in values.values()):
            abort(404)


def id_arg(name: str) -> int | None:
    """An id from the query string (`?person=3`): None when absent or not a number; out of range, a 404."""
    value = request.args.get(name, type=int)
    if value is not None and not 1 <= value <= MAX_ID:
        abort(404)
    return value


def page_arg(name: str = "page") -> int:
    """A page number from the query string: 1 when absent or below 1, and never past what an offset can hold."""
    return min(max(request.args.get(name, 1, type=int), 1), MAX_ID)


def parse_id(text: str | None) -> int | None:
    """An id written in a form field or a query string ("12"): None when it is not one, or out of range."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None
