"""The patient intake: what a clinician records before `ketaguide assess`, validated strictly.

Codes are closed vocabularies (an unknown code is an error naming the field and the value), matched in any case and
with surrounding spaces ignored ("MALE", " GHB "); the published schema lists the lower-case form. Medication names
are free text, normalised later against the formulary, because clinicians write brands and generics in any case.
`parse_intake` turns pydantic's validation errors into one `IntakeError` that lists every problem, each naming its
field and value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from ketaguide.domain.errors import FieldProblem, IntakeError

Sex = Literal["female", "male", "other", "unknown"]

# The longest time since last use that can be true: the oldest age the intake accepts (120 years), in hours. A
# larger number is an entry error (minutes or seconds entered as hours), not a phase.
HOURS_PER_YEAR = 365.25 * 24
MAX_AGE_YEARS = 120
MAX_HOURS_SINCE_USE = MAX_AGE_YEARS * HOURS_PER_YEAR


class Criterion(StrEnum):
    """DSM-5 phencyclidine-class use disorder criteria, past 12 months (clinical-reference.md s.1).

    `withdrawal` is accepted so a clinician can record it, but it is not in the phencyclidine list and is never
    counted (see `ketaguide.domain.care.diagnosis.COUNTED_CRITERIA`).
    """

    LARGER_AMOUNTS = "larger_amounts"
    CUT_DOWN = "cut_down"
    TIME_SPENT = "time_spent"
    CRAVING = "craving"
    ROLE_FAILURE = "role_failure"
    SOCIAL_PROBLEMS = "social_problems"
    ACTIVITIES_GIVEN_UP = "activities_given_up"
    HAZARDOUS_USE = "hazardous_use"
    PHYSICAL_PSYCHOLOGICAL_PROBLEMS = "physical_psychological_problems"
    TOLERANCE = "tolerance"
    WITHDRAWAL = "withdrawal"


class Symptom(StrEnum):
    SUICIDAL_IDEATION = "suicidal_ideation"
    PSYCHOSIS = "psychosis"
    SLOWED_BREATHING = "slowed_breathing"
    UNRESPONSIVE = "unresponsive"
    AGITATION = "agitation"
    URINARY_FREQUENCY = "urinary_frequency"
    URINARY_URGENCY = "urinary_urgency"
    DYSURIA = "dysuria"
    PELVIC_PAIN = "pelvic_pain"
    HEMATURIA = "hematuria"
    FLANK_PAIN = "flank_pain"
    URINARY_RETENTION = "urinary_retention"
    ANXIETY = "anxiety"
    INSOMNIA = "insomnia"
    DEPRESSED_MOOD = "depressed_mood"


class Condition(StrEnum):
    """Recorded conditions. The later codes exist because a label fact in the clinical reference (s.8) names them
    as a contra-indication or warning for a care option."""

    SCHIZOPHRENIA = "schizophrenia"
    BIPOLAR_DISORDER = "bipolar_disorder"
    DEPRESSION = "depression"
    OPIOID_USE_DISORDER = "opioid_use_disorder"
    ALCOHOL_USE_DISORDER = "alcohol_use_disorder"
    CHRONIC_PAIN = "chronic_pain"
    EPILEPSY = "epilepsy"
    EATING_DISORDER = "eating_disorder"  # bulimia or anorexia nervosa, current or past (bupropion)
    LONG_QT_OR_ARRHYTHMIA = (
        "long_qt_or_arrhythmia"  # known or congenital long QT, or arrhythmia (paliperidone, haloperidol)
    )
    DEMENTIA = "dementia"  # haloperidol boxed warning; Lewy-body dementia in the Swiss label
    PARKINSONISM = "parkinsonism"  # Parkinson's disease or syndrome (haloperidol)
    ACUTE_HEPATITIS_OR_LIVER_FAILURE = "acute_hepatitis_or_liver_failure"  # oral naltrexone label
    RENAL_IMPAIRMENT = "renal_impairment"  # reduced kidney function (paliperidone palmitate)
    # Diagnoses documented elsewhere (an EHR problem list): the order rules name them, since a ketamine or
    # esketamine order means something else for a person with either. A documented use disorder adds no DSM-5
    # criteria: the plan's severity is still counted from the criteria recorded here.
    KETAMINE_USE_DISORDER = "ketamine_use_disorder"
    KETAMINE_UROPATHY = "ketamine_uropathy"  # ketamine-induced cystitis or uropathy


class Substance(StrEnum):
    """Other substances used; matched case-insensitively ("GHB" is `ghb`)."""

    ALCOHOL = "alcohol"
    BENZODIAZEPINES = "benzodiazepines"
    OPIOIDS = "opioids"
    GHB = "ghb"
    COCAINE = "cocaine"
    AMPHETAMINES = "amphetamines"
    MDMA = "mdma"
    CANNABIS = "cannabis"
    HALLUCINOGENS = "hallucinogens"
    NITROUS_OXIDE = "nitrous_oxide"
    TOBACCO = "tobacco"
    OTHER = "other"


class AsqAnswers(BaseModel):
    """Answers to the ASQ suicide risk screening items, numbered as on the published form.

    KetaGuide does not score the ASQ (its scoring rules are not in the clinical reference): any "yes" raises the
    suicidal-ideation red flag, a deliberately conservative convention.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    q1: bool = Field(strict=True)
    q2: bool = Field(strict=True)
    q3: bool = Field(strict=True)
    q4: bool = Field(strict=True)
    q5: bool | None = Field(None, strict=True, description="the acuity item; null when not asked")

    @property
    def positive_items(self) -> tuple[str, ...]:
        answers = {"q1": self.q1, "q2": self.q2, "q3": self.q3, "q4": self.q4, "q5": self.q5}
        return tuple(item for item, yes in answers.items() if yes)


