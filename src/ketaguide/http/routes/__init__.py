"""The API's routers, one module per area; `ketaguide.http.app` mounts them under /api/v1."""

from __future__ import annotations

from typing import Any

from ketaguide.contracts.problem import Problem


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each an RFC 9457 problem (`application/problem+json` is set
    for every error response when the document is built)."""
    return {status: {"model": Problem, "description": _DESCRIPTIONS[status]} for status in statuses}


_DESCRIPTIONS = {
    401: "no bearer token, or a malformed, unknown or revoked one",
    403: "the caller's role may not do this",
    404: "not found",
    409: "conflicts with stored data (a duplicate MRN)",
    410: "the patient was deleted",
    412: "If-Match names a version that is no longer current",
    413: "the body is too large",
    415: "the body is not JSON",
    422: "invalid input: every field problem is listed",
    428: "If-Match is required",
    503: "the database or the content is not ready",
}

AUTHENTICATED = (401, 403)
WITH_BODY = (401, 403, 413, 415, 422)
