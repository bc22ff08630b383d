"""The loop under the per-organisation rule, over HTTP with a real worker and SMTP: three organisations with two
representatives each and a colleague who only comments and suggests; one representative's akkoord counts for the
organisation and the other sees it; reminders go to the representatives of organisations without a verdict; the
rule cannot switch during the open round; finalising is refused until every organisation agrees."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import select

from storage.database.models import (
    AuditEvent,
    Document,
    MailMessage,
    Membership,
    Round,
    Substitution,
    Verdict,
    utcnow,
)
from tests.conftest import csrf_token
from tests.factories import fresh, unique
from tests.service.test_substitutes import local
from workflows.domain import membership, signin
from workflows.domain.wording import TIMEZONE

BASE = "http://localhost"
TEXT = b"# Samenwerkingsovereenkomst\n\nDe praktijken werken samen aan de zorg in de regio.\n\nDeze overeenkomst geldt voor twee jaar.\n"


def post(client, page: str, action: str, data: dict, **kwargs):
    """Like a person: load the page with the form, then press its button."""
    response = client.get(page)
    assert response.status_code == 200, page
    return client.post(action, data={"csrf_token": csrf_token(response.get_data(as_text=True)), **data}, **kwargs)


def signed_in(app, db, email: str):
    person = membership.get_or_create_person(db, name="x", email=email)
    token = signin.issue_link_token(db, person)
    db.commit()
    client = app.test_client()
    page = client.get(f"/signin/{token}")
    assert client.post(f"/signin/{token}", data={"csrf_token": csrf_token(page.get_data(as_text=True))}).status_code == 303
    return client


def review_client(app, link: str):
    """A member's browser that followed their personal link: (client, review page path)."""
    browser = app.test_client()
    response = browser.get(link[len(BASE):])
    assert response.status_code == 303
    return browser, response.headers["Location"]


