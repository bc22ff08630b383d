"""Mail on the wire: a MIME message assembled as bytes (attachments encoded once per batch), and an SMTP connection
kept open across messages whose every refusal is read as temporary or permanent."""

from __future__ import annotations

import base64
import hashlib
import re
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from email.utils import formataddr, formatdate, parseaddr
from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit

from workflows.outbound.outbox import Outcome, permanent, sent, temporary

# Anything below a space (and DEL) in a header value would break the header or let a value start a header of its
# own; input is refused with these already, a stored value that slipped through fails its message alone.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Unbuildable(ValueError):
    """The message cannot be made from what it was given."""


@dataclass(frozen=True)
class Attachment:
    """A file to attach; known by its name, type and sha256 (the bytes are compared by their hash)."""

    filename: str
    content_type: str
    sha256: str
    data: bytes = field(compare=False, repr=False)

    @classmethod
    def of(cls, filename: str, content_type: str, data: bytes) -> Attachment:
        return cls(filename, content_type, hashlib.sha256(data).hexdigest(), data)


@dataclass
class Mail:
    to_name: str
    to_address: str
    subject: str
    text: str
    html: str
    message_key: str  # the outbox item's idempotency key: the same mail gets the same Message-ID on every attempt
    attachments: list[Attachment] = field(default_factory=list)


def _part(attachment: Attachment) -> bytes:
    """A large file (the final document) is encoded once per process, however many mails carry it."""
    return _encoded_part_kept(attachment) if len(attachment.data) > 64 * 1024 else _encoded_part(attachment)


@lru_cache(maxsize=8)
def _encoded_part_kept(attachment: Attachment) -> bytes:
    return _encoded_part(attachment)


def _encoded_part(attachment: Attachment) -> bytes:
    filename = attachment.filename
    if filename.isascii() and not _CONTROL.search(filename):
        disposition = f'attachment; filename="{filename}"'
    else:  # RFC 2231
        disposition = f"attachment; filename*=utf-8''{quote(filename, safe='')}"
    return (f"Content-Type: {attachment.content_type}\r\nContent-Transfer-Encoding: base64\r\n"
            f"Content-Disposition: {disposition}\r\n\r\n").encode("ascii") + _base64(attachment.data)


def _base64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def _encoded_words(value: str) -> str:
    """RFC 2047 base64 encoded-words, each at most 45 bytes of whole UTF-8 characters (a 72-character word),
    folded onto lines of their own. email.header does the same, at a tenth of the speed."""
    words, chunk, size = [], [], 0
    for character in value:
        length = len(character.encode("utf-8"))
        if size + length > 45:
            words.append(chunk)
            chunk, size = [], 0
        chunk.append(character)
        size += length
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(''.join(w).encode('utf-8')).decode('ascii')}?="
                         for w in words)


def _header(value: str) -> str:
    return value if value.isascii() and len(value) < 900 else _encoded_words(value)


def _address(name: str, address: str) -> str:
    # One encoded-word for a name, as email.utils.formataddr(charset="utf-8") makes it: readers that split a
    # display name into words keep the spaces between encoded-words (a name is at most 200 characters).
    if name.isascii():
        return formataddr((name, address))
    return f"=?utf-8?b?{base64.b64encode(name.encode('utf-8')).decode('ascii')}?= <{address}>"


def build(mail: Mail, mail_from: str, *, date: str | None = None) -> bytes:
    """The message as bytes: text and HTML alternatives (base64 UTF-8), then the attachments."""
    for value in (mail.to_name, mail.to_address, mail.subject):
        if _CONTROL.search(value):
            raise Unbuildable("a control character in the recipient's name, address or the subject")
    digest = hashlib.sha256(mail.message_key.encode()).hexdigest()[:32]
    boundary = f"=_akkoord_{digest[:16]}"
    alternative = (
        f"--{boundary}a\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + _base64(mail.text.encode("utf-8")) + (
        f"--{boundary}a\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + _base64(mail.html.encode("utf-8")) + f"--{boundary}a--\r\n".encode()
    headers = [
        f"From: {mail_from}",
        f"To: {_address(mail.to_name, mail.to_address)}",
        f"Subject: {_header(mail.subject)}",
        f"Date: {date or formatdate(localtime=False)}",
        # A stable Message-ID lets a receiving server (and a person) see a mail sent again as the same mail.
        f"Message-ID: <{digest}@akkoord>",
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
    ]
    if not mail.attachments:
        headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}a"')
        return ("\r\n".join(headers) + "\r\n\r\n").encode("utf-8") + alternative
    headers.append(f'Content-Type: multipart/mixed; boundary="{boundary}m"')
    parts = [f"--{boundary}m\r\nContent-Type: multipart/alternative; boundary=\"{boundary}a\"\r\n\r\n".encode()
             + alternative]
    for attachment in mail.attachments:
        parts.append(f"--{boundary}m\r\n".encode() + _part(attachment))
    return ("\r\n".join(headers) + "\r\n\r\n").encode("utf-8") + b"".join(parts) + f"--{boundary}m--\r\n".encode()


