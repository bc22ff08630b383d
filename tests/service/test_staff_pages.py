"""Coordinator and editor pages over HTTP: sign-in, bad input with clear Dutch messages, finalising checks."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from storage.database.models import MailMessage, Membership, Participant, SignInToken, Version
from tests.conftest import CORPUS, csrf_token
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.storage.test_word_fidelity import page_number_file
from workflows.domain import documents as document_rules
from workflows.domain import rounds, signin


def signed_in(app, db, person):
    token = signin.issue_link_token(db, person)
    db.commit()
    client = app.test_client()
    page = client.get(f"/signin/{token}")
    assert page.status_code == 200
    assert client.post(f"/signin/{token}", data={"csrf_token": csrf_token(page.get_data(as_text=True))}).status_code == 303
    return client


def submit(client, page: str, action: str, data: dict, **kwargs):
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data}, **kwargs)


@pytest.fixture
def setup(app, db):
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    db.commit()
    return network, coordinator, people, document, version


def test_the_sign_in_link_is_used_by_a_button_not_by_opening_it(app, db, setup):
    _network, coordinator, *_ = setup
    token = signin.issue_link_token(db, coordinator)
    db.commit()
    scanner = app.test_client()
    for _ in range(2):
        assert scanner.get(f"/signin/{token}").status_code == 200
    assert scanner.get("/", follow_redirects=False).status_code == 302  # opening it did not sign anyone in
    person = app.test_client()
    page = person.get(f"/signin/{token}").get_data(as_text=True)
    assert person.post(f"/signin/{token}", data={"csrf_token": csrf_token(page)}).status_code == 303
    assert person.get("/").status_code == 200
    assert app.test_client().get(f"/signin/{token}").status_code == 410  # used once


def test_requesting_a_sign_in_link_answers_the_same_for_unknown_addresses(app, db, setup, run_worker, mail_store):
    _network, coordinator, people, *_ = setup
    client = app.test_client()
    answers = []
    for email in (coordinator.email, "onbekend@example.org", people[1].person.email):
        page = submit(client, "/signin", "/signin", {"email": email}).get_data(as_text=True)
        # The CSRF token is signed with a timestamp, so it may differ between answers; nothing else may.
        answers.append(re.sub(r'name="csrf_token" value="[^"]+"', "", page.replace(email, "X")))
    assert answers[0] == answers[1] == answers[2]
    run_worker()
    assert [m.to for m in mail_store.list()] == [[coordinator.email]]  # members use their personal links
    fresh(db)
    assert db.scalar(select(SignInToken).where(SignInToken.person_id == coordinator.id, SignInToken.token_hash.is_not(None)))


def test_pages_are_dutch_by_default_and_english_on_request(app, db, setup):
    _network, coordinator, *_ = setup
    client = signed_in(app, db, coordinator)
    page = client.get("/").get_data(as_text=True)
    assert 'lang="nl"' in page and "Uitloggen" in page
    assert submit(client, "/", "/lang/en", {"next": "/"}).status_code == 303
    page = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in page and "Sign out" in page


@pytest.mark.parametrize("filename, data, message", [
    ("kapot.docx", (CORPUS / "docx" / "32_edge-corrupt-truncated-zip_truncated62886.docx").read_bytes(), "beschadigd"),
    ("geheim.docx", (CORPUS / "docx" / "33_edge-encrypted-password_bug53475-password-is-pass.docx").read_bytes(), "wachtwoord"),
    ("macro.docm", (CORPUS / "docx" / "36_edge-macro-enabled_SimpleMacro.docm").read_bytes(), "macro"),
    ("leeg.docx", (CORPUS / "docx" / "31_edge-minimal-empty_empty.docx").read_bytes(), "geen tekst"),
    ("foto.docx", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "word"),
])
def test_bad_uploads_get_a_clear_dutch_message_and_change_nothing(app, db, setup, filename, data, message):
    _network, coordinator, _people, document, _version = setup
    client = signed_in(app, db, coordinator)
    before = db.scalar(select(func.count()).select_from(Version).where(Version.document_id == document.id))
    response = submit(client, f"/d/{document.id}", f"/d/{document.id}/versions",
                      {"file": (io.BytesIO(data), filename), "change_note": ""}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True).lower()
    fresh(db)
    assert db.scalar(select(func.count()).select_from(Version).where(Version.document_id == document.id)) == before


def test_an_upload_over_20_mb_is_refused(app, db, setup):
    _network, coordinator, _people, document, _version = setup
    client = signed_in(app, db, coordinator)
    response = submit(client, f"/d/{document.id}", f"/d/{document.id}/versions",
                      {"file": (io.BytesIO(b"a" * (22 * 1024 * 1024)), "groot.txt")}, content_type="multipart/form-data")
    assert response.status_code == 413 and "20 MB" in response.get_data(as_text=True)


def test_csv_with_bad_rows_shows_every_line_and_imports_nothing(app, db, setup):
    network, coordinator, *_ = setup
    client = signed_in(app, db, coordinator)
    before = db.scalar(select(func.count()).select_from(Membership).where(Membership.network_id == network.id))
    csv = "naam,email,organisatie,rol\nGoed,goed@x.example,Org,lid\nFout,fout,Org,lid\nRol,rol@x.example,Org,koning\n"
    response = submit(client, f"/n/{network.id}", f"/n/{network.id}/members/import",
                      {"file": (io.BytesIO(csv.encode()), "leden.csv")}, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Regel 3" in page and "Regel 4" in page and "Regel 2" not in page
    fresh(db)
    assert db.scalar(select(func.count()).select_from(Membership).where(Membership.network_id == network.id)) == before


def test_finalising_without_everyone_says_who_is_missing(app, db, setup):
    _network, coordinator, people, document, version = setup
    round_ = open_round(db, document, coordinator)
    for voter in db.scalars(select(Participant).where(Participant.round_id == round_.id)):
        if voter.person_id != people[2].person_id:
            rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    db.commit()
    client = signed_in(app, db, coordinator)
    page = client.get(f"/d/{document.id}").get_data(as_text=True)
    assert people[2].person.name in page
    response = submit(client, f"/d/{document.id}", f"/d/{document.id}/finalise", {"version_id": version.id})
    assert response.status_code == 409
    assert people[2].person.name in response.get_data(as_text=True)
    fresh(db)
    assert document.status == "in_review"


def test_members_and_other_networks_cannot_reach_staff_pages(app, db, setup):
    network, coordinator, people, document, _version = setup
    member_client = signed_in(app, db, people[1].person)  # people[1] is a plain member: no staff pages
    assert member_client.get(f"/n/{network.id}").status_code == 403
    other_network, other_coordinator, _ = make_network(db, members=0)
    db.commit()
    outsider = signed_in(app, db, other_coordinator)
    assert outsider.get(f"/d/{document.id}").status_code == 403
    assert outsider.get(f"/n/{network.id}").status_code == 403
    assert app.test_client().get(f"/d/{document.id}").status_code == 302  # not signed in: to the sign-in page


def test_resending_a_link_queues_a_new_invitation(app, db, setup, run_worker, mail_store):
    _network, coordinator, people, document, _version = setup
    round_ = open_round(db, document, coordinator)
    db.commit()
    run_worker()
    member = participant(db, round_, people[1])
    first = next(m for m in mail_store.list() if m.to == [people[1].person.email])
    old_link = next(link for link in first.links() if "/l/" in link)
    client = signed_in(app, db, coordinator)
    response = submit(client, f"/r/{round_.id}", f"/r/{round_.id}/participants/{member.id}/resend", {})
    assert response.status_code == 303
    run_worker()
    mails = [m for m in mail_store.list() if m.to == [people[1].person.email]]
    assert len(mails) == 2
    new_link = next(link for link in mails[0].links() if "/l/" in link)
    assert app.test_client().get(old_link.removeprefix("http://localhost")).status_code == 410
    assert app.test_client().get(new_link.removeprefix("http://localhost")).status_code == 303
    page = client.get(f"/r/{round_.id}").get_data(as_text=True)
    fresh(db)
    assert db.scalar(select(func.count()).select_from(MailMessage).where(
        MailMessage.round_id == round_.id, MailMessage.status == "sent")) == len(people) + 1 + 1
    assert people[1].person.name in page


def test_the_upload_says_what_the_file_held(app, db, setup):
    _network, coordinator, _people, document, _version = setup
    client = signed_in(app, db, coordinator)
    data = (CORPUS / "docx" / "13_tracked-ins-del_delins.docx").read_bytes()
    response = submit(client, f"/d/{document.id}", f"/d/{document.id}/versions",
                      {"file": (io.BytesIO(data), "wijzigingen.docx"), "change_note": "met wijzigingen"},
                      content_type="multipart/form-data")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Versie 2 is opgeslagen." in page
    assert "Gevonden in dit bestand:" in page and "niet-geaccepteerde wijzigingen" in page


def test_a_final_document_downloads_as_docx_and_pdf_and_a_redline_as_tracked_changes(app, db, setup):
    import zipfile

    import pypdf

    from workflows.domain import documents, finalising

    _network, coordinator, _people, document, v1 = setup
    v2 = documents.upload_version(db, document, filename="v2.md", change_note="", actor=coordinator,
                                  data=b"# Samenwerkingsovereenkomst\n\nDe partijen werken nauw samen aan goede zorg.\n")
    round_ = open_round(db, document, coordinator)
    for voter in db.scalars(select(Participant).where(Participant.round_id == round_.id)):
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    finalising.finalise_document(db, document, v2, actor=coordinator)
    db.commit()
    client = signed_in(app, db, coordinator)

    redline = client.get(f"/d/{document.id}/compare.docx?old={v1.id}&new={v2.id}")
    assert redline.status_code == 200 and redline.headers["Content-Disposition"].startswith("attachment")
    xml = zipfile.ZipFile(io.BytesIO(redline.data)).read("word/document.xml").decode()
    assert "<w:ins " in xml and "<w:del " in xml and 'w:author="Akkoord"' in xml

    pdf = client.get(f"/d/{document.id}/final.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert "nauw samen" in text and v2.content_hash in text.replace("\n", "")
    assert client.get(f"/d/{document.id}/final.docx").status_code == 200
    page = client.get(f"/d/{document.id}").get_data(as_text=True)
    assert f"/d/{document.id}/final.pdf" in page


def test_the_coordinator_reminds_and_extends_from_the_round_page(app, db, setup):
    from workflows.domain import reminders

    _network, coordinator, _people, document, _version = setup
    round_ = open_round(db, document, coordinator)
    db.commit()
    client = signed_in(app, db, coordinator)
    page = client.get(f"/r/{round_.id}").get_data(as_text=True)
    assert "Nu een herinnering sturen" in page and "0 van hoogstens 3 verstuurd" in page
    assert submit(client, f"/r/{round_.id}", f"/r/{round_.id}/remind", {"confirmed": "yes"}).status_code == 303
    assert submit(client, f"/r/{round_.id}", f"/r/{round_.id}/schedule", {"days": "5, 1"}).status_code == 303
    response = submit(client, f"/r/{round_.id}", f"/r/{round_.id}/schedule", {"days": "9, 5, 3, 1"})
    assert response.status_code == 400 and "hoogstens 3" in response.get_data(as_text=True)
    assert submit(client, f"/r/{round_.id}", f"/r/{round_.id}/deadline",
                  {"deadline": "2099-02-01T12:00"}).status_code == 303
    fresh(db)
    refreshed = db.get(type(round_), round_.id)
    assert refreshed.reminder_days == [5, 1] and reminders.reminders_sent(db, round_.id) == 1
    assert refreshed.deadline.isoformat().startswith("2099-02-01T11:00")  # 12:00 Dutch winter time


def test_the_document_page_shows_who_stands_where_across_rounds(app, db, setup):
    from workflows.domain import documents

    _network, coordinator, people, document, _version = setup
    round1 = open_round(db, document, coordinator)
    rounds.record_verdict(db, participant(db, round1, people[1]), value="niet_akkoord", reason="Te vaag",
                          evidence=rounds.Evidence())
    documents.upload_version(db, document, filename="v2.md", data=b"# Tweede versie\n\nConcreter.", change_note="",
                             actor=coordinator)
    round2 = open_round(db, document, coordinator)
    rounds.record_verdict(db, participant(db, round2, people[1]), value="akkoord", reason="",
                          evidence=rounds.Evidence())
    db.commit()
    page = signed_in(app, db, coordinator).get(f"/d/{document.id}").get_data(as_text=True)
    matrix = page[page.index('id="matrix"'):]
    assert "Ronde 1" in matrix and "Ronde 2" in matrix and "1/4" in matrix
    row = matrix[matrix.index(people[1].person.name):].split("</tr>")[0]
    assert row.index("niet akkoord") < row.index(">akkoord<")  # who moved: niet akkoord, then akkoord


def test_a_page_number_in_a_footer_shows_as_a_page_number(app, db, setup):
    """Word fills a page-number field in per page: the version page names it rather than showing nothing."""
    network, coordinator, _people, document, _version = setup
    version = document_rules.upload_version(db, document, filename="met-paginanummers.docx", data=page_number_file(),
                                            change_note="", actor=coordinator)
    db.commit()
    page = signed_in(app, db, coordinator).get(f"/v/{version.id}").get_data(as_text=True)
    assert "Pagina <span class=\"muted\">[paginanummer]</span> van <span class=\"muted\">[aantal pagina’s]</span>" in page
    assert "Concept <span class=\"muted\">[paginanummer]</span>" in page
