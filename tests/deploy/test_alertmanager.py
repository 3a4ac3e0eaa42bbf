"""deploy/alertmanager/alertmanager.yml: valid for amtool, routes by unit, and
inhibits commune alerts while the provincial system is down (checked on a real
Alertmanager on 127.0.0.1)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.deploy.tools import DEPLOY, run_tool, stop, wait_http
from tests.support.net import free_port
from tests.support.tools import require_tool

CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"


def test_amtool_check_config() -> None:
    amtool = require_tool("amtool")
    res = run_tool(amtool, "check-config", str(CONFIG))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (
            ["alertname=ThongsuotCheckDown", "unit=12337", "service_kind=commune_centre"],
            "xa-truc-ca",
        ),
        (["alertname=ThongsuotCheckDown", "unit=11977", "service_kind=commune_centre"], "xa-11977"),
        (
            ["alertname=ThongsuotCheckDown", "unit=33", "service_kind=provincial_system"],
            "tinh-truc-ca",
        ),
        (
            ["alertname=ThongsuotCheckDown", "unit=00", "service_kind=national_portal"],
            "tinh-truc-ca",
        ),
        (["alertname=ThongsuotMonitorDown", "job=thongsuot"], "phong-ky-thuat"),
        (["alertname=ThongsuotManyChecksDown"], "phong-ky-thuat"),
    ],
)
def test_routing_by_unit(labels: list[str], receiver: str) -> None:
    amtool = require_tool("amtool")
    res = run_tool(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        f"--verify.receivers={receiver}",
        *labels,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def _loopback_config(tmp_path: Path) -> Path:
    """The shipped config with every receiver pointed at a closed loopback port,
    so the running Alertmanager never resolves the placeholder hosts."""
    cfg: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    for receiver in cfg["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"http://127.0.0.1:{free_port()}/"
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    binary = require_tool("prometheus-alertmanager")
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={_loopback_config(tmp_path)}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/-/ready", proc)
        yield base
    finally:
        stop(proc)


def _alert(**labels: str) -> dict[str, Any]:
    return {"labels": {"province": "33", **labels}, "startsAt": datetime.now(UTC).isoformat()}


def _states(base: str) -> dict[str, str]:
    alerts = httpx.get(f"{base}/api/v2/alerts", timeout=5).json()
    return {
        a["labels"].get("check", a["labels"]["alertname"]): a["status"]["state"] for a in alerts
    }


def test_provincial_outage_inhibits_commune_alerts(alertmanager: str) -> None:
    commune = _alert(
        alertname="ThongsuotCheckDown",
        check="hy.12337.web",
        unit="12337",
        service_kind="commune_centre",
        severity="critical",
    )
    other_province = _alert(
        alertname="ThongsuotCheckDown",
        check="hn.1.web",
        unit="1",
        service_kind="commune_centre",
        severity="critical",
    )
    other_province["labels"]["province"] = "01"
    r = httpx.post(f"{alertmanager}/api/v2/alerts", json=[commune, other_province], timeout=5)
    assert r.status_code == 200
    assert _states(alertmanager) == {"hy.12337.web": "active", "hn.1.web": "active"}

    source = _alert(
        alertname="ThongsuotCheckDown",
        check="hy.33.portal",
        unit="33",
        service_kind="provincial_system",
        severity="critical",
    )
    r = httpx.post(f"{alertmanager}/api/v2/alerts", json=[source], timeout=5)
    assert r.status_code == 200
    assert _states(alertmanager) == {
        "hy.33.portal": "active",
        "hy.12337.web": "suppressed",  # same province: explained by the parent
        "hn.1.web": "active",  # another province's outage explains nothing here
    }


def test_critical_certificate_alert_replaces_the_warning(alertmanager: str) -> None:
    labels = {"check": "hy.33.portal.tls", "unit": "33", "service_kind": "provincial_system"}
    alerts = [
        _alert(alertname="ThongsuotCertificateExpiringSoon", severity="warning", **labels),
        _alert(alertname="ThongsuotCertificateExpiringCritical", severity="critical", **labels),
    ]
    assert httpx.post(f"{alertmanager}/api/v2/alerts", json=alerts, timeout=5).status_code == 200
    got = {
        a["labels"]["alertname"]: a["status"]["state"]
        for a in httpx.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
    }
    assert got == {
        "ThongsuotCertificateExpiringSoon": "suppressed",
        "ThongsuotCertificateExpiringCritical": "active",
    }