class Intake(BaseModel):
    """One patient's intake for a ketamine use disorder assessment."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # Numbers and booleans are strict: `"age": true` or `"pregnant": "no"` is an error, not a silent coercion.
    age: int = Field(strict=True, ge=0, le=120, description="years")
    sex: Sex
    weight_kg: float | None = Field(None, strict=True, gt=0, le=400)
    pregnant: bool = Field(False, strict=True)
    breastfeeding: bool = Field(False, strict=True)
    criteria: tuple[Criterion, ...] = Field(
        (), description="criteria met in the past 12 months (or in the last 12-month period of use, for remission)"
    )
    months_without_criteria: float | None = Field(
        None,
        strict=True,
        ge=0,
        le=1200,
        description="months since any criterion other than craving was last met; null if met now or unknown",
    )
    in_controlled_environment: bool = Field(
        False, strict=True, description="access to ketamine is restricted (DSM specifier)"
    )
    last_ketamine_use_hours: float | None = Field(
        None,
        strict=True,
        ge=0,
        le=MAX_HOURS_SINCE_USE,
        description="hours since last use (at most 120 years, and not longer than the patient's age); null if unknown",
    )
    symptoms: tuple[Symptom, ...] = ()
    conditions: tuple[Condition, ...] = ()
    medications: tuple[str, ...] = Field((), description="generic or brand names, any case")
    other_substances: tuple[Substance, ...] = ()
    craving_score: int | None = Field(None, strict=True, ge=0, le=10, description="0 (none) to 10 (worst)")
    asq: AsqAnswers | None = Field(None, description="ASQ suicide risk screening answers, if asked")

    @field_validator("sex", mode="before")
    @classmethod
    def _sex_any_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("criteria", "symptoms", "conditions", "other_substances", mode="before")
    @classmethod
    def _codes_any_case(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [v.strip().lower() if isinstance(v, str) else v for v in value]
        return value

    @field_validator("medications")
    @classmethod
    def _names_not_blank(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if not name.strip() or len(name) > 200:
                raise ValueError(f"medication name {name!r} is blank or longer than 200 characters")
        return names

    @field_validator("criteria", "symptoms", "conditions", "other_substances")
    @classmethod
    def _no_duplicates(cls, codes: tuple[StrEnum, ...]) -> tuple[StrEnum, ...]:
        seen: set[StrEnum] = set()
        for code in codes:
            if code in seen:
                raise ValueError(f"duplicate code {code.value!r}")
            seen.add(code)
        return codes

    @field_validator("last_ketamine_use_hours")
    @classmethod
    def _last_use_within_lifetime(cls, hours: float | None, info: ValidationInfo) -> float | None:
        age = info.data.get("age")  # absent when age itself is invalid: that problem is reported on its own
        # The year of age not yet completed is allowed for: a 30-year-old may be 30 years and 11 months old.
        if hours is not None and isinstance(age, int) and hours > (age + 1) * HOURS_PER_YEAR:
            raise ValueError(
                f"{hours:g} hours is longer ago than the patient's age ({age} years); check the unit (hours)"
            )
        return hours


def parse_intake(document: object) -> Intake:
    """Validate an intake document (parsed JSON); raise `IntakeError` naming every bad field and value."""
    if not isinstance(document, Mapping):
        raise IntakeError("intake", f"must be a JSON object, got {type(document).__name__}")
    try:
        return Intake.model_validate(document)
    except ValidationError as exc:
        raise _intake_error(exc) from None


def intake_json_schema() -> dict[str, Any]:
    """The published JSON Schema of the intake document (`ketaguide schema intake`)."""
    schema = Intake.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "KetaGuide intake"
    return schema


def _intake_error(exc: ValidationError) -> IntakeError:
    """Every problem pydantic found, each naming its field, so a caller can fix them all at once."""
    return IntakeError.of(FieldProblem(_field_path(e["loc"]), _problem(e)) for e in exc.errors())


def _field_path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "intake"


def _problem(error: Mapping[str, Any]) -> str:
    kind, value = error["type"], error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"unknown field (value {value!r})"
    if kind == "missing":
        return "is required"
    if kind in ("enum", "literal_error"):
        return f"unknown code {value!r}; expected one of {ctx.get('expected', '')}"
    if kind in ("tuple_type", "list_type"):
        return f"must be a JSON array (got {value!r})"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{error['msg'].lower()} (got {value!r})"
