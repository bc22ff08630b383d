"""SMTP delivery of outbox messages: one connection per batch, Message-ID from the idempotency key."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from urllib.parse import unquote, urlsplit

from sqlalchemy.orm import Session

from storage.models import OutboxMessage, utcnow
from workflows import emails
from workflows.jobs import MAX_ATTEMPTS


class Mailer:
    """An SMTP connection opened on first use: smtp://host:port, smtp+starttls://user:pass@host, smtps://..."""

    def __init__(self, url: str, mail_from: str):
        self.url = urlsplit(url)
        self.mail_from = mail_from
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "Mailer":
        return self

    def __exit__(self, *exc) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except smtplib.SMTPException:
                pass
            except OSError:
                pass
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        scheme, host, port = self.url.scheme, self.url.hostname or "localhost", self.url.port
        if scheme == "smtps":
            smtp = smtplib.SMTP_SSL(host, port or 465, context=ssl.create_default_context(), timeout=30)
        else:
            smtp = smtplib.SMTP(host, port or 25, timeout=30)
            if scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
        if self.url.username:
            smtp.login(unquote(self.url.username), unquote(self.url.password or ""))
        return smtp

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(message)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            self._smtp = self._connect()  # a long batch may outlive the server's idle timeout
            self._smtp.send_message(message)


def build_message(outbox: OutboxMessage, rendered: emails.RenderedEmail, mail_from: str, to_name: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = formataddr((to_name, outbox.to_address))
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(localtime=False)
    # A stable Message-ID lets a receiving server (and a person) see a retried mail as the same mail.
    digest = hashlib.sha256(outbox.idempotency_key.encode()).hexdigest()[:32]
    message["Message-ID"] = f"<{digest}@akkoord>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    for filename, content_type, data in rendered.attachments:
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def deliver_one(session: Session, mailer: Mailer, outbox_id: int, base_url: str) -> str:
    """Render and send one claimed message; returns sent | cancelled | retry | failed."""
    outbox = session.get(OutboxMessage, outbox_id)
    try:
        rendered = emails.render(session, outbox, base_url)
    except emails.NothingToSend as reason:
        outbox.status, outbox.last_error = "cancelled", str(reason)
        return "cancelled"
    try:
        mailer.send(build_message(outbox, rendered, mailer.mail_from, rendered.to_name))
    except (smtplib.SMTPException, OSError) as error:
        session.rollback()  # drop a link minted for this mail: it was never sent
        outbox = session.get(OutboxMessage, outbox_id)
        outbox.attempts += 1
        outbox.last_error = f"{type(error).__name__}: {error}"[:1000]
        outbox.status = "failed" if outbox.attempts >= MAX_ATTEMPTS else "pending"
        return "retry" if outbox.status == "pending" else "failed"
    outbox.attempts += 1
    outbox.status, outbox.sent_at, outbox.last_error = "sent", utcnow(), ""
    return "sent"
