"""Authentication and authorisation for routes: deny by default.

Every route of the API declares the roles it admits with `require(...)`; a route without it would answer 401 to
everyone through `public_routes` not listing it (the access-matrix test enumerates the OpenAPI document and fails on
any route missing from its expected matrix). A refused request to patient data is itself an audit event.

Extra routers (CDS Hooks) use their own authentication (a signed JWT per call) and may reuse `caller_of` only for
routes that take a KetaGuide bearer token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ketaguide.services.access import Caller, Forbidden, Principal, Role
from ketaguide.services.audit import record_refusal
from ketaguide.services.records import Records
from ketaguide.services.users import authenticate

bearer = HTTPBearer(auto_error=False, description="An API token from `ketaguide users add NAME --role ROLE`.")


def records_of(request: Request) -> Records:
    records: Records = request.app.state.records
    return records


def principal_of(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> Principal:
    token = credentials.credentials if credentials is not None else None
    return authenticate(records_of(request), token)


def require(*roles: Role, audit_as: tuple[str, str] | None = None) -> Callable[..., Caller]:
    """A dependency admitting only `roles`; `audit_as` (action, resource type) records refusals in the audit
    trail, for routes that touch patient data."""
    admitted = frozenset(roles)

    def caller_of(request: Request, principal: Annotated[Principal, Depends(principal_of)]) -> Caller:
        caller = Caller(principal=principal, request_id=request.state.request_id)
        if principal.role not in admitted:
            refusal = Forbidden(f"the {principal.role.value} role may not do this")
            if audit_as is not None:
                record_refusal(records_of(request), caller, refusal, *audit_as)
            raise refusal
        return caller

    return caller_of


CLINICIAN = (Role.CLINICIAN,)
EVIDENCE_READERS = (Role.CLINICIAN, Role.CURATOR)
ADMIN = (Role.ADMIN,)
