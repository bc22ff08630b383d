"""Members: one by one and by CSV, all-or-nothing with every bad row reported."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.database.models import Membership
from tests.factories import make_network
from workflows.domain import membership, organisations
from workflows.errors import Conflict, CsvRejected, InvalidInput


def count_members(db, network):
    return db.scalar(select(func.count()).select_from(Membership).where(Membership.network_id == network.id,
                                                                          Membership.left_at.is_(None)))


def test_csv_import_adds_people_organisations_and_roles(db):
    network, coordinator, _ = make_network(db, members=0, editors=0)
    data = (b"naam,email,organisatie,rol\n"
            b"Jan Jansen,jan@praktijk.example,Huisartsenpraktijk Oost,lid\n"
            b"Els Ek,ELS@apotheek.example,Apotheek West,editor\n"
            b"Piet Post,piet@gemeente.example,Gemeente,waarnemer\n")
    added = membership.import_members_csv(db, network, data, actor=coordinator)
    assert [(m.person.email, m.role, m.organisation.name) for m in added] == [
        ("jan@praktijk.example", "member", "Huisartsenpraktijk Oost"),
        ("els@apotheek.example", "editor", "Apotheek West"),
        ("piet@gemeente.example", "observer", "Gemeente"),
    ]


def test_csv_with_bad_rows_imports_nothing_and_reports_every_bad_row(db):
    network, coordinator, people = make_network(db, members=1, editors=0)
    before = count_members(db, network)
    data = ("naam,email,organisatie,rol\n"
            "Goed Mens,goed@example.org,Org,lid\n"
            "Fout Adres,geen-email,Org,lid\n"
            "Rare Rol,rol@example.org,Org,baas\n"
            "Dubbel,goed@example.org,Org,lid\n"
            f"Bestaand,{people[0].person.email},Org,lid\n"
            "Te,weinig\n").encode()
    with pytest.raises(CsvRejected) as error:
        membership.import_members_csv(db, network, data, actor=coordinator)
    assert [(line, code) for line, code, _value in error.value.params["problems"]] == [
        (3, "bad_email"), (4, "unknown_role"), (5, "duplicate_in_file"), (6, "already_member"), (7, "wrong_columns"),
    ]
    assert count_members(db, network) == before


def test_semicolon_csv_without_header_from_a_dutch_spreadsheet(db):
    network, coordinator, _ = make_network(db, members=0, editors=0)
    data = "Jan Jansen;jan2@praktijk.example;Praktijk;coördinator\r\n".encode("utf-8-sig")
    added = membership.import_members_csv(db, network, data, actor=coordinator)
    assert added[0].role == "coordinator"


def test_adding_a_person_twice_or_with_a_bad_address_is_refused(db):
    network, coordinator, people = make_network(db, members=1)
    with pytest.raises(Conflict):
        membership.add_member(db, network, name="X", email=people[0].person.email.upper(), organisation_name="",
                              role="member", actor=coordinator)
    with pytest.raises(InvalidInput):
        membership.add_member(db, network, name="X", email="x@", organisation_name="", role="member", actor=coordinator)
    with pytest.raises(InvalidInput):
        membership.add_member(db, network, name="X", email="x@example.org", organisation_name="", role="chef",
                              actor=coordinator)


def test_leaving_and_rejoining_keeps_the_history(db):
    network, coordinator, people = make_network(db, members=1)
    member = people[1]
    membership.remove_member(db, member, actor=coordinator)
    again = membership.add_member(db, network, name=member.person.name, email=member.person.email,
                                  organisation_name="", role="member", actor=coordinator)
    history = db.scalars(select(Membership).where(Membership.person_id == member.person_id,
                                                   Membership.network_id == network.id)).all()
    assert len(history) == 2 and history[0].left_at is not None and again.left_at is None


def test_a_stray_carriage_return_is_a_line_break_in_either_import_never_a_crash(db):
    # Python's CSV reader raises on a bare CR inside an unquoted field unless the file is read with newline="":
    # a sheet saved on an old Mac, or a name pasted from elsewhere, must be reported, not a 500.
    network, coordinator, _people = make_network(db, members=0, editors=0)
    before = count_members(db, network)
    with pytest.raises(CsvRejected) as error:
        membership.import_members_csv(db, network, b"naam,email,organisatie,rol\nAn\rna,a@example.org,Org,lid\n",
                                      actor=coordinator)
    assert [(line, code) for line, code, _value in error.value.params["problems"]] == [(2, "wrong_columns")]
    with pytest.raises(CsvRejected) as error:
        organisations.import_csv(db, network, b"organisatie;soort\nPraktijk\rWest;huisartsenpraktijk\n",
                                 actor=coordinator)
    assert error.value.params["problems"] and all(line in (2, 3) for line, _c, _v in error.value.params["problems"])
    assert count_members(db, network) == before
