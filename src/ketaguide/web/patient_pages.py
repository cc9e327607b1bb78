"""Patients: the list and search, a new patient, the patient's page (latest care plan, earlier encounters,
monitoring chart, a new observation), a new intake, and one earlier encounter. Every read is audited by the
services, as for the REST API.

A patient search is a POST (with its CSRF token), not a query string: a name is PHI and stays out of URLs, proxy
logs and browser history (OWASP ASVS 14.2.1). Patient ids in paths are random UUIDs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from ketaguide.domain.care.intake import parse_intake
from ketaguide.domain.errors import FieldProblem, InputError
from ketaguide.services import encounters, observations, patients
from ketaguide.services.access import Role
from ketaguide.storage.errors import Conflict
from ketaguide.web.chart import Event, Reading, build_chart
from ketaguide.web.clinical_pages import intake_context
from ketaguide.web.evidence_pages import runtime_of
from ketaguide.web.intake_form import intake_groups, read_intake
from ketaguide.web.rendering import page
from ketaguide.web.security import Form, WebCaller, check_csrf, read_form, records_of, signed_in

PatientCaller = Annotated[WebCaller, Depends(signed_in(Role.CLINICIAN, audit_as=("access", "patient")))]
PosTedForm = Annotated[Form, Depends(read_form)]
PAGE = 50
ENCOUNTERS_SHOWN = 20
OBSERVATION_FIELDS = (
    "observed_on",
    "craving_score",
    "use_days_past_7",
    "urine_drug_screen",
    "bladder_symptoms",
    "phq2_score",
    "suicidality_screen",
)


def _problems(error: ValidationError) -> list[FieldProblem]:
    found = []
    for e in error.errors():
        where = str(e["loc"][0]) if e.get("loc") else "form"
        kind = e.get("type")
        message = "is required" if kind == "missing" else str(e.get("msg", "is invalid")).lower()
        found.append(FieldProblem(where, message))
    return found


def _errors(problems: list[FieldProblem]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for problem in problems:
        errors.setdefault(problem.field, []).append(problem.problem)
    return errors


# The list ---------------------------------------------------------------------------------------------------------


def _list_page(
    request: Request, who: WebCaller, query: str | None, offset: int, status: int = 200, **extra: Any
) -> Response:
    found = patients.search_patients(records_of(request), who.caller, query or None, PAGE, offset)
    context = {
        "patients": found,
        "query": query or "",
        "offset": offset,
        "new": {"display_name": "", "mrn": "", "birth_year": ""},
        "errors": {},
        "notice": "",
        **extra,
    }
    return page(request, "patients.html", context, status=status, title="Patients - KetaGuide")


def _int_or_text(text: str) -> int | str | None:
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isdigit() and len(text) <= 6 else text


# The patient's page -----------------------------------------------------------------------------------------------


def _patient_context(request: Request, who: WebCaller, patient_id: str) -> dict[str, Any]:
    records, caller = records_of(request), who.caller
    patient = patients.get_patient(records, caller, patient_id)
    page_of_encounters = encounters.list_encounters(records, caller, patient_id, ENCOUNTERS_SHOWN, 0)
    latest = None
    if page_of_encounters.items:
        latest = encounters.get_encounter(records, caller, patient_id, page_of_encounters.items[0].id)
    series = observations.observation_series(records, caller, patient_id)
    readings = [
        Reading(
            o.observed_on,
            o.craving_score,
            o.use_days_past_7,
            o.urine_drug_screen.value if o.urine_drug_screen else None,
        )
        for o in series.items
    ]
    events = [Event(e.observed_at.date(), "care plan (intake)") for e in reversed(page_of_encounters.items)]
    return {
        "patient": patient,
        "encounters": page_of_encounters,
        "latest": latest,
        "readings": series.items,
        "chart": build_chart(readings, events),
        "observation": dict.fromkeys(OBSERVATION_FIELDS, "") | {"bladder_symptoms": []},
        "obs_errors": {},
        "today": records.clock.now().date().isoformat(),
        "screens": [s.value for s in observations.UrineDrugScreen],
        "asq_results": [s.value for s in observations.SuicidalityScreen],
        "bladder": [s.value for s in observations.BladderSymptom],
    }


def _patient_page(request: Request, context: dict[str, Any], status: int = 200) -> Response:
    name = context["patient"].display_name
    return page(request, "patient.html", context, status=status, title=f"{name[:60]} - Patients - KetaGuide")


def _observation_document(form: Form) -> tuple[dict[str, Any], dict[str, Any], list[FieldProblem]]:
    values: dict[str, Any] = {name: form.get(name).strip() for name in OBSERVATION_FIELDS}
    values["bladder_symptoms"] = [v for v in form.get_all("bladder_symptoms") if v]
    document: dict[str, Any] = {"bladder_symptoms": values["bladder_symptoms"]}
    problems: list[FieldProblem] = []
    for name in ("craving_score", "use_days_past_7", "phq2_score"):
        if values[name]:
            if values[name].lstrip("-").isdigit() and len(values[name]) <= 4:
                document[name] = int(values[name])
            else:
                problems.append(FieldProblem(name, f"must be a whole number (got {values[name][:20]!r})"))
    for name in ("urine_drug_screen", "suicidality_screen"):
        if values[name]:
            document[name] = values[name]
    try:
        document["observed_on"] = date.fromisoformat(values["observed_on"]) if values["observed_on"] else None
    except ValueError:
        problems.append(FieldProblem("observed_on", "must be a date such as 2026-11-30"))
    if document.get("observed_on") is None and not any(p.field == "observed_on" for p in problems):
        problems.append(FieldProblem("observed_on", "is required"))
    return values, document, problems


def _observed_at(text: str, now: datetime) -> datetime | str:
    """The intake's time (UTC), from a `datetime-local` field; empty means now."""
    if not text.strip():
        return now
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return "must be a date and time such as 2026-11-30T09:30"
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return "is in the future" if value > now else value


