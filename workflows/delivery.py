"""SMTP delivery of outbox messages: one connection per batch, Message-ID from the idempotency key."""

from __future__ import annotations

import datetime as dt
import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from urllib.parse import unquote, urlsplit

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.models import OutboxMessage, utcnow
from workflows import emails
from workflows.jobs import CLAIM_TIMEOUT, MAX_ATTEMPTS


class Mailer:
    """An SMTP connection opened on first use: smtp://host:port, smtp+starttls://user:pass@host, smtps://..."""

    def __init__(self, url: str, mail_from: str):
        self.url = urlsplit(url)
        self.mail_from = mail_from
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
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


def claim_batch(session: Session, outbox_ids: list[int], now: dt.datetime) -> list[OutboxMessage]:
    """Take the batch's deliverable messages so that no other worker sends them at the same time."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(outbox_ids))
        .where(or_(OutboxMessage.status == "pending",
                   (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - CLAIM_TIMEOUT)))
        .values(status="sending", claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return list(session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(outbox_ids), OutboxMessage.status == "sending", OutboxMessage.claimed_at == now)
        .order_by(OutboxMessage.id)
    ))


def deliver_batch(session_factory: sessionmaker, mailer: Mailer, outbox_ids: list[int], base_url: str) -> dict:
    """Claim and render in one short transaction, send outside any transaction, then record the outcome.

    Holding a write transaction through the SMTP conversation would make workers queue on SQLite's
    write lock. A crash between sending and recording leaves rows "sending"; the sweep re-sends them
    after CLAIM_TIMEOUT with the same Message-ID (delivery is at least once).
    """
    prepared: list[tuple[int, EmailMessage]] = []
    cancelled = 0
    with session_factory() as session:
        claimed = claim_batch(session, outbox_ids, utcnow())
        for outbox in claimed:
            try:
                rendered = emails.render(session, outbox, base_url)
            except emails.NothingToSend as reason:
                outbox.status, outbox.last_error = "cancelled", str(reason)
                cancelled += 1
                continue
            prepared.append((outbox.id, build_message(outbox, rendered, mailer.mail_from, rendered.to_name)))
        session.commit()

    sent: list[int] = []
    errors: dict[int, str] = {}
    for outbox_id, message in prepared:
        try:
            mailer.send(message)
            sent.append(outbox_id)
        except (smtplib.SMTPException, OSError) as error:
            errors[outbox_id] = f"{type(error).__name__}: {error}"[:1000]

    retry = failed = 0
    with session_factory() as session:
        if sent:
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(sent))
                .values(status="sent", sent_at=utcnow(), last_error="", attempts=OutboxMessage.attempts + 1)
                .execution_options(synchronize_session=False)
            )
        for outbox_id, error in errors.items():
            outbox = session.get(OutboxMessage, outbox_id)
            outbox.attempts += 1
            outbox.last_error = error
            outbox.status = "failed" if outbox.attempts >= MAX_ATTEMPTS else "pending"
            retry += outbox.status == "pending"
            failed += outbox.status == "failed"
        session.commit()
    return {"sent": len(sent), "skipped": len(outbox_ids) - len(claimed), "cancelled": cancelled,
            "retry": retry, "failed": failed}
