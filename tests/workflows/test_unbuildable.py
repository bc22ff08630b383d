"""A mail that cannot be made fails alone, with its reason: not its batch, not another network's mail. Made with a
name from before names were checked (a line break, written straight into the database), one batch through the
real worker, counted at the real SMTP server."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from storage.database.models import MailMessage, Membership, Participant, Person, PersonalLink, utcnow
from tests.factories import fresh, make_document, make_network, open_round, unique
from workflows.outbound import jobs


def test_a_mail_that_cannot_be_made_fails_alone_and_the_batch_and_other_networks_mail_go_out(
        db, run_worker, mail_store):
    network, coordinator, _people = make_network(db, members=3)
    elsewhere, other_coordinator, _others = make_network(db, members=2)
    # As data from before the input rule would be: the checks are bypassed on purpose.
    broken = Person(name="Jan\nJansen", email=f"{unique('jan')}@example.org")
    db.add(broken)
    db.flush()
    db.add(Membership(network_id=network.id, person_id=broken.id, role="member", name=broken.name, joined_at=utcnow()))
    db.flush()
    round_ = open_round(db, make_document(db, network, coordinator)[0], coordinator)
    other_round = open_round(db, make_document(db, elsewhere, other_coordinator)[0], other_coordinator)
    db.commit()
    jobs.current().redis.flushdb()  # the invitations' own jobs: this test hands them over as one batch

    invitations = db.scalars(select(MailMessage).where(MailMessage.round_id.in_((round_.id, other_round.id)))
                             .order_by(MailMessage.id)).all()
    bad = next(m for m in invitations if m.person_id == broken.id)
    good = [m for m in invitations if m is not bad]
    assert any(m.network_id == elsewhere.id for m in good)
    # The broken one in the middle: mail before and after it in the batch, of both networks.
    ids = [m.id for m in good[:3]] + [bad.id] + [m.id for m in good[3:]]
    assert good[0].network_id == network.id and good[-1].network_id == elsewhere.id
    assert len(ids) <= jobs.MAIL_BATCH
    jobs.enqueue_items(jobs.queue(), ids, [])
    assert jobs.queue().count == 1  # one batch
    run_worker()

    expected = Counter(m.to_address for m in good)
    mails = mail_store.wait_for(lambda ms: len(ms) >= len(good))
    assert Counter(address for m in mails for address in m.to) == expected  # every other mail, once
    assert broken.email not in expected

    fresh(db)
    failed = db.get(MailMessage, bad.id)
    assert failed.status == "failed" and failed.failure == "message_unbuildable"
    assert failed.attempts == 1 and failed.next_attempt_at is None
    assert "control character" in failed.last_error  # the reason, as the builder gave it
    assert {db.get(MailMessage, m.id).status for m in good} == {"sent"}
    # The link minted with the claim reached nobody: it must not stay usable.
    participant = db.scalar(select(Participant).where(Participant.round_id == round_.id,
                                                      Participant.person_id == broken.id))
    links = db.scalars(select(PersonalLink).where(PersonalLink.participant_id == participant.id)).all()
    assert links and all(link.revoked_at is not None for link in links)

    # Nothing of it comes back: the sweep leaves a failed mail alone, and nothing is sent twice.
    jobs.tick()
    run_worker()
    assert len(mail_store.list()) == len(good)
    fresh(db)
    assert db.get(MailMessage, bad.id).attempts == 1
