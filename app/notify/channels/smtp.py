"""E-mail over SMTP (aiosmtplib): multipart text + HTML, UTF-8 subject; report mails
carry files (multipart/mixed, filenames RFC 2231-encoded so diacritics survive).

SMTP reply codes decide retries: 4xx (greylisting, mailbox busy) and lost
connections are transient, 5xx (unknown mailbox, auth refused) permanent.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from app.notify.channels._http import resolve_secret
from app.notify.channels.base import (
    Attachment,
    DeliveryOutcome,
    Mail,
    Notification,
    RenderedMessage,
)
from app.notify.channels.config import EmailConfig, SmtpConfig
from probes.secrets import SecretResolver


def build_message(
    note: Notification, rendered: RenderedMessage, sender: str, to: list[str]
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(note.now)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg["X-Thongsuot-Event"] = note.event.value
    if note.incident_id is not None:
        msg["X-Thongsuot-Incident"] = str(note.incident_id)
    msg.set_content(rendered.text, charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return msg


def build_mail(mail: Mail, sender: str, to: list[str]) -> EmailMessage:
    """A mail with a text and an HTML part, then one part per attachment."""
    msg = EmailMessage()
    msg["Subject"] = mail.subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(mail.now)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg["X-Thongsuot-Event"] = mail.event
    msg.set_content(mail.text, charset="utf-8")
    msg.add_alternative(mail.html, subtype="html", charset="utf-8")
    for item in mail.attachments:
        _attach(msg, item)
    return msg


def _attach(msg: EmailMessage, item: Attachment) -> None:
    maintype, _, subtype = item.content_type.partition("/")
    # a non-ASCII filename becomes filename*=utf-8''… (RFC 2231) under the default policy
    msg.add_attachment(item.data, maintype=maintype, subtype=subtype, filename=item.filename)


def _outcome_for_smtp_error(exc: aiosmtplib.SMTPException) -> DeliveryOutcome:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        if codes and all(400 <= c < 500 for c in codes):
            return DeliveryOutcome.transient(f"recipients refused: {detail}", codes[0])
        return DeliveryOutcome.failed(f"recipients refused: {detail}", codes[0] if codes else None)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        detail = f"SMTP {exc.code}: {exc.message}"
        if 400 <= exc.code < 500 or exc.code < 0:
            return DeliveryOutcome.transient(detail, exc.code)
        return DeliveryOutcome.failed(detail, exc.code)
    return _outcome_for_os_error(exc)


def _outcome_for_os_error(exc: Exception) -> DeliveryOutcome:
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ssl.SSLCertVerificationError) or isinstance(
        exc.__cause__, ssl.SSLCertVerificationError
    ):
        return DeliveryOutcome.failed(detail)  # trust must be fixed by a person (ca_file)
    if isinstance(exc, OSError):  # connect, timeout, disconnect
        return DeliveryOutcome.transient(detail)
    return DeliveryOutcome.failed(detail)  # e.g. the relay offers no STARTTLS


class EmailChannel:
    def __init__(
        self, config: EmailConfig, smtp: SmtpConfig | None, secrets: SecretResolver
    ) -> None:
        self.config = config
        self.smtp = config.smtp or smtp
        self._secrets = secrets

    async def send(self, note: Notification, rendered: RenderedMessage) -> DeliveryOutcome:
        smtp = self.smtp
        if smtp is None:
            return DeliveryOutcome.failed("no SMTP relay configured for e-mail")
        return await self._deliver(
            smtp, build_message(note, rendered, smtp.from_addr, self.config.to)
        )

    async def send_mail(self, mail: Mail) -> DeliveryOutcome:
        """Send a mail that is not about an incident (a report with its files)."""
        if self.smtp is None:
            return DeliveryOutcome.failed("no SMTP relay configured for e-mail")
        return await self._deliver(self.smtp, build_mail(mail, self.smtp.from_addr, self.config.to))

    async def _deliver(self, smtp: SmtpConfig, message: EmailMessage) -> DeliveryOutcome:
        password: str | None = None
        if smtp.password_secret is not None:
            resolved = resolve_secret(self._secrets, smtp.password_secret)
            if isinstance(resolved, DeliveryOutcome):
                return resolved
            password = resolved
        try:
            errors, response = await aiosmtplib.send(
                message,
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username,
                password=password,
                use_tls=smtp.security == "tls",
                start_tls=smtp.security == "starttls",
                tls_context=self._tls_context(smtp),
                timeout=smtp.timeout_s,
            )
        except aiosmtplib.SMTPException as exc:
            return _outcome_for_smtp_error(exc)
        except OSError as exc:
            return _outcome_for_os_error(exc)
        refused = f"; refused: {', '.join(sorted(errors))}" if errors else ""
        return DeliveryOutcome.delivered(f"{response}{refused}", 250)

    @staticmethod
    def _tls_context(smtp: SmtpConfig) -> ssl.SSLContext | None:
        if smtp.security == "none":
            return None
        ctx = ssl.create_default_context()
        if smtp.ca_file:
            ctx.load_verify_locations(cafile=smtp.ca_file)
        return ctx
