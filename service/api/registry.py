"""The API's operations: each view is declared once with who may call it, what it takes and what it answers;
routing, authentication, input checks, idempotency and the OpenAPI description all come from that one place."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import Blueprint, Response, g, json, request
from flask_babel import force_locale
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError

from service.api import problems
from service.api.auth import Caller, resolve_caller
from service.api.schemas import LINE_PATTERN, TEXT_PATTERN
from service.web import db
from service.web.routing import MAX_ID
from storage.database.models import IdempotencyRecord, utcnow
from workflows.domain import idempotency

JSON = "application/json"
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")
# A field refused by the input rules' patterns gets the rule's own code and message, not the pattern itself.
PATTERN_CODES = {LINE_PATTERN: "control_characters", TEXT_PATTERN: "text_control_characters"}


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI form under /api/v1, e.g. /documents/{document_id}
    view: Callable
    summary: str
    tag: str
    caller: str  # "staff", "member" or "public"
    roles: tuple[str, ...] = ("coordinator", "editor")
    body: type[BaseModel] | None = None
    form: type[BaseModel] | None = None  # multipart fields; `files` names the file parts
    files: tuple[str, ...] = ()
    raw_body: dict[str, dict] | None = None  # media type -> schema, for bodies that are not JSON (CSV)
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    media: dict[str, dict] | None = None  # non-JSON answers: media type -> schema
    status: int = 200
    errors: tuple[int, ...] = ()
    idempotent: bool = False
    etag: bool = False
    paginated: bool = False
    description: str = ""
    operation_id: str = ""
    path_params: list[str] = field(default_factory=list)

    def status_codes(self) -> list[int]:
        codes = {self.status, *self.errors, 429}  # 429: too many refused tokens from the client's address
        if self.caller != "public":
            codes |= {401, 403}
        if self.path_params:
            codes.add(404)
        if self.body or self.form or self.query or self.raw_body:
            codes.add(422)
        if self.body or self.raw_body or self.form:
            codes.add(415)
        if self.idempotent:
            codes |= {409, 422}
        if self.etag:
            codes.add(304)
        return sorted(codes)


OPERATIONS: list[Operation] = []
_PARAM = re.compile(r"{(\w+)}")


def operation(bp: Blueprint, method: str, path: str, *, summary: str, tag: str, caller: str = "staff", **options):
    """Register a view under /api/v1 and in the description. The view gets path ids and, when declared,
    `body`, `form`, `files`, `raw` and `query` keyword arguments; it returns a model, a Response, or
    (model, status)."""

    def decorate(view: Callable) -> Callable:
        op = Operation(method=method, path=path, view=view, summary=summary, tag=tag, caller=caller,
                       operation_id=view.__name__, path_params=_PARAM.findall(path), **options)
        OPERATIONS.append(op)

        @wraps(view)
        def handle(**path_ids):
            # The app's id converter already keeps every path id in range; this holds for an app without it.
            if any(value < 1 or value > MAX_ID for value in path_ids.values()):
                return problems.problem(404, "not_found")
            caller_or_problem = resolve_caller(op)
            if isinstance(caller_or_problem, Response):
                return caller_or_problem
            g.api_caller = caller_or_problem
            kwargs = dict(path_ids)
            parsed = _parse(op, kwargs)
            if parsed is not None:
                return parsed
            if op.idempotent and "Idempotency-Key" in request.headers:
                if not IDEMPOTENCY_KEY.fullmatch(request.headers["Idempotency-Key"]):
                    error = {"field": "Idempotency-Key", "code": "pattern",
                             "message": problems.message("bad_idempotency_key")}
                    return problems.problem(422, "validation", errors=[error])
                return _idempotent(op, caller_or_problem, lambda: _answer(op, view(**kwargs)))
            return _answer(op, view(**kwargs))

        flask_path = _PARAM.sub(lambda m: f"<int:{m.group(1)}>", path)
        bp.add_url_rule(flask_path, view.__name__, handle, methods=[method])
        return view

    return decorate


def _parse(op: Operation, kwargs: dict) -> Response | None:
    """Fill kwargs with the checked query and body; a problem when they do not match the description."""
    try:
        if op.query is not None:
            kwargs["query"] = op.query.model_validate(request.args.to_dict())
        if op.body is not None:
            if request.mimetype != JSON:
                return problems.problem(415, "unsupported_media_type")
            kwargs["body"] = op.body.model_validate_json(request.get_data() or b"null", strict=True)
        if op.raw_body is not None:
            if request.mimetype not in op.raw_body:
                return problems.problem(415, "unsupported_media_type")
            kwargs["raw"] = request.get_data()
        if op.form is not None:
            if request.mimetype != "multipart/form-data":
                return problems.problem(415, "unsupported_media_type")
            missing = [name for name in op.files if name not in request.files]
            if missing:
                return problems.problem(422, "validation", errors=[
                    {"field": name, "code": "missing", "message": problems.message("validation")} for name in missing])
            kwargs["form"] = op.form.model_validate(request.form.to_dict())
            kwargs["files"] = {name: request.files[name] for name in op.files}
    except ValidationError as error:
        return validation_problem(error)
    return None


def validation_problem(error: ValidationError) -> Response:
    errors = []
    with force_locale(problems.caller_locale()):
        for e in error.errors(include_url=False, include_input=False):
            rule = PATTERN_CODES.get((e.get("ctx") or {}).get("pattern")) if e["type"] == "string_pattern_mismatch" \
                else None
            errors.append({"field": ".".join(str(part) for part in e["loc"]) or "body", "code": rule or e["type"],
                           "message": problems.message(rule) if rule else e["msg"]})
    return problems.problem(422, "validation", errors=errors)


def _answer(op: Operation, result) -> Response:
    if isinstance(result, Response):
        return result
    status = op.status
    if isinstance(result, tuple):
        result, status = result
    response = Response(result.model_dump_json(), status=status, mimetype=JSON)
    return response


def _idempotent(op: Operation, caller: Caller, run: Callable[[], Response]) -> Response:
    """The same key and request from the same caller gets the stored answer; another request with the key, a 422."""

    key = request.headers["Idempotency-Key"]
    fingerprint = hashlib.sha256(b"\n".join([
        request.method.encode(), request.full_path.encode(), request.mimetype.encode(), _body_fingerprint(),
    ])).hexdigest()
    session = db.session()
    record = session.query(IdempotencyRecord).filter_by(caller=caller.key, key=key).one_or_none()
    if record is not None and record.created_at < idempotency.oldest_kept():
        session.delete(record)  # kept longer than promised: the key starts afresh
        session.flush()
        record = None
    if record is not None:
        if record.request_hash != fingerprint:
            return problems.problem(422, "idempotency_mismatch")
        response = Response(record.body, status=record.status, headers=record.headers)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    response = run()
    if response.status_code < 400:
        session.add(IdempotencyRecord(
            caller=caller.key, key=key, request_hash=fingerprint, status=response.status_code,
            headers={name: value for name, value in response.headers.items() if name in ("Content-Type", "Location")},
            body=response.get_data(), created_at=utcnow()))
        try:
            session.flush()
        except IntegrityError:  # the same key is being answered by a concurrent request
            session.rollback()
            return problems.problem(409, "idempotency_in_progress")
    return response


def _body_fingerprint() -> bytes:
    """The request body as it matters: for multipart, the fields and each file's name and content (a client
    that retries picks a new boundary); otherwise the bytes."""
    if request.mimetype != "multipart/form-data":
        return request.get_data()
    parts = [f"{name}={value}" for name, value in sorted(request.form.items(multi=True))]
    files = []
    for name, upload in request.files.items(multi=True):  # two files under one name: sorted by what they are
        digest = hashlib.sha256(upload.stream.read()).hexdigest()
        upload.stream.seek(0)
        files.append(f"{name}:{upload.filename}:{digest}")
    return "\n".join(parts + sorted(files)).encode()


def json_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype=JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response
