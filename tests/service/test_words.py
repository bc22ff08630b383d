"""Words a busy clinician understands (issue 12, problem 10): a kenmerk instead of a SHA-256 hash outside the evidence,
mail states in plain Dutch, a verdict confirmation that repeats the personal link and names the coordinator,
comments with the commenter's organisation, and the commentaartabel of a processed round for members."""

from __future__ import annotations

import datetime as dt
import re

from flask_babel import force_locale
from sqlalchemy import select

from service.web.templating import outbox_state, round_status
from storage.database.models import Comment, MailMessage, PersonalLink, Round, utcnow
from tests.conftest import csrf_token
from tests.factories import final_document, fresh, make_document, make_network, open_round, participant
from tests.service.test_staff_pages import signed_in
from workflows.domain import comments, documents, membership, rounds
from workflows.domain.wording import catalogue, kenmerk
from workflows.outbound import emails

NL = catalogue("nl")
HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


def mail_to(mail_store, address: str, wanted) -> object:
    """The newest mail to `address` for which wanted(mail) holds, once it has arrived."""
    def found(messages):
        return [m for m in messages if m.to == [address] and wanted(m)]
    return found(mail_store.wait_for(found))[0]


def linked_client(app, url: str):
    """A browser that followed a personal link from a mail: (client, the member's review page)."""
    client = app.test_client()
    answer = client.get("/l/" + url.rsplit("/l/", 1)[1])
    assert answer.status_code == 303
    return client, answer.headers["Location"]


def test_kenmerk_is_eight_characters_upper_case_in_two_groups():
    assert kenmerk("3fa29c01" + "0" * 56) == "3FA2 9C01"
    assert kenmerk(None) == "" and kenmerk("") == ""


def test_the_verdict_confirmation_repeats_the_link_names_the_coordinator_and_shows_a_kenmerk(
        app, db, run_worker, mail_store):
    person = membership.get_or_create_person(db, name="Ans Eigen", email=f"ans-{id(db)}@example.org")
    network = membership.create_network(db, "Netwerk Woorden", coordinator=person,
                                        coordinator_name="Dr. A. Jansen, coördinator")
    member = membership.add_member(db, network, name="Bram Lid", email=f"bram-{id(db)}@example.org",
                                   organisation_name="Huisartsen West", role="member", actor=person)
    document, version = make_document(db, network, person)
    round_ = open_round(db, document, person)
    token = rounds.mint_link(db, participant(db, round_, member).id)
    db.commit()
    run_worker()  # the invitations

    client, review = linked_client(app, f"/l/{token}")
    page = client.get(review).get_data(as_text=True)
    assert client.post(review + "verdict", data={"value": "niet_akkoord", "reason": "Artikel 2 klopt niet",
                                                 "csrf_token": csrf_token(page)}).status_code == 303
    run_worker()
    subject = NL.gettext("Confirmation: you said %(verdict)s to “%(title)s” version %(number)s") % {
        "verdict": "niet akkoord", "title": document.title, "number": version.number}
    mail = mail_to(mail_store, member.person.email, lambda m: m.subject == subject)
    text, html = mail.text_body(), mail.html_body()

    assert kenmerk(version.content_hash) in text and kenmerk(version.content_hash) in html
    assert not HEX64.search(text) and not HEX64.search(html), "no full hash in a mail"
    # The coordinator by the network's name for them, and how to reach them; never the person's own name.
    assert "Dr. A. Jansen, coördinator" in text and person.email in text and "Ans Eigen" not in text
    assert f'href="mailto:{person.email}"' in html
    # The personal link again, its own (minted for this mail), and it opens the member's page.
    links = [url for url in mail.links() if "/l/" in url]
    assert len(links) == 1 and token not in links[0]
    again, review_again = linked_client(app, links[0])
    assert review_again == review and again.get(review_again).status_code == 200


