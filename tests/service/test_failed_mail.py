"""Mail a real SMTP server refused: the round page and the failed-mail page say why in words, a coordinator
corrects the address or sends again (POST with CSRF), and the mail then arrives; GETs change nothing."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import func, select

from service.embedded.servers import MailStore, _StoringHandler, free_port
from service.web.i18n import FAILURE_REASONS, error_message
from service.web.templating import MAIL_KINDS
from storage.database.models import AuditEvent, MailMessage, Person
from tests.conftest import csrf_token
from tests.factories import fresh, make_document, make_network, open_round, unique
from tests.service.test_staff_pages import signed_in
from workflows.domain import membership, people
from workflows.domain.notifications import EMAILS
from workflows.outbound import jobs
from workflows.outbound.outbox import FAILURES

NO_SUCH_USER = "550 5.1.1 No such user"


class RefusingHandler(_StoringHandler):
    """Stores what it accepts, like the embedded server; refuses the chosen recipients as a real server does."""

    def __init__(self, store: MailStore):
        super().__init__(store)
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return NO_SUCH_USER
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_smtp(app, tmp_path):
    """A real SMTP server of the test's own, which the worker sends to for the test's duration."""
    handler = RefusingHandler(MailStore(tmp_path / "mail"))
    controller = Controller(handler, hostname="127.0.0.1", port=free_port("127.0.0.1"))
    controller.start()
    runtime = jobs.current()
    working_url = runtime.smtp_url
    runtime.smtp_url = f"smtp://127.0.0.1:{controller.port}"
    jobs.configure(runtime)  # a new SMTP connection, to this server
    try:
        yield handler
    finally:
        runtime.smtp_url = working_url
        jobs.configure(runtime)
        controller.stop()


def words(app, code: str) -> str:
    """A failure's reason as a Dutch page says it, escaped as in HTML (the catalogue's words, whatever they are)."""
    with app.test_request_context(), force_locale("nl"):
        return str(escape(str(FAILURE_REASONS[code])))


def message(app, code: str, **params) -> str:
    with app.test_request_context(), force_locale("nl"):
        return str(escape(error_message(code, params)))


def post(client, page: str, action: str, data: dict | None = None):
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **(data or {})})


def state(db) -> tuple:
    fresh(db)
    return (db.execute(select(MailMessage.id, MailMessage.status, MailMessage.attempts, MailMessage.to_address)
                       .order_by(MailMessage.id)).all(),
            db.scalar(select(func.count(AuditEvent.id))), db.execute(select(Person.id, Person.email)).all())


@pytest.fixture
def refused(app, db, refusing_smtp, run_worker):
    """A round whose invitation to one member the mail server refused for good (550)."""
    network, coordinator, people = make_network(db, members=2)
    member = people[1]
    refusing_smtp.refused.add(member.person.email)
    document, _ = make_document(db, network, coordinator)
    round_ = open_round(db, document, coordinator)
    db.commit()
    run_worker()
    fresh(db)
    invitation = db.scalar(select(MailMessage).where(MailMessage.round_id == round_.id,
                                                     MailMessage.person_id == member.person_id))
    assert (invitation.status, invitation.failure, invitation.attempts) == ("failed", "address_refused", 1)
    assert NO_SUCH_USER in invitation.last_error
    delivered = [message.to for message in refusing_smtp.store.list()]
    assert [member.person.email] not in delivered and len(delivered) == len(people)  # the others got theirs
    return network, coordinator, member, round_, invitation


def test_the_round_page_and_the_failed_mail_page_say_why_in_words(app, db, refused):
    network, coordinator, member, round_, invitation = refused
    client = signed_in(app, db, coordinator)
    before = state(db)
    page = client.get(f"/r/{round_.id}").get_data(as_text=True)
    assert words(app, "address_refused") in page and NO_SUCH_USER in page
    correct = f"/n/{network.id}/mail?person={member.person_id}#mail-{invitation.id}"
    assert f'href="{correct}"' in page  # to where the address is corrected
    network_page = client.get(f"/n/{network.id}").get_data(as_text=True)
    assert f'href="/n/{network.id}/mail"' in network_page
    listed = client.get(f"/n/{network.id}/mail").get_data(as_text=True)
    assert f'id="mail-{invitation.id}"' in listed and member.person.email in listed
    assert words(app, "address_refused") in listed and NO_SUCH_USER in listed
    assert f'action="/n/{network.id}/mail/{invitation.id}/send-again"' in listed
    assert f'action="/n/{network.id}/members/{member.id}/email"' in listed
    for path in (f"/n/{network.id}/mail?status=failed", f"/n/{network.id}/mail?status=waiting",
                 f"/n/{network.id}/mail?page=2", correct.split("#")[0]):
        assert client.get(path).status_code == 200
    assert f'id="mail-{invitation.id}"' not in client.get(f"/n/{network.id}/mail?status=waiting").get_data(
        as_text=True)
    assert state(db) == before  # GET changes nothing


def test_correcting_the_address_sends_the_mail_again_and_it_arrives(app, db, refused, refusing_smtp, run_worker):
    network, coordinator, member, round_, invitation = refused
    new = f"juist-{unique('a')}@example.org"
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/mail"
    action = f"/n/{network.id}/members/{member.id}/email"
    assert client.post(action, data={"email": new}).status_code == 400  # no CSRF token
    answer = post(client, page, action, {"email": "geen adres", "next": page})
    assert answer.status_code == 400 and message(app, "bad_email") in answer.get_data(as_text=True)
    answer = post(client, page, action, {"email": new.upper(), "next": page})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(page)
    fresh(db)
    assert db.get(Person, member.person_id).email == new
    assert db.scalar(select(AuditEvent.kind).where(AuditEvent.network_id == network.id)
                     .order_by(AuditEvent.seq.desc()).limit(1)) == "member_email_corrected"
    run_worker()
    arrived = [m for m in refusing_smtp.store.list() if m.to == [new]]
    assert len(arrived) == 1 and any("/l/" in link for link in arrived[0].links())
    fresh(db)
    mail = db.get(MailMessage, invitation.id)
    assert (mail.status, mail.failure, mail.to_address) == ("sent", None, new)
    assert f'id="mail-{invitation.id}"' not in client.get(page).get_data(as_text=True)
    assert words(app, "address_refused") not in client.get(f"/r/{round_.id}").get_data(as_text=True)


def test_send_again_once_the_server_takes_the_address(app, db, refused, refusing_smtp, run_worker):
    network, coordinator, member, _round, invitation = refused
    client = signed_in(app, db, coordinator)
    page = f"/n/{network.id}/mail"
    action = f"{page}/{invitation.id}/send-again"
    assert client.post(action).status_code == 400  # no CSRF token
    refusing_smtp.refused.clear()  # the mailbox exists now
    assert post(client, page, action).status_code == 303
    assert post(client, page, action).status_code == 409  # on its way already
    run_worker()
    assert [m.to for m in refusing_smtp.store.list()].count([member.person.email]) == 1
    fresh(db)
    assert db.get(MailMessage, invitation.id).status == "sent"
    assert db.scalar(select(AuditEvent.kind).where(AuditEvent.network_id == network.id)
                     .order_by(AuditEvent.seq.desc()).limit(1)) == "mail_resent"


def test_an_address_shared_with_another_network_is_refused_with_the_reason(app, db, refused):
    network, coordinator, member, _round, invitation = refused
    other, other_coordinator, _ = make_network(db, members=0, editors=0)
    membership.add_member(db, other, name=member.person.name, email=member.person.email, organisation_name="",
                          role="member", actor=other_coordinator)
    db.commit()
    client = signed_in(app, db, coordinator)
    before = state(db)
    page = f"/n/{network.id}/mail"
    answer = post(client, page, f"/n/{network.id}/members/{member.id}/email",
                  {"email": f"nieuw-{unique('a')}@example.org"})
    assert answer.status_code == 409
    assert message(app, "address_shared", name=member.person.name) in answer.get_data(as_text=True)
    assert state(db) == before


def test_another_networks_coordinator_reaches_nothing(app, db, refused):
    network, _coordinator, member, _round, invitation = refused
    _other, stranger, _ = make_network(db, members=0, editors=0)
    db.commit()
    client = signed_in(app, db, stranger)
    before = state(db)
    own = f"/n/{_other.id}/mail"
    assert client.get(f"/n/{network.id}/mail").status_code == 403  # not their network (as its other pages)
    # Through their own network's address: the other network's mail and member are not found.
    assert post(client, own, f"{own}/{invitation.id}/send-again").status_code == 404
    assert post(client, own, f"/n/{_other.id}/members/{member.id}/email", {"email": "x@example.org"}).status_code \
        == 404
    # And directly: not allowed.
    assert post(client, own, f"/n/{network.id}/mail/{invitation.id}/send-again").status_code == 403
    assert post(client, own, f"/n/{network.id}/members/{member.id}/email", {"email": "x@example.org"}).status_code \
        == 403
    assert state(db) == before


def test_an_editor_sees_the_list_but_no_forms(app, db, refused):
    network, _coordinator, _member, _round, invitation = refused
    editor = people.active_members(db, network.id)[1]
    assert editor.role == "editor"
    client = signed_in(app, db, editor.person)
    listed = client.get(f"/n/{network.id}/mail").get_data(as_text=True)
    assert f'id="mail-{invitation.id}"' in listed and "send-again" not in listed and 'name="email"' not in listed
    page = f"/n/{network.id}/mail"
    assert post(client, page, f"{page}/{invitation.id}/send-again").status_code == 403


def test_every_failure_code_has_a_sentence_and_every_mail_a_name():
    assert set(FAILURE_REASONS) == set(FAILURES)
    assert all(str(FAILURE_REASONS[code]).endswith(".") for code in FAILURES)
    assert set(MAIL_KINDS) == set(EMAILS)
