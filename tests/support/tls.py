"""A private CA (trustme) and server certificates for the TLS cases."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import trustme


class Certs:
    """One private CA and server certificates for localhost, 127.0.0.1 and ::1."""

    def __init__(self, tmp: Path) -> None:
        self.ca = trustme.CA()
        self.ca_file = str(tmp / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        now = dt.datetime.now(dt.UTC)
        names = ("localhost", "127.0.0.1", "::1")
        self.valid = self.ca.issue_cert(*names, not_after=now + dt.timedelta(days=200))
        self.near_expiry = self.ca.issue_cert(*names, not_after=now + dt.timedelta(days=5))
        self.critical = self.ca.issue_cert(*names, not_after=now + dt.timedelta(hours=12))
        self.expired = self.ca.issue_cert(
            *names, not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1)
        )
        self.wrong_host = self.ca.issue_cert(
            "other.example", not_after=now + dt.timedelta(days=200)
        )

    @staticmethod
    def server_context(
        cert: trustme.LeafCert, maximum_version: ssl.TLSVersion | None = None
    ) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        if maximum_version is not None:
            ctx.maximum_version = maximum_version
        return ctx
