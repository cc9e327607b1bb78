"""The care options' safety rules for the medicines in the chart and in the draft orders.

The care engine checks an option against the patient (contra-indications and cautions, `domain.care.safety`) only
when it offers the option, and it offers the drug options for craving and relapse prevention only with a counted
DSM-5 diagnosis. An EHR chart shows a coded ketamine use disorder, not the criteria, so the engine never offers
naltrexone, lamotrigine or paliperidone + bupropion for it: a draft naltrexone order beside methadone, or bupropion
for a patient with epilepsy, would pass unchecked. So, for an option whose medicine is being ordered (or, in
patient-view, any drug option), this module applies the option's own safety rules from the content, with the
engine's own functions (`fired_rules`, `option_status`), to the facts the engine derives from the same intake,
with the phase and red flags of the engine's report. Where the engine did offer the option, its verdict is used
as it is. Applicability rules (`not_applicable`, e.g. haloperidol without agitation) are not applied: the
clinician has already chosen the medicine, and the chart does not record the symptoms they test.

To do in the care engine (so this module can shrink to a lookup): an intake field for a diagnosis documented
elsewhere (a coded problem-list entry), or an `evaluate_option(intake, option_id)`; and a `medicines` list on each
option (`OPTION_MEDICINES` below spells it out until then; a test checks every drug option has an entry).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ketaguide.contracts.care_plan import CarePlanReport
from ketaguide.domain.care.facts import Facts, fact_label, patient_facts
from ketaguide.domain.care.findings import CareOption
from ketaguide.domain.care.intake import parse_intake
from ketaguide.domain.care.interactions import Formulary, patient_exposures
from ketaguide.domain.care.rules import CareOptionRule, ClinicalContent
from ketaguide.domain.care.safety import fired_rules, option_status, unrecognised_message
from ketaguide.domain.citing.citer import Citer
from ketaguide.domain.citing.references import Reference
from ketaguide.domain.evidence.pack import KnowledgePack

# Which medicines each drug option is about (selectors as the content writes them).
OPTION_MEDICINES: dict[str, tuple[str, ...]] = {
    "benzodiazepines_intoxication": ("class:benzodiazepine",),
    "benzodiazepines_withdrawal": ("class:benzodiazepine",),
    "haloperidol": ("drug:haloperidol",),
    "lamotrigine": ("drug:lamotrigine",),
    "naltrexone": ("drug:naltrexone",),
    "paliperidone_bupropion": ("drug:paliperidone", "drug:bupropion"),
}
UNRECOGNISED = "unrecognised-medication"  # the engine's rule id for "a co-medication was not recognised"
# Only these effects change what a prescriber is told about a medicine already chosen.
_SAFETY_EFFECTS = frozenset({"contraindicated", "caution"})


@dataclass(frozen=True)
class Reason:
    rule_id: str
    effect: str
    message: str
    triggers: tuple[str, ...]
    references: tuple[Reference, ...]


@dataclass(frozen=True)
class OptionCheck:
    """An option's status for this patient and why, with the evidence of each reason resolved."""

    option_id: str
    intervention: str
    status: str
    reasons: tuple[Reason, ...]
    dose_note: str | None
    by_engine: bool
    for_drug: str | None = None


def for_component(check: OptionCheck, drug: str, components: frozenset[str]) -> OptionCheck | None:
    """A combination option's check narrowed to one ordered component: the rules about another component are
    dropped (the content names a rule by its drug: "paliperidone-qt-risk", "bupropion-seizures",
    "paliperidone-bupropion-pregnancy" for both), and the status is taken again from what is left."""
    others = components - {drug}
    kept = tuple(
        r
        for r in check.reasons
        if not any(r.rule_id.startswith(f"{o}-") and not r.rule_id.startswith(f"{o}-{drug}") for o in others)
    )
    effects = {r.effect for r in kept}
    status = "contraindicated" if "contraindicated" in effects else "caution" if "caution" in effects else None
    if status is None:
        return None
    return OptionCheck(check.option_id, check.intervention, status, kept, check.dose_note, check.by_engine, drug)


