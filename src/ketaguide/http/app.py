"""The FastAPI application: `create_app(settings)` builds it; nothing is built at import time.

The REST API is mounted under /api/v1. Its OpenAPI document (/openapi.json) and pages (/docs) are served only with
KETAGUIDE_API_DOCS=true (a developer's machine); a clinic's server answers 404 there and publishes no map of its
API (OWASP ASVS 5.0 13.4.5). `app.openapi()` builds the document either way (tests read it). Other adapters
add their routes with `create_app(settings, routers=[...])` (mounted as given, for example CDS Hooks at
/cds-services); they share the error mapping (`ketaguide.http.errors`), the request id and headers
(`ketaguide.http.requests`), and `app.state.runtime` (the knowledge snapshot and evidence index) and
`app.state.records` (the database, with the audit trail, the `jti` replay guard and the feedback table of
`ketaguide.storage`), and `app.state.rate_limits` (failed authentications per address and a budget per token,
`ketaguide.http.ratelimit`; None when KETAGUIDE_RATE_LIMIT is false).

On start the application loads the content, warms the evidence index and refuses a database whose schema is not
current or whose settings could lose acknowledged writes. It keeps no state of its own between requests: tokens,
idempotency keys, versions and the audit chain live in the database, so any number of workers can serve it; only
the rate limits' counters are per worker, unless KETAGUIDE_REDIS_URL shares them.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from ketaguide.http import errors
from ketaguide.http.errors import PROBLEM_JSON
from ketaguide.http.ratelimit import rate_limits_for
from ketaguide.http.requests import RequestContext
from ketaguide.http.routes import admin, clinical, evidence, health, patients
from ketaguide.services import deployment
from ketaguide.settings import Settings, load_settings
from ketaguide.version import __version__

if TYPE_CHECKING:
    from ketaguide.bootstrap import Runtime
    from ketaguide.services.records import Records

API_PREFIX = "/api/v1"
TOO_MANY_REQUESTS = {
    "description": "a rate limit is spent: failed authentications from this address, or this token's budget",
    "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}},
}
DESCRIPTION = (
    "Offline, evidence-graded clinical decision support for ketamine use disorder. Authenticate with "
    "`Authorization: Bearer <token>` (`ketaguide users add NAME --role clinician|curator|admin`). Errors are RFC 9457 "
    "problem details listing every field problem. Decision support, not a prescription."
)


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    records: Records | None = None,
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """The application for `settings` (default: the KETAGUIDE_* environment). A given `runtime` or `records` is
    used as is and left open (tests share them); otherwise they are built at start-up and closed at shutdown."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.runtime, app.state.records = await asyncio.to_thread(_open, settings, runtime, records, stack)
            yield

    app = FastAPI(
        title="KetaGuide",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json" if settings.api_docs else None,
        docs_url="/docs" if settings.api_docs else None,
        redoc_url=None,  # one set of pages is enough; /redoc is 404 whatever the setting
        # FastAPI's own OpenTelemetry spans, metrics and exception logs are off: they would record URLs, bodies and
        # exception messages that may name a patient, and export them wherever the environment points; checking
        # for a provider on every request was also a measurable part of a request's cost.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.rate_limits = rate_limits_for(settings)
    errors.install(app)
    app.add_middleware(RequestContext)
    # The adapters' routers first (CDS Hooks: an EHR waits on order-sign): FastAPI tries routes in order, and behind
    # the API's routes each hook call paid about 50 route checks, where an API request pays for the few CDS ones.
    for router in routers:
        app.include_router(router)
    for router in (health.router, clinical.router, patients.router, evidence.router, admin.router):
        app.include_router(router, prefix=API_PREFIX)
    # Probes (load balancers, orchestrators, `curl /health`) look at the root; the same two checks, undocumented.
    app.include_router(health.router, include_in_schema=False)
    # --- Web UI (issue #12): the clinicians' pages at `/`, server-rendered (ketaguide.web). Mounted here only. ---
    from ketaguide.web.routes import create_web_router

    app.include_router(create_web_router())
    # --- end of the web UI's mount ---
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]  # FastAPI's documented way to customise it
    return app


def _open(
    settings: Settings, runtime: Runtime | None, records: Records | None, stack: AsyncExitStack
) -> tuple[Runtime, Records]:
    from ketaguide.bootstrap import build_runtime

    if runtime is None:
        runtime = build_runtime(settings, eager=True)  # loads and checks all content, builds the index
        stack.callback(runtime.close)
    if records is None:
        records = deployment.open_records(settings, runtime.clock)
        stack.callback(records.database.close)
    deployment.require_ready(records)
    return runtime, records


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with every error response typed `application/problem+json`, and 429 (a rate limit)
    listed for every operation that takes a bearer token."""
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path in document.get("paths", {}).values():
            for operation in path.values():
                responses = operation.get("responses", {})
                if operation.get("security") and "401" in responses and "429" not in responses:
                    responses["429"] = {**copy.deepcopy(responses["401"]), **copy.deepcopy(TOO_MANY_REQUESTS)}
                for status, response in responses.items():
                    content = response.get("content", {})
                    schema = content.get("application/json", {}).get("schema", {})
                    if status.isdigit() and int(status) >= 400 and schema.get("$ref", "").endswith("/Problem"):
                        content[PROBLEM_JSON] = content.pop("application/json")
        app.openapi_schema = document
    return app.openapi_schema


def create_app_from_environment() -> FastAPI:
    """The application factory each uvicorn worker calls (`ketaguide serve`): settings from KETAGUIDE_*."""
    settings = load_settings()
    # CDS Hooks (issue #11): /cds-services and /cds-evidence in the same app (ketaguide.http.cds_hooks).
    from ketaguide.cdshooks.stores import stores_from_settings
    from ketaguide.http import cds_hooks

    # Without KETAGUIDE_REDIS_URL the replay guard, issued cards and feedback live in the server's database (opened at
    # start-up, hence named by a function), so every worker shares them.
    stores = stores_from_settings(settings.redis_url, lambda: app.state.records)
    app = create_app(settings, routers=[cds_hooks.router(settings, stores)])
    app.state.cds_feedback = stores.feedback  # the admin page counts feedback per card type from it
    return app
