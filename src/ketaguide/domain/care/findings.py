"""What a care plan finds: each finding says what to do or watch for and cites its evidence by reference number."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ketaguide.domain.care.conventions import Urgency
from ketaguide.domain.care.diagnosis import Diagnosis
from ketaguide.domain.care.interactions import InteractionSeverity
from ketaguide.domain.care.phase import Phase
from ketaguide.domain.care.rules import OptionKind, RedFlagCode
from ketaguide.domain.citing.references import Reference
from ketaguide.domain.evidence.models import Level


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
    rule_id: str
    drugs: tuple[str, str]
    severity: InteractionSeverity
    message: str
    citations: tuple[int, ...]


class CareOption(_Finding):
    id: str
    intervention: str
    kind: OptionKind
    phase: Phase
    phases: tuple[Phase, ...]
    certainty: Level
    certainty_reasons: tuple[str, ...]
    experimental: bool
    notes: tuple[str, ...]
    citations: tuple[int, ...]


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
    options: tuple[CareOption, ...]
    monitoring: tuple[MonitoringItem, ...]
    unrecognized_medications: tuple[str, ...]
    evidence_gaps: tuple[EvidenceGap, ...]
    conflicts: tuple[SourceConflict, ...]
    references: tuple[Reference, ...]
