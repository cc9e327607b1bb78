"""Patients: minimal identifiers (display name, optional MRN unique per deployment, birth year), versioned.

Every read and change is an audit event. A change names the version it was based on (HTTP If-Match) and fails
with PreconditionFailed if another change came first, so no update is ever lost. Deleting is a timestamp: the
patient leaves lists and reads answer Gone, while the encounters and the audit trail stay.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ketaguide.domain.errors import InputError
from ketaguide.services.access import Caller
from ketaguide.services.audit import audited
from ketaguide.services.records import Records
from ketaguide.storage import repository

# Printable text only: no control characters that could forge a line in a terminal, a log or a note.
DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Mrn = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[!-~]+$")]
BirthYear = Annotated[int, Field(strict=True, ge=1880, le=2200, description="four-digit year; not in the future")]


class NewPatient(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    display_name: DisplayName
    mrn: Mrn | None = Field(None, description="medical record number, unique in this deployment")
    birth_year: BirthYear | None = None


class PatientChanges(BaseModel):
    """A JSON merge patch: the fields present are changed; `mrn` or `birth_year` null clears it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    display_name: DisplayName | None = None
    mrn: Mrn | None = None
    birth_year: BirthYear | None = None


class Patient(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    display_name: str
    mrn: str | None
    birth_year: int | None
    version: int = Field(description="increases with every change; the ETag is this number, quoted")
    created_at: datetime
    updated_at: datetime


class PatientPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: Sequence[Patient]
    total: int
    limit: int
    offset: int


def _patient(row: Any) -> Patient:
    return Patient.model_validate({name: row[name] for name in Patient.model_fields})


def _check_birth_year(records: Records, birth_year: int | None) -> None:
    if birth_year is not None and birth_year > records.clock.now().year:
        raise InputError("birth_year", f"{birth_year} is in the future")


def create_patient(records: Records, caller: Caller, new: NewPatient) -> Patient:
    _check_birth_year(records, new.birth_year)
    patient_id = str(uuid.uuid4())
    with audited(records, caller, "create", "patient", resource_id=patient_id, patient_id=patient_id) as work:
        now = records.clock.now()
        by = caller.principal.user_id
        values = {**new.model_dump(), "id": patient_id, "version": 1, "created_at": now, "updated_at": now}
        repository.insert_patient(work.connection, {**values, "created_by": by, "updated_by": by})
        return _patient(repository.live_patient(work.connection, patient_id))


def get_patient(records: Records, caller: Caller, patient_id: str) -> Patient:
    with audited(records, caller, "read", "patient", resource_id=patient_id, patient_id=patient_id) as work:
        return _patient(repository.live_patient(work.connection, patient_id))


def search_patients(records: Records, caller: Caller, query: str | None, limit: int, offset: int) -> PatientPage:
    """Live patients by name (any part, any case) or exact MRN; the search itself is audited, not its terms."""
    with audited(records, caller, "search", "patient") as work:
        rows, total = repository.search_patients(work.connection, query, limit, offset)
        return PatientPage(items=[_patient(row) for row in rows], total=total, limit=limit, offset=offset)


def update_patient(
    records: Records, caller: Caller, patient_id: str, expected_version: int | None, changes: PatientChanges
) -> Patient:
    """Apply a merge patch to the version the caller read (`expected_version`; None only for If-Match: *)."""
    fields = changes.model_dump(include=changes.model_fields_set)
    if "display_name" in fields and fields["display_name"] is None:
        raise InputError("display_name", "cannot be removed")
    _check_birth_year(records, fields.get("birth_year"))
    with audited(records, caller, "update", "patient", resource_id=patient_id, patient_id=patient_id) as work:
        stamp = {"updated_at": records.clock.now(), "updated_by": caller.principal.user_id}
        row = repository.update_patient(work.connection, patient_id, expected_version, {**fields, **stamp})
        return _patient(row)


def delete_patient(records: Records, caller: Caller, patient_id: str, expected_version: int | None) -> None:
    """Soft delete: the patient then answers Gone; encounters, observations and audit events are kept."""
    with audited(records, caller, "delete", "patient", resource_id=patient_id, patient_id=patient_id) as work:
        now = records.clock.now()
        stamp = {"deleted_at": now, "updated_at": now, "updated_by": caller.principal.user_id}
        repository.update_patient(work.connection, patient_id, expected_version, stamp)
