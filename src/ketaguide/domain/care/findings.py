"""What a care plan finds: each finding says what to do or watch for and cites its evidence by reference number.

The shapes are explicit and typed for machines as well as people (the CDS Hooks adapter maps them to cards): an
option's `status` and `status_reasons`, an interaction's generic `drugs` beside the names `written_as`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ketaguide.domain.care.conventions import Urgency
from ketaguide.domain.care.diagnosis import Diagnosis
from ketaguide.domain.care.dosing import RegimenId
from ketaguide.domain.care.interactions import InteractionSeverity, MatchedBy
from ketaguide.domain.care.rules import OptionKind, OptionStatus, RedFlagCode, RuleEffect, RuleEvidence
from ketaguide.domain.citing.references import Reference
from ketaguide.domain.evidence.models import Level, Phase

# Where a status reason comes from: a sourced rule, a rule stating that no sourced data exists, or a medicine the
# formulary did not recognise (so what the option takes from co-medication could not be checked).
ReasonEvidence = RuleEvidence | Literal["unrecognised_medication"]


class _Finding(BaseModel):
    model_config = ConfigDict(frozen=True)


class PhaseAssessment(_Finding):
    phase: Phase
    basis: str
    citations: tuple[int, ...]


class RedFlag(_Finding):
    code: RedFlagCode
    urgency: Urgency
    message: str
    triggers: tuple[str, ...]
    citations: tuple[int, ...]


class Interaction(_Finding):
    """A curated pair: `drugs` are formulary ids (generic: "lamotrigine", "valproate"), `written_as` the same two as
    the intake wrote them ("LAMICTAL", "Epilim Chrono 500 mg"; a substance as its code)."""

    rule_id: str
    drugs: tuple[str, str]
    written_as: tuple[str, str]
    severity: InteractionSeverity
    message: str
    citations: tuple[int, ...]


class PrescribingCheck(_Finding):
    """A medicine on the intake (prescribed, or ordered in an EHR) that a patient finding changes: ketamine or
    esketamine for a person with ketamine use disorder or ketamine uropathy (`order_rules` in care_plan.yaml).
    `drug` is the formulary id, `written_as` the medicine as the intake wrote it; `title` completes "<drug> ..."."""

    rule_id: str
    drug: str
    written_as: str
    effect: Literal["contraindicated", "caution", "note"]
    title: str
    message: str
    triggers: tuple[str, ...]
    citations: tuple[int, ...]


class StatusReason(_Finding):
    """One reason an option has its status for this patient: a rule that fired, with what triggered it."""

    rule_id: str
    effect: RuleEffect
    evidence: ReasonEvidence
    message: str
    triggers: tuple[str, ...]
    citations: tuple[int, ...]


class DoseColumn(_Finding):
    """The label dose-table column the patient's co-medications select, or null `regimen` when it could not be
    chosen (a medicine was not recognised)."""

    schedule: Literal["lamotrigine"]
    regimen: RegimenId | None
    message: str
    citations: tuple[int, ...]


class CareOption(_Finding):
    """An option for this phase. `status`: recommended or consider when no rule fires, else caution or
    contraindicated; `status_reasons` says why, each cited. A contraindicated option is never a recommendation."""

    id: str
    intervention: str
    kind: OptionKind
    phase: Phase
    phases: tuple[Phase, ...]
    status: OptionStatus
    status_reasons: tuple[StatusReason, ...]
    certainty: Level
    certainty_reasons: tuple[str, ...]
    experimental: bool
    notes: tuple[str, ...]
    dose_column: DoseColumn | None
    citations: tuple[int, ...]


class OptionNotOffered(_Finding):
    """An option for this phase that does not apply to this patient (e.g. haloperidol without agitation or
    psychosis), with the reasons."""

    id: str
    intervention: str
    reasons: tuple[StatusReason, ...]


class RecognisedMedication(_Finding):
    """A medicine as written and the formulary entry it was read as."""

    written_as: str
    drug: str
    generic: str
    ingredients: tuple[str, ...]
    classes: tuple[str, ...]
    rxnorm: tuple[str, ...] = Field(
        description="the entry's RxNorm ingredient (IN) codes; empty where no source gives one"
    )
    matched_by: MatchedBy


class NotChecked(_Finding):
    """A medicine or substance KetaGuide did not check for interactions; "not listed" never means "no
    interaction". `drug` is null for a medicine the formulary did not recognise."""

    written_as: str
    drug: str | None
    reason: str


class MonitoringItem(_Finding):
    item: str
    message: str
    citations: tuple[int, ...]


class EvidenceGap(_Finding):
    topic: str
    message: str


class SourceConflict(_Finding):
    """Sources that disagree on a point a finding rests on: both sides, each cited."""

    topic: str
    message: str
    citations: tuple[int, ...]


class CarePlan(_Finding):
    diagnosis: Diagnosis
    phase: PhaseAssessment
    red_flags: tuple[RedFlag, ...]
    interactions: tuple[Interaction, ...]
    prescribing: tuple[PrescribingCheck, ...]
    options: tuple[CareOption, ...]
    options_not_offered: tuple[OptionNotOffered, ...]
    monitoring: tuple[MonitoringItem, ...]
    recognized_medications: tuple[RecognisedMedication, ...]
    unrecognized_medications: tuple[str, ...]
    not_checked: tuple[NotChecked, ...]
    evidence_gaps: tuple[EvidenceGap, ...]
    conflicts: tuple[SourceConflict, ...]
    references: tuple[Reference, ...]
