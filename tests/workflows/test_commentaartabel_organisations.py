"""The commentaartabel under the per-organisation rule: each author's capacity in their cell (representative,
colleague, substitute on whose behalf), the verdicts per organisation after the comments (a section in Word, a
second sheet in Excel) read back from the files, the numbering unchanged, nothing new under the per-person rule,
and a constant number of SQL statements."""

from __future__ import annotations

import datetime as dt
import io

import docx
import openpyxl
import pytest
from sqlalchemy import event, select

from storage.database.models import Membership, Person, utcnow
from storage.formats.commentaartabel import DUTCH_HEADERS, ENGLISH_HEADERS
from tests.factories import make_document, make_network, open_round, participant, unique
from tests.service.test_staff_pages import signed_in
from workflows.domain import commentaartabel, comments, decisions, membership, rounds, substitutes
from workflows.domain.wording import translator

nl = translator("nl")


def organisation_network(db, practices: int, *, representatives: int = 2, colleagues: int = 1):
    """A network deciding per organisation, its coordinator (a voter without an organisation) and its members by
    practice, representatives first."""
    tag = unique("tabel")
    coordinator = membership.get_or_create_person(db, name="Coördinator", email=f"c-{tag}@example.org")
    network = membership.create_network(db, f"Regio {tag}", coordinator=coordinator)
    decisions.set_network_rule(db, network, "organisation", actor=coordinator)
    by_practice: list[list[Membership]] = []
    for p in range(practices):
        members = []
        for i in range(representatives + colleagues):
            member = membership.add_member(db, network, name=f"Huisarts {i} van {p}", email=f"h{i}-{p}-{tag}@example.org",
                                           organisation_name=f"Praktijk {p} {tag}", role="member", actor=coordinator)
            if i < representatives:
                decisions.set_representative(db, member, True, actor=coordinator)
            members.append(member)
        by_practice.append(members)
    return network, coordinator, by_practice


def coordinator_of(db, network, coordinator) -> Membership:
    return db.scalar(select(Membership).where(Membership.network_id == network.id,
                                              Membership.person_id == coordinator.id))


def say(db, round_, member, value="akkoord", reason=""):
    return rounds.record_verdict(db, participant(db, round_, member), value=value, reason=reason,
                                 evidence=rounds.Evidence())


def comment(db, round_, member, body):
    return rounds.add_comment(db, participant(db, round_, member), body=body)


@pytest.fixture
def organisation_round(app, db):
    """Four practices: A (a colleague's suggestion, then a representative's verdict), B (a colleague who becomes the
    substitute of an absent representative and gives B's verdict on their behalf), C (no verdict), D (no
    representative); and the coordinator, without an organisation, who gives none."""
    network, coordinator, (a, b, c, d) = organisation_network(db, 4)
    for member in d[:2]:
        decisions.set_representative(db, member, False, actor=coordinator)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    made = [
        comment(db, round_, a[0], "Artikel 1 is helder."),
        comment(db, round_, a[2], "Intern: kunnen wij dit aan?"),
        comment(db, round_, b[2], "Voor mijn afwezigheid geschreven."),
    ]
    substitution = substitutes.name_substitute(db, b[0], b[2].id, starts_at=utcnow(),
                                               ends_at=utcnow() + dt.timedelta(days=7), actor=coordinator)
    made += [
        comment(db, round_, b[2], "Namens mijn collega: graag een termijn."),
        comment(db, round_, coordinator_of(db, network, coordinator), "Dank voor de reacties."),
        comment(db, round_, d[0], "Wij hebben geen vertegenwoordiger."),
    ]
    say(db, round_, a[2], "niet_akkoord", "=Te snel.")
    say(db, round_, a[1], "akkoord_met_opmerkingen", "Kleine punten.")
    substitutes.record_verdict_for(db, participant(db, round_, b[2]), substitution.id, value="akkoord", reason="",
                                   evidence=rounds.Evidence())
    db.flush()
    return round_, (a, b, c, d), made