def register(router: APIRouter) -> None:
    @router.get("/patients")
    def patient_list(
        request: Request, who: PatientCaller, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0
    ) -> Response:
        return _list_page(request, who, None, offset)

    @router.post("/patients/search")
    async def patient_search(request: Request, form: PosTedForm, who: PatientCaller) -> Response:
        check_csrf(who.session, form)
        query = form.get("q").strip()[:200]
        return await run_in_threadpool(_list_page, request, who, query, 0)

    @router.post("/patients/new")
    async def patient_new(request: Request, form: PosTedForm, who: PatientCaller) -> Response:
        check_csrf(who.session, form)
        new = {name: form.get(name).strip() for name in ("display_name", "mrn", "birth_year")}
        try:
            model = patients.NewPatient.model_validate(
                {
                    "display_name": new["display_name"],
                    "mrn": new["mrn"] or None,
                    "birth_year": _int_or_text(new["birth_year"]),
                }
            )
            created = await run_in_threadpool(patients.create_patient, records_of(request), who.caller, model)
        except ValidationError as error:
            problems = _problems(error)
        except InputError as error:
            problems = list(error.problems)
        except Conflict as error:
            problems = [FieldProblem("mrn", str(error))]
        else:
            return RedirectResponse(f"/patients/{created.id}", status_code=303)
        return await run_in_threadpool(_list_page, request, who, None, 0, 422, new=new, errors=_errors(problems))

    @router.get("/patients/fhir/{fhir_id}")
    def from_ehr(request: Request, fhir_id: str, who: PatientCaller) -> Response:
        """The target of a CDS Hooks card's link: the patient whose MRN is the EHR's id, if exactly one."""
        found = patients.search_patients(records_of(request), who.caller, fhir_id[:64], 2, 0)
        exact = [p for p in found.items if p.mrn == fhir_id]
        if len(exact) == 1:
            return RedirectResponse(f"/patients/{exact[0].id}", status_code=303)
        notice = "No patient here has the MRN your EHR linked to; search by name or MRN."
        return _list_page(request, who, None, 0, notice=notice)

    @router.get("/patients/{patient_id}")
    def patient_view(request: Request, patient_id: str, who: PatientCaller) -> Response:
        return _patient_page(request, _patient_context(request, who, patient_id))

    @router.post("/patients/{patient_id}/observations")
    async def add_observation(request: Request, patient_id: str, form: PosTedForm, who: PatientCaller) -> Response:
        check_csrf(who.session, form)
        values, document, problems = _observation_document(form)
        if not problems:
            try:
                new = observations.NewObservation.model_validate(document)
                records = records_of(request)
                await run_in_threadpool(observations.record_observation, records, who.caller, patient_id, new)
                return RedirectResponse(f"/patients/{patient_id}#monitoring", status_code=303)
            except ValidationError as error:
                problems = _problems(error)
            except InputError as error:
                problems = list(error.problems)
        context = await run_in_threadpool(_patient_context, request, who, patient_id)
        context.update(observation=values, obs_errors=_errors(problems))
        return _patient_page(request, context, status=422)

    @router.get("/patients/{patient_id}/intake")
    def intake_form(request: Request, patient_id: str, who: PatientCaller) -> Response:
        patient = patients.get_patient(records_of(request), who.caller, patient_id)
        context = {**intake_context(None, []), "patient": patient, "observed_at": ""}
        return page(request, "intake.html", context, title=f"Intake - {patient.display_name[:60]} - KetaGuide")

    @router.post("/patients/{patient_id}/intake")
    async def intake_submit(request: Request, patient_id: str, form: PosTedForm, who: PatientCaller) -> Response:
        check_csrf(who.session, form)
        return await run_in_threadpool(_store_intake, request, patient_id, form, who)

    @router.get("/patients/{patient_id}/encounters/{encounter_id}")
    def encounter_view(request: Request, patient_id: str, encounter_id: str, who: PatientCaller) -> Response:
        records = records_of(request)
        patient = patients.get_patient(records, who.caller, patient_id)
        encounter = encounters.get_encounter(records, who.caller, patient_id, encounter_id)
        context = {"patient": patient, "encounter": encounter}
        title = f"Encounter {encounter.observed_at:%Y-%m-%d} - {patient.display_name[:60]} - KetaGuide"
        return page(request, "encounter.html", context, title=title)


