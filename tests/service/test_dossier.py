"""The evidence dossier of a final document: made once with the final files (by the job or the first download),
its JSON in step with the audit trail, a tampered copy refused by `flask verify-dossier`, and downloadable by the
network's coordinators and members only."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import pypdf
import pytest
from sqlalchemy import select, update

from storage.database.engine import run_transaction
from storage.database.models import (
    AuditEvent,
    Blob,
    Comment,
    Finalisation,
    MailMessage,
    Participant,
    Round,
    Version,
    utcnow,
)
from tests.api.conftest import SECOND_TEXT
from tests.conftest import csrf_token
from tests.factories import final_document, fresh, make_document, make_network, open_round, participant
from tests.service.test_final_downloads import signed_in
from workflows.domain import api_tokens, comments, documents, dossier, finalising, rounds
from workflows.outbound import jobs

API = "/api/v1"


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    """Other tests' pending mail and final files are not this test's worker's business."""
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.execute(update(Round).where(Round.status == "open").values(reminder_days=[]))
    db.commit()


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def run(*args):
        return runner.invoke(args=[str(a) for a in args])

    return run


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def member_client(app, db, round_, membership):
    """A browser holding the member's personal link of this round."""
    token = rounds.mint_link(db, participant(db, round_, membership).id)
    db.commit()
    client = app.test_client()
    assert client.get(f"/l/{token}").status_code == 303
    return client


def give_verdict(db, client, participant_id: int, value: str, reason: str = "") -> None:
    db.rollback()  # the test's read ends, so that the app can write (and the test after it)
    page = client.get(f"/review/{participant_id}/").get_data(as_text=True)
    response = client.post(f"/review/{participant_id}/verdict", headers={"User-Agent": "Firefox/140 (dossier test)"},
                           data={"csrf_token": csrf_token(page), "value": value, "reason": reason})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    fresh(db)


def two_rounds_to_final(app, db, run_worker):
    """Round 1 on v1: a member says niet akkoord through their link and another comments (processed by the
    editor); round 2 on v2: everyone akkoord, the first member again through the page; then final."""
    network, coordinator, people = make_network(db, members=2, observers=1)
    editor, first, second, _observer = people
    document, v1 = make_document(db, network, coordinator)
    round1 = open_round(db, document, coordinator)
    db.commit()
    run_worker()  # the invitations go out: "delivered"
    browser = member_client(app, db, round1, first)
    give_verdict(db, browser, participant(db, round1, first).id, "niet_akkoord", "Artikel 2 mist de apotheek.")
    comment = rounds.add_comment(db, participant(db, round1, second), body="Graag de huisartsenpost noemen.",
                                 block_id=v1.blocks[1]["id"])
    comments.process_comment(db, comment, disposition="overgenomen", answer="Toegevoegd in artikel 2.",
                             actor=editor.person)
    v2 = documents.upload_version(db, document, filename="v2.md", data=SECOND_TEXT.encode(),
                                  change_note="apotheek toegevoegd", actor=editor.person)
    db.commit()
    round2 = open_round(db, document, coordinator)
    db.commit()
    browser = member_client(app, db, round2, first)
    give_verdict(db, browser, participant(db, round2, first).id, "akkoord")
    for voter in db.scalars(select(Participant).where(Participant.round_id == round2.id, Participant.can_vote,
                                                      Participant.current_verdict_id.is_(None))):
        rounds.record_verdict(db, voter, value="akkoord_met_opmerkingen" if voter.person_id == second.person_id
                              else "akkoord", reason="", evidence=rounds.Evidence(ip_address="192.0.2.7"))
    finalising.finalise_document(db, document, v2, actor=coordinator)
    db.commit()
    return network, coordinator, people, document, (round1, round2), browser


def stored(db, document) -> tuple[Finalisation, bytes, bytes]:
    fresh(db)
    finalisation = db.scalar(select(Finalisation).where(Finalisation.document_id == document.id))
    return (finalisation, db.get(Blob, finalisation.dossier_json_sha256).data,
            db.get(Blob, finalisation.dossier_pdf_sha256).data)


def made_events(db, document) -> list[AuditEvent]:
    fresh(db)
    return db.scalars(select(AuditEvent).where(AuditEvent.document_id == document.id,
                                               AuditEvent.kind == "dossier_made")).all()


def listed_verdicts(data: dict) -> dict[int, dict]:
    return {v["id"]: v for r in data["rounds"] for o in r["organisations"] for p in o["people"] for v in p["verdicts"]}


