"""Assertions on an HTTP response, shared by the ``http``, ``flow`` and ``freshness`` probes."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from jsonpath_ng.ext.parser import parse as _jsonpath_parse
from pydantic import Field, JsonValue, field_validator, model_validator

from probes.base import ErrorKind, ProbeConfig, ProbeResult


@functools.lru_cache(maxsize=512)
def compile_jsonpath(path: str) -> Any:
    """Parse (and cache) a JSON path; raises ``ValueError`` with the parser's reason."""
    try:
        return _jsonpath_parse(path)
    except Exception as exc:  # jsonpath-ng raises several unrelated exception types
        raise ValueError(f"not a valid JSON path {path!r}: {exc}") from None


def check_regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


class JsonPathAssertion(ProbeConfig):
    """``path`` must match (``exists``), equal ``equals`` or match ``regex``."""

    path: str
    exists: bool = True
    equals: JsonValue = None
    regex: str | None = None

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        compile_jsonpath(value)
        return value

    @field_validator("regex")
    @classmethod
    def _check_regex(cls, value: str | None) -> str | None:
        return check_regex(value)

    @model_validator(mode="after")
    def _coherent(self) -> JsonPathAssertion:
        if not self.exists and ("equals" in self.model_fields_set or self.regex is not None):
            raise ValueError("exists: false cannot be combined with equals or regex")
        return self


class HeaderAssertion(ProbeConfig):
    """Response header ``name`` must be present (or absent), equal ``equals`` or match ``regex``."""

    name: str = Field(min_length=1)
    present: bool = True
    equals: str | None = None
    regex: str | None = None

    @field_validator("regex")
    @classmethod
    def _check_regex(cls, value: str | None) -> str | None:
        return check_regex(value)

    @model_validator(mode="after")
    def _coherent(self) -> HeaderAssertion:
        if not self.present and (self.equals is not None or self.regex is not None):
            raise ValueError("present: false cannot be combined with equals or regex")
        return self


class HttpAssertions(ProbeConfig):
    """What a response must satisfy; failures are ``http_status`` or ``assertion``."""

    valid_status_codes: list[int] = Field(default_factory=list, description="empty: any 2xx")
    keyword: str | None = None
    keyword_absent: str | None = None
    regex: str | None = None
    json_path: list[JsonPathAssertion] = Field(default_factory=list)
    response_headers: list[HeaderAssertion] = Field(default_factory=list)
    min_size_bytes: int | None = Field(default=None, ge=0)
    max_size_bytes: int | None = Field(default=None, ge=0)
    degraded_latency_ms: float | None = Field(default=None, gt=0)

    @field_validator("regex")
    @classmethod
    def _check_regex(cls, value: str | None) -> str | None:
        return check_regex(value)

    @field_validator("valid_status_codes")
    @classmethod
    def _check_codes(cls, value: list[int]) -> list[int]:
        bad = [c for c in value if not 100 <= c <= 599]
        if bad:
            raise ValueError(f"HTTP status codes must be 100-599, got {bad}")
        return value

    @model_validator(mode="after")
    def _sizes(self) -> HttpAssertions:
        low, high = self.min_size_bytes, self.max_size_bytes
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_size_bytes ({low}) is larger than max_size_bytes ({high})")
        return self


def evaluate_response(
    config: HttpAssertions,
    code: int,
    body: bytes,
    latency: float,
    details: dict[str, Any],
    headers: Mapping[str, str] | None = None,
) -> ProbeResult:
    """Apply the configured assertions to a response that did arrive.

    ``details["body_bytes"]``, when present, is the full size (``body`` may be capped).
    """
    ok_code = code in config.valid_status_codes if config.valid_status_codes else 200 <= code < 300
    if not ok_code:
        return ProbeResult.down(ErrorKind.HTTP_STATUS, f"HTTP {code}", latency, **details)
    failure = first_failure(config, body, headers or {}, int(details.get("body_bytes", len(body))))
    if failure is not None:
        return ProbeResult.down(ErrorKind.ASSERTION, failure, latency, **details)
    if config.degraded_latency_ms is not None and latency * 1000 > config.degraded_latency_ms:
        return ProbeResult.degraded(
            ErrorKind.LATENCY,
            f"slow: {latency * 1000:.0f} ms > {config.degraded_latency_ms:.0f} ms",
            latency,
            **details,
        )
    return ProbeResult.up(latency, f"HTTP {code}", **details)


def first_failure(
    config: HttpAssertions, body: bytes, headers: Mapping[str, str], size: int
) -> str | None:
    """The first assertion that fails, as a message; ``None`` when all hold."""
    return (
        _size_failure(config, size)
        or _text_failure(config, body.decode("utf-8", errors="replace"))
        or _header_failure(config.response_headers, headers)
        or _json_failure(config.json_path, body)
    )


def _size_failure(config: HttpAssertions, size: int) -> str | None:
    if config.min_size_bytes is not None and size < config.min_size_bytes:
        return f"body is {size} bytes < min_size_bytes {config.min_size_bytes}"
    if config.max_size_bytes is not None and size > config.max_size_bytes:
        return f"body is {size} bytes > max_size_bytes {config.max_size_bytes}"
    return None


def _text_failure(config: HttpAssertions, text: str) -> str | None:
    if config.keyword is not None and config.keyword not in text:
        return f"keyword {config.keyword!r} not found"
    if config.keyword_absent is not None and config.keyword_absent in text:
        return f"forbidden keyword {config.keyword_absent!r} found"
    if config.regex is not None and re.search(config.regex, text) is None:
        return f"regex {config.regex!r} did not match"
    return None


def _header_failure(checks: list[HeaderAssertion], headers: Mapping[str, str]) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    for check in checks:
        value = lowered.get(check.name.lower())
        if value is None:
            if check.present:
                return f"header {check.name!r} missing"
            continue
        if not check.present:
            return f"header {check.name!r} present but must be absent"
        if check.equals is not None and value != check.equals:
            return f"header {check.name!r} is {value!r}, expected {check.equals!r}"
        if check.regex is not None and re.search(check.regex, value) is None:
            return f"header {check.name!r} = {value!r} does not match {check.regex!r}"
    return None


def _json_failure(checks: list[JsonPathAssertion], body: bytes) -> str | None:
    if not checks:
        return None
    try:
        doc = json.loads(body)
    except ValueError as exc:
        return f"body is not JSON: {exc}"
    for check in checks:
        found = json_values(check.path, doc)
        if failure := _json_check_failure(check, found):
            return failure
    return None


def _json_check_failure(check: JsonPathAssertion, found: list[Any]) -> str | None:
    if not check.exists:
        return f"JSON path {check.path} matched but must not exist" if found else None
    if not found:
        return f"JSON path {check.path} matched nothing"
    if "equals" in check.model_fields_set and check.equals not in found:
        return f"JSON path {check.path} is {_short(found)}, expected {check.equals!r}"
    if check.regex is not None and not any(
        re.search(check.regex, v if isinstance(v, str) else json.dumps(v)) for v in found
    ):
        return f"JSON path {check.path} = {_short(found)} does not match {check.regex!r}"
    return None


def json_values(path: str, doc: Any) -> list[Any]:
    """Every value ``path`` matches in ``doc`` (an empty list when none)."""
    return [m.value for m in compile_jsonpath(path).find(doc)]


def _short(values: list[Any]) -> str:
    text = json.dumps(values[0] if len(values) == 1 else values, ensure_ascii=False)
    return text if len(text) <= 80 else text[:79] + "…"
