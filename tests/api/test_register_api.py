"""The register of organisations and the network's own record through the JSON API: the same workflows and refusals
as the pages (as problem+json in the caller's language), coordinators write and editors read, the CSV import all or
nothing, and the kerngroep/bestuur's warnings in words."""

from __future__ import annotations

import datetime as dt

from flask_babel import force_locale
from sqlalchemy import func, select

from service.web.i18n import ORGANISATION_CSV_PROBLEMS, error_message, record_warning
from storage.database.models import AuditEvent, MailMessage, Membership, Network, Organisation, Participant, Round
from tests.api.conftest import auth
from tests.factories import fresh, make_document, make_network, open_round, unique
from workflows.domain import api_tokens, membership
from workflows.domain.organisations import day_start, today

API = "/api/v1"
PROBLEM = "application/problem+json"


def _network(db, **sizes):
    network, coordinator, people = make_network(db, **sizes)
    _t, coordinator_token = api_tokens.create_token(db, network, coordinator, role="coordinator", name="script")
    _t, editor_token = api_tokens.create_token(db, network, people[0].person, role="editor", name="lezen")
    db.commit()
    return network, coordinator, people, auth(coordinator_token), auth(editor_token)


def _events(db, network_id: int, kind: str) -> list[AuditEvent]:
    fresh(db)
    return list(db.scalars(select(AuditEvent).where(AuditEvent.network_id == network_id, AuditEvent.kind == kind)
                           .order_by(AuditEvent.id)))


def in_dutch(client, render) -> str:
    """What the Dutch catalogue says (the same words whether or not the newest translations are compiled yet)."""
    with client.application.test_request_context(), force_locale("nl"):
        return str(render())


