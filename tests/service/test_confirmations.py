"""Irreversible actions over HTTP: closing a round, a reminder now, finalising and removing a member first show what
they will do and change nothing; only the confirmed post acts. An upload that would close the open round says so
and needs a tick; the members of the round it closes get a mail that says why, and keep their comments."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from storage.database.models import AuditEvent, Document, MailMessage, Membership, Participant, Round, Version
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.service.test_staff_pages import signed_in
from workflows.domain import documents, membership, reminders, rounds
from workflows.errors import Conflict

NEW_TEXT = "# Samenwerkingsovereenkomst\n\nDe partijen werken nauw samen aan goede zorg in de regio.\n"


@pytest.fixture
def world(app, db):
    """A network (coordinator, editor, three members, an observer) with a document in an open round."""
    network, coordinator, people = make_network(db, members=3, observers=1)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    return network, coordinator, people, document, version, round_


def outbox(db, round_id: int, email: str) -> list[MailMessage]:
    return list(db.scalars(select(MailMessage).where(MailMessage.round_id == round_id, MailMessage.email == email)))


def ask(client, page: str, action: str, data: dict | None = None):
    """The action's button as the page offers it: posted once, without confirmation."""
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **(data or {})})


def confirm(client, step, action: str, data: dict | None = None):
    """The button of the confirmation step: the same post, with `confirmed` from that page."""
    page = step.get_data(as_text=True)
    assert re.search(r'<input type="hidden" name="confirmed" value="yes">', page), "the step has no confirm button"
    return client.post(action, data={"csrf_token": csrf_token(page), "confirmed": "yes", **(data or {})})


def events(db, kind: str, document_id: int) -> int:
    return db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.kind == kind,
                                                             AuditEvent.document_id == document_id))


def test_closing_a_round_shows_who_can_no_longer_respond_then_closes(app, db, world, run_worker, mail_store):
    network, coordinator, people, document, _version, round_ = world
    decided = participant(db, round_, people[1])
    rounds.record_verdict(db, decided, value="akkoord", reason="", evidence=rounds.Evidence())
    db.commit()
    client = signed_in(app, db, coordinator)
    action = f"/r/{round_.id}/close"

    assert client.get(action).status_code == 405  # a mail scanner's GET changes nothing
    step = ask(client, f"/r/{round_.id}", action)
    page = step.get_data(as_text=True)
    assert step.status_code == 200
    # Who has not decided is named (the members and the editor without a verdict), the one who did is not.
    for waiting in (people[0], people[2], people[3]):
        assert waiting.name in page
    assert people[1].name not in page and people[4].name not in page  # decided; an observer has no vote
    assert f'href="/r/{round_.id}"' in page  # the way back
    fresh(db)
    assert db.get(Round, round_.id).is_open and events(db, "round_closed", document.id) == 0
    assert outbox(db, round_.id, "round_outcome") == []

    done = confirm(client, step, action)
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/r/{round_.id}")
    fresh(db)
    assert db.get(Round, round_.id).status == "closed" and db.get(Round, round_.id).close_reason == "manual"
    run_worker()
    fresh(db)
    told = {m.to_address for m in outbox(db, round_.id, "round_outcome") if m.status == "sent"}
    assert told == {p.person.email for p in people} | {coordinator.email}  # the coordinator has a vote too


def test_a_reminder_now_names_who_gets_it_then_goes(app, db, world, run_worker, mail_store):
    _network, coordinator, people, document, _version, round_ = world
    rounds.record_verdict(db, participant(db, round_, people[2]), value="akkoord", reason="",
                          evidence=rounds.Evidence())
    db.commit()
    client = signed_in(app, db, coordinator)
    action = f"/r/{round_.id}/remind"

    assert client.get(action).status_code == 405
    step = ask(client, f"/r/{round_.id}", action)
    page = step.get_data(as_text=True)
    assert step.status_code == 200
    assert all(p.name in page for p in (people[0], people[1], people[3]))
    assert people[2].name not in page and people[4].name not in page
    fresh(db)
    assert reminders.reminders_sent(db, round_.id) == 0 and outbox(db, round_.id, "reminder") == []

    assert confirm(client, step, action).status_code == 303
    fresh(db)
    assert reminders.reminders_sent(db, round_.id) == 1
    run_worker()
    fresh(db)
    assert {m.to_address for m in outbox(db, round_.id, "reminder") if m.status == "sent"} == {
        p.person.email for p in (people[0], people[1], people[3])} | {coordinator.email}


