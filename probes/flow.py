"""Flow probe: ordered HTTP steps sharing one cookie jar per run, with extracted
variables, per-step assertions and a total time budget."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Literal

import httpx
from pydantic import Field, field_validator, model_validator

from probes.base import ErrorKind, ProbeConfig, ProbeContext, ProbeResult, Status
from probes.http import ERROR_KINDS as HTTP_ERROR_KINDS
from probes.http import FETCH_ERRORS, USER_AGENT, classify_error, read_capped, tls_facts
from probes.http_assert import HttpAssertions, check_regex, evaluate_response, json_values
from probes.netutil import IpVersion, pin_url
from probes.registry import register
from probes.secrets import SecretUnavailable, read_secret

# A flow is HTTP steps: it can fail in every way one HTTP request can.
ERROR_KINDS: frozenset[ErrorKind] = HTTP_ERROR_KINDS
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Extract(ProbeConfig):
    """Take a value from the response: ``regex`` (the group named like the
    variable, else group 1, else the whole match) or ``json_path`` (first match)."""

    regex: str | None = None
    json_path: str | None = None

    @field_validator("regex")
    @classmethod
    def _check_regex(cls, value: str | None) -> str | None:
        return check_regex(value)

    @model_validator(mode="after")
    def _one_source(self) -> Extract:
        if (self.regex is None) == (self.json_path is None):
            raise ValueError("an extract needs exactly one of regex or json_path")
        return self


class FlowStep(HttpAssertions):
    name: str = Field(min_length=1)
    url: str = Field(min_length=1, description="may use {variables}")
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    follow_redirects: bool = True
    max_redirects: int = Field(default=5, ge=0, le=20)
    extract: dict[str, Extract] = Field(default_factory=dict)

    def placeholders(self) -> set[str]:
        texts = [self.url, self.body or "", *self.headers.values()]
        return {name for text in texts for name in PLACEHOLDER.findall(text)}


class FlowConfig(ProbeConfig):
    steps: list[FlowStep] = Field(min_length=1, max_length=20)
    variables: dict[str, str] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(
        default_factory=dict, description="variable → secret name (NAME or NAME_FILE)"
    )
    budget_s: float | None = Field(default=None, gt=0, description="total; default ctx timeout")
    degraded_total_ms: float | None = Field(default=None, gt=0)
    verify_tls: bool = True
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    ip_version: IpVersion = "any"

    @model_validator(mode="after")
    def _variables_defined_before_use(self) -> FlowConfig:
        known = set(self.variables) | set(self.secrets)
        for index, step in enumerate(self.steps, 1):
            unknown = sorted(step.placeholders() - known)
            if unknown:
                raise ValueError(
                    f"step {index} ({step.name}) uses {', '.join(unknown)} before any step "
                    "extracts it and it is not in variables or secrets"
                )
            known |= set(step.extract)
        return self


def fill(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


@register("flow", FlowConfig, "Ordered HTTP steps with a shared cookie jar and variables")
async def probe_flow(config: FlowConfig, ctx: ProbeContext) -> ProbeResult:
    try:
        values = {**config.variables, **_secrets(config, ctx)}
    except SecretUnavailable as exc:
        return ProbeResult.down(ErrorKind.CONFIG, str(exc))
    budget = min(config.budget_s or ctx.timeout, ctx.timeout)
    run = _FlowRun(config, ctx, values, ctx.monotonic() + budget)
    try:
        async with asyncio.timeout(budget):
            result = await run.all_steps()
    except TimeoutError:
        return run.failed(
            ProbeResult.down(ErrorKind.TIMEOUT, f"budget of {budget:g} s exceeded", budget)
        )
    return result


def _secrets(config: FlowConfig, ctx: ProbeContext) -> dict[str, str]:
    return {var: read_secret(ctx.secrets, name) for var, name in config.secrets.items()}


class _FlowRun:
    """One run: its own cookie jar, variables and step log."""

    def __init__(
        self, config: FlowConfig, ctx: ProbeContext, values: dict[str, str], deadline: float
    ) -> None:
        self.config, self.ctx, self.values, self.deadline = config, ctx, values, deadline
        self.jar = httpx.Cookies()
        self.start = ctx.monotonic()
        self.index = 0
        self.log: list[dict[str, Any]] = []

    async def all_steps(self) -> ProbeResult:
        degraded: ProbeResult | None = None
        for index, step in enumerate(self.config.steps):
            self.index = index
            result = await self.step(step)
            self.log.append(
                {
                    "name": step.name,
                    "status": result.status.value,
                    "ms": round(result.latency * 1000, 1),
                }
            )
            if result.status is Status.DOWN:
                return self.failed(result)
            degraded = degraded or (result if result.status is Status.DEGRADED else None)
        return self.finish(degraded)

    def finish(self, degraded: ProbeResult | None) -> ProbeResult:
        total = self.ctx.monotonic() - self.start
        details: dict[str, Any] = {"steps": self.log, "variables": sorted(self.values)}
        limit = self.config.degraded_total_ms
        if limit is not None and total * 1000 > limit:
            return ProbeResult.degraded(
                ErrorKind.LATENCY,
                f"flow took {total * 1000:.0f} ms > {limit:.0f} ms",
                total,
                **details,
            )
        if degraded is not None:
            name = self.log[[s["status"] for s in self.log].index("degraded")]["name"]
            return ProbeResult.degraded(
                ErrorKind.LATENCY, f"step {name!r}: {degraded.message}", total, **details
            )
        return ProbeResult.up(total, f"{len(self.log)} steps OK", **details)

    def failed(self, result: ProbeResult) -> ProbeResult:
        step = self.config.steps[self.index]
        where = {"index": self.index + 1, "name": step.name}
        return ProbeResult.down(
            result.error_kind or ErrorKind.INTERNAL,
            f"step {self.index + 1} ({step.name}): {result.message}",
            self.ctx.monotonic() - self.start,
            **{**result.details, "step": where, "steps": self.log},
        )

    async def step(self, step: FlowStep) -> ProbeResult:
        started = self.ctx.monotonic()
        try:
            response, body, size = await self.fetch(step)
        except FETCH_ERRORS as exc:
            return classify_error(exc, self.ctx.monotonic() - started)
        latency = self.ctx.monotonic() - started
        details = {"http_status": response.status_code, "body_bytes": size, **tls_facts(response)}
        result = evaluate_response(
            step, response.status_code, body, latency, details, response.headers
        )
        if result.status is not Status.DOWN and (missing := self.extract(step, body)):
            return ProbeResult.down(ErrorKind.ASSERTION, missing, latency, **details)
        return result

    async def fetch(self, step: FlowStep) -> tuple[httpx.Response, bytes, int]:
        client = self.ctx.clients.client_for(self.ctx.key, verify=self.config.verify_tls)
        headers = {
            "User-Agent": USER_AGENT,
            **{k: fill(v, self.values) for k, v in step.headers.items()},
        }
        body = fill(step.body, self.values) if step.body is not None else None
        url, pinned, extensions = await pin_url(fill(step.url, self.values), self.config.ip_version)
        timeout = max(0.001, self.deadline - self.ctx.monotonic())
        request = client.build_request(
            step.method,
            url,
            headers={**headers, **pinned},
            content=body,
            timeout=timeout,
            extensions=extensions,
        )
        for _ in range(step.max_redirects + 1):
            request.headers.pop("Cookie", None)
            self.jar.set_cookie_header(request)
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                self.jar.extract_cookies(response)
                if not (step.follow_redirects and response.next_request is not None):
                    data, size = await read_capped(response, self.config.max_body_bytes)
                    return response, data, size
                request = response.next_request
            finally:
                await response.aclose()
        raise httpx.TooManyRedirects(f"more than {step.max_redirects} redirects", request=request)

    def extract(self, step: FlowStep, body: bytes) -> str | None:
        """Store the step's extracted values; the first one that is missing, as a message."""
        text = body.decode("utf-8", errors="replace")
        for var, how in step.extract.items():
            value = _extract_one(var, how, text)
            if value is None:
                source = how.regex if how.regex is not None else how.json_path
                return f"could not extract {var!r} with {source!r}"
            self.values[var] = value
        return None


def _extract_one(var: str, how: Extract, text: str) -> str | None:
    if how.regex is not None:
        match = re.search(how.regex, text)
        if match is None:
            return None
        if var in match.re.groupindex:
            return match.group(var)
        return match.group(1) if match.re.groups else match.group(0)
    try:
        found = json_values(str(how.json_path), json.loads(text))
    except ValueError:
        return None
    if not found:
        return None
    value = found[0]
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
