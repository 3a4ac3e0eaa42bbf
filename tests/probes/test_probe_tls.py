"""The tls probe against loopback TLS servers with trustme certificates."""

from __future__ import annotations

import ssl
import time

import pytest
from pydantic import ValidationError

from probes.base import ErrorKind, Status
from probes.tls import TlsConfig, probe_tls
from tests.probes.conftest import MakeCtx, MakeHttp
from tests.support.http import Reply
from tests.support.net import BlackholeTCP, closed_port
from tests.support.tls import Certs


def cfg(port: int, certs: Certs, **kw: object) -> TlsConfig:
    raw = {"host": "127.0.0.1", "port": port, "ca_file": certs.ca_file, **kw}
    return TlsConfig.model_validate(raw)


async def tls_port(make_http: MakeHttp, certs: Certs, cert: object, **kw: object) -> int:
    ctx = Certs.server_context(cert, **kw)  # type: ignore[arg-type]
    return (await make_http({"/": Reply()}, ssl_context=ctx)).port


async def test_valid_certificate(make_http: MakeHttp, make_ctx: MakeCtx, certs: Certs) -> None:
    port = await tls_port(make_http, certs, certs.valid)
    result = await probe_tls(cfg(port, certs, server_name="localhost"), make_ctx())
    assert result.status is Status.UP, result.message
    d = result.details
    assert 199 < d["days_left"] <= 200
    # the certificate is made once per session, minutes before this test may run
    assert abs(d["cert_expiry"] - (time.time() + 200 * 86400)) < 3600
    assert d["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert "trustme" in d["issuer"]
    assert d["ip"] == "127.0.0.1"


async def test_near_expiry_degraded_then_critical_down(
    make_http: MakeHttp, make_ctx: MakeCtx, certs: Certs
) -> None:
    near = await tls_port(make_http, certs, certs.near_expiry)
    warned = await probe_tls(cfg(near, certs, warn_days=14, critical_days=3), make_ctx())
    assert (warned.status, warned.error_kind) == (Status.DEGRADED, ErrorKind.CERT_EXPIRY)
    assert 4 < warned.details["days_left"] <= 5
    critical = await probe_tls(cfg(near, certs, warn_days=14, critical_days=6), make_ctx())
    assert (critical.status, critical.error_kind) == (Status.DOWN, ErrorKind.CERT_EXPIRY)


@pytest.mark.parametrize("which", ["expired", "wrong_host"])
async def test_invalid_certificates_are_down_tls(
    make_http: MakeHttp, make_ctx: MakeCtx, certs: Certs, which: str
) -> None:
    port = await tls_port(make_http, certs, getattr(certs, which))
    result = await probe_tls(cfg(port, certs, server_name="localhost"), make_ctx())
    assert (result.status, result.error_kind) == (Status.DOWN, ErrorKind.TLS)
    assert ("expired" if which == "expired" else "Hostname mismatch") in result.message


async def test_untrusted_chain_without_ca_file(
    make_http: MakeHttp, make_ctx: MakeCtx, certs: Certs
) -> None:
    port = await tls_port(make_http, certs, certs.valid)
    config = TlsConfig(host="127.0.0.1", port=port)
    result = await probe_tls(config, make_ctx())
    assert (result.error_kind, result.details["verify_code"]) == (ErrorKind.TLS, 20)


async def test_minimum_version(make_http: MakeHttp, make_ctx: MakeCtx, certs: Certs) -> None:
    port = await tls_port(make_http, certs, certs.valid, maximum_version=ssl.TLSVersion.TLSv1_2)
    assert (await probe_tls(cfg(port, certs, min_version="1.2"), make_ctx())).status is Status.UP
    result = await probe_tls(cfg(port, certs, min_version="1.3"), make_ctx())
    assert (result.status, result.error_kind) == (Status.DOWN, ErrorKind.TLS)


async def test_ipv6_and_family_mismatch(
    make_http: MakeHttp, make_ctx: MakeCtx, certs: Certs
) -> None:
    srv = await make_http({"/": Reply()}, host="::1", ssl_context=certs.server_context(certs.valid))
    up = await probe_tls(cfg(srv.port, certs, host="::1", ip_version=6), make_ctx())
    assert (up.status, up.details["ip"]) == (Status.UP, "::1")
    wrong = await probe_tls(cfg(srv.port, certs, host="::1", ip_version=4), make_ctx())
    assert wrong.error_kind is ErrorKind.DNS


async def test_refused_and_timeout(
    make_ctx: MakeCtx, certs: Certs, blackhole: BlackholeTCP
) -> None:
    refused = await probe_tls(cfg(closed_port(), certs), make_ctx())
    assert refused.error_kind is ErrorKind.CONNECT
    silent = await probe_tls(cfg(blackhole.port, certs), make_ctx(timeout=0.2))
    assert (silent.error_kind, silent.status) == (ErrorKind.TIMEOUT, Status.DOWN)


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="must not exceed warn_days"):
        TlsConfig(host="x", warn_days=3, critical_days=10)