class Mailer:
    """An SMTP connection opened on first use and kept for the next messages: smtp://host:port,
    smtp+starttls://user:pass@host, smtps://user:pass@host."""

    TIMEOUT = 30
    IDLE_CHECK = 5  # seconds idle after which the connection is checked before use (not before every message)

    def __init__(self, url: str, mail_from: str):
        self.url = urlsplit(url)
        self.mail_from = mail_from
        self.envelope_from = parseaddr(mail_from)[1] or mail_from
        self._smtp: smtplib.SMTP | None = None
        self._used_at = 0.0

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            smtp, self._smtp = self._smtp, None
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _connect(self) -> smtplib.SMTP:
        scheme, host, port = self.url.scheme, self.url.hostname or "localhost", self.url.port
        if scheme == "smtps":
            smtp = smtplib.SMTP_SSL(host, port or 465, context=ssl.create_default_context(), timeout=self.TIMEOUT)
        else:
            smtp = smtplib.SMTP(host, port or 25, timeout=self.TIMEOUT)
            if scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
        if self.url.username:
            smtp.login(unquote(self.url.username), unquote(self.url.password or ""))
        return smtp

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None and time.monotonic() - self._used_at > self.IDLE_CHECK:
            try:  # the server may have closed a connection idle this long; a NOOP tells before a message is lost
                if self._smtp.noop()[0] != 250:
                    self.close()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
                self._smtp = None
        if self._smtp is None:
            self._smtp = self._connect()
        self._used_at = time.monotonic()
        return self._smtp

    def send(self, to_address: str, message: bytes) -> Outcome:
        """One message to one recipient; never raises for what the server or the network does."""
        try:
            _transmit(self._connection(), self.envelope_from, to_address, message)
            return sent()
        except smtplib.SMTPRecipientsRefused as refused:
            code, text = next(iter(refused.recipients.values()), (0, b""))
            return _by_code(code, text, "address_refused", "recipient_deferred")
        except smtplib.SMTPSenderRefused as refused:
            self.close()
            return temporary("sender_refused", _text(refused.smtp_code, refused.smtp_error))
        except smtplib.SMTPDataError as refused:
            self.close()
            return _by_code(refused.smtp_code, refused.smtp_error, "content_refused", "smtp_deferred")
        except smtplib.SMTPAuthenticationError as refused:
            self.close()
            return temporary("smtp_login_failed", _text(refused.smtp_code, refused.smtp_error))
        except smtplib.SMTPResponseException as refused:
            self.close()
            return _by_code(refused.smtp_code, refused.smtp_error, "smtp_refused", "smtp_deferred")
        except TimeoutError as error:
            self.close()
            return temporary("smtp_timeout", f"{type(error).__name__}: {error}")
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            return temporary("smtp_unreachable", f"{type(error).__name__}: {error}")


def _transmit(smtp: smtplib.SMTP, envelope_from: str, to_address: str, message: bytes) -> None:
    """smtplib's sendmail for a message `build` made (CRLF line ends already): the same commands and the same
    exceptions, without its two regular expressions over the whole message (line ends, leading dots), which
    cost 5-16 ms for a final mail's megabyte of attachments. A leading dot is doubled with a plain replace."""
    smtp.ehlo_or_helo_if_needed()
    code, text = smtp.mail(envelope_from)
    if code != 250:
        _reset(smtp, smtplib.SMTPSenderRefused(code, text, envelope_from))
    code, text = smtp.rcpt(to_address)
    if code not in (250, 251):
        _reset(smtp, smtplib.SMTPRecipientsRefused({to_address: (code, text)}))
    code, text = smtp.docmd("data")
    if code != 354:
        _reset(smtp, smtplib.SMTPDataError(code, text))
    quoted = (b"." if message.startswith(b".") else b"") + message.replace(b"\r\n.", b"\r\n..")
    # One write with its terminator: a small second write waits for the ACK of the first (Nagle), which the
    # server delays (delayed ACK) -- 40 ms a mail.
    smtp.send(quoted + (b".\r\n" if quoted.endswith(b"\r\n") else b"\r\n.\r\n"))
    code, text = smtp.getreply()
    if code != 250:
        _reset(smtp, smtplib.SMTPDataError(code, text))


def _reset(smtp: smtplib.SMTP, error: smtplib.SMTPException) -> None:
    """As sendmail does after a refusal: RSET, so the connection can carry the next message, then raise."""
    try:
        smtp.rset()
    except smtplib.SMTPServerDisconnected:
        pass
    raise error


def _text(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {text}".strip()


def _by_code(code: int, text: bytes | str, permanent_failure: str, temporary_failure: str) -> Outcome:
    """SMTP's own rule: a 5xx reply is final, a 4xx reply is worth trying again."""
    if 500 <= code < 600:
        return permanent(permanent_failure, _text(code, text))
    return temporary(temporary_failure, _text(code, text))