def test_a_confirmation_sent_again_revokes_the_first_attempts_link_and_a_closed_round_gets_none(db):
    network, coordinator, people = make_network(db, members=1)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    verdict = rounds.record_verdict(db, member, value="akkoord", reason="", evidence=rounds.Evidence())
    db.flush()
    mail = db.scalar(select(MailMessage).where(MailMessage.idempotency_key == f"verdict_confirmation:{verdict.id}"))
    assert mail.params["participant_id"] == member.id

    first = emails.mint(db, mail, first_attempt=True)
    second = emails.mint(db, mail, first_attempt=False)  # a crash after sending: the mail goes again
    links = db.scalars(select(PersonalLink).where(PersonalLink.outbox_id == mail.id).order_by(PersonalLink.id)).all()
    assert first and second and first != second
    assert [link.revoked_at is not None for link in links] == [True, False], "one live link from one message"

    rounds.close_round(db, round_, actor=coordinator)
    assert emails.mint(db, mail, first_attempt=False) is None  # a confirmation still goes, without a link
    db.expire_all()
    assert all(link.revoked_at is not None for link in db.scalars(
        select(PersonalLink).where(PersonalLink.outbox_id == mail.id)))


def test_the_full_hash_stays_in_the_evidence_and_elsewhere_a_kenmerk(app, db, run_worker, mail_store):
    network, coordinator, people, document, version = final_document(db)
    db.commit()
    run_worker()  # the final files, then the final mail
    member = people[1]
    final = mail_to(mail_store, member.person.email, lambda m: m.attachments())
    assert kenmerk(version.content_hash) in final.text_body() and not HEX64.search(final.text_body())
    assert not HEX64.search(final.html_body())

    # The staff page leads with the kenmerk; the full codes wait folded, for whoever checks a copy.
    staff = signed_in(app, db, coordinator)
    page = staff.get(f"/d/{document.id}").get_data(as_text=True)
    folded = page.split('<details class="evidence-codes">', 1)
    assert kenmerk(version.content_hash) in folded[0] and version.content_hash not in folded[0]
    assert version.content_hash in folded[1]
    # The evidence dossier keeps the full hash; the member's page shows none at all.
    assert version.content_hash in staff.get(f"/d/{document.id}/dossier.json").get_data(as_text=True)
    round_ = db.scalar(select(Round).where(Round.document_id == document.id))
    token = rounds.mint_link(db, participant(db, round_, member).id)
    db.commit()
    client, review = linked_client(app, f"/l/{token}")
    shown = client.get(review)
    assert shown.status_code == 200 and not HEX64.search(shown.get_data(as_text=True))


def test_mail_states_and_round_statuses_are_plain_dutch(app, db, run_worker):
    network, coordinator, people = make_network(db, members=1)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    run_worker()
    page = signed_in(app, db, coordinator).get(f"/r/{round_.id}").get_data(as_text=True)
    assert NL.gettext("sent") in page and "mailserver" not in page and "afgeleverd" not in page

    now = utcnow()
    states = {
        "pending": MailMessage(status="pending", failure=None, channel="mail"),
        "retrying": MailMessage(status="pending", failure="smtp_timeout", channel="mail", next_attempt_at=now),
        "sending": MailMessage(status="sending", failure=None, channel="mail"),
        "sent": MailMessage(status="sent", failure=None, channel="mail", sent_at=now),
        "failed": MailMessage(status="failed", failure="address_refused", channel="mail"),
    }
    words = {"pending": "waiting to be sent", "retrying": "not sent yet, will try again", "sending": "being sent",
             "sent": "sent", "failed": "could not be delivered"}
    with app.test_request_context(), force_locale("nl"):
        for state, item in states.items():
            said = str(outbox_state(item))
            assert NL.gettext(words[state]) in said, state
            assert "mailserver" not in said.split("<br>")[0], state  # the label; the reason may name a server
        rounds.close_round(db, round_, actor=coordinator, reason="superseded")
        assert round_status(round_) == NL.gettext("closed: a newer version came")
    db.rollback()


def test_comments_show_the_commenters_organisation(app, db, run_worker):
    network, coordinator, people = make_network(db, members=1)
    document, version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = people[1]  # Organisatie 0 <tag>
    rounds.add_comment(db, participant(db, round_, member), body="Graag de apotheek noemen.",
                       block_id=version.blocks[1]["id"])
    token = rounds.mint_link(db, participant(db, round_, member).id)
    db.commit()
    said = f"<strong>{member.name}</strong> — {member.organisation.name}"
    client, review = linked_client(app, f"/l/{token}")
    assert said in client.get(review).get_data(as_text=True)
    assert said in client.get(review + "comments").get_data(as_text=True)
    assert said in signed_in(app, db, coordinator).get(f"/r/{round_.id}").get_data(as_text=True)
    run_worker()  # no mail left waiting for the next test's outbox sweep


