"""Each operation of the API does what the pages do, through the same workflows: happy paths and the
problems a client must handle."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

from sqlalchemy import func, select

from storage.database.models import (
    AuditEvent,
    Comment,
    Document,
    IdempotencyRecord,
    MailMessage,
    Membership,
    Round,
    utcnow,
)
from tests.api.conftest import auth
from tests.factories import fresh, participant
from workflows.domain import rounds

API = "/api/v1"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_network_organisations_people_and_members(client, world):
    headers = auth(world.coordinator_token)
    network = client.get(f"{API}/networks/{world.network.id}", headers=headers).get_json()
    assert network["name"] == world.network.name
    organisations = client.get(f"{API}/networks/{world.network.id}/organisations", headers=headers).get_json()
    assert {o["name"] for o in organisations["items"]} >= {world.members[1].organisation.name}
    created = client.post(f"{API}/networks/{world.network.id}/organisations", json={"name": "Apotheek Zuid"},
                          headers=headers)
    assert created.status_code == 201
    assert client.get(f"{API}/organisations/{created.get_json()['id']}", headers=headers).status_code == 200
    members = client.get(f"{API}/networks/{world.network.id}/members", headers=headers).get_json()
    assert len(members["items"]) == 5 and members["next"] is None
    person = client.get(f"{API}/people/{world.members[1].person_id}", headers=headers).get_json()
    assert person["memberships"][0]["role"] == "member"
    added = client.post(f"{API}/networks/{world.network.id}/members", headers=headers,
                        json={"name": "Gert Pos", "email": "gert@example.org", "organisation": "Apotheek Zuid",
                              "role": "member"})
    assert added.status_code == 201
    assert added.get_json()["organisation"]["name"] == "Apotheek Zuid"
    again = client.post(f"{API}/networks/{world.network.id}/members", headers=headers,
                        json={"name": "Gert Pos", "email": "gert@example.org", "role": "member"})
    assert again.status_code == 409 and again.get_json()["code"] == "already_member"
    member_id = added.get_json()["id"]
    assert client.get(f"{API}/members/{member_id}", headers=headers).get_json()["person"]["email"] == "gert@example.org"
    left = client.delete(f"{API}/members/{member_id}", headers=headers)
    assert left.status_code == 200 and left.get_json()["left_at"]
    assert client.delete(f"{API}/members/{member_id}", headers=headers).status_code == 409
    everyone = client.get(f"{API}/networks/{world.network.id}/members?include_left=true", headers=headers).get_json()
    assert len(everyone["items"]) == 6


def test_members_pages_follow_next_and_link(client, world):
    headers = auth(world.coordinator_token)
    first = client.get(f"{API}/networks/{world.network.id}/members?limit=2", headers=headers)
    body = first.get_json()
    assert len(body["items"]) == 2 and body["next"]
    assert first.headers["Link"] == f'<{body["next"]}>; rel="next"'
    seen = [m["id"] for m in body["items"]]
    while body["next"]:
        body = client.get(body["next"], headers=headers).get_json()
        seen += [m["id"] for m in body["items"]]
    assert seen == sorted(seen) and len(seen) == 5


def test_csv_import_all_or_nothing(client, db, world):
    headers = auth(world.coordinator_token, **{"Content-Type": "text/csv"})
    url = f"{API}/networks/{world.network.id}/members/import"
    bad = client.post(url, data="naam,email,organisatie,rol\nA,geen-adres,,lid\nB,b@example.org,,baas\n",
                      headers=headers)
    assert bad.status_code == 400
    problem = bad.get_json()
    assert problem["code"] == "csv_rejected"
    assert [(p["line"], p["code"]) for p in problem["problems"]] == [(2, "bad_email"), (3, "unknown_role")]
    good = client.post(url, data="naam,email,organisatie,rol\nA,a@example.org,Apotheek,lid\nB,b@example.org,,waarnemer\n",
                       headers=headers)
    assert good.status_code == 201 and good.get_json()["imported"] == 2
    wrong_type = client.post(url, data="x", headers=auth(world.coordinator_token, **{"Content-Type": "text/plain"}))
    assert wrong_type.status_code == 415


def test_documents_versions_and_their_forms(client, db, world):
    headers = auth(world.editor_token)
    listed = client.get(f"{API}/networks/{world.network.id}/documents", headers=headers).get_json()
    assert [d["id"] for d in listed["items"]] == [world.document.id]
    document = client.get(f"{API}/documents/{world.document.id}", headers=headers).get_json()
    assert document["latest_version"]["id"] == world.second.id and document["open_round_id"] == world.round.id
    created = client.post(f"{API}/networks/{world.network.id}/documents", json={"kind": "notitie", "title": "Visie"},
                          headers=headers)
    assert created.status_code == 201 and created.get_json()["status"] == "draft"
    new_id = created.get_json()["id"]
    upload = client.post(f"{API}/documents/{new_id}/versions", headers=headers, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(b"# Visie\n\nEerste tekst."), "visie.md"), "change_note": "eerste"})
    assert upload.status_code == 201, upload.get_data(as_text=True)
    version = upload.get_json()
    assert version["number"] == 1 and version["change_note"] == "eerste"
    versions = client.get(f"{API}/documents/{world.document.id}/versions", headers=headers).get_json()
    assert [v["number"] for v in versions["items"]] == [1, 2]
    assert client.get(f"{API}/versions/{world.second.id}", headers=headers).get_json()["number"] == 2
    blocks = client.get(f"{API}/versions/{world.second.id}/blocks", headers=headers)
    assert blocks.get_json()["blocks"][0]["id"] and blocks.headers["ETag"] == f'"{world.second.content_hash}"'
    text = client.get(f"{API}/versions/{world.second.id}/text", headers=headers)
    assert text.mimetype == "text/plain" and "apothekers" not in text.get_data(as_text=True)
    assert "huisartsen verwijzen" in text.get_data(as_text=True)
    docx = client.get(f"{API}/versions/{world.second.id}/docx", headers=headers)
    assert docx.mimetype == DOCX and docx.data[:2] == b"PK"
    pdf = client.get(f"{API}/versions/{world.second.id}/pdf", headers=headers)
    assert pdf.mimetype == "application/pdf" and pdf.data[:5] == b"%PDF-"
    original = client.get(f"{API}/versions/{world.first.id}/original", headers=headers)
    assert original.data.startswith(b"# Samenwerkingsovereenkomst")


def test_a_refused_upload_is_a_problem_in_the_callers_language(client, world):
    headers = auth(world.editor_token, **{"Accept-Language": "en"})
    response = client.post(f"{API}/documents/{world.document.id}/versions", headers=headers,
                           data={"file": (io.BytesIO(b"MZ\x90\x00binary"), "virus.exe")})
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["code"] == "wrong_type" and "Word document" in problem["detail"]
    assert response.headers["Content-Language"] == "en"
    dutch = client.post(f"{API}/documents/{world.document.id}/versions", headers=auth(world.editor_token),
                        data={"file": (io.BytesIO(b"MZ\x90\x00binary"), "virus.exe")})
    assert dutch.headers["Content-Language"] == "nl" and "Word-document" in dutch.get_json()["detail"]
    missing = client.post(f"{API}/documents/{world.document.id}/versions", headers=headers, data={"change_note": "x"},
                          content_type="multipart/form-data")
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "file"


def test_a_version_honours_if_none_match(client, world):
    headers = auth(world.editor_token)
    for suffix in ("blocks", "text", "docx", "pdf"):
        first = client.get(f"{API}/versions/{world.second.id}/{suffix}", headers=headers)
        etag = first.headers["ETag"]
        assert world.second.content_hash in etag
        again = client.get(f"{API}/versions/{world.second.id}/{suffix}", headers={**headers, "If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
        other = client.get(f"{API}/versions/{world.first.id}/{suffix}", headers={**headers, "If-None-Match": etag})
        assert other.status_code == 200


def test_redlines_as_json_html_and_docx(client, world):
    headers = auth(world.editor_token)
    base = f"{API}/documents/{world.document.id}"
    redline = client.get(f"{base}/redline", headers=headers).get_json()
    assert redline["old_version_id"] == world.first.id and redline["new_version_id"] == world.second.id
    assert redline["inserted_blocks"] == 1
    assert any(["insert", "tijdige "] in row["segments"] or ["insert", "en tijdige "] in row["segments"]
               for row in redline["rows"]) or redline["changed_blocks"] >= 1
    html = client.get(f"{base}/redline.html?old={world.first.id}&new={world.second.id}", headers=headers)
    assert html.mimetype == "text/html" and "<ins>" in html.get_data(as_text=True)
    docx = client.get(f"{base}/redline.docx", headers=headers)
    assert docx.mimetype == DOCX and docx.data[:2] == b"PK"
    wrong = client.get(f"{base}/redline?old=999999", headers=headers)
    assert wrong.status_code == 400 and wrong.get_json()["code"] == "no_earlier_version"


def test_rounds_open_extend_remind_schedule_close(client, db, world):
    headers = auth(world.coordinator_token)
    round_ = client.get(f"{API}/rounds/{world.round.id}", headers=headers).get_json()
    assert round_["voters"] == 4 and round_["decided"] == 1 and round_["comments"] == 1
    listed = client.get(f"{API}/documents/{world.document.id}/rounds", headers=headers).get_json()
    assert [r["id"] for r in listed["items"]] == [world.round.id]
    later = (utcnow() + dt.timedelta(days=30)).isoformat()
    extended = client.post(f"{API}/rounds/{world.round.id}/deadline", json={"deadline": later}, headers=headers)
    assert extended.status_code == 200
    earlier = client.post(f"{API}/rounds/{world.round.id}/deadline",
                          json={"deadline": (utcnow() + dt.timedelta(days=1)).isoformat()}, headers=headers)
    assert earlier.status_code == 400 and earlier.get_json()["errors"][0]["field"] == "deadline"
    naive = client.post(f"{API}/rounds/{world.round.id}/deadline", json={"deadline": "2099-01-01T12:00:00"},
                        headers=headers)
    assert naive.status_code == 422 and naive.get_json()["errors"][0]["field"] == "deadline"
    schedule = client.put(f"{API}/rounds/{world.round.id}/reminder-schedule", json={"days": [5, 1]}, headers=headers)
    assert schedule.get_json()["reminder_days"] == [5, 1]
    reminded = client.post(f"{API}/rounds/{world.round.id}/reminders", headers=headers)
    assert reminded.status_code == 201 and reminded.get_json()["queued"] == 3
    participants = client.get(f"{API}/rounds/{world.round.id}/participants", headers=headers).get_json()
    assert len(participants["items"]) == 5
    assert {p["invitation_status"] for p in participants["items"]} == {"pending"}  # no worker ran
    decided = [p for p in participants["items"] if p["verdict"]]
    assert [p["verdict"]["value"] for p in decided] == ["akkoord_met_opmerkingen"]
    resent = client.post(f"{API}/rounds/{world.round.id}/participants/{world.participant.id}/resend-link",
                         headers=headers)
    assert resent.status_code == 200
    verdicts = client.get(f"{API}/rounds/{world.round.id}/verdicts", headers=headers).get_json()
    assert verdicts["items"][0]["current"] is True
    closed = client.post(f"{API}/rounds/{world.round.id}/close", headers=headers)
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    again = client.post(f"{API}/rounds/{world.round.id}/close", headers=headers)
    assert again.status_code == 409 and again.get_json()["code"] == "round_closed"
    opened = client.post(f"{API}/documents/{world.document.id}/rounds", headers=headers,
                         json={"deadline": later, "message": "Ronde 2", "version_id": world.second.id,
                               "comment_visibility": "group"})
    assert opened.status_code == 201, opened.get_data(as_text=True)
    assert opened.get_json()["number"] == 2 and opened.get_json()["comment_visibility"] == "group"
    stale = client.post(f"{API}/documents/{world.document.id}/rounds", headers=headers,
                        json={"deadline": later, "version_id": world.first.id})
    assert stale.status_code == 409
    fresh(db)
    assert db.scalar(select(func.count(MailMessage.id)).where(MailMessage.round_id == opened.get_json()["id"])) == 5


def test_comments_processing_and_commentaartabel(client, db, world):
    headers = auth(world.editor_token)
    listed = client.get(f"{API}/rounds/{world.round.id}/comments?unprocessed=true", headers=headers).get_json()
    assert [c["id"] for c in listed["items"]] == [world.comment.id]
    comment = client.get(f"{API}/comments/{world.comment.id}", headers=headers).get_json()
    assert comment["quote"] and comment["person_name"] == world.members[1].person.name
    no_answer = client.post(f"{API}/comments/{world.comment.id}/process", json={"disposition": "niet_overgenomen"},
                            headers=headers)
    assert no_answer.status_code == 400 and no_answer.get_json()["errors"][0]["field"] == "answer"
    done = client.post(f"{API}/comments/{world.comment.id}/process", headers=headers,
                       json={"disposition": "deels_overgenomen", "answer": "In artikel 2 opgenomen."})
    assert done.get_json()["disposition"] == "deels_overgenomen"
    assert client.get(f"{API}/rounds/{world.round.id}/comments?unprocessed=true", headers=headers).get_json()["items"] == []
    table = client.get(f"{API}/rounds/{world.round.id}/commentaartabel", headers=headers).get_json()
    assert table["rows"][0]["disposition"] == "deels overgenomen"
    assert table["rows"][0]["capacity"] == ""  # per person: no capacity to name
    english = client.get(f"{API}/rounds/{world.round.id}/commentaartabel",
                         headers={**headers, "Accept-Language": "en"}).get_json()
    assert english["rows"][0]["disposition"] == "partly adopted"
    for fmt in ("docx", "xlsx"):
        download = client.get(f"{API}/rounds/{world.round.id}/commentaartabel.{fmt}", headers=headers)
        assert download.status_code == 200 and download.data[:2] == b"PK"


def test_finalising_only_when_everyone_agrees(client, db, world):
    headers = auth(world.coordinator_token)
    url = f"{API}/documents/{world.document.id}/finalise"
    refused = client.post(url, json={"version_id": world.second.id}, headers=headers)
    assert refused.status_code == 409
    problem = refused.get_json()
    assert problem["code"] == "not_unanimous" and len(problem["missing"]) == 3
    assert client.post(url, json={"version_id": world.first.id}, headers=headers).status_code == 409  # stale
    standings = client.get(f"{API}/documents/{world.document.id}/standings", headers=headers).get_json()
    assert standings["unanimous"] is False
    assert client.get(f"{API}/documents/{world.document.id}/final.pdf", headers=headers).status_code == 404
    round_ = db.get(Round, world.round.id)
    for m in world.members[:-1] + [None]:
        membership = m or db.scalar(select(Membership).where(Membership.network_id == world.network.id,
                                                             Membership.role == "coordinator"))
        p = participant(db, round_, membership)
        rounds.record_verdict(db, p, value="akkoord", reason="", evidence=rounds.Evidence())
    db.commit()
    assert client.get(f"{API}/documents/{world.document.id}/standings", headers=headers).get_json()["unanimous"]
    final = client.post(url, json={"version_id": world.second.id}, headers=headers)
    assert final.status_code == 200, final.get_data(as_text=True)
    assert final.get_json()["content_hash"] == world.second.content_hash
    assert final.get_json()["docx_sha256"] is None  # made after the commit (or by the first download)
    assert client.get(f"{API}/documents/{world.document.id}", headers=headers).get_json()["status"] == "final"
    pdf = client.get(f"{API}/documents/{world.document.id}/final.pdf", headers=headers).data
    docx = client.get(f"{API}/documents/{world.document.id}/final.docx", headers=headers).data
    assert pdf[:5] == b"%PDF-" and docx[:2] == b"PK"
    assert client.get(f"{API}/documents/{world.document.id}/final.pdf", headers=headers).data == pdf
    shown = client.get(f"{API}/documents/{world.document.id}", headers=headers).get_json()["finalisation"]
    assert (shown["docx_sha256"], shown["pdf_sha256"]) == (hashlib.sha256(docx).hexdigest(),
                                                          hashlib.sha256(pdf).hexdigest())


def test_audit_events_of_a_document(client, db, world):
    headers = auth(world.editor_token)
    events = client.get(f"{API}/documents/{world.document.id}/events?limit=3", headers=headers).get_json()
    assert [e["kind"] for e in events["items"]] == ["document_created", "version_uploaded", "version_uploaded"]
    rest = client.get(events["next"], headers=headers).get_json()
    kinds = [e["kind"] for e in rest["items"]]
    assert "round_opened" in kinds and "verdict_given" in kinds
    fresh(db)
    total = db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.document_id == world.document.id))
    assert len(events["items"]) + len(rest["items"]) == total


def test_a_member_reads_comments_and_decides_with_their_link(client, db, world):
    headers = auth(world.member_token)
    me = client.get(f"{API}/participation", headers=headers).get_json()
    assert me["round"]["id"] == world.round.id and me["verdict"]["value"] == "akkoord_met_opmerkingen"
    blocks = client.get(f"{API}/participation/version/blocks", headers=headers)
    assert blocks.get_json()["version_id"] == world.second.id
    assert client.get(f"{API}/participation/version/blocks",
                      headers={**headers, "If-None-Match": blocks.headers["ETag"]}).status_code == 304
    assert "tijdige" in client.get(f"{API}/participation/version/text", headers=headers).get_data(as_text=True)
    comment = client.post(f"{API}/participation/comments", headers=headers,
                          json={"body": "Artikel 2 mist de gemeente.", "block_id": world.second.blocks[3]["id"]})
    assert comment.status_code == 201
    unknown = client.post(f"{API}/participation/comments", headers=headers, json={"body": "x", "block_id": "nope"})
    assert unknown.status_code == 400 and unknown.get_json()["errors"][0]["field"] == "block_id"
    comments = client.get(f"{API}/participation/comments", headers=headers).get_json()
    assert len(comments["items"]) == 2
    no_reason = client.post(f"{API}/participation/verdicts", json={"value": "niet_akkoord"}, headers=headers)
    assert no_reason.status_code == 400 and no_reason.get_json()["errors"][0]["field"] == "reason"
    verdict = client.post(f"{API}/participation/verdicts", json={"value": "niet_akkoord", "reason": "Gemeente ontbreekt"},
                          headers={**headers, "User-Agent": "portaal/1.0"})
    assert verdict.status_code == 201 and verdict.get_json()["current"]
    fresh(db)
    from storage.database.models import Verdict

    stored = db.get(Verdict, verdict.get_json()["id"])
    assert stored.user_agent == "portaal/1.0" and stored.link_id is not None
    assert stored.content_hash == world.second.content_hash


def test_an_observer_comments_but_gives_no_verdict(client, db, world):
    observer = participant(db, db.get(Round, world.round.id), world.members[-1])
    token = rounds.mint_link(db, observer.id)
    db.commit()
    response = client.post(f"{API}/participation/verdicts", json={"value": "akkoord"}, headers=auth(token))
    assert response.status_code == 403 and response.get_json()["code"] == "observer_no_verdict"


def test_idempotency_key_replays_the_same_answer_and_refuses_another_request(client, db, world):
    headers = auth(world.editor_token, **{"Idempotency-Key": "doc-1"})
    url = f"{API}/networks/{world.network.id}/documents"
    first = client.post(url, json={"kind": "notitie", "title": "Eén keer"}, headers=headers)
    again = client.post(url, json={"kind": "notitie", "title": "Eén keer"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json() and again.headers["Idempotent-Replayed"] == "true"
    fresh(db)
    assert db.scalar(select(func.count(Document.id)).where(Document.title == "Eén keer")) == 1
    other = client.post(url, json={"kind": "notitie", "title": "Iets anders"}, headers=headers)
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_mismatch"
    # Keys belong to their caller: the coordinator's "doc-1" is a key of their own.
    mine = client.post(url, json={"kind": "notitie", "title": "Iets anders"},
                       headers=auth(world.coordinator_token, **{"Idempotency-Key": "doc-1"}))
    assert mine.status_code == 201
    # A refused request is not stored: retrying it after fixing the cause works.
    bad = client.post(url, json={"kind": "notitie", "title": "  "}, headers=auth(world.editor_token, **{"Idempotency-Key": "k2"}))
    assert bad.status_code == 400
    fresh(db)
    assert db.scalar(select(func.count(IdempotencyRecord.id)).where(IdempotencyRecord.key == "k2")) == 0


def test_a_members_verdict_is_idempotent_per_link(client, db, world):
    headers = auth(world.member_token, **{"Idempotency-Key": "v1"})
    for _ in range(2):
        assert client.post(f"{API}/participation/verdicts", json={"value": "akkoord"}, headers=headers).status_code == 201
    fresh(db)
    from storage.database.models import Verdict

    assert db.scalar(select(func.count(Verdict.id)).where(Verdict.participant_id == world.participant.id)) == 2  # fixture's + one


def test_validation_problems_list_the_fields(client, world):
    response = client.post(f"{API}/networks/{world.network.id}/members", headers=auth(world.coordinator_token),
                           json={"name": "", "email": 5, "role": "baas", "extra": 1})
    assert response.status_code == 422
    problem = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert problem["type"] == "/api/v1/problems/validation" and problem["status"] == 422
    assert {e["field"] for e in problem["errors"]} == {"name", "email", "role", "extra"}
    assert "beschrijving" in problem["detail"]  # Dutch unless asked otherwise
    not_json = client.post(f"{API}/networks/{world.network.id}/members", headers=auth(world.coordinator_token),
                           data="name=x")
    assert not_json.status_code == 415
    broken = client.post(f"{API}/networks/{world.network.id}/members", headers=auth(world.coordinator_token),
                         data="{", content_type="application/json")
    assert broken.status_code == 422


def test_unknown_routes_and_methods_are_problems_too(client, world):
    assert client.get(f"{API}/nothing-here").mimetype == "application/problem+json"
    response = client.put(f"{API}/networks", headers=auth(world.editor_token))
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    # The pages keep their HTML errors.
    assert client.get("/nothing-here").mimetype == "text/html"


def test_comment_and_round_rows_are_untouched_by_reads(client, db, world):
    """GETs never change a round (invariant 5): the counts before and after a tour of every read are equal."""
    before = (db.scalar(select(func.count(Comment.id))), db.scalar(select(func.count(AuditEvent.id))))
    spec = client.get(f"{API}/openapi.json").get_json()
    import re

    for path, methods in spec["paths"].items():
        if "get" in methods:
            url = API + re.sub(r"{(\w+)}", lambda m: str(world.ids[m.group(1)]), path)
            token = world.member_token if path.startswith("/participation") else world.editor_token
            assert client.get(url, headers=auth(token)).status_code < 500
    fresh(db)
    assert (db.scalar(select(func.count(Comment.id))), db.scalar(select(func.count(AuditEvent.id)))) == before


def test_replies_from_the_project_group_and_from_members(client, db, world):
    staff = client.post(f"{API}/comments/{world.comment.id}/replies", json={"body": "Dank, we nemen het mee."},
                        headers=auth(world.editor_token))
    assert staff.status_code == 201, staff.get_data(as_text=True)
    assert staff.get_json()["parent_id"] == world.comment.id
    member = client.post(f"{API}/participation/comments/{world.comment.id}/replies", json={"body": "Graag."},
                         headers=auth(world.member_token))
    assert member.status_code == 201 and member.get_json()["parent_id"] == world.comment.id
    empty = client.post(f"{API}/comments/{world.comment.id}/replies", json={"body": " "}, headers=auth(world.editor_token))
    assert empty.status_code == 400 and empty.get_json()["errors"][0]["field"] == "body"
    thread = client.get(f"{API}/rounds/{world.round.id}/comments", headers=auth(world.editor_token)).get_json()
    assert [c["parent_id"] for c in thread["items"]] == [None, world.comment.id, world.comment.id]
    processing = client.post(f"{API}/comments/{staff.get_json()['id']}/process", json={"disposition": "overgenomen"},
                             headers=auth(world.editor_token))
    assert processing.status_code == 400 and processing.get_json()["code"] == "reply_not_processed"


def test_a_selection_comment_and_a_round_whose_comments_only_the_group_sees(client, db, world):
    headers = auth(world.coordinator_token)
    client.post(f"{API}/rounds/{world.round.id}/close", headers=headers)
    later = (utcnow() + dt.timedelta(days=30)).isoformat()
    opened = client.post(f"{API}/documents/{world.document.id}/rounds", headers=headers,
                         json={"deadline": later, "comment_visibility": "group"}).get_json()
    fresh(db)
    round_ = db.get(Round, opened["id"])
    tokens = []
    for m in world.members[1:3]:
        tokens.append(rounds.mint_link(db, participant(db, round_, m).id))
    db.commit()
    block = world.second.blocks[2]
    first = client.post(f"{API}/participation/comments", headers=auth(tokens[0]),
                        json={"body": "Tijdig is vaag.", "block_id": block["id"], "start": 38, "end": 45,
                              "selected": "tijdige"})
    assert first.status_code == 201, first.get_data(as_text=True)
    assert first.get_json()["quote"] == "tijdige" and first.get_json()["start_offset"] == 38
    client.post(f"{API}/participation/comments", headers=auth(tokens[1]), json={"body": "Prima zo."})
    mine = client.get(f"{API}/participation/comments", headers=auth(tokens[1])).get_json()
    assert [c["body"] for c in mine["items"]] == ["Prima zo."]
    hidden = client.post(f"{API}/participation/comments/{first.get_json()['id']}/replies", json={"body": "Eens"},
                         headers=auth(tokens[1]))
    assert hidden.status_code == 400  # a thread they cannot see is no thread for them
    staff = client.get(f"{API}/rounds/{round_.id}/comments", headers=headers).get_json()
    assert len(staff["items"]) == 2


def test_an_oversize_upload_is_a_413_problem(client, world):
    response = client.post(f"{API}/documents/{world.document.id}/versions", headers=auth(world.editor_token),
                           data={"file": (io.BytesIO(b"x" * (22 * 1024 * 1024)), "groot.txt")})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json" and "20 MB" in response.get_json()["detail"]


def test_a_retried_upload_with_its_idempotency_key_makes_one_version(client, db, world):
    headers = auth(world.editor_token, **{"Idempotency-Key": "upload-3"})
    url = f"{API}/documents/{world.document.id}/versions"
    answers = [client.post(url, headers=headers, data={"file": (io.BytesIO(b"# Derde\n\nTekst."), "v3.md"),
                                                       "change_note": "derde"}) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]  # the test client picks a new boundary each time
    assert answers[0].get_json() == answers[1].get_json()
    changed = client.post(url, headers=headers, data={"file": (io.BytesIO(b"# Vierde"), "v3.md"), "change_note": "derde"})
    assert changed.status_code == 422
    # Two files under one field name once made the fingerprint compare upload objects: a 500 instead of an answer.
    twice = client.post(url, headers=auth(world.editor_token, **{"Idempotency-Key": "upload-4"}),
                        data={"file": [(io.BytesIO(b"# Vijf"), "a.md"), (io.BytesIO(b"# Zes"), "b.md")]})
    assert twice.status_code < 500


def test_a_new_version_names_the_comments_it_addresses(client, world):
    headers = auth(world.editor_token)
    url = f"{API}/documents/{world.document.id}/versions"
    wrong = client.post(url, headers=headers, data={"file": (io.BytesIO(b"# Drie"), "v3.md"), "addresses": "1, 9"})
    assert wrong.status_code == 400 and wrong.get_json()["errors"][0]["field"] == "addresses"
    made = client.post(url, headers=headers, data={"file": (io.BytesIO(b"# Drie\n\nApothekers genoemd."), "v3.md"),
                                                   "addresses": "1"})
    assert made.status_code == 201
    addressed = made.get_json()["addresses"]
    assert [(a["comment_id"], a["round_number"], a["number"]) for a in addressed] == [(world.comment.id, 1, 1)]
    again = client.get(f"{API}/versions/{made.get_json()['id']}", headers=headers).get_json()
    assert again["addresses"] == addressed


def test_a_member_sees_what_changed_since_the_version_they_last_reviewed(client, db, world):
    headers = auth(world.member_token)
    assert client.get(f"{API}/participation/changes", headers=headers).status_code == 404  # first round
    staff = auth(world.coordinator_token)
    client.post(f"{API}/documents/{world.document.id}/versions", headers=auth(world.editor_token),
                data={"file": (io.BytesIO(b"# Samenwerkingsovereenkomst\n\nAlles nieuw."), "v3.md")})
    later = (utcnow() + dt.timedelta(days=30)).isoformat()
    opened = client.post(f"{API}/documents/{world.document.id}/rounds", headers=staff, json={"deadline": later})
    fresh(db)
    token = rounds.mint_link(db, participant(db, db.get(Round, opened.get_json()["id"]), world.members[1]).id)
    db.commit()
    changes = client.get(f"{API}/participation/changes", headers=auth(token)).get_json()
    assert changes["old_version_id"] == world.second.id and changes["deleted_blocks"] >= 1
    earlier = client.get(f"{API}/participation/earlier-comments", headers=auth(token)).get_json()["items"]
    assert [(e["comment"]["id"], e["version_number"]) for e in earlier] == [(world.comment.id, 2)]
    assert earlier[0]["placement"]["status"] in ("removed", "edited", "moved", "exact")


def test_webhooks_register_disable_new_secret_and_redeliver(client, db, world, monkeypatch):
    import socket

    from storage.database.models import Webhook, WebhookDelivery
    from workflows.domain import webhooks

    real = socket.getaddrinfo

    def public_dns(host, port, *args, **kwargs):  # hooks.example.org is a public address; Redis stays local
        if host in ("127.0.0.1", "localhost", "::1"):
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", public_dns)
    headers = auth(world.coordinator_token)
    listed = client.get(f"{API}/networks/{world.network.id}/webhooks", headers=headers).get_json()
    assert [h["id"] for h in listed["items"]] == [world.webhook.id] and "secret" not in listed["items"][0]
    made = client.post(f"{API}/networks/{world.network.id}/webhooks", headers=headers,
                       json={"url": "https://hooks.example.org/akkoord", "events": ["document.final"]})
    assert made.status_code == 201 and len(made.get_json()["secret"]) >= 32
    assert made.get_json()["events"] == ["document.final"]
    http = client.post(f"{API}/networks/{world.network.id}/webhooks", headers=headers,
                       json={"url": "http://hooks.example.org/akkoord"})
    assert http.status_code == 400 and http.get_json()["errors"][0]["field"] == "url"
    assert "https://" in http.get_json()["detail"]
    hook_id = made.get_json()["id"]
    assert client.get(f"{API}/webhooks/{hook_id}", headers=headers).get_json()["url"].endswith("/akkoord")
    rotated = client.post(f"{API}/webhooks/{hook_id}/secret", headers=headers).get_json()
    assert rotated["secret"] != made.get_json()["secret"]
    assert client.post(f"{API}/webhooks/{hook_id}/disable", headers=headers).get_json()["disabled_at"]
    assert client.post(f"{API}/webhooks/{hook_id}/disable", headers=headers).status_code == 409
    log = client.get(f"{API}/networks/{world.network.id}/webhook-deliveries", headers=headers).get_json()
    assert [d["event"] for d in log["items"]][:1] == ["round.opened"]
    not_failed = client.post(f"{API}/webhook-deliveries/{world.delivery.id}/redeliver", headers=headers)
    assert not_failed.status_code == 409 and not_failed.get_json()["code"] == "webhook_not_failed"
    delivery = db.get(WebhookDelivery, world.delivery.id)
    delivery.status = "failed"
    db.commit()
    again = client.post(f"{API}/webhook-deliveries/{world.delivery.id}/redeliver", headers=headers)
    assert again.status_code == 200 and again.get_json()["status"] == "pending"
    editor = client.post(f"{API}/webhooks/{world.webhook.id}/disable", headers=auth(world.editor_token))
    assert editor.status_code == 403
    fresh(db)
    assert db.get(Webhook, world.webhook.id).disabled_at is None


def test_a_stored_answer_is_kept_a_day_then_the_key_starts_afresh_and_the_sweep_forgets_it(client, db, world):
    import datetime as dt

    from sqlalchemy import update

    from storage.database.models import utcnow
    from workflows.domain import idempotency
    from workflows.outbound import jobs

    headers = auth(world.editor_token, **{"Idempotency-Key": "dag-1"})
    url = f"{API}/networks/{world.network.id}/documents"
    assert client.post(url, json={"kind": "notitie", "title": "Dag één"}, headers=headers).status_code == 201
    fresh(db)
    db.execute(update(IdempotencyRecord).where(IdempotencyRecord.key == "dag-1")
               .values(created_at=utcnow() - idempotency.KEEP - dt.timedelta(minutes=1)))
    db.commit()
    # Older than a day: the same key is a new request (here: another document).
    again = client.post(url, json={"kind": "notitie", "title": "Dag twee"}, headers=headers)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    fresh(db)
    db.execute(update(IdempotencyRecord).where(IdempotencyRecord.key == "dag-1")
               .values(created_at=utcnow() - idempotency.KEEP - dt.timedelta(minutes=1)))
    db.commit()
    assert jobs.tick()["idempotency_records_forgotten"] >= 1
    fresh(db)
    assert db.scalar(select(func.count(IdempotencyRecord.id)).where(IdempotencyRecord.key == "dag-1")) == 0