def test_organisations_are_added_changed_and_listed_with_their_register_entry(client, db):
    network, _coordinator, _people, headers, editor = _network(db, members=2)
    n = network.id
    body = {"name": "Patiëntenvereniging Noord", "kind": "patientenorganisatie", "has_vote": False,
            "joined_on": "2025-03-12", "joined_reference": "ALV 12-03-2025, besluit 4"}
    added = client.post(f"{API}/networks/{n}/organisations", json=body, headers=headers)
    assert added.status_code == 201, added.get_json()
    organisation = added.get_json()
    assert {key: organisation[key] for key in ("name", "kind", "has_vote", "joined_reference", "left_at",
                                               "left_reference")} == {
        "name": "Patiëntenvereniging Noord", "kind": "patientenorganisatie", "has_vote": False,
        "joined_reference": "ALV 12-03-2025, besluit 4", "left_at": None, "left_reference": ""}
    # The day as it began in Dutch time, as the register page shows it.
    assert dt.datetime.fromisoformat(organisation["joined_at"]).replace(tzinfo=dt.UTC) == \
        day_start(dt.date(2025, 3, 12))
    # Without a day it joins today, with the kind "other" and a vote, as the page's defaults.
    plain = client.post(f"{API}/networks/{n}/organisations", json={"name": "Apotheek Zuid"}, headers=headers)
    assert plain.status_code == 201
    assert (plain.get_json()["kind"], plain.get_json()["has_vote"]) == ("other", True)
    assert dt.datetime.fromisoformat(plain.get_json()["joined_at"]).replace(tzinfo=dt.UTC) == day_start(today())

    # The workflow's refusals as problems: in Dutch by default, in English on request, with the field named.
    taken = client.post(f"{API}/networks/{n}/organisations", json={"name": " Apotheek Zuid "}, headers=headers)
    assert taken.status_code == 409 and taken.mimetype == PROBLEM
    assert taken.get_json()["code"] == "organisation_exists"
    assert taken.headers["Content-Language"] == "nl"
    assert taken.get_json()["detail"] == in_dutch(client, lambda: error_message("organisation_exists",
                                                                                {"name": "Apotheek Zuid"}))
    assert taken.get_json()["errors"][0]["field"] == "name"
    english = client.post(f"{API}/networks/{n}/organisations", json={"name": "Apotheek Zuid"},
                          headers={**headers, "Accept-Language": "en"})
    assert english.get_json()["detail"] == "Apotheek Zuid is already in the register of this network."
    future = (today() + dt.timedelta(days=1)).isoformat()
    later = client.post(f"{API}/networks/{n}/organisations", json={"name": "Later", "joined_on": future},
                        headers={**headers, "Accept-Language": "en"})
    assert later.status_code == 400 and later.get_json()["code"] == "register_date_in_future"
    assert later.get_json()["detail"] == "Give the date it took effect: today or earlier."
    for refused in ({"name": "X", "kind": "bakkerij"}, {"name": "X", "joined_on": "1899-12-31"},
                    {"name": "X", "has_vote": "ja"}, {"name": "X", "joined_reference": "regel\nnog een"}):
        answer = client.post(f"{API}/networks/{n}/organisations", json=refused, headers=headers)
        assert answer.status_code == 422, refused
    blank = client.post(f"{API}/networks/{n}/organisations", json={"name": "   "}, headers=headers)
    assert blank.status_code == 400 and blank.get_json()["code"] == "organisation_name_required"

    # Change the kind and the vote; the name stays.
    changed = client.put(f"{API}/organisations/{organisation['id']}", json={"kind": "expertisecentrum",
                                                                           "has_vote": True}, headers=headers)
    assert changed.status_code == 200
    assert (changed.get_json()["kind"], changed.get_json()["has_vote"], changed.get_json()["name"]) == (
        "expertisecentrum", True, "Patiëntenvereniging Noord")
    event = _events(db, n, "organisation_changed")[-1]
    assert event.data["before"] == {"kind": "patientenorganisatie", "has_vote": False}
    assert event.data["after"] == {"kind": "expertisecentrum", "has_vote": True}
    assert client.put(f"{API}/organisations/{organisation['id']}", json={"kind": "expertisecentrum"},
                      headers=headers).status_code == 422

    # Editors read the register; only coordinators write it.
    listed = client.get(f"{API}/networks/{n}/organisations", headers=editor)
    assert listed.status_code == 200
    by_name = {o["name"]: o for o in listed.get_json()["items"]}
    assert by_name["Patiëntenvereniging Noord"]["kind"] == "expertisecentrum"
    assert by_name["Patiëntenvereniging Noord"]["joined_reference"] == "ALV 12-03-2025, besluit 4"
    assert client.get(f"{API}/organisations/{organisation['id']}", headers=editor).get_json()["has_vote"] is True
    for method, path, json in (
            ("POST", f"/networks/{n}/organisations", {"name": "Door de redacteur"}),
            ("PUT", f"/organisations/{organisation['id']}", {"kind": "other", "has_vote": False}),
            ("POST", f"/organisations/{organisation['id']}/leave", {"on": today().isoformat()}),
            ("POST", f"/organisations/{organisation['id']}/join", {"on": today().isoformat()})):
        refused = client.open(API + path, method=method, json=json, headers=editor)
        assert refused.status_code == 403 and refused.get_json()["code"] == "not_allowed", path
    fresh(db)
    assert db.scalar(select(func.count(Organisation.id)).where(Organisation.name == "Door de redacteur")) == 0
    assert db.get(Organisation, organisation["id"]).kind == "expertisecentrum"


