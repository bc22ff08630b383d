"""Per-network identity: one address in two networks under two names. Each network shows only the name it gave
the person (on its pages, in its mails, in the verdict evidence, the commentaartabel, the approval annex, its
webhook posts and its API answers), never the name the other network stored."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import docx
import pytest
from sqlalchemy import select

from storage.database.models import (
    Comment,
    Document,
    MailMessage,
    Membership,
    Network,
    Participant,
    Person,
    Round,
    Verdict,
    Version,
    utcnow,
)
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, participant, unique
from tests.service.test_staff_pages import signed_in, submit
from tests.webhooks.conftest import make_receiver  # noqa: F401 - a fixture: a real HTTP receiver
from workflows.domain import (
    api_tokens,
    commentaartabel,
    documents,
    exports,
    finalising,
    membership,
    rounds,
    signin,
    webhooks,
)
from workflows.outbound import jobs

API = "/api/v1"
# Neither is part of the other, and the second is not Latin-1 (the To header encodes it).
NAMES = ("Anna Bakker", "dr. Ánna Smit-Łukasiewicz")


@dataclass
class Side:
    """One of the two networks, with the shared person's membership in it and what they did there."""

    network: Network
    coordinator: Person
    member: Membership  # someone who is only in this network
    shared: Membership
    document: Document
    version: Version
    round: Round
    participant: Participant
    name: str
    other: str  # the name the other network gave the same person

    def shows_only_its_own(self, text: str, where: str) -> None:
        assert not self.problems(text, where), self.problems(text, where)

    def problems(self, text: str, where: str) -> list[str]:
        """What is wrong with `text` as something this network shows of the shared person (nothing: [])."""
        return ([f"{where}: {self.name!r} missing"] if self.name not in text else []) + \
            ([f"{where}: the other network's name {self.other!r} shown"] if self.other in text else [])


@pytest.fixture
def sides(db) -> list[Side]:
    """The same address joins network A as NAMES[0] and network B as NAMES[1] (an editor in both); in each, that
    person uploads the document, opens its round, comments and answers in its thread."""
    address = f"{unique('gedeeld')}@example.org"
    made = []
    for name, other in (NAMES, NAMES[::-1]):
        network, coordinator, people = make_network(db, members=1, editors=0)
        shared = membership.add_member(db, network, name=name, email=address, organisation_name=f"Praktijk {unique('o')}",
                                       role="editor", actor=coordinator)
        document, version = make_document(db, network, shared.person)
        round_ = rounds.open_round(db, document, deadline=utcnow() + dt.timedelta(days=14), message="Graag reageren",
                                   actor=shared.person)
        own = participant(db, round_, shared)
        comment = rounds.add_comment(db, own, body=f"Opmerking uit {network.name}", block_id=version.blocks[1]["id"])
        rounds.add_reply(db, comment.id, body="Wij nemen het mee.", staff=shared.person)
        made.append(Side(network, coordinator, people[0], shared, document, version, round_, own, name, other))
    db.commit()
    assert made[0].shared.person_id == made[1].shared.person_id
    return made


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_each_networks_pages_show_its_own_name_for_the_person(app, db, sides):
    for side in sides:
        invitation = db.scalar(select(MailMessage).where(MailMessage.round_id == side.round.id,
                                                         MailMessage.person_id == side.shared.person_id))
        invitation.status, invitation.attempts, invitation.failure = "failed", 1, "address_refused"
    db.commit()
    problems = []
    for side in sides:
        client = signed_in(app, db, side.coordinator)
        for path in (f"/n/{side.network.id}", f"/r/{side.round.id}", f"/r/{side.round.id}/processing",
                     f"/r/{side.round.id}/commentaartabel", f"/d/{side.document.id}", f"/v/{side.version.id}",
                     f"/n/{side.network.id}/mail"):
            page = client.get(path)
            assert page.status_code == 200, path
            problems += side.problems(page.get_data(as_text=True), path)
        # A coordinator's acts that name the person: a new link, and an address the person shares with another
        # network (refused, naming them).
        resent = submit(client, f"/r/{side.round.id}", f"/r/{side.round.id}/participants/{side.participant.id}/resend",
                        {}, follow_redirects=True)
        problems += side.problems(resent.get_data(as_text=True), "flash after a new link")
        correction = submit(client, f"/n/{side.network.id}/mail", f"/n/{side.network.id}/members/{side.shared.id}/email",
                            {"email": f"{unique('nieuw')}@example.org"})
        assert correction.status_code == 409
        problems += side.problems(correction.get_data(as_text=True), "address shared with another network")
    assert not problems, problems

    for side in sides:  # the person's own page in a round says whom they respond as, by that network's name
        token = rounds.mint_link(db, side.participant.id)
        db.commit()
        member = app.test_client()
        review = member.get(f"/l/{token}").headers["Location"]
        side.shows_only_its_own(member.get(review).get_data(as_text=True), "review page")