def test_three_organisations_decide_through_their_representatives(app, db, mail_store, run_worker):
    tag = unique("org")
    coordinator = membership.get_or_create_person(db, name="Coördinator", email=f"coord-{tag}@example.org")
    network = membership.create_network(db, f"Huisartsenregio {tag}", coordinator=coordinator,
                                        coordinator_name="Cora Coördinator")
    db.commit()
    staff = signed_in(app, db, coordinator.email)
    network_page = f"/n/{network.id}"

    # The network decides per organisation; three practices, each with two representatives and a colleague.
    response = post(staff, network_page, f"{network_page}/decision-rule", {"rule": "organisation"})
    assert response.status_code == 303
    rows = ["naam,email,organisatie,rol"]
    people: dict[str, str] = {}
    for practice in "ABC":
        for who in ("rep1", "rep2", "collega"):
            email = f"{practice.lower()}-{who}-{tag}@example.org"
            people[f"{practice}-{who}"] = email
            rows.append(f"{who.title()} {practice},{email},Praktijk {practice} {tag},lid")
    response = post(staff, network_page, f"{network_page}/members/import",
                    {"file": (io.BytesIO("\n".join(rows).encode()), "leden.csv")}, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    fresh(db)
    members = {m.person.email: m for m in db.scalars(select(Membership).where(Membership.network_id == network.id))}
    people_by_id = {m.person_id: email for email, m in members.items()}
    for key, email in people.items():
        if "rep" in key:
            response = post(staff, network_page, f"{network_page}/members/{members[email].id}/representative",
                            {"representative": "1"})
            assert response.status_code == 303
    # The coordinator has no organisation: nobody can represent it, and she decides for herself.
    assert post(staff, network_page, f"{network_page}/members/{members[coordinator.email].id}/representative",
                {"representative": "1"}).status_code == 400
    page = staff.get(network_page).get_data(as_text=True)
    assert page.count('value="0"') == 6  # six representatives, each with the button that unmarks them

    response = post(staff, network_page, f"{network_page}/documents",
                    {"kind": "samenwerkingsovereenkomst", "title": "Regio-overeenkomst"})
    document_path = response.headers["Location"]
    response = post(staff, document_path, f"{document_path}/versions",
                    {"file": (io.BytesIO(TEXT), "concept.md"), "change_note": "Eerste concept"},
                    content_type="multipart/form-data")
    assert response.status_code == 303
    mail_store.clear()
    response = post(staff, document_path, f"{document_path}/rounds", {"deadline": "2099-01-01T12:00", "message": ""})
    assert response.status_code == 303
    round_path = response.headers["Location"]
    run_worker()
    invitations = mail_store.wait_for(lambda ms: len(ms) >= 10)
    links = {m.to[0]: next(link for link in m.links() if "/l/" in link) for m in invitations}
    assert set(links) == set(people.values()) | {coordinator.email}  # colleagues are invited to read and comment
    fresh(db)
    document = db.get(Document, int(document_path.rsplit("/", 1)[1]))
    round_ = db.scalar(select(Round).where(Round.document_id == document.id))
    assert round_.decision_rule == "organisation"

    # Switching the rule while the round is open is refused, for the document and for the network.
    refused = post(staff, document_path, f"{document_path}/decision-rule", {"rule": "person"})
    assert refused.status_code == 409
    refused = post(staff, network_page, f"{network_page}/decision-rule", {"rule": "person"})
    assert refused.status_code == 409
    fresh(db)
    assert db.get(Document, document.id).decision_rule is None and db.get(Round, round_.id).decision_rule == "organisation"

    # A's colleague comments and suggests niet akkoord: it counts for nothing, but A's representatives see it.
    colleague, colleague_page = review_client(app, links[people["A-collega"]])
    assert post(colleague, colleague_page, colleague_page + "comments",
                {"body": "Artikel 2 past niet bij onze praktijk."}).status_code == 303
    assert post(colleague, colleague_page, colleague_page + "verdict",
                {"value": "niet_akkoord", "reason": "Eerst artikel 2 aanpassen."}).status_code == 303
    a1, a1_page = review_client(app, links[people["A-rep1"]])
    seen = a1.get(a1_page).get_data(as_text=True)
    assert "Artikel 2 past niet bij onze praktijk." in seen and "Eerst artikel 2 aanpassen." in seen
    b1, b1_page = review_client(app, links[people["B-rep1"]])
    assert "Eerst artikel 2 aanpassen." not in b1.get(b1_page).get_data(as_text=True)  # another organisation's

    # A's first representative says akkoord; the second sees it, given on behalf of the practice.
    assert post(a1, a1_page, a1_page + "verdict", {"value": "akkoord", "reason": ""}).status_code == 303
    a2, a2_page = review_client(app, links[people["A-rep2"]])
    page = a2.get(a2_page).get_data(as_text=True)
    assert "Rep1 A" in page and f"Praktijk A {tag}" in page
    fresh(db)
    counted = db.scalar(select(Verdict).where(Verdict.round_id == round_.id, Verdict.suggestion.is_(False),
                                              Verdict.organisation_id.is_not(None)))
    assert counted.person_name == "Rep1 A" and counted.organisation_name == f"Praktijk A {tag}"
    suggestion = db.scalar(select(Verdict).where(Verdict.round_id == round_.id, Verdict.suggestion.is_(True)))
    assert suggestion.organisation_id is None and suggestion.person_name == "Collega A"

    # A reminder goes to the representatives of B and C and to the coordinator (a party of one): not to A, nor to
    # the colleagues.
    mail_store.clear()
    assert post(staff, round_path, f"{round_path}/remind", {"confirmed": "yes"}).status_code == 303
    run_worker()
    fresh(db)
    reminders = db.scalars(select(MailMessage).where(MailMessage.round_id == round_.id,
                                                     MailMessage.email == "reminder")).all()
    reminded = {people_by_id[m.person_id] for m in reminders}
    assert reminded == {people["B-rep1"], people["B-rep2"], people["C-rep1"], people["C-rep2"], coordinator.email}
    assert reminded <= {m.to[0] for m in mail_store.wait_for(lambda ms: len(ms) >= 7)}  # delivered

    # Not final yet: B and C (and the coordinator) have not agreed.
    version_id = str(round_.version_id)
    refused = post(staff, document_path, f"{document_path}/finalise", {"version_id": version_id})
    assert refused.status_code == 409
    assert f"Praktijk B {tag}" in refused.get_data(as_text=True)

    # B and C agree through one representative each; the coordinator for herself; C's colleague's suggestion
    # against does not block.
    for key, value in (("B-rep2", "akkoord"), ("C-rep1", "akkoord_met_opmerkingen"), ("C-collega", "niet_akkoord")):
        browser, path = review_client(app, links[people[key]])
        assert post(browser, path, path + "verdict", {"value": value, "reason": "Zie opmerking."}).status_code == 303
    coordinator_browser, coordinator_page = review_client(app, links[coordinator.email])
    assert post(coordinator_browser, coordinator_page, coordinator_page + "verdict",
                {"value": "akkoord", "reason": ""}).status_code == 303

    # The last verdict among an organisation's representatives counts: A's second representative changes it.
    assert post(a2, a2_page, a2_page + "verdict", {"value": "niet_akkoord", "reason": "Toch niet."}).status_code == 303
    assert post(staff, document_path, f"{document_path}/finalise", {"version_id": version_id}).status_code == 409
    assert "Toch niet." in a1.get(a1_page).get_data(as_text=True)
    assert post(a1, a1_page, a1_page + "verdict", {"value": "akkoord", "reason": ""}).status_code == 303

    # The document page shows the organisations × rounds, each with who gave its verdict.
    page = staff.get(document_path).get_data(as_text=True)
    assert f"Praktijk A {tag}" in page and "Rep1 A" in page and "Rep2 B" in page

    mail_store.clear()
    response = post(staff, document_path, f"{document_path}/finalise", {"version_id": version_id, "confirmed": "yes"})
    assert response.status_code == 303
    fresh(db)
    assert db.get(Document, document.id).status == "final"
    event = db.scalar(select(AuditEvent).where(AuditEvent.kind == "document_finalised",
                                               AuditEvent.document_id == document.id))
    approvals = event.data["approvals"]
    assert len(approvals) == 4 and sum(1 for a in approvals if "organisation_id" in a) == 3
    assert {db.get(Verdict, a["verdict_id"]).person_name for a in approvals} == {"Rep1 A", "Rep2 B", "Rep1 C",
                                                                                "Cora Coördinator"}
    # Once the document had a round its rule is fixed.
    assert post(staff, document_path, f"{document_path}/decision-rule", {"rule": "person"}).status_code == 409
    run_worker()
    finals = mail_store.wait_for(lambda ms: len(ms) >= 10)
    assert {m.to[0] for m in finals} == set(links)
    fresh(db)
    # Every mail went out, among them the confirmations that say on whose behalf (or that it was a suggestion).
    assert db.scalars(select(MailMessage.status).where(MailMessage.network_id == network.id)).all()
    assert set(db.scalars(select(MailMessage.status).where(MailMessage.network_id == network.id))) == {"sent"}


def test_a_substitute_decides_an_organisation_that_leaves_unblocks_and_one_that_joins_is_invited(
        app, db, mail_store, run_worker):
    """The register and the substitutes in the per-organisation loop: A's representative is away and a colleague
    stands in (namens, in the evidence and the dossier); C never answers and leaves the network by a decision of
    the general meeting, which unblocks finalising; D joins mid-round, is invited and decides."""
    tag = unique("reg")
    coordinator = membership.get_or_create_person(db, name="Coördinator", email=f"coord-{tag}@example.org")
    network = membership.create_network(db, f"Zorgnetwerk {tag}", coordinator=coordinator,
                                        coordinator_name="Cora Coördinator")
    db.commit()
    staff = signed_in(app, db, coordinator.email)
    network_page = f"/n/{network.id}"
    assert post(staff, network_page, f"{network_page}/decision-rule", {"rule": "organisation"}).status_code == 303
    people = {key: f"{key.lower()}-{tag}@example.org" for key in ("A-rep", "A-collega", "B-rep", "C-rep")}
    rows = ["naam,email,organisatie,rol"] + [f"{key.replace('-', ' ').title()},{email},Org {key[0]} {tag},lid"
                                             for key, email in people.items()]
    assert post(staff, network_page, f"{network_page}/members/import",
                {"file": (io.BytesIO("\n".join(rows).encode()), "leden.csv")},
                content_type="multipart/form-data").status_code == 303
    fresh(db)
    members = {m.person.email: m for m in db.scalars(select(Membership).where(Membership.network_id == network.id))}
    for key in ("A-rep", "B-rep", "C-rep"):
        assert post(staff, network_page, f"{network_page}/members/{members[people[key]].id}/representative",
                    {"representative": "1"}).status_code == 303

    response = post(staff, network_page, f"{network_page}/documents", {"kind": "visiedocument", "title": "Visie"})
    document_path = response.headers["Location"]
    assert post(staff, document_path, f"{document_path}/versions", {"file": (io.BytesIO(TEXT), "visie.md")},
                content_type="multipart/form-data").status_code == 303
    response = post(staff, document_path, f"{document_path}/rounds", {"deadline": "2099-01-01T12:00", "message": ""})
    round_path = response.headers["Location"]
    run_worker()
    links = {m.to[0]: next(link for link in m.links() if "/l/" in link)
             for m in mail_store.wait_for(lambda ms: len(ms) >= 5)}
    document_id = int(document_path.rsplit("/", 1)[1])

    # A's representative is away: the coordinator names the colleague as substitute for a week.
    mail_store.clear()
    substitutes_page = f"{network_page}/substitutes"
    now = utcnow()
    response = post(staff, substitutes_page, substitutes_page, {
        "absent": str(members[people["A-rep"]].id), "substitute": str(members[people["A-collega"]].id),
        "starts_at": local(now), "ends_at": local(now + dt.timedelta(days=7))})
    assert response.status_code == 303
    run_worker()
    told = mail_store.wait_for(lambda ms: {people["A-rep"], people["A-collega"]} <= {m.to[0] for m in ms})
    assert {m.to[0] for m in told} >= {people["A-rep"], people["A-collega"]}
    fresh(db)
    [substitution] = db.scalars(select(Substitution).where(Substitution.network_id == network.id)).all()
    colleague, colleague_page = review_client(app, links[people["A-collega"]])
    page = colleague.get(colleague_page).get_data(as_text=True)
    token = csrf_token(page)
    prefix = f"namens{substitution.id}"
    response = colleague.post(f"{colleague_page}namens/{substitution.id}", data={
        "csrf_token": token, f"{prefix}-csrf_token": token, f"{prefix}-value": "akkoord", f"{prefix}-reason": ""})
    assert response.status_code == 303
    for key in ("B-rep",):
        browser, path = review_client(app, links[people[key]])
        assert post(browser, path, path + "verdict", {"value": "akkoord", "reason": ""}).status_code == 303
    browser, path = review_client(app, links[coordinator.email])
    assert post(browser, path, path + "verdict", {"value": "akkoord", "reason": ""}).status_code == 303
    fresh(db)
    for_a = db.scalar(select(Verdict).where(Verdict.substitution_id == substitution.id))
    assert (for_a.person_name, for_a.on_behalf_of_name, for_a.suggestion) == ("A Collega", "A Rep", False)
    assert for_a.organisation_name == f"Org A {tag}" and for_a.organisation_id is not None
    round_page = staff.get(round_path).get_data(as_text=True)
    assert "A Collega" in round_page and "namens" in round_page and "A Rep" in round_page

    # C has not answered: not final. The general meeting decides C leaves: that unblocks it, and C is told.
    round_ = db.scalar(select(Round).where(Round.document_id == document_id))
    version_id = str(round_.version_id)
    refused = post(staff, document_path, f"{document_path}/finalise", {"version_id": version_id})
    assert refused.status_code == 409 and f"Org C {tag}" in refused.get_data(as_text=True)
    org_c = members[people["C-rep"]].organisation_id
    register = f"{network_page}/organisations"
    mail_store.clear()
    today = utcnow().astimezone(TIMEZONE).date().isoformat()
    assert post(staff, register, f"{register}/{org_c}/leave",
                {"on": today, "reference": "ALV 3 december, besluit 4"}).status_code == 303
    run_worker()
    assert people["C-rep"] in {m.to[0] for m in mail_store.wait_for(lambda ms: len(ms) >= 1)}

    # D joins mid-round: its person is invited to the open round, and D must decide too before it is final.
    mail_store.clear()
    assert post(staff, register, register, {"name": f"Org D {tag}", "kind": "patientenorganisatie", "has_vote": "y",
                                            "joined_on": today, "joined_reference": "ALV 3 december, besluit 5"}
                ).status_code == 303
    d_email = f"d-rep-{tag}@example.org"
    assert post(staff, network_page, f"{network_page}/members", {"name": "D Rep", "email": d_email,
                                                                 "organisation": f"Org D {tag}", "role": "member"}
                ).status_code == 303
    run_worker()
    [invitation] = [m for m in mail_store.wait_for(lambda ms: any(m.to[0] == d_email for m in ms)) if m.to[0] == d_email]
    assert post(staff, document_path, f"{document_path}/finalise", {"version_id": version_id}).status_code == 409
    fresh(db)
    d_member = db.scalar(select(Membership).where(Membership.network_id == network.id,
                                                  Membership.organisation_id.is_not(None),
                                                  Membership.name == "D Rep"))
    assert post(staff, network_page, f"{network_page}/members/{d_member.id}/representative",
                {"representative": "1"}).status_code == 303
    browser, path = review_client(app, next(link for link in invitation.links() if "/l/" in link))
    assert post(browser, path, path + "verdict", {"value": "akkoord", "reason": ""}).status_code == 303
    assert post(staff, document_path, f"{document_path}/finalise",
                {"version_id": version_id, "confirmed": "yes"}).status_code == 303

    # The dossier says who gave A's verdict, on whose behalf, and that C left and stopped counting.
    run_worker()
    dossier = staff.get(f"/d/{document_id}/dossier.json")
    assert dossier.status_code == 200
    [round_entry] = dossier.get_json()["rounds"]
    by_name = {o["name"]: o for o in round_entry["organisations"]}
    a_verdicts = [v for p in by_name[f"Org A {tag}"]["people"] for v in p["verdicts"] if v["id"] == for_a.id]
    assert a_verdicts and a_verdicts[0]["on_behalf_of"]["name"] == "A Rep"
    assert by_name[f"Org A {tag}"]["verdict_id"] == for_a.id
    assert all(p["removed_at"] for p in by_name[f"Org C {tag}"]["people"])
    assert by_name[f"Org D {tag}"]["verdict_id"] is not None
