"""Users and their API tokens (`ketaguide users ...`, and every request's authentication).

A token is 256 random bits (`secrets.token_urlsafe`), shown once when the user is added and stored only as its
SHA-256: a slow password hash adds nothing to a secret with that much entropy, and a fast one keeps
authentication cheap on every request. Tokens are compared by their hash through a unique index, so no stored
token can be read back and none is ever written to the audit trail or the logs. Revoking a user ends their token
at once, in every worker: each request looks the hash up in the database.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from ketaguide.domain.errors import InputError
from ketaguide.services.access import Caller, Principal, Role, Unauthenticated
from ketaguide.services.audit import audited
from ketaguide.services.records import Records
from ketaguide.storage import repository

TOKEN_PREFIX = "kg_"
_TOKEN = re.compile(r"kg_[A-Za-z0-9_-]{43}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")


class User(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def add_user(records: Records, name: str, role: Role | str, caller: Caller | None = None) -> tuple[User, str]:
    """A new user and their token (shown once; only its hash is kept); `caller` None: the command line."""
    if not _NAME.fullmatch(name):
        raise InputError("name", "use 1 to 100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
    try:
        role = Role(role)
    except ValueError:
        raise InputError("role", f"unknown role {role!r}; expected clinician, curator or admin") from None
    token = new_token()
    with audited(records, caller, "add-user", "user") as work:
        now = records.clock.now()
        user_id = repository.insert_user(
            work.connection, name=name, role=role.value, token_hash=token_hash(token), created_at=now
        )
        work.resource_id = str(user_id)
    return User(id=user_id, name=name, role=role, created_at=now, revoked_at=None), token


def list_users(records: Records) -> list[User]:
    with records.database.read() as connection:
        return [User.model_validate(dict(row)) for row in repository.list_users(connection)]


def revoke_user(records: Records, name: str, caller: Caller | None = None) -> User:
    with audited(records, caller, "revoke-user", "user") as work:
        row = repository.revoke_user(work.connection, name, records.clock.now())
        work.resource_id = str(row["id"])
    return next(user for user in list_users(records) if user.name == name)


def ensure_first_admin(records: Records) -> str | None:
    """On a database with no users, an admin named `admin` and their token; None when users exist."""
    with records.database.read() as connection:
        if repository.count_users(connection):
            return None
    return add_user(records, "admin", Role.ADMIN)[1]


def authenticate(records: Records, token: str | None) -> Principal:
    """The user a bearer token belongs to; Unauthenticated for a missing, malformed, unknown or revoked token."""
    if not token:
        raise Unauthenticated("no bearer token")
    if not _TOKEN.fullmatch(token):
        raise Unauthenticated("malformed token")
    with records.database.read() as connection:
        row = repository.user_by_token_hash(connection, token_hash(token))
    if row is None or row["revoked_at"] is not None:
        raise Unauthenticated("unknown or revoked token")
    return Principal(user_id=row["id"], name=row["name"], role=Role(row["role"]))
