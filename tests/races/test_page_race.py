"""The HTML pages in a race on a real gunicorn server: a member's verdict form (CSRF, personal-link cookie) against
an editor's upload form (CSRF, signed-in session), which supersedes the round the member is deciding in."""

from __future__ import annotations

from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import select

from service.web import i18n
from storage.database.models import Verdict
from tests.conftest import csrf_token
from tests.races.checks import Tally, check_document, check_outbox_handed_over, events, seq_of
from tests.races.conftest import new_case, new_text
from tests.races.harness import Browser, Sweep, overlapped, race
from workflows.domain import signin

TRIALS = 20


def signed_in(db, port: int, person) -> Browser:
    token = signin.issue_link_token(db, person)
    db.commit()
    browser = Browser(port)
    page = browser.get(f"/signin/{token}")
    assert page.status == 200, page
    done = browser.post(f"/signin/{token}", {"csrf_token": csrf_token(page.text)})
    assert done.status == 303, done
    return browser


def test_the_verdict_form_racing_the_upload_form(app, db, race_server, team, deadlocks):
    """As in the API race: the verdict is saved before the supersession (303 back to the review page) or the member
    gets the Dutch round-closed page (409); the upload is always saved; no 5xx; the invariants hold."""
    with app.test_request_context(), force_locale("nl"):
        round_closed = str(escape(i18n.error_message("round_closed", {})))
    editor = signed_in(db, race_server.port, team.editors[0].person)
    member = Browser(race_server.port)
    tally = Tally("verdict form vs upload form")
    sweep = Sweep(TRIALS)
    for head_start in sweep:
        case = new_case(db, team)
        opened = member.get(f"/l/{case.member_token}")
        assert opened.status == 303, opened
        review = member.get(f"/review/{case.member.id}/")
        assert review.status == 200, review
        document_page = editor.get(f"/d/{case.document.id}")
        assert document_page.status == 200, document_page
        verdict = member.prepare("POST", f"/review/{case.member.id}/verdict", label="verdict form",
                                 form={"csrf_token": csrf_token(review.text), "value": "akkoord", "reason": ""})
        upload = editor.prepare("POST", f"/d/{case.document.id}/versions", label="upload form",
                                form={"csrf_token": csrf_token(document_page.text), "change_note": "tweede concept",
                                      "close_open_round": "y", "supersedes": str(case.round.id)},
                                files={"file": ("concept2.md", new_text(), "text/markdown")})
        a, b = race(race_server.port, verdict, upload, delays=sweep.delays(head_start))
        print(f"  head start {head_start * 1000:+5.1f} ms: verdict {a.status}, upload {b.status}")
        member.keep_cookies(a)
        editor.keep_cookies(b)

        for answer in (a, b):
            assert answer.status < 500, f"server error: {answer}"
        assert b.status == 303 and "/v/" in b.header("Location"), f"the upload was not saved: {b}"
        check_document(db, case.document.id)
        assert len(seq_of(events(db, case.document.id), "round_closed", status="superseded")) == 1
        recorded = list(db.scalars(select(Verdict.id).where(Verdict.participant_id == case.member.id)))
        if a.status == 303:
            assert a.header("Location").endswith(f"/review/{case.member.id}/#verdict"), a
            assert len(recorded) == 1
            outcome = "verdict first"
        else:
            assert a.status == 409, f"unexpected answer to the verdict form: {a}"
            assert 'lang="nl"' in a.text and round_closed in a.text, f"not the Dutch round-closed page: {a}"
            assert recorded == []
            outcome = "upload first"
        sweep.note(a, b, outcome)
        tally.note(outcome, overlapped=overlapped(a, b), simultaneous=head_start == 0)
    print(tally, sweep, sep="; ")
    assert tally.outcomes["verdict first"] and tally.outcomes["upload first"], f"not every ordering occurred: {tally}"
    check_outbox_handed_over(db, team.network.id)
    assert deadlocks.since_start() == 0, f"PostgreSQL chose deadlock victims during {tally}"
