"""An SMTP relay on loopback (aiosmtpd) that keeps what it accepts, or answers with a
scripted reply; plain, or STARTTLS with LOGIN/PLAIN authentication."""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USER, PASSWORD = "canhbao@hungyen.gov.vn", "mật-khẩu-smtp"


@dataclass
class Mailbox:
    """aiosmtpd handler: keeps accepted mail, or answers with a scripted reply."""

    rcpt_reply: str | None = None
    data_reply: str | None = None
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        self.envelopes.append(envelope)
        raw = envelope.original_content or b""
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))
        return "250 2.0.0 Message accepted for delivery"


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (USER, PASSWORD)
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    mailbox: Mailbox
    server: asyncio.Server
    ca_file: str | None = None  # the CA to trust for STARTTLS

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def start_smtp(
    mailbox: Mailbox | None = None, tls: ssl.SSLContext | None = None, ca_file: str | None = None
) -> SmtpServer:
    """A relay on 127.0.0.1; with ``tls`` it requires STARTTLS before AUTH."""
    box = mailbox or Mailbox()

    def factory() -> SMTP:
        return SMTP(
            box,
            hostname="mail.test",
            tls_context=tls,
            require_starttls=tls is not None,
            authenticator=_authenticator,
            auth_require_tls=tls is not None,
        )

    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    return SmtpServer(box, server, ca_file)