def _store_intake(request: Request, patient_id: str, form: Form, who: WebCaller) -> Response:
    records = records_of(request)
    submitted = read_intake(form, intake_groups())
    observed_text = form.get("observed_at")
    observed = _observed_at(observed_text, records.clock.now())
    problems = list(submitted.problems)
    if isinstance(observed, str):
        problems.append(FieldProblem("observed_at", observed))
    if not problems:
        try:
            intake = parse_intake(submitted.document)
            new = encounters.NewEncounter(intake=intake, observed_at=observed)
            encounters.record_encounter(runtime_of(request), records, who.caller, patient_id, new)
            return RedirectResponse(f"/patients/{patient_id}#care-plan", status_code=303)
        except InputError as error:
            problems = list(error.problems)
    patient = patients.get_patient(records, who.caller, patient_id)
    context = {**intake_context(submitted, problems), "patient": patient, "observed_at": observed_text}
    if "observed_at" in {p.field for p in problems}:
        context["errors"]["observed_at"] = [p.problem for p in problems if p.field == "observed_at"]
        context["general_errors"] = [g for g in context["general_errors"] if not g.startswith("observed_at")]
    title = f"Problems in the intake - {patient.display_name[:60]} - KetaGuide"
    return page(request, "intake.html", context, status=422, title=title)
