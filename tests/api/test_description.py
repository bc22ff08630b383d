"""The OpenAPI description is generated from the registered operations and says everything a client needs:
version 3.1, security per operation, parameters, and every status code each operation can return."""

from __future__ import annotations

import re

from service.api.registry import OPERATIONS


def test_the_description_is_openapi_3_1_and_lists_every_operation(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = response.get_json()
    assert spec["openapi"] == "3.1.0"
    operations = [(method, path, op) for path, methods in spec["paths"].items() for method, op in methods.items()]
    assert len(operations) == len(OPERATIONS) >= 50
    assert len({op["operationId"] for _m, _p, op in operations}) == len(operations)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["apiToken"] == {**schemes["apiToken"], "type": "http", "scheme": "bearer"}
    for method, path, op in operations:
        codes = set(op["responses"])
        assert {"401", "403"} <= codes and op["security"], (method, path)
        if "{" in path:
            assert "404" in codes
            names = {p["name"] for p in op["parameters"] if "name" in p}
            assert set(re.findall(r"{(\w+)}", path)) <= names
        if "requestBody" in op:
            assert {"415", "422"} <= codes
        for code, answer in op["responses"].items():
            if int(code) >= 400:
                assert answer == {"$ref": f"#/components/responses/{code}"}
                assert code in spec["components"]["responses"]


def test_problems_are_described_as_problem_json(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for code, response in spec["components"]["responses"].items():
        assert list(response["content"]) == ["application/problem+json"], code
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])


def test_the_reference_page_is_rendered_from_the_description_without_outside_assets(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for op in OPERATIONS:
        assert f'id="{op.operation_id}"' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<script" not in html


def test_a_problem_type_leads_to_its_explanation(client):
    response = client.get("/api/v1/problems/token_invalid")
    assert response.status_code == 303 and response.headers["Location"].endswith("/api/v1/docs#problem-token_invalid")
