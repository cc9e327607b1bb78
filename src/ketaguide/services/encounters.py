"""Encounters: an intake as received and the care plan computed from it, with its provenance, kept together.

The care plan is computed before the transaction opens (the write lock is held only to store). A request with an
`Idempotency-Key` claims the key in the same transaction as the encounter: a retry with the same key and the same
request gets the stored encounter back (`replayed`), never a second one; the same key with a different request is
an input error (draft-ietf-httpapi-idempotency-key-header: 422). Concurrent requests with one key store one
encounter: SQLite's write lock serialises them, and on PostgreSQL the unique (user, key) makes the later insert
wait for the first and fail, and it replays what the first stored.

Keys expire after KETAGUIDE_IDEMPOTENCY_TTL_HOURS (default 24, security.md 5.4): an older key is forgotten, so a
request that reuses it is new (stored again; any body). Every keyed write first purges the expired keys of every
user in the same transaction, before it looks its key up, so the table holds only the live keys (and those of
the last TTL before writes stopped).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError

from ketaguide.contracts.care_plan import CarePlanReport
from ketaguide.domain.care.intake import Intake
from ketaguide.domain.errors import InputError
from ketaguide.services.access import Caller
from ketaguide.services.assessment import assess
from ketaguide.services.audit import audited
from ketaguide.services.records import Records
from ketaguide.storage import repository

if TYPE_CHECKING:
    from ketaguide.bootstrap import Runtime

MAX_IDEMPOTENCY_KEY = 200


class NewEncounter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    intake: Intake
    observed_at: AwareDatetime = Field(description="when the intake was taken, with its UTC offset")


class Encounter(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    patient_id: str
    observed_at: datetime
    recorded_at: datetime
    recorded_by: int = Field(description="the id of the user who stored it")
    intake: Intake
    care_plan: CarePlanReport


class EncounterSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    patient_id: str
    observed_at: datetime
    recorded_at: datetime
    content_version: str
    content_hash: str
    policy_version: str


class EncounterPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: Sequence[EncounterSummary]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class Stored:
    encounter: Encounter
    replayed: bool  # True: an earlier request with the same Idempotency-Key stored it


def _canonical(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _encounter(row: Any) -> Encounter:
    return Encounter(
        id=row["id"],
        patient_id=row["patient_id"],
        observed_at=row["observed_at"],
        recorded_at=row["recorded_at"],
        recorded_by=row["recorded_by"],
        intake=Intake.model_validate_json(row["intake"]),
        care_plan=CarePlanReport.model_validate_json(row["care_plan"]),
    )


def record_encounter(
    runtime: Runtime,
    records: Records,
    caller: Caller,
    patient_id: str,
    new: NewEncounter,
    idempotency_key: str | None = None,
) -> Stored:
    """Store the intake and its care plan for a live patient (once per idempotency key while the key lives)."""
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise InputError("Idempotency-Key", f"must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    intake_json = new.intake.model_dump_json()
    plan = assess(runtime, json.loads(intake_json))
    claim = None
    if idempotency_key is not None:
        request = _canonical([patient_id, json.loads(intake_json), new.observed_at.isoformat()])
        expired_before = records.clock.now() - timedelta(hours=runtime.settings.idempotency_ttl_hours)
        claim = _Claim(idempotency_key, hashlib.sha256(request.encode()).hexdigest(), expired_before)
    try:
        return _store(records, caller, patient_id, new, plan, intake_json, claim)
    except IntegrityError:
        if claim is None:
            raise
        # A concurrent request with the same key committed first: answer with what it stored.
        return _replay(records, caller, patient_id, claim)


@dataclass(frozen=True)
class _Claim:
    """An Idempotency-Key to claim: the key, the SHA-256 of the canonical request, when older keys expired."""

    key: str
    request_hash: str
    expired_before: datetime


def _store(
    records: Records,
    caller: Caller,
    patient_id: str,
    new: NewEncounter,
    plan: CarePlanReport,
    intake_json: str,
    claim: _Claim | None,
) -> Stored:
    encounter_id = str(uuid.uuid4())
    with audited(records, caller, "create", "encounter", resource_id=encounter_id, patient_id=patient_id) as work:
        repository.live_patient(work.connection, patient_id)
        user_id = caller.principal.user_id
        if claim is not None:
            repository.purge_idempotency_keys(work.connection, claim.expired_before)
            earlier = repository.find_idempotency_key(work.connection, user_id, claim.key)
            if earlier is not None:
                _same_request(earlier, claim.request_hash)
                work.resource_id = earlier["resource_id"]
                row = repository.get_encounter(work.connection, patient_id, earlier["resource_id"])
                return Stored(_encounter(row), replayed=True)
            repository.insert_idempotency_key(
                work.connection,
                {
                    "user_id": user_id,
                    "key": claim.key,
                    "scope": "POST /patients/{id}/encounters",
                    "request_hash": claim.request_hash,
                    "status_code": 201,
                    "resource_id": encounter_id,
                    "created_at": records.clock.now(),
                },
            )
        provenance = plan.provenance
        values = {
            "id": encounter_id,
            "patient_id": patient_id,
            "observed_at": new.observed_at.astimezone(UTC),
            "recorded_at": records.clock.now(),
            "recorded_by": user_id,
            "intake": intake_json,
            "care_plan": plan.model_dump_json(),
            "ketaguide_version": provenance.ketaguide_version,
            "content_version": provenance.content_version,
            "content_hash": provenance.content_hash,
            "policy_version": provenance.policy_version,
        }
        repository.insert_encounter(work.connection, values)
        shown = {k: values[k] for k in ("id", "patient_id", "observed_at", "recorded_at", "recorded_by")}
        return Stored(Encounter(**shown, intake=new.intake, care_plan=plan), replayed=False)


def _same_request(earlier: Any, request_hash: str) -> None:
    if earlier["request_hash"] != request_hash:
        raise InputError("Idempotency-Key", "was already used with a different request; use a new key")


def _replay(records: Records, caller: Caller, patient_id: str, claim: _Claim) -> Stored:
    with audited(records, caller, "create", "encounter", patient_id=patient_id) as work:
        earlier = repository.find_idempotency_key(work.connection, caller.principal.user_id, claim.key)
        assert earlier is not None, "the key's insert conflicted, so the key is stored"
        _same_request(earlier, claim.request_hash)
        work.resource_id = earlier["resource_id"]
        return Stored(_encounter(repository.get_encounter(work.connection, patient_id, earlier["resource_id"])), True)


def list_encounters(records: Records, caller: Caller, patient_id: str, limit: int, offset: int) -> EncounterPage:
    with audited(records, caller, "search", "encounter", patient_id=patient_id) as work:
        repository.live_patient(work.connection, patient_id)
        rows, total = repository.list_encounters(work.connection, patient_id, limit, offset)
        items = [EncounterSummary.model_validate({k: row[k] for k in EncounterSummary.model_fields}) for row in rows]
        return EncounterPage(items=items, total=total, limit=limit, offset=offset)


def get_encounter(records: Records, caller: Caller, patient_id: str, encounter_id: str) -> Encounter:
    with audited(records, caller, "read", "encounter", resource_id=encounter_id, patient_id=patient_id) as work:
        repository.live_patient(work.connection, patient_id)
        return _encounter(repository.get_encounter(work.connection, patient_id, encounter_id))