def test_the_coordinators_flash_after_removing_the_person_uses_the_networks_name(app, db, sides):
    side = sides[1]
    client = signed_in(app, db, side.coordinator)
    page = f"/n/{side.network.id}"
    action = f"/n/{side.network.id}/members/{side.shared.id}/remove"
    step = submit(client, page, action, {})
    assert step.status_code == 200
    side.shows_only_its_own(step.get_data(as_text=True), "the confirmation step")
    removed = submit(client, page, action, {"confirmed": "yes"}, follow_redirects=True)
    side.shows_only_its_own(removed.get_data(as_text=True), "after removal")


def test_mails_greet_the_person_by_the_name_the_mails_network_knows_them_by(app, db, sides, run_worker, mail_store):
    address = sides[0].shared.person.email
    run_worker()
    mails = mail_store.wait_for(lambda ms: len(ms) >= 6)  # the invitations: three a network
    for side in sides:
        title = side.document.title
        [own] = [m for m in mails if m.to == [address] and title in m.subject]
        side.shows_only_its_own(str(own.message["To"]), "To header")
        assert own.message["To"].addresses[0].display_name == side.name
        assert own.text_body().startswith(f"Beste {side.name},")
        side.shows_only_its_own(own.text_body() + own.html_body(), "invitation to the shared person")
        # The other member is invited by the shared person, named as this network knows them.
        [theirs] = [m for m in mails if m.to == [side.member.person.email] and title in m.subject]
        side.shows_only_its_own(theirs.text_body() + theirs.html_body(), "invitation by the shared person")

    # Round closed without the shared person's verdict: the coordinator's summary lists them as not answering.
    mail_store.clear()
    for side in sides:
        rounds.close_round(db, db.get(Round, side.round.id), actor=side.coordinator)
        db.commit()
    run_worker()
    mails = mail_store.wait_for(lambda ms: len(ms) >= 2 * (2 + 3))  # 2 summaries and 3 outcomes a network
    for side in sides:
        title = side.document.title
        about = [m for m in mails if title in m.subject]
        [summary] = [m for m in about if m.to == [side.coordinator.email] and "reageerden" in m.subject]
        side.shows_only_its_own(summary.text_body(), "round summary: who did not respond")
        for mail in (m for m in about if m.to == [address]):
            side.shows_only_its_own(mail.text_body() + str(mail.message["To"]), mail.subject)

    # A sign-in mail is about no network: it greets by the name of the person's newest membership (network B's).
    mail_store.clear()
    signin.request_sign_in(db, address)
    db.commit()
    run_worker()
    [sign_in] = mail_store.wait_for(lambda ms: len(ms) >= 1)
    assert sign_in.text_body().startswith(f"Beste {NAMES[1]},") and NAMES[0] not in sign_in.text_body()
    assert sign_in.message["To"].addresses[0].display_name == NAMES[1]


