"""The care plan: `evaluate(intake, pack, content)` applies the rules to one intake, a pure function.

The rules are data (knowledge/content/care_plan.yaml and friends, modelled in `ketaguide.domain.care.rules`); each
names the patient facts that trigger it (`ketaguide.domain.care.facts`) and the evidence it cites. Rules run in
stages, and a stage may use the facts of earlier stages only:
intake facts -> red flags (adds flag:*) -> options, each checked against the patient (adds option:* for options
offered and not contra-indicated) -> monitoring and open questions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ketaguide.domain.care.diagnosis import Diagnosis, diagnose
from ketaguide.domain.care.dosing import choose_regimen
from ketaguide.domain.care.facts import Facts, any_present, fact_label, fires, patient_facts, shown_for
from ketaguide.domain.care.findings import (
    CareOption,
    CarePlan,
    DoseColumn,
    EvidenceGap,
    Interaction,
    MonitoringItem,
    NotChecked,
    OptionNotOffered,
    PhaseAssessment,
    PrescribingCheck,
    RecognisedMedication,
    RedFlag,
    SourceConflict,
    StatusReason,
)
from ketaguide.domain.care.index import OptionCertainty, RuleIndex, rule_index
from ketaguide.domain.care.intake import Intake
from ketaguide.domain.care.interactions import (
    DrugEntry,
    Exposure,
    Formulary,
    find_interactions,
    patient_exposures,
)
from ketaguide.domain.care.phase import assess_phase
from ketaguide.domain.care.rules import (
    CareOptionRule,
    ClinicalContent,
    EvidenceGapRule,
    MessageVariant,
    MonitoringRule,
    OrderRule,
    RedFlagRule,
)
from ketaguide.domain.care.safety import FiredRule, fired_rules, not_offered, option_status, unrecognised_message
from ketaguide.domain.citing.citer import Citer, Cites
from ketaguide.domain.citing.statements import conflict_statement
from ketaguide.domain.evidence.models import Phase
from ketaguide.domain.evidence.pack import KnowledgePack

NOT_CHECKED = "no curated interaction pair names it, so it was not checked; not listed never means no interaction"
NOT_RECOGNISED = "not recognised by the formulary, so not checked for interactions or against the options"


def evaluate(intake: Intake, pack: KnowledgePack, content: ClinicalContent) -> CarePlan:
    """The care plan for one intake: every finding cites its evidence."""
    index = rule_index(pack, content)
    citer = Citer(pack, content.references, index.bibliography)
    order = content.conventions.finding_order
    exposures, unrecognised = patient_exposures(intake, content.formulary)
    diagnosis = diagnose(intake, content.conventions.diagnosis)
    diagnosis = diagnosis.model_copy(update={"citations": citer.cite(_diagnosis_cites(intake, diagnosis, content))})
    # Cite in reading order (diagnosis, phase, red flags, ...) so reference numbers rise down the page.
    phase = _phase_assessment(intake, content, citer)
    facts = patient_facts(intake, exposures, diagnosis)
    facts[f"phase:{phase.phase.value}"] = [phase.phase.value]
    red_flags = _red_flags(content.red_flags, facts, order.red_flag_urgency.value, citer)
    interactions = _interactions(exposures, index, order.interaction_severity.value, citer)
    prescribing = _prescribing(content.order_rules, exposures, facts, citer)
    options, not_offered_options = _options(content, index, facts, phase.phase, exposures, unrecognised, citer)
    monitoring = _monitoring(content.monitoring, facts, intake, citer)
    return CarePlan(
        diagnosis=diagnosis,
        phase=phase,
        red_flags=red_flags,
        interactions=interactions,
        prescribing=prescribing,
        options=options,
        options_not_offered=not_offered_options,
        monitoring=monitoring,
        recognized_medications=_recognised(intake, content.formulary),
        unrecognized_medications=unrecognised,
        not_checked=_not_checked(exposures, index, unrecognised),
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


def _variant(variants: Sequence[MessageVariant], facts: Facts) -> MessageVariant | None:
    """The first message variant whose facts are present."""
    return next((v for v in variants if any_present(v.when_any, facts)), None)


def _message_and_cites(
    message: str, cites: Cites, variants: Sequence[MessageVariant], facts: Facts
) -> tuple[str, Cites]:
    variant = _variant(variants, facts)
    if variant is None:
        return message, cites
    return variant.message, cites + variant.cites if variant.cites else cites


def _red_flags(
    rules: Iterable[RedFlagRule], facts: Facts, urgency_order: Sequence[str], citer: Citer
) -> tuple[RedFlag, ...]:
    flags = []
    for rule in rules:
        if not fires(rule, facts):
            continue
        message, cites = _message_and_cites(rule.message, rule.cites, rule.variants, facts)
        triggers = shown_for((*rule.when_any, *rule.and_any), facts)
        flags.append(
            RedFlag(
                code=rule.code, urgency=rule.urgency, message=message, triggers=triggers, citations=citer.cite(cites)
            )
        )
    for flag in flags:
        facts[f"flag:{flag.code}"] = [fact_label(f"flag:{flag.code}")]
    return tuple(sorted(flags, key=lambda f: urgency_order.index(f.urgency)))


def _interactions(
    exposures: Sequence[Exposure], index: RuleIndex, severity_order: Sequence[str], citer: Citer
) -> tuple[Interaction, ...]:
    found = [
        Interaction(
            rule_id=m.rule.id,
            drugs=(m.first.drug, m.second.drug),
            written_as=(m.first.written, m.second.written),
            severity=m.rule.severity,
            message=m.rule.message,
            citations=citer.cite(m.rule.cites),
        )
        for m in find_interactions(exposures, index.pairs_that_may_fire(exposures))
    ]
    return tuple(sorted(found, key=lambda i: severity_order.index(i.severity)))


def option_applies(rule: CareOptionRule, facts: Facts, phase: Phase) -> bool:
    """Whether an option is for this phase and patient: diagnosis, triggers, exclusions and phase all allow it.
    (Its safety rules are checked afterwards: they can still make it not applicable, a caution or
    contra-indicated.)"""
    if rule.requires_diagnosis and "status:diagnosed" not in facts:
        return False
    if rule.when_any and not any_present(rule.when_any, facts):
        return False
    if any_present(rule.unless_any, facts):
        return False
    return phase is Phase.UNKNOWN or phase in rule.phases


def _options(
    content: ClinicalContent,
    index: RuleIndex,
    facts: Facts,
    phase: Phase,
    exposures: Sequence[Exposure],
    unrecognised: Sequence[str],
    citer: Citer,
) -> tuple[tuple[CareOption, ...], tuple[OptionNotOffered, ...]]:
    offered: list[CareOption] = []
    withheld: list[OptionNotOffered] = []
    for rule in content.options:
        if not option_applies(rule, facts, phase):
            continue
        fired = fired_rules(rule.id, index.option_rules[rule.id], facts)
        if not_offered(fired):
            reasons = [f for f in fired if f.rule.effect == "not_applicable"]
            withheld.append(
                OptionNotOffered(id=rule.id, intervention=rule.intervention, reasons=_reasons(reasons, citer))
            )
            continue
        certainty = index.certainty[rule.id]
        offered.append(_option(rule, fired, certainty, facts, phase, exposures, unrecognised, content, citer))
    for option in offered:
        if option.status != "contraindicated":
            facts[f"option:{option.id}"] = [option.intervention]
    return tuple(offered), tuple(withheld)


def _option(
    rule: CareOptionRule,
    fired: Sequence[FiredRule],
    certainty: OptionCertainty,
    facts: Facts,
    phase: Phase,
    exposures: Sequence[Exposure],
    unrecognised: Sequence[str],
    content: ClinicalContent,
    citer: Citer,
) -> CareOption:
    citations = citer.cite(rule.cites)
    reasons = list(_reasons(fired, citer))
    unreadable = unrecognised_message(rule, unrecognised)
    if unreadable is not None and rule.co_medication_check is not None:
        reasons.append(
            StatusReason(
                rule_id="unrecognised-medication",
                effect="caution",
                evidence="unrecognised_medication",
                message=unreadable,
                triggers=tuple(unrecognised),
                citations=citer.cite(rule.co_medication_check.cites),
            )
        )
    return CareOption(
        id=rule.id,
        intervention=rule.intervention,
        kind=rule.kind,
        phase=phase,
        phases=rule.phases,
        status=option_status(rule, (r.effect for r in reasons)),
        status_reasons=tuple(reasons),
        certainty=certainty.level,
        certainty_reasons=certainty.reasons,
        experimental=rule.experimental,
        notes=tuple(_option_notes(rule, facts, phase)),
        dose_column=_dose_column(rule, exposures, unrecognised, content, citer),
        citations=citations,
    )


def _reasons(fired: Iterable[FiredRule], citer: Citer) -> tuple[StatusReason, ...]:
    return tuple(
        StatusReason(
            rule_id=f.rule.id,
            effect=f.rule.effect,
            evidence=f.rule.evidence,
            message=f.rule.note,
            triggers=f.triggers,
            citations=citer.cite(f.rule.cites) if f.rule.cites else (),
        )
        for f in fired
    )


def _option_notes(rule: CareOptionRule, facts: Facts, phase: Phase) -> list[str]:
    """The option's own notes for this patient: its content notes, why it applies, and the phase."""
    notes = list(rule.notes)
    if rule.when_any:
        notes.append("Reasons: " + "; ".join(shown_for(rule.when_any, facts)) + ".")
    if rule.unless_any:
        notes.append("Reasons: none of " + "; ".join(fact_label(f) for f in rule.unless_any) + ".")
    if phase is Phase.UNKNOWN:
        notes.append("Phase unknown: listed for " + ", ".join(p.value.replace("_", " ") for p in rule.phases) + ".")
    return notes


