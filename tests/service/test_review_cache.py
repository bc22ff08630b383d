"""The member's review page is cached under everything it shows: a change shows at once, and the link is
still checked on every request."""

from __future__ import annotations

import gzip

from storage.database.models import Participant, Round
from tests.conftest import csrf_token
from tests.factories import make_document, make_network, open_round, participant
from workflows.domain import rounds


def member_reading(app, db):
    """A member with a round open in their browser: (client, review path, coordinator, participant)."""
    network, coordinator, people = make_network(db, members=1)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    token = rounds.mint_link(db, member.id)
    db.commit()
    client = app.test_client()
    return client, client.get(f"/l/{token}").headers["Location"], coordinator, member


def test_a_cached_review_page_follows_verdicts_comments_and_closing(app, db):
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member, other = (participant(db, round_, p) for p in people[1:3])
    token = rounds.mint_link(db, member.id)
    db.commit()
    client = app.test_client()
    review = client.get(f"/l/{token}").headers["Location"]
    first = client.get(review).get_data(as_text=True)
    assert client.get(review).get_data(as_text=True) == first  # served from the cache

    rounds.add_comment(db, other, body="Een opmerking van een ander lid", block_id=None)
    db.commit()
    assert "Een opmerking van een ander lid" in client.get(review).get_data(as_text=True)

    page = client.get(review).get_data(as_text=True)
    assert client.post(review + "verdict", data={"value": "akkoord_met_opmerkingen", "reason": "Kleine punten",
                                                 "csrf_token": csrf_token(page)}).status_code == 303
    client.get(review)  # shows (and consumes) the flash message
    assert "Kleine punten" in client.get(review).get_data(as_text=True)

    rounds.close_round(db, db.get(Round, round_.id), actor=coordinator)
    db.commit()
    assert 'name="value"' not in client.get(review).get_data(as_text=True)


def test_a_cached_page_is_not_served_once_the_link_is_revoked(app, db):
    client, review, coordinator, member = member_reading(app, db)
    assert client.get(review).status_code == 200
    rounds.resend_link(db, db.get(Participant, member.id), actor=coordinator)
    db.commit()
    assert client.get(review).status_code == 410


def test_the_review_page_is_sent_gzipped_to_browsers_that_accept_it(app, db):
    client, review, _coordinator, _member = member_reading(app, db)
    plain = client.get(review)
    zipped = client.get(review, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
    assert int(zipped.headers["Content-Length"]) == len(zipped.get_data())
