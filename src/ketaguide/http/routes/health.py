"""Liveness and readiness, without authentication (they reveal no record)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ketaguide.http.requests import StrictJSONRoute
from ketaguide.services import deployment

router = APIRouter(route_class=StrictJSONRoute, tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    schema_revision: str | None
    content_version: str | None
    problems: list[str]


@router.get("/health", response_model=Health)
def health() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness, "description": "not ready"}})
def ready(request: Request) -> JSONResponse:
    """Ready for requests: the database answers, its schema is current and durable, the content is loaded."""
    problems: list[str] = []
    revision = None
    try:
        revision = deployment.require_ready(request.app.state.records).current
    except Exception as error:  # any failure to reach the database is "not ready", reported by kind only
        problems.append(f"database: {type(error).__name__}: {str(error)[:200]}")
    runtime = getattr(request.app.state, "runtime", None)
    content = runtime.knowledge.version if runtime is not None else None
    if content is None:
        problems.append("content: not loaded")
    body = Readiness(
        status="ready" if not problems else "not ready",
        database="ok" if revision else "unavailable",
        schema_revision=revision,
        content_version=content,
        problems=problems,
    )
    return JSONResponse(body.model_dump(mode="json"), 200 if not problems else 503)
