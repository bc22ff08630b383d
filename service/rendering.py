"""A version's text as HTML, rendered once per version and language: versions never change, so neither does this."""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock

from flask import render_template
from flask_babel import get_locale
from markupsafe import Markup

from storage.models import Version

_CACHE: OrderedDict[tuple, Markup] = OrderedDict()
_LOCK = Lock()
CACHE_SIZE = 64


def rendered_blocks(version: Version, *, mode: str) -> Markup:
    """mode "read" for staff pages, "review" adds a comment link to every passage (relative, so shared by all)."""
    key = (version.id, version.content_hash, str(get_locale()), mode)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    html = Markup(render_template("partials/blocks.html", blocks=version.blocks, mode=mode))
    with _LOCK:
        _CACHE[key] = html
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return html