def test_the_job_makes_the_dossier_once_and_its_json_matches_the_audit_trail(app, db, run_worker, cli, tmp_path):
    network, coordinator, people, document, (round1, round2), _browser = two_rounds_to_final(app, db, run_worker)
    _editor, first, second, observer = people
    run_worker()  # the finalisation's job: final files, then the dossier
    finalisation, raw, pdf = stored(db, document)
    assert sha256(raw) == finalisation.dossier_json_sha256 and sha256(pdf) == finalisation.dossier_pdf_sha256
    [event] = made_events(db, document)
    assert event.data == {"version_id": finalisation.version_id, "json_sha256": sha256(raw), "json_size": len(raw),
                          "pdf_sha256": sha256(pdf), "pdf_size": len(pdf)}
    data = json.loads(raw)
    assert dossier.canonical(data) == raw  # canonical: sorted keys, no spaces, UTF-8 (not \\u escapes)
    assert "Coördinator".encode() in raw

    # Every verdict the audit trail recorded, and no other, with the same value, version hash, address and link.
    given = db.scalars(select(AuditEvent).where(AuditEvent.document_id == document.id,
                                                AuditEvent.kind == "verdict_given")).all()
    verdicts = listed_verdicts(data)
    assert sorted(verdicts) == sorted(e.data["verdict_id"] for e in given) and len(given) == 5
    for event in given:
        verdict = verdicts[event.data["verdict_id"]]
        assert (verdict["value"], verdict["content_hash"], verdict["ip_address"], verdict["link_id"]) == (
            event.data["value"], event.data["content_hash"], event.data["ip_address"], event.data["link_id"])
        assert verdict["audit"] == {"seq": event.seq, "hash": event.hash}
    versions = {v.id: v.content_hash for v in db.scalars(select(Version).where(Version.document_id == document.id))}
    assert {v["id"]: v["content_hash"] for v in data["versions"]} == versions
    assert [(r["number"], r["version"]["content_hash"]) for r in data["rounds"]] == [
        (1, versions[round1.version_id]), (2, versions[round2.version_id])]
    assert data["final"]["content_hash"] == versions[finalisation.version_id]

    # Per round and person: invited, delivered (the invitation mail went out), opened, the verdict's evidence.
    people_of = {r["number"]: {p["person_id"]: p for o in r["organisations"] for p in o["people"]}
                 for r in data["rounds"]}
    said_no = people_of[1][first.person_id]
    assert said_no["invited_at"] and said_no["delivered_at"] and said_no["first_opened_at"]
    assert said_no["invitations"][0]["status"] == "sent"
    [no] = said_no["verdicts"]
    assert (no["value"], no["reason"], no["ip_address"]) == ("niet_akkoord", "Artikel 2 mist de apotheek.", "127.0.0.1")
    assert no["user_agent"] == "Firefox/140 (dossier test)" and no["link"]["id"] == no["link_id"] is not None
    assert no["content_hash"] == versions[round1.version_id] and no["person_name"] == first.name
    [remark] = people_of[1][second.person_id]["comments"]
    assert (remark["body"], remark["disposition"], remark["answer"]) == (
        "Graag de huisartsenpost noemen.", "overgenomen", "Toegevoegd in artikel 2.")
    assert remark["quote"] == db.get(Comment, remark["id"]).quote != ""
    assert people_of[2][observer.person_id]["can_vote"] is False and people_of[2][observer.person_id]["verdicts"] == []
    organisations = {o["name"] for o in data["rounds"][1]["organisations"]}
    assert first.organisation.name in organisations
    assert data["final"]["approvals"] == db.scalar(select(AuditEvent.data).where(
        AuditEvent.document_id == document.id, AuditEvent.kind == "document_finalised"))["approvals"]

    # The PDF says the same for people, in Dutch headings, and names the JSON's sha256 on its pages.
    text = " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())
    for shown in (first.name, "Artikel 2 mist de apotheek.", "Graag de huisartsenpost noemen.",
                  "Toegevoegd in artikel 2.", "127.0.0.1", sha256(raw)[:32]):
        assert shown in text, shown

    # The job again: made already, nothing changes.
    assert jobs.make_final_files(document.id) == "nothing to do"
    assert len(made_events(db, document)) == 1

    # And it holds, from a file and from the stored copy.
    path = tmp_path / "dossier.json"
    path.write_bytes(raw)
    result = cli("verify-dossier", path)
    assert result.exit_code == 0, result.output
    assert f"dossier of document {document.id} holds" in result.output and "5 verdicts" in result.output
    assert cli("verify-dossier", "--document", document.id).exit_code == 0


