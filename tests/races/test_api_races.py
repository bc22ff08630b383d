"""Races over the JSON API on a real gunicorn server (processes and threads): verdict vs upload, comment vs
finalise, niet akkoord vs finalise, two uploads, reminder vs close. Each answer is a documented one (no 5xx; a
refusal a Dutch problem), the invariants hold after every trial, and both orderings of each race occur."""

from __future__ import annotations

from sqlalchemy import select

from storage.database.models import Comment, Document, MailMessage, Verdict, Version
from tests.factories import fresh
from tests.races.checks import Tally, check_delivered, check_document, check_outbox_handed_over, events, seq_of
from tests.races.conftest import expect, new_case, new_text
from tests.races.harness import Sweep, api, api_upload, overlapped, race

TRIALS = 20

VERDICT = ("POST", "/participation/verdicts")
COMMENT = ("POST", "/participation/comments")
UPLOAD = ("POST", "/documents/{document_id}/versions")
FINALISE = ("POST", "/documents/{document_id}/finalise")
REMIND = ("POST", "/rounds/{round_id}/reminders")
CLOSE = ("POST", "/rounds/{round_id}/close")


def run_races(race_server, build, judge, name: str) -> Tally:
    """TRIALS trials: `build()` makes the case and the two requests, `judge(case, a, b)` checks the answers and
    returns the outcome's name; the invariants are checked after every trial."""
    tally = Tally(name)
    sweep = Sweep(TRIALS)
    for head_start in sweep:
        delays = sweep.delays(head_start)
        case, first, second = build()
        a, b = race(race_server.port, first, second, delays=delays)
        print(f"  head start {head_start * 1000:+5.1f} ms: {a.request} {a.status} {a.seconds * 1000:4.0f} ms, "
              f"{b.request} {b.status} {b.seconds * 1000:4.0f} ms", end="")
        outcome = judge(case, a, b)
        print(f" -> {outcome}")
        sweep.note(a, b, outcome)
        tally.note(outcome, overlapped=overlapped(a, b), simultaneous=head_start == 0)
    print(tally, sweep, sep="; ")
    return tally


def both_happened(tally: Tally, *outcomes: str) -> None:
    assert all(tally.outcomes.get(o) for o in outcomes), f"not every ordering occurred: {tally}"


def no_deadlocks(deadlocks, tally: Tally) -> None:
    assert deadlocks.since_start() == 0, f"PostgreSQL chose deadlock victims during {tally}"


def test_a_verdict_racing_an_upload(app, db, race_server, team, deadlocks, run_worker, mail_store):
    """The upload supersedes the open round. The verdict either committed first (and counts in the superseded
    round, before its close) or finds its round closed (409); never a verdict after the supersession. Then a real
    worker delivers everything: each recorded verdict's confirmation reaches the SMTP server exactly once."""
    given: list[int] = []

    def build():
        case = new_case(db, team)
        verdict = api(*VERDICT, case.member_token, {"value": "akkoord"}, label="verdict")
        upload = api_upload(f"/documents/{case.document.id}/versions", team.editor_tokens[0], "concept2.md",
                            new_text(), "tweede concept", label="upload")
        return case, verdict, upload

    def judge(case, verdict, upload):
        expect(app, race_server, verdict, VERDICT, {201: None, 409: {"round_closed"}})
        expect(app, race_server, upload, UPLOAD, {201: None})
        assert upload.json()["number"] == 2
        check_document(db, case.document.id)
        found = events(db, case.document.id)
        superseded = seq_of(found, "round_closed", status="superseded")
        assert len(superseded) == 1, "the upload did not supersede the round exactly once"
        recorded = list(db.scalars(select(Verdict).where(Verdict.participant_id == case.member.id)))
        if verdict.status == 201:
            assert [v.id for v in recorded] == [verdict.json()["id"]]
            assert recorded[0].version_id == case.version.id  # the text the member read, not the new one
            given.append(recorded[0].id)
            return "verdict first"
        assert recorded == [], "a refused verdict was recorded"
        return "upload first"

    tally = run_races(race_server, build, judge, "verdict vs upload")
    both_happened(tally, "verdict first", "upload first")
    check_outbox_handed_over(db, team.network.id)
    no_deadlocks(deadlocks, tally)
    run_worker()
    check_delivered(db, mail_store, team.network.id, [f"verdict_confirmation:{i}" for i in given])


def test_a_comment_racing_finalising(app, db, race_server, team, deadlocks):
    """Everyone said akkoord, so finalising succeeds; the comment either came first (and stays in the round, which
    finalising then closes) or finds the round closed."""

    def build():
        case = new_case(db, team, everyone_agrees=True)
        comment = api(*COMMENT, case.member_token, {"body": "Graag ook de apothekers noemen."}, label="comment")
        finalise = api("POST", f"/documents/{case.document.id}/finalise", team.coordinator_token,
                       {"version_id": case.version.id}, label="finalise")
        return case, comment, finalise

    def judge(case, comment, finalise):
        expect(app, race_server, comment, COMMENT, {201: None, 409: {"round_closed"}})
        expect(app, race_server, finalise, FINALISE, {200: None})
        check_document(db, case.document.id)
        assert db.get(Document, case.document.id).status == "final"
        stored = list(db.scalars(select(Comment.id).where(Comment.participant_id == case.member.id)))
        if comment.status == 201:
            assert stored == [comment.json()["id"]]
            return "comment first"
        assert stored == [], "a refused comment was stored"
        return "finalise first"

    tally = run_races(race_server, build, judge, "comment vs finalise")
    both_happened(tally, "comment first", "finalise first")
    check_outbox_handed_over(db, team.network.id)
    no_deadlocks(deadlocks, tally)


