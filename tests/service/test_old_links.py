"""Lost and old links over HTTP: the sign-in page sends members to a new link, a round that is over says what
followed it (the newer round, or the final document), and offers no comment links or forms that lead nowhere."""

from __future__ import annotations

from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import select

from storage.database.models import Document, Participant
from tests.conftest import csrf_token
from tests.factories import make_document, make_network, open_round, participant
from tests.service.test_sessions import member_client
from workflows.domain import documents, finalising, rounds

V2 = b"# Samenwerkingsovereenkomst\n\n## Artikel 1 Doel\n\nDe partijen werken samen aan betere zorg.\n"


def message(app, msgid: str, **params) -> str:
    """A message as the Dutch pages show it (the English text until its translation is in the catalogue)."""
    with app.test_request_context(), force_locale("nl"):
        return str(escape(gettext(msgid, **params)))


def test_the_sign_in_page_points_members_to_a_new_personal_link(app):
    client = app.test_client()
    page = client.get("/signin").get_data(as_text=True)
    assert 'href="/link"' in page and message(app, "Ask for a new personal link") in page
    assert client.get("/link").status_code == 200


def test_a_closed_round_offers_nothing_to_comment_and_its_cached_page_follows(app, db):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    comment = rounds.add_comment(db, member, body="Graag concreter", block_id=None)
    rounds.add_reply(db, comment.id, body="Wordt gedaan", staff=coordinator)
    token = rounds.mint_link(db, member.id)
    db.commit()
    browser, review = member_client(app, token)
    page = browser.get(review).get_data(as_text=True)  # cached while the round is open
    assert "comment?block=" in page and 'id="selection-bar"' in page and f'action="{review}comments"' in page
    assert "comment?reply=" in page and 'id="onward"' not in page

    rounds.close_round(db, round_, actor=coordinator)
    db.commit()
    page = browser.get(review).get_data(as_text=True)
    assert 'id="onward"' in page
    assert message(app, "This round is closed: you can no longer comment or give a verdict.") in page
    for leads_nowhere in ("comment?block=", 'id="selection-bar"', f'action="{review}comments"',
                          f'action="{review}verdict"', "comment?reply="):
        assert leads_nowhere not in page, leads_nowhere
    assert "Graag concreter" in page and "Wordt gedaan" in page  # what was said stays readable
    everything = browser.get(review + "comments").get_data(as_text=True)
    assert 'id="onward"' in everything and "comment?reply=" not in everything
    stale = browser.get(review + "comment?block=b1")  # a tab left open, a bookmark
    assert stale.status_code == 303 and stale.headers["Location"] == review


def test_an_old_link_leads_to_the_newer_round(app, db, run_worker, mail_store):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round1 = open_round(db, document, coordinator)
    member = participant(db, round1, people[1])
    token = rounds.mint_link(db, member.id)
    db.commit()
    browser, review = member_client(app, token)

    documents.upload_version(db, document, filename="v2.md", data=V2, change_note="", actor=coordinator)
    db.commit()
    page = browser.get(review).get_data(as_text=True)
    assert message(app, "This round was stopped because a newer version was uploaded.") in page
    assert "comment?block=" not in page

    run_worker()
    mail_store.clear()
    round2 = open_round(db, db.get(Document, document.id), coordinator)
    db.commit()
    run_worker()
    invitation = next(m for m in mail_store.wait_for(lambda ms: any(m.to == [people[1].person.email] for m in ms))
                      if m.to == [people[1].person.email])
    newer = participant(db, round2, people[1])
    page = browser.get(review).get_data(as_text=True)  # the page cached before the new round follows it
    assert message(app, "There is a newer version: version %(version)s is now under review in round %(round)s.",
                   version=2, round=2) in page
    assert f'href="/review/{newer.id}/"' not in page  # this browser cannot open it yet...
    assert 'href="/link"' in page  # ...so it says where to get the link

    # The member asks for a new link where the page says, and the worker mails it.
    mail_store.clear()
    asked = browser.post("/link", data={"csrf_token": csrf_token(browser.get("/link").get_data(as_text=True)),
                                        "email": people[1].person.email})
    assert asked.status_code == 200
    run_worker()
    sent = mail_store.wait_for(lambda ms: any(m.to == [people[1].person.email] for m in ms))
    new_link = next(link for m in sent for link in m.links() if "/l/" in link).removeprefix("http://localhost")
    assert browser.get(new_link).headers["Location"] == f"/review/{newer.id}/"
    page = browser.get(review).get_data(as_text=True)
    assert f'href="/review/{newer.id}/"' in page  # now the old page leads straight there
    assert message(app, "Go to version %(number)s", number=2) in page
    assert any("/l/" in link for link in invitation.links())  # (the invitation carried a link too)


def test_an_old_link_leads_to_the_final_document(app, db):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round1 = open_round(db, document, coordinator)
    token = rounds.mint_link(db, participant(db, round1, people[1]).id)
    documents.upload_version(db, document, filename="v2.md", data=V2, change_note="", actor=coordinator)
    round2 = open_round(db, document, coordinator, days=7)
    for voter in db.scalars(select(Participant).where(Participant.round_id == round2.id)):
        if voter.can_vote:
            rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    finalising.finalise_document(db, document, round2.version, actor=coordinator)
    db.commit()
    browser, review = member_client(app, token)
    page = browser.get(review).get_data(as_text=True)
    assert message(app, "This document is final: version %(number)s was agreed by everyone with a vote.",
                   number=2) in page
    assert message(app, "This page shows version %(number)s, an earlier version.", number=1) in page
    assert "comment?block=" not in page
