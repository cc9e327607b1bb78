"""Patients, their encounters and their observations (clinicians). Every access is an audit event.

Concurrency: a patient's ETag is its version, quoted (`"3"`; `W/"3"` is accepted in If-Match as FHIR clients send
it). PATCH needs If-Match (428 without it) and fails with 412 when the patient changed since it was read.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ketaguide.http.fhir_intake import IntakeRoute, questionnaire_intake
from ketaguide.http.routes import AUTHENTICATED, WITH_BODY, problems
from ketaguide.http.security import CLINICIAN, records_of, require
from ketaguide.services import encounters, observations, patients
from ketaguide.services.access import Caller
from ketaguide.services.records import Records
from ketaguide.storage.errors import PreconditionFailed, PreconditionRequired

router = APIRouter(route_class=IntakeRoute, tags=["patients"])
PatientCaller = Annotated[Caller, Depends(require(*CLINICIAN, audit_as=("access", "patient")))]
StoredRecords = Annotated[Records, Depends(records_of)]
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="items to skip")]
_IF_MATCH = re.compile(r'\s*(?:W/)?"(\d{1,9})"\s*')
IDEMPOTENCY_KEY_DOC = "a client-chosen key (1-200 characters); a retry with the same key never stores twice"


def _json(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(model.model_dump_json(), status, headers=headers, media_type="application/json")


def _etag(patient: patients.Patient) -> dict[str, str]:
    return {"ETag": f'"{patient.version}"'}


def _expected_version(if_match: str | None, *, required: bool) -> int | None:
    """The version named by If-Match; None for `*` or (when not required) no header."""
    if if_match is None:
        if required:
            raise PreconditionRequired("send If-Match with the patient's ETag (read it with GET first)")
        return None
    if if_match.strip() == "*":
        return None
    match = _IF_MATCH.fullmatch(if_match)
    if match is None:
        raise PreconditionFailed('If-Match must be the ETag of the patient, such as "3"')
    return int(match.group(1))


@router.post("/patients", status_code=201, response_model=patients.Patient, responses=problems(*WITH_BODY, 409))
def create_patient(body: patients.NewPatient, caller: PatientCaller, records: StoredRecords) -> Response:
    """Add a patient: a display name, optionally an MRN (unique here) and a birth year."""
    patient = patients.create_patient(records, caller, body)
    headers = {**_etag(patient), "Location": f"/api/v1/patients/{patient.id}"}
    return _json(patient, 201, headers)


@router.get("/patients", response_model=patients.PatientPage, responses=problems(*AUTHENTICATED, 422))
def list_patients(
    caller: PatientCaller,
    records: StoredRecords,
    q: Annotated[str | None, Query(max_length=200, description="part of the name, or the exact MRN")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """Live patients by name, optionally those whose name contains `q` (any case) or whose MRN is `q`."""
    return _json(patients.search_patients(records, caller, q, limit, offset))


@router.get(
    "/patients/{patient_id}", response_model=patients.Patient, responses=problems(*AUTHENTICATED, 404, 410, 422)
)
def get_patient(patient_id: str, caller: PatientCaller, records: StoredRecords) -> Response:
    """One patient, with its ETag (send it back as If-Match to change the patient)."""
    patient = patients.get_patient(records, caller, patient_id)
    return _json(patient, headers=_etag(patient))


@router.patch(
    "/patients/{patient_id}",
    response_model=patients.Patient,
    responses=problems(*WITH_BODY, 404, 409, 410, 412, 428),
)
def patch_patient(
    patient_id: str,
    body: patients.PatientChanges,
    caller: PatientCaller,
    records: StoredRecords,
    if_match: Annotated[str | None, Header(description='the ETag from a read, such as "3" (428 without it)')] = None,
) -> Response:
    """Change a patient (a JSON merge patch) if it is still at the version named by If-Match."""
    version = _expected_version(if_match, required=True)
    patient = patients.update_patient(records, caller, patient_id, version, body)
    return _json(patient, headers=_etag(patient))


@router.delete("/patients/{patient_id}", status_code=204, responses=problems(*AUTHENTICATED, 404, 410, 412, 422))
def delete_patient(
    patient_id: str,
    caller: PatientCaller,
    records: StoredRecords,
    if_match: Annotated[str | None, Header(description="optional: delete only this version")] = None,
) -> Response:
    """Delete a patient (a soft delete: reads then answer 410; encounters and the audit trail are kept)."""
    patients.delete_patient(records, caller, patient_id, _expected_version(if_match, required=False))
    return Response(status_code=204)


@router.post(
    "/patients/{patient_id}/encounters",
    status_code=201,
    response_model=encounters.Encounter,
    responses=problems(*WITH_BODY, 404, 410),
)
@questionnaire_intake(observed_at=True)
def create_encounter(
    patient_id: str,
    body: encounters.NewEncounter,
    request: Request,
    caller: PatientCaller,
    records: StoredRecords,
    idempotency_key: Annotated[str | None, Header(max_length=200, description=IDEMPOTENCY_KEY_DOC)] = None,
) -> Response:
    """Store an intake and the care plan computed from it (with its provenance). The intake may also be sent as a
    FHIR QuestionnaireResponse to `ketaguide fhir questionnaire` (`application/fhir+json`; `authored` is when)."""
    stored = encounters.record_encounter(request.app.state.runtime, records, caller, patient_id, body, idempotency_key)
    encounter = stored.encounter
    headers = {"Location": f"/api/v1/patients/{patient_id}/encounters/{encounter.id}"}
    if stored.replayed:
        headers["Idempotent-Replayed"] = "true"
    return _json(encounter, 201, headers)


@router.get(
    "/patients/{patient_id}/encounters",
    response_model=encounters.EncounterPage,
    responses=problems(*AUTHENTICATED, 404, 410, 422),
)
def list_encounters(
    patient_id: str, caller: PatientCaller, records: StoredRecords, limit: Limit = 50, offset: Offset = 0
) -> Response:
    """A patient's encounters, newest first (summaries: fetch one for its intake and care plan)."""
    return _json(encounters.list_encounters(records, caller, patient_id, limit, offset))


@router.get(
    "/patients/{patient_id}/encounters/{encounter_id}",
    response_model=encounters.Encounter,
    responses=problems(*AUTHENTICATED, 404, 410, 422),
)
def get_encounter(patient_id: str, encounter_id: str, caller: PatientCaller, records: StoredRecords) -> Response:
    """One encounter: the intake as stored and its care plan with provenance."""
    return _json(encounters.get_encounter(records, caller, patient_id, encounter_id))


@router.post(
    "/patients/{patient_id}/observations",
    status_code=201,
    response_model=observations.Observation,
    responses=problems(*WITH_BODY, 404, 410),
)
def create_observation(
    patient_id: str, body: observations.NewObservation, caller: PatientCaller, records: StoredRecords
) -> Response:
    """Record a monitoring observation (craving, use days, urine drug screen, bladder, mood and suicidality)."""
    return _json(observations.record_observation(records, caller, patient_id, body), 201)


@router.get(
    "/patients/{patient_id}/observations",
    response_model=observations.ObservationSeries,
    responses=problems(*AUTHENTICATED, 404, 410, 422),
)
def list_observations(patient_id: str, caller: PatientCaller, records: StoredRecords) -> Response:
    """A patient's observations as a time series, oldest first."""
    return _json(observations.observation_series(records, caller, patient_id))
