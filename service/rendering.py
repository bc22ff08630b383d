"""HTML that many requests share, rendered once: a version's text (versions never change) and a round's
comment list (keyed by its count and newest id, so a new comment makes a new entry).

A cached part is a Fragment: its HTML already encoded as UTF-8. The page template places a short marker
where it goes, and `page_response` sends the page as chunks around the fragments' bytes, so a 1 MB text
is neither copied into the page string nor encoded again on every request.
"""

from __future__ import annotations

import gzip
import uuid
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

from flask import Response, render_template, request
from flask_babel import get_locale
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from storage.models import Comment, Person, Version

_CACHE: OrderedDict[tuple, object] = OrderedDict()
_LOCK = Lock()
CACHE_SIZE = 64  # a 200-page text is ~1 MB: 64 versions × language × mode bound the memory per process


def _cached(key: tuple, make: Callable[[], object]):
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    value = make()
    with _LOCK:
        _CACHE[key] = value
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


class Fragment:
    """Rendered HTML kept as bytes; in a template it renders as a marker that page_response replaces."""

    def __init__(self, html: str):
        self.data = html.encode("utf-8")
        self.marker = f"<!--fragment {uuid.uuid4().hex}-->"

    def __html__(self) -> str:
        return self.marker


def page_response(page: str, *fragments: Fragment, status: int = 200) -> Response:
    chunks: list[bytes] = []
    rest = page
    for fragment in fragments:
        before, found, after = rest.partition(fragment.marker)
        if found:
            chunks += [before.encode("utf-8"), fragment.data]
            rest = after
    chunks.append(rest.encode("utf-8"))
    response = Response(chunks, status=status, mimetype="text/html")
    response.headers["Content-Length"] = str(sum(len(chunk) for chunk in chunks))
    return response


def rendered_blocks(version: Version, *, mode: str) -> Fragment:
    """mode "read" for staff pages, "review" adds a comment link to every passage (relative, so shared by all)."""
    key = ("blocks", version.id, version.content_hash, str(get_locale()), mode)
    return _cached(key, lambda: Fragment(render_template("partials/blocks.html", blocks=version.blocks, mode=mode)))


_COMMENT_STATS = select(func.count(Comment.id), func.max(Comment.id), func.max(Comment.processed_at)).where(
    Comment.round_id == bindparam("round_id"))


def comment_stats(session: Session, round_id: int) -> tuple:
    """(count, newest id, last processing time) of a round's comments: together they change whenever the
    list or an answer in it changes."""
    return tuple(session.execute(_COMMENT_STATS, {"round_id": round_id}).one())


class CachedPage:
    """A rendered page with its fragments, and its gzip form made once, on the first request that accepts it."""

    def __init__(self, page: str, fragments: tuple[Fragment, ...]):
        self.page, self.fragments = page, fragments
        self._gzipped: bytes | None = None

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            data = b"".join(page_response(self.page, *self.fragments).iter_encoded())
            self._gzipped = gzip.compress(data, compresslevel=6, mtime=0)
        return self._gzipped


_PAGES: OrderedDict[tuple, CachedPage] = OrderedDict()
PAGE_CACHE_SIZE = 256  # a gzipped 200-page review page is ~150 KB


def cached_page(key: tuple, make: Callable[[], tuple[str, tuple[Fragment, ...]]]) -> Response:
    """A whole page, kept under a key that must hold everything the page shows; sent gzipped when accepted
    (a member on a phone then loads about a fifth of the bytes)."""
    with _LOCK:
        entry = _PAGES.get(key)
        if entry is not None:
            _PAGES.move_to_end(key)
    if entry is None:
        entry = CachedPage(*make())
        with _LOCK:
            _PAGES[key] = entry
            while len(_PAGES) > PAGE_CACHE_SIZE:
                _PAGES.popitem(last=False)
    if request.accept_encodings["gzip"] > 0:
        data = entry.gzipped()
        response = Response(data, mimetype="text/html")
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Content-Length"] = str(len(data))
    else:
        response = page_response(entry.page, *entry.fragments)
    response.vary.add("Accept-Encoding")
    return response


def rendered_comments(session: Session, round_id: int, *, link_passages: bool, newest: int | None = None,
                      stats: tuple | None = None) -> tuple[int, Fragment]:
    """(number of comments, their HTML) for a round, all in order or only the `newest` few, newest first;
    one small query when nothing changed."""
    stats = stats or comment_stats(session, round_id)
    count = stats[0]

    def make() -> Fragment:
        comments = session.execute(
            select(Comment.id, Comment.block_id, Comment.quote, Comment.body, Comment.created_at, Person.name,
                   Comment.disposition, Comment.answer)
            .join(Person, Comment.person_id == Person.id)
            .where(Comment.round_id == round_id)
            .order_by(Comment.id.desc() if newest else Comment.id)
            .limit(newest)
        ).all()
        return Fragment(render_template("partials/comments.html", comments=comments, link_passages=link_passages))

    key = ("comments", round_id, stats, str(get_locale()), link_passages, newest)
    return count, _cached(key, make)
