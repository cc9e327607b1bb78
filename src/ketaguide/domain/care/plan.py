"""The care plan: `evaluate(intake, pack, content)` applies the rules to one intake, a pure function.

The rules are data (knowledge/content/care_plan.yaml and friends, modelled in `ketaguide.domain.care.rules`); each
names the patient facts that trigger it (`ketaguide.domain.care.facts`) and the evidence it cites. Rules run in
stages, and a stage may use the facts of earlier stages only:
intake facts -> red flags (adds flag:*) -> options (adds option:*) -> monitoring and open questions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ketaguide.domain.care.diagnosis import Diagnosis, diagnose
from ketaguide.domain.care.facts import Facts, any_present, fact_label, patient_facts, shown_for
from ketaguide.domain.care.findings import (
    CareOption,
    CarePlan,
    EvidenceGap,
    Interaction,
    MonitoringItem,
    PhaseAssessment,
    RedFlag,
    SourceConflict,
)
from ketaguide.domain.care.intake import Intake
from ketaguide.domain.care.interactions import Exposure, InteractionRule, find_interactions, patient_exposures
from ketaguide.domain.care.phase import Phase, assess_phase
from ketaguide.domain.care.rules import (
    CareOptionRule,
    ClinicalContent,
    EvidenceGapRule,
    MonitoringRule,
    RedFlagRule,
)
from ketaguide.domain.citing.citer import Citer, Cites
from ketaguide.domain.citing.statements import conflict_statement
from ketaguide.domain.evidence.pack import KnowledgePack


def evaluate(intake: Intake, pack: KnowledgePack, content: ClinicalContent) -> CarePlan:
    """The care plan for one intake: every finding cites its evidence."""
    citer = Citer(pack, content.references)
    order = content.conventions.finding_order
    exposures, unrecognised = patient_exposures(intake, content.formulary)
    diagnosis = diagnose(intake, content.conventions.diagnosis)
    diagnosis = diagnosis.model_copy(update={"citations": citer.cite(_diagnosis_cites(intake, diagnosis, content))})
    # Cite in reading order (diagnosis, phase, red flags, ...) so reference numbers rise down the page.
    phase = _phase_assessment(intake, content, citer)
    facts = patient_facts(intake, exposures, diagnosis)
    facts[f"phase:{phase.phase.value}"] = [phase.phase.value]
    red_flags = _red_flags(content.red_flags, facts, order.red_flag_urgency.value, citer)
    interactions = _interactions(exposures, content.interactions, order.interaction_severity.value, citer)
    options = _options(content.options, facts, phase.phase, citer)
    monitoring = _monitoring(content.monitoring, facts, intake, citer)
    return CarePlan(
        diagnosis=diagnosis,
        phase=phase,
        red_flags=red_flags,
        interactions=interactions,
        options=options,
        monitoring=monitoring,
        unrecognized_medications=unrecognised,
        evidence_gaps=_evidence_gaps(content.gaps, facts),
        conflicts=_source_conflicts(pack, citer),
        references=citer.reference_list.references,
    )


def _phase_assessment(intake: Intake, content: ClinicalContent, citer: Citer) -> PhaseAssessment:
    phase, basis = assess_phase(intake, content.conventions)
    return PhaseAssessment(phase=phase, basis=basis, citations=citer.cite(content.phases.of(phase)))


def _source_conflicts(pack: KnowledgePack, citer: Citer) -> tuple[SourceConflict, ...]:
    """Every pack conflict touching a claim the plan cites, both sides shown (as answers show them)."""
    conflicts = {c.id: c for claim_id in citer.reference_list.claim_ids for c in pack.conflicts_of(claim_id)}
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


def _red_flags(
    rules: Iterable[RedFlagRule], facts: Facts, urgency_order: Sequence[str], citer: Citer
) -> tuple[RedFlag, ...]:
    flags = [
        RedFlag(
            code=r.code,
            urgency=r.urgency,
            message=r.message,
            triggers=shown_for(r.when_any, facts),
            citations=citer.cite(r.cites),
        )
        for r in rules
        if any_present(r.when_any, facts)
    ]
    for flag in flags:
        facts[f"flag:{flag.code}"] = [fact_label(f"flag:{flag.code}")]
    return tuple(sorted(flags, key=lambda f: urgency_order.index(f.urgency)))


def _interactions(
    exposures: Sequence[Exposure], rules: Iterable[InteractionRule], severity_order: Sequence[str], citer: Citer
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
    return tuple(sorted(found, key=lambda i: severity_order.index(i.severity)))


def option_applies(rule: CareOptionRule, facts: Facts, phase: Phase) -> bool:
    """Whether an option is offered: diagnosis, triggers, exclusions and phase all allow it."""
    if rule.requires_diagnosis and "status:diagnosed" not in facts:
        return False
    if rule.when_any and not any_present(rule.when_any, facts):
        return False
    if any_present(rule.unless_any, facts):
        return False
    return phase is Phase.UNKNOWN or phase in rule.phases


def _options(rules: Iterable[CareOptionRule], facts: Facts, phase: Phase, citer: Citer) -> tuple[CareOption, ...]:
    options = [_option(r, facts, phase, citer) for r in rules if option_applies(r, facts, phase)]
    for option in options:
        facts[f"option:{option.id}"] = [option.intervention]
    return tuple(options)


def _option(rule: CareOptionRule, facts: Facts, phase: Phase, citer: Citer) -> CareOption:
    notes, cites = _option_notes(rule, facts, phase)
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


def _option_notes(rule: CareOptionRule, facts: Facts, phase: Phase) -> tuple[list[str], Cites]:
    """The option's notes for this patient (reasons, cautions, phase) and everything they cite."""
    notes, cites = list(rule.notes), rule.cites
    if rule.when_any:
        notes.append("Reasons: " + "; ".join(shown_for(rule.when_any, facts)) + ".")
    if rule.unless_any:
        notes.append("Reasons: none of " + "; ".join(fact_label(f) for f in rule.unless_any) + ".")
    for caution in rule.cautions:
        if any_present(caution.when_any, facts):
            notes.append(caution.note)
            cites = cites + caution.cites
    if phase is Phase.UNKNOWN:
        notes.append("Phase unknown: listed for " + ", ".join(p.value.replace("_", " ") for p in rule.phases) + ".")
    return notes, cites


def _monitoring(
    rules: Iterable[MonitoringRule], facts: Facts, intake: Intake, citer: Citer
) -> tuple[MonitoringItem, ...]:
    items = []
    for rule in rules:
        if rule.when_any and not any_present(rule.when_any, facts):
            continue
        message = rule.message
        if rule.show_craving_score and intake.craving_score is not None:
            message += f" Craving at intake: {intake.craving_score}/10."
        items.append(MonitoringItem(item=rule.item, message=message, citations=citer.cite(rule.cites)))
    return tuple(items)


def gap_applies(rule: EvidenceGapRule, facts: Facts) -> bool:
    """Whether an open question matters for this patient: a trigger, and one of `and_any` if it names any."""
    return any_present(rule.when_any, facts) and (not rule.and_any or any_present(rule.and_any, facts))


def _evidence_gaps(rules: Iterable[EvidenceGapRule], facts: Facts) -> tuple[EvidenceGap, ...]:
    return tuple(EvidenceGap(topic=g.topic, message=g.message) for g in rules if gap_applies(g, facts))
