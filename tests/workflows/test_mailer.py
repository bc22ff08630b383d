"""The SMTP side of delivery, against the real test SMTP server: what goes over the wire arrives byte for byte
(a line that starts with a dot is escaped and unescaped), and a refusal is read as temporary or permanent."""

from __future__ import annotations

import asyncio

from aiosmtpd.controller import Controller

from service.embedded.servers import free_port
from workflows.outbound.mail import Mail, Mailer, build


def test_a_message_arrives_byte_for_byte_also_lines_that_start_with_a_dot(smtp_server, mail_store):
    body = b"Subject: punten\r\nTo: a@example.org\r\n\r\n.een regel met een punt vooraan\r\n..twee\r\n.\r\nslot\r\n"
    with Mailer(smtp_server.url, "Akkoord <akkoord@test.invalid>") as mailer:
        assert mailer.send("a@example.org", body).sent
        assert mailer.send("b@example.org", build(Mail("Zoë", "b@example.org", "Onderwerp", "tekst", "<p>x</p>", "k1"),
                                                   "Akkoord <akkoord@test.invalid>")).sent
    first, second = sorted(mail_store.wait_for(lambda ms: len(ms) == 2), key=lambda m: m.to)
    assert first.raw.endswith(body)  # after the envelope lines the store puts first
    assert second.message["To"].addresses[0].display_name == "Zoë"


class _Refusing:
    """An SMTP handler that refuses one recipient for good and defers another."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("gone@"):
            return "550 5.1.1 No such user"
        if address.startswith("full@"):
            return "452 4.2.2 Mailbox full"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0)
        return "250 OK"


def test_refusals_are_read_as_permanent_or_temporary_and_the_connection_carries_on():
    server = Controller(_Refusing(), hostname="127.0.0.1", port=free_port())
    server.start()
    try:
        with Mailer(f"smtp://127.0.0.1:{server.port}", "Akkoord <akkoord@test.invalid>") as mailer:
            message = b"Subject: x\r\n\r\ntekst\r\n"
            gone = mailer.send("gone@example.org", message)
            full = mailer.send("full@example.org", message)
            fine = mailer.send("fine@example.org", message)
    finally:
        server.stop()
    assert (gone.sent, gone.permanent, gone.failure) == (False, True, "address_refused")
    assert gone.detail.startswith("550 5.1.1")
    assert (full.sent, full.permanent, full.failure) == (False, False, "recipient_deferred")
    assert fine.sent