def test_an_organisation_leaves_mid_round_and_joins_again(client, db):
    network, coordinator, people, headers, _editor = _network(db, members=4)
    n = network.id
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    # "Organisatie 1" holds members 1 and 3 (people[2] and people[4]): both take part in the open round.
    leaving = people[2].organisation
    staying_ids = {m.id for m in people if m.organisation_id != leaving.id}
    its_people = sorted(m.id for m in people if m.organisation_id == leaving.id)
    assert len(its_people) == 2

    bad = client.post(f"{API}/organisations/{leaving.id}/leave", json={"on": "2026-02-30"}, headers=headers)
    assert bad.status_code == 422
    left = client.post(f"{API}/organisations/{leaving.id}/leave",
                       json={"on": today().isoformat(), "reference": "Bestuursbesluit 7"}, headers=headers)
    assert left.status_code == 200, left.get_json()
    answer = left.get_json()
    assert answer["organisation"]["left_reference"] == "Bestuursbesluit 7"
    assert answer["organisation"]["left_at"] is not None
    assert sorted(m["id"] for m in answer["left"]) == its_people
    assert all(m["left_at"] for m in answer["left"])

    fresh(db)
    # They stopped counting in the open round at once, the others did not, and each of them is told by mail.
    removed = {p.membership_id for p in db.scalars(select(Participant).where(
        Participant.round_id == round_.id, Participant.removed_at.is_not(None)))}
    assert removed == set(its_people)
    assert not staying_ids & removed
    told = db.scalars(select(MailMessage).where(MailMessage.email == "organisation_left",
                                                MailMessage.network_id == n)).all()
    assert len(told) == 2
    event = _events(db, n, "organisation_left")[-1]
    assert event.data["reference"] == "Bestuursbesluit 7" and event.data["participants_removed"] == 2

    again = client.post(f"{API}/organisations/{leaving.id}/leave", json={"on": today().isoformat()},
                        headers={**headers, "Accept-Language": "en"})
    assert again.status_code == 409 and again.get_json()["code"] == "organisation_already_left"
    assert again.get_json()["detail"] == f"{leaving.name} has left the network (see the register of organisations)."
    nobody = client.post(f"{API}/networks/{n}/members", headers=headers, json={
        "name": "Nieuw", "email": f"nieuw-{unique('x')}@example.org", "organisation": leaving.name, "role": "member"})
    assert nobody.status_code == 409 and nobody.get_json()["code"] == "organisation_already_left"

    # It joins again: the register says so and its people added from now on are invited to the open round.
    joined = client.post(f"{API}/organisations/{leaving.id}/join",
                         json={"on": today().isoformat(), "reference": "ALV 2026"}, headers=headers)
    assert joined.status_code == 200, joined.get_json()
    assert joined.get_json()["organisation"]["left_at"] is None
    assert joined.get_json()["organisation"]["joined_reference"] == "ALV 2026"
    assert joined.get_json()["invited"] == []  # its former people left with it
    assert _events(db, n, "organisation_joined")[-1].data["rejoined"] is True
    newcomer = client.post(f"{API}/networks/{n}/members", headers=headers, json={
        "name": "Terug", "email": f"terug-{unique('x')}@example.org", "organisation": leaving.name, "role": "member"})
    assert newcomer.status_code == 201
    fresh(db)
    assert db.scalar(select(Participant.id).where(Participant.round_id == round_.id,
                                                  Participant.membership_id == newcomer.get_json()["id"],
                                                  Participant.removed_at.is_(None))) is not None

    # A coordinator cannot record the leaving of their own organisation.
    colleague = membership.add_member(db, network, name="Tweede coördinator", email=f"c2-{unique('x')}@example.org",
                                      organisation_name="Bureau", role="coordinator", actor=coordinator)
    _t, own_token = api_tokens.create_token(db, network, colleague.person, role="coordinator", name="eigen")
    db.commit()
    own = client.post(f"{API}/organisations/{colleague.organisation_id}/leave", json={"on": today().isoformat()},
                      headers=auth(own_token))
    assert own.status_code == 409 and own.get_json()["code"] == "organisation_has_you"
    fresh(db)
    assert db.get(Organisation, colleague.organisation_id).left_at is None
    assert db.get(Round, round_.id).status == "open"


