"""The http probe against real loopback HTTP(S) servers."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from probes.base import ErrorKind, Status
from probes.http import HttpConfig, probe_http
from tests.probes.conftest import MakeCtx, MakeHttp
from tests.support.http import Reply, Request
from tests.support.net import closed_port
from tests.support.tls import Certs

JSON_BODY = json.dumps({"status": "ok", "items": [{"id": 1, "name": "Hưng Yên"}]})


def cfg(url: str, **kw: object) -> HttpConfig:
    return HttpConfig.model_validate({"url": url, **kw})


async def test_up_with_details(make_http: MakeHttp, make_ctx: MakeCtx) -> None:
    srv = await make_http({"/": Reply(200, "Cổng dịch vụ công")})
    result = await probe_http(cfg(srv.url("/"), keyword="dịch vụ công"), make_ctx())
    assert result.status is Status.UP
    assert result.details["http_status"] == 200
    assert result.details["body_bytes"] == len("Cổng dịch vụ công".encode())
    assert result.latency > 0


@pytest.mark.parametrize(
    ("options", "fails"),
    [
        ({"keyword": "absent"}, "keyword 'absent' not found"),
        ({"keyword_absent": "ok"}, "forbidden keyword"),
        ({"regex": r"\"status\":\s*\"down\""}, "did not match"),
        ({"json_path": [{"path": "$.status", "equals": "down"}]}, "expected 'down'"),
        ({"json_path": [{"path": "$.missing"}]}, "matched nothing"),
        ({"json_path": [{"path": "$.status", "exists": False}]}, "must not exist"),
        ({"json_path": [{"path": "$.items[0].name", "regex": "^Hà"}]}, "does not match"),
        ({"response_headers": [{"name": "X-Absent"}]}, "'X-Absent' missing"),
        ({"response_headers": [{"name": "content-type", "equals": "text/plain"}]}, "expected"),
        ({"response_headers": [{"name": "X-Server", "regex": "^nginx"}]}, "does not match"),
        ({"response_headers": [{"name": "X-Server", "present": False}]}, "must be absent"),
        ({"min_size_bytes": 10_000}, "< min_size_bytes"),
        ({"max_size_bytes": 10}, "> max_size_bytes"),
    ],
)
async def test_assertion_failures(
    make_http: MakeHttp, make_ctx: MakeCtx, options: dict[str, object], fails: str
) -> None:
    reply = Reply(200, JSON_BODY, {"Content-Type": "application/json", "X-Server": "apache"})
    srv = await make_http({"/api": reply})
    result = await probe_http(cfg(srv.url("/api"), **options), make_ctx())
    assert (result.status, result.error_kind) == (Status.DOWN, ErrorKind.ASSERTION)
    assert fails in result.message


async def test_all_assertions_hold(make_http: MakeHttp, make_ctx: MakeCtx) -> None:
    reply = Reply(200, JSON_BODY, {"Content-Type": "application/json", "X-Server": "apache/2"})
    srv = await make_http({"/api": reply})
    config = cfg(
        srv.url("/api"),
        json_path=[
            {"path": "$.status", "equals": "ok"},
            {"path": "$.items[?(@.id==1)].name", "equals": "Hưng Yên"},
            {"path": "$.gone", "exists": False},
        ],
        response_headers=[
            {"name": "content-type", "equals": "application/json"},
            {"name": "x-server", "regex": "^apache"},
            {"name": "x-powered-by", "present": False},
        ],
        min_size_bytes=10,
        max_size_bytes=1000,
    )
    result = await probe_http(config, make_ctx())
    assert result.status is Status.UP, result.message


async def test_status_and_redirects(make_http: MakeHttp, make_ctx: MakeCtx) -> None:
    srv = await make_http(
        {
            "/old": Reply(302, headers={"Location": "/new"}),
            "/new": Reply(200, "mới"),
            "/loop": Reply(302, headers={"Location": "/loop"}),
            "/err": Reply(503, "bảo trì"),
        }
    )
    ctx = make_ctx()
    assert (await probe_http(cfg(srv.url("/old"), keyword="mới"), ctx)).status is Status.UP
    no_follow = await probe_http(cfg(srv.url("/old"), follow_redirects=False), ctx)
    assert (no_follow.error_kind, no_follow.details["http_status"]) == (ErrorKind.HTTP_STATUS, 302)
    allowed = cfg(srv.url("/old"), follow_redirects=False, valid_status_codes=[302])
    assert (await probe_http(allowed, ctx)).status is Status.UP
    loop = await probe_http(cfg(srv.url("/loop"), max_redirects=2), ctx)
    assert loop.error_kind is ErrorKind.PROTOCOL
    err = await probe_http(cfg(srv.url("/err")), ctx)
    assert (err.error_kind, err.message) == (ErrorKind.HTTP_STATUS, "HTTP 503")


async def test_latency_degraded_and_timeout(make_http: MakeHttp, make_ctx: MakeCtx) -> None:
    srv = await make_http({"/slow": Reply(200, "ok", delay=0.15)})
    slow = await probe_http(cfg(srv.url("/slow"), degraded_latency_ms=50), make_ctx())
    assert (slow.status, slow.error_kind) == (Status.DEGRADED, ErrorKind.LATENCY)
    timed_out = await probe_http(cfg(srv.url("/slow")), make_ctx(timeout=0.05))
    assert (timed_out.status, timed_out.error_kind) == (Status.DOWN, ErrorKind.TIMEOUT)


async def test_connect_refused_and_protocol_garbage(make_http: MakeHttp, make_ctx: MakeCtx) -> None:
    refused = await probe_http(cfg(f"http://127.0.0.1:{closed_port()}/"), make_ctx())
    assert refused.error_kind is ErrorKind.CONNECT
    srv = await make_http({"/": Reply(raw=b"SSH-2.0-OpenSSH\r\n\r\n")})
    garbage = await probe_http(cfg(srv.url("/")), make_ctx())
    assert garbage.error_kind is ErrorKind.PROTOCOL


async def test_auth_from_secrets(make_http: MakeHttp, make_ctx: MakeCtx) -> None:
    def need_auth(req: Request) -> Reply:
        expected = {
            "Bearer s3cret-token",
            "Basic " + base64.b64encode(b"canbo:mat-khau").decode(),
        }
        ok = req.headers.get("authorization") in expected
        return Reply(200, "vào") if ok else Reply(401, "từ chối")

    srv = await make_http({"/": need_auth})
    secrets = {"PORTAL_TOKEN": "s3cret-token", "PORTAL_PASS": "mat-khau"}
    bearer = cfg(srv.url("/"), auth={"type": "bearer", "secret": "PORTAL_TOKEN"})
    basic = cfg(srv.url("/"), auth={"type": "basic", "username": "canbo", "secret": "PORTAL_PASS"})
    assert (await probe_http(bearer, make_ctx(secrets=secrets))).status is Status.UP
    assert (await probe_http(basic, make_ctx(secrets=secrets))).status is Status.UP
    assert "s3cret" not in bearer.model_dump_json()
    missing = await probe_http(bearer, make_ctx(secrets={}))
    assert (missing.error_kind, srv.requests[-1].headers.get("authorization")) == (
        ErrorKind.CONFIG,
        "Basic " + base64.b64encode(b"canbo:mat-khau").decode(),
    )
    assert "PORTAL_TOKEN" in missing.message
    assert len(srv.requests) == 2  # nothing was sent without the secret


def test_env_secret_file(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from probes.secrets import env_secret

    path = Path(str(tmp_path)) / "token"
    path.write_text("từ-tệp\n", encoding="utf-8")
    monkeypatch.setenv("PORTAL_TOKEN_FILE", str(path))
    assert env_secret("PORTAL_TOKEN") == "từ-tệp"


async def test_https_valid_and_tls_failures(
    make_http: MakeHttp, make_ctx: MakeCtx, certs: Certs
) -> None:
    good = await make_http({"/": Reply(200, "ok")}, ssl_context=certs.server_context(certs.valid))
    result = await probe_http(cfg(good.url("/", host="localhost")), make_ctx())
    assert result.status is Status.UP, result.message
    assert result.details["tls_version"].startswith("TLSv1")
    assert result.details["cert_expiry"] > 0
    for cert in (certs.wrong_host, certs.expired):
        bad = await make_http({"/": Reply(200, "ok")}, ssl_context=certs.server_context(cert))
        failed = await probe_http(cfg(bad.url("/", host="localhost")), make_ctx())
        assert (failed.status, failed.error_kind) == (Status.DOWN, ErrorKind.TLS)
        unverified = cfg(bad.url("/", host="localhost"), verify_tls=False)
        assert (await probe_http(unverified, make_ctx())).status is Status.UP


async def test_ip_version_pins_the_family(
    make_http: MakeHttp, make_ctx: MakeCtx, certs: Certs
) -> None:
    v4 = await make_http({"/": Reply(200, "v4")})
    v6 = await make_http({"/": Reply(200, "v6")}, host="::1")
    r4 = await probe_http(cfg(v4.url("/"), ip_version=4, keyword="v4"), make_ctx())
    r6 = await probe_http(cfg(v6.url("/"), ip_version="6", keyword="v6"), make_ctx())
    assert (r4.status, r4.details["ip"]) == (Status.UP, "127.0.0.1")
    assert (r6.status, r6.details["ip"]) == (Status.UP, "::1")
    assert v6.requests[-1].headers["host"] == f"[::1]:{v6.port}"
    wrong = await probe_http(cfg(v4.url("/"), ip_version=6), make_ctx())
    assert (wrong.error_kind, wrong.status) == (ErrorKind.DNS, Status.DOWN)
    tls6 = await make_http(
        {"/": Reply(200)}, host="::1", ssl_context=certs.server_context(certs.valid)
    )
    pinned = await probe_http(cfg(tls6.url("/"), ip_version=6), make_ctx())
    assert pinned.status is Status.UP, pinned.message


async def test_shared_clients_do_not_keep_cookies(make_http: MakeHttp, make_ctx: MakeCtx) -> None:
    srv = await make_http({"/": Reply(200, "ok", {"Set-Cookie": "SESSION=abc; Path=/"})})
    ctx = make_ctx()
    await probe_http(cfg(srv.url("/")), ctx)
    await probe_http(cfg(srv.url("/")), ctx)
    assert "cookie" not in srv.requests[1].headers


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"url": "ftp://x"}, "absolute http"),
        ({"url": "http://x", "regex": "("}, "regular expression"),
        ({"url": "http://x", "json_path": [{"path": "$[["}]}, "JSON path"),
        ({"url": "http://x", "auth": {"type": "basic", "secret": "S"}}, "username"),
        ({"url": "http://x", "ip_version": 5}, "ip_version"),
        ({"url": "http://x", "min_size_bytes": 5, "max_size_bytes": 1}, "larger"),
        ({"url": "http://x", "body": "x"}, "POST or PUT"),
        ({"url": "http://x", "colour": "red"}, "Extra inputs"),
    ],
)
def test_config_errors_are_clear(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        HttpConfig.model_validate(raw)


async def test_certificate_facts_of_an_answer_without_a_body(
    make_http: MakeHttp, make_ctx: MakeCtx, certs: Certs
) -> None:
    """HEAD: the connection is released before the probe reads the response, and the
    certificate is still captured (probes/clients.py keeps the connection's TLS object)."""
    srv = await make_http({"/": Reply(200, "")}, ssl_context=certs.server_context(certs.valid))
    result = await probe_http(cfg(srv.url("/", host="localhost"), method="HEAD"), make_ctx())
    assert result.status is Status.UP, result.message
    assert result.details["tls_version"].startswith("TLSv1")
    assert result.details["cert_expiry"] > 0


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"", ErrorKind.PROTOCOL),  # closed without an answer
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", ErrorKind.PROTOCOL),  # cut body
    ],
)
async def test_a_connection_closed_early_is_a_protocol_error_not_a_timeout(
    make_http: MakeHttp, make_ctx: MakeCtx, raw: bytes, kind: ErrorKind
) -> None:
    srv = await make_http({"/": Reply(raw=raw)})
    result = await probe_http(cfg(srv.url("/")), make_ctx())
    assert (result.status, result.error_kind) == (Status.DOWN, kind), result.message
    assert "Timeout" not in result.message