def test_finalising_says_who_receives_it_then_makes_it_final(app, db, world, run_worker):
    _network, coordinator, people, document, version, round_ = world
    for voter in db.scalars(select(Participant).where(Participant.round_id == round_.id, Participant.can_vote)):
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    db.commit()
    client = signed_in(app, db, coordinator)
    action = f"/d/{document.id}/finalise"

    assert client.get(action).status_code == 405
    step = ask(client, f"/d/{document.id}", action, {"version_id": version.id})
    page = step.get_data(as_text=True)
    assert step.status_code == 200
    assert f'name="version_id" type="hidden" value="{version.id}"' in page  # the step posts the same version again
    assert re.search(rf"<li>[^<]*\b{len(people) + 1}\b[^<]*</li>", page)  # every member (and the coordinator)
    fresh(db)
    assert db.get(Document, document.id).status == "in_review" and events(db, "document_finalised", document.id) == 0

    done = confirm(client, step, action, {"version_id": version.id})
    assert done.status_code == 303
    fresh(db)
    assert db.get(Document, document.id).status == "final"
    assert len(db.scalars(select(MailMessage).where(MailMessage.email == "final_document",
                                                    MailMessage.params["document_id"].as_integer() == document.id))
               .all()) == len(people) + 1


def test_finalising_when_someone_is_missing_is_refused_at_the_step(app, db, world):
    _network, coordinator, people, document, version, round_ = world
    client = signed_in(app, db, coordinator)
    refused = ask(client, f"/d/{document.id}", f"/d/{document.id}/finalise", {"version_id": version.id})
    assert refused.status_code == 409 and people[1].name in refused.get_data(as_text=True)
    assert 'name="confirmed" value="yes"' not in refused.get_data(as_text=True)


def test_removing_a_member_names_their_open_rounds_then_removes(app, db, world):
    network, coordinator, people, document, _version, round_ = world
    leaving = people[2]
    client = signed_in(app, db, coordinator)
    action = f"/n/{network.id}/members/{leaving.id}/remove"

    assert client.get(action).status_code == 405
    step = ask(client, f"/n/{network.id}", action)
    page = step.get_data(as_text=True)
    assert step.status_code == 200
    assert leaving.name in page and leaving.person.email in page and document.title in page
    fresh(db)
    assert db.get(Membership, leaving.id).left_at is None
    assert participant(db, round_, leaving).removed_at is None

    assert confirm(client, step, action).status_code == 303
    fresh(db)
    assert db.get(Membership, leaving.id).left_at is not None
    assert participant(db, round_, leaving).removed_at is not None


def test_an_unconfirmed_post_with_a_forged_confirmation_still_needs_the_csrf_token(app, db, world):
    _network, coordinator, _people, _document, _version, round_ = world
    client = signed_in(app, db, coordinator)
    client.get(f"/r/{round_.id}")
    assert client.post(f"/r/{round_.id}/close", data={"confirmed": "yes"}).status_code == 400
    fresh(db)
    assert db.get(Round, round_.id).is_open


def upload(client, document_id: int, **fields):
    token = csrf_token(client.get(f"/d/{document_id}").get_data(as_text=True))
    return client.post(f"/d/{document_id}/versions", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(NEW_TEXT.encode()), "concept2.md"), "change_note": "tweede", **fields})


