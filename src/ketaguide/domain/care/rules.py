"""The care-plan rules as content states them (care_plan.yaml), and `ClinicalContent`, everything the engine reads.

Each rule names the patient facts that trigger it (`when_any`, `and_any`, `unless_any`; see
`ketaguide.domain.care.facts`) and the evidence it cites. Options are checked against the patient by `OptionRule`s
(contra-indications, cautions, notes and applicability, applied by `ketaguide.domain.care.safety`). The models are
strict (`extra="forbid"`) so a typo in the content fails when it loads, not silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ketaguide.domain.care.conventions import CareConventions, Urgency
from ketaguide.domain.care.dosing import KetamineDosing, LamotrigineDosing
from ketaguide.domain.care.interactions import Formulary, InteractionRule
from ketaguide.domain.citing.citer import Cites, ReferenceEntry
from ketaguide.domain.evidence.models import Phase

RedFlagCode = Literal[
    "suicidal_ideation",
    "respiratory_depression",
    "acute_co_intoxication",
    "psychosis",
    "hematuria",
    "upper_urinary_tract",
    "urinary_symptoms",
    "pregnancy",
    "cns_depressant_co_use",
]
OptionKind = Literal["supportive", "pharmacological", "psychosocial", "setting"]
# What a safety rule does to an option for this patient:
#   contraindicated  the option is shown as contra-indicated, with the reason; never as a recommendation
#   caution          the option is shown with the warning (status `caution`)
#   note             information that does not change the status (e.g. "no sourced data" for a psychosocial option)
#   not_applicable   the option is not offered (it is listed under options_not_offered with the reason)
RuleEffect = Literal["contraindicated", "caution", "note", "not_applicable"]
RuleEvidence = Literal["sourced", "no_sourced_data"]
# The status an option has when no rule fires: `recommended` where the cited sources recommend it for the phase;
# `consider` where the evidence is experimental or a KetaGuide convention (README, "Conventions").
DefaultStatus = Literal["recommended", "consider"]
OptionStatus = Literal["recommended", "consider", "caution", "contraindicated"]
DoseSchedule = Literal["lamotrigine"]
# The patient facts a rule's note concerns; each option needs rules naming all three (the content check).
REQUIRED_POPULATIONS = ("status:pregnant", "status:breastfeeding", "status:under_18")
NO_SOURCED_DATA = "no sourced data"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TriggeredRule(_Rule):
    """When a rule fires: one of `when_any` (if given), one of `and_any` (if given), and none of `unless_any`."""

    when_any: tuple[str, ...] = ()
    and_any: tuple[str, ...] = Field(default=(), description="if given, one of these must also be present")
    unless_any: tuple[str, ...] = Field(default=(), description="if any of these is present, the rule does not fire")

    @property
    def facts(self) -> tuple[str, ...]:
        """Every fact the trigger names."""
        return (*self.when_any, *self.and_any, *self.unless_any)


class MessageVariant(_Rule):
    """A message that replaces a finding's usual one when one of `when_any` is present (the first that fits wins)."""

    when_any: tuple[str, ...] = Field(min_length=1)
    message: str = Field(min_length=1)
    cites: Cites | None = Field(None, description="cited in addition to the finding's own evidence")


class RedFlagRule(TriggeredRule):
    code: RedFlagCode
    urgency: Urgency
    message: str = Field(min_length=1)
    cites: Cites
    variants: tuple[MessageVariant, ...] = ()

    @model_validator(mode="after")
    def _has_a_trigger(self) -> RedFlagRule:
        if not self.when_any:
            raise ValueError("a red flag needs when_any")
        return self


class CoMedicationCheck(_Rule):
    """What an option's dose or warnings take from the co-medications, said when a medicine is not recognised."""

    what: str = Field(min_length=1, description='e.g. "the escalation column could not be chosen"')
    cites: Cites


