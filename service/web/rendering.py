"""HTML that many requests share, rendered once: a version's text (versions never change) and a round's
comment list (keyed by its count and newest id, so a new comment makes a new entry).

A cached part is a Fragment: its HTML already encoded as UTF-8. The page template places a short marker
where it goes, and `page_response` sends the page as chunks around the fragments' bytes, so a 1 MB text
is neither copied into the page string nor encoded again on every request.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from threading import Lock
from urllib.parse import quote

from flask import Response, render_template, request
from flask_babel import get_locale
from markupsafe import Markup
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from service import config
from storage.database.models import (
    STAFF_ROLES,
    Comment,
    Document,
    Membership,
    Organisation,
    Participant,
    Round,
    Version,
)
from workflows.domain.comments import own_threads
from workflows.domain.people import name_in_network
from workflows.text.labels import passage_names

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

    def parts(self) -> tuple[bytes, ...]:
        """The bytes to send, in order (a composed fragment sends a shared fragment's bytes around its own)."""
        return (self.data,)


def page_response(page: str, *fragments: Fragment, status: int = 200) -> Response:
    chunks: list[bytes] = []
    rest = page
    for fragment in sorted(fragments, key=lambda f: page.find(f.marker)):  # in the order the page places them
        before, found, after = rest.partition(fragment.marker)
        if found:
            chunks += [before.encode("utf-8"), *fragment.parts()]
            rest = after
    chunks.append(rest.encode("utf-8"))
    response = Response(chunks, status=status, mimetype="text/html")
    response.headers["Content-Length"] = str(sum(len(chunk) for chunk in chunks))
    return response


def download(data: bytes, mimetype: str, filename: str) -> Response:
    """A file to save (Content-Disposition: attachment, the name encoded for any language)."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = attachment(filename)
    return response


# Letters NFKD does not take apart into a base letter and an accent.
_ASCII_LETTERS = str.maketrans({"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "ß": "ss", "Æ": "AE",
                                "æ": "ae", "Œ": "OE", "œ": "oe", "Þ": "Th", "þ": "th", "ı": "i"})
_NOT_IN_FALLBACK = re.compile(r'[^\x20-\x7e]+|["\\%]')  # quoted-string breakers; % some clients decode
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ATTR_CHARS = "!#$&+-.^_`|~"  # RFC 8187 attr-char, besides letters and digits


def attachment(filename: str) -> str:
    """Content-Disposition for a download (RFC 6266): a plain-ASCII `filename` for old clients and, when the name
    is more than that, `filename*` with the whole name in UTF-8 (RFC 8187). The header is ASCII whatever the
    title or uploaded file name is (gunicorn refuses any other)."""
    name = _CONTROL.sub("", filename).replace("/", "_").replace("\\", "_").strip() or "document"
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    fallback_suffix = _ascii(suffix)
    fallback = (_ascii(stem) or "document") + (f".{fallback_suffix}" if fallback_suffix else "")
    header = f'attachment; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"
    return header


@lru_cache(maxsize=1)
def redline_css() -> Markup:
    """static/redline.css, for the API's redline fragment: it is shown on other sites, so it carries its styles."""
    return Markup((config.ROOT / "static" / "redline.css").read_text("utf-8"))


def _ascii(text: str) -> str:
    """Letters without their accents, anything else not ASCII as one "_", trimmed: "Łódź" -> "Lodz"."""
    plain = unicodedata.normalize("NFKD", text.translate(_ASCII_LETTERS))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return _NOT_IN_FALLBACK.sub("_", plain).strip(" _.")


def rendered_blocks(version: Version, *, mode: str) -> Fragment:
    """mode "read" for staff pages, "review" adds a comment link to every passage (relative, so shared by all, and
    named after its passage), "closed" (a member's page of a round that is over) none; both of the member's modes
    mark where each passage ends, for the comments shown beside it (service/web/passage_comments.py)."""
    key = ("blocks", version.id, version.content_hash, str(get_locale()), mode)
    return _cached(key, lambda: Fragment(render_template("partials/blocks.html", blocks=version.blocks, mode=mode,
                                                         names=passage_names(version.blocks) if mode == "review" else {})))


def _round_comments(round_id: int, viewer: int | None) -> list:
    """The conditions for a round's comments as `viewer` sees them (None: every comment)."""
    conditions = [Comment.round_id == round_id]
    if viewer is not None:
        conditions.append(own_threads(viewer))
    return conditions


def comment_stats(session: Session, round_id: int, viewer: int | None = None) -> tuple:
    """(count, newest id, last processing time) of a round's comments as `viewer` sees them: together they
    change whenever the list, a reply or an answer in it changes. The count is of comments, not replies."""
    conditions = _round_comments(round_id, viewer)
    count = session.scalar(select(func.count(Comment.id)).where(*conditions, Comment.parent_id.is_(None)))
    newest, processed = session.execute(select(func.max(Comment.id), func.max(Comment.processed_at))
                                        .where(*conditions)).one()
    return count, newest, processed


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


def comment_rows(session: Session, round_id: int, conditions: list, *, newest: int | None = None) -> tuple[list, dict]:
    """A round's comments under `conditions` (in order, or the `newest` few newest first) with their replies by
    comment id: the rows partials/comments.html shows (also beside each passage, service/web/passage_comments.py)."""
    # Who wrote each comment and reply, by the name the round's network knows them by.
    network_id = session.scalar(select(Document.network_id).join(Round, Round.document_id == Document.id)
                                .where(Round.id == round_id))
    name = func.coalesce(name_in_network(network_id, Comment.person_id), "").label("name")
    # ...and the organisation they spoke for in the round (their membership's), so a reader knows who says it.
    organisation = Organisation.name.label("organisation")
    comments = session.execute(
        select(Comment.id, Comment.block_id, Comment.quote, Comment.body, Comment.created_at, name,
               Comment.disposition, Comment.answer, Comment.start_offset, organisation,
               # A proposal's redline and type (partials/proposal.html); taken_text changes only with processed_at,
               # which the caches' keys hold (comment_stats, passage_comments._signatures).
               Comment.kind, Comment.proposed_text, Comment.taken_text, Comment.context_before,
               Comment.context_after)
        .outerjoin(Participant, Comment.participant_id == Participant.id)
        .outerjoin(Membership, Participant.membership_id == Membership.id)
        .outerjoin(Organisation, Membership.organisation_id == Organisation.id)
        .where(*conditions, Comment.parent_id.is_(None))
        .order_by(Comment.id.desc() if newest else Comment.id)
        .limit(newest)
    ).all()
    replies: dict[int, list] = {}
    ids = [c.id for c in comments]
    for start in range(0, len(ids), 500):  # IN lists of bounded length
        for reply in session.execute(
            select(Comment.parent_id, Comment.id, Comment.body, Comment.created_at, name,
                   or_(Comment.participant_id.is_(None), Membership.role.in_(STAFF_ROLES)).label("from_group"),
                   organisation)
            .outerjoin(Participant, Comment.participant_id == Participant.id)
            .outerjoin(Membership, Participant.membership_id == Membership.id)
            .outerjoin(Organisation, Membership.organisation_id == Organisation.id)
            .where(Comment.parent_id.in_(ids[start:start + 500]))
            .order_by(Comment.id)
        ):
            replies.setdefault(reply.parent_id, []).append(reply)
    return comments, replies


def rendered_comments(session: Session, round_id: int, *, link_passages: bool, newest: int | None = None,
                      stats: tuple | None = None, viewer: int | None = None, reply_links: bool = False,
                      thread: int | None = None, page: tuple[int, int] | None = None) -> tuple[int, Fragment]:
    """(number of comments, their HTML with their threads) for a round as `viewer` sees it (None: all of
    them), in order or only the `newest` few, newest first; one small query when nothing changed.
    `reply_links`: each thread gets a relative "Reply" link (the member's pages, while the round is open).
    `thread`: only that comment's thread. `page`: (page number, comments per page), those comments in order."""
    stats = stats or comment_stats(session, round_id, viewer)
    count = stats[0]

    def make() -> Fragment:
        conditions = _round_comments(round_id, viewer)
        if thread is not None:
            conditions.append(Comment.id == thread)
        if page is not None:
            number, per_page = page
            conditions.append(Comment.id.in_(
                select(Comment.id).where(*_round_comments(round_id, viewer), Comment.parent_id.is_(None))
                .order_by(Comment.id).limit(per_page).offset((number - 1) * per_page)))
        comments, replies = comment_rows(session, round_id, conditions, newest=newest)
        return Fragment(render_template("partials/comments.html", comments=comments, replies=replies,
                                        link_passages=link_passages, reply_links=reply_links))

    key = ("comments", round_id, stats, str(get_locale()), link_passages, newest, viewer, reply_links, thread, page)
    return count, _cached(key, make)


def rendered_anchors(session: Session, round_id: int, *, stats: tuple, viewer: int | None) -> Fragment:
    """Where the comments a reader sees sit in the text, for the review page's script to highlight:
    [comment id, passage id, start, end] (start and end null for a whole passage)."""

    def make() -> Fragment:
        rows = session.execute(
            select(Comment.id, Comment.block_id, Comment.start_offset, func.length(Comment.quote))
            .where(*_round_comments(round_id, viewer), Comment.parent_id.is_(None), Comment.block_id.is_not(None))
            .order_by(Comment.id)
        ).all()
        anchors = [[c, block, start, None if start is None else start + length] for c, block, start, length in rows]
        data = json.dumps(anchors, separators=(",", ":")).replace("<", "\\u003c")
        return Fragment(f'<script type="application/json" id="comment-anchors">{data}</script>')

    return _cached(("anchors", round_id, stats, viewer), make)
