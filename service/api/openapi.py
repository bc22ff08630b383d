"""The OpenAPI 3.1 description, built from the registered operations and their pydantic models."""

from __future__ import annotations

from pydantic.json_schema import models_json_schema

from service.api import schemas as s
from service.api.blueprint import PREFIX
from service.api.problems import PROBLEM
from service.api.registry import MAX_ID, OPERATIONS, Operation

REF = "#/components/schemas/{model}"
STATUS_TEXT = {
    200: "OK", 201: "Created", 304: "Not modified: the If-None-Match ETag is current",
    400: "A rule refused the request; nothing was changed", 401: "No valid bearer token",
    403: "The token may not do this", 404: "Not found, or not in the token's network",
    409: "Conflicts with the current state (or the Idempotency-Key is in use)", 413: "The upload is too large",
    415: "The body has the wrong media type", 422: "The input does not match the description (per field), or the "
    "Idempotency-Key was used for another request",
    429: "Too many refused tokens from this client address (LIMIT_FAILED_SECRETS); Retry-After says when to try "
    "again",
}
SECURITY = {
    "staff": [{"apiToken": []}],
    "member": [{"memberToken": []}],
    "public": [],
}


def _models() -> list[type]:
    models = {s.Problem}
    for op in OPERATIONS:
        for model in (op.body, op.response):
            if model is not None:
                models.add(model)
    return sorted(models, key=lambda m: m.__name__)


def build() -> dict:
    modes = [(model, "validation" if _is_input(model) else "serialization") for model in _models()]
    _keys, schema = models_json_schema(modes, ref_template=REF)
    components = schema.get("$defs", {})
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Akkoord API",
            "version": "1",
            "description": (
                "Everything a coordinator or editor can do in the pages, and what a member does with their "
                "personal link. Staff send a personal API token (made under a network's API tokens page) as "
                "`Authorization: Bearer akk_...`; a member sends the token of their personal round link. Errors "
                "are application/problem+json (RFC 9457) with `detail` in the Accept-Language (Dutch by default). "
                "Lists are pages ordered by id with a `next` URL and a Link header. Writes marked so accept an "
                "Idempotency-Key header."),
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "servers": [{"url": PREFIX}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "apiToken": {"type": "http", "scheme": "bearer", "bearerFormat": "akk_…",
                             "description": "A coordinator's or editor's personal API token for one network."},
                "memberToken": {"type": "http", "scheme": "bearer",
                                "description": "The token of a member's personal round link (from their invitation)."},
            },
            "responses": {str(code): _problem_response(code) for code in STATUS_TEXT if code >= 400},
            "parameters": {
                "IdempotencyKey": {"name": "Idempotency-Key", "in": "header", "required": False,
                                   "description": "Retry safely: the same key and request get the stored answer.",
                                   "schema": {"type": "string", "minLength": 1, "maxLength": 200,
                                              "pattern": "^[\\x21-\\x7e]+$"}},
                "IfNoneMatch": {"name": "If-None-Match", "in": "header", "required": False,
                                "description": "An ETag you hold; 304 when it is still current.",
                                "schema": {"type": "string"}},
                "AcceptLanguage": {"name": "Accept-Language", "in": "header", "required": False,
                                   "description": "The language of problem details (nl, en; anything else: nl).",
                                   "schema": {"type": "string"}},
            },
            "headers": {
                "ETag": {"description": "The version's content hash.", "schema": {"type": "string"}},
                "Link": {"description": "The following page: <url>; rel=\"next\".", "schema": {"type": "string"}},
            },
        },
    }


def _is_input(model) -> bool:
    return issubclass(model, s.Input)


def _problem_response(code: int) -> dict:
    return {"description": STATUS_TEXT[code], "content": {PROBLEM: {"schema": {"$ref": REF.format(model="Problem")}}}}


def _operation(op: Operation) -> dict:
    spec: dict = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "security": SECURITY[op.caller],
        "parameters": _parameters(op),
        "responses": _responses(op),
    }
    if op.description:
        spec["description"] = op.description
    body = _request_body(op)
    if body:
        spec["requestBody"] = body
    return spec


def _parameters(op: Operation) -> list[dict]:
    params = [{"name": name, "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}} for name in op.path_params]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=REF)
        for name, prop in schema.get("properties", {}).items():
            description = prop.pop("description", None)
            prop.pop("title", None)
            param = {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop}
            if description:
                param["description"] = description
            params.append(param)
    params.append({"$ref": "#/components/parameters/AcceptLanguage"})
    if op.idempotent:
        params.append({"$ref": "#/components/parameters/IdempotencyKey"})
    if op.etag:
        params.append({"$ref": "#/components/parameters/IfNoneMatch"})
    return params


def _request_body(op: Operation) -> dict | None:
    if op.body is not None:
        schema = {"$ref": REF.format(model=op.body.__name__)}
        return {"required": True, "content": {"application/json": {"schema": schema}}}
    if op.raw_body is not None:
        return {"required": True, "content": {media: {"schema": schema} for media, schema in op.raw_body.items()}}
    if op.form is not None:
        schema = op.form.model_json_schema(ref_template=REF)
        properties = {name: {k: v for k, v in prop.items() if k != "title"}
                      for name, prop in schema.get("properties", {}).items()}
        for name in op.files:
            properties[name] = {"type": "string", "format": "binary"}
        return {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "properties": properties, "required": list(op.files)}}}}
    return None


def _responses(op: Operation) -> dict:
    responses: dict = {}
    for code in op.status_codes():
        if code >= 400:
            responses[str(code)] = {"$ref": f"#/components/responses/{code}"}
        elif code == 304:
            responses["304"] = {"description": STATUS_TEXT[304],
                                "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}}
        else:
            success: dict = {"description": STATUS_TEXT.get(code, "OK")}
            if op.response is not None:
                success["content"] = {"application/json": {"schema": {"$ref": REF.format(model=op.response.__name__)}}}
            elif op.media:
                success["content"] = {media: {"schema": schema} for media, schema in op.media.items()}
            headers = {}
            if op.etag:
                headers["ETag"] = {"$ref": "#/components/headers/ETag"}
            if op.paginated:
                headers["Link"] = {"$ref": "#/components/headers/Link"}
            if headers:
                success["headers"] = headers
            responses[str(code)] = success
    return responses