def test_rows_name_each_authors_capacity_and_keep_the_numbering(db, organisation_round):
    round_, (a, b, c, d), made = organisation_round
    rows = commentaartabel.rows_for_round(db, round_.id)
    assert [row.number for row in rows] == [1, 2, 3, 4, 5, 6]
    assert comments.numbered(db, round_.id) == [c_.id for c_ in made]  # number n is still the n-th comment
    assert [row.comment for row in rows] == [c_.body for c_ in made]
    org = {i: m[0].organisation.name for i, m in enumerate((a, b, c, d))}
    assert [row.capacity for row in rows] == [
        nl("representative of %(organisation)s", organisation=org[0]),
        nl("colleague at %(organisation)s", organisation=org[0]),
        nl("colleague at %(organisation)s", organisation=org[1]),  # written before the absence began
        nl("substitute on behalf of %(name)s", name="Huisarts 0 van 1"),
        "",  # the coordinator decides for themselves: no capacity to name
        nl("colleague at %(organisation)s", organisation=org[3]),
    ]
    assert [row.person for row in rows] == ["Huisarts 0 van 0", "Huisarts 2 van 0", "Huisarts 2 van 1",
                                            "Huisarts 2 van 1", "Coördinator", "Huisarts 0 van 3"]
    english = commentaartabel.rows_for_round(db, round_.id, locale="en")
    assert english[3].capacity == "substitute on behalf of Huisarts 0 van 1"
    assert english[0].capacity == f"representative of {org[0]}"


def expected_verdicts(org: dict[int, str]) -> list[list[str]]:
    return [
        [org[0], nl("Verdict of the organisation"), "akkoord met opmerkingen", "Kleine punten.", "Huisarts 1 van 0"],
        [org[0], nl("Suggestion of a colleague"), "niet akkoord", "=Te snel.", "Huisarts 2 van 0"],
        [org[1], nl("Verdict of the organisation"), "akkoord", "",
         "Huisarts 2 van 1\n" + nl("on behalf of %(name)s", name="Huisarts 0 van 1")],
        [org[2], nl("Verdict of the organisation"), nl("no verdict"), "", ""],
        [org[3], nl("Verdict of the organisation"), nl("no representative"), "", ""],
        ["", nl("Own verdict (no organisation)"), nl("no verdict"), "", "Coördinator"],
    ]


VERDICT_HEADERS = [nl("Organisation"), nl("Kind"), nl("Verdict"), nl("Reason"), nl("Given by")]


def test_docx_names_capacities_and_ends_with_the_verdicts_per_organisation(db, organisation_round):
    round_, practices, made = organisation_round
    org = {i: m[0].organisation.name for i, m in enumerate(practices)}
    _filename, _mimetype, data = commentaartabel.export(db, round_.id, "docx")
    word = docx.Document(io.BytesIO(data))
    assert len(word.tables) == 2
    table, verdicts = word.tables
    assert [cell.text for cell in table.rows[0].cells] == DUTCH_HEADERS
    cells = [[cell.text for cell in row.cells] for row in table.rows[1:]]
    assert [row[0] for row in cells] == ["1", "2", "3", "4", "5", "6"]
    assert [row[1] for row in cells] == [
        "Huisarts 0 van 0\n" + nl("representative of %(organisation)s", organisation=org[0]),
        "Huisarts 2 van 0\n" + nl("colleague at %(organisation)s", organisation=org[0]),
        "Huisarts 2 van 1\n" + nl("colleague at %(organisation)s", organisation=org[1]),
        "Huisarts 2 van 1\n" + nl("substitute on behalf of %(name)s", name="Huisarts 0 van 1"),
        "Coördinator",
        "Huisarts 0 van 3\n" + nl("colleague at %(organisation)s", organisation=org[3]),
    ]
    assert [row[5] for row in cells] == [c.body for c in made]  # after the type
    heading = next(p for p in word.paragraphs if p.text == nl("Verdicts per organisation"))
    assert heading.style.name == "Heading 2"
    body = list(word.element.body.iterchildren())
    # After the comments: the heading, then the verdicts' table.
    assert body.index(table._tbl) < body.index(heading._p) < body.index(verdicts._tbl)
    assert [[cell.text for cell in row.cells] for row in verdicts.rows] == [VERDICT_HEADERS] + expected_verdicts(org)


