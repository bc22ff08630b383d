"""The review page's comments beside their passages: each commented passage shows its count and opens to its
comments, and after a comment the member lands back at the passage with a word that it was saved there.

The version's text is one cached fragment shared by every reader; what sits beside a passage differs per round and
per reader (a round that keeps comments to the project group shows a member only their own threads). So the comments
are rendered per passage (again only where they changed) per round and reader, and placed, when a page is composed, at the marker
that ends each passage in the text (templates/partials/blocks.html); the text's bytes are never copied into a cache.
"""

from __future__ import annotations

import re
import uuid
from threading import Lock

from flask import render_template
from flask_babel import get_locale
from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.web.rendering import Fragment, _cached, _round_comments, comment_rows
from storage.database.models import Comment

_END = re.compile(rb"<!--c ([A-Za-z0-9_-]+)-->")
_SEPARATOR = "\x00"  # between passages in one render; never in HTML the templates make


def _ends(body: Fragment) -> dict[str, int]:
    """Where each passage ends in the text's bytes (after its marker), found once per cached text."""
    ends = getattr(body, "passage_ends", None)
    if ends is None:
        ends = {m.group(1).decode("ascii"): m.end() for m in _END.finditer(body.data)}
        body.passage_ends = ends
    return ends


class Annotated(Fragment):
    """The cached text with each passage's comments after it: sent as the text's slices around them."""

    def __init__(self, body: Fragment, inserts: list[tuple[int, bytes]]):
        self.body, self.inserts = body, sorted(inserts)
        self.marker = f"<!--fragment {uuid.uuid4().hex}-->"

    @property
    def data(self) -> bytes:
        return self.parts()[0]

    def parts(self) -> tuple[bytes, ...]:
        # One chunk, joined per response (a copy of the text is cheap; a thousand small writes to a socket are not),
        # so a cached page keeps only the passages' bytes of its own.
        data, at, out = memoryview(self.body.data), 0, []
        for offset, html in self.inserts:
            out += [data[at:offset], html]
            at = offset
        out.append(data[at:])
        return (b"".join(out),)


class _Kept:
    """One round's comments beside their passages as one reader sees them, brought up to date passage by passage:
    a new comment, reply or answer renders only its own passage again (a 200-page text may carry 1,000 comments)."""

    def __init__(self):
        self.lock = Lock()
        self.stats: tuple | None = None
        self.signatures: dict[str, tuple] = {}
        self.html: dict[str, bytes] = {}


def by_passage(session: Session, round_id: int, *, stats: tuple, viewer: int | None,
               reply_links: bool) -> dict[str, bytes]:
    """Each commented passage's count and comments (a <details>) as `viewer` sees them (None: all), as HTML bytes;
    when the round's comments changed (`stats`), the passages whose comments changed are rendered again."""
    kept = _cached(("passage-comments", round_id, str(get_locale()), viewer, reply_links), _Kept)
    with kept.lock:
        if kept.stats == stats:
            return kept.html
        conditions = [*_round_comments(round_id, viewer), Comment.block_id.is_not(None)]
        signatures = _signatures(session, round_id, conditions)
        changed = [block_id for block_id, signature in signatures.items()
                   if kept.signatures.get(block_id) != signature]
        html = {block_id: part for block_id, part in kept.html.items()
                if block_id in signatures and kept.signatures.get(block_id) == signatures[block_id]}
        for start in range(0, len(changed), 500):  # IN lists of bounded length
            rows, replies = comment_rows(session, round_id,
                                         [*conditions, Comment.block_id.in_(changed[start:start + 500])])
            html.update(_render(rows, replies, reply_links))
        kept.stats, kept.signatures, kept.html = stats, signatures, html
        return html


def _signatures(session: Session, round_id: int, conditions: list) -> dict[str, tuple]:
    """What each commented passage shows, in brief: its comments' ids and processing times, and their replies'."""
    replies = {parent: (count, newest) for parent, count, newest in session.execute(
        select(Comment.parent_id, func.count(Comment.id), func.max(Comment.id))
        .where(Comment.round_id == round_id, Comment.parent_id.is_not(None)).group_by(Comment.parent_id))}
    signatures: dict[str, list] = {}
    for block_id, comment_id, processed_at in session.execute(
            select(Comment.block_id, Comment.id, Comment.processed_at)
            .where(*conditions, Comment.parent_id.is_(None)).order_by(Comment.id)):
        signatures.setdefault(block_id, []).append((comment_id, processed_at, replies.get(comment_id)))
    return {block_id: tuple(items) for block_id, items in signatures.items()}


def _render(rows: list, replies: dict, reply_links: bool) -> dict[str, bytes]:
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(row.block_id, []).append(row)
    if not groups:
        return {}
    html = render_template("partials/passage_comments.html", groups=list(groups.items()), replies=replies,
                           reply_links=reply_links, separator=_SEPARATOR)
    return {block_id: part.encode("utf-8") for block_id, part in zip(groups, html.split(_SEPARATOR))}


def annotated(body: Fragment, comments: dict[str, bytes], *, saved: str | None = None,
              saved_message: str = "") -> Fragment:
    """The text with each passage's comments after it; `saved`: the passage a comment was just saved on, which gets
    the word that it was (a status, read out and seen where the member lands) and its comments opened."""
    ends = _ends(body)
    inserts = [(ends[block_id], html) for block_id, html in comments.items() if block_id in ends and block_id != saved]
    if saved in ends:
        html = comments.get(saved, b"").replace(b'<details class="passage-comments"',
                                                 b'<details class="passage-comments" open', 1)
        status = Markup('<p class="flash saved" role="status" id="saved">{}</p>').format(escape(saved_message))
        inserts.append((ends[saved], str(status).encode("utf-8") + html))
    if not inserts:
        return body
    return Annotated(body, inserts)