def test_a_tampered_dossier_fails_verification(app, db, run_worker, cli, tmp_path):
    _network, _coordinator, _people, document, _rounds, _browser = two_rounds_to_final(app, db, run_worker)
    run_worker()
    _finalisation, raw, _pdf = stored(db, document)

    def verify(data: bytes):
        path = tmp_path / "tampered.json"
        path.write_bytes(data)
        return cli("verify-dossier", path)

    # A verdict changed (and the file written canonically again, as a forger would): neither its hash nor the
    # verdict's audit event agrees.
    data = json.loads(raw)
    no = next(v for v in listed_verdicts(data).values() if v["value"] == "niet_akkoord")
    no["value"] = "akkoord"
    result = verify(dossier.canonical(data))
    assert result.exit_code == 1
    assert "is not in the audit trail" in result.output
    assert f"verdict {no['id']}: value is 'akkoord' in the dossier, 'niet_akkoord' in the audit trail" in result.output
    assert "does not hold" in result.output

    # One byte added: the same JSON to a parser, another file.
    longer = raw + b"\n"
    result = verify(longer)
    assert result.exit_code == 1 and f"its sha256 {sha256(longer)} is not in the audit trail" in result.output

    # A verdict left out.
    data = json.loads(raw)
    for round_ in data["rounds"]:
        for organisation in round_["organisations"]:
            for person in organisation["people"]:
                person["verdicts"] = [v for v in person["verdicts"] if v["id"] != no["id"]]
    result = verify(dossier.canonical(data))
    assert result.exit_code == 1 and f"verdict {no['id']} of the audit trail" in result.output

    assert verify(b"not json").exit_code == 1
    assert verify(raw).exit_code == 0  # the original still holds
    assert "give a dossier file or --document" in cli("verify-dossier").output
    assert cli("verify-dossier", "--document", 999_999_999).exit_code == 1


