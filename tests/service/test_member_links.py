"""Personal links over HTTP: GET and HEAD never record anything (invariant 5), tokens leave the URL at first use,
expired and revoked links are refused with a clear message (invariant 7), and bad input changes nothing (invariant 9)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from storage.database.models import Comment, MeetingInvitation, Participant, PersonalLink, Round, Verdict, utcnow
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round, participant
from workflows.domain import meetings, minutes, rounds


@pytest.fixture
def invited(db):
    network, coordinator, people = make_network(db, members=2, observers=1)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    observer = participant(db, round_, people[3])
    token = rounds.mint_link(db, member.id)
    observer_token = rounds.mint_link(db, observer.id)
    db.commit()
    return {"round": round_, "member": member, "token": token, "observer": observer, "observer_token": observer_token,
            "coordinator": coordinator, "version": version}


def counts(db, round_id):
    fresh(db)
    return (db.scalar(select(func.count()).select_from(Verdict).where(Verdict.round_id == round_id)),
            db.scalar(select(func.count()).select_from(Comment).where(Comment.round_id == round_id)),
            db.get(Round, round_id).status)


def test_get_and_head_on_a_link_change_nothing(app, db, invited):
    round_id = invited["round"].id
    before = counts(db, round_id)
    scanner = app.test_client()  # a mail scanner: no cookies, follows nothing
    head = scanner.head(f"/l/{invited['token']}")
    assert head.status_code == 303
    cookieless = app.test_client(use_cookies=False)
    for _ in range(3):
        response = cookieless.get(f"/l/{invited['token']}", follow_redirects=True)
        assert response.status_code in (200, 404)  # without a cookie the review page is not reachable
    person = app.test_client()
    response = person.get(f"/l/{invited['token']}")
    assert response.status_code == 303
    assert invited["token"] not in response.headers["Location"]
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    page = person.get(response.headers["Location"])
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    # Forms and links on the page: opening every link with GET still records nothing.
    for path in ("verdict", "comments", "comment?block=b1", "comment"):
        person.get(response.headers["Location"] + path)
    assert counts(db, round_id) == before
    fresh(db)
    participant = db.get(Participant, invited["member"].id)
    # Not even "opened": a scanner does all of the above too. The person's first tap on the page says it (the
    # page's script posts it, with the page's CSRF token).
    assert participant.first_opened_at is None and participant.current_verdict_id is None
    review = response.headers["Location"]
    assert 'data-seen-url="' + review + 'seen"' in page.get_data(as_text=True)
    assert person.post(review + "seen", data={}).status_code == 400  # no CSRF token: a forged post
    fresh(db)
    assert db.get(Participant, invited["member"].id).first_opened_at is None
    assert person.post(review + "seen", data={"csrf_token": csrf_token(page.get_data(as_text=True))}).status_code == 204
    fresh(db)
    assert db.get(Participant, invited["member"].id).first_opened_at is not None
    assert counts(db, round_id) == before


def test_a_verdict_needs_a_post_with_the_csrf_token(app, db, invited):
    person = app.test_client()
    review = person.get(f"/l/{invited['token']}").headers["Location"]
    response = person.post(review + "verdict", data={"value": "akkoord"})
    assert response.status_code == 400
    assert counts(db, invited["round"].id)[0] == 0
    token = csrf_token(person.get(review).get_data(as_text=True))
    response = person.post(review + "verdict", data={"value": "akkoord", "csrf_token": token})
    assert response.status_code == 303
    fresh(db)
    verdict = db.scalar(select(Verdict).where(Verdict.round_id == invited["round"].id))
    assert verdict.value == "akkoord" and verdict.link_id is not None and verdict.user_agent


def test_niet_akkoord_without_reason_gets_a_dutch_message_and_records_nothing(app, db, invited):
    person = app.test_client()
    review = person.get(f"/l/{invited['token']}").headers["Location"]
    token = csrf_token(person.get(review).get_data(as_text=True))
    response = person.post(review + "verdict", data={"value": "niet_akkoord", "reason": "", "csrf_token": token})
    assert response.status_code == 400
    assert "geef een toelichting" in response.get_data(as_text=True).lower()
    assert counts(db, invited["round"].id)[0] == 0


def test_an_observer_comments_but_cannot_give_a_verdict(app, db, invited):
    person = app.test_client()
    review = person.get(f"/l/{invited['observer_token']}").headers["Location"]
    page = person.get(review).get_data(as_text=True)
    assert 'name="value"' not in page
    token = csrf_token(page)
    assert person.post(review + "verdict", data={"value": "akkoord", "csrf_token": token}).status_code == 403
    assert person.post(review + "comments", data={"body": "Een vraag", "block_id": "b2", "csrf_token": token}).status_code == 303
    assert counts(db, invited["round"].id)[:2] == (0, 1)


def test_a_closed_round_refuses_verdicts_and_comments_with_a_clear_message(app, db, invited):
    person = app.test_client()
    review = person.get(f"/l/{invited['token']}").headers["Location"]
    token = csrf_token(person.get(review).get_data(as_text=True))
    rounds.close_round(db, db.get(Round, invited["round"].id), actor=invited["coordinator"])
    db.commit()
    response = person.post(review + "verdict", data={"value": "akkoord", "csrf_token": token})
    assert response.status_code == 409 and "gesloten" in response.get_data(as_text=True)
    response = person.post(review + "comments", data={"body": "Te laat", "csrf_token": token})
    assert response.status_code == 409
    assert counts(db, invited["round"].id)[:2] == (0, 0)
    assert person.get(review).status_code == 200  # still readable after closing


def test_revoked_and_expired_links_are_refused(app, db, invited):
    person = app.test_client()
    rounds.resend_link(db, db.get(Participant, invited["member"].id), actor=invited["coordinator"])
    db.commit()
    response = person.get(f"/l/{invited['token']}")
    assert response.status_code == 410 and "vervangen" in response.get_data(as_text=True)

    link = db.scalar(select(PersonalLink).where(PersonalLink.participant_id == invited["observer"].id))
    link.expires_at = utcnow() - dt.timedelta(minutes=1)
    db.commit()
    response = app.test_client().get(f"/l/{invited['observer_token']}")
    assert response.status_code == 410 and "verlopen" in response.get_data(as_text=True)
    assert app.test_client().get("/l/unknown-token").status_code == 410


def test_a_cookie_from_a_revoked_link_no_longer_opens_the_page(app, db, invited):
    person = app.test_client()
    review = person.get(f"/l/{invited['token']}").headers["Location"]
    rounds.resend_link(db, db.get(Participant, invited["member"].id), actor=invited["coordinator"])
    db.commit()
    assert person.get(review).status_code == 410


def test_another_members_review_page_is_not_reachable(app, db, invited):
    person = app.test_client()
    person.get(f"/l/{invited['token']}")
    assert person.get(f"/review/{invited['observer'].id}/").status_code == 404


def ask_for_links_again(app, email: str) -> None:
    """Ask /link for the links of `email` and of an unknown address: the two answers are the same page."""
    client = app.test_client()
    page = client.get("/link").get_data(as_text=True)
    answers = []
    for address in (email, "niemand@example.org"):
        response = client.post("/link", data={"email": address, "csrf_token": csrf_token(page)})
        assert response.status_code == 200
        answers.append(re.sub(r'name="csrf_token" value="[^"]+"', "", response.get_data(as_text=True).replace(address, "X")))
    assert answers[0] == answers[1]


def test_a_lost_link_can_be_asked_for_again_with_the_same_answer_for_unknown_addresses(app, db, run_worker, mail_store):
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    old_token = rounds.mint_link(db, member.id)
    db.commit()
    run_worker()
    mail_store.clear()

    ask_for_links_again(app, people[1].person.email.upper())
    run_worker()
    (mail,) = mail_store.wait_for(lambda ms: len(ms) == 1)
    assert mail.to == [people[1].person.email]
    new_link = next(link for link in mail.links() if "/l/" in link)
    assert app.test_client().get(new_link.removeprefix("http://localhost")).status_code == 303
    # Anyone may ask in anyone's name: the old link lives until the new one is used (tests/service/test_limits.py).
    assert app.test_client().get(f"/l/{old_token}").status_code == 303


def test_asking_for_links_is_rate_limited_per_client_and_never_per_address(app, db, run_worker):
    client = app.test_client()
    page = client.get("/link").get_data(as_text=True)
    statuses = [client.post("/link", data={"email": f"iemand{n}@example.org", "csrf_token": csrf_token(page)}
                            ).status_code for n in range(11)]
    assert statuses == [200] * 10 + [429]  # LIMIT_ADDRESS_REQUESTS: 10 a minute from one client address
    for number in range(5):  # the same address from other clients: never a 429 (only no more mail)
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = f"10.30.0.{number + 1}"
        page = other.get("/link").get_data(as_text=True)
        assert other.post("/link", data={"email": "iemand@example.org", "csrf_token": csrf_token(page)}
                          ).status_code == 200
    run_worker()  # handles the requests (unknown addresses: nothing is sent)


def test_a_lost_link_request_also_brings_the_links_to_meetings_and_action_points_in_one_mail(
        app, db, run_worker, mail_store):
    """Besides a round's own invitation, one mail with a fresh link to each meeting still to come that the person is
    invited to and to each open action point they own; not to a meeting that is over or an action point done. The
    page answers the same for a known address and an unknown one."""
    network, coordinator, people = make_network(db, members=2)
    member = people[1]
    now = utcnow()
    day = dt.timedelta(days=1)

    def planned(starts_at, title):
        meeting = meetings.plan_meeting(db, network, meetings.Plan(title=title, starts_at=starts_at,
                                                                   duration_minutes=90, place="Utrecht"),
                                        actor=coordinator, now=min(now, starts_at - 20 * day))
        meetings.invite(db, meeting, actor=coordinator, now=min(now, starts_at - 20 * day))
        return meeting

    past, coming = planned(now - 2 * day, "Voorjaarsbijeenkomst"), planned(now + 9 * day, "Najaarsbijeenkomst")
    open_point, done_point = (minutes.add_action_point(db, past, minutes.ActionInput(
        text=text, owner_id=member.id, due_on=(now + 5 * day).date()), actor=coordinator)
        for text in ("Artikel 4 herschrijven", "Lijst rondsturen"))
    minutes.mark_done(db, past, done_point.id, actor=coordinator)
    document, _ = make_document(db, network, coordinator)
    open_round(db, document, coordinator)
    db.commit()
    run_worker()
    mail_store.clear()

    ask_for_links_again(app, member.person.email)
    run_worker()
    mails = mail_store.wait_for(lambda ms: len(ms) == 2)
    assert {tuple(m.to) for m in mails} == {(member.person.email,)}
    [links_mail] = [m for m in mails if any("/m/" in link for link in m.links())]
    text = links_mail.text_body()
    assert "Najaarsbijeenkomst" in text and "Artikel 4 herschrijven" in text
    assert "Voorjaarsbijeenkomst" not in text and "Lijst rondsturen" not in text
    meeting_links = [link for link in links_mail.links() if "/m/" in link]
    action_links = [link for link in links_mail.links() if "/a/" in link]
    assert len(set(meeting_links)) == 1 and len(set(action_links)) == 1
    visitor = app.test_client()
    landed = visitor.get(meeting_links[0].removeprefix("http://localhost"))
    invitation_id = db.scalar(select(MeetingInvitation.id).where(MeetingInvitation.meeting_id == coming.id,
                                                                 MeetingInvitation.person_id == member.person_id))
    assert landed.status_code == 303 and landed.headers["Location"].endswith(f"/meeting/{invitation_id}/")
    landed = visitor.get(action_links[0].removeprefix("http://localhost"))
    assert landed.status_code == 303 and landed.headers["Location"].endswith(f"/action/{open_point.id}/")
    assert "Artikel 4 herschrijven" in visitor.get(landed.headers["Location"]).get_data(as_text=True)

