"""The audit trail as the services use it: every access to patient data, in the transaction of the access.

`audited(...)` opens the write transaction a service works in and appends a success event to it, so the change
and its event commit together or not at all. When the work fails (not found, deleted, stale version, invalid
input, refused), the transaction is rolled back and the failure is recorded in a transaction of its own, then the
error goes on to the caller. Events name the resource, never its content: no names, intakes, queries or tokens.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from ketaguide.domain.errors import InputError
from ketaguide.services.access import AccessError, Caller, Forbidden
from ketaguide.services.records import Records
from ketaguide.storage import audit as trail
from ketaguide.storage.audit import AuditEvent, ChainReport
from ketaguide.storage.errors import ResourceError
from ketaguide.storage.tables import audit_events


@dataclass
class AuditedWork:
    """The open transaction of an audited operation; the service names the resource once it knows it."""

    connection: Connection
    resource_id: str | None = None
    patient_id: str | None = None


def outcome_of(error: BaseException) -> str:
    if isinstance(error, ResourceError):
        return error.outcome
    if isinstance(error, InputError):
        return "invalid"
    if isinstance(error, AccessError):
        return "denied"
    if isinstance(error, IntegrityError):  # a concurrent request claimed the same key or MRN first
        return "conflict"
    return "error"


def _event(caller: Caller | None, action: str, resource_type: str, outcome: str) -> AuditEvent:
    principal = caller.principal if caller else None
    return AuditEvent(
        action=action,
        resource_type=resource_type,
        outcome=outcome,
        user_id=principal.user_id if principal else None,
        user_name=principal.name if principal else "command line",
        role=principal.role.value if principal else None,
        request_id=caller.request_id if caller else None,
    )


@contextmanager
def audited(
    records: Records,
    caller: Caller | None,
    action: str,
    resource_type: str,
    *,
    resource_id: str | None = None,
    patient_id: str | None = None,
) -> Iterator[AuditedWork]:
    """A write transaction whose work is recorded as one audit event (caller None: the command line)."""
    work = AuditedWork(connection=None, resource_id=resource_id, patient_id=patient_id)  # type: ignore[arg-type]
    event = _event(caller, action, resource_type, "success")
    try:
        with records.database.write() as connection:
            work.connection = connection
            yield work
            done = replace(event, resource_id=work.resource_id, patient_id=work.patient_id)
            trail.append(connection, done, records.clock.now())
    except Exception as error:
        failed = replace(event, resource_id=work.resource_id, patient_id=work.patient_id, outcome=outcome_of(error))
        with records.database.write() as connection:
            trail.append(connection, failed, records.clock.now())
        raise


def record_refusal(records: Records, caller: Caller, error: Forbidden, action: str, resource_type: str) -> None:
    """A refused request (wrong role) is an event too: who tried what."""
    with records.database.write() as connection:
        trail.append(connection, _event(caller, action, resource_type, outcome_of(error)), records.clock.now())


class AuditRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    occurred_at: datetime
    user_id: int | None
    user_name: str | None
    role: str | None
    action: str
    resource_type: str
    resource_id: str | None
    patient_id: str | None
    outcome: str
    request_id: str | None
    hash: str


class AuditPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: Sequence[AuditRecord]
    total: int
    limit: int
    offset: int


def read_trail(
    records: Records,
    caller: Caller,
    *,
    patient_id: str | None = None,
    user_name: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> AuditPage:
    """Events, newest first, optionally for one patient or one user; the read is itself an audit event."""
    with audited(records, caller, "read", "audit", patient_id=patient_id) as work:
        condition = audit_events.c.seq > 0
        if patient_id is not None:
            condition &= audit_events.c.patient_id == patient_id
        if user_name is not None:
            condition &= audit_events.c.user_name == user_name
        total = work.connection.execute(select(func.count()).select_from(audit_events).where(condition))
        query = select(audit_events).where(condition).order_by(audit_events.c.seq.desc()).limit(limit).offset(offset)
        rows = work.connection.execute(query).mappings().all()
        items = [AuditRecord.model_validate(dict(row)) for row in rows]
        return AuditPage(items=items, total=int(total.scalar_one()), limit=limit, offset=offset)


def verify_trail(records: Records) -> ChainReport:
    with records.database.read() as connection:
        return trail.verify(connection)
