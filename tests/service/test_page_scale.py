"""The staff pages cost the same whatever the size of the network (issue 13): the same number of SQL statements (at
most 15) for 20 and for 200 members, one page of rows at most, and the same people and figures as the full lists."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event, select

from storage.database.models import Membership, Participant, utcnow
from tests.factories import DRAFT_TEXT, make_document, make_network, open_round
from tests.service.test_staff_pages import signed_in
from workflows.domain import attention, decisions, documents, listing, meetings, minutes, rounds
from workflows.domain import comments as comment_rules

MAX_STATEMENTS = 15


def build(db, members: int, comments: int):
    """A network of `members` members with a document that had two rounds: the first closed with everyone's verdict,
    the second open with a third of them (some niet akkoord) and `comments` comments, some processed."""
    network, coordinator, people = make_network(db, members=members - 2)
    document, _version = make_document(db, network, coordinator)
    first = open_round(db, document, coordinator)
    for voter in db.scalars(select(Participant).where(Participant.round_id == first.id, Participant.can_vote)):
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    rounds.close_round(db, first, actor=coordinator)
    documents.upload_version(db, document, filename="concept.md", data=DRAFT_TEXT.replace("goede", "betere").encode(),
                             change_note="tweede concept", actor=coordinator)
    round_ = open_round(db, document, coordinator)
    voters = list(db.scalars(select(Participant).where(Participant.round_id == round_.id, Participant.can_vote)
                            .order_by(Participant.id)))
    for i, voter in enumerate(voters[: len(voters) // 3]):
        rounds.record_verdict(db, voter, value="niet_akkoord" if i % 4 == 1 else "akkoord",
                              reason="De kosten zijn onduidelijk." if i % 4 == 1 else "", evidence=rounds.Evidence())
    for n in range(comments):
        comment = rounds.add_comment(db, voters[n % len(voters)], body=f"Opmerking {n}: graag concreter.")
        if n % 3 == 0:
            comment_rules.process_comment(db, comment, disposition="overgenomen", answer="", actor=coordinator)
    db.commit()
    return network, coordinator, document, round_


def pages(network, document, round_) -> dict[str, str]:
    return {"network": f"/n/{network.id}", "document": f"/d/{document.id}", "round": f"/r/{round_.id}",
            "processing": f"/r/{round_.id}/processing", "dashboard": "/"}


def statements(app, client, path: str) -> tuple[int, str]:
    """The statements of one warm request for the page, and the page."""
    engine = app.extensions["akkoord_engine"]
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    assert client.get(path).status_code == 200
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, path
    return len(seen), response.get_data(as_text=True)


def test_each_staff_page_makes_the_same_statements_at_20_and_200_members(app, db):
    small, large = build(db, 20, 10), build(db, 200, 120)
    figures = {}
    for size, (network, coordinator, document, round_) in (("small", small), ("large", large)):
        client = signed_in(app, db, coordinator)
        figures[size] = {name: statements(app, client, path) for name, path in pages(network, document, round_).items()}
    for name in figures["small"]:
        small_count, large_count = figures["small"][name][0], figures["large"][name][0]
        assert small_count == large_count <= MAX_STATEMENTS, (name, small_count, large_count)

    # At 200 members, the long lists show one page at a time, with page links.
    network_page = figures["large"]["network"][1]
    members = network_page[network_page.index('id="members"'):].split("</table>")[0]
    assert members.count("<tr>") - 1 == listing.PER_PAGE  # the header row and one page of members
    assert '<nav class="pagination" aria-label=' in network_page and 'aria-current="page"' in network_page
    round_page = figures["large"]["round"][1]
    assert round_page.count("<tr data-filters=") == listing.PER_PAGE
    assert round_page.count('<article class="comment"') == listing.PER_PAGE
    assert f'href="/r/{large[3].id}?page=2#everyone"' in round_page
    assert f'href="/r/{large[3].id}?comments_page=2#comments"' in round_page
    document_page = figures["large"]["document"][1]
    matrix = document_page[document_page.index('id="matrix"'):].split("</table>")[0]
    assert matrix.count('<th scope="row">') == listing.PER_PAGE
    processing = figures["large"]["processing"][1]
    assert processing.count('class="comment') <= listing.PER_PAGE


def test_the_next_pages_hold_the_rest_and_a_search_finds_a_member(app, db):
    network, coordinator, document, round_ = build(db, 120, 60)
    client = signed_in(app, db, coordinator)
    second = client.get(f"/r/{round_.id}?page=2").get_data(as_text=True)
    third = client.get(f"/r/{round_.id}?page=3").get_data(as_text=True)
    assert second.count("<tr data-filters=") == listing.PER_PAGE and third.count("<tr data-filters=") == 20
    assert 'data-complete="false"' in second  # the script filters in place only a complete list
    assert re.search(r'aria-current="page"><span class="visually-hidden">[^<]*</span>3</a>', third)
    # A page past the end shows the last one; the comments have pages of their own.
    assert client.get(f"/r/{round_.id}?page=99").get_data(as_text=True).count("<tr data-filters=") == 20
    comments = client.get(f"/r/{round_.id}?comments_page=2").get_data(as_text=True)
    assert comments.count('<article class="comment"') == 10 and "Opmerking 59:" in comments
    # The members: searched by name or organisation with a GET form, a page at a time.
    page = client.get(f"/n/{network.id}?q=Member+117").get_data(as_text=True)
    members = page[page.index('id="members"'):].split("</table>")[0]
    assert members.count("<tr>") == 2 and "Member 117 " in members
    assert 'method="get"' in page and 'name="q" value="Member 117"' in page
    nobody = client.get(f"/n/{network.id}?q=nobody-by-this-name").get_data(as_text=True)
    assert nobody.count("<tr>") == 0 or "nobody-by-this-name" in nobody
    last = client.get(f"/n/{network.id}?page=3").get_data(as_text=True)
    assert last[last.index('id="members"'):].split("</table>")[0].count("<tr>") - 1 == 120 - 2 * listing.PER_PAGE


@pytest.mark.parametrize("rule", ["person", "organisation"])
def test_the_paged_round_lists_show_what_the_full_overview_shows(app, db, rule):
    """The counts in SQL and the pages agree with `attention.round_overview` (which reads every participant)."""
    network, coordinator, people = make_network(db, members=12, observers=2)
    if rule == "organisation":
        decisions.set_network_rule(db, network, "organisation", actor=coordinator)
        for member in people[1:5]:  # a representative in each of the two organisations, twice
            decisions.set_representative(db, member, True, actor=coordinator)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    voters = list(db.scalars(select(Participant).where(Participant.round_id == round_.id, Participant.can_vote)
                            .order_by(Participant.id)))
    for i, voter in enumerate(voters[:9]):
        rounds.record_verdict(db, voter, value=("niet_akkoord", "akkoord", "akkoord_met_opmerkingen")[i % 3],
                              reason="Nog niet." if i % 3 == 0 else "", evidence=rounds.Evidence())
    db.commit()
    full = attention.round_overview(db, round_)
    for shown in attention.FILTERS:
        paged = listing.round_people(db, round_, shown=shown, per_page=5, limit=4)
        assert (paged.counts, paged.invited, paged.decided) == (full.counts, full.invited, full.decided)
        assert paged.filter_counts() == full.filter_counts()
        everyone = [e.participant.id for e in full.shown(shown)]
        assert [e.participant.id for e in paged.everyone.items] == everyone[:5]
        assert [e.filters for e in paged.everyone.items] == [e.filters for e in full.shown(shown)[:5]]
        waiting = [e.participant.id for p in full.waiting for e in p.entries]
        assert [e.participant.id for p in paged.waiting for e in p.entries] == waiting[:4]
        assert paged.waiting_entries == len(waiting)
        assert [(a.name, a.is_organisation) for a in paged.against] == \
            [(p.name, p.is_organisation) for p in full.against][:4]
        last = listing.round_people(db, round_, shown=shown, page=99, per_page=5)
        assert [e.participant.id for e in last.everyone.items] == everyone[(last.everyone.pages - 1) * 5:]


def _busy_networks(db, coordinator, count: int):
    """`count` more networks of `coordinator`, each with a round closing soon, a closed round with a comment still
    to process, a document everyone agreed on, a mail that failed and an overdue action point: everything the
    dashboard lists."""
    from storage.database.models import MailMessage
    from workflows.domain import membership
    for n in range(count):
        network = membership.create_network(db, f"Netwerk {n} {coordinator.id}", coordinator=coordinator)
        for i in range(3):
            membership.add_member(db, network, name=f"Lid {i}", email=f"lid{i}-{n}-{coordinator.id}@example.org",
                                  organisation_name="", role="member", actor=coordinator)
        soon, _v = make_document(db, network, coordinator)
        open_round(db, soon, coordinator, days=1)
        commented, _v = make_document(db, network, coordinator)
        closed = open_round(db, commented, coordinator)
        voter = db.scalar(select(Participant).where(Participant.round_id == closed.id, Participant.can_vote))
        rounds.add_comment(db, voter, body="Graag concreter.")
        rounds.close_round(db, closed, actor=coordinator)
        agreed, _v = make_document(db, network, coordinator)
        held = open_round(db, agreed, coordinator)
        for voter in db.scalars(select(Participant).where(Participant.round_id == held.id, Participant.can_vote)):
            rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
        mail = db.scalar(select(MailMessage).where(MailMessage.network_id == network.id).limit(1))
        mail.status, mail.failure = "failed", "address_refused"
        # A meeting held last week whose action point is past its due date.
        held = utcnow() - dt.timedelta(days=7)
        meeting = meetings.plan_meeting(db, network, meetings.Plan(
            title="Bijeenkomst", starts_at=held, duration_minutes=120, place="Utrecht"), actor=coordinator,
            now=held - dt.timedelta(days=30))
        owner = db.scalar(select(Membership).where(Membership.network_id == network.id, Membership.role == "member"))
        minutes.add_action_point(db, meeting, minutes.ActionInput(
            "Verslag rondsturen", owner.id, minutes.today() - dt.timedelta(days=1)), actor=coordinator)
    db.commit()


def test_the_dashboard_makes_the_same_statements_for_one_network_and_for_five(app, db):
    counts = {}
    for extra in (0, 4):
        network, coordinator, _people = make_network(db, members=3)
        _busy_networks(db, coordinator, 1 + extra)
        client = signed_in(app, db, coordinator)
        counts[extra], page = statements(app, client, "/")
        # Every network's round closing soon, comments to process, agreed document and failed mail is listed.
        for heading in ("attention-closing", "attention-comments", "attention-ready", "attention-mail",
                        "attention-actions"):
            section = page[page.index(f'id="{heading}"'):].split("</ul>")[0]
            assert section.count("<li>") == 1 + extra, (heading, section)
    assert counts[0] == counts[4] <= MAX_STATEMENTS, counts
