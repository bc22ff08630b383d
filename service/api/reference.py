"""The API's description (/api/v1/openapi.json), its readable reference page and the problem type pages."""

from __future__ import annotations

from functools import lru_cache

from flask import json, redirect, render_template, url_for

from service.api import openapi
from service.api.blueprint import bp
from service.api.problems import MESSAGES, TITLES
from service.api.registry import json_response


@lru_cache(maxsize=1)
def description() -> dict:

    return openapi.build()


@bp.get("/openapi.json")
def openapi_json():
    return json_response(description())


@bp.get("/docs")
def docs():
    spec = description()
    tags: dict[str, list] = {}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            tags.setdefault(op["tags"][0], []).append((method.upper(), path, op))
    schemas = spec["components"]["schemas"]
    return render_template("api/docs.html", spec=spec, tags=tags, schemas=schemas, json=json,
                           count=sum(len(ops) for ops in tags.values()),
                           problems=sorted(MESSAGES.items()), titles=TITLES)


@bp.get("/problems/<code>")
def problem_type(code: str):
    """A problem's type URI resolves to its entry on the reference page."""
    return redirect(url_for("api.docs", _anchor=f"problem-{code}"), 303)
