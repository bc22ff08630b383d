"""A regional GP organisation of 280 huisartsenpraktijken (1–5 GPs each, one or two representatives) decides per
organisation and reaches definitief in one round through the JSON API, on real parts: the members, the
representatives, the rule, the document and the round through the API; every invitation delivered over SMTP by a
real worker; each practice answers once through its representatives' personal round tokens (taken from the mail
that arrived); colleagues suggest and comment; finalising is refused while one practice lacks a verdict; the final
mail reaches everyone; the evidence dossier lists every practice with the verdict that counts."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import re
import time

import pytest

from storage.database.models import utcnow
from tests.api.conftest import auth
from tests.factories import unique

API = "/api/v1"
BASE = "http://localhost"
PRACTICES = 280
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEXT = (b"# Regionale samenwerkingsafspraken huisartsenzorg\n\n"
        b"## Artikel 1 Doel\n\nDe praktijken in de regio werken samen aan toegankelijke huisartsenzorg.\n\n"
        b"## Artikel 2 Avond- en weekenddiensten\n\nDe praktijken nemen naar rato deel aan de diensten van de "
        b"huisartsenpost.\n\n## Artikel 3 Looptijd\n\nDeze afspraken gelden voor drie jaar.\n")

FIRST_NAMES = ("Anne", "Bram", "Carlijn", "Daan", "Eline", "Femke", "Gijs", "Hanneke", "Ilse", "Jeroen", "Karin",
               "Lotte", "Maarten", "Noor", "Olaf", "Pieter", "Renée", "Sanne", "Thijs", "Ursula", "Vincent",
               "Willemijn", "Xander", "Yvonne", "Zoë", "Joost", "Marloes", "Sjoerd", "Fenna", "Wouter")
SURNAMES = ("de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder",
            "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra",
            "Smits", "de Graaf", "van der Meer", "van der Linden", "Kok", "Jacobs", "de Haan", "Vermeulen",
            "van Dijk", "Schouten", "Hoekstra", "Verhoeven", "Koster", "Prins", "Huisman", "Kuipers", "Postma")
PLACES = ("Almkerk", "Breda", "Chaam", "Dongen", "Etten-Leur", "Fijnaart", "Gilze", "Hoeven", "Klundert",
          "Lage Zwaluwe", "Made", "Nispen", "Oosterhout", "Prinsenbeek", "Rijen", "Standdaarbuiten", "Teteringen",
          "Ulvenhout", "Wagenberg", "Zevenbergen", "Baarle-Nassau", "Roosendaal", "Terheijden", "Willemstad",
          "Zundert")
TREES = ("De Linde", "De Eik", "De Kastanje", "Het Anker", "De Vlonder", "De Wilg", "Het Baken", "De Berk",
         "De Esch", "Het Kompas", "De Hoeve", "De Brug", "Zuiderhof")


def ascii_part(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower().replace("é", "e").replace("ë", "e"))


def build_region(seed: int, tag: str) -> list[dict]:
    """The practices, deterministically: name, GPs (name, email) and how many of them represent the practice."""
    rng = random.Random(seed)
    names = [f"Huisartsenpraktijk {tree} {place}" for place in PLACES for tree in TREES]
    rng.shuffle(names)
    practices = []
    for number, name in enumerate(sorted(names[:PRACTICES]), start=1):
        size = rng.randint(1, 5)
        gps = []
        for i in range(size):
            first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
            gps.append({"name": f"{first} {last}",
                        "email": f"{ascii_part(first)}.{ascii_part(last)}.{number}.{i}-{tag}@praktijk.example.nl"})
        practices.append({"name": name, "gps": gps, "representatives": 2 if size >= 2 and rng.random() < 0.5 else 1})
    return practices


def all_items(client, path: str, headers: dict) -> list[dict]:
    """Every item of a paginated list, following its `next` links."""
    items, url = [], f"{API}{path}?limit=200"
    while url:
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200, answer.get_json()
        items += answer.get_json()["items"]
        url = answer.get_json()["next"]
    return items


@pytest.mark.slow
def test_280_practices_reach_definitief_through_the_api(app, client, db, mail_store, run_worker):
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        timings[name] = time.perf_counter() - started - sum(timings.values())

    tag = unique("regio")
    practices = build_region(20240611, tag)
    assert len({p["name"] for p in practices}) == PRACTICES
    assert {len(p["gps"]) for p in practices} == {1, 2, 3, 4, 5} and {p["representatives"] for p in practices} == {1, 2}
    gp_count = sum(len(p["gps"]) for p in practices)

    # The API has no operation to create a network or a first token: the CLI makes both, as an operator would.
    runner = app.test_cli_runner()
    coordinator_email = f"coordinator-{tag}@rho-regio.example.nl"
    made = runner.invoke(args=["create-network", f"Regionale Huisartsenorganisatie West-Brabant {tag}",
                               "--coordinator-name", "Marieke van Oosterhout", "--coordinator-email", coordinator_email])
    assert made.exit_code == 0, made.output
    n = int(re.search(r"network (\d+) created", made.output).group(1))
    made = runner.invoke(args=["make-api-token", "--network", str(n), "--email", coordinator_email,
                               "--role", "coordinator", "--name", "regioscenario"])
    assert made.exit_code == 0, made.output
    headers = auth(made.output.strip())

    answer = client.put(f"{API}/networks/{n}/decision-rule", json={"rule": "organisation"}, headers=headers)
    assert answer.status_code == 200 and answer.get_json()["decision_rule"] == "organisation"

    # Every GP in one CSV import (all or nothing), then the representatives one by one.
    rows = ["naam,email,organisatie,rol"] + [f"{gp['name']},{gp['email']},{p['name']},lid"
                                             for p in practices for gp in p["gps"]]
    imported = client.post(f"{API}/networks/{n}/members/import", data="\n".join(rows).encode(),
                           headers={**headers, "Content-Type": "text/csv"})
    assert imported.status_code == 201, imported.get_json()
    assert imported.get_json()["imported"] == gp_count
    member_of = {m["person"]["email"]: m for m in imported.get_json()["members"]}
    organisation_ids = {}
    for practice in practices:
        for gp in practice["gps"]:
            gp["membership_id"] = member_of[gp["email"]]["id"]
            organisation_ids[practice["name"]] = member_of[gp["email"]]["organisation"]["id"]
        for gp in practice["gps"][:practice["representatives"]]:
            marked = client.put(f"{API}/members/{gp['membership_id']}/representative", json={"representative": True},
                                headers=headers)
            assert marked.status_code == 200 and marked.get_json()["representative"] is True
    # The members' import makes organisations of kind "anders": the register's operation marks them practices.
    for organisation_id in organisation_ids.values():
        changed = client.put(f"{API}/organisations/{organisation_id}", headers=headers,
                             json={"kind": "huisartsenpraktijk", "has_vote": True})
        assert changed.status_code == 200 and changed.get_json()["kind"] == "huisartsenpraktijk"
    listed = all_items(client, f"/networks/{n}/organisations", headers)
    assert len(listed) == PRACTICES and {o["kind"] for o in listed} == {"huisartsenpraktijk"}
    lap("members, representatives, register")

    document = client.post(f"{API}/networks/{n}/documents", headers=headers,
                           json={"kind": "samenwerkingsovereenkomst", "title": f"Regionale samenwerkingsafspraken {tag}"})
    assert document.status_code == 201 and document.get_json()["effective_decision_rule"] == "organisation"
    d = document.get_json()["id"]
    uploaded = client.post(f"{API}/documents/{d}/versions", headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(TEXT), "samenwerkingsafspraken.md"), "change_note": "Concept"})
    assert uploaded.status_code == 201, uploaded.get_json()
    mail_store.clear()
    opened = client.post(f"{API}/documents/{d}/rounds", headers=headers, json={
        "deadline": (utcnow() + dt.timedelta(days=21)).isoformat(), "message": "Graag per praktijk één oordeel."})
    assert opened.status_code == 201, opened.get_json()
    round_ = opened.get_json()
    # 280 practices and the coordinator, who has no organisation and so decides for herself.
    assert round_["decision_rule"] == "organisation" and round_["voters"] == PRACTICES + 1
    lap("document, round opened")

    # Every invitation is delivered: one for each GP and the coordinator, each with a personal link.
    run_worker()
    invited = [m for m in mail_store.list() if m.subject.startswith("Commentaarronde:")]
    assert len(invited) == gp_count + 1
    token_of = {}
    for message in invited:
        (link,) = [link for link in message.links() if link.startswith(f"{BASE}/l/")]
        token_of[message.to[0]] = link.rsplit("/", 1)[1]
    assert len(token_of) == gp_count + 1
    lap(f"{gp_count + 1} invitations delivered")

    def as_member(email: str) -> dict:
        return auth(token_of[email])

    def give(email: str, value: str, reason: str = "") -> dict:
        given = client.post(f"{API}/participation/verdicts", json={"value": value, "reason": reason},
                            headers=as_member(email))
        assert given.status_code == 201, given.get_json()
        return given.get_json()

    blocks = client.get(f"{API}/participation/version/blocks", headers=as_member(coordinator_email)).get_json()
    passage = blocks["blocks"][-1]["id"]
    expected: dict[str, tuple[str, str]] = {}  # practice -> (the value that counts, who gave it)
    two = [p for p in practices if p["representatives"] == 2]
    hesitant, changed, last = practices[7], two[-3], practices[-1]
    assert len({hesitant["name"], changed["name"], last["name"]}) == 3

    # Some colleagues (not representatives) comment and suggest; their representative sees the suggestion.
    with_colleagues = [p for p in practices if len(p["gps"]) > p["representatives"]][::9]
    assert len(with_colleagues) >= 10
    comment_ids = []
    for i, practice in enumerate(with_colleagues):
        colleague = practice["gps"][-1]["email"]
        commented = client.post(f"{API}/participation/comments", headers=as_member(colleague), json={
            "body": f"Graag de dienstverdeling per praktijk uitwerken ({practice['name']}).",
            "block_id": passage if i % 2 else None})
        assert commented.status_code == 201, commented.get_json()
        comment_ids.append(commented.get_json()["id"])
        suggestion = give(colleague, "akkoord_met_opmerkingen" if i % 2 else "niet_akkoord",
                          "" if i % 2 else "De looptijd is te lang voor onze kleine praktijk.")
        assert suggestion["suggestion"] is True and suggestion["organisation_id"] is None
    first = with_colleagues[0]
    assert client.get(f"{API}/participation", headers=as_member(first["gps"][-1]["email"])).get_json()[
        "capacity"] == "colleague"
    view = client.get(f"{API}/participation", headers=as_member(first["gps"][0]["email"])).get_json()
    assert view["capacity"] == "representative" and view["organisation_view"]["verdict"] is None
    assert [s["reason"] for s in view["organisation_view"]["suggestions"]] == [
        "De looptijd is te lang voor onze kleine praktijk."]
    seen = client.get(f"{API}/participation/comments?limit=200", headers=as_member(first["gps"][0]["email"]))
    assert f"({first['name']})" in " ".join(c["body"] for c in seen.get_json()["items"])

    # Each practice but the last answers once through its first representative.
    for i, practice in enumerate(practices):
        if practice is last:
            continue
        representative = practice["gps"][0]
        if practice is hesitant:
            said = give(representative["email"], "niet_akkoord", "Eerst in het praktijkoverleg bespreken.")
            assert said["organisation_id"] == organisation_ids[practice["name"]] and said["suggestion"] is False
            continue
        value = "akkoord_met_opmerkingen" if i % 5 == 0 else "akkoord"
        give(representative["email"], value)
        expected[practice["name"]] = (value, representative["name"])
    # A second representative changes the practice's verdict: the last one counts, and shows who gave it.
    second = changed["gps"][1]
    give(second["email"], "akkoord_met_opmerkingen", "Akkoord, met de kanttekening over de diensten.")
    expected[changed["name"]] = ("akkoord_met_opmerkingen", second["name"])
    seen = client.get(f"{API}/participation", headers=as_member(changed["gps"][0]["email"])).get_json()
    assert seen["organisation_view"]["verdict"]["person_name"] == second["name"]
    # The hesitant practice discussed it internally: its representative now says akkoord.
    give(hesitant["gps"][0]["email"], "akkoord")
    expected[hesitant["name"]] = ("akkoord", hesitant["gps"][0]["name"])
    give(coordinator_email, "akkoord")
    lap("verdicts, suggestions, comments")

    standings = client.get(f"{API}/documents/{d}/standings", headers=headers).get_json()
    by_name = {s["name"]: s for s in standings["standings"]}
    assert len(by_name) == PRACTICES + 1 and not standings["unanimous"]
    assert by_name[last["name"]]["state"] == "no_verdict"
    assert by_name[changed["name"]]["given_by"] == second["name"]
    assert by_name[hesitant["name"]]["state"] == "akkoord"
    version_id = standings["version_id"]

    # Finalising is refused while one practice has no verdict, and the refusal names it (and only it).
    refused = client.post(f"{API}/documents/{d}/finalise", json={"version_id": version_id}, headers=headers)
    assert refused.status_code == 409 and refused.get_json()["code"] == "not_unanimous"
    assert [m["name"] for m in refused.get_json()["missing"]] == [last["name"]]
    # A reminder now goes to that practice's representatives only.
    mail_store.clear()
    reminded = client.post(f"{API}/rounds/{round_['id']}/reminders", headers=headers)
    assert reminded.status_code == 201 and reminded.get_json()["queued"] == last["representatives"]
    run_worker()
    reminders = [m.to[0] for m in mail_store.list() if not m.subject.startswith("Bevestiging")]
    assert sorted(reminders) == sorted(gp["email"] for gp in last["gps"][:last["representatives"]])
    representative = last["gps"][-1 if last["representatives"] == 2 else 0]
    give(representative["email"], "akkoord")
    expected[last["name"]] = ("akkoord", representative["name"])

    for number, comment_id in enumerate(comment_ids):
        processed = client.post(f"{API}/comments/{comment_id}/process", headers=headers, json={
            "disposition": "voor_kennisgeving" if number % 2 else "deels_overgenomen",
            "answer": "Wordt uitgewerkt in het dienstenrooster."})
        assert processed.status_code == 200, processed.get_json()
    mail_store.clear()
    done = client.post(f"{API}/documents/{d}/finalise", json={"version_id": version_id}, headers=headers)
    assert done.status_code == 200, done.get_json()
    final = client.get(f"{API}/documents/{d}", headers=headers).get_json()
    assert final["status"] == "final" and final["finalisation"]["version_id"] == version_id
    lap("reminder, refusal, finalised")

    # The final document reaches everyone: definitief, with the .docx and the PDF attached.
    run_worker()
    finals = [m for m in mail_store.list() if m.subject.startswith("Definitief:")]
    assert sorted(m.to[0] for m in finals) == sorted(token_of)
    # Each carries the .docx and the PDF (read from the raw mail: parsing 841 mails with attachments takes seconds);
    # one is opened in full.
    assert all(DOCX.encode() in m.raw and b"application/pdf" in m.raw for m in finals)
    assert sorted(t for _name, t, _data in finals[0].attachments()) == ["application/pdf", DOCX]
    assert final["title"] in finals[0].subject
    closed = client.get(f"{API}/rounds/{round_['id']}", headers=headers).get_json()
    assert (closed["status"], closed["voters"], closed["decided"]) == ("closed", PRACTICES + 1, PRACTICES + 1)
    lap(f"{len(finals)} final mails delivered")

    # The dossier lists the 280 practices, each with the verdict that counts for it.
    fetched = client.get(f"{API}/documents/{d}/dossier.json", headers=headers)
    assert fetched.status_code == 200
    dossier = json.loads(fetched.get_data())
    (entry,) = dossier["rounds"]
    listed = {o["name"]: o for o in entry["organisations"] if o["id"] is not None}
    assert len(listed) == PRACTICES and {o["kind"] for o in listed.values()} == {"huisartsenpraktijk"}
    for name, (value, given_by) in expected.items():
        organisation = listed[name]
        verdicts = {v["id"]: v for person in organisation["people"] for v in person["verdicts"]}
        counting = verdicts[organisation["verdict_id"]]
        assert (counting["value"], counting["person_name"], counting["organisation_name"]) == (value, given_by, name)
        assert counting["suggestion"] is False and counting["link"] is not None and counting["audit"] is not None
    assert len(expected) == PRACTICES
    # The finalisation's approvals (in the audit chain) name the same verdict for each practice.
    approvals = {a["organisation_id"]: a["verdict_id"] for a in dossier["final"]["approvals"] if "organisation_id" in a}
    assert approvals == {o["id"]: o["verdict_id"] for o in listed.values()}
    hesitating = [v["value"] for p in listed[hesitant["name"]]["people"] for v in p["verdicts"]]
    assert hesitating == ["niet_akkoord", "akkoord"]
    suggestions = [v for o in listed.values() for p in o["people"] for v in p["verdicts"] if v["suggestion"]]
    assert len(suggestions) == len(with_colleagues)
    assert sum(len(p["comments"]) for o in listed.values() for p in o["people"]) == len(comment_ids)
    assert sum(len(o["people"]) for o in listed.values()) == gp_count
    lap("dossier")
    print("\n" + "\n".join(f"{name:>40}: {seconds:6.2f} s" for name, seconds in timings.items())
          + f"\n{'total':>40}: {time.perf_counter() - started:6.2f} s")
