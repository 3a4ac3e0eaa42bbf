"""The flow probe: portal home → procedure search → procedure detail, on a loopback portal."""

from __future__ import annotations

import itertools
import json

import pytest
from pydantic import ValidationError

from probes.base import ErrorKind, Status
from probes.flow import FlowConfig, probe_flow
from tests.probes.conftest import MakeCtx, MakeHttp
from tests.support.http import Reply, Request, ScriptedHTTP


def cookies(req: Request) -> dict[str, str]:
    pairs = (c.strip().split("=", 1) for c in req.headers.get("cookie", "").split(";") if c)
    return {k: v for k, v in pairs}


def portal_routes(delay: float = 0.0) -> dict[str, object]:
    sessions = itertools.count(1)

    def home(req: Request) -> Reply:
        sid = f"s{next(sessions)}"
        page = f'<form><input name="csrf" value="tok-{sid}"></form> Cổng dịch vụ công'
        return Reply(200, page, {"Set-Cookie": f"SID={sid}; Path=/"})

    def search(req: Request) -> Reply:
        sid = cookies(req).get("SID")
        form = json.loads(req.body)
        if not sid or form.get("csrf") != f"tok-{sid}" or req.headers.get("x-key") != "k-123":
            return Reply(403, "phiên không hợp lệ")
        hits = [{"id": 1_003_456, "ten": "Cấp giấy khai sinh"}]
        return Reply(
            200, json.dumps({"data": hits}), {"Content-Type": "application/json"}, delay=delay
        )

    def detail(req: Request) -> Reply:
        ok = "SID" in cookies(req) and cookies(req).get("LB") == "node1"
        return Reply(200, "Trình tự thực hiện") if ok else Reply(401, "đăng nhập lại")

    return {
        "/": Reply(302, headers={"Location": "/home", "Set-Cookie": "LB=node1; Path=/"}),
        "/home": home,
        "/api/search": search,
        "/thu-tuc/1003456": detail,
    }


def portal_flow(srv: ScriptedHTTP, **kw: object) -> FlowConfig:
    base = srv.url("")
    raw = {
        "secrets": {"api_key": "PORTAL_API_KEY"},
        "steps": [
            {
                "name": "trang chủ",
                "url": base + "/",
                "keyword": "dịch vụ công",
                "extract": {"csrf": {"regex": r'name="csrf" value="(?P<csrf>[^"]+)"'}},
            },
            {
                "name": "tìm thủ tục",
                "url": base + "/api/search",
                "method": "POST",
                "headers": {"Content-Type": "application/json", "X-Key": "{api_key}"},
                "body": '{"q": "khai sinh", "csrf": "{csrf}"}',
                "json_path": [{"path": "$.data[0].ten", "regex": "khai sinh"}],
                "extract": {"procedure_id": {"json_path": "$.data[0].id"}},
            },
            {"name": "chi tiết", "url": base + "/thu-tuc/{procedure_id}", "keyword": "Trình tự"},
        ],
        **kw,
    }
    return FlowConfig.model_validate(raw)


SECRETS = {"PORTAL_API_KEY": "k-123"}


async def test_flow_up_with_shared_cookies(make_http: MakeHttp, make_ctx: MakeCtx) -> None:
    srv = await make_http(portal_routes())
    result = await probe_flow(portal_flow(srv), make_ctx(secrets=SECRETS))
    assert result.status is Status.UP, result.message
    assert [s["name"] for s in result.details["steps"]] == ["trang chủ", "tìm thủ tục", "chi tiết"]
    assert cookies(srv.requests[-1]) == {"SID": "s1", "LB": "node1"}
    # a second run starts with an empty jar: no cookie on its first request
    await probe_flow(portal_flow(srv), make_ctx(secrets=SECRETS))
    assert "cookie" not in srv.requests[4].headers
    assert cookies(srv.requests[-1])["SID"] == "s2"


async def test_failing_step_is_named(make_http: MakeHttp, make_ctx: MakeCtx) -> None:
    routes = portal_routes()
    routes["/thu-tuc/1003456"] = Reply(500, "lỗi máy chủ")
    srv = await make_http(routes)
    result = await probe_flow(portal_flow(srv), make_ctx(secrets=SECRETS))
    assert (result.status, result.error_kind) == (Status.DOWN, ErrorKind.HTTP_STATUS)
    assert result.details["step"] == {"index": 3, "name": "chi tiết"}
    assert result.message == "step 3 (chi tiết): HTTP 500"


async def test_extraction_failure_is_an_assertion(make_http: MakeHttp, make_ctx: MakeCtx) -> None:
    routes = portal_routes()
    routes["/home"] = Reply(200, "Cổng dịch vụ công (bảo trì, không có biểu mẫu)")
    srv = await make_http(routes)
    result = await probe_flow(portal_flow(srv), make_ctx(secrets=SECRETS))
    assert (result.error_kind, result.details["step"]["index"]) == (ErrorKind.ASSERTION, 1)
    assert "could not extract 'csrf'" in result.message


async def test_budget_and_degraded_total(make_http: MakeHttp, make_ctx: MakeCtx) -> None:
    srv = await make_http(portal_routes(delay=0.3))
    over = await probe_flow(portal_flow(srv, budget_s=0.15), make_ctx(secrets=SECRETS))
    assert (over.status, over.error_kind) == (Status.DOWN, ErrorKind.TIMEOUT)
    assert over.details["step"]["name"] == "tìm thủ tục"
    slow = await probe_flow(portal_flow(srv, degraded_total_ms=100), make_ctx(secrets=SECRETS))
    assert (slow.status, slow.error_kind) == (Status.DEGRADED, ErrorKind.LATENCY)


async def test_missing_secret_and_session_rejected(make_http: MakeHttp, make_ctx: MakeCtx) -> None:
    srv = await make_http(portal_routes())
    missing = await probe_flow(portal_flow(srv), make_ctx(secrets={}))
    assert (missing.error_kind, srv.requests) == (ErrorKind.CONFIG, [])
    wrong_key = await probe_flow(portal_flow(srv), make_ctx(secrets={"PORTAL_API_KEY": "x"}))
    assert (wrong_key.error_kind, wrong_key.details["http_status"]) == (
        ErrorKind.HTTP_STATUS,
        403,
    )


def test_placeholders_must_be_defined_first() -> None:
    raw = {
        "steps": [
            {"name": "a", "url": "http://127.0.0.1/{later}"},
            {"name": "b", "url": "http://127.0.0.1/", "extract": {"later": {"regex": "x"}}},
        ]
    }
    with pytest.raises(ValidationError, match=r"step 1 \(a\) uses later"):
        FlowConfig.model_validate(raw)


async def test_slow_step_degrades_the_flow(make_http: MakeHttp, make_ctx: MakeCtx) -> None:
    srv = await make_http({"/": Reply(200, "ok"), "/slow": Reply(200, "ok", delay=0.1)})
    config = FlowConfig.model_validate(
        {
            "steps": [
                {"name": "nhanh", "url": srv.url("/")},
                {"name": "chậm", "url": srv.url("/slow"), "degraded_latency_ms": 20},
            ]
        }
    )
    result = await probe_flow(config, make_ctx())
    assert (result.status, result.error_kind) == (Status.DEGRADED, ErrorKind.LATENCY)
    assert result.message.startswith("step 'chậm': slow")