def test_xlsx_has_a_second_sheet_of_verdicts_per_organisation(db, organisation_round):
    round_, practices, _made = organisation_round
    org = {i: m[0].organisation.name for i, m in enumerate(practices)}
    rounds.close_round(db, round_, actor=None)
    db.flush()
    _filename, _mimetype, data = commentaartabel.export(db, round_.id, "xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert len(workbook.sheetnames) == 2 and workbook.sheetnames[1] == nl("Verdicts per organisation")
    comments_sheet, verdict_sheet = workbook.worksheets
    names = [row[1].value for row in comments_sheet.iter_rows(min_row=2)]
    assert names[3] == "Huisarts 2 van 1\n" + nl("substitute on behalf of %(name)s", name="Huisarts 0 van 1")
    assert [row[0].value for row in comments_sheet.iter_rows(min_row=2)] == [1, 2, 3, 4, 5, 6]
    values = [[cell.value if cell.value is not None else "" for cell in row] for row in verdict_sheet.iter_rows()]
    assert values == [VERDICT_HEADERS] + expected_verdicts(org)
    assert verdict_sheet["D3"].data_type == "s"  # "=Te snel." stays text
    assert verdict_sheet.freeze_panes == "A2" and verdict_sheet.auto_filter.ref == "A1:E7"


def test_english_files_under_the_organisation_rule(db, organisation_round):
    round_, _practices, _made = organisation_round
    _filename, _mimetype, data = commentaartabel.export(db, round_.id, "xlsx", locale="en")
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.sheetnames[1] == "Verdicts per organisation"
    assert [c.value for c in workbook.worksheets[0][1]] == ENGLISH_HEADERS
    assert [c.value for c in workbook.worksheets[1][1]] == ["Organisation", "Kind", "Verdict", "Reason", "Given by"]
    assert workbook.worksheets[1]["E4"].value == "Huisarts 2 van 1\non behalf of Huisarts 0 van 1"


def test_the_page_and_its_downloads_over_http(app, db, organisation_round):
    round_, practices, _made = organisation_round
    opener = db.get(Person, round_.opened_by_id)
    db.commit()
    client = signed_in(app, db, opener)
    page = client.get(f"/r/{round_.id}/commentaartabel")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert nl("substitute on behalf of %(name)s", name="Huisarts 0 van 1") in text
    assert nl("representative of %(organisation)s", organisation=practices[0][0].organisation.name) in text
    download = client.get(f"/r/{round_.id}/commentaartabel?format=xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(download.data))
    assert workbook.sheetnames[1] == nl("Verdicts per organisation")
    assert workbook.worksheets[1]["E4"].value.startswith("Huisarts 2 van 1\n")


def test_nothing_changes_under_the_per_person_rule(app, db):
    network, coordinator, people = make_network(db, members=2)
    document, _version = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    assert round_.decision_rule == "person"
    first = people[1]
    decisions.set_representative(db, first, True, actor=coordinator)  # marked, but the rule is per person
    comment(db, round_, first, "Een opmerking.")
    say(db, round_, first)
    rows = commentaartabel.rows_for_round(db, round_.id)
    assert [row.capacity for row in rows] == [""]
    word = docx.Document(io.BytesIO(commentaartabel.export(db, round_.id, "docx")[2]))
    assert len(word.tables) == 1 and len(word.paragraphs) == 2
    assert word.tables[0].rows[1].cells[1].text == rows[0].person
    workbook = openpyxl.load_workbook(io.BytesIO(commentaartabel.export(db, round_.id, "xlsx")[2]))
    assert len(workbook.sheetnames) == 1 and workbook.active["B2"].value == rows[0].person


class Statements:
    def __init__(self, db):
        self.engine = db.get_bind()
        self.count = 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._one)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._one)

    def _one(self, *args, **kwargs):
        self.count += 1


def test_a_constant_number_of_statements_under_the_organisation_rule(app, db):
    counted = []
    for practices in (2, 12):
        network, coordinator, by_practice = organisation_network(db, practices)
        document, _version = make_document(db, network, coordinator)
        round_ = open_round(db, document, coordinator)
        for members in by_practice:
            for member in members:
                comment(db, round_, member, "Opmerking.")
            say(db, round_, members[0])
            say(db, round_, members[2], "niet_akkoord", "Liever niet.")
        substitutes.name_substitute(db, by_practice[0][1], by_practice[0][2].id, starts_at=utcnow(),
                                    ends_at=utcnow() + dt.timedelta(days=3), actor=coordinator)
        comment(db, round_, by_practice[0][2], "Als plaatsvervanger.")
        db.flush()
        db.expire_all()
        with Statements(db) as rows:
            assert len(commentaartabel.rows_for_round(db, round_.id)) == 3 * practices + 1
        db.expire_all()
        with Statements(db) as whole:
            commentaartabel.export(db, round_.id, "xlsx")
        counted.append((rows.count, whole.count))
    assert counted[0] == counted[1], counted
