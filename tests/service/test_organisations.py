"""The register of organisations (toe- en uittreding), its .xlsx, the CSV import of organisations and their people,
and the network's own record with its warnings — over HTTP, with a real worker and SMTP server."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from storage.database.models import AuditEvent, MailMessage, Membership, Network, Organisation, Participant
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.service.test_staff_pages import signed_in, submit
from workflows.domain import membership, organisations, rounds
from workflows.errors import Conflict


def today() -> str:
    return organisations.today().isoformat()


@pytest.fixture
def network_in_round(app, db):
    """A network with two organisations of two members each, and a document in an open round."""
    network, coordinator, people = make_network(db, members=4)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    return network, coordinator, people, round_


def org_of(db, name: str, network_id: int) -> Organisation:
    return db.scalar(select(Organisation).where(Organisation.network_id == network_id, Organisation.name == name))


def test_an_organisation_that_leaves_mid_round_stops_counting_and_its_people_are_told(
        app, db, network_in_round, run_worker, mail_store):
    network, coordinator, people, round_ = network_in_round
    run_worker()  # the invitations
    leaving = people[1].organisation  # members 0 and 2 of "Organisatie 0", with the editor
    staying = [m for m in people if m.organisation_id != leaving.id]
    gone = [m for m in people if m.organisation_id == leaving.id]
    assert len(gone) >= 2 and staying
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/organisations"
    response = submit(client, page, f"{page}/{leaving.id}/leave", {"on": today(), "reference": "ALV 3 maart, besluit 7"})
    assert response.status_code == 303
    fresh(db)
    # Its people stopped counting in the open round, and their links died with their membership.
    for member in gone:
        assert participant(db, round_, member).removed_at is not None
        assert db.get(Membership, member.id).left_at is not None
    for member in staying:
        assert participant(db, round_, member).removed_at is None
    organisation = db.get(Organisation, leaving.id)
    assert organisation.left_at is not None and organisation.left_reference == "ALV 3 maart, besluit 7"
    # Each of them is told by mail, naming the organisation and the round they no longer take part in.
    run_worker()
    addresses = {m.person.email for m in gone}
    mails = mail_store.wait_for(lambda ms: addresses <= {a for m in ms if leaving.name in m.subject for a in m.to})
    told = next(m for m in mails if m.to == [gone[0].person.email] and leaving.name in m.subject)
    assert "ALV 3 maart, besluit 7" in told.text_body() and round_.document.title in told.text_body()
    fresh(db)
    assert db.scalar(select(func.count()).select_from(MailMessage).where(
        MailMessage.email == "organisation_left", MailMessage.status == "sent",
        MailMessage.network_id == network.id)) == len(gone)
    # In the audit trail, and shown in the register.
    kinds = set(db.scalars(select(AuditEvent.kind).where(AuditEvent.network_id == network.id)))
    assert {"organisation_left", "member_left"} <= kinds
    listed = client.get(page).get_data(as_text=True)
    assert "ALV 3 maart, besluit 7" in listed
    # Leaving twice is refused; and nobody is added to an organisation that left.
    again = submit(client, page, f"{page}/{leaving.id}/leave", {"on": today(), "reference": ""})
    assert again.status_code == 409
    fresh(db)
    with pytest.raises(Conflict):
        membership.add_member(db, db.get(Network, network.id), name="Nieuw", email="nieuw-na-vertrek@example.org",
                              organisation_name=leaving.name, role="member", actor=coordinator)
    db.rollback()


def test_a_coordinator_cannot_record_the_leaving_of_their_own_organisation(app, db, network_in_round):
    network, coordinator, _people, _round = network_in_round
    own = membership.get_or_create_organisation(db, network, "Eigen organisatie", coordinator)
    membership.add_member(db, network, name="Collega", email=f"collega-{network.id}@example.org",
                          organisation_name=own.name, role="member", actor=coordinator)
    db.scalar(select(Membership).where(Membership.network_id == network.id,
                                       Membership.person_id == coordinator.id)).organisation_id = own.id
    db.commit()
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/organisations"
    response = submit(client, page, f"{page}/{own.id}/leave", {"on": today(), "reference": ""})
    assert response.status_code == 409
    fresh(db)
    assert db.get(Organisation, own.id).left_at is None


def test_an_organisation_that_joins_has_its_people_invited_to_the_open_round(
        app, db, network_in_round, run_worker, mail_store):
    network, coordinator, _people, round_ = network_in_round
    run_worker()
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/organisations"
    response = submit(client, page, page, {"name": "Apotheek Centrum", "kind": "apotheek", "has_vote": "y",
                                           "joined_on": today(), "joined_reference": "Bestuursbesluit 2026-04"})
    assert response.status_code == 303
    fresh(db)
    joined = org_of(db, "Apotheek Centrum", network.id)
    assert joined.kind == "apotheek" and joined.has_vote and joined.joined_at is not None
    assert joined.joined_reference == "Bestuursbesluit 2026-04"
    # A person added to the joining organisation is invited to the open round.
    response = submit(client, f"/n/{network.id}", f"/n/{network.id}/members",
                      {"name": "Eva Smit", "email": f"eva-{network.id}@apotheek.example",
                       "organisation": "Apotheek Centrum", "role": "member"})
    assert response.status_code == 303
    run_worker()
    mail_store.wait_for(lambda ms: any(m.to == [f"eva-{network.id}@apotheek.example"] for m in ms))
    fresh(db)
    eva = db.scalar(select(Membership).where(Membership.network_id == network.id, Membership.name == "Eva Smit"))
    assert participant(db, round_, eva).removed_at is None and eva.organisation_id == joined.id
    # An organisation that left and joins again: its people who are members again are invited once more.
    submit(client, page, f"{page}/{joined.id}/leave", {"on": today(), "reference": "uittreding"})
    fresh(db)
    assert participant(db, round_, eva).removed_at is not None
    submit(client, page, f"{page}/{joined.id}/join", {"on": today(), "reference": "opnieuw toegetreden"})
    fresh(db)
    rejoined = db.get(Organisation, joined.id)
    assert rejoined.left_at is None and rejoined.joined_reference == "opnieuw toegetreden"
    kinds = list(db.scalars(select(AuditEvent.kind).where(AuditEvent.network_id == network.id)))
    assert kinds.count("organisation_joined") == 2 and "organisation_left" in kinds


def test_joining_invites_its_members_not_yet_in_the_round(app, db, network_in_round, run_worker, mail_store):
    network, coordinator, _people, round_ = network_in_round
    practice = organisations.add_organisation(db, network, name="Praktijk De Wijk", kind="huisartsenpraktijk",
                                              has_vote=True, joined_on=None, joined_reference="", actor=coordinator)
    dirk = membership.add_member(db, network, name="Dirk Visser", email=f"dirk-{network.id}@wijk.example",
                                 organisation_name=practice.name, role="member", actor=coordinator)
    # He stopped taking part (as if the round had been opened before he came): joining brings him in again.
    participant(db, round_, dirk).removed_at = organisations.utcnow()
    db.commit()
    run_worker()
    mail_store.clear()
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/organisations"
    response = submit(client, page, f"{page}/{practice.id}/join", {"on": today(), "reference": "besluit 9"})
    assert response.status_code == 303
    run_worker()
    mail_store.wait_for(lambda ms: any(m.to == [dirk.person.email] for m in ms))
    fresh(db)
    assert participant(db, round_, dirk).removed_at is None


def test_a_date_in_the_future_and_an_unknown_kind_are_refused(app, db, network_in_round):
    network, coordinator, _people, _round = network_in_round
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/organisations"
    later = (organisations.today() + dt.timedelta(days=3)).isoformat()
    assert submit(client, page, page, {"name": "Later", "kind": "apotheek", "joined_on": later}).status_code == 400
    assert submit(client, page, page, {"name": "Raar", "kind": "koning"}).status_code == 400
    # Year 1 once overflowed the time zone into a 500; before 1900 is a typing mistake, said in Dutch.
    early = submit(client, page, page, {"name": "Vroeg", "kind": "apotheek", "joined_on": "0001-01-01"})
    assert early.status_code == 400 and "1 januari 1900" in early.get_data(as_text=True)
    fresh(db)
    assert all(org_of(db, name, network.id) is None for name in ("Later", "Raar", "Vroeg"))


def test_the_register_downloads_as_xlsx_with_its_rows(app, db, network_in_round):
    network, coordinator, _people, _round = network_in_round
    organisations.add_organisation(db, network, name="=Patiëntenvereniging Noord", kind="patientenorganisatie",
                                   has_vote=True, joined_on=dt.date(2025, 1, 15), joined_reference="ALV 15-01-2025",
                                   actor=coordinator)
    leaving = organisations.add_organisation(db, network, name="Gemeente Oost", kind="gemeente", has_vote=False,
                                             joined_on=dt.date(2025, 2, 1), joined_reference="", actor=coordinator)
    organisations.record_leaving(db, leaving, on=dt.date(2025, 6, 30), reference="Raadsbesluit 12", actor=coordinator)
    db.commit()
    client = signed_in(app, db, coordinator)
    response = client.get(f"/n/{network.id}/organisations.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "Register_" in disposition and ".xlsx" in disposition
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(rows) == 1 + db.scalar(select(func.count()).select_from(Organisation).where(
        Organisation.network_id == network.id))
    by_name = {row[0]: row for row in rows[1:]}
    patients = by_name["=Patiëntenvereniging Noord"]  # text, never a formula
    assert patients[3] == "2025-01-15" and patients[4] == "ALV 15-01-2025" and patients[5] in (None, "")
    municipality = by_name["Gemeente Oost"]
    assert municipality[3] == "2025-02-01" and municipality[5] == "2025-06-30" and municipality[6] == "Raadsbesluit 12"
    assert rows[-1][0] == "Gemeente Oost"  # those who left come last
    # An editor may read it too; a member's link opens nothing of it.
    assert client.get(f"/n/{network.id}/organisations").status_code == 200


CSV_GOOD = """organisatie;soort;stem;toegetreden;besluit;naam;email;rol;vertegenwoordiger
Patiëntenvereniging Noord;patiëntenorganisatie;ja;15-01-2026;ALV 15-01-2026 besluit 3;Anna de Vries;anna-{n}@pv.example;lid;ja
Patiëntenvereniging Noord;;;;;Carla Bakker;carla-{n}@pv.example;lid;nee
Expertisecentrum UMC Noord;expertisecentrum;ja;2026-01-20;;Bram Jansen;bram-{n}@umc.example;lid;ja
Zorgverzekeraar Noord;zorgverzekeraar;nee;;;;;;
"""


def test_the_csv_import_adds_organisations_and_representatives_and_invites_them(
        app, db, network_in_round, run_worker, mail_store):
    network, coordinator, _people, round_ = network_in_round
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/organisations"
    data = CSV_GOOD.format(n=network.id).encode()
    response = submit(client, page, f"{page}/import", {"file": (io.BytesIO(data), "organisaties.csv")},
                      content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    fresh(db)
    patients = org_of(db, "Patiëntenvereniging Noord", network.id)
    assert patients.kind == "patientenorganisatie" and patients.joined_reference == "ALV 15-01-2026 besluit 3"
    assert patients.joined_at.astimezone(organisations.TIMEZONE).date() == dt.date(2026, 1, 15)
    insurer = org_of(db, "Zorgverzekeraar Noord", network.id)
    assert insurer.kind == "zorgverzekeraar" and not insurer.has_vote
    anna = db.scalar(select(Membership).where(Membership.network_id == network.id, Membership.name == "Anna de Vries"))
    carla = db.scalar(select(Membership).where(Membership.network_id == network.id, Membership.name == "Carla Bakker"))
    assert anna.representative and not carla.representative and anna.organisation_id == patients.id
    assert anna.role == "member"
    run_worker()
    mail_store.wait_for(lambda ms: any(m.to == [f"bram-{network.id}@umc.example"] for m in ms))
    assert participant(db, round_, anna) is not None
    assert "organisations_imported" in set(db.scalars(select(AuditEvent.kind).where(
        AuditEvent.network_id == network.id)))


def test_a_csv_with_a_bad_line_changes_nothing_and_names_every_problem(app, db, network_in_round):
    network, coordinator, people, _round = network_in_round

    def state():
        fresh(db)
        return (db.scalar(select(func.count()).select_from(Organisation).where(Organisation.network_id == network.id)),
                db.scalar(select(func.count()).select_from(Membership).where(Membership.network_id == network.id)),
                db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.network_id == network.id)))

    before = state()
    n, dup = network.id, people[0].person.email
    bad = CSV_GOOD.format(n=n) + (
        f"Apotheek Centrum;koning;ja;;;Eva;eva-{n}@x.example;lid;ja\n"  # line 6: unknown kind
        "Huisartsenpost;huisartsenpost;misschien;32-13-2026;;Piet;geen-adres;lid;ja\n"  # line 7: vote, date, address
        f"Gemeente;gemeente;ja;;;Waarnemer;w-{n}@x.example;waarnemer;ja\n"  # line 8: an observer cannot represent
        f"Nieuwe Stichting;;ja;;;Kees;{dup};lid;nee\n"  # line 9: no kind; already a member
    )
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/organisations"
    response = submit(client, page, f"{page}/import", {"file": (io.BytesIO(bad.encode()), "organisaties.csv")},
                      content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    for line in (6, 7, 8, 9):
        assert f"Regel {line}" in text
    for line in (2, 3, 4, 5):
        assert f"Regel {line}:" not in text
    assert "koning" in text and "misschien" in text and "32-13-2026" in text and "geen-adres" in text
    assert state() == before
    # A file without the header line, or with columns nobody knows, is refused as a whole.
    for data in ("Org;apotheek\n", "organisatie;kleur\nOrg;rood\n"):
        response = submit(client, page, f"{page}/import", {"file": (io.BytesIO(data.encode()), "x.csv")},
                          content_type="multipart/form-data")
        assert response.status_code == 400 and "Regel 1" in response.get_data(as_text=True)
    assert state() == before


def test_the_record_is_saved_and_warns_but_never_blocks(app, db, network_in_round):
    network, coordinator, people, _round = network_in_round
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/record"
    first = client.get(page).get_data(as_text=True)
    assert 'id="record-warnings"' in first  # no board yet
    response = submit(client, page, page, {"purpose": "Goede zorg voor mensen met een zeldzame aandoening.",
                                           "target_group": "Patiënten en hun naasten in Noord-Nederland.",
                                           "privacy_statement": "Wij bewaren uw naam en e-mailadres.\nZie ook ..."})
    assert response.status_code == 303
    # Two board members from organisations of kind "other", one without a discipline: every check warns.
    for member, discipline in ((people[1], "huisarts"), (people[2], "")):
        response = submit(client, page, f"/n/{network.id}/board", {"membership_id": str(member.id),
                                                                   "discipline": discipline})
        assert response.status_code == 303
    fresh(db)
    stored = db.get(Network, network.id)
    assert stored.purpose.startswith("Goede zorg") and "\n" in stored.privacy_statement
    assert db.get(Membership, people[1].id).board and db.get(Membership, people[1].id).discipline == "huisarts"
    listed = client.get(page).get_data(as_text=True)
    warnings = listed.split('id="record-warnings"', 1)[1].split("</section>", 1)[0]
    assert warnings.count("<li>") == 4  # no patiëntenorganisatie, no expertisecentrum, fewer than 4, no discipline
    assert people[2].name in warnings
    # Unequal disciplines warn as well; nothing refuses the save.
    fresh(db)
    patients = organisations.add_organisation(db, db.get(Network, network.id), name="PV", kind="patientenorganisatie",
                                              has_vote=True, joined_on=None, joined_reference="", actor=coordinator)
    centre = organisations.add_organisation(db, db.get(Network, network.id), name="EC", kind="expertisecentrum",
                                            has_vote=True, joined_on=None, joined_reference="", actor=coordinator)
    extra = [membership.add_member(db, db.get(Network, network.id), name=f"Bestuur {i}",
                                   email=f"bestuur{i}-{network.id}@example.org",
                                   organisation_name=(patients if i % 2 else centre).name, role="member",
                                   actor=coordinator) for i in range(3)]
    db.commit()
    for member, discipline in zip(extra, ("huisarts", "apotheker", "huisarts"), strict=True):
        assert submit(client, page, f"/n/{network.id}/board", {"membership_id": str(member.id),
                                                               "discipline": discipline}).status_code == 303
    assert submit(client, page, f"/n/{network.id}/board/{people[2].id}/remove", {}).status_code == 303
    listed = client.get(page).get_data(as_text=True)
    warnings = listed.split('id="record-warnings"', 1)[1].split("</section>", 1)[0]
    assert warnings.count("<li>") == 1 and "apotheker 1" in warnings and "huisarts 3" in warnings
    # Said to be a zorgnetwerk's kerngroep, the bestuur's checks (four people, equal disciplines) no longer apply.
    assert submit(client, page, page, {"purpose": "Goede zorg.", "target_group": "", "privacy_statement": "",
                                       "board_kind": "kerngroep"}).status_code == 303
    assert 'id="record-warnings"' not in client.get(page).get_data(as_text=True)
    assert submit(client, page, f"/n/{network.id}/board/{people[1].id}/remove", {}).status_code == 303
    assert submit(client, page, f"/n/{network.id}/board/{extra[2].id}/remove", {}).status_code == 303
    assert 'id="record-warnings"' not in client.get(page).get_data(as_text=True)  # two people: fine for a kerngroep
    assert submit(client, page, page, {"purpose": "Goede zorg.", "target_group": "", "privacy_statement": "",
                                       "board_kind": "bestuur"}).status_code == 303
    assert "minstens 4" in client.get(page).get_data(as_text=True)
    fresh(db)
    assert db.get(Network, network.id).board_kind == "bestuur"
    kinds = list(db.scalars(select(AuditEvent.kind).where(AuditEvent.network_id == network.id)))
    assert "network_record_changed" in kinds and kinds.count("board_changed") == 8


def test_members_see_the_privacy_statement_on_their_review_page(app, db, network_in_round):
    network, coordinator, people, round_ = network_in_round
    link = rounds.mint_link(db, participant(db, round_, people[1]).id)
    db.commit()
    member = app.test_client()
    assert member.get(f"/l/{link}").status_code == 303
    mine = participant(db, round_, people[1])
    assert 'id="privacy"' not in member.get(f"/review/{mine.id}/").get_data(as_text=True)
    fresh(db)
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/record"
    assert submit(client, page, page, {"purpose": "", "target_group": "",
                                       "privacy_statement": "Uw gegevens blijven binnen het netwerk."}
                  ).status_code == 303
    review = member.get(f"/review/{mine.id}/").get_data(as_text=True)  # the cached page is not reused
    assert 'id="privacy"' in review and "Uw gegevens blijven binnen het netwerk." in review
    assert "<details" in review and "style=" not in review.split('id="privacy"', 1)[1].split("</details>", 1)[0]


def test_an_editor_reads_the_register_and_record_but_changes_nothing(app, db, network_in_round):
    network, _coordinator, people, _round = network_in_round
    editor = people[0]
    assert editor.role == "editor"
    client = signed_in(app, db, editor.person)
    for page in (f"/n/{network.id}/organisations", f"/n/{network.id}/record"):
        assert client.get(page).status_code == 200
    response = submit(client, f"/n/{network.id}/record", f"/n/{network.id}/record",
                      {"purpose": "Niet van mij", "target_group": "", "privacy_statement": ""})
    assert response.status_code == 403
    fresh(db)
    assert db.get(Network, network.id).purpose == ""
    assert db.scalar(select(func.count()).select_from(Participant).where(Participant.round_id == _round.id)) > 0