class CareOptionRule(_Rule):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    intervention: str
    kind: OptionKind
    medicines: tuple[str, ...] = Field(
        default=(), description="what a pharmacological option is about: drug:<formulary id> or class:<class>"
    )
    phases: tuple[Phase, ...] = Field(min_length=1)
    experimental: bool
    default_status: DefaultStatus
    requires_diagnosis: bool = True
    when_any: tuple[str, ...] = ()
    unless_any: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    cites: Cites
    co_medication_check: CoMedicationCheck | None = None
    dose_schedule: DoseSchedule | None = Field(None, description="a label dose table whose column the plan picks")

    @model_validator(mode="after")
    def _medicines_for_a_medicine(self) -> CareOptionRule:
        # The option review finds an ordered medicine's options through this list (cdshooks order-sign).
        if (self.kind == "pharmacological") != bool(self.medicines):
            raise ValueError("a pharmacological option names its medicines, and only such an option does")
        return self

    @field_validator("phases")
    @classmethod
    def _phases_of_care_only(cls, phases: tuple[Phase, ...]) -> tuple[Phase, ...]:
        # When the phase is unknown every option is listed with its phases, so "unknown" would say nothing.
        if Phase.UNKNOWN in phases:
            raise ValueError("'unknown' is not a phase of care: list the phases the option is for")
        return phases


class OptionRule(TriggeredRule):
    """A contra-indication, caution, note or applicability rule for one or more options, with its evidence.

    `evidence: no_sourced_data` states a gap (the note says "no sourced data"); such a rule may only caution or
    note, and needs no citation. `always: true` fires for every patient (the rule has no trigger).
    """

    id: str = Field(pattern=r"^[a-z0-9_.-]+$")
    options: tuple[str, ...] = Field(min_length=1)
    effect: RuleEffect
    evidence: RuleEvidence = "sourced"
    always: bool = False
    note: str = Field(min_length=1)
    cites: Cites | None = None

    @model_validator(mode="after")
    def _consistent(self) -> OptionRule:
        if self.always == bool(self.when_any or self.unless_any):
            raise ValueError("give when_any and/or unless_any, or always: true, not both")
        if self.evidence == "sourced" and self.cites is None:
            raise ValueError("a sourced rule cites its evidence")
        if self.evidence == "no_sourced_data":
            if self.effect not in ("caution", "note"):
                raise ValueError("a rule without sourced data may only caution or note")
            if NO_SOURCED_DATA not in self.note.casefold():
                raise ValueError(f"a rule without sourced data says so in its note ({NO_SOURCED_DATA!r})")
        return self


class OrderRule(TriggeredRule):
    """A medicine prescribed or ordered for a patient with a finding that changes what it means (ketamine or
    esketamine for a person with ketamine use disorder or ketamine uropathy): the plan checks each medicine on the
    intake (`CarePlan.prescribing`).

    `drugs` are formulary ids; `title` completes "<drug> " in a heading. A `note` informs without warning (e.g. where
    the evidence is about a related drug only).
    """

    id: str = Field(pattern=r"^[a-z0-9_.-]+$")
    drugs: tuple[str, ...] = Field(min_length=1)
    effect: Literal["contraindicated", "caution", "note"]
    title: str = Field(min_length=1, max_length=80)
    message: str = Field(min_length=1)
    cites: Cites

    @model_validator(mode="after")
    def _has_a_trigger(self) -> OrderRule:
        if not self.when_any:
            raise ValueError("an order rule needs when_any: the patient finding it is about")
        return self


class MonitoringRule(TriggeredRule):
    id: str
    item: str
    message: str
    show_craving_score: bool = False
    cites: Cites
    variants: tuple[MessageVariant, ...] = ()


class EvidenceGapRule(TriggeredRule):
    """An open question: what the sources could not support, shown when it matters for this patient."""

    id: str
    topic: str
    message: str

    @model_validator(mode="after")
    def _has_a_trigger(self) -> EvidenceGapRule:
        if not self.when_any:
            raise ValueError("an open question needs when_any")
        return self


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
    """Everything the care-plan rules read, already validated by the content loader.

    `memo` keeps what is derived from this content once and for all (`ketaguide.domain.care.index.rule_index`):
    the content never changes, so neither does anything derived from it.
    """

    references: Mapping[str, ReferenceEntry]
    formulary: Formulary
    interactions: tuple[InteractionRule, ...]
    red_flags: tuple[RedFlagRule, ...]
    options: tuple[CareOptionRule, ...]
    option_rules: tuple[OptionRule, ...]
    order_rules: tuple[OrderRule, ...]
    monitoring: tuple[MonitoringRule, ...]
    gaps: tuple[EvidenceGapRule, ...]
    diagnosis: DiagnosisEvidence
    phases: PhaseEvidence
    lamotrigine: LamotrigineDosing
    ketamine: KetamineDosing
    conventions: CareConventions
    memo: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False)