def test_niet_akkoord_racing_finalising(app, db, race_server, team, deadlocks):
    """Everyone said akkoord; one member switches to niet akkoord while the coordinator finalises. Exactly one
    wins: final (and the verdict refused, the round being closed) or not final (and finalising refused, not
    unanimous). Never both."""

    def build():
        case = new_case(db, team, everyone_agrees=True)
        verdict = api(*VERDICT, case.member_token, {"value": "niet_akkoord", "reason": "De gemeente ontbreekt."},
                      label="niet akkoord")
        finalise = api("POST", f"/documents/{case.document.id}/finalise", team.coordinator_token,
                       {"version_id": case.version.id}, label="finalise")
        return case, verdict, finalise

    def judge(case, verdict, finalise):
        expect(app, race_server, verdict, VERDICT, {201: None, 409: {"round_closed"}})
        expect(app, race_server, finalise, FINALISE, {200: None, 409: {"not_unanimous"}})
        assert (verdict.status == 201) != (finalise.status == 200), f"both or neither won: {verdict} / {finalise}"
        check_document(db, case.document.id)
        final = db.get(Document, case.document.id).status == "final"
        assert final == (finalise.status == 200)
        if verdict.status == 201:
            assert finalise.json()["missing"], finalise
            return "niet akkoord first"
        return "finalise first"

    tally = run_races(race_server, build, judge, "niet akkoord vs finalise")
    both_happened(tally, "niet akkoord first", "finalise first")
    check_outbox_handed_over(db, team.network.id)
    no_deadlocks(deadlocks, tally)


def test_two_uploads_to_one_document(app, db, race_server, team, deadlocks):
    """Two editors upload a new version of the same document at once: both are kept, numbered 2 and 3 in the
    order they committed; the open round is superseded once."""

    def build():
        case = new_case(db, team)
        uploads = [api_upload(f"/documents/{case.document.id}/versions", token, f"concept-{i}.md", new_text(),
                              f"concept van redacteur {i}", label=f"upload {i}")
                   for i, token in enumerate(team.editor_tokens)]
        return case, *uploads

    def judge(case, first, second):
        for answer in (first, second):
            expect(app, race_server, answer, UPLOAD, {201: None})
        check_document(db, case.document.id)
        numbers = {answer.request.label: answer.json()["number"] for answer in (first, second)}
        assert sorted(numbers.values()) == [2, 3], numbers
        versions = {v.id: v for v in db.scalars(select(Version).where(Version.document_id == case.document.id))}
        for answer in (first, second):
            stored = versions[answer.json()["id"]]
            assert (stored.number, stored.change_note) == (answer.json()["number"], answer.json()["change_note"])
        found = events(db, case.document.id)
        assert len(seq_of(found, "round_closed", status="superseded")) == 1
        return "first upload first" if numbers["upload 0"] == 2 else "second upload first"

    tally = run_races(race_server, build, judge, "upload vs upload")
    both_happened(tally, "first upload first", "second upload first")
    check_outbox_handed_over(db, team.network.id)
    no_deadlocks(deadlocks, tally)


def test_a_reminder_racing_closing_the_round(app, db, race_server, team, deadlocks):
    """Nobody decided yet. The reminder either went out first (to every voter, then the round closes) or finds
    the round closed; never a reminder queued in a closed round."""

    def build():
        case = new_case(db, team)
        remind = api("POST", f"/rounds/{case.round.id}/reminders", team.coordinator_token, label="reminder")
        close = api("POST", f"/rounds/{case.round.id}/close", team.coordinator_token, label="close")
        return case, remind, close

    def judge(case, remind, close):
        expect(app, race_server, remind, REMIND, {201: None, 409: {"round_closed"}})
        expect(app, race_server, close, CLOSE, {200: None})
        assert close.json()["status"] == "closed"
        check_document(db, case.document.id)
        fresh(db)
        reminded = set(db.scalars(select(MailMessage.person_id).where(MailMessage.round_id == case.round.id,
                                                                      MailMessage.email == "reminder")))
        if remind.status == 201:
            assert remind.json()["queued"] == len(team.voters)
            assert reminded == {p.id for p in team.voters}
            return "reminder first"
        assert reminded == set(), "a refused reminder queued mail"
        return "close first"

    tally = run_races(race_server, build, judge, "reminder vs close")
    both_happened(tally, "reminder first", "close first")
    check_outbox_handed_over(db, team.network.id)
    no_deadlocks(deadlocks, tally)
