"""Care-plan rules: phase, red flags, interactions, options by phase, monitoring and open questions.

`evaluate(intake, pack, content)` is pure. The rules are data (knowledge/content/care_plan.yaml and friends): each
names the patient facts that trigger it (`when_any`) and the evidence it cites. Facts are strings such as
`symptom:hematuria`, `class:opioid`, `flag:psychosis`, `severity:severe` or `option:lamotrigine`; the content
loader checks every fact a rule names against `fact_vocabulary`, so a typo fails loudly instead of never firing.

Rules run in stages, and a stage may use the facts of earlier stages only:
intake facts -> red flags (adds flag:*) -> options (adds option:*) -> monitoring and open questions.

Phase thresholds are KetaGuide conventions, not clinical facts (no reliable ketamine withdrawal timeline exists;
clinical-reference.md s.4). They are set out, with their reasons, next to the constants below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ketaguide.domain.care.diagnosis import Diagnosis, diagnose
from ketaguide.domain.care.dosing import KetamineDosing, LamotrigineDosing
from ketaguide.domain.care.intake import Condition, Criterion, Intake, Substance, Symptom
from ketaguide.domain.care.interactions import (
    Exposure,
    Formulary,
    InteractionRule,
    InteractionSeverity,
    find_interactions,
    patient_exposures,
)
from ketaguide.domain.citing.citer import Citer, Cites, ReferenceEntry
from ketaguide.domain.citing.references import Reference
from ketaguide.domain.citing.statements import conflict_statement
from ketaguide.domain.evidence.models import Level
from ketaguide.domain.evidence.pack import KnowledgePack

Phase = Literal["intoxication", "withdrawal", "early_abstinence", "relapse_prevention", "unknown"]
OptionPhase = Literal["intoxication", "withdrawal", "early_abstinence", "relapse_prevention"]
Urgency = Literal["emergency", "urgent", "routine"]
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
STATUSES = ("pregnant", "breastfeeding", "under_18", "asq_answered", "asq_positive", "diagnosed")
SEVERITIES = ("none", "mild", "moderate", "severe")
PHASES: tuple[Phase, ...] = ("intoxication", "withdrawal", "early_abstinence", "relapse_prevention", "unknown")

# --- Phase conventions (KetaGuide's, documented in the README) -------------------------------------------------
# Intoxication: last use within 6 hours. Merck: acute effects "usually fade within 45 min to several hours"; 6 h
# takes the long end of "several hours" so that a patient who may still be intoxicated is treated as such.
INTOXICATION_WINDOW_HOURS = 6.0
# Withdrawal: discontinuation symptoms within 7 days of last use. No reliable timeline exists; the case reports
# describe symptoms "within hours". Past 7 days the same symptoms are not called withdrawal (see the basis text).
WITHDRAWAL_WINDOW_HOURS = 7 * 24.0
# Early abstinence until 3 months, the point at which DSM-5 early remission can begin; relapse prevention after.
EARLY_ABSTINENCE_HOURS = 90 * 24.0
DISCONTINUATION_SYMPTOMS = (Symptom.ANXIETY, Symptom.INSOMNIA, Symptom.DEPRESSED_MOOD, Symptom.AGITATION)
# Facts: each present fact maps to what caused it, as shown to the clinician ("Depakote (valproate)").
Facts = dict[str, list[str]]
_URGENCY_ORDER = ("emergency", "urgent", "routine")
# An unrated pair lacks label text to grade it; it is shown after major pairs, never below minor ones.
_SEVERITY_ORDER = ("major", "unrated", "moderate", "minor")


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
    phases: tuple[OptionPhase, ...] = Field(min_length=1)
    experimental: bool
    requires_diagnosis: bool = True
    when_any: tuple[str, ...] = ()
    unless_any: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    cites: Cites
    cautions: tuple[OptionCaution, ...] = ()


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

    def applies(self, facts: Facts) -> bool:
        return _any(self.when_any, facts) and (not self.and_any or _any(self.and_any, facts))


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
        cites: Cites = getattr(self, phase)
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
    phases: tuple[OptionPhase, ...]
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


def evaluate(intake: Intake, pack: KnowledgePack, content: ClinicalContent) -> CarePlan:
    """The care plan for one intake: every finding cites its evidence."""
    citer = Citer(pack, content.references)
    exposures, unrecognised = patient_exposures(intake, content.formulary)
    diagnosis = diagnose(intake)
    diagnosis = diagnosis.model_copy(update={"citations": citer.cite(_diagnosis_cites(intake, diagnosis, content))})
    phase, basis = assess_phase(intake)
    # Cite in reading order (diagnosis, phase, red flags, ...) so reference numbers rise down the page.
    phase_assessment = PhaseAssessment(phase=phase, basis=basis, citations=citer.cite(content.phases.of(phase)))
    facts = patient_facts(intake, exposures, diagnosis)
    facts[f"phase:{phase}"] = [phase]
    red_flags = _red_flags(content.red_flags, facts, citer)
    interactions = _interactions(exposures, content.interactions, citer)
    options = _options(content.options, facts, phase, citer)
    monitoring = _monitoring(content.monitoring, facts, intake, citer)
    return CarePlan(
        diagnosis=diagnosis,
        phase=phase_assessment,
        red_flags=red_flags,
        interactions=interactions,
        options=options,
        monitoring=monitoring,
        unrecognized_medications=unrecognised,
        evidence_gaps=tuple(EvidenceGap(topic=g.topic, message=g.message) for g in content.gaps if g.applies(facts)),
        conflicts=_source_conflicts(pack, citer),
        references=citer.reference_list.references,
    )


def _source_conflicts(pack: KnowledgePack, citer: Citer) -> tuple[SourceConflict, ...]:
    """Every pack conflict touching a claim the plan cites, both sides shown (as answers show them)."""
    cited = [r.claim_id for r in citer.reference_list.references if r.claim_id]
    conflicts = {c.id: c for claim_id in cited for c in pack.conflicts_of(claim_id)}
    found = []
    for conflict in conflicts.values():
        statement = conflict_statement(conflict, citer.reference_list, pack)
        found.append(SourceConflict(topic=conflict.topic, message=statement.text, citations=statement.citations))
    return tuple(found)


def _diagnosis_cites(intake: Intake, diagnosis: Diagnosis, content: ClinicalContent) -> Cites:
    cites = content.diagnosis.criteria
    if intake.months_without_criteria is not None or intake.in_controlled_environment:
        cites = cites + content.diagnosis.remission
    if diagnosis.not_counted:
        cites = cites + content.diagnosis.withdrawal
    return cites


def assess_phase(intake: Intake) -> tuple[Phase, str]:
    """The phase of care from hours since last use and discontinuation symptoms, with the reasoning."""
    hours = intake.last_ketamine_use_hours
    if hours is None:
        return "unknown", "Time since last ketamine use is not recorded, so KetaGuide does not guess the phase."
    symptoms = [s.value.replace("_", " ") for s in DISCONTINUATION_SYMPTOMS if s in intake.symptoms]
    when = f"Last use {hours:g} h ago"
    if hours <= INTOXICATION_WINDOW_HOURS:
        return "intoxication", (
            f"{when}: within KetaGuide's {INTOXICATION_WINDOW_HOURS:g}-hour intoxication window (a convention; "
            "acute effects usually fade within 45 minutes to several hours)."
        )
    if hours <= WITHDRAWAL_WINDOW_HOURS and symptoms:
        return "withdrawal", (
            f"{when} with {', '.join(symptoms)}: possible discontinuation symptoms within KetaGuide's "
            f"{WITHDRAWAL_WINDOW_HOURS / 24:g}-day window (a convention: no reliable withdrawal timeline exists, "
            "and most authorities do not recognise a ketamine withdrawal syndrome)."
        )
    if hours <= EARLY_ABSTINENCE_HOURS:
        return "early_abstinence", _early_abstinence_basis(when, hours, symptoms)
    return "relapse_prevention", (
        f"{when} (more than 90 days): relapse prevention (a convention: 3 months is where DSM-5 early remission "
        "can begin)."
    )


def _early_abstinence_basis(when: str, hours: float, symptoms: Sequence[str]) -> str:
    basis = f"{when}: early abstinence (KetaGuide convention: up to 90 days after last use)."
    if symptoms and hours > WITHDRAWAL_WINDOW_HOURS:
        basis += (
            f" Recorded {', '.join(symptoms)} more than {WITHDRAWAL_WINDOW_HOURS / 24:g} days after last use: not "
            "called withdrawal, since no reliable withdrawal timeline exists."
        )
    return basis


def patient_facts(intake: Intake, exposures: Iterable[Exposure], diagnosis: Diagnosis) -> Facts:
    """Every fact the rules can test, from the intake, the exposures and the diagnosis."""
    facts: Facts = {}

    def add(fact: str, shown: str) -> None:
        facts.setdefault(fact, [])
        if shown not in facts[fact]:
            facts[fact].append(shown)

    for exposure in exposures:
        add(f"drug:{exposure.drug}", exposure.display)
        for cls in sorted(exposure.classes):
            add(f"class:{cls}", exposure.display)
    for group, codes in _coded(intake):
        for code in codes:
            add(f"{group}:{code}", code.replace("_", " "))
    for status in _statuses(intake, diagnosis):
        add(f"status:{status}", status.replace("_", " "))
    add(f"severity:{diagnosis.severity}", fact_label(f"severity:{diagnosis.severity}"))
    return facts


def _coded(intake: Intake) -> list[tuple[str, list[str]]]:
    return [
        ("substance", [s.value for s in intake.other_substances]),
        ("condition", [c.value for c in intake.conditions]),
        ("symptom", [s.value for s in intake.symptoms]),
        ("criterion", [c.value for c in intake.criteria]),
    ]


def _statuses(intake: Intake, diagnosis: Diagnosis) -> list[str]:
    statuses = {
        "pregnant": intake.pregnant,
        "breastfeeding": intake.breastfeeding,
        "under_18": intake.age < 18,
        "asq_answered": intake.asq is not None,
        "asq_positive": intake.asq is not None and bool(intake.asq.positive_items),
        "diagnosed": diagnosis.severity != "none",
    }
    return [status for status, present in statuses.items() if present]


def fact_label(fact: str) -> str:
    """How a fact reads in a note: "flag:suicidal_ideation" -> "red flag: suicidal ideation"."""
    kind, _, value = fact.partition(":")
    value = value.replace("_", " ")
    if kind == "flag":
        return f"red flag: {value}"
    return f"{value} use disorder" if kind == "severity" else value


def _any(wanted: Iterable[str], facts: Facts) -> bool:
    return any(f in facts for f in wanted)


def _shown(wanted: Iterable[str], facts: Facts) -> tuple[str, ...]:
    return tuple(dict.fromkeys(shown for f in wanted for shown in facts.get(f, [])))


def _red_flags(rules: Iterable[RedFlagRule], facts: Facts, citer: Citer) -> tuple[RedFlag, ...]:
    flags = [
        RedFlag(
            code=r.code,
            urgency=r.urgency,
            message=r.message,
            triggers=_shown(r.when_any, facts),
            citations=citer.cite(r.cites),
        )
        for r in rules
        if _any(r.when_any, facts)
    ]
    for flag in flags:
        facts[f"flag:{flag.code}"] = [fact_label(f"flag:{flag.code}")]
    return tuple(sorted(flags, key=lambda f: _URGENCY_ORDER.index(f.urgency)))


def _interactions(
    exposures: Sequence[Exposure], rules: Iterable[InteractionRule], citer: Citer
) -> tuple[Interaction, ...]:
    found = [
        Interaction(
            rule_id=m.rule.id,
            drugs=(m.first.display, m.second.display),
            severity=m.rule.severity,
            message=m.rule.message,
            citations=citer.cite(m.rule.cites),
        )
        for m in find_interactions(exposures, rules)
    ]
    return tuple(sorted(found, key=lambda i: _SEVERITY_ORDER.index(i.severity)))


def option_applies(rule: CareOptionRule, facts: Facts, phase: Phase) -> bool:
    """Whether an option is offered: diagnosis, triggers, exclusions and phase all allow it."""
    if rule.requires_diagnosis and "status:diagnosed" not in facts:
        return False
    if rule.when_any and not _any(rule.when_any, facts):
        return False
    if _any(rule.unless_any, facts):
        return False
    return phase == "unknown" or phase in rule.phases


def _options(rules: Iterable[CareOptionRule], facts: Facts, phase: Phase, citer: Citer) -> tuple[CareOption, ...]:
    options = [_option(r, facts, phase, citer) for r in rules if option_applies(r, facts, phase)]
    for option in options:
        facts[f"option:{option.id}"] = [option.intervention]
    return tuple(options)


def _option(rule: CareOptionRule, facts: Facts, phase: Phase, citer: Citer) -> CareOption:
    notes, cites = list(rule.notes), rule.cites
    if rule.when_any:
        notes.append("Reasons: " + "; ".join(_shown(rule.when_any, facts)) + ".")
    if rule.unless_any:
        notes.append("Reasons: none of " + "; ".join(fact_label(f) for f in rule.unless_any) + ".")
    for caution in rule.cautions:
        if _any(caution.when_any, facts):
            notes.append(caution.note)
            cites = cites + caution.cites
    if phase == "unknown":
        notes.append("Phase unknown: listed for " + ", ".join(p.replace("_", " ") for p in rule.phases) + ".")
    certainty = citer.grade(rule.cites)
    return CareOption(
        id=rule.id,
        intervention=rule.intervention,
        kind=rule.kind,
        phase=phase,
        phases=rule.phases,
        certainty=certainty.level,
        certainty_reasons=tuple(certainty.reasons),
        experimental=rule.experimental,
        notes=tuple(notes),
        citations=citer.cite(cites),
    )


def _monitoring(
    rules: Iterable[MonitoringRule], facts: Facts, intake: Intake, citer: Citer
) -> tuple[MonitoringItem, ...]:
    items = []
    for rule in rules:
        if rule.when_any and not _any(rule.when_any, facts):
            continue
        message = rule.message
        if rule.show_craving_score and intake.craving_score is not None:
            message += f" Craving at intake: {intake.craving_score}/10."
        items.append(MonitoringItem(item=rule.item, message=message, citations=citer.cite(rule.cites)))
    return tuple(items)


def fact_vocabulary(content: ClinicalContent, stage: Literal["red_flags", "options", "late"]) -> frozenset[str]:
    """Every fact a rule at `stage` may name (later stages see the facts earlier stages add)."""
    formulary = content.formulary
    facts = {f"drug:{e.id}" for e in (*formulary.medications, *formulary.substances)}
    facts |= {f"class:{c}" for c in formulary.classes}
    facts |= {f"substance:{s.value}" for s in Substance} | {f"condition:{c.value}" for c in Condition}
    facts |= {f"symptom:{s.value}" for s in Symptom} | {f"criterion:{c.value}" for c in Criterion}
    facts |= {f"status:{s}" for s in STATUSES} | {f"severity:{s}" for s in SEVERITIES}
    facts |= {f"phase:{p}" for p in PHASES}
    if stage in ("options", "late"):
        facts |= {f"flag:{r.code}" for r in content.red_flags}
    if stage == "late":
        facts |= {f"option:{o.id}" for o in content.options}
    return frozenset(facts)
