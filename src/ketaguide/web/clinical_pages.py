"""Clinical tools without a stored patient: assess an intake (nothing is stored) and the two dose tools."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from ketaguide.contracts.care_plan import CarePlanReport
from ketaguide.domain.errors import FieldProblem, InputError
from ketaguide.services import assessment
from ketaguide.services.access import Role
from ketaguide.web.evidence_pages import references_by_number, runtime_of
from ketaguide.web.intake_form import (
    Submitted,
    empty_values,
    errors_by_field,
    field_labels,
    field_names,
    intake_groups,
    read_intake,
)
from ketaguide.web.rendering import page
from ketaguide.web.security import Form, WebCaller, check_csrf, read_form, signed_in

Clinician = Annotated[WebCaller, Depends(signed_in(Role.CLINICIAN))]
MAX_CO_MEDICATIONS = 30


def intake_context(submitted: Submitted | None, problems: list[FieldProblem]) -> dict[str, Any]:
    errors, general = errors_by_field(problems, field_names())
    return {
        "groups": intake_groups(),
        "values": submitted.values if submitted else empty_values(),
        "errors": errors,
        "general_errors": general,
        "labels": field_labels() | {"observed_at": "When the intake was taken"},
    }


def evaluate(request: Request, submitted: Submitted) -> tuple[CarePlanReport | None, list[FieldProblem]]:
    """The care plan for a submitted form, or every problem (the form's own and the intake rules')."""
    if submitted.problems:
        return None, submitted.problems
    try:
        return assessment.assess(runtime_of(request), submitted.document), []
    except InputError as error:
        return None, list(error.problems)


def register(router: APIRouter) -> None:
    @router.get("/assess")
    def assess_form(request: Request, who: Clinician) -> Response:
        context = {**intake_context(None, []), "plan": None}
        return page(request, "assess.html", context, title="Assess - KetaGuide")

    @router.post("/assess")
    async def assess(request: Request, form: Annotated[Form, Depends(read_form)], who: Clinician) -> Response:
        check_csrf(who.session, form)
        submitted = read_intake(form)
        plan, problems = await run_in_threadpool(evaluate, request, submitted)
        context = {**intake_context(submitted, problems), "plan": plan}
        title = "Problems in the intake - Assess - KetaGuide" if problems else "Care plan - Assess - KetaGuide"
        return page(request, "assess.html", context, status=422 if problems else 200, title=title)

    @router.get("/dose")
    def dose(
        request: Request,
        who: Clinician,
        tool: Annotated[str, Query(max_length=20)] = "",
        with_: Annotated[str, Query(alias="with", max_length=3000)] = "",
        age: Annotated[str, Query(max_length=10)] = "",
        weight_kg: Annotated[str, Query(max_length=20)] = "",
        route: Annotated[str, Query(max_length=10)] = "",
        mg: Annotated[str, Query(max_length=20)] = "",
        minutes: Annotated[str, Query(max_length=20)] = "",
    ) -> Response:
        values = {"with": with_, "age": age, "weight_kg": weight_kg, "route": route, "mg": mg, "minutes": minutes}
        context: dict[str, Any] = {"tool": tool, "values": values, "errors": {}, "schedule": None, "order": None}
        if tool == "lamotrigine":
            context.update(_lamotrigine(request, with_, age))
        elif tool == "ketamine":
            context.update(_ketamine(request, weight_kg, route, mg, minutes))
        if context.get("result") is not None:
            context["refs"] = references_by_number(context["result"].references)
        status = 422 if context["errors"] else 200
        return page(request, "dose.html", context, status=status, title="Dose tools - KetaGuide")


def _number(text: str, name: str, problems: list[FieldProblem], *, integer: bool = False) -> float | None:
    if not text.strip():
        return None
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        problems.append(FieldProblem(name, f"must be a {'whole ' if integer else ''}number (got {text[:20]!r})"))
        return None
    if value != value or value in (float("inf"), float("-inf")):
        problems.append(FieldProblem(name, "must be a finite number"))
        return None
    return value


def _errors(problems: list[FieldProblem]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for problem in problems:
        errors.setdefault(problem.field, []).append(problem.problem)
    return errors


def _lamotrigine(request: Request, with_: str, age_text: str) -> dict[str, Any]:
    problems: list[FieldProblem] = []
    names = [line.strip() for line in with_.replace(";", "\n").splitlines() if line.strip()]
    if len(names) > MAX_CO_MEDICATIONS:
        problems.append(FieldProblem("with", f"lists {len(names)} medicines; at most {MAX_CO_MEDICATIONS}"))
    age = _number(age_text, "age", problems, integer=True)
    if problems:
        return {"errors": _errors(problems)}
    try:
        result = assessment.lamotrigine_dose(runtime_of(request), names, int(age) if age is not None else None)
    except InputError as error:
        return {"errors": _errors(list(error.problems))}
    return {"schedule": result, "result": result}


def _ketamine(request: Request, weight_text: str, route: str, mg_text: str, minutes_text: str) -> dict[str, Any]:
    problems: list[FieldProblem] = []
    weight = _number(weight_text, "weight_kg", problems)
    mg = _number(mg_text, "mg", problems)
    minutes = _number(minutes_text, "minutes", problems)
    for name, value, low, high in (("weight_kg", weight, 0, 400), ("mg", mg, 0, 10_000), ("minutes", minutes, 0, 1440)):
        if value is not None and not low < value <= high:
            problems.append(FieldProblem(name, f"must be more than {low} and at most {high}"))
    if weight is None and not any(p.field == "weight_kg" for p in problems):
        problems.append(FieldProblem("weight_kg", "is required"))
    if mg is None and not any(p.field == "mg" for p in problems):
        problems.append(FieldProblem("mg", "is required"))
    if route not in ("iv", "im"):
        problems.append(FieldProblem("route", "choose iv or im: no other route has a sourced dose range"))
    if problems:
        return {"errors": _errors(problems)}
    assert weight is not None and mg is not None
    try:
        result = assessment.ketamine_dose(runtime_of(request), weight, route, mg, minutes)
    except InputError as error:
        return {"errors": _errors(list(error.problems))}
    return {"order": result, "result": result}
