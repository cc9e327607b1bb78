"""The one mapping from errors to HTTP responses: RFC 9457 problem details (`application/problem+json`).

| error                                   | status |
|-----------------------------------------|--------|
| Unauthenticated                         | 401 (with `WWW-Authenticate: Bearer`) |
| Forbidden                               | 403    |
| NotFound, an unknown route              | 404    |
| a method the route does not allow       | 405 (with `Allow`) |
| Conflict                                | 409    |
| Gone (a deleted patient)                | 410    |
| PreconditionFailed (stale If-Match)     | 412    |
| BodyTooLarge                            | 413    |
| an unsupported Content-Type             | 415    |
| InputError, a request that fails its model | 422, every field problem listed |
| PreconditionRequired (no If-Match)      | 428    |
| TooManyRequests (a rate limit)          | 429 (with `Retry-After`, seconds) |
| DatabaseNotReady                        | 503    |
| anything else (a defect)                | 500, with the request id and nothing else |

Problem bodies never carry a stack trace, a token or stored content; a 500 is logged with its request id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ketaguide.contracts.problem import FieldError, Problem
from ketaguide.domain.errors import FieldProblem, InputError, KetaGuideError
from ketaguide.services.access import Forbidden, Unauthenticated
from ketaguide.services.deployment import DatabaseNotReady
from ketaguide.storage.errors import Conflict, Gone, NotFound, PreconditionFailed, PreconditionRequired

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("ketaguide.http")


class BodyTooLarge(KetaGuideError):
    """A request body over the limit (413)."""


class UnsupportedMediaType(KetaGuideError):
    """A request body that is not JSON (415)."""


class TooManyRequests(KetaGuideError):
    """A rate limit is spent (429, RFC 6585); `retry_after` is the whole seconds until it frees up."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


_STATUS: dict[type[KetaGuideError], tuple[int, str]] = {
    Unauthenticated: (401, "Unauthorized"),
    Forbidden: (403, "Forbidden"),
    NotFound: (404, "Not found"),
    Conflict: (409, "Conflict"),
    Gone: (410, "Gone"),
    PreconditionFailed: (412, "Precondition failed"),
    BodyTooLarge: (413, "Content too large"),
    UnsupportedMediaType: (415, "Unsupported media type"),
    PreconditionRequired: (428, "Precondition required"),
    TooManyRequests: (429, "Too many requests"),
    DatabaseNotReady: (503, "Service unavailable"),
}
_TITLES = {
    404: "Not found",
    405: "Method not allowed",
    400: "Bad request",
    413: "Content too large",
    429: "Too many requests",
}


def problem_response(
    status: int, title: str, detail: str, errors: Sequence[FieldProblem] = (), headers: dict[str, str] | None = None
) -> JSONResponse:
    problem = Problem(
        title=title,
        status=status,
        detail=detail,
        errors=tuple(FieldError(field=e.field, problem=e.problem) for e in errors),
    )
    return JSONResponse(problem.model_dump(mode="json"), status, headers=headers, media_type=PROBLEM_JSON)


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "-"))


async def _ketaguide_error(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, InputError):
        return problem_response(422, "Invalid input", "the request has problems; each is listed", error.problems)
    for kind, (status, title) in _STATUS.items():
        if isinstance(error, kind):
            return problem_response(status, title, _detail(status, error), headers=_headers(status, error))
    return await _defect(request, error)


def _detail(status: int, error: Exception) -> str:
    return "a valid bearer token is required" if status == 401 else str(error)


def _headers(status: int, error: Exception) -> dict[str, str] | None:
    if status == 401:
        return {"WWW-Authenticate": 'Bearer realm="ketaguide"'}
    if isinstance(error, TooManyRequests):
        return {"Retry-After": str(error.retry_after)}
    return None


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [FieldProblem(_field(e.get("loc", ())), _message(e)) for e in error.errors()]
    return problem_response(422, "Invalid input", "the request has problems; each is listed", problems[:50])


def _field(loc: Iterable[Any]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, parts = parts[0], parts[1:]
        if where != "body" and parts:
            return f"{where}.{parts[0]}"
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "is invalid"))
    if error.get("type") == "extra_forbidden":
        return "unknown field"
    if error.get("type") == "missing":
        return "is required"
    return message


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    title = _TITLES.get(error.status_code, "Error")
    return problem_response(error.status_code, title, str(error.detail), headers=dict(error.headers or {}))


async def _defect(request: Request, error: Exception) -> JSONResponse:
    log.error("request %s failed: %s", _request_id(request), type(error).__name__, exc_info=error)
    detail = f"an internal error occurred; it was logged with request id {_request_id(request)}"
    return problem_response(500, "Internal error", detail)


def install(app: FastAPI) -> None:
    app.add_exception_handler(KetaGuideError, _ketaguide_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _defect)
