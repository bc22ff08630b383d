"""The whole loop over HTTP, on real parts: sign in by mail, members, upload, round 1 (niet akkoord), new version,
round 2 (everyone akkoord), finalise, and the final .docx in everyone's mailbox."""

from __future__ import annotations

import hashlib
import io
import re

import docx
import pypdf
from sqlalchemy import select

from storage.blocks import block_text
from storage.database.models import Version
from tests.conftest import csrf_token

BASE = "http://localhost"


def make_docx(paragraphs: list[tuple[str, str]]) -> bytes:
    document = docx.Document()
    for style, text in paragraphs:
        if style == "h1":
            document.add_heading(text, level=1)
        elif style == "bullet":
            document.add_paragraph(text, style="List Bullet")
        else:
            document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


V1 = [("h1", "Samenwerkingsovereenkomst zorgnetwerk"), ("p", "Partijen werken samen aan zorg dichtbij huis."),
      ("bullet", "De huisarts coördineert."), ("p", "Deze overeenkomst geldt voor twee jaar.")]
V2 = [("h1", "Samenwerkingsovereenkomst zorgnetwerk"), ("p", "Partijen werken samen aan goede zorg dichtbij huis."),
      ("bullet", "De huisarts coördineert."), ("bullet", "De apotheker bewaakt de medicatie."),
      ("p", "Deze overeenkomst geldt voor drie jaar.")]


def path_of(url: str) -> str:
    assert url.startswith(BASE), url
    return url[len(BASE):]


def post(client, page_path: str, action: str, data: dict, **kwargs):
    """Like a person: load the page with the form, then press its button."""
    page = client.get(page_path)
    assert page.status_code == 200, page_path
    return client.post(action, data={"csrf_token": csrf_token(page.get_data(as_text=True)), **data}, **kwargs)


def invitation_links(mail_store, round_number: int) -> dict[str, str]:
    links = {}
    for message in mail_store.list():
        if "/l/" in (message.text_body() or "") and f"versie {round_number}" in message.subject.lower() or (
                "/l/" in (message.text_body() or "") and f"version {round_number}" in message.subject.lower()):
            links[message.to[0]] = next(link for link in message.links() if "/l/" in link)
    return links


