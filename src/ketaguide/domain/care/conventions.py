"""KetaGuide's clinical conventions: the thresholds and orderings it chose, each with the reason it was chosen.

A convention is not a clinical fact: no source sets a ketamine withdrawal window, ranks the red flags or says how
close a dose must be to "match" a regimen. The values live in versioned content (knowledge/content/conventions.yaml)
so that a change is reviewed as content, with its rationale beside it; the engine receives them through
`ClinicalContent.conventions` and never reads a file. The DSM-5 thresholds the diagnosis uses are facts, not
choices, but they are kept here too, each with the references (`source`) it is taken from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, field_validator, model_validator

from ketaguide.domain.care.intake import Symptom
from ketaguide.domain.care.interactions import InteractionSeverity
from ketaguide.domain.citing.citer import Cites

# Urgency levels are themselves a KetaGuide convention (emergency = act now; urgent = same day; routine = at the
# next planned contact): the sources rank none of the findings.
Urgency = Literal["emergency", "urgent", "routine"]
Fraction = Annotated[float, Field(ge=0, lt=1)]
ValueT = TypeVar("ValueT")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Convention(_Strict, Generic[ValueT]):
    """One value and why it is what it is; `source` names the references when the value is a sourced fact."""

    value: ValueT
    rationale: str = Field(min_length=1)
    source: Cites | None = None


class PhaseWindows(_Strict):
    """How long after last use each phase of care lasts, and which symptoms may mark discontinuation."""

    intoxication_window_hours: Convention[PositiveFloat]
    withdrawal_window_days: Convention[PositiveFloat]
    early_abstinence_days: Convention[PositiveFloat]
    discontinuation_symptoms: Convention[tuple[Symptom, ...]]

    @field_validator("discontinuation_symptoms")
    @classmethod
    def _symptoms_listed_once(cls, symptoms: Convention[tuple[Symptom, ...]]) -> Convention[tuple[Symptom, ...]]:
        if not symptoms.value or len(set(symptoms.value)) != len(symptoms.value):
            raise ValueError("list at least one symptom, each once")
        return symptoms

    @model_validator(mode="after")
    def _windows_widen(self) -> PhaseWindows:
        if not self.intoxication_hours < self.withdrawal_hours < self.early_abstinence_hours:
            raise ValueError("the windows must widen: intoxication < withdrawal < early abstinence")
        return self

    @property
    def intoxication_hours(self) -> float:
        return self.intoxication_window_hours.value

    @property
    def withdrawal_hours(self) -> float:
        return self.withdrawal_window_days.value * 24

    @property
    def early_abstinence_hours(self) -> float:
        return self.early_abstinence_days.value * 24


class SeverityFloors(_Strict):
    """The fewest counted criteria for each severity."""

    mild: PositiveInt
    moderate: PositiveInt
    severe: PositiveInt

    @model_validator(mode="after")
    def _floors_rise(self) -> SeverityFloors:
        if not self.mild < self.moderate < self.severe:
            raise ValueError("the floors must rise: mild < moderate < severe")
        return self


class DiagnosisThresholds(_Strict):
    """The criteria counts for each severity and the months without criteria for each remission specifier."""

    severity_floors: Convention[SeverityFloors]
    early_remission_months: Convention[PositiveFloat]
    sustained_remission_months: Convention[PositiveFloat]

    @model_validator(mode="after")
    def _remission_in_order(self) -> DiagnosisThresholds:
        if not self.early_remission_months.value < self.sustained_remission_months.value:
            raise ValueError("early remission must begin before sustained remission")
        return self


class FindingOrder(_Strict):
    """The order findings are listed in, most pressing first."""

    red_flag_urgency: Convention[tuple[Urgency, ...]]
    interaction_severity: Convention[tuple[InteractionSeverity, ...]]

    @field_validator("red_flag_urgency")
    @classmethod
    def _every_urgency_once(cls, order: Convention[tuple[Urgency, ...]]) -> Convention[tuple[Urgency, ...]]:
        _require_every_level_once(order.value, get_args(Urgency))
        return order

    @field_validator("interaction_severity")
    @classmethod
    def _every_severity_once(
        cls, order: Convention[tuple[InteractionSeverity, ...]]
    ) -> Convention[tuple[InteractionSeverity, ...]]:
        _require_every_level_once(order.value, get_args(InteractionSeverity))
        return order


def _require_every_level_once(order: Sequence[str], levels: tuple[str, ...]) -> None:
    if sorted(order) != sorted(levels):
        raise ValueError(f"list each of {', '.join(levels)} exactly once")


class KetamineOrderLimits(_Strict):
    """What the ketamine order check accepts as input, and how close an order must be to match a single dose."""

    single_dose_tolerance: Convention[Fraction]
    max_weight_kg: Convention[PositiveFloat]
    max_order_mg: Convention[PositiveFloat]


class CareConventions(_Strict):
    """Every convention the care engine and the dose check apply; `version` names this set in provenance."""

    version: str = Field(min_length=1)
    phases: PhaseWindows
    diagnosis: DiagnosisThresholds
    finding_order: FindingOrder
    ketamine_order: KetamineOrderLimits
