"""Names, organisations and titles with control characters on the pages: the form comes back with the message at
the field and nothing changed; a CSV file is refused with the line; a comment with a NUL is refused, not a server
error; real names pass."""

from __future__ import annotations

import html
import io
import re

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from service.web.i18n import CSV_PROBLEMS, ERRORS
from storage.database.models import ApiToken, Comment, Document, Membership, Network, Organisation, Person, Webhook
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round, participant
from tests.service.test_staff_pages import signed_in, submit
from tests.workflows.test_inputs import REAL_NAMES
from workflows.domain import rounds


def in_dutch(app, message) -> str:
    """The message as a Dutch page shows it (the catalogue's words, escaped as in HTML)."""
    with app.test_request_context(), force_locale("nl"):
        return html.escape(str(message))


def error_at(page: str, field_id: str) -> list[str]:
    """The field errors shown at the field: the element its input names in aria-describedby."""
    assert f'id="{field_id}"' in page
    return re.findall(rf'<p class="field-error" id="{re.escape(field_id)}-error"><span class="visually-hidden">'
                      r'[^<]*</span>([^<]*)</p>', page)


def tally(db, network_id: int) -> tuple:
    fresh(db)
    return (db.scalar(select(func.count()).select_from(Person)),
            *(db.scalar(select(func.count()).select_from(model).where(model.network_id == network_id))
              for model in (Membership, Organisation, Document, ApiToken, Webhook)))


@pytest.fixture
def staff(app, db):
    network, coordinator, people = make_network(db, members=1)
    db.commit()
    return network, signed_in(app, db, coordinator)


def test_the_member_form_with_a_tab_in_the_organisation_comes_back_with_the_message_at_that_field(app, db, staff):
    network, client = staff
    before = tally(db, network.id)
    response = submit(client, f"/n/{network.id}", f"/n/{network.id}/members",
                      {"name": "Jan Jansen", "email": "jan.tab@example.org", "organisation": "Praktijk\tOost",
                       "role": "member"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert error_at(page, "organisation") == [in_dutch(app, ERRORS["control_characters"])]
    assert error_at(page, "name") == [] and error_at(page, "email") == []
    assert 'value="Jan Jansen"' in page  # what was typed stays in the form
    assert tally(db, network.id) == before


@pytest.mark.parametrize("field, value", [("name", "Jan\nJansen"), ("name", "Jan\u202eJansen"),
                                          ("organisation", "Praktijk\r\nOost")])
def test_the_member_form_refuses_line_breaks_and_overrides_in_names(app, db, staff, field, value):
    network, client = staff
    before = tally(db, network.id)
    data = {"name": "Jan Jansen", "email": "jan.line@example.org", "organisation": "Praktijk", "role": "member"}
    response = submit(client, f"/n/{network.id}", f"/n/{network.id}/members", {**data, field: value})
    assert response.status_code == 400
    assert error_at(response.get_data(as_text=True), field) == [in_dutch(app, ERRORS["control_characters"])]
    assert tally(db, network.id) == before


def test_titles_network_names_token_names_and_webhook_addresses_are_checked_at_their_field(app, db, staff):
    network, client = staff
    before = tally(db, network.id)
    message = in_dutch(app, ERRORS["control_characters"])
    document = submit(client, f"/n/{network.id}", f"/n/{network.id}/documents",
                      {"kind": "notitie", "title": "Visie\n2030"})
    assert document.status_code == 400 and error_at(document.get_data(as_text=True), "title") == [message]
    fresh(db)
    networks = db.scalar(select(func.count()).select_from(Network))
    created = submit(client, "/", "/networks", {"name": "Zorgnetwerk\tWest"})
    assert created.status_code == 400 and error_at(created.get_data(as_text=True), "name") == [message]
    fresh(db)
    assert db.scalar(select(func.count()).select_from(Network)) == networks
    token = submit(client, f"/n/{network.id}/api-tokens", f"/n/{network.id}/api-tokens",
                   {"name": "koppeling\x00", "role": "editor"})
    assert token.status_code == 400 and error_at(token.get_data(as_text=True), "name") == [message]
    hook = submit(client, f"/n/{network.id}/webhooks", f"/n/{network.id}/webhooks",
                  {"url": "https://example.org/\nhook", "events": ["round.opened"]})
    assert hook.status_code == 400 and error_at(hook.get_data(as_text=True), "url") == [message]
    assert tally(db, network.id) == before


def test_csv_with_a_line_break_in_a_name_imports_nothing_and_names_the_line_in_dutch(app, db, staff):
    network, client = staff
    before = tally(db, network.id)
    csv = (b'naam,email,organisatie,rol\nGoed Mens,goed.csv@example.org,Org,lid\n'
           b'"Jan\nJansen",jan.csv@example.org,Org,lid\n')
    response = submit(client, f"/n/{network.id}", f"/n/{network.id}/members/import",
                      {"file": (io.BytesIO(csv), "leden.csv")}, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    problem = in_dutch(app, CSV_PROBLEMS["name_control_characters"])
    assert f"Regel 3: {problem} (Jan␊Jansen)" in page
    assert "Regel 2" not in page
    assert tally(db, network.id) == before


def test_real_names_pass_the_member_form(app, db, staff):
    network, client = staff
    for i, name in enumerate(REAL_NAMES):
        response = submit(client, f"/n/{network.id}", f"/n/{network.id}/members",
                          {"name": name, "email": f"echt{i}.form@example.org", "organisation": f"{name} & Co.",
                           "role": "member"})
        assert response.status_code == 303, error_at(response.get_data(as_text=True), "name")
    fresh(db)
    names = set(db.scalars(select(Person.name).join(Membership).where(Membership.network_id == network.id)))
    assert names >= set(REAL_NAMES)


def test_a_comment_with_a_nul_is_refused_at_its_field_not_a_server_error(app, db):
    network, coordinator, people = make_network(db, members=1)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    token = rounds.mint_link(db, member.id)
    db.commit()
    client = app.test_client()
    review = client.get(f"/l/{token}").headers["Location"]
    form = client.get(review).get_data(as_text=True)
    response = client.post(review + "comments", data={"csrf_token": csrf_token(form), "body": "Graag\x00 aanpassen"})
    assert response.status_code == 400
    assert error_at(response.get_data(as_text=True), "body") == [in_dutch(app, ERRORS["text_control_characters"])]
    fresh(db)
    assert db.scalar(select(func.count()).select_from(Comment).where(Comment.round_id == round_.id)) == 0
    saved = client.post(review + "comments", data={"csrf_token": csrf_token(form), "body": "Regel een\r\n\tRegel twee"})
    assert saved.status_code == 303
