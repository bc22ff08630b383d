"""The coordinator's pages lead with what needs attention (issue 12, problems 1 and 6): the round page's figures,
who still has to respond and who said niet akkoord, its list of everyone filtered without JavaScript; the dashboard
across networks; and the next step after each action."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from storage.database.models import MailMessage, Membership, Participant, Round, utcnow
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.service.test_staff_pages import signed_in, submit
from workflows.domain import comments, rounds


def say(db, round_, member, value="akkoord", reason=""):
    return rounds.record_verdict(db, participant(db, round_, member), value=value, reason=reason,
                                 evidence=rounds.Evidence())


def section(page: str, start: str, end: str) -> str:
    """The part of the page from the element with id `start` up to the one with id `end`."""
    return page[page.index(f'id="{start}"'):page.index(f'id="{end}"')]


def table_names(page: str) -> list[str]:
    body = page[page.index('id="everyone-table"'):].split("</tbody>")[0]
    return [name.strip() for name in re.findall(r"<tr data-filters=\"[^\"]*\">\s*<td>([^<]+)", body)]


@pytest.fixture
def voted(app, db):
    """A round by person: one akkoord, one niet akkoord with a reason, the rest (coordinator, editor, two members)
    without a verdict; one failed invitation."""
    network, coordinator, people = make_network(db, members=4, observers=1)
    editor, first, second, third, fourth, observer = people
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    say(db, round_, first)
    say(db, round_, second, "niet_akkoord", "De financiering ontbreekt nog.")
    failed = db.scalar(select(MailMessage).where(MailMessage.round_id == round_.id,
                                                 MailMessage.person_id == fourth.person_id))
    failed.status, failed.failure, failed.attempts = "failed", "address_refused", 1
    rounds.note_opened(db, participant(db, round_, third))
    db.commit()
    return network, coordinator, people, document, round_


def test_the_round_page_leads_with_the_figures_then_who_has_to_respond_then_niet_akkoord(app, db, voted):
    network, coordinator, people, document, round_ = voted
    editor, first, second, third, fourth, observer = people
    client = signed_in(app, db, coordinator)
    page = client.get(f"/r/{round_.id}").get_data(as_text=True)
    # The order: the figures, (the next step), the actions, who has no verdict yet, niet akkoord, everyone.
    order = [page.index(f'id="{anchor}"') for anchor in
             ("overview-heading", "actions-heading", "waiting", "against", "everyone", "comments")]
    assert order == sorted(order)
    overview = section(page, "overview-heading", "actions-heading")
    assert '<progress max="6" value="2"' in overview and 'aria-labelledby="round-progress-text"' in overview
    assert "2 van 6" in overview
    assert re.search(r"<strong>1</strong> akkoord<", overview) and re.search(r"<strong>1</strong> niet akkoord", overview)
    assert re.search(r"<strong>4</strong> nog geen oordeel", overview)
    waiting = section(page, "waiting", "against")
    for member in (editor, third, fourth):
        assert member.name in waiting
    assert first.name not in waiting and second.name not in waiting and observer.name not in waiting
    # Where each one's invitation stands, with the way to correct a failed one.
    fourth_part = waiting[waiting.index(fourth.name):].split("</li>")[0]
    assert 'class="badge bad"' in fourth_part and f"/n/{network.id}/mail?person={fourth.person_id}" in fourth_part
    third_part = waiting[waiting.index(third.name):].split("</li>")[0]
    assert 'class="badge ok"' in third_part  # opened
    against = section(page, "against", "everyone")
    assert second.name in against and "De financiering ontbreekt nog." in against and first.name not in against
    # The main actions are plain buttons, not behind a disclosure triangle.
    actions = section(page, "actions-heading", "waiting")
    assert "<details" not in page[:page.index('id="comments"')]
    assert f'action="/r/{round_.id}/remind"' in actions and f'action="/r/{round_.id}/close"' in actions
    assert 'href="#deadline"' in actions and f'action="/r/{round_.id}/deadline"' in page
    # Everyone, unfiltered: the list holds every participant, and the script may filter it in place.
    assert 'data-complete="true"' in page and len(table_names(page)) == 7
    assert f'href="/r/{round_.id}?toon=alle#everyone" data-filter="alle" aria-current="page"' in page


@pytest.mark.parametrize("shown, expected", [
    ("open", {"editor", "third", "fourth", "coordinator"}),
    ("niet-akkoord", {"second"}),
    ("akkoord", {"first"}),
    ("alle", {"editor", "first", "second", "third", "fourth", "observer", "coordinator"}),
])
def test_the_list_of_everyone_filters_without_javascript(app, db, voted, shown, expected):
    network, coordinator, people, document, round_ = voted
    names = dict(zip(("editor", "first", "second", "third", "fourth", "observer"), (m.name for m in people),
                     strict=True))
    names["coordinator"] = db.scalar(select(Membership.name).where(Membership.network_id == network.id,
                                                                   Membership.person_id == coordinator.id))
    client = signed_in(app, db, coordinator)
    page = client.get(f"/r/{round_.id}?toon={shown}").get_data(as_text=True)
    assert sorted(table_names(page)) == sorted(names[key] for key in expected)
    current = re.findall(r'data-filter="([a-z-]+)" aria-current="page"', page)
    assert current == [shown]
    assert ('data-complete="true"' in page) == (shown == "alle")
    # The tallies link to the same filters.
    assert f'href="/r/{round_.id}?toon=open#everyone"' in page


def test_a_strange_filter_shows_everyone(app, db, voted):
    _network, coordinator, _people, _document, round_ = voted
    page = signed_in(app, db, coordinator).get(f"/r/{round_.id}?toon=%3Cscript%3E").get_data(as_text=True)
    assert len(table_names(page)) == 7 and "<script>" not in page.split("</head>")[1]


def test_an_editor_sees_the_overview_without_the_coordinators_actions(app, db, voted):
    _network, _coordinator, people, _document, round_ = voted
    page = signed_in(app, db, people[0].person).get(f"/r/{round_.id}").get_data(as_text=True)
    assert 'id="waiting"' in page and 'id="actions-heading"' not in page and "/remind" not in page


def test_the_dashboard_shows_what_needs_attention_with_links_to_where_it_is_done(app, db, voted):
    network, coordinator, people, document, round_ = voted
    # The round closes within three days; another document has a closed round with a comment to process.
    round_.deadline = utcnow() + dt.timedelta(days=2)
    other, _v = make_document(db, network, coordinator)
    closed = open_round(db, other, coordinator)
    rounds.add_comment(db, participant(db, closed, people[1]), body="Graag een termijn.")
    rounds.close_round(db, closed, actor=coordinator)
    db.commit()
    page = signed_in(app, db, coordinator).get("/").get_data(as_text=True)
    attention = page[page.index('id="attention-heading"'):page.index("</section>", page.index('id="attention-heading"'))]
    closing = attention[attention.index(f'href="/r/{round_.id}#waiting"'):].split("</li>")[0]
    assert re.search(r"<strong>\D*4\D+6\D*</strong>", closing)  # 4 of the 6 verdicts still missing
    assert f'href="/r/{closed.id}/processing?show=todo"' in attention
    assert f'href="/n/{network.id}/mail"' in attention  # the failed invitation
    assert page.index('id="attention-heading"') < page.index("<h2>", page.index('id="attention-heading"') + 1)
    # A member who is staff nowhere sees no such section.
    member_page = signed_in(app, db, people[1].person).get("/").get_data(as_text=True)
    assert 'id="attention-heading"' not in member_page


def test_each_action_is_followed_by_a_hint_of_the_next_step(app, db):
    network, coordinator, people = make_network(db, members=2)
    document, version = make_document(db, network, coordinator)
    db.commit()
    client = signed_in(app, db, coordinator)
    # On the document page, the round to open is the next step, shown plainly (not behind a triangle).
    page = client.get(f"/d/{document.id}").get_data(as_text=True)
    assert 'id="next-step-heading"' in page and f'href="/d/{document.id}#open-round"' in page
    assert '<section id="open-round"' in page and '<details id="upload"' in page
    # After an upload: open a round on the new version.
    token = csrf_token(page)
    answer = client.post(f"/d/{document.id}/versions", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(b"# Tweede\n\nNieuwe tekst."), "v2.md"), "change_note": "twee"})
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'id="next-step-heading"' in page and f'href="/d/{document.id}#open-round"' in page
    # After opening a round: who still has to respond.
    answer = submit(client, f"/d/{document.id}", f"/d/{document.id}/rounds",
                    {"deadline": "2099-01-10T12:00", "message": "", "comment_visibility": "all"})
    assert answer.status_code == 303
    round_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/r/{round_id}").get_data(as_text=True)
    assert 'id="next-step-heading"' in page and f'href="/r/{round_id}#waiting"' in page
    # After the round closes: process the comments.
    fresh(db)
    round_ = db.get(Round, round_id)
    comment = rounds.add_comment(db, participant(db, round_, people[1]), body="Kan dit korter?")
    db.commit()
    assert submit(client, f"/r/{round_id}", f"/r/{round_id}/close", {"confirmed": "yes"}).status_code == 303
    page = client.get(f"/r/{round_id}").get_data(as_text=True)
    assert f'href="/r/{round_id}/processing?show=todo"' in section(page, "next-step-heading", "waiting")
    # Once every comment is processed: upload a new version.
    fresh(db)
    assert coordinator.id  # loaded before the change (an expired object would flush it half-done)
    comments.process_comment(db, db.get(type(comment), comment.id), disposition="overgenomen", answer="",
                             actor=coordinator)
    db.commit()
    page = client.get(f"/r/{round_id}/processing").get_data(as_text=True)
    assert 'id="next-step-heading"' in page and f'href="/d/{document.id}#upload"' in page
    page = client.get(f"/d/{document.id}").get_data(as_text=True)
    assert '<section id="upload"' in page


def test_when_everyone_agrees_the_hint_is_to_make_it_final(app, db):
    network, coordinator, people = make_network(db, members=2)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    for voter in db.scalars(select(Participant).where(Participant.round_id == round_.id, Participant.can_vote)):
        rounds.record_verdict(db, voter, value="akkoord", reason="", evidence=rounds.Evidence())
    db.commit()
    client = signed_in(app, db, coordinator)
    for path in (f"/d/{document.id}", f"/r/{round_.id}"):
        page = client.get(path).get_data(as_text=True)
        hint = page[page.index('id="next-step-heading"'):].split("</section>")[0]
        assert f'href="/d/{document.id}#finalise"' in hint
    page = signed_in(app, db, people[0].person).get("/").get_data(as_text=True)  # the editor's dashboard
    assert f'href="/d/{document.id}#finalise"' in page