def test_organisations_and_their_people_are_imported_by_csv_all_or_nothing(client, db):
    network, _coordinator, _people, headers, editor = _network(db, members=1)
    n = network.id
    tag = unique("csv")
    good = (
        "organisatie;soort;stem;toegetreden;besluit;naam;email;rol;vertegenwoordiger\n"
        f"Praktijk De Linde;huisartsenpraktijk;ja;01-02-2025;ALV 1;Anna Linde;anna-{tag}@example.org;lid;ja\n"
        f"Praktijk De Linde;;;;;Bert Linde;bert-{tag}@example.org;lid;nee\n"
        "Gemeente Oost;gemeente;nee;;;;;;\n"
    ).encode()
    csv_headers = {**headers, "Content-Type": "text/csv"}
    imported = client.post(f"{API}/networks/{n}/organisations/import", data=good, headers=csv_headers)
    assert imported.status_code == 201, imported.get_json()
    answer = imported.get_json()
    assert (answer["imported_organisations"], answer["imported_members"]) == (2, 2)
    kinds = {o["name"]: (o["kind"], o["has_vote"]) for o in answer["organisations"]}
    assert kinds == {"Praktijk De Linde": ("huisartsenpraktijk", True), "Gemeente Oost": ("gemeente", False)}
    assert {m["person"]["name"]: m["representative"] for m in answer["members"]} == {"Anna Linde": True,
                                                                                     "Bert Linde": False}
    assert _events(db, n, "organisations_imported")

    before = db.scalar(select(func.count(Organisation.id)).where(Organisation.network_id == n))
    bad = (
        "organisatie,soort,naam,email\n"
        f"Nieuwe Apotheek,bakkerij,Cor,cor-{tag}@example.org\n"
        f"Praktijk De Linde,,Anna,anna-{tag}@example.org\n"
        f"Ziekenhuis West,ziekenhuis,Dirk,dirk-{tag}@example.org\n"
    ).encode()
    rejected = client.post(f"{API}/networks/{n}/organisations/import", data=bad,
                           headers={**csv_headers, "Accept-Language": "en"})
    assert rejected.status_code == 400 and rejected.mimetype == PROBLEM
    problems = rejected.get_json()["problems"]
    assert [(p["line"], p["code"]) for p in problems] == [(2, "unknown_organisation_kind"), (3, "already_member")]
    assert problems[0]["message"].startswith("unknown kind of organisation")
    assert problems[1]["message"] == "already a member of this network"
    dutch = client.post(f"{API}/networks/{n}/organisations/import", data=bad, headers=csv_headers).get_json()
    assert dutch["problems"][0]["message"] == in_dutch(
        client, lambda: ORGANISATION_CSV_PROBLEMS["unknown_organisation_kind"])
    fresh(db)
    assert db.scalar(select(func.count(Organisation.id)).where(Organisation.network_id == n)) == before
    assert db.scalar(select(func.count(Membership.id)).where(Membership.network_id == n,
                                                             Membership.name == "Dirk")) == 0

    header = client.post(f"{API}/networks/{n}/organisations/import", data=b"naam,email\nA,a@example.org\n",
                         headers=csv_headers)
    assert header.status_code == 400 and header.get_json()["problems"][0]["code"] == "organisation_header"
    nul = client.post(f"{API}/networks/{n}/organisations/import", data=b"organisatie\nA\x00B\n", headers=csv_headers)
    assert nul.status_code == 422
    assert client.post(f"{API}/networks/{n}/organisations/import", data=good,
                       headers={**headers, "Content-Type": "application/json"}).status_code == 415
    refused = client.post(f"{API}/networks/{n}/organisations/import", data=good,
                          headers={**editor, "Content-Type": "text/csv"})
    assert refused.status_code == 403


