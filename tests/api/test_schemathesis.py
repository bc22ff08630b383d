"""Schemathesis against the live app (in-process WSGI, the test database, Redis and SMTP of the fixtures):
for every operation of the generated description, examples made from its schemas, with real ids of the
token's network, of another network and random ones. No answer may be a server error, and every answer must
conform to the description (status code, media type, headers, body schema); invalid input must be refused."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import auth

pytestmark = pytest.mark.slow

# Examples per operation and mode; the whole run stays well under three minutes per database.
POSITIVE_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "20"))
NEGATIVE_EXAMPLES = max(POSITIVE_EXAMPLES // 2, 3)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def test_every_operation_conforms_to_its_description(app, world, other, monkeypatch):
    import socket

    from workflows.domain import webhooks

    real = socket.getaddrinfo

    def no_dns(host, *args, **kwargs):  # generated webhook URLs never reach a name server; Redis still does
        if host in ("127.0.0.1", "localhost", "::1"):
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "not resolved in tests")

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", no_dns)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 45
    counts = {"examples": 0, "operations": len(operations)}
    for operation in operations:
        staff = operation.definition.raw["security"] == [{"apiToken": []}]
        for mode, examples, checks in (
            (GenerationMode.POSITIVE, POSITIVE_EXAMPLES, CHECKS),
            (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES, CHECKS + [negative_data_rejection]),
        ):
            _run(operation, mode, examples, checks, world, other, staff, counts)
    statuses = {code: n for code, n in counts.items() if isinstance(code, int)}
    print(f"\nschemathesis: {counts['operations']} operations, {counts['examples']} examples, "
          f"answers by status: {dict(sorted(statuses.items()))}")
    assert sum(n for code, n in statuses.items() if code < 300) >= counts["operations"]  # not only refusals
    assert counts["examples"] >= counts["operations"] * 3


def _run(operation, mode, examples, checks, world, other, staff, counts):
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode), ids=st.sampled_from(["own", "own", "other", "random"]))
    def example(case, ids):
        # Negative examples keep their own (possibly invalid) path ids: the case is judged as generated.
        if mode == GenerationMode.POSITIVE and ids != "random" and case.path_parameters:
            source = world if ids == "own" else other
            case.path_parameters = {name: source.ids[name] for name in case.path_parameters}
        token = world.coordinator_token if staff else world.member_token
        headers = {**(case.headers or {}), **auth(token)}
        case.headers = headers
        counts["examples"] += 1
        response = case.call_and_validate(checks=checks)
        counts.setdefault(response.status_code, 0)
        counts[response.status_code] += 1

    example()
