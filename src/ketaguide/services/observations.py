"""Monitoring over time: one observation per contact, as the care plan's monitoring section asks for.

Craving (0-10), days of ketamine use in the past 7, the urine drug screen (which routine panels do not detect
ketamine with: the result is recorded as reported), bladder symptoms, and the mood and suicidality screens: the
PHQ-2 score (0-6) and the ASQ result category (negative, non-acute positive, acute positive). No free text.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from ketaguide.domain.errors import InputError
from ketaguide.services.access import Caller
from ketaguide.services.audit import audited
from ketaguide.services.records import Records
from ketaguide.storage import repository


class UrineDrugScreen(StrEnum):
    NOT_DONE = "not_done"
    NEGATIVE = "negative"
    POSITIVE = "positive"


class BladderSymptom(StrEnum):
    URINARY_FREQUENCY = "urinary_frequency"
    URINARY_URGENCY = "urinary_urgency"
    DYSURIA = "dysuria"
    PELVIC_PAIN = "pelvic_pain"
    HEMATURIA = "hematuria"
    FLANK_PAIN = "flank_pain"
    URINARY_RETENTION = "urinary_retention"


class SuicidalityScreen(StrEnum):
    """ASQ result categories: negative, non-acute positive, acute positive; or not done."""

    NOT_DONE = "not_done"
    NEGATIVE = "negative"
    NON_ACUTE_POSITIVE = "non_acute_positive"
    ACUTE_POSITIVE = "acute_positive"


class NewObservation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    observed_on: date
    craving_score: Annotated[int, Field(strict=True, ge=0, le=10)] | None = None
    use_days_past_7: Annotated[int, Field(strict=True, ge=0, le=7)] | None = Field(
        None, description="days with any ketamine use in the 7 days before observed_on"
    )
    urine_drug_screen: UrineDrugScreen | None = None
    bladder_symptoms: tuple[BladderSymptom, ...] = Field((), max_length=7)
    phq2_score: Annotated[int, Field(strict=True, ge=0, le=6)] | None = None
    suicidality_screen: SuicidalityScreen | None = None


class Observation(NewObservation):
    id: str
    patient_id: str
    recorded_at: datetime
    recorded_by: int


class ObservationSeries(BaseModel):
    model_config = ConfigDict(frozen=True)

    patient_id: str
    items: Sequence[Observation] = Field(description="oldest first")


def _observation(row: Any) -> Observation:
    values = dict(row)
    values["bladder_symptoms"] = tuple(json.loads(values["bladder_symptoms"]))
    return Observation.model_validate(values)


def record_observation(records: Records, caller: Caller, patient_id: str, new: NewObservation) -> Observation:
    if len(set(new.bladder_symptoms)) != len(new.bladder_symptoms):
        raise InputError("bladder_symptoms", "lists a symptom more than once")
    if new.observed_on > records.clock.now().date():
        raise InputError("observed_on", f"{new.observed_on} is in the future")
    observation_id = str(uuid.uuid4())
    with audited(records, caller, "create", "observation", resource_id=observation_id, patient_id=patient_id) as work:
        repository.live_patient(work.connection, patient_id)
        values = {
            **new.model_dump(mode="json"),
            "observed_on": new.observed_on,
            "bladder_symptoms": json.dumps([s.value for s in new.bladder_symptoms]),
            "id": observation_id,
            "patient_id": patient_id,
            "recorded_at": records.clock.now(),
            "recorded_by": caller.principal.user_id,
        }
        repository.insert_observation(work.connection, values)
        return _observation(values)


def observation_series(records: Records, caller: Caller, patient_id: str) -> ObservationSeries:
    with audited(records, caller, "search", "observation", patient_id=patient_id) as work:
        repository.live_patient(work.connection, patient_id)
        rows = repository.list_observations(work.connection, patient_id)
        return ObservationSeries(patient_id=patient_id, items=[_observation(row) for row in rows])
