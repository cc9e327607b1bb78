"""The CDS Hooks endpoints (issue #11) as a FastAPI router: `router(settings)` for the server's app, which serves
them beside the REST API; `cds_hooks_router(...)` and `cds_app(...)` to build them on their own (tests, benchmarks).

    GET  /cds-services                       discovery
    POST /cds-services/{id}                  a hook call: cards, or 400 / 401 / 404 / 412 / 415 / 503
    POST /cds-services/{id}/feedback         feedback on issued cards
    OPTIONS on the three                     CORS preflight, for the origins the clients file allows
    GET  /cds-evidence/{version}/{type}      the evidence behind a card type (public, no patient data)
    GET  /cds-evidence/{version}/lamotrigine-schedule?with=valproate   the label escalation for co-medicines

Every CDS call must carry a client JWT whose `aud` is the exact URL called (built from KETAGUIDE_PUBLIC_URL when
set, which it must be behind a proxy); a failure is a bare 401. Errors other than 401 carry a FHIR
OperationOutcome. Every call, refused ones included, is recorded (its audit event, the cards it issued and, where
the stores allow, its jti claim: `CallRecorder`) after it is answered and before the answer is sent; if that record
cannot be written the call fails (503) rather than answer unaudited. On the server's database the three are one
transaction (`ketaguide.cdshooks.database.DatabaseCallRecorder`): the token check before the work then only asks
whether the jti was used, and the claim is made with the records, or before the first FHIR fetch when data must be
fetched (nothing leaves KetaGuide on a token not yet claimed). A call that brings all its data is served on the
event loop, and its records are written with those of other calls in a worker thread; a call whose data must be
fetched runs in the thread pool (the FHIR fetches, the stores and the engine are synchronous).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from typing import Any
from uuid import uuid4

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from ketaguide.cdshooks.auth import Caller, KeySets, TokenVerifier, Unauthorized, refused
from ketaguide.cdshooks.catalog import SERVICES, SERVICES_BY_ID
from ketaguide.cdshooks.clients import ClientRegistry, load_clients
from ketaguide.cdshooks.evidence import evidence_page, render_html, schedule_page
from ketaguide.cdshooks.feedback import record_feedback
from ketaguide.cdshooks.fhir import warm_up
from ketaguide.cdshooks.prefetch import FhirFetcher, HttpFhirFetcher, PreconditionFailed
from ketaguide.cdshooks.service import CareEngine, InvalidRequest, Site, run_hook
from ketaguide.cdshooks.stores import (
    REPLAYED,
    BatchingRecorder,
    CallRecorder,
    CdsStores,
    FeedbackLog,
    HookAudit,
    HookCallEvent,
    IssuedCard,
    MemoryReplayCache,
    ReplayClaim,
    SeparateRecorder,
    StoreUnavailable,
    feedback_summary,
    stores_from_settings,
)
from ketaguide.cdshooks.wire import CdsResponse, Discovery, FeedbackRequest, HookRequest, operation_outcome
from ketaguide.domain.ports import Clock
from ketaguide.http.errors import TooManyRequests
from ketaguide.http.ratelimit import RateLimits, rate_limits_of
from ketaguide.settings import Settings

log = logging.getLogger("ketaguide.cdshooks")
MAX_HOOK_BYTES = 2_000_000
MAX_FEEDBACK_BYTES = 200_000
_CORS_METHODS = "GET, POST, OPTIONS"
_CORS_HEADERS = "Authorization, Content-Type"
_HTML_HEADERS = {"Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class Backend:
    """What a call is served with: the care engine, the clock and the audit trail (the server's, per app), and what
    records each call (None: the router's stores, then the audit trail, each on its own)."""

    engine: CareEngine
    clock: Clock
    audit: HookAudit
    recorder: CallRecorder | None = None

    @cached_property
    def batching(self) -> BatchingRecorder | None:
        """The recorder when it also records calls served on the event loop; asked once, as a Protocol's runtime
        check walks the protocol's members each time (a measurable part of a call)."""
        return self.recorder if isinstance(self.recorder, BatchingRecorder) else None


BackendOf = Callable[[Request], Backend]


class _Refused(Exception):
    def __init__(self, status: int, code: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status, self.code, self.diagnostics = status, code, diagnostics


class _PendingClaim:
    """A verified caller whose jti is claimed with the call's records, or at once when something must leave
    KetaGuide first (a FHIR fetch): `claim_now`."""

    def __init__(self, verifier: TokenVerifier, caller: Caller) -> None:
        self.verifier = verifier
        self.caller = caller
        self.claimed = False

    @property
    def claim(self) -> ReplayClaim | None:
        """What is left to claim with the records."""
        return None if self.claimed else self.caller.replay_claim

    def claim_now(self) -> None:
        if not self.claimed:
            if not self.verifier.claim(self.caller):
                raise Unauthorized(REPLAYED, self.caller.iss)
            self.claimed = True


@dataclass(frozen=True)
class _ClaimFirst:
    """A FHIR fetcher that claims the caller's jti before its first request."""

    fetcher: FhirFetcher
    pending: _PendingClaim

    def get(self, url: str, token: str, deadline: float) -> Mapping[str, Any] | None:
        self.pending.claim_now()
        return self.fetcher.get(url, token, deadline)


class _Endpoints:
    def __init__(
        self,
        backend_of: BackendOf,
        clients: ClientRegistry,
        stores: CdsStores,
        public_url: str | None,
        fetcher: FhirFetcher,
        keys: KeySets | None,
        budget_seconds: float,
        new_uuid: Callable[[], str],
        patient_path: str,
    ) -> None:
        self.backend_of = backend_of
        self.clients = clients
        self.stores = stores
        self.public_url = public_url.rstrip("/") if public_url else None
        self.fetcher = fetcher
        self.verifier = TokenVerifier(clients, stores.replay, keys)
        self.budget_seconds = budget_seconds
        self.new_uuid = new_uuid
        self.patient_path = patient_path

    # --- the three CDS endpoints share one path: read, verify, dispatch, audit, answer --------------------------

    async def call(self, request: Request, action: str, service_id: str | None = None) -> Response:
        limit = MAX_FEEDBACK_BYTES if action == "cds-feedback" else MAX_HOOK_BYTES
        body = await _body(request, limit) if request.method == "POST" else b""
        site = Site(self.public_url or str(request.base_url).rstrip("/"), self.patient_path)
        content_type = request.headers.get("content-type", "")
        authorization = request.headers.get("authorization")
        backend = self.backend_of(request)
        limits = rate_limits_of(request)
        address = limits.address_of(request) if limits is not None else ""
        call = (backend, action, service_id, authorization, content_type, body, site)
        recorder = backend.batching
        response = None
        if action != "cds-feedback" and recorder is not None:
            response = await self._on_loop(limits, address, recorder, call)
        if response is None:
            response = await run_in_threadpool(self._limited, limits, address, call)
        return self._cors(request, response)

    async def _on_loop(
        self, limits: RateLimits | None, address: str, recorder: BatchingRecorder, call: tuple[Any, ...]
    ) -> Response | None:
        """The call served on the event loop, as long as everything it needs came with it; None when data must be
        fetched from the client's FHIR server (it is then served again in the threadpool, from the start: nothing
        was claimed, fetched or recorded). A trip to the threadpool and back costs more than a whole hook call's
        database work (issue #11); the records are written in batches, in a worker thread (`record_soon`)."""
        refusal = _too_many(limits, address)
        if refusal is not None:
            return refusal
        try:
            served = self._dispatch(*call, fetcher=_NO_FETCH)
        except _FetchNeeded:
            return None
        try:
            accepted = await recorder.record_soon(served.event, served.claim, served.issued)
        except Exception as exc:  # its 503 is audited in the threadpool: the loop never waits for a writer's turn
            return _counted(limits, address, await run_in_threadpool(self._unrecorded, served, exc))
        return _counted(limits, address, served.response if accepted else _replayed(served.event))

    def _limited(self, limits: RateLimits | None, address: str, call: tuple[Any, ...]) -> Response:
        """The call in a worker thread: the FHIR fetches, the stores and the engine are synchronous."""
        refusal = _too_many(limits, address)
        if refusal is not None:
            return refusal
        return _counted(limits, address, self._recorded(self._dispatch(*call, fetcher=self.fetcher)))

    def _dispatch(
        self,
        backend: Backend,
        action: str,
        service_id: str | None,
        authorization: str | None,
        content_type: str,
        body: bytes | None,
        site: Site,
        *,
        fetcher: FhirFetcher,
    ) -> _Served:
        """The call answered, not yet recorded. `fetcher` is `_NO_FETCH` on the event loop."""
        event = HookCallEvent(occurred_at=backend.clock.now(), action=action, service_id=service_id, status=500)
        recorder = backend.recorder or SeparateRecorder(self.stores, backend.audit)
        # Feedback is stored before the call is recorded, so its jti is claimed first, whatever the recorder.
        deferred = recorder.claims and action != "cds-feedback"
        pending: _PendingClaim | None = None
        issued: tuple[IssuedCard, ...] = ()
        response: Response
        try:
            path = "/cds-services" + (f"/{service_id}" if service_id else "")
            path += "/feedback" if action == "cds-feedback" else ""
            seen = recorder.seen if deferred else None
            caller = self.verifier.verify(authorization, site.base_url + path, event.occurred_at, seen=seen)
            pending = _PendingClaim(self.verifier, caller) if deferred else None
            event = replace(event, iss=caller.iss, tenant=caller.tenant, jti=caller.jti)
            if action == "cds-discovery":
                response = _json(Discovery(services=tuple(s.definition() for s in SERVICES)))
            elif action == "cds-feedback":
                document = _json_body(content_type, body)
                response, event = self._feedback(str(service_id), document, caller, event)
            else:
                document = _json_body(content_type, body)
                response, event, issued = self._hook(
                    backend, str(service_id), document, caller, site, event, pending, fetcher
                )
        except _FetchNeeded:
            raise
        except Unauthorized as exc:
            if pending is not None:  # verified, but the claim before a FHIR fetch lost: a replay, recorded as such
                refused(exc)
                pending = None
            response, event = _unauthorized(), replace(event, reason=exc.reason)
        except _Refused as exc:
            response, event = _outcome(exc.status, exc.code, exc.diagnostics), replace(event, reason=exc.code)
        except InvalidRequest as exc:
            response, event = _outcome(400, "invalid", "; ".join(exc.problems)), replace(event, reason="invalid")
        except PreconditionFailed as exc:
            response, event = _outcome(412, "incomplete", str(exc)), replace(event, reason="precondition")
        except StoreUnavailable:
            response, event = (
                _outcome(503, "transient", "a store KetaGuide needs did not answer"),
                replace(event, reason="store"),
            )
        except Exception as exc:  # a defect: answer 500 without detail, log the kind of error only (no PHI)
            log.error("CDS Hooks %s failed: %s", action, type(exc).__name__)
            response, event = _outcome(500, "exception", "internal error"), replace(event, reason="error")
        claim = pending.claim if pending is not None else None
        return _Served(response, replace(event, status=response.status_code), claim, issued, backend, recorder)

    def _hook(
        self,
        backend: Backend,
        service_id: str,
        document: Any,
        caller: Caller,
        site: Site,
        event: HookCallEvent,
        pending: _PendingClaim | None,
        fetcher: FhirFetcher,
    ) -> tuple[Response, HookCallEvent, tuple[IssuedCard, ...]]:
        service = SERVICES_BY_ID.get(service_id)
        if service is None:
            raise _Refused(404, "not-found", f"no CDS service {service_id!r}")
        try:
            request = HookRequest.model_validate(document)
        except ValidationError as exc:
            raise InvalidRequest([f"{_where(e)}: {e['msg']}" for e in exc.errors()]) from None
        event = replace(event, hook_instance=str(request.hookInstance), user_id=_text(request.context.get("userId")))
        event = replace(event, patient_id=_text(request.context.get("patientId")))
        outcome = run_hook(
            service,
            request,
            caller,
            backend.engine,
            site=site,
            fetcher=_ClaimFirst(fetcher, pending) if pending is not None and fetcher is not _NO_FETCH else fetcher,
            now=event.occurred_at,
            new_uuid=self.new_uuid,
            budget_seconds=self.budget_seconds,
        )
        uuids = tuple(card.uuid for card in outcome.issued)
        event = replace(event, card_uuids=uuids, content_version=backend.engine.version)
        return _json(outcome.response), event, outcome.issued

    def _feedback(
        self, service_id: str, document: Any, caller: Caller, event: HookCallEvent
    ) -> tuple[Response, HookCallEvent]:
        if service_id not in SERVICES_BY_ID:
            raise _Refused(404, "not-found", f"no CDS service {service_id!r}")
        try:
            request = FeedbackRequest.model_validate(document)
        except ValidationError as exc:
            raise InvalidRequest([f"{_where(e)}: {e['msg']}" for e in exc.errors()]) from None
        record_feedback(request, service_id, caller, self.stores.cards, self.stores.feedback, event.occurred_at)
        event = replace(event, card_uuids=tuple(dict.fromkeys(item.card for item in request.feedback)))
        return Response(status_code=200), event

    def _recorded(self, served: _Served) -> Response:
        """Record the call (claim, cards, audit event), then answer; 401 when the claim lost, 503 when the record
        could not be written."""
        try:
            accepted = served.recorder.record(served.event, served.claim, served.issued)
        except Exception as exc:
            return self._unrecorded(served, exc)
        return served.response if accepted else _replayed(served.event)

    def _unrecorded(self, served: _Served, error: Exception) -> Response:
        """503 for a call whose records could not be written; audited if the audit trail answers, as unaudited
        answers are not given (fail closed)."""
        if isinstance(error, StoreUnavailable):
            failed = _outcome(503, "transient", "a store KetaGuide needs did not answer")
            event = replace(served.event, status=503, reason="store", card_uuids=())
            return self._audited(served.backend, failed, event)
        log.error("CDS Hooks audit failed: %s", type(error).__name__)
        return _outcome(503, "transient", "the call could not be audited")

    def _audited(self, backend: Backend, response: Response, event: HookCallEvent) -> Response:
        try:
            backend.audit.record(event)
        except Exception as exc:  # unaudited answers are not given (fail closed)
            log.error("CDS Hooks audit failed: %s", type(exc).__name__)
            return _outcome(503, "transient", "the call could not be audited")
        return response

    # --- CORS (spec: CORS; OWASP): only the origins the clients file lists, never "*" -----------------------

    def preflight(self, request: Request) -> Response:
        response = Response(status_code=204)
        if self._allowed_origin(request):
            response.headers["Access-Control-Allow-Methods"] = _CORS_METHODS
            response.headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return self._cors(request, response)

    def _cors(self, request: Request, response: Response) -> Response:
        origin = self._allowed_origin(request)
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        return response

    def _allowed_origin(self, request: Request) -> str | None:
        origin = request.headers.get("origin")
        return origin if origin and origin.rstrip("/") in self.clients.origins else None

    # --- evidence pages --------------------------------------------------------------------------------------

    def evidence(self, request: Request, version: str, card_type: str) -> Response:
        knowledge = self.backend_of(request).engine.knowledge
        page = evidence_page(knowledge, card_type) if version == knowledge.version else None
        if page is None:
            return _not_served(version, knowledge.version)
        return HTMLResponse(render_html(page, knowledge.version, knowledge.content_hash), headers=_HTML_HEADERS)

    def schedule(self, request: Request, version: str, drugs: Sequence[str]) -> Response:
        knowledge = self.backend_of(request).engine.knowledge
        if version != knowledge.version:
            return _not_served(version, knowledge.version)
        page = schedule_page(knowledge, drugs[:20])
        return HTMLResponse(render_html(page, knowledge.version, knowledge.content_hash), headers=_HTML_HEADERS)


@dataclass(frozen=True)
class _Served:
    """A call answered and not yet recorded, with what records it."""

    response: Response
    event: HookCallEvent
    claim: ReplayClaim | None
    issued: tuple[IssuedCard, ...]
    backend: Backend
    recorder: CallRecorder


class _FetchNeeded(Exception):
    """The call needs data from the client's FHIR server: it is served in the threadpool instead."""


class _NoFetch:
    """The fetcher of calls served on the event loop: none may wait on the network there."""

    def get(self, url: str, token: str, deadline: float) -> Mapping[str, Any] | None:
        raise _FetchNeeded


_NO_FETCH = _NoFetch()


def _too_many(limits: RateLimits | None, address: str) -> Response | None:
    """The REST API's rate limit on failed authentication, for EHR clients: an address that has spent its failed
    authentications gets a bare 429 before its token is read (`_counted`: every 401 counts against it)."""
    if limits is not None:
        try:
            limits.check_address(address)
        except TooManyRequests as exc:
            return Response(status_code=429, headers={"Retry-After": str(exc.retry_after)})
    return None


def _counted(limits: RateLimits | None, address: str, response: Response) -> Response:
    if limits is not None and response.status_code == 401:
        limits.failed(address)
    return response


def _replayed(event: HookCallEvent) -> Response:
    """The answer to a call whose jti another call claimed first."""
    refused(Unauthorized(REPLAYED, event.iss))
    return _unauthorized()


def cds_hooks_router(
    backend: Backend | BackendOf,
    *,
    clients: ClientRegistry,
    stores: CdsStores,
    public_url: str | None = None,
    fetcher: FhirFetcher | None = None,
    keys: KeySets | None = None,
    fetch_budget_seconds: float = 3.0,
    new_uuid: Callable[[], str] | None = None,
    patient_path: str = "/patients/fhir/{patient_id}",
) -> APIRouter:
    """The CDS Hooks routes (see the module docstring).

    `backend` is fixed, or found per request (the server builds its runtime and database at start-up and keeps
    them on `app.state`); `fetcher` and `keys` are replaceable for tests."""
    warm_up()
    fixed = backend if isinstance(backend, Backend) else None
    endpoints = _Endpoints(
        (lambda _request: fixed) if fixed is not None else backend,  # type: ignore[arg-type]
        clients,
        stores,
        public_url,
        fetcher or HttpFhirFetcher(),
        keys,
        fetch_budget_seconds,
        new_uuid or (lambda: str(uuid4())),
        patient_path,
    )
    router = APIRouter(include_in_schema=False)  # described by discovery; its auth is the client JWT, not the API's

    @router.get("/cds-services")
    async def discovery(request: Request) -> Response:
        return await endpoints.call(request, "cds-discovery")

    @router.post("/cds-services/{service_id}")
    async def hook(request: Request, service_id: str) -> Response:
        return await endpoints.call(request, "cds-call", service_id)

    @router.post("/cds-services/{service_id}/feedback")
    async def feedback(request: Request, service_id: str) -> Response:
        return await endpoints.call(request, "cds-feedback", service_id)

    for path in ("/cds-services", "/cds-services/{service_id}", "/cds-services/{service_id}/feedback"):
        router.add_api_route(path, endpoints.preflight, methods=["OPTIONS"])

    @router.get("/cds-evidence/{version}/lamotrigine-schedule")
    def schedule(
        request: Request,
        version: str,
        with_: list[str] = Query(default_factory=list, alias="with"),  # noqa: B008  # FastAPI declares query parameters as defaults
    ) -> Response:
        return endpoints.schedule(request, version, with_)

    @router.get("/cds-evidence/{version}/{card_type}")
    def evidence(request: Request, version: str, card_type: str) -> Response:
        return endpoints.evidence(request, version, card_type)

    return router


def router(settings: Settings, stores: CdsStores | None = None) -> APIRouter:
    """The CDS Hooks routes of the server's app: the care engine, clock and audit trail are the app's own
    (`app.state.runtime` and `app.state.records`, built at start-up); and, for admins, the feedback counted per
    card type at `GET /api/v1/cds/feedback` (the server's own admin check; in the OpenAPI document and the
    server's access matrix, unlike the CDS routes, which discovery describes)."""
    from ketaguide.http.routes import AUTHENTICATED, problems
    from ketaguide.http.security import ADMIN, require

    stores = stores or stores_from_settings(settings.redis_url)
    routes = APIRouter()
    routes.include_router(router_from_settings(settings, lambda request: _server_backend(request, stores), stores))
    admin = Depends(require(*ADMIN, audit_as=("read", "cds-feedback")))
    responses = problems(*AUTHENTICATED, 503)
    routes.include_router(
        feedback_admin_router(stores.feedback, [admin]), prefix="/api/v1", tags=["administration"], responses=responses
    )
    return routes


def _server_backend(request: Request, stores: CdsStores) -> Backend:
    """The app's backend, built on first use: its care engine, clock and audit trail; and, when the CDS stores are
    in the app's own database, one transaction per call for the claim, the cards and the audit event."""
    state = request.app.state
    backend: Backend | None = getattr(state, "cds_backend", None)
    if backend is None:
        from ketaguide.cdshooks.database import DatabaseCallRecorder, DatabaseHookAudit
        from ketaguide.services.assessment import assess

        runtime, records = state.runtime, state.records
        engine = CareEngine(knowledge=runtime.knowledge, assess=lambda document: assess(runtime, document))
        shared = stores.records is not None and stores.records() is records
        recorder = DatabaseCallRecorder(lambda: records) if shared else None
        audit = DatabaseHookAudit(lambda: records)
        backend = state.cds_backend = Backend(engine=engine, clock=runtime.clock, audit=audit, recorder=recorder)
    return backend


def router_from_settings(
    settings: Settings, backend: Backend | BackendOf, stores: CdsStores | None = None
) -> APIRouter:
    """The router as configured by KETAGUIDE_CDS_CLIENTS, KETAGUIDE_REDIS_URL and KETAGUIDE_PUBLIC_URL."""
    stores = stores or stores_from_settings(settings.redis_url)
    if isinstance(stores.replay, MemoryReplayCache):
        log.warning("CDS Hooks: the JWT replay guard is in memory, per process (one worker only)")
    return cds_hooks_router(
        backend, clients=load_clients(settings.cds_clients), stores=stores, public_url=settings.public_url
    )


def cds_app(router: APIRouter) -> FastAPI:
    """A bare app serving only the CDS routes (tests and benchmarks; the server includes the router in its own)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(router)
    return app


def feedback_admin_router(log_: FeedbackLog, dependencies: Sequence[Any]) -> APIRouter:
    """`GET /cds/feedback`: feedback counted per service and card type, for admins. The server mounts it under
    its API prefix with its own admin dependency (`dependencies=[Depends(require_admin)]`)."""
    router = APIRouter(dependencies=list(dependencies))

    @router.get("/cds/feedback", response_model=FeedbackSummary)
    def summary() -> dict[str, Any]:
        """CDS Hooks feedback counted per service and card type: each card once, by its latest outcome
        (accepted, or overridden with the reasons given)."""
        try:
            records = log_.records()
        except StoreUnavailable:
            raise HTTPException(503, "the CDS feedback store did not answer") from None
        return {"card_types": [asdict(count) for count in feedback_summary(records)]}

    return router


class FeedbackCountItem(BaseModel):
    service_id: str
    card_type: str
    accepted: int
    overridden: int
    override_reasons: dict[str, int] = Field(description="override reason code (or 'no reason given') -> cards")


class FeedbackSummary(BaseModel):
    card_types: list[FeedbackCountItem]


async def _body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is over `limit` bytes (refused after authentication, as 400)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _json_body(content_type: str, body: bytes | None) -> Any:
    if "json" not in content_type.lower():
        raise _Refused(415, "not-supported", "the body must be JSON (Content-Type: application/json)")
    if body is None:
        raise InvalidRequest(["the body is too large"])

    try:
        return json.loads(body, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise InvalidRequest([f"the body is not valid JSON ({str(exc)[:80]})"]) from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Called for every object of the body: a dict that came out shorter than its pairs had a key twice.
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("duplicate key")
    return found


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _json(model: CdsResponse | Discovery) -> Response:
    """A wire model as the JSON body of a 200: serialised by pydantic-core straight to bytes (the same bytes as
    `JSONResponse(model.dump())`, without the dict in between; checked by a test)."""
    return Response(model.dump_json(), media_type="application/json")


def _unauthorized() -> Response:
    """A bare 401 (best-practices.md: no detail); the header names the scheme only."""
    return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})


def _outcome(status: int, code: str, diagnostics: str) -> Response:
    return JSONResponse(operation_outcome(code, diagnostics), status_code=status, media_type="application/fhir+json")


def _not_served(version: str, current: str) -> Response:
    text = f"Content version {version!r} is not served here (this server holds {current!r})."
    return Response(text, status_code=404, media_type="text/plain")


def _where(error: Mapping[str, Any]) -> str:
    return ".".join(str(p) for p in error.get("loc", ())) or "body"


def _text(value: object) -> str | None:
    return value[:200] if isinstance(value, str) else None
