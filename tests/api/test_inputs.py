"""Single-line fields of the API (names, organisations, titles, addresses) refuse control characters with a 422
that names the field; longer texts refuse NUL and other controls; real names pass."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.database.models import Document, Membership, Organisation
from tests.api.conftest import auth
from tests.factories import fresh
from tests.workflows.test_inputs import REAL_NAMES

API = "/api/v1"


def refused_fields(response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.get_data(as_text=True)
    problem = response.get_json()
    assert problem["code"] == "validation" and response.mimetype == "application/problem+json"
    return [(error["field"], error["code"]) for error in problem["errors"]]


def counts(db, network_id) -> tuple[int, int, int]:
    fresh(db)
    return tuple(db.scalar(select(func.count()).select_from(model).where(model.network_id == network_id))
                 for model in (Membership, Organisation, Document))


@pytest.mark.parametrize("value", ["Jan\nJansen", "Jan\tJansen", "Jan\x00", "Jan\u2028Jansen", "Jan\u202eJansen"])
def test_a_control_character_in_a_single_line_field_is_a_422_naming_the_field(client, db, world, value):
    headers = auth(world.coordinator_token)
    network = world.network.id
    before = counts(db, network)
    member = {"name": "Jan Jansen", "email": "jan.jansen@example.org", "organisation": "Praktijk", "role": "member"}
    for field in ("name", "organisation", "email"):
        response = client.post(f"{API}/networks/{network}/members", headers=headers, json={**member, field: value})
        assert refused_fields(response) == [(field, "control_characters")]
    response = client.post(f"{API}/networks/{network}/organisations", headers=headers, json={"name": value})
    assert refused_fields(response) == [("name", "control_characters")]
    response = client.post(f"{API}/networks/{network}/documents", headers=headers,
                           json={"kind": "notitie", "title": f"Visie {value}"})
    assert refused_fields(response) == [("title", "control_characters")]
    response = client.post(f"{API}/networks/{network}/webhooks", headers=headers,
                           json={"url": f"https://example.org/{value}"})
    assert refused_fields(response) == [("url", "control_characters")]
    assert counts(db, network) == before


def test_the_field_message_is_in_the_callers_language(client, world):
    url = f"{API}/networks/{world.network.id}/documents"
    body = {"kind": "notitie", "title": "Visie\r\n2030"}
    english = client.post(url, headers=auth(world.coordinator_token, **{"Accept-Language": "en"}), json=body)
    assert english.get_json()["errors"][0]["message"] == ("Use a single line, without line breaks, tabs or other "
                                                          "invisible control characters.")
    dutch = client.post(url, headers=auth(world.coordinator_token), json=body)
    assert dutch.headers["Content-Language"] == "nl" and dutch.get_json()["errors"][0]["message"]


def test_longer_texts_refuse_nul_and_other_controls_but_keep_lines(client, db, world):
    headers = auth(world.member_token)
    url = f"{API}/participation/comments"
    response = client.post(url, headers=headers, json={"body": "Graag\x00 aanpassen"})
    assert refused_fields(response) == [("body", "text_control_characters")]
    response = client.post(url, headers=headers, json={"body": "Artikel 2:\n\tgraag aanpassen.\r\nGroet"})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["body"] == "Artikel 2:\n\tgraag aanpassen.\r\nGroet"


def test_csv_through_the_api_reports_the_line_and_field(client, db, world):
    before = counts(db, world.network.id)
    response = client.post(f"{API}/networks/{world.network.id}/members/import",
                           headers=auth(world.coordinator_token, **{"Content-Type": "text/csv"}),
                           data='naam,email,organisatie,rol\n"Jan\nJansen",jan@example.org,Org,lid\n'
                                'Piet,piet@example.org,Org\tOost,lid\n')
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["code"] == "csv_rejected"
    assert [(p["line"], p["code"], p["value"]) for p in problem["problems"]] == [
        (2, "name_control_characters", "Jan␊Jansen"), (3, "organisation_control_characters", "Org␉Oost")]
    assert counts(db, world.network.id) == before


def test_real_names_pass(client, world):
    headers = auth(world.coordinator_token)
    for i, name in enumerate(REAL_NAMES):
        response = client.post(f"{API}/networks/{world.network.id}/members", headers=headers,
                               json={"name": name, "email": f"echt{i}-{world.network.id}@example.org",
                                     "organisation": f"{name} & Co."})
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.get_json()["person"]["name"] == name
        assert response.get_json()["organisation"]["name"] == f"{name} & Co."
        response = client.post(f"{API}/networks/{world.network.id}/documents", headers=headers,
                               json={"kind": "notitie", "title": f"Notitie van {name}"})
        assert response.status_code == 201 and response.get_json()["title"] == f"Notitie van {name}"
