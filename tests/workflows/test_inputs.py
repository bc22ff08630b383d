"""The rule for text people type, at every way into the domain: a name, organisation, title, token name or webhook
address is one line without control characters; a message or comment may span lines but holds no NUL; real names
in any script pass."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from sqlalchemy import func, select

from storage.database.models import Document, Membership, Network, Organisation, Person
from tests.factories import make_document, make_network, open_round, participant, unique
from workflows.domain import api_tokens, comments, documents, inputs, membership, rounds, webhooks
from workflows.errors import CsvRejected, InvalidInput

REAL_NAMES = [
    "Zoë van 't Hek-de Boer", "José Álvarez Núñez", "Seán O'Brien", "Łukasz Żółciński", "Þórunn Ævarsdóttir",
    "Nguyễn Văn An", "Ngũgĩ wa Thiong'o", "محمد العلي", "שרה כהן", "王小明", "Άννα Παπαδοπούλου",
    "محمد\u200cرضا",  # Persian with a zero-width non-joiner, which the spelling needs
    "Dr. A.B. (Anne-Bé) de Wit\u200f",  # a right-to-left mark, as some keyboards add one
]
REFUSED = ["Jan\nJansen", "Jan\r\nJansen", "Jan\tJansen", "Jan\x00Jansen", "Jan\x0bJansen", "Jan\x7fJansen",
           "Jan\x85Jansen", "Jan\u2028Jansen", "Jan\u2029Jansen", "Jan\u202eJansen", "Jan\u2066Jansen"]


def test_a_single_line_refuses_category_cc_the_line_separators_and_the_bidi_overrides_only():
    refused = {code for code in range(sys.maxunicode + 1) if inputs.refused_in_line(chr(code))}
    cc = {code for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Cc"}
    assert refused == cc | {0x2028, 0x2029} | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))


def test_a_longer_text_refuses_c0_controls_but_tab_and_line_breaks():
    refused = {code for code in range(sys.maxunicode + 1) if inputs.refused_in_text(chr(code))}
    assert refused == set(range(0x20)) - {0x09, 0x0A, 0x0D}


def test_real_names_pass_everywhere(db):
    network, coordinator, _ = make_network(db, members=0, editors=0)
    for i, name in enumerate(REAL_NAMES):
        added = membership.add_member(db, network, name=name, email=f"{unique('real')}@example.org",
                                      organisation_name=f"{name} & Co.", role="member", actor=coordinator)
        assert added.person.name == name and added.organisation.name == f"{name} & Co."
        document = documents.create_document(db, network, kind="notitie", title=f"Notitie {i}: {name}",
                                             actor=coordinator)
        assert document.title == f"Notitie {i}: {name}"
        assert membership.create_network(db, f"Netwerk {name}", coordinator=coordinator).name == f"Netwerk {name}"
        token, _raw = api_tokens.create_token(db, network, coordinator, role="editor", name=f"Koppeling {name}")
        assert token.name == f"Koppeling {name}"


def test_whitespace_around_a_name_is_trimmed_not_refused(db):
    network, coordinator, _ = make_network(db, members=0, editors=0)
    added = membership.add_member(db, network, name="  Jan Jansen\n", email=f"{unique('jan')}@example.org",
                                  organisation_name="\tPraktijk Oost \r\n", role="member", actor=coordinator)
    assert (added.person.name, added.organisation.name) == ("Jan Jansen", "Praktijk Oost")


@pytest.mark.parametrize("value", REFUSED)
def test_a_control_character_inside_a_single_line_is_refused_and_changes_nothing(db, value):
    network, coordinator, _ = make_network(db, members=0, editors=0)
    before = [db.scalar(select(func.count()).select_from(table)) for table in (Person, Membership, Organisation,
                                                                                Network, Document)]

    def refused(field, action):
        with pytest.raises(InvalidInput) as error:
            action()
        assert (error.value.code, error.value.params) == ("control_characters", {"field": field})

    email = f"{unique('x')}@example.org"
    refused("name", lambda: membership.add_member(db, network, name=value, email=email, organisation_name="Org",
                                                  role="member", actor=coordinator))
    refused("organisation", lambda: membership.add_member(db, network, name="Jan", email=email,
                                                          organisation_name=value, role="member", actor=coordinator))
    refused("name", lambda: membership.get_or_create_person(db, name=value, email=email))
    refused("organisation", lambda: membership.get_or_create_organisation(db, network, value, coordinator))
    refused("name", lambda: membership.create_network(db, value, coordinator=coordinator))
    refused("title", lambda: documents.create_document(db, network, kind="notitie", title=value, actor=coordinator))
    refused("name", lambda: api_tokens.create_token(db, network, coordinator, role="editor", name=value))
    refused("url", lambda: webhooks.register(db, network.id, url=f"https://{value}.example.org/hook",
                                             actor=coordinator, allow_private=True))
    db.flush()
    assert [db.scalar(select(func.count()).select_from(table)) for table in (Person, Membership, Organisation,
                                                                              Network, Document)] == before
    # An address with a control character is no address.
    with pytest.raises(InvalidInput, match="bad_email"):
        membership.add_member(db, network, name="Jan", email=value.replace(" ", "") + "@example.org",
                              organisation_name="", role="member", actor=coordinator)


def test_csv_with_a_line_break_in_a_name_imports_nothing_and_reports_the_line_and_field(db):
    network, coordinator, _ = make_network(db, members=0, editors=0)
    before = db.scalar(select(func.count()).select_from(Membership).where(Membership.network_id == network.id))
    data = (b"naam,email,organisatie,rol\n"
            b"Goed Mens,goed@example.org,Org,lid\n"
            b'"Jan\nJansen",jan@example.org,Org,lid\n'  # one row in a spreadsheet, two lines in a text editor
            b"Piet Post,piet@example.org,\"Praktijk\tOost\",lid\n"
            b"Els Ek,els\x01@example.org,Org,lid\n")
    with pytest.raises(CsvRejected) as error:
        membership.import_members_csv(db, network, data, actor=coordinator)
    assert error.value.params["problems"] == [
        (3, "name_control_characters", "Jan␊Jansen"),
        (4, "organisation_control_characters", "Praktijk␉Oost"),
        (5, "bad_email", "els␁@example.org"),
    ]
    assert db.scalar(select(func.count()).select_from(Membership)
                     .where(Membership.network_id == network.id)) == before


def test_longer_texts_keep_their_lines_and_tabs_but_refuse_nul_and_other_controls(db):
    network, coordinator, people = make_network(db, members=1)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    member = participant(db, round_, people[1])
    body = "Artikel 2:\n\tgraag 'tijdig' toevoegen.\r\nGroet, Zoë"
    comment = rounds.add_comment(db, member, body=body)
    assert comment.body == body
    for bad in ("nul\x00teken", "bel\x07teken", "escape\x1b[31m"):
        with pytest.raises(InvalidInput) as error:
            rounds.add_comment(db, member, body=bad)
        assert (error.value.code, error.value.params) == ("text_control_characters", {"field": "body"})
        with pytest.raises(InvalidInput, match="text_control_characters"):
            rounds.add_reply(db, comment.id, body=bad, participant=member)
        with pytest.raises(InvalidInput, match="text_control_characters"):
            rounds.record_verdict(db, member, value="niet_akkoord", reason=bad, evidence=rounds.Evidence())
        with pytest.raises(InvalidInput, match="text_control_characters"):
            comments.process_comment(db, comment, disposition="niet_overgenomen", answer=bad, actor=coordinator)
        with pytest.raises(InvalidInput, match="text_control_characters"):
            documents.upload_version(db, document, filename="v2.md", data=b"# Tekst\n\nNieuw.", change_note=bad,
                                     actor=coordinator)
    rounds.close_round(db, round_, actor=coordinator)
    with pytest.raises(InvalidInput, match="text_control_characters"):
        rounds.open_round(db, document, deadline=round_.deadline, message="Graag\x00", actor=coordinator)