def _two_rounds(db, *, visibility: str = "all"):
    """Round 1 on version 1 with a comment from each of two members, processed and closed; round 2 open on
    version 2. (network, coordinator, people, round 1, round 2, the comments)."""
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    first = rounds.open_round(db, document, deadline=utcnow() + dt.timedelta(days=7),
                              message="", actor=coordinator, comment_visibility=visibility)
    made = [rounds.add_comment(db, participant(db, first, who), body=f"Opmerking van {who.name}")
            for who in (people[1], people[2])]
    for comment, disposition in zip(made, ("overgenomen", "niet_overgenomen")):
        comments.process_comment(db, comment, disposition=disposition, answer="Zie versie 2", actor=coordinator)
    rounds.close_round(db, first, actor=coordinator)
    documents.upload_version(db, document, filename="v2.md", data=b"# Tweede\n\nNieuwe tekst.\n",
                             change_note="tweede", actor=coordinator)
    second = open_round(db, document, coordinator)
    return network, coordinator, people, first, second, made


def test_members_read_the_commentaartabel_of_a_processed_round(app, db, run_worker, mail_store):
    network, coordinator, people, first, second, made = _two_rounds(db)
    _n, other_coordinator, _p = make_network(db, members=0)  # a round of another network's document
    other_document, _v = make_document(db, _n, other_coordinator)
    other_round = open_round(db, other_document, other_coordinator)
    rounds.close_round(db, other_round, actor=other_coordinator)
    db.commit()
    run_worker()
    # The round-2 invitation tells the member what became of their comment and links to the whole table.
    invitation = mail_to(mail_store, people[1].person.email, lambda m: "?to=commentaartabel" in (m.text_body() or ""))
    url = next(u for u in invitation.links() if "to=commentaartabel" in u)
    client = app.test_client()
    landed = client.get("/l/" + url.rsplit("/l/", 1)[1])
    member_page = participant(db, second, people[1]).id
    assert landed.headers["Location"].endswith(f"/review/{member_page}/commentaartabel/{first.id}")
    table = client.get(landed.headers["Location"])
    assert table.status_code == 200
    text = table.get_data(as_text=True)
    assert all(c.body in text for c in made), "every member sees every comment of an open round"
    assert people[2].organisation.name in text and "niet overgenomen" in text

    # The review page of round 2 links to the tables; the list names round 1.
    review = f"/review/{member_page}/"
    assert f"/review/{member_page}/commentaartabel" in client.get(review).get_data(as_text=True)
    listing = client.get(review + "commentaartabel").get_data(as_text=True)
    assert f"/review/{member_page}/commentaartabel/{first.id}" in listing
    # Not the open round, and no other document's round.
    assert client.get(f"{review}commentaartabel/{second.id}").status_code == 404
    assert client.get(f"{review}commentaartabel/{other_round.id}").status_code == 404


def test_in_a_group_only_round_a_member_sees_only_their_own_rows_with_their_numbers(app, db, run_worker):
    network, coordinator, people, first, second, made = _two_rounds(db, visibility="group")
    token = rounds.mint_link(db, participant(db, second, people[2]).id)
    db.commit()
    client, review = linked_client(app, f"/l/{token}")
    text = client.get(f"{review}commentaartabel/{first.id}").get_data(as_text=True)
    assert made[1].body in text and made[0].body not in text and people[1].name not in text
    assert re.search(r'data-label="[^"]*">2</td>', text), "the number in the whole table"
    run_worker()


def test_a_round_not_yet_processed_has_no_table_for_members(app, db, run_worker):
    network, coordinator, people = make_network(db, members=1)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    rounds.add_comment(db, participant(db, round_, people[1]), body="Nog niet verwerkt.")
    token = rounds.mint_link(db, participant(db, round_, people[1]).id)
    db.commit()
    client, review = linked_client(app, f"/l/{token}")
    assert client.get(f"{review}commentaartabel/{round_.id}").status_code == 404  # open
    rounds.close_round(db, round_, actor=coordinator)
    db.commit()
    assert client.get(f"{review}commentaartabel/{round_.id}").status_code == 404  # closed, not processed
    assert f"{review}commentaartabel/{round_.id}" not in client.get(f"{review}commentaartabel").get_data(as_text=True)
    comments.process_comment(db, db.scalar(select(Comment).where(Comment.round_id == round_.id)),
                             disposition="voor_kennisgeving", answer="", actor=coordinator)
    db.commit()
    fresh(db)
    assert client.get(f"{review}commentaartabel/{round_.id}").status_code == 200
    run_worker()
