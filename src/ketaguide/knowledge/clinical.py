"""Loads and checks the clinical content: references, formulary, interactions, care-plan rules, dose tables and
KetaGuide's conventions.

The only module that reads these YAML files (package data, via importlib.resources). `inspect_clinical` gathers
every problem: schema errors, duplicate ids, a brand name that means two drugs, an undeclared class, a rule fact
that cannot occur, a cited claim missing from the pack or an external reference missing from references.yaml.
`load_clinical` returns the content only when there are none. Nothing is cached here: the caller (the runtime's
knowledge snapshot) holds the one loaded copy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict

from ketaguide.domain.care.conventions import CareConventions, Convention
from ketaguide.domain.care.dosing import (
    CONTRACEPTIVE_CLASS,
    INDUCER_CLASS,
    VALPROATE_CLASS,
    KetamineDoseTable,
    KetamineDosing,
    LamotrigineDosing,
)
from ketaguide.domain.care.facts import RuleStage, fact_vocabulary
from ketaguide.domain.care.intake import Substance
from ketaguide.domain.care.interactions import (
    SUBJECT_DRUG,
    DrugEntry,
    Formulary,
    InteractionRule,
    normalise_name,
    without_modifiers,
)
from ketaguide.domain.care.rules import (
    REQUIRED_POPULATIONS,
    CareOptionRule,
    ClinicalContent,
    DiagnosisEvidence,
    EvidenceGapRule,
    MonitoringRule,
    OptionRule,
    OrderRule,
    PhaseEvidence,
    RedFlagCode,
    RedFlagRule,
)
from ketaguide.domain.citing.citer import Cites, ReferenceEntry
from ketaguide.domain.errors import KnowledgePackError
from ketaguide.domain.evidence.models import Phase
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.knowledge.loader import content_root, read_model

FILES = (
    "references.yaml",
    "medications.yaml",
    "interactions.yaml",
    "care_plan.yaml",
    "dosing.yaml",
    "conventions.yaml",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReferencesFile(_Strict):
    references: list[ReferenceEntry]


class MedicationsFile(_Strict):
    classes: dict[str, str]
    medications: list[DrugEntry]
    substances: list[DrugEntry]


class InteractionsFile(_Strict):
    interactions: list[InteractionRule]


class CarePlanFile(_Strict):
    diagnosis: DiagnosisEvidence
    phases: PhaseEvidence
    red_flags: list[RedFlagRule]
    options: list[CareOptionRule]
    option_rules: list[OptionRule]
    order_rules: list[OrderRule]
    monitoring: list[MonitoringRule]
    gaps: list[EvidenceGapRule]


class DosingFile(_Strict):
    lamotrigine: LamotrigineDosing
    ketamine: KetamineDoseTable


@dataclass(frozen=True)
class _Files:
    """Every clinical content file, each validated against its schema."""

    refs: ReferencesFile
    meds: MedicationsFile
    pairs: InteractionsFile
    plan: CarePlanFile
    dosing: DosingFile
    conventions: CareConventions


@dataclass
class ClinicalInspection:
    problems: list[str] = field(default_factory=list)
    content: ClinicalContent | None = None
    declared_classes: dict[str, str] = field(default_factory=dict)


def _read(root: Traversable, name: str, model: type[Any], problems: list[str]) -> Any:
    return read_model(root / name, model, name, problems)


def inspect_clinical(pack: KnowledgePack, root: Traversable | None = None) -> ClinicalInspection:
    """Read every clinical content file and run the cross-file checks against `pack`."""
    found = ClinicalInspection()
    files = _read_files(root or content_root(), found.problems)
    if files is None:
        return found
    found.declared_classes = files.meds.classes
    found.content = content = _content(files)
    found.problems += _duplicate_ids(files.refs.references, content)
    found.problems += _formulary_problems(content.formulary, files.meds.classes)
    found.problems += _rule_problems(content)
    found.problems += _citation_problems(content, pack)
    return found


def _read_files(root: Traversable, problems: list[str]) -> _Files | None:
    """Every file read and validated, or None when any cannot be (the problems say why; all files are read)."""
    read = {
        "refs": _read(root, "references.yaml", ReferencesFile, problems),
        "meds": _read(root, "medications.yaml", MedicationsFile, problems),
        "pairs": _read(root, "interactions.yaml", InteractionsFile, problems),
        "plan": _read(root, "care_plan.yaml", CarePlanFile, problems),
        "dosing": _read(root, "dosing.yaml", DosingFile, problems),
        "conventions": _read(root, "conventions.yaml", CareConventions, problems),
    }
    return None if None in read.values() else _Files(**read)


def _content(files: _Files) -> ClinicalContent:
    plan, dosing, conventions = files.plan, files.dosing, files.conventions
    return ClinicalContent(
        references={r.id: r for r in files.refs.references},
        formulary=Formulary(tuple(files.meds.medications), tuple(files.meds.substances)),
        interactions=tuple(files.pairs.interactions),
        red_flags=tuple(plan.red_flags),
        options=tuple(plan.options),
        option_rules=tuple(plan.option_rules),
        order_rules=tuple(plan.order_rules),
        monitoring=tuple(plan.monitoring),
        gaps=tuple(plan.gaps),
        diagnosis=plan.diagnosis,
        phases=plan.phases,
        lamotrigine=dosing.lamotrigine,
        # The order check applies conventions kept in their own file; it receives them with its table.
        ketamine=KetamineDosing(
            ranges=dosing.ketamine.ranges, notes=dosing.ketamine.notes, limits=conventions.ketamine_order
        ),
        conventions=conventions,
    )


def _duplicate_ids(references: list[ReferenceEntry], content: ClinicalContent) -> list[str]:
    groups: dict[str, list[str]] = {
        "reference": [r.id for r in references],
        "drug": [e.id for e in (*content.formulary.medications, *content.formulary.substances)],
        "interaction": [r.id for r in content.interactions],
        "red flag": [r.code for r in content.red_flags],
        "option": [o.id for o in content.options],
        "option rule": [r.id for r in content.option_rules],
        "order rule": [r.id for r in content.order_rules],
        "monitoring item": [m.id for m in content.monitoring],
        "gap": [g.id for g in content.gaps],
    }
    return [f"duplicate {kind} id: {i}" for kind, ids in groups.items() for i, n in Counter(ids).items() if n > 1]


def _formulary_problems(formulary: Formulary, declared: dict[str, str]) -> list[str]:
    problems = _name_problems(formulary)
    used = formulary.classes
    problems += [f"medications.yaml: class '{c}' is not declared under classes" for c in sorted(used - set(declared))]
    problems += [f"medications.yaml: declared class '{c}' is never used" for c in sorted(set(declared) - used)]
    needed = {VALPROATE_CLASS, INDUCER_CLASS, CONTRACEPTIVE_CLASS} - used
    problems += [f"medications.yaml: class '{c}' is needed by the lamotrigine rules" for c in sorted(needed)]
    codes = {s.value for s in Substance}
    substance_ids = {e.id for e in formulary.substances}
    problems += [f"medications.yaml: no substance entry for intake code '{c}'" for c in sorted(codes - substance_ids)]
    problems += [f"medications.yaml: substance '{s}' is not an intake code" for s in sorted(substance_ids - codes)]
    if formulary.entry(SUBJECT_DRUG) is None:
        problems.append(f"medications.yaml: no entry for '{SUBJECT_DRUG}', the drug every intake is about")
    return problems


def _name_problems(formulary: Formulary) -> list[str]:
    """A name (or a name without its release form, dosage form or salt) that means two drugs; a blank name."""
    owners: dict[str, set[str]] = {}
    for entry in formulary.medications:
        for name in entry.all_names:
            owners.setdefault(normalise_name(name), set()).add(entry.id)
    problems = [f"medications.yaml: name '{n}' means {sorted(ids)}" for n, ids in owners.items() if len(ids) > 1]
    problems += [
        f"medications.yaml: a name of {sorted(ids)} is blank once normalised" for n, ids in owners.items() if not n
    ]
    for entry in formulary.medications:
        for name in entry.all_names:
            reduced = without_modifiers(normalise_name(name))
            other = owners.get(reduced, {entry.id}) - {entry.id}
            if other:
                problems.append(f"medications.yaml: '{name}' without its form or salt is a name of {sorted(other)}")
    return problems


def _rule_problems(content: ClinicalContent) -> list[str]:
    problems = []
    missing_flags = set(get_args(RedFlagCode)) - {r.code for r in content.red_flags}
    problems += [f"care_plan.yaml: no rule for red flag '{code}'" for code in sorted(missing_flags)]
    regimens = {r.id for r in content.lamotrigine.regimens}
    if regimens != {"standard", "valproate", "inducer"} or len(content.lamotrigine.regimens) != 3:
        problems.append("dosing.yaml: lamotrigine needs exactly the standard, valproate and inducer regimens")
    drug_facts = fact_vocabulary(content, "red_flags")
    for rule in content.interactions:
        problems += [f"interactions.yaml: {rule.id}: unknown {s}" for s in rule.selectors if s not in drug_facts]
    for where, facts, stage in _rule_facts(content):
        allowed = fact_vocabulary(content, stage)
        problems += [
            f"care_plan.yaml: {where}: fact '{f}' cannot occur at this stage" for f in facts if f not in allowed
        ]
    known_drugs = {e.id for e in content.formulary.medications}
    problems += [
        f"care_plan.yaml: order rule {r.id}: unknown medicine '{d}'"
        for r in content.order_rules
        for d in r.drugs
        if d not in known_drugs
    ]
    return problems + _option_rule_problems(content)


def _option_rule_problems(content: ClinicalContent) -> list[str]:
    """Every option rule names known options, and every option has a rule for pregnancy, breastfeeding and age
    under 18 (a rule may say "no sourced data")."""
    option_ids = {o.id for o in content.options}
    problems = [
        f"care_plan.yaml: option rule {r.id}: unknown option '{o}'"
        for r in content.option_rules
        for o in r.options
        if o not in option_ids
    ]
    medicines = {f"drug:{e.id}" for e in content.formulary.medications}
    medicines |= {f"class:{c}" for c in content.formulary.classes}
    problems += [
        f"care_plan.yaml: option {o.id}: unknown medicine '{m}'"
        for o in content.options
        for m in o.medicines
        if m not in medicines
    ]
    for option in content.options:
        named = {f for r in content.option_rules if option.id in r.options for f in r.when_any}
        problems += [
            f"care_plan.yaml: option {option.id} has no rule for {population}"
            for population in REQUIRED_POPULATIONS
            if population not in named
        ]
    return problems


def _rule_facts(content: ClinicalContent) -> Iterator[tuple[str, tuple[str, ...], RuleStage]]:
    for flag in content.red_flags:
        yield f"red flag {flag.code}", flag.facts, "red_flags"
    for flag in content.red_flags:
        for variant in flag.variants:
            yield f"red flag {flag.code} variant", variant.when_any, "red_flags"
    for option in content.options:
        yield f"option {option.id}", (*option.when_any, *option.unless_any), "options"
    for rule in content.option_rules:
        yield f"option rule {rule.id}", rule.facts, "options"
    for order in content.order_rules:
        yield f"order rule {order.id}", order.facts, "options"  # the plan applies them after the red flags
    for item in content.monitoring:
        yield f"monitoring {item.id}", item.facts, "late"
        for variant in item.variants:
            yield f"monitoring {item.id} variant", variant.when_any, "late"
    for gap in content.gaps:
        yield f"gap {gap.id}", gap.facts, "late"


def all_cites(content: ClinicalContent) -> Iterator[tuple[str, Cites]]:
    """Every citation in the clinical content, with where it is."""
    yield "diagnosis", content.diagnosis.criteria + content.diagnosis.remission + content.diagnosis.withdrawal
    for phase in Phase:
        yield f"phase {phase.value}", content.phases.of(phase)
    yield from ((f"interaction {r.id}", r.cites) for r in content.interactions)
    for flag in content.red_flags:
        yield f"red flag {flag.code}", flag.cites
        yield from ((f"red flag {flag.code} variant", v.cites) for v in flag.variants if v.cites)
    for option in content.options:
        yield f"option {option.id}", option.cites
        if option.co_medication_check:
            yield f"option {option.id} co-medication check", option.co_medication_check.cites
    yield from ((f"option rule {r.id}", r.cites) for r in content.option_rules if r.cites)
    yield from ((f"order rule {r.id}", r.cites) for r in content.order_rules)
    for item in content.monitoring:
        yield f"monitoring {item.id}", item.cites
        yield from ((f"monitoring {item.id} variant", v.cites) for v in item.variants if v.cites)
    yield from _dosing_cites(content)
    yield from _convention_cites(content.conventions)
    yield from _formulary_cites(content.formulary)


def _formulary_cites(formulary: Formulary) -> Iterator[tuple[str, Cites]]:
    """The references behind brand names and RxNorm codes."""
    for entry in formulary.medications:
        yield from ((f"medications.yaml {entry.id} brand {b.name}", b.cites) for b in entry.brands)
        yield from ((f"medications.yaml {entry.id} rxnorm {c.code}", c.cites) for c in entry.rxnorm)


def _dosing_cites(content: ClinicalContent) -> Iterator[tuple[str, Cites]]:
    lamotrigine = content.lamotrigine
    yield "lamotrigine schedule", lamotrigine.cites
    for note in (*lamotrigine.always, lamotrigine.contraceptive, lamotrigine.under_18, *content.ketamine.notes):
        yield f"dosing note {note.id}", note.cites
    yield from ((f"ketamine range {r.id}", r.cites) for r in content.ketamine.ranges)


def _convention_cites(conventions: CareConventions) -> Iterator[tuple[str, Cites]]:
    """The sources of the conventions that are sourced facts (the DSM-5 counts), as "conventions.yaml <key>"."""
    for section_name, section in conventions:
        if not isinstance(section, BaseModel):
            continue  # the version string
        for name, convention in section:
            if isinstance(convention, Convention) and convention.source is not None:
                yield f"conventions.yaml {section_name}.{name}", convention.source


def _citation_problems(content: ClinicalContent, pack: KnowledgePack) -> list[str]:
    problems: list[str] = []
    cited: set[str] = set()
    for where, cites in all_cites(content):
        problems += [f"{where}: unknown claim {c}" for c in cites.claims if not pack.has_claim(c)]
        problems += [f"{where}: unknown reference {r}" for r in cites.refs if r not in content.references]
        cited.update(cites.refs)
    problems += [f"references.yaml: {r} is never cited" for r in sorted(set(content.references) - cited)]
    return problems


def cited_ids(content: ClinicalContent) -> tuple[set[str], set[str]]:
    """Every claim id and every reference id the content cites."""
    claims: set[str] = set()
    refs: set[str] = set()
    for _, cites in all_cites(content):
        claims.update(cites.claims)
        refs.update(cites.refs)
    return claims, refs


def load_clinical(pack: KnowledgePack, root: Traversable | None = None) -> ClinicalContent:
    """The clinical content in `root` (default: the bundled content), checked against `pack`; raises
    KnowledgePackError listing every problem."""
    found = inspect_clinical(pack, root)
    if found.problems or found.content is None:
        raise KnowledgePackError(found.problems or ["clinical content could not be read"])
    return found.content