def test_an_upload_that_closes_the_open_round_warns_and_needs_a_tick(app, db, world, run_worker, mail_store):
    network, coordinator, people, document, version, round_ = world
    commenter = participant(db, round_, people[1])
    for body in ("Artikel 2 is onduidelijk.", "Graag een termijn noemen."):
        rounds.add_comment(db, commenter, body=body)
    rounds.record_verdict(db, participant(db, round_, people[2]), value="akkoord", reason="",
                          evidence=rounds.Evidence())
    leaver = people[3]
    db.commit()
    membership.remove_member(db, db.get(Membership, leaver.id), actor=coordinator)
    db.commit()
    editor = signed_in(app, db, people[0].person)
    in_round = db.scalar(select(func.count(Participant.id)).where(Participant.round_id == round_.id,
                                                                  Participant.removed_at.is_(None)))

    page = editor.get(f"/d/{document.id}").get_data(as_text=True)
    warning = page[page.index('id="supersede-warning"'):]
    warning = warning[:warning.index("</div>")]
    assert f'name="supersedes" value="{round_.id}"' in warning and 'name="close_open_round"' in warning
    assert f" {in_round} " in warning  # how many are told

    def versions() -> int:
        fresh(db)
        return db.scalar(select(func.count(Version.id)).where(Version.document_id == document.id))

    # Without the tick, or ticked on a page that showed another round: nothing is saved, the error is at the box.
    for fields in ({}, {"close_open_round": "y"}, {"close_open_round": "y", "supersedes": str(round_.id + 1000)}):
        refused = upload(editor, document.id, **fields)
        text = refused.get_data(as_text=True)
        assert refused.status_code == 400, fields
        assert 'aria-describedby="close-open-round-error"' in text and 'id="close-open-round-error"' in text
        assert "tweede" in text  # what was typed is kept
        assert versions() == 1 and db.get(Round, round_.id).is_open
    assert outbox(db, round_.id, "round_superseded") == []

    run_worker()
    before = {m.id for m in mail_store.list()}
    done = upload(editor, document.id, close_open_round="y", supersedes=str(round_.id))
    assert done.status_code == 303
    fresh(db)
    assert versions() == 2 and db.get(Round, round_.id).status == "superseded"
    run_worker()
    fresh(db)
    told = outbox(db, round_.id, "round_superseded")
    assert len(told) == in_round == len(people)  # everyone in the round (the coordinator too) but the one who left
    assert {m.status for m in told} == {"sent"}
    assert {m.to_address for m in told} == {p.person.email for p in people if p is not leaver} | {coordinator.email}
    assert {m.to_address: m.params["comments"] for m in told}[people[1].person.email] == 2
    arrived = [m for m in mail_store.list() if m.id not in before and document.title in m.subject]
    assert sorted(a for m in arrived for a in m.to) == sorted(m.to_address for m in told)
    to_commenter = next(m for m in arrived if m.to == [people[1].person.email])
    assert " 2 " in to_commenter.text_body()  # their two comments are kept
    assert not any("/l/" in link for link in to_commenter.links())  # no old link: the next invitation brings one
    # Nothing staff-only or an outcome went out for a superseded round; the comments are still there.
    assert outbox(db, round_.id, "round_outcome") == [] and outbox(db, round_.id, "round_summary") == []
    assert rounds.summary(db, db.get(Round, round_.id)).comments == 2

    # The next round is the new link the mail promised.
    second = open_round(db, db.get(Document, document.id), coordinator)
    db.commit()
    run_worker()
    fresh(db)
    invited = {m.to_address for m in db.scalars(select(MailMessage).where(
        MailMessage.round_id == second.id, MailMessage.email == "invitation", MailMessage.status == "sent"))}
    assert {p.person.email for p in people if p is not leaver} <= invited


def test_an_upload_without_an_open_round_needs_no_tick(app, db):
    network, coordinator, _people = make_network(db, members=1)
    document, _version = make_document(db, network, coordinator)
    db.commit()
    client = signed_in(app, db, coordinator)
    assert 'id="supersede-warning"' not in client.get(f"/d/{document.id}").get_data(as_text=True)
    assert upload(client, document.id).status_code == 303


def test_the_round_confirmed_is_checked_under_the_documents_lock(app, db, world):
    """A round that opened, or closed, between the form and the upload is never closed unseen."""
    _network, coordinator, _people, document, _version, round_ = world
    for confirmed in (None, round_.id + 1000):
        with pytest.raises(Conflict) as refused:
            documents.upload_version(db, document, filename="c.md", data=NEW_TEXT.encode(), change_note="",
                                     actor=coordinator, confirmed=confirmed)
        assert refused.value.code == "supersede_unconfirmed"
        db.rollback()
    assert db.get(Round, round_.id).is_open
    documents.upload_version(db, document, filename="c.md", data=NEW_TEXT.encode(), change_note="",
                             actor=coordinator, confirmed=round_.id)
    assert db.get(Round, round_.id).status == "superseded"
    db.rollback()
