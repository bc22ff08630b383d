"""The yardstick's RQ job: what a plain batch sender does — make each message with the standard library's
EmailMessage and send the batch over one SMTP connection. No database, no templates, no links."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from urllib.parse import urlsplit


def send_batch(smtp_url: str, messages: list[tuple[str, str]]) -> int:
    parts = urlsplit(smtp_url)
    with smtplib.SMTP(parts.hostname, parts.port, timeout=30) as smtp:
        for to_address, body in messages:
            message = EmailMessage()
            message["From"] = "Akkoord <akkoord@localhost>"
            message["To"] = to_address
            message["Subject"] = "Uitnodiging: reageer op de samenwerkingsovereenkomst"
            message.set_content(body)
            smtp.send_message(message)
    return len(messages)
