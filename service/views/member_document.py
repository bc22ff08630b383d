"""The member's ways around the text and ways to keep it: table of contents, search, downloads and print views of
the version under review and of the final document. Every route only reads (mail scanners follow links too)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

from flask import abort, redirect, render_template, request, url_for
from markupsafe import Markup

from service.views.member import _context, bp
from service.web import db
from service.web.final_files import final_file
from service.web.rendering import download, page_response, rendered_blocks
from storage.database.models import Version
from workflows.domain import member_copies
from workflows.domain.exports import DOCX, PDF
from workflows.text import outline as outlines
from workflows.text import search as searching

# Search results listed on one page; the count says how many more there are.
RESULTS = 50

_KEPT: OrderedDict[tuple, object] = OrderedDict()
_LOCK = Lock()
# Per process: a 200-page version's outline is ~40 KB, its search index ~2 MB, a draft PDF ~1 MB.
KEPT_SIZE = {"outline": 64, "index": 8, "draft": 8}


def _kept(key: tuple, make: Callable[[], object]):
    """Made once per version (versions never change) and kept for the next reader; the oldest of a kind goes."""
    with _LOCK:
        if key in _KEPT:
            _KEPT.move_to_end(key)
            return _KEPT[key]
    value = make()
    with _LOCK:
        _KEPT[key] = value
        kind = [k for k in _KEPT if k[0] == key[0]]
        for old in kind[:max(0, len(kind) - KEPT_SIZE[key[0]])]:
            del _KEPT[old]
    return value


@bp.app_template_global("document_outline")
def document_outline(version: Version) -> Markup:
    """The version's table of contents as nested lists of links to its headings ("" when it has none); the
    version's blocks are only read the first time."""
    def make() -> Markup:
        headings = outlines.outline(version.blocks)
        return Markup(render_template("member/_outline.html", headings=headings)) if headings else Markup("")

    return _kept(("outline", version.id, version.content_hash), make)


def _index(version: Version) -> tuple[searching.Passage, ...]:
    return _kept(("index", version.id, version.content_hash), lambda: searching.index(version.blocks))


@bp.get("/review/<int:participant_id>/search")
def search(participant_id: int):
    """Passages holding the words asked for, each linked to its place on the review page; an empty query leaves
    the reader on the review page as it was."""
    participant, _link, round_, version = _context(participant_id)
    query = request.args.get("zoek", "").strip()[:searching.MAX_QUERY]
    if not query:
        return redirect(url_for("member.review", participant_id=participant_id, _anchor="document-tools"), 303)
    found = searching.search(_index(version), query, limit=RESULTS)
    return render_template("member/search.html", participant=participant, round=round_, version=version,
                           document=round_.document, query=query, found=found, limit=RESULTS)


def _draft(participant_id: int, kind: str):
    _participant, _link, round_, version = _context(participant_id)
    make = member_copies.draft_pdf if kind == "pdf" else member_copies.draft_docx
    filename, data = _kept(("draft", version.id, version.content_hash, round_.id, kind), lambda: make(round_))
    return download(data, PDF if kind == "pdf" else DOCX, filename)


@bp.get("/review/<int:participant_id>/version.docx")
def draft_docx(participant_id: int):
    """The version of this member's round as Word, marked as a draft of that round."""
    return _draft(participant_id, "docx")


@bp.get("/review/<int:participant_id>/version.pdf")
def draft_pdf(participant_id: int):
    """The version of this member's round as PDF, marked as a draft of that round on every page."""
    return _draft(participant_id, "pdf")


@bp.get("/review/<int:participant_id>/print")
def print_version(participant_id: int):
    """The version of this member's round as a page to print: the text and what it is, nothing to click."""
    participant, _link, round_, version = _context(participant_id)
    body = rendered_blocks(version, mode="read")
    page = render_template("member/print.html", participant=participant, round=round_, version=version,
                           document=round_.document, body=body, final=None)
    return page_response(page, body)


def _final(participant_id: int):
    """This member's round and its document, which must be final (404 before)."""
    participant, _link, round_, _version = _context(participant_id)
    if round_.document.status != "final":
        abort(404)
    return participant, round_, round_.document


@bp.get("/review/<int:participant_id>/final.docx")
def final_docx(participant_id: int):
    """The final document as mailed to every member: the same bytes, with its approval annex."""
    return final_file(_final(participant_id)[2], "docx")


@bp.get("/review/<int:participant_id>/final.pdf")
def final_pdf(participant_id: int):
    return final_file(_final(participant_id)[2], "pdf")


@bp.get("/review/<int:participant_id>/final/print")
def print_final(participant_id: int):
    """The final version as a page to print, whichever version this member's link was for."""
    participant, round_, document = _final(participant_id)
    final = member_copies.final_version(db.session(), document.id)
    body = rendered_blocks(final.version, mode="read")
    page = render_template("member/print.html", participant=participant, round=round_, version=final.version,
                           document=document, body=body, final=final)
    return page_response(page, body)
