"""Downloads of documents whose title or uploaded file name is not Latin-1 (issue 10): Content-Disposition per
RFC 6266, an ASCII `filename` and the whole name as `filename*=UTF-8''…` (RFC 8187). In process, and through a real
gunicorn, which refuses a header that is not Latin-1 (a raw UTF-8 name made every such download a 500)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import pytest

from service.embedded.servers import child_process_options, free_port
from service.web.rendering import attachment
from tests.conftest import csrf_token
from tests.factories import DRAFT_TEXT, make_network, open_round
from tests.races.harness import HOST, Browser, Request, api_upload, send
from workflows.domain import api_tokens, commentaartabel, documents, exports, signin

ROOT = Path(__file__).resolve().parents[2]
API = "/api/v1"
# Per language: a document's title and the name of the file uploaded as its first version.
TITLES = {
    "Polish": ("Overeenkomst Łódź", "Umowa źródłowa.md"),
    "Chinese": ("中文合作协议", "Überleg中.md"),
    "Arabic": ("اتفاقية التعاون", "مسودة الاتفاقية.md"),
    "emoji": ("Afspraken 🎉 zorg", "concept 🎉✅.md"),
}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def parameters(header: str) -> tuple[str, dict[str, str]]:
    """RFC 6266's grammar: a disposition type and its parameters (quoted strings unquoted; no ';' inside them
    here, which the fallback never holds)."""
    kind, *parts = header.split(";")
    found = {}
    for part in parts:
        name, _, value = part.strip().partition("=")
        if value.startswith('"'):
            assert value.endswith('"') and len(value) >= 2, header
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        assert name.lower() not in found, f"{name} twice: {header}"
        found[name.lower()] = value
    return kind.strip().lower(), found


def saved_as(header: str) -> str:
    """The name a browser saves under (RFC 6266 section 4.3): `filename*` (RFC 8187: charset'language'%-encoded)
    when there is one, else `filename`. The header is ASCII and its fallback a plain ASCII name."""
    assert header.isascii(), f"not ASCII: {header!r}"
    kind, found = parameters(header)
    assert kind == "attachment", header
    fallback = found["filename"]
    assert fallback.strip() and not set('"\\%/') & set(fallback) and fallback.isprintable(), header
    if "filename*" not in found:
        return fallback
    charset, language, encoded = found["filename*"].split("'", 2)
    assert charset.upper() == "UTF-8" and language == "", header
    assert re.fullmatch(r"[A-Za-z0-9!#$&+\-.^_`|~%]+", encoded), f"not RFC 8187 attr-chars: {header}"
    return unquote(encoded, encoding="utf-8", errors="strict")


@pytest.mark.parametrize("name, fallback", [
    ("Overeenkomst_Łódź_v1.docx", "Overeenkomst_Lodz_v1.docx"),
    ("中文合作协议.docx", "document.docx"),
    ("اتفاقية_التعاون_v1.pdf", "v1.pdf"),
    ("Afspraken 🎉 zorg.docx", "Afspraken _ zorg.docx"),
    ("Überleg中.md", "Uberleg.md"),
    ("Ærø Straße.xlsx", "AEro Strasse.xlsx"),
    ('Notulen "concept" 50%.txt', "Notulen _concept_ 50.txt"),
    ("plain.docx", "plain.docx"),
])
def test_the_header_carries_the_whole_name_and_an_ascii_fallback(name, fallback):
    header = attachment(name)
    assert saved_as(header) == name
    assert parameters(header)[1]["filename"] == fallback
    assert ("filename*=UTF-8''" in header) == (name != fallback)


def test_a_name_is_never_a_path_or_a_second_header():
    for name, expected in (("../../etc/passwd", ".._.._etc_passwd"), ("a\r\nSet-Cookie: x=1.txt", "aSet-Cookie: x=1.txt"),
                           ("C:\\temp\\x.docx", "C:_temp_x.docx")):
        header = attachment(name)
        assert "\r" not in header and "\n" not in header
        assert saved_as(header) == expected


@pytest.fixture
def titled(app, db):
    """Per language: a network whose document has that title, one version uploaded as `Überleg中.md`, an open
    round; and an API token of the coordinator."""
    made = {}
    for language, (title, uploaded) in TITLES.items():
        network, coordinator, _people = make_network(db, members=1)
        document = documents.create_document(db, network, kind="samenwerkingsovereenkomst", title=title,
                                             actor=coordinator)
        version = documents.upload_version(db, document, filename=uploaded, data=DRAFT_TEXT.encode(),
                                           change_note="eerste concept", actor=coordinator)
        round_ = open_round(db, document, coordinator)
        _token, secret = api_tokens.create_token(db, network, coordinator, role="coordinator", name="names")
        made[language] = (coordinator, document, version, round_, secret)
    db.commit()
    return made


def signed_in(app, db, person):
    token = signin.issue_link_token(db, person)
    db.commit()
    client = app.test_client()
    page = client.get(f"/signin/{token}")
    assert client.post(f"/signin/{token}", data={"csrf_token": csrf_token(page.get_data(as_text=True))}).status_code == 303
    return client


def test_every_download_in_every_language_in_process(app, db, titled):
    for language, (coordinator, _document, version, round_, secret) in titled.items():
        title, uploaded = TITLES[language]
        docx = exports.safe_filename(f"{title} v1", ".docx")
        expected = {
            f"/v/{version.id}/download.docx": docx,
            f"/v/{version.id}/original": uploaded,
            f"{API}/versions/{version.id}/docx": docx,
            f"{API}/versions/{version.id}/original": uploaded,
            f"/r/{round_.id}/commentaartabel?format=docx": commentaartabel.export(db, round_.id, "docx", "nl")[0],
            f"/r/{round_.id}/commentaartabel?format=xlsx": commentaartabel.export(db, round_.id, "xlsx", "nl")[0],
        }
        assert title.split()[0] in expected[f"/r/{round_.id}/commentaartabel?format=xlsx"]
        staff = signed_in(app, db, coordinator)  # commits: the app's writes meet no open read of this session
        api = app.test_client()
        for path, name in expected.items():
            if path.startswith(API):
                response = api.get(path, headers={"Authorization": f"Bearer {secret}"})
            else:
                response = staff.get(path)
            assert response.status_code == 200, (language, path, response.get_data(as_text=True)[:300])
            assert saved_as(response.headers["Content-Disposition"]) == name, (language, path)


# --- Through gunicorn ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gunicorn(database_url, redis_server, smtp_server, tmp_path_factory):
    """The app in gunicorn, as in production (one worker, two threads), on the suite's database, Redis and SMTP."""
    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {key: value for key, value in os.environ.items() if key != "MAILBOX_DIR"}
    env.update({"DATABASE_URL": database_url, "REDIS_URL": redis_server.url, "SMTP_URL": smtp_server.url,
                "BASE_URL": f"http://{HOST}:{port}", "SECRET_KEY": "names-secret",
                "MAIL_FROM": "Akkoord <akkoord@test.invalid>"})
    args = [sys.executable, "-m", "gunicorn", "-w", "1", "-k", "gthread", "--threads", "2", "-b", f"{HOST}:{port}",
            "--no-control-socket", "--error-logfile", "-", "service:create_app()"]
    with open(log, "wb") as out:
        process = subprocess.Popen(args, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, **child_process_options())
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"gunicorn exited: {log.read_text(errors='replace')[-3000:]}"
            try:
                if send(port, Request("GET", "/hello")).status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"gunicorn did not answer: {log.read_text(errors='replace')[-3000:]}"
            time.sleep(0.1)
        yield port, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_every_language_downloads_through_gunicorn(db, titled, gunicorn):
    port, log = gunicorn
    cases = {language: (document.id, version.id, secret) for language, (_c, document, version, _r, secret)
             in titled.items()}
    chinese_coordinator, _document, chinese_version, _round, _secret = titled["Chinese"]
    chinese_version = chinese_version.id
    sign_in_token = signin.issue_link_token(db, chinese_coordinator)
    db.commit()  # and no read of this session stays open: on SQLite it would hold back the server's writes
    for language, (document_id, version_id, secret) in cases.items():
        title, uploaded = TITLES[language]
        # An upload through gunicorn too: the name arrives as UTF-8 in the multipart header.
        again = send(port, api_upload(f"/documents/{document_id}/versions", secret, f"2 {uploaded}",
                                      DRAFT_TEXT.encode() + language.encode(), "tweede concept"))
        assert again.status == 201, again
        second = again.json()["id"]
        for path, name in {f"/versions/{version_id}/docx": exports.safe_filename(f"{title} v1", ".docx"),
                           f"/versions/{version_id}/original": uploaded,
                           f"/versions/{second}/original": f"2 {uploaded}"}.items():
            answer = send(port, Request("GET", API + path, {"Authorization": f"Bearer {secret}"}))
            assert answer.status == 200, f"{language} {path}: {answer}\n{log.read_text(errors='replace')[-3000:]}"
            assert saved_as(answer.header("Content-Disposition")) == name, (language, path)

    # And page downloads, signed in with a cookie as a browser is.
    browser = Browser(port)
    confirm = browser.get(f"/signin/{sign_in_token}")
    assert browser.post(f"/signin/{sign_in_token}", {"csrf_token": csrf_token(confirm.text)}).status == 303
    title, uploaded = TITLES["Chinese"]
    for path, name in {f"/v/{chinese_version}/original": uploaded,
                       f"/v/{chinese_version}/download.docx": exports.safe_filename(f"{title} v1", ".docx")}.items():
        answer = browser.get(path)
        assert answer.status == 200, f"{path}: {answer}\n{log.read_text(errors='replace')[-3000:]}"
        assert saved_as(answer.header("Content-Disposition")) == name
        assert answer.header("Content-Type") in (DOCX, "application/octet-stream")
