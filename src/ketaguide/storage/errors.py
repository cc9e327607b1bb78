"""Errors about stored resources; `ketaguide.http.errors` maps each to its HTTP status (404, 410, 409, 412, 428).

KetaGuideError (ketaguide.domain.errors)
└── ResourceError
    ├── NotFound              no such resource (404)
    ├── Gone                  the resource was deleted (410)
    ├── Conflict              the change clashes with stored data: a duplicate MRN, an idempotency key reused
                              with another request (409)
    ├── PreconditionFailed    If-Match names a version that is no longer current (412)
    └── PreconditionRequired  a change that needs If-Match came without it (428)
"""

from __future__ import annotations

from ketaguide.domain.errors import KetaGuideError


class ResourceError(KetaGuideError):
    """A request about a stored resource cannot be carried out; `outcome` is the word the audit trail records."""

    outcome = "error"


class NotFound(ResourceError):
    outcome = "not_found"


class Gone(ResourceError):
    outcome = "gone"


class Conflict(ResourceError):
    outcome = "conflict"


class PreconditionFailed(ResourceError):
    outcome = "precondition_failed"


class PreconditionRequired(ResourceError):
    outcome = "precondition_required"
