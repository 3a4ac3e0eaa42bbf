"""A self-signed certificate for the demo farm's HTTPS listener.

The demo runs with the runtime dependencies only, so the certificate is made
with ``cryptography`` (not trustme, a test dependency). The certificate is its
own CA: the demo's tls checks name it in ``ca_file`` and its https checks trust
it through ``THONGSUOT_EXTRA_CA_FILE``. It expires soon on purpose (10 days by
default), so the certificate-expiry warning shows in the demo.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEFAULT_DAYS = 10.0


@dataclass(frozen=True, slots=True)
class DemoCert:
    cert_file: Path
    key_file: Path
    not_after: datetime

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


def tls_available() -> bool:
    """Whether ``cryptography`` is installed (without it the demo has no HTTPS)."""
    try:
        import cryptography.x509  # noqa: F401
    except ImportError:
        return False
    return True


def make_demo_cert(
    directory: Path, *, days: float = DEFAULT_DAYS, now: datetime | None = None
) -> DemoCert:
    """Write ``demo-cert.pem`` and ``demo-key.pem`` for 127.0.0.1, ::1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = now or datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "thongsuot demo farm"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "thongsuot (mô phỏng)"),
        ]
    )
    sans: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    not_after = now + timedelta(days=days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / "demo-cert.pem", directory / "demo-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return DemoCert(cert_file, key_file, not_after.replace(microsecond=0))
