"""Use cases: assess an intake and the two dose tools (`ketaguide assess`, `ketaguide dose`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ketaguide.contracts.care_plan import CarePlanReport, KetamineOrderReport, LamotrigineScheduleReport
from ketaguide.contracts.provenance import Provenance
from ketaguide.domain.care.dosing import check_ketamine_order, lamotrigine_schedule
from ketaguide.domain.care.intake import Intake, parse_intake
from ketaguide.domain.care.interactions import DrugEntry
from ketaguide.domain.care.plan import evaluate
from ketaguide.domain.citing.citer import Citer
from ketaguide.domain.errors import FieldProblem, InputError, IntakeError
from ketaguide.services.documents import parse_json_document

if TYPE_CHECKING:
    from ketaguide.bootstrap import Runtime

MAX_INTAKE_BYTES = 100_000


def assess(runtime: Runtime, document: object) -> CarePlanReport:
    """The care plan for an intake document (parsed JSON); raises IntakeError listing every problem."""
    return assess_intake(runtime, parse_intake(document))


def assess_intake(runtime: Runtime, intake: Intake) -> CarePlanReport:
    """The care plan for an intake already validated (the REST API's body is an `Intake`)."""
    plan = evaluate(intake, runtime.knowledge.pack, runtime.knowledge.clinical)
    return CarePlanReport.of(plan, _provenance(runtime))


def assess_text(runtime: Runtime, text: str) -> CarePlanReport:
    """The care plan for an intake's JSON text: strict JSON (no duplicate keys, no NaN), then the intake rules."""
    if len(text.encode("utf-8", "replace")) > MAX_INTAKE_BYTES:
        raise IntakeError("intake", f"is over {MAX_INTAKE_BYTES} bytes")
    try:
        document = parse_json_document(text, "intake")
    except InputError as exc:
        raise IntakeError.of(exc.problems) from None
    return assess(runtime, document)


def lamotrigine_dose(runtime: Runtime, with_names: Sequence[str], age: int | None = None) -> LamotrigineScheduleReport:
    """The label escalation for these co-medications. An unrecognised name is an error: guessing could halve or
    double the wrong schedule."""
    content = runtime.knowledge.clinical
    problems = []
    co_medications: list[tuple[str, DrugEntry]] = []
    for name in with_names:
        entry = content.formulary.recognise(name)
        if entry is None:
            problem = f"{name!r} is not a medicine KetaGuide recognises; use a generic or brand name"
            problems.append(FieldProblem("with", problem))
        else:
            co_medications.append((name.strip(), entry))
    if age is not None and not 0 <= age <= 120:
        problems.append(FieldProblem("age", f"{age} is out of range (0 to 120)"))
    if problems:
        raise InputError.of(problems)
    schedule = lamotrigine_schedule(co_medications, age, content.lamotrigine, _citer(runtime))
    return LamotrigineScheduleReport(**dict(schedule), provenance=_provenance(runtime))


def ketamine_dose(
    runtime: Runtime, weight_kg: float, route: str, mg: float, over_minutes: float | None = None
) -> KetamineOrderReport:
    """A ketamine order checked against the sourced ranges; every number must be finite."""
    numbers = {"weight_kg": weight_kg, "mg": mg, "minutes": over_minutes}
    infinite = {k: v for k, v in numbers.items() if v is not None and not math.isfinite(v)}
    problems = [FieldProblem(k, f"must be a finite number (got {v})") for k, v in infinite.items()]
    if problems:
        raise InputError.of(problems)
    content = runtime.knowledge.clinical
    check = check_ketamine_order(weight_kg, route, mg, over_minutes, content.ketamine, _citer(runtime))
    return KetamineOrderReport(**dict(check), provenance=_provenance(runtime))


def _citer(runtime: Runtime) -> Citer:
    return Citer(runtime.knowledge.pack, runtime.knowledge.clinical.references)


def _provenance(runtime: Runtime) -> Provenance:
    return runtime.provenance(retriever=None, policy_version=runtime.knowledge.clinical.conventions.version)
