"""Downloads of the final .docx and PDF, from the staff pages and the API, are the bytes everyone was mailed;
a download before the worker made them makes and stores them; the document page and the API show their hashes."""

from __future__ import annotations

import hashlib

import pytest
from babel.numbers import format_decimal
from sqlalchemy import select, update

from storage.database.models import AuditEvent, Finalisation, MailMessage, Round
from tests.conftest import csrf_token
from tests.factories import final_document, fresh
from workflows.domain import api_tokens, signin

API = "/api/v1"


@pytest.fixture(autouse=True)
def _no_mail_left_by_other_tests(db):
    """Other tests' pending mail may not land in these tests' mailbox when a worker runs."""
    db.execute(update(MailMessage).where(MailMessage.status.in_(("pending", "sending"))).values(status="cancelled"))
    db.execute(update(Round).where(Round.status == "open").values(reminder_days=[]))
    db.commit()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def signed_in(app, db, person):
    token = signin.issue_link_token(db, person)
    db.commit()
    client = app.test_client()
    page = client.get(f"/signin/{token}")
    assert client.post(f"/signin/{token}", data={"csrf_token": csrf_token(page.get_data(as_text=True))}).status_code == 303
    return client


class Downloads:
    """The coordinator's two ways to the final files: the document page's links and the API."""

    def __init__(self, app, db, network, coordinator, document):
        self.document = document
        self.page = signed_in(app, db, coordinator)
        _token, secret = api_tokens.create_token(db, network, coordinator, role="coordinator", name="final files")
        db.commit()
        self.api = app.test_client()
        self.headers = {"Authorization": f"Bearer {secret}"}

    def get(self, via: str, kind: str):
        if via == "page":
            response = self.page.get(f"/d/{self.document.id}/final.{kind}")
        else:
            response = self.api.get(f"{API}/documents/{self.document.id}/final.{kind}", headers=self.headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        assert response.headers["Content-Disposition"].startswith("attachment")
        return response.data


def finalisation_of(db, document) -> Finalisation:
    fresh(db)
    return db.scalar(select(Finalisation).where(Finalisation.document_id == document.id))


def final_attachments(mail_store, addresses: set[str]) -> list[list[tuple[str, str, bytes]]]:
    messages = mail_store.wait_for(lambda ms: len([m for m in ms if m.to[0] in addresses and m.attachments()])
                                   == len(addresses))
    return [m.attachments() for m in messages if m.to[0] in addresses and m.attachments()]


def test_every_download_is_the_mailed_file(app, db, run_worker, mail_store):
    network, coordinator, people, document, _version = final_document(db)
    addresses = {coordinator.email} | {m.person.email for m in people}
    db.commit()
    run_worker()  # the job makes the files and the final mails go out
    mailed = final_attachments(mail_store, addresses)
    assert len({a[0][2] for a in mailed}) == len({a[1][2] for a in mailed}) == 1
    (docx_name, _docx_type, docx), (pdf_name, _pdf_type, pdf) = mailed[0]
    downloads = Downloads(app, db, network, coordinator, document)
    for kind, expected in (("docx", docx), ("pdf", pdf)):
        for via in ("page", "page", "api", "api"):
            assert downloads.get(via, kind) == expected, (via, kind)
    finalisation = finalisation_of(db, document)
    assert (sha256(docx), sha256(pdf)) == (finalisation.docx_sha256, finalisation.pdf_sha256)
    response = downloads.page.get(f"/d/{document.id}/final.pdf")
    assert response.mimetype == "application/pdf" and pdf_name in response.headers["Content-Disposition"]
    assert docx_name.endswith(".docx")


@pytest.mark.parametrize("via", ["page", "api"])
def test_a_download_before_the_worker_ran_makes_the_files_and_the_job_then_changes_nothing(app, db, run_worker,
                                                                                           mail_store, via):
    network, coordinator, people, document, _version = final_document(db)
    addresses = {coordinator.email} | {m.person.email for m in people}
    db.commit()
    assert finalisation_of(db, document).docx_sha256 is None  # the job waits in the queue
    downloads = Downloads(app, db, network, coordinator, document)
    pdf = downloads.get(via, "pdf")
    assert pdf[:5] == b"%PDF-"
    made = finalisation_of(db, document)
    assert made.pdf_sha256 == sha256(pdf) and made.docx_sha256 is not None and made.files_made_at is not None
    docx = downloads.get(via, "docx")
    assert sha256(docx) == made.docx_sha256
    assert downloads.get("api" if via == "page" else "page", "pdf") == pdf

    run_worker()  # the job finds the files made; the mails the download released go out
    mailed = final_attachments(mail_store, addresses)
    assert all(a[0][2] == docx and a[1][2] == pdf for a in mailed)
    after = finalisation_of(db, document)
    assert (after.docx_sha256, after.pdf_sha256, after.files_made_at) == (made.docx_sha256, made.pdf_sha256,
                                                                          made.files_made_at)
    events = db.scalars(select(AuditEvent).where(AuditEvent.document_id == document.id,
                                                 AuditEvent.kind == "final_files_made")).all()
    assert [e.data["pdf_sha256"] for e in events] == [sha256(pdf)]


def test_the_document_page_and_the_api_show_the_hashes_of_the_final_files(app, db):
    network, coordinator, _people, document, version = final_document(db)
    db.commit()
    downloads = Downloads(app, db, network, coordinator, document)
    page = downloads.page.get(f"/d/{document.id}").get_data(as_text=True)
    assert version.content_hash in page  # the files are not made yet: the content hash, no file hashes
    shown = downloads.api.get(f"{API}/documents/{document.id}", headers=downloads.headers).get_json()
    assert shown["finalisation"]["content_hash"] == version.content_hash
    assert shown["finalisation"]["docx_sha256"] is None and shown["finalisation"]["pdf_sha256"] is None

    docx, pdf = downloads.get("page", "docx"), downloads.get("page", "pdf")
    page = downloads.page.get(f"/d/{document.id}").get_data(as_text=True)
    for shown_on_page in (version.content_hash, sha256(docx), sha256(pdf),
                          f"{format_decimal(len(docx), locale='nl')} bytes", f"{format_decimal(len(pdf), locale='nl')} bytes"):
        assert shown_on_page in page
    shown = downloads.api.get(f"{API}/documents/{document.id}", headers=downloads.headers).get_json()["finalisation"]
    assert (shown["docx_sha256"], shown["pdf_sha256"]) == (sha256(docx), sha256(pdf))
    assert shown["version_id"] == version.id and shown["files_made_at"] is not None