def test_the_network_record_its_board_and_warnings(client, db):
    network, coordinator, people, headers, editor = _network(db, members=4)
    n = network.id
    record = client.get(f"{API}/networks/{n}/record", headers=editor)
    assert record.status_code == 200
    assert record.get_json()["board"] == []
    assert [(w["code"], w["message"]) for w in record.get_json()["warnings"]] == [
        ("no_board", in_dutch(client, lambda: record_warning("no_board", {})))]
    english = client.get(f"{API}/networks/{n}/record", headers={**editor, "Accept-Language": "en"}).get_json()
    assert english["warnings"][0]["message"] == "No kerngroep or bestuur is recorded yet: mark its members below."

    body = {"purpose": "Goede zorg voor mensen met een zeldzame aandoening.\nIn de regio.",
            "target_group": "Patiënten en hun naasten", "privacy_statement": "Wij bewaren alleen wat nodig is."}
    assert client.put(f"{API}/networks/{n}/record", json=body, headers=editor).status_code == 403
    saved = client.put(f"{API}/networks/{n}/record", json=body, headers=headers)
    assert saved.status_code == 200, saved.get_json()
    assert {key: saved.get_json()[key] for key in body} == body
    assert client.get(f"{API}/networks/{n}/record", headers=editor).get_json()["purpose"] == body["purpose"]
    assert _events(db, n, "network_record_changed")[-1].data["target_group"] == "Patiënten en hun naasten"
    assert db.get(Network, n).privacy_statement == body["privacy_statement"]
    for refused in ({**body, "purpose": "nul\x00"}, {"purpose": "alleen dit"}, {**body, "purpose": "x" * 5001}):
        assert client.put(f"{API}/networks/{n}/record", json=refused, headers=headers).status_code == 422

    # The kerngroep: a patiëntenorganisatie and an expertisecentrum, four people, two disciplines twice each.
    patient, expert = people[1].organisation, people[2].organisation
    assert patient.id != expert.id
    for organisation, kind in ((patient, "patientenorganisatie"), (expert, "expertisecentrum")):
        assert client.put(f"{API}/organisations/{organisation.id}", json={"kind": kind, "has_vote": True},
                          headers=headers).status_code == 200
    first = client.put(f"{API}/members/{people[1].id}/board", json={"board": True, "discipline": "patiënt"},
                       headers=headers)
    assert first.status_code == 200
    assert (first.get_json()["board"], first.get_json()["discipline"]) == (True, "patiënt")
    warnings = client.get(f"{API}/networks/{n}/record", headers={**headers, "Accept-Language": "en"}).get_json()
    codes = {w["code"]: w for w in warnings["warnings"]}
    assert set(codes) == {"no_expertise_centre", "board_too_small"}
    assert codes["board_too_small"]["params"] == {"count": 1, "minimum": 4}
    assert codes["board_too_small"]["message"] == "A bestuur has at least 4 people; this one has 1."
    for member, discipline in ((people[2], "medisch specialist"), (people[3], "patiënt"),
                               (people[4], "medisch specialist")):
        assert client.put(f"{API}/members/{member.id}/board", json={"board": True, "discipline": discipline},
                          headers=headers).status_code == 200
    done = client.get(f"{API}/networks/{n}/record", headers=headers).get_json()
    assert done["warnings"] == []
    assert sorted(m["id"] for m in done["board"]) == sorted(m.id for m in people[1:5])
    assert all(m["organisation"]["kind"] in ("patientenorganisatie", "expertisecentrum") for m in done["board"])

    # Out of the board: the warnings come back; the discipline is kept for next time.
    out = client.put(f"{API}/members/{people[4].id}/board", json={"board": False}, headers=headers)
    assert out.status_code == 200 and out.get_json()["board"] is False
    assert out.get_json()["discipline"] == "medisch specialist"
    codes = [w["code"] for w in client.get(f"{API}/networks/{n}/record", headers=headers).get_json()["warnings"]]
    assert codes == ["board_too_small", "disciplines_unequal"]
    assert client.put(f"{API}/members/{people[3].id}/board", json={"board": True, "discipline": "a\tb"},
                      headers=headers).status_code == 422
    assert client.put(f"{API}/members/{people[3].id}/board", json={"board": True, "discipline": "huisarts"},
                      headers=editor).status_code == 403
    events = _events(db, n, "board_changed")
    assert len(events) == 5 and events[-1].data["after"] == {"board": False, "discipline": "medisch specialist"}

    # Someone who left cannot join the board.
    membership.remove_member(db, db.get(Membership, people[4].id), actor=coordinator)
    db.commit()
    gone = client.put(f"{API}/members/{people[4].id}/board", json={"board": True, "discipline": "x"},
                      headers=headers)
    assert gone.status_code == 409 and gone.get_json()["code"] == "already_left"


def test_the_description_holds_the_register_and_the_record(client):
    spec = client.get(f"{API}/openapi.json").get_json()
    operations = {op["operationId"]: (method, path, op) for path, methods in spec["paths"].items()
                  for method, op in methods.items()}
    for name in ("list_organisations", "create_organisation", "update_organisation", "record_organisation_joining",
                 "record_organisation_leaving", "import_organisations", "get_network_record",
                 "update_network_record", "set_board_membership"):
        assert name in operations, name
    schemas = spec["components"]["schemas"]
    assert {"kind", "has_vote", "joined_at", "joined_reference", "left_at", "left_reference"} <= set(
        schemas["OrganisationOut"]["properties"])
    assert "patientenorganisatie" in schemas["OrganisationOut"]["properties"]["kind"]["enum"]
    assert set(schemas["RecordOut"]["properties"]) >= {"purpose", "target_group", "privacy_statement", "board",
                                                       "warnings"}
    assert "409" in operations["record_organisation_leaving"][2]["responses"]
