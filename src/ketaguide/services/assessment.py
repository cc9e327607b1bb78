"""Use cases: assess an intake, print the intake schema, and the two dose tools (`ketaguide assess`, `dose`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ketaguide.domain.care.dosing import (
    KetamineOrderCheck,
    LamotrigineSchedule,
    check_ketamine_order,
    lamotrigine_schedule,
)
from ketaguide.domain.care.intake import intake_json_schema, parse_intake
from ketaguide.domain.care.interactions import DrugEntry
from ketaguide.domain.care.plan import CarePlan, ClinicalContent, evaluate
from ketaguide.domain.citing.citer import Citer
from ketaguide.domain.errors import InputError, IntakeError
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.knowledge.clinical import load_clinical
from ketaguide.knowledge.loader import load_pack
from ketaguide.services.evidence import reference_contract

MAX_INTAKE_CHARS = 100_000


def _knowledge() -> tuple[KnowledgePack, ClinicalContent]:
    return load_pack(), load_clinical()


def read_intake_text(text: str) -> object:
    """Parse an intake document's JSON text; a syntax error names where it is."""
    if len(text) > MAX_INTAKE_CHARS:
        raise IntakeError("intake", f"is {len(text)} characters; the limit is {MAX_INTAKE_CHARS}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise IntakeError("intake", f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None


def assess(document: object) -> CarePlan:
    """The care plan for an intake document (parsed JSON); raises IntakeError for invalid input."""
    intake = parse_intake(document)
    pack, content = _knowledge()
    return evaluate(intake, pack, content)


def assess_text(text: str) -> CarePlan:
    return assess(read_intake_text(text))


def intake_schema() -> dict[str, Any]:
    return intake_json_schema()


def lamotrigine_dose(with_names: Sequence[str], age: int | None = None) -> LamotrigineSchedule:
    """The label escalation for these co-medications. An unrecognised name is an error: guessing could halve or
    double the wrong schedule."""
    pack, content = _knowledge()
    co_medications: list[tuple[str, DrugEntry]] = []
    for name in with_names:
        entry = content.formulary.recognise(name)
        if entry is None:
            raise InputError("with", f"{name!r} is not a medicine KetaGuide recognises; use a generic or brand name")
        co_medications.append((name.strip(), entry))
    if age is not None and not 0 <= age <= 120:
        raise InputError("age", f"{age} is out of range (0 to 120)")
    return lamotrigine_schedule(co_medications, age, content.lamotrigine, Citer(pack, content.references))


def ketamine_dose(weight_kg: float, route: str, mg: float, over_minutes: float | None = None) -> KetamineOrderCheck:
    pack, content = _knowledge()
    return check_ketamine_order(weight_kg, route, mg, over_minutes, content.ketamine, Citer(pack, content.references))


def care_plan_contract(plan: CarePlan) -> dict[str, Any]:
    """The documented JSON shape of a care plan (README, "Patient assessment and care plan", "Output")."""
    body = plan.model_dump(mode="json", exclude={"references", "phase"})
    return {
        "diagnosis": body["diagnosis"],
        "phase": plan.phase.phase,
        "phase_basis": plan.phase.basis,
        "phase_citations": list(plan.phase.citations),
        "red_flags": body["red_flags"],
        "interactions": body["interactions"],
        "options": body["options"],
        "monitoring": body["monitoring"],
        "unrecognized_medications": body["unrecognized_medications"],
        "evidence_gaps": body["evidence_gaps"],
        "conflicts": body["conflicts"],
        "references": [reference_contract(r) for r in plan.references],
    }


def schedule_contract(schedule: LamotrigineSchedule) -> dict[str, Any]:
    body = schedule.model_dump(mode="json", exclude={"references"})
    return {**body, "references": [reference_contract(r) for r in schedule.references]}


def dose_check_contract(check: KetamineOrderCheck) -> dict[str, Any]:
    body = check.model_dump(mode="json", exclude={"references"})
    return {**body, "references": [reference_contract(r) for r in check.references]}