def test_two_downloads_and_the_job_give_one_dossier(app, db, run_worker):
    network, coordinator, people, document, _version = final_document(db)
    db.commit()
    assert stored_hash(db, document) is None  # the job waits in the queue
    page = signed_in(app, db, coordinator)
    first = page.get(f"/d/{document.id}/dossier.json")
    assert first.status_code == 200 and first.mimetype == "application/json"
    assert first.headers["Content-Disposition"].startswith("attachment") and "dossier.json" in \
        first.headers["Content-Disposition"]
    second = page.get(f"/d/{document.id}/dossier.json")
    assert second.data == first.data and sha256(first.data) == stored_hash(db, document)
    pdf = page.get(f"/d/{document.id}/dossier.pdf")
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-"

    _token, secret = api_tokens.create_token(db, network, coordinator, role="coordinator", name="dossier")
    db.commit()
    api = app.test_client().get(f"{API}/documents/{document.id}/dossier.json",
                                headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200 and api.data == first.data and api.mimetype == "application/json"
    shown = app.test_client().get(f"{API}/documents/{document.id}",
                                  headers={"Authorization": f"Bearer {secret}"}).get_json()["finalisation"]
    assert shown["dossier_json_sha256"] == sha256(first.data) and shown["dossier_pdf_sha256"] == sha256(pdf.data)

    run_worker()  # the job: the final files are made now, the dossier was made already
    assert page.get(f"/d/{document.id}/dossier.json").data == first.data
    assert [e.data["json_sha256"] for e in made_events(db, document)] == [sha256(first.data)]
    assert sha256(first.data) in page.get(f"/d/{document.id}").get_data(as_text=True)


def stored_hash(db, document) -> str | None:
    fresh(db)
    return db.scalar(select(Finalisation.dossier_json_sha256).where(Finalisation.document_id == document.id))


def test_members_download_it_from_their_pages_and_another_network_cannot(app, db, run_worker):
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    member = people[1]
    browser = member_client(app, db, round_, member)
    mine = participant(db, round_, member).id
    assert browser.get(f"/review/{mine}/dossier.json").status_code == 404  # not final yet
    assert "dossier.pdf" not in browser.get(f"/review/{mine}/").get_data(as_text=True)
    fresh(db)
    for voter in db.scalars(select(Participant).where(Participant.round_id == round_.id, Participant.can_vote)):
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    finalising.finalise_document(db, document, version, actor=coordinator)
    db.commit()
    run_worker()

    page = browser.get(f"/review/{mine}/").get_data(as_text=True)
    assert f"/review/{mine}/dossier.pdf" in page and f"/review/{mine}/dossier.json" in page
    downloaded = browser.get(f"/review/{mine}/dossier.json")
    assert downloaded.status_code == 200 and sha256(downloaded.data) == stored_hash(db, document)
    assert browser.get(f"/review/{mine}/dossier.pdf").data[:5] == b"%PDF-"

    # A member and a coordinator of another network: not with their own link, cookie or token.
    other_network, other_coordinator, other_people = make_network(db, members=1)
    other_document, _ = make_document(db, other_network, other_coordinator)
    other_round = open_round(db, other_document, other_coordinator)
    db.commit()
    stranger = member_client(app, db, other_round, other_people[1])
    theirs = participant(db, other_round, other_people[1]).id
    assert stranger.get(f"/review/{mine}/dossier.json").status_code == 404
    assert stranger.get(f"/review/{theirs}/dossier.json").status_code == 404  # their document is not final
    assert stranger.get(f"/d/{document.id}/dossier.json").status_code in (302, 303, 403, 404)
    fresh(db)
    other_staff = signed_in(app, db, other_coordinator)
    assert other_staff.get(f"/d/{document.id}/dossier.json").status_code in (403, 404)
    fresh(db)
    _token, secret = api_tokens.create_token(db, other_network, other_coordinator, role="coordinator", name="x")
    db.commit()
    assert app.test_client().get(f"{API}/documents/{document.id}/dossier.json",
                                 headers={"Authorization": f"Bearer {secret}"}).status_code in (403, 404)


def test_a_consortium_round_keeps_the_dossier_to_the_coordinators(app, db, run_worker):
    """A round whose comments only the project group saw: the dossier holds every comment, so members do not get it."""
    network, coordinator, people = make_network(db, members=1)
    document, version = make_document(db, network, coordinator)
    round_ = rounds.open_round(db, document, deadline=utcnow() + dt.timedelta(days=14), message="",
                               actor=coordinator, comment_visibility="group")
    db.commit()
    browser = member_client(app, db, round_, people[1])
    fresh(db)
    for voter in db.scalars(select(Participant).where(Participant.round_id == round_.id, Participant.can_vote)):
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    finalising.finalise_document(db, document, version, actor=coordinator)
    db.commit()
    mine = participant(db, round_, people[1]).id
    assert browser.get(f"/review/{mine}/dossier.json").status_code == 404
    assert "dossier.json" not in browser.get(f"/review/{mine}/").get_data(as_text=True)
    fresh(db)
    assert signed_in(app, db, coordinator).get(f"/d/{document.id}/dossier.json").status_code == 200


def test_the_pdf_says_on_whose_behalf_and_the_organisations_verdict(app, db):
    """What the substitutes' and the organisation rule's columns fill in shows in the PDF (rendered from the data)."""
    _network, _coordinator, people, document, _version = final_document(db)
    db.commit()
    data = dossier.gather(db, document.id)
    db.rollback()
    [round_] = data["rounds"]
    organisation = next(o for o in round_["organisations"] if any(p["verdicts"] for p in o["people"]))
    verdict = next(v for p in organisation["people"] for v in p["verdicts"])
    verdict["on_behalf_of"] = {"name": "Afwezige Huisarts", "email": "afwezig@example.org"}
    verdict["reason"] = "Namens de praktijk."
    organisation["verdict_id"] = verdict["id"]
    pdf = dossier.render_pdf(data, "0" * 64)
    text = " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Afwezige Huisarts" in text and "Namens de praktijk." in text
    assert text.count(organisation["name"]) >= 2  # in the people table, with the organisation's verdict


def test_stored_once_a_second_build_is_dropped(app, db):
    """The job and a download building at the same time: whoever stores first wins, the other's bytes are dropped
    (under the document's lock, so on PostgreSQL too), and there is one dossier_made event."""
    _network, _coordinator, _people, document, _version = final_document(db)
    db.commit()
    jobs.queue().empty()
    built = dossier.build_dossier(db, document.id)
    db.rollback()
    other = dossier.DossierFiles(json=b'{"another":"build"}', pdf=b"%PDF- another build")
    for files in (built, other):
        run_transaction(app.extensions["akkoord_sessions"],
                        lambda session, files=files: dossier.store_dossier(session, document.id, files))
    finalisation, raw, pdf = stored(db, document)
    assert (raw, pdf) == (built.json, built.pdf)
    assert db.get(Blob, sha256(other.json)) is None and db.get(Blob, sha256(other.pdf)) is None
    assert [e.data["json_sha256"] for e in made_events(db, document)] == [sha256(built.json)]