def test_verdicts_the_commentaartabel_the_annex_and_webhook_posts_carry_each_networks_name(
        app, db, sides, run_worker, mail_store, make_receiver, monkeypatch):  # noqa: F811
    monkeypatch.setattr(jobs.current(), "webhook_allow_private", True)
    receivers = {}
    for side in sides:
        receivers[side.network.id] = make_receiver()
        webhooks.register(db, side.network.id, url=receivers[side.network.id].url, events=["verdict.given"],
                          actor=side.coordinator, allow_private=True)
    db.commit()
    for side in sides:
        for voter in db.scalars(select(Participant).where(Participant.round_id == side.round.id)):
            rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
        finalising.finalise_document(db, side.document, side.version, actor=side.coordinator)
        db.commit()
    run_worker()

    for side in sides:
        evidence = db.scalar(select(Verdict).where(Verdict.participant_id == side.participant.id))
        assert evidence.person_name == side.name
        rows = commentaartabel.rows_for_round(db, side.round.id)
        assert [row.person for row in rows] == [side.name]
        for fmt in ("docx", "xlsx"):
            _filename, _type, data = commentaartabel.export(db, side.round.id, fmt)
            assert data
        table = docx_text(commentaartabel.export(db, side.round.id, "docx")[2])
        side.shows_only_its_own(table, "commentaartabel.docx")
        _version, [(_title, annex)] = exports.approval_annex(db, side.document)
        annex_names = [row[0]["blocks"][0]["text"] for row in annex[-1]["rows"][1:]]
        assert side.name in annex_names and side.other not in annex_names
        fresh(db)
        _name, _type, final_docx = exports.stored_final_file(db, side.document, "docx")
        side.shows_only_its_own(docx_text(final_docx), "final .docx")
        posted = [r.json for r in receivers[side.network.id].requests]
        by_address = {p["data"]["verdict"]["person_email"]: p["data"]["verdict"]["person_name"] for p in posted}
        assert by_address[side.shared.person.email] == side.name

    confirmations = [m for m in mail_store.list() if m.to == [sides[0].shared.person.email]
                     and m.subject.startswith("Bevestiging")]
    assert len(confirmations) == 2
    for side in sides:
        [mail] = [m for m in confirmations if side.document.title in m.subject]
        side.shows_only_its_own(mail.text_body(), "verdict confirmation")


def test_the_api_of_each_network_answers_with_its_own_name(app, db, sides):
    client = app.test_client()
    for side in sides:
        member_token = rounds.mint_link(db, side.participant.id)
        _row, token = api_tokens.create_token(db, side.network, side.coordinator, role="coordinator", name="koppeling")
        db.commit()
        headers = {"Authorization": f"Bearer {token}"}
        person_id = side.shared.person_id
        for path in (f"/networks/{side.network.id}/members", f"/members/{side.shared.id}", f"/people/{person_id}",
                     f"/rounds/{side.round.id}/participants", f"/rounds/{side.round.id}/comments",
                     f"/rounds/{side.round.id}/commentaartabel", f"/documents/{side.document.id}",
                     f"/documents/{side.document.id}/versions", f"/documents/{side.document.id}/standings"):
            answer = client.get(API + path, headers=headers)
            assert answer.status_code == 200, (path, answer.get_data(as_text=True))
            side.shows_only_its_own(answer.get_data(as_text=True), path)
        own = client.get(f"{API}/participation", headers={"Authorization": f"Bearer {member_token}"})
        assert own.get_json()["person"]["name"] == side.name
        assert own.get_json()["version"]["author"]["name"] == side.name
        comments = client.get(f"{API}/participation/comments", headers={"Authorization": f"Bearer {member_token}"})
        assert {c["person_name"] for c in comments.get_json()["items"]} == {side.name}
        verdict = client.post(f"{API}/participation/verdicts", json={"value": "akkoord", "reason": ""},
                              headers={"Authorization": f"Bearer {member_token}"})
        assert verdict.status_code == 201 and verdict.get_json()["person_name"] == side.name
        listed = client.get(f"{API}/rounds/{side.round.id}/verdicts", headers=headers).get_json()
        assert [v["person_name"] for v in listed["items"]] == [side.name]
        added = client.post(f"{API}/networks/{side.network.id}/members", headers=headers,
                            json={"name": f"Nieuw {side.name}", "email": f"{unique('nieuw')}@example.org"})
        assert added.status_code == 201 and added.get_json()["person"]["name"] == f"Nieuw {side.name}"

    for side in sides:  # the invitation the shared person could not receive, in each network's mail list
        invitation = db.scalar(select(MailMessage).where(MailMessage.round_id == side.round.id,
                                                         MailMessage.person_id == side.shared.person_id))
        invitation.status, invitation.attempts, invitation.failure = "failed", 1, "address_refused"
        _row, token = api_tokens.create_token(db, side.network, side.coordinator, role="coordinator", name="post")
        db.commit()
        listed = client.get(f"{API}/networks/{side.network.id}/mail", headers={"Authorization": f"Bearer {token}"})
        assert [m["person"]["name"] for m in listed.get_json()["items"]] == [side.name]
        again = client.post(f"{API}/mail/{invitation.id}/send-again", headers={"Authorization": f"Bearer {token}"})
        assert again.status_code == 200 and again.get_json()["person"]["name"] == side.name