def _dose_column(
    rule: CareOptionRule,
    exposures: Sequence[Exposure],
    unrecognised: Sequence[str],
    content: ClinicalContent,
    citer: Citer,
) -> DoseColumn | None:
    """The label table's column for this patient's co-medications; never chosen while a medicine is unread."""
    if rule.dose_schedule != "lamotrigine":
        return None
    dosing = content.lamotrigine
    if unrecognised:
        names = ", ".join(repr(name.strip()) for name in unrecognised)
        message = (
            f"The escalation column could not be chosen: {names} not recognised, and valproate halves the label "
            "escalation while an enzyme inducer doubles it. `ketaguide dose lamotrigine` refuses to guess too."
        )
        return DoseColumn(schedule="lamotrigine", regimen=None, message=message, citations=citer.cite(dosing.cites))
    regimen_id, why = choose_regimen(_co_medications(exposures, content.formulary))
    steps = "; ".join(
        f"{'weeks' if '-' in s.weeks else 'week'} {s.weeks}: {s.dose}{' (target)' if s.target else ''}"
        for s in dosing.regimen(regimen_id).steps
    )
    message = f"Label escalation column for this patient, {'; '.join(why)}: {steps}."
    return DoseColumn(schedule="lamotrigine", regimen=regimen_id, message=message, citations=citer.cite(dosing.cites))


