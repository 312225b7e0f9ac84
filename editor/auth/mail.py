"""Sending email: by SMTP when configured, else into ``DATA_DIR/outbox/`` and the log.

The embedded default needs no mail server: each message is written as an ``.eml`` file
that a person can open (or whose link they can copy from the log).

Messages are ``text/plain; charset=utf-8`` sent as they are written (7bit when ASCII, else
8bit), never quoted-printable or base64: a link stays one intact line, clickable and
copyable in a mail client and in the saved ``.eml`` alike.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

import trio

from editor import logs
from editor.config_values import SmtpTarget, parse_smtp_url

log = logs.get(__name__)
SMTP_TIMEOUT_S = 15.0
MAX_LINE_BYTES = 998  # RFC 5322 §2.1.1: longer lines would have to be re-encoded


@dataclass(frozen=True)
class Mail:
    """One plain-text message to one recipient."""

    to: str
    subject: str
    text: str


class Mailer(Protocol):
    """Delivers mail; raises ``OSError`` (or ``smtplib.SMTPException``) when it cannot."""

    async def send(self, mail: Mail) -> None:
        """Deliver one message."""


def _message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="editor")
    message.set_content(mail.text, charset="utf-8", cte=_transfer_encoding(mail.text))
    return message


def _transfer_encoding(text: str) -> str:
    """``7bit`` or ``8bit`` (the text as written); quoted-printable only for overlong lines."""
    lines = text.splitlines()
    if any(len(line.encode()) > MAX_LINE_BYTES for line in lines):
        return "quoted-printable"
    return "7bit" if text.isascii() else "8bit"


class OutboxMailer:
    """Writes each message to ``directory`` as an ``.eml`` file and logs it."""

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    async def send(self, mail: Mail) -> None:
        """Write the message atomically (temporary name, then rename)."""
        # Names sort in the order written: UTC time to the microsecond, then a random tail.
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        data = bytes(_message(mail, self.sender))

        def write() -> Path:
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary = self.directory / f".{name}.tmp"
            temporary.write_bytes(data)
            return temporary.replace(self.directory / name)

        path = await trio.to_thread.run_sync(write)
        log.info("email written to the outbox (no SMTP server configured)",
                 extra={"to": mail.to, "subject": mail.subject, "path": str(path),
                        "text": mail.text})


class SmtpMailer:
    """Sends through an SMTP server from a worker thread (smtplib blocks)."""

    def __init__(self, target: SmtpTarget, sender: str) -> None:
        self.target = target
        self.sender = sender

    async def send(self, mail: Mail) -> None:
        """Connect, upgrade to TLS when possible, authenticate if configured, send."""
        message = _message(mail, self.sender)
        await trio.to_thread.run_sync(self._send_blocking, message, abandon_on_cancel=True)
        log.info("email sent", extra={"to": mail.to, "subject": mail.subject})

    def _send_blocking(self, message: EmailMessage) -> None:
        target = self.target
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if target.implicit_tls:
            client = smtplib.SMTP_SSL(target.host, target.port, timeout=SMTP_TIMEOUT_S,
                                      context=context)
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT_S)
        with client:
            client.ehlo()
            if not target.implicit_tls and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            if target.username:
                client.login(target.username, target.password)
            client.send_message(message)


def mailer_for(smtp_url: str, sender: str, data_dir: Path) -> Mailer:
    """The SMTP mailer when a URL is configured, else the outbox in the data directory."""
    if smtp_url:
        return SmtpMailer(parse_smtp_url(smtp_url), sender)
    return OutboxMailer(data_dir / "outbox", sender)


def share_mail(to: str, inviter: str, title: str, link: str) -> Mail:
    """The message to someone with an account: a document was shared with them."""
    return Mail(to, "A document was shared with you", (
        f"Hello,\n\n"
        f"{inviter} gave you access to the document\n\n"
        f"  \u201c{title}\u201d\n\n"
        f"Open it here:\n\n"
        f"  {link}\n"))


def invitation_mail(to: str, inviter: str, title: str, link: str) -> Mail:
    """The message to an address without an account: an invitation to a document."""
    return Mail(to, "You are invited to a document", (
        f"Hello,\n\n"
        f"{inviter} invited you to the document\n\n"
        f"  \u201c{title}\u201d\n\n"
        f"To open it, create an account with this email address (or sign in with a\n"
        f"provider that knows it) here:\n\n"
        f"  {link}\n\n"
        f"The document appears in your list once your email address is confirmed. If you\n"
        f"did not expect this message, you can ignore it.\n"))
