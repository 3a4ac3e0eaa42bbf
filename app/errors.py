"""Expected errors carry their HTTP status; anything else is a bug (a 500).

Every error answer has one shape, :class:`ErrorBody` (``{"error": code, "detail": ...}``),
declared in the OpenAPI document for every operation (:data:`ERROR_RESPONSES`):
the app's own errors, FastAPI's request validation (``detail`` is then the list of
problems), Starlette's HTTP errors (404 for an unknown path, 405, 413), a database
that cannot be reached (503 with ``Retry-After``) and values the database cannot
hold (422).
"""

from __future__ import annotations

import http
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

# Seconds a client should wait before retrying when the database is away.
RETRY_AFTER_S = 10
# SQLSTATE classes that mean "the database is not there for us" rather than "your query
# is wrong": connection exception, insufficient resources, operator intervention,
# invalid authorization, and 3D000 (the database does not exist, e.g. it was dropped).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57", "28", "3D")
# SQLSTATE class 22: data exception (a number out of range, a NUL in text, ...).
_DATA_SQLSTATE = "22"


class ErrorBody(BaseModel):
    """What every error answer looks like."""

    error: str = Field(
        description="machine-readable code: unauthorized, not_found, unprocessable, "
        "conflict, payload_too_large, rate_limited, database_unavailable, ..."
    )
    detail: str | list[dict[str, Any]] = Field(
        description="the problem in words; for a malformed request, the list of problems "
        "(each with loc, msg, type)"
    )


_ERROR = {"model": ErrorBody, "description": "error"}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {**_ERROR, "description": "malformed request"},
    401: {**_ERROR, "description": "missing, invalid or revoked token"},
    404: {**_ERROR, "description": "not found"},
    409: {**_ERROR, "description": "conflicts with the current state"},
    413: {**_ERROR, "description": "request body too large"},
    422: {**_ERROR, "description": "invalid parameters or body"},
    429: {
        **_ERROR,
        "description": "too many requests; retry after Retry-After seconds",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
    503: {
        **_ERROR,
        "description": "the database cannot be reached; retry after Retry-After seconds",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Unprocessable(AppError):
    status_code = 422
    code = "unprocessable"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class DatabaseUnavailable(AppError):
    status_code = 503
    code = "database_unavailable"


class ConfigError(Exception):
    """The inventory or settings are wrong; ``errors`` name file, line and field."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _body(code: str, detail: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail}


def _code_for(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def _sqlstate(exc: BaseException) -> str:
    """The SQLSTATE of a DBAPI error (asyncpg through SQLAlchemy), or ''."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            break
        state = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(state, str):
            return state
        seen = getattr(seen, "orig", None) or seen.__cause__
    return ""


def database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot be reached (not that a query is wrong)."""
    if isinstance(exc, ConnectionError | TimeoutError | sa_exc.TimeoutError):
        return True
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or _sqlstate(exc).startswith(_UNAVAILABLE_SQLSTATES)
    return False


def unavailable_response() -> JSONResponse:
    return JSONResponse(
        _body(
            DatabaseUnavailable.code,
            "Cơ sở dữ liệu tạm thời không truy cập được, xin thử lại sau "
            "(the database is unreachable; retry later).",
        ),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _allowed(request: Request) -> list[str]:
    """Every method some route serves at this path (a path may have several routes)."""
    from fastapi.routing import iter_route_contexts
    from starlette.routing import Match

    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(route.methods or ())
    return sorted(methods)


def install_handlers(app: FastAPI) -> None:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        if isinstance(exc, DatabaseUnavailable):
            headers = {"Retry-After": str(RETRY_AFTER_S)}
        return JSONResponse(
            _body(exc.code, exc.message), status_code=exc.status_code, headers=headers
        )

    async def handle_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [{k: v for k, v in e.items() if k != "input"} for e in exc.errors()]
        return JSONResponse(_body("unprocessable", jsonable_encoder(problems)), status_code=422)

    async def handle_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = exc.headers
        if exc.status_code == 405:  # Starlette names the methods of one route only
            headers = {**(headers or {}), "Allow": ", ".join(_allowed(request))}
        return JSONResponse(
            _body(_code_for(exc.status_code), str(exc.detail)),
            status_code=exc.status_code,
            headers=headers,
        )

    async def handle_database(_: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):
            log.warning("database unavailable: %s", exc)
            return unavailable_response()
        if _sqlstate(exc).startswith(_DATA_SQLSTATE):
            return JSONResponse(
                _body("unprocessable", "giá trị không lưu được / a value the database rejects"),
                status_code=422,
            )
        raise exc

    async def handle_overflow(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            _body("unprocessable", f"giá trị ngoài phạm vi / value out of range: {exc}"),
            status_code=422,
        )

    app.add_exception_handler(AppError, handle)
    app.add_exception_handler(RequestValidationError, handle_validation)
    app.add_exception_handler(StarletteHTTPException, handle_http)
    for kind in (sa_exc.DBAPIError, sa_exc.TimeoutError, ConnectionError, TimeoutError):
        app.add_exception_handler(kind, handle_database)
    app.add_exception_handler(OverflowError, handle_overflow)