def test_a_csv_import_names_a_known_address_as_the_importing_network_does(app, db):
    address = f"{unique('bekend')}@example.org"
    first, first_coordinator, _people = make_network(db, members=0, editors=0)
    membership.add_member(db, first, name=NAMES[0], email=address, organisation_name="", role="member",
                          actor=first_coordinator)
    second, coordinator, _people = make_network(db, members=0, editors=0)
    db.commit()
    client = signed_in(app, db, coordinator)
    csv = f"naam,email,organisatie,rol\n{NAMES[1]},{address},Apotheek,lid\n".encode()
    page = f"/n/{second.id}"
    response = submit(client, page, f"/n/{second.id}/members/import", {"file": (io.BytesIO(csv), "leden.csv")},
                      content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    listed = client.get(page).get_data(as_text=True)
    assert NAMES[1] in listed and NAMES[0] not in listed
    fresh(db)
    names = dict(db.execute(select(Membership.network_id, Membership.name)
                            .join(Person, Membership.person_id == Person.id).where(Person.email == address)).all())
    assert names == {first.id: NAMES[0], second.id: NAMES[1]}
    first_page = signed_in(app, db, first_coordinator).get(f"/n/{first.id}").get_data(as_text=True)
    assert NAMES[0] in first_page and NAMES[1] not in first_page


def test_a_new_network_knows_its_coordinator_by_the_name_they_type_there(app, db, sides):
    client = signed_in(app, db, sides[0].shared.person)
    dashboard = client.get("/").get_data(as_text=True)
    # Their own name, shown to them alone and offered for the new network: the newest one they were given.
    assert f"Welkom, {NAMES[1]}" in dashboard and f'value="{NAMES[1]}"' in dashboard and NAMES[0] not in dashboard
    created = client.post("/networks", data={"csrf_token": csrf_token(dashboard), "name": f"Netwerk {unique('n')}",
                                             "your_name": "Anna S."})
    assert created.status_code == 303
    network_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    fresh(db)
    coordinator = db.scalar(select(Membership).where(Membership.network_id == network_id))
    assert (coordinator.person_id, coordinator.role, coordinator.name) == (sides[0].shared.person_id, "coordinator",
                                                                           "Anna S.")
    page = client.get(f"/n/{network_id}").get_data(as_text=True)
    assert "Anna S." in page and NAMES[0] not in page and NAMES[1] not in page


def replies(page: str) -> str:
    """The replies in the page's comment threads (not the comments they answer)."""
    return "".join(part.split("</ol>")[0] for part in page.split('<ol class="replies"')[1:])


def test_comments_on_the_staff_and_member_pages_name_their_author_as_the_network_does(app, db, sides):
    for side in sides:
        fresh(db)
        assert db.scalar(select(Comment.person_id).where(Comment.round_id == side.round.id).limit(1)) \
            == side.shared.person_id
        client = signed_in(app, db, side.coordinator)
        page = client.get(f"/r/{side.round.id}").get_data(as_text=True)
        comments_at = page.find('id="comments"')
        side.shows_only_its_own(page[comments_at:], "round page comments")
        side.shows_only_its_own(replies(page), "round page replies")
        side.shows_only_its_own(replies(client.get(f"/r/{side.round.id}/processing").get_data(as_text=True)),
                                "processing page replies")
        token = rounds.mint_link(db, participant(db, side.round, side.member).id)
        db.commit()
        member = app.test_client()
        review = member.get(f"/l/{token}").headers["Location"]
        side.shows_only_its_own(member.get(review + "comments").get_data(as_text=True), "member's comment list")


def test_a_version_that_addresses_a_comment_names_its_author_as_the_network_does(app, db, sides):
    for side in sides:
        comment_id = db.scalar(select(Comment.id).where(Comment.round_id == side.round.id, Comment.parent_id.is_(None)))
        newer = documents.upload_version(db, side.document, filename="v2.md", data=b"# Nieuw\n\nTekst.\n",
                                         change_note="verwerkt", actor=side.coordinator, addresses=[comment_id])
        db.commit()
        page = signed_in(app, db, side.coordinator).get(f"/v/{newer.id}").get_data(as_text=True)
        addressed_at = page.find("<details>")
        assert addressed_at > 0
        side.shows_only_its_own(page[addressed_at:], "the comments a version addresses")


def test_a_finalisation_refused_names_who_has_not_agreed_as_the_network_does(app, db, sides):
    client = app.test_client()
    for side in sides:
        _row, token = api_tokens.create_token(db, side.network, side.coordinator, role="coordinator", name="final")
        db.commit()
        refused = client.post(f"{API}/documents/{side.document.id}/finalise", json={"version_id": side.version.id},
                              headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 409 and refused.get_json()["code"] == "not_unanimous"
        side.shows_only_its_own(str([m["name"] for m in refused.get_json()["missing"]]), "not unanimous")


def test_a_corrected_address_is_confirmed_with_the_networks_name_not_one_left_behind_elsewhere(app, db):
    address = f"{unique('weg')}@example.org"
    first, first_coordinator, _people = make_network(db, members=0, editors=0)
    left = membership.add_member(db, first, name=NAMES[0], email=address, organisation_name="", role="member",
                                 actor=first_coordinator)
    membership.remove_member(db, left, actor=first_coordinator)
    second, coordinator, _people = make_network(db, members=0, editors=0)
    member = membership.add_member(db, second, name=NAMES[1], email=address, organisation_name="", role="member",
                                   actor=coordinator)
    db.commit()
    client = signed_in(app, db, coordinator)
    page = f"/n/{second.id}/mail"
    corrected = submit(client, page, f"/n/{second.id}/members/{member.id}/email",
                       {"email": f"{unique('juist')}@example.org"}, follow_redirects=True)
    text = corrected.get_data(as_text=True)
    assert corrected.status_code == 200 and NAMES[1] in text and NAMES[0] not in text


def test_the_command_line_knows_a_known_address_as_coordinator_by_the_name_given_there(app, db, sides):
    address = sides[0].shared.person.email
    result = app.test_cli_runner().invoke(args=["create-network", f"Netwerk {unique('cli')}", "--coordinator-name",
                                                "A. Smit (coördinator)", "--coordinator-email", address])
    assert result.exit_code == 0, result.output
    fresh(db)
    newest = db.scalar(select(Membership).where(Membership.person_id == sides[0].shared.person_id)
                       .order_by(Membership.id.desc()).limit(1))
    assert (newest.role, newest.name) == ("coordinator", "A. Smit (coördinator)")
