"""Who is asking: roles, the authenticated principal, and the errors of authentication and authorisation.

Roles (deny by default: a route names the roles it admits, and no role admits everything):
- clinician: patients, encounters, observations, answers, assessments, dose checks
- curator: the evidence (sources and claims) and, later, its ingestion
- admin: users and the audit trail
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ketaguide.domain.errors import KetaGuideError


class Role(StrEnum):
    CLINICIAN = "clinician"
    CURATOR = "curator"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """An authenticated user: what the audit trail records as "who"."""

    user_id: int
    name: str
    role: Role


@dataclass(frozen=True)
class Caller:
    """The principal making a request, and the request's id (for the audit trail and the logs)."""

    principal: Principal
    request_id: str | None = None


class AccessError(KetaGuideError):
    """A request is refused before it reaches any record."""


class Unauthenticated(AccessError):
    """No token, a malformed or unknown token, or a revoked user's token (HTTP 401)."""


class Forbidden(AccessError):
    """The caller's role does not admit this operation (HTTP 403)."""
