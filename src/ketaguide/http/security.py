"""Authentication and authorisation for routes: deny by default.

Every route of the API declares the roles it admits with `require(...)`; a route without it would answer 401 to
everyone through `public_routes` not listing it (the access-matrix test enumerates the OpenAPI document and fails on
any route missing from its expected matrix). A refused request to patient data is itself an audit event.

Anti-automation (ASVS 2.4.1, `ketaguide.http.ratelimit`): an address that keeps presenting wrong tokens is refused
with 429 before its token is looked up, and every authenticated request spends one of its token's budget.

Extra routers (CDS Hooks) use their own authentication (a signed JWT per call) and may reuse `caller_of` only for
routes that take a KetaGuide bearer token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ketaguide.http.ratelimit import rate_limits_of
from ketaguide.services.access import Caller, Forbidden, Principal, Role, Unauthenticated
from ketaguide.services.audit import record_refusal
from ketaguide.services.records import Records
from ketaguide.services.users import authenticate

bearer = HTTPBearer(auto_error=False, description="An API token from `ketaguide users add NAME --role ROLE`.")


def records_of(request: Request) -> Records:
    records: Records = request.app.state.records
    return records


def principal_of(request: Request, token: str | None) -> Principal:
    """The user `token` belongs to, within the rate limits (see the module's docstring)."""
    limits = rate_limits_of(request)
    if limits is None or not token:  # no token guesses nothing: 401 as always
        return authenticate(records_of(request), token)
    address = limits.address_of(request)
    limits.check_address(address)
    try:
        principal = authenticate(records_of(request), token)
    except Unauthenticated:
        limits.failed(address)
        raise
    limits.spend(token)
    return principal


def require(*roles: Role, audit_as: tuple[str, str] | None = None) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting only `roles`; `audit_as` (action, resource type) records refusals in the audit
    trail, for routes that touch patient data."""
    admitted = frozenset(roles)

    # One dependency, run on the event loop: the token lookup is one indexed read, and a trip to the threadpool
    # and back cost more than the whole check (0.6 ms a trip on a 2-core virtual machine: the no-op route's CPU
    # time fell from 2.1 to 0.9 ms, issue #10). A route's own synchronous work still runs in the threadpool.
    async def caller_of(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
    ) -> Caller:
        token = credentials.credentials if credentials is not None else None
        caller = Caller(principal=principal_of(request, token), request_id=request.state.request_id)
        if caller.principal.role not in admitted:
            refusal = Forbidden(f"the {caller.principal.role.value} role may not do this")
            if audit_as is not None:  # a write: in the threadpool, so the loop never waits for a writer's turn
                await run_in_threadpool(record_refusal, records_of(request), caller, refusal, *audit_as)
            raise refusal
        return caller

    return caller_of


CLINICIAN = (Role.CLINICIAN,)
EVIDENCE_READERS = (Role.CLINICIAN, Role.CURATOR)
ADMIN = (Role.ADMIN,)