def _co_medications(exposures: Sequence[Exposure], formulary: Formulary) -> list[tuple[str, DrugEntry]]:
    found = [(e.written, formulary.entry(e.drug)) for e in exposures if e.origin == "medication"]
    return [(written, entry) for written, entry in found if entry is not None]


def _recognised(intake: Intake, formulary: Formulary) -> tuple[RecognisedMedication, ...]:
    found = []
    for name in intake.medications:
        match = formulary.match(name)
        if match is None:
            continue
        entry = match.entry
        found.append(
            RecognisedMedication(
                written_as=name.strip(),
                drug=entry.id,
                generic=entry.generic,
                ingredients=entry.ingredient_ids,
                classes=entry.classes,
                rxnorm=entry.ingredient_codes,
                matched_by=match.matched_by,
            )
        )
    return tuple(found)


def _not_checked(
    exposures: Sequence[Exposure], index: RuleIndex, unrecognised: Sequence[str]
) -> tuple[NotChecked, ...]:
    unchecked = [NotChecked(written_as=e.written, drug=e.drug, reason=NOT_CHECKED) for e in index.unchecked(exposures)]
    unread = [NotChecked(written_as=name.strip(), drug=None, reason=NOT_RECOGNISED) for name in unrecognised]
    return (*unread, *unchecked)


def _monitoring(
    rules: Iterable[MonitoringRule], facts: Facts, intake: Intake, citer: Citer
) -> tuple[MonitoringItem, ...]:
    items = []
    for rule in rules:
        if not fires(rule, facts):  # a rule naming no facts is for every patient
            continue
        message, cites = _message_and_cites(rule.message, rule.cites, rule.variants, facts)
        if rule.show_craving_score and intake.craving_score is not None:
            message += f" Craving at intake: {intake.craving_score}/10."
        items.append(MonitoringItem(item=rule.item, message=message, citations=citer.cite(cites)))
    return tuple(items)


def _prescribing(
    rules: Iterable[OrderRule], exposures: Sequence[Exposure], facts: Facts, citer: Citer
) -> tuple[PrescribingCheck, ...]:
    """The order rules that fire for the medicines on the intake (not for the ketamine every intake assumes the
    person uses: the rules are about a prescription or an order), once per drug however often it is listed (as
    written first)."""
    medicines: dict[str, Exposure] = {}
    for exposure in exposures:
        if exposure.origin == "medication":
            medicines.setdefault(exposure.drug, exposure)
    return tuple(
        PrescribingCheck(
            rule_id=rule.id,
            drug=medicine.drug,
            written_as=medicine.written,
            effect=rule.effect,
            title=rule.title,
            message=rule.message,
            triggers=shown_for(rule.when_any, facts),
            citations=citer.cite(rule.cites),
        )
        for rule in rules
        if fires(rule, facts)
        for medicine in medicines.values()
        if medicine.drug in rule.drugs
    )


def gap_applies(rule: EvidenceGapRule, facts: Facts) -> bool:
    """Whether an open question matters for this patient."""
    return fires(rule, facts)


def _evidence_gaps(rules: Iterable[EvidenceGapRule], facts: Facts) -> tuple[EvidenceGap, ...]:
    return tuple(EvidenceGap(topic=g.topic, message=g.message) for g in rules if gap_applies(g, facts))
