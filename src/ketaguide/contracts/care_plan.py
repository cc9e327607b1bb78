"""The care-plan and dose contracts (README, "Patient assessment and care plan"), each with its provenance."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SerializeAsAny

from ketaguide.contracts.provenance import Provenance
from ketaguide.domain.care.diagnosis import Diagnosis
from ketaguide.domain.care.dosing import KetamineOrderCheck, LamotrigineSchedule
from ketaguide.domain.care.findings import (
    CareOption,
    CarePlan,
    EvidenceGap,
    Interaction,
    MonitoringItem,
    NotChecked,
    OptionNotOffered,
    PrescribingCheck,
    RecognisedMedication,
    RedFlag,
    SourceConflict,
)
from ketaguide.domain.citing.references import Reference
from ketaguide.domain.evidence.models import Phase


class CarePlanReport(BaseModel):
    """A care plan as served: the phase is flattened into `phase`, `phase_basis` and `phase_citations`.

    For machines (the CDS Hooks adapter): each option's `status` (`recommended`, `consider`, `caution`,
    `contraindicated`) and `status_reasons[]` (`rule_id`, `effect`, `evidence`, `message`, `triggers`,
    `citations`); `options_not_offered[]` with their `reasons`; `interactions[].drugs` as formulary ids beside
    `written_as`; `prescribing[]`, the medicines on the intake that a patient finding changes (`rule_id`, `drug`,
    `effect`, `message`, `triggers`, `citations`); `recognized_medications[]` and `not_checked[]`.
    """

    model_config = ConfigDict(frozen=True)

    diagnosis: Diagnosis
    phase: Phase
    phase_basis: str
    phase_citations: tuple[int, ...]
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
    # Validated as the discriminated union (and so documented), written by each reference's own type: the union's
    # serialiser tries its members for each item, which took 1.6 times as long (the references are most of a plan).
    references: SerializeAsAny[tuple[Reference, ...]]
    provenance: Provenance

    @classmethod
    def of(cls, plan: CarePlan, provenance: Provenance) -> CarePlanReport:
        findings = {name: getattr(plan, name) for name in CarePlan.model_fields if name != "phase"}
        return cls(
            phase=plan.phase.phase,
            phase_basis=plan.phase.basis,
            phase_citations=plan.phase.citations,
            provenance=provenance,
            **findings,
        )


class LamotrigineScheduleReport(LamotrigineSchedule):
    """The label's lamotrigine escalation for a patient's co-medications, with the rash warning."""

    provenance: Provenance


class KetamineOrderReport(KetamineOrderCheck):
    """A ketamine order checked against the label range and the sub-anaesthetic regimen."""

    provenance: Provenance
