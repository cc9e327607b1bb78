"""Administration (admins): users and their tokens, and the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ketaguide.http.requests import StrictJSONRoute
from ketaguide.http.routes import AUTHENTICATED, WITH_BODY, problems
from ketaguide.http.security import ADMIN, records_of, require
from ketaguide.services import audit, users
from ketaguide.services.access import Caller, Role
from ketaguide.services.records import Records

router = APIRouter(route_class=StrictJSONRoute, tags=["administration"])
Admin = Annotated[Caller, Depends(require(*ADMIN, audit_as=("access", "audit")))]
StoredRecords = Annotated[Records, Depends(records_of)]


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    role: Role


class NewUserToken(BaseModel):
    user: users.User
    token: str = Field(description="the API token, shown this once; only its hash is stored")


@router.get("/users", response_model=list[users.User], responses=problems(*AUTHENTICATED))
def list_users(caller: Admin, records: StoredRecords) -> list[users.User]:
    """Every user with their role and whether their token is revoked."""
    return users.list_users(records)


@router.post("/users", status_code=201, response_model=NewUserToken, responses=problems(*WITH_BODY, 409))
def add_user(body: NewUser, caller: Admin, records: StoredRecords) -> Response:
    """Add a user; the response carries their token, shown this once."""
    user, token = users.add_user(records, body.name, body.role, caller)
    return Response(NewUserToken(user=user, token=token).model_dump_json(), 201, media_type="application/json")


@router.post("/users/{name}/revoke", response_model=users.User, responses=problems(*AUTHENTICATED, 404))
def revoke_user(name: str, caller: Admin, records: StoredRecords) -> users.User:
    """Revoke a user's token, at once and in every worker."""
    return users.revoke_user(records, name, caller)


@router.get("/audit", response_model=audit.AuditPage, responses=problems(*AUTHENTICATED, 422))
def read_audit(
    caller: Admin,
    records: StoredRecords,
    patient_id: Annotated[str | None, Query(max_length=36)] = None,
    user: Annotated[str | None, Query(max_length=100, description="a user name")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> audit.AuditPage:
    """Audit events, newest first, optionally for one patient or one user (the read is itself audited)."""
    return audit.read_trail(records, caller, patient_id=patient_id, user_name=user, limit=limit, offset=offset)
