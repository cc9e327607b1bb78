"""The care-plan rules as content states them (care_plan.yaml), and `ClinicalContent`, everything the engine reads.

Each rule names the patient facts that trigger it (`when_any`, see `ketaguide.domain.care.facts`) and the evidence
it cites. The models are strict (`extra="forbid"`) so a typo in the content fails when it loads, not silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ketaguide.domain.care.conventions import CareConventions, Urgency
from ketaguide.domain.care.dosing import KetamineDosing, LamotrigineDosing
from ketaguide.domain.care.interactions import Formulary, InteractionRule
from ketaguide.domain.care.phase import Phase
from ketaguide.domain.citing.citer import Cites, ReferenceEntry

RedFlagCode = Literal[
    "suicidal_ideation",
    "respiratory_depression",
    "psychosis",
    "hematuria",
    "upper_urinary_tract",
    "urinary_symptoms",
    "pregnancy",
    "cns_depressant_co_use",
]
OptionKind = Literal["supportive", "pharmacological", "psychosocial", "setting"]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RedFlagRule(_Rule):
    code: RedFlagCode
    urgency: Urgency
    when_any: tuple[str, ...] = Field(min_length=1)
    message: str = Field(min_length=1)
    cites: Cites


class OptionCaution(_Rule):
    """A note added to an option when a fact is present (a contra-indication or dose change)."""

    when_any: tuple[str, ...] = Field(min_length=1)
    note: str = Field(min_length=1)
    cites: Cites


class CareOptionRule(_Rule):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    intervention: str
    kind: OptionKind
    phases: tuple[Phase, ...] = Field(min_length=1)
    experimental: bool
    requires_diagnosis: bool = True
    when_any: tuple[str, ...] = ()
    unless_any: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    cites: Cites
    cautions: tuple[OptionCaution, ...] = ()

    @field_validator("phases")
    @classmethod
    def _phases_of_care_only(cls, phases: tuple[Phase, ...]) -> tuple[Phase, ...]:
        # When the phase is unknown every option is listed with its phases, so "unknown" would say nothing.
        if Phase.UNKNOWN in phases:
            raise ValueError("'unknown' is not a phase of care: list the phases the option is for")
        return phases


class MonitoringRule(_Rule):
    id: str
    item: str
    message: str
    when_any: tuple[str, ...] = Field(default=(), description="empty: always")
    show_craving_score: bool = False
    cites: Cites


class EvidenceGapRule(_Rule):
    id: str
    topic: str
    message: str
    when_any: tuple[str, ...] = Field(min_length=1)
    and_any: tuple[str, ...] = Field(default=(), description="if given, one of these must also be present")


class DiagnosisEvidence(_Rule):
    criteria: Cites
    remission: Cites
    withdrawal: Cites


class PhaseEvidence(_Rule):
    intoxication: Cites
    withdrawal: Cites
    early_abstinence: Cites
    relapse_prevention: Cites
    unknown: Cites

    def of(self, phase: Phase) -> Cites:
        cites: Cites = getattr(self, phase.value)
        return cites


@dataclass(frozen=True)
class ClinicalContent:
    """Everything the care-plan rules read, already validated by the content loader."""

    references: Mapping[str, ReferenceEntry]
    formulary: Formulary
    interactions: tuple[InteractionRule, ...]
    red_flags: tuple[RedFlagRule, ...]
    options: tuple[CareOptionRule, ...]
    monitoring: tuple[MonitoringRule, ...]
    gaps: tuple[EvidenceGapRule, ...]
    diagnosis: DiagnosisEvidence
    phases: PhaseEvidence
    lamotrigine: LamotrigineDosing
    ketamine: KetamineDosing
    conventions: CareConventions