def test_the_whole_loop(app, client, db, mail_store, run_worker):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-network", "Zorgnetwerk Loop", "--coordinator-name", "Anna Coördinator",
                                 "--coordinator-email", "anna@loop.example"])
    assert result.exit_code == 0, result.output
    network_id = int(re.search(r"network (\d+) created", result.output).group(1))

    # The coordinator signs in with a link sent by email.
    response = post(client, "/signin", "/signin", {"email": "anna@loop.example"})
    assert response.status_code == 200
    run_worker()
    sign_in_mail = mail_store.wait_for(lambda ms: any(m.to == ["anna@loop.example"] for m in ms))[0]
    sign_in_path = path_of(next(link for link in sign_in_mail.links() if "/signin/" in link))
    response = post(client, sign_in_path, sign_in_path, {})
    assert response.status_code == 303

    # Three members, added one by one.
    network_page = f"/n/{network_id}"
    for name, email in [("Bert Lid", "bert@loop.example"), ("Carla Lid", "carla@loop.example"), ("Dirk Lid", "dirk@loop.example")]:
        response = post(client, network_page, f"{network_page}/members",
                        {"name": name, "email": email, "organisation": "Praktijk " + name[0], "role": "member"})
        assert response.status_code == 303, response.get_data(as_text=True)

    response = post(client, network_page, f"{network_page}/documents", {"kind": "samenwerkingsovereenkomst", "title": "Overeenkomst"})
    document_path = response.headers["Location"]
    document_id = int(document_path.rsplit("/", 1)[1])
    response = post(client, document_path, f"{document_path}/versions",
                    {"file": (io.BytesIO(make_docx(V1)), "concept-v1.docx"), "change_note": "Eerste concept"},
                    content_type="multipart/form-data")
    assert response.status_code == 303
    version_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "zorg dichtbij huis" in version_page

    # Round 1: invitations by mail; Bert says niet akkoord.
    mail_store.clear()
    response = post(client, document_path, f"{document_path}/rounds", {"deadline": "2099-01-01T12:00", "message": "Graag voor de vergadering"})
    assert response.status_code == 303
    round1_path = response.headers["Location"]
    run_worker()
    links = invitation_links(mail_store, 1)
    assert set(links) == {"anna@loop.example", "bert@loop.example", "carla@loop.example", "dirk@loop.example"}

    bert = app.test_client()
    review = bert.get(path_of(links["bert@loop.example"]))
    assert review.status_code == 303 and "/l/" not in review.headers["Location"]
    review_path = review.headers["Location"]
    response = post(bert, review_path, review_path + "verdict", {"value": "niet_akkoord", "reason": "De looptijd is te kort."})
    assert response.status_code == 303
    round_page = client.get(round1_path).get_data(as_text=True)
    assert "De looptijd is te kort." in round_page

    # A new version supersedes round 1; round 2: everyone akkoord.
    response = post(client, document_path, f"{document_path}/versions",
                    {"file": (io.BytesIO(make_docx(V2)), "concept-v2.docx"), "change_note": "Looptijd drie jaar",
                     "close_open_round": "y", "supersedes": round1_path.rsplit("/", 1)[1]},
                    content_type="multipart/form-data")
    assert response.status_code == 303
    redline = client.get(f"{document_path}/compare").get_data(as_text=True)
    assert "<ins" in redline and "<del" in redline and "drie" in redline
    mail_store.clear()
    response = post(client, document_path, f"{document_path}/rounds", {"deadline": "2099-01-01T12:00", "message": ""})
    assert response.status_code == 303
    run_worker()
    links = invitation_links(mail_store, 2)
    assert len(links) == 4
    # Bert's old link still opens round 1 (read-only), never the new text.
    for email, link in links.items():
        person = app.test_client()
        review_path = person.get(path_of(link)).headers["Location"]
        response = post(person, review_path, review_path + "verdict", {"value": "akkoord", "reason": ""})
        assert response.status_code == 303, email

    # Finalise; everyone receives the final .docx.
    mail_store.clear()
    response = post(client, document_path, f"{document_path}/finalise",
                    {"version_id": csrf_version_id(client.get(document_path).get_data(as_text=True)), "confirmed": "yes"})
    assert response.status_code == 303
    page = client.get(document_path).get_data(as_text=True)
    assert "definitief" in page.lower()
    run_worker()
    mail_store.wait_for(lambda ms: len([m for m in ms if m.attachments()]) == 4)
    finals = [m for m in mail_store.list() if m.attachments()]
    assert sorted(m.to[0] for m in finals) == sorted(["anna@loop.example", "bert@loop.example",
                                                      "carla@loop.example", "dirk@loop.example"])
    final_version = db.scalars(select(Version).where(Version.document_id == document_id).order_by(Version.number.desc())).first()
    expected = [block_text(b) for b in final_version.blocks]
    for message in finals:
        (docx_name, _, docx_data), (pdf_name, pdf_type, pdf_data) = message.attachments()
        assert docx_name.endswith(".docx") and pdf_name.endswith(".pdf") and pdf_type == "application/pdf"
        paragraphs = [p.text for p in docx.Document(io.BytesIO(docx_data)).paragraphs]
        assert paragraphs[:len(expected)] == expected
        assert final_version.content_hash in "\n".join(paragraphs)  # the approval annex
        pdf_text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf_data)).pages)
        assert "drie jaar" in pdf_text and final_version.content_hash in pdf_text.replace("\n", "")
    # Everyone got the same files, and the coordinator downloads exactly those; the page shows their hashes.
    assert len({m.attachments()[0][2] for m in finals}) == len({m.attachments()[1][2] for m in finals}) == 1
    assert client.get(f"{document_path}/final.docx").data == docx_data
    assert client.get(f"{document_path}/final.pdf").data == pdf_data
    page = client.get(document_path).get_data(as_text=True)
    assert hashlib.sha256(docx_data).hexdigest() in page and hashlib.sha256(pdf_data).hexdigest() in page


def csrf_version_id(html: str) -> str:
    return re.search(r'name="version_id" type="hidden" value="(\d+)"', html).group(1)