def merged(checks: list[OptionCheck]) -> OptionCheck:
    """Several options about one ordered drug (a benzodiazepine for intoxication and for withdrawal) as one check:
    the strongest status, each reason once."""
    if len(checks) == 1:
        return checks[0]
    reasons = tuple({r.rule_id: r for c in checks for r in c.reasons}.values())
    status = "contraindicated" if any(c.status == "contraindicated" for c in checks) else "caution"
    intervention = "; ".join(dict.fromkeys(c.intervention for c in checks))
    first = checks[0]
    notes = "\n\n".join(c.dose_note for c in checks if c.dose_note) or None
    return OptionCheck(
        first.option_id, intervention, status, reasons, notes, all(c.by_engine for c in checks), first.for_drug
    )


def option_drugs(option_id: str, formulary: Formulary) -> frozenset[str]:
    """The formulary ids an option is about."""
    selectors = OPTION_MEDICINES.get(option_id, ())
    found: set[str] = set()
    for selector in selectors:
        kind, _, value = selector.partition(":")
        found |= {e.id for e in formulary.medications if (e.id == value if kind == "drug" else value in e.classes)}
    return frozenset(found)


def check_options(
    intake_document: Mapping[str, Any],
    report: CarePlanReport,
    content: ClinicalContent,
    pack: KnowledgePack,
    drugs: Iterable[str] | None,
    *,
    experimental_only: bool = False,
) -> list[OptionCheck]:
    """Every drug option about one of `drugs` (None: every drug option; `experimental_only`: the craving and
    relapse-prevention drugs) whose status is caution or contraindicated for this patient."""
    wanted = None if drugs is None else frozenset(drugs)
    offered = {option.id: option for option in report.options}
    references = {r.n: r for r in report.references}
    facts: Facts | None = None
    checks: list[OptionCheck] = []
    for rule in content.options:
        about = option_drugs(rule.id, content.formulary)
        if not about or (wanted is not None and not about & wanted) or (experimental_only and not rule.experimental):
            continue
        if rule.id in offered:
            check = _engine_check(offered[rule.id], references)
        else:
            facts = facts if facts is not None else _facts(intake_document, report, content.formulary)
            check = _safety_check(rule, facts, intake_document, content, pack)
        if check.status in _SAFETY_EFFECTS:
            checks.append(check)
    return checks


def _engine_check(option: CareOption, references: Mapping[int, Reference]) -> OptionCheck:
    reasons = tuple(
        Reason(r.rule_id, r.effect, r.message, r.triggers, tuple(references[n] for n in r.citations if n in references))
        for r in option.status_reasons
        if r.effect in _SAFETY_EFFECTS
    )
    dose = option.dose_column.message if option.dose_column else None
    return OptionCheck(option.id, option.intervention, option.status, reasons, dose, by_engine=True)


def _facts(intake_document: Mapping[str, Any], report: CarePlanReport, formulary: Formulary) -> Facts:
    """The facts the engine derives from this intake, with the phase and red flags of its report."""
    intake = parse_intake(intake_document)
    exposures, _ = patient_exposures(intake, formulary)
    facts = patient_facts(intake, exposures, report.diagnosis)
    facts[f"phase:{report.phase.value}"] = [report.phase.value]
    for flag in report.red_flags:
        facts[f"flag:{flag.code}"] = [fact_label(f"flag:{flag.code}")]
    return facts


def _safety_check(
    rule: CareOptionRule,
    facts: Facts,
    intake_document: Mapping[str, Any],
    content: ClinicalContent,
    pack: KnowledgePack,
) -> OptionCheck:
    fired = [f for f in fired_rules(rule.id, content.option_rules, facts) if f.rule.effect in _SAFETY_EFFECTS]
    reasons = [
        Reason(f.rule.id, f.rule.effect, f.rule.note, f.triggers, _references(pack, content, f.rule.cites))
        for f in fired
    ]
    unrecognised = [m for m in intake_document.get("medications", []) if content.formulary.recognise(m) is None]
    unread = unrecognised_message(rule, unrecognised)
    if unread is not None and rule.co_medication_check is not None:
        cites = rule.co_medication_check.cites
        reasons.append(Reason(UNRECOGNISED, "caution", unread, tuple(unrecognised), _references(pack, content, cites)))
    status = option_status(rule, (r.effect for r in reasons))
    return OptionCheck(rule.id, rule.intervention, status, tuple(reasons), None, by_engine=False)


def _references(pack: KnowledgePack, content: ClinicalContent, cites: Any) -> tuple[Reference, ...]:
    if cites is None:
        return ()
    citer = Citer(pack, content.references)
    citer.cite(cites)
    return citer.reference_list.references
