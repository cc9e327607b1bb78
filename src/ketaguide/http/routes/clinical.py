"""Decision support without stored records: answers, care plans for an intake, dose checks (clinicians)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ketaguide.contracts.answer import AnswerReport
from ketaguide.contracts.care_plan import CarePlanReport, KetamineOrderReport, LamotrigineScheduleReport
from ketaguide.domain.care.intake import Intake
from ketaguide.http.fhir_intake import IntakeRoute, questionnaire_intake
from ketaguide.http.routes import WITH_BODY, problems
from ketaguide.http.security import CLINICIAN, require
from ketaguide.services import assessment, evidence
from ketaguide.services.access import Caller

router = APIRouter(route_class=IntakeRoute, tags=["decision support"])
Clinician = Annotated[Caller, Depends(require(*CLINICIAN))]


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000, description="a clinical question about ketamine use disorder")


class Evaluation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intake: Intake


class LamotrigineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    with_: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, alias="with", max_length=30, description="co-medications, generic or brand names"
    )
    age: int | None = Field(None, strict=True, ge=0, le=120)


class KetamineOrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    weight_kg: float = Field(gt=0, le=400)
    route: str = Field(min_length=1, max_length=20, description="iv or im")
    mg: float = Field(gt=0, le=10_000)
    over_minutes: float | None = Field(None, gt=0, le=1440)


def _json(model: BaseModel, status: int = 200) -> Response:
    """The model's JSON bytes as is: the contract models are already validated, so FastAPI need not check them
    again (`response_model` still declares the schema in the OpenAPI document)."""
    return Response(model.__pydantic_serializer__.to_json(model), status, media_type="application/json")


@router.post("/answers", response_model=AnswerReport, responses=problems(*WITH_BODY))
def post_answer(body: Question, request: Request, caller: Clinician) -> Response:
    """A cited, evidence-graded answer to a clinical question, or an abstention (the `ketaguide ask` contract)."""
    return _json(evidence.ask(request.app.state.runtime, body.question))


# Coroutines, this one and the dose checks below: the care plan is pure computation on the snapshot in memory (no
# database, no files), and a worker thread would hold the GIL for it all the same; the trip to the threadpool and
# back was a measurable part of each request (issue #10). An answer runs in the threadpool: retrieval takes long
# enough (tens of ms) that other requests must not wait behind it on the event loop.
@router.post("/assessments/evaluate", response_model=CarePlanReport, responses=problems(*WITH_BODY))
@questionnaire_intake()
async def evaluate(body: Evaluation, request: Request, caller: Clinician) -> Response:
    """The care plan for an intake, computed and returned; nothing is stored. The intake may also be sent as a FHIR
    QuestionnaireResponse to `ketaguide fhir questionnaire` (`Content-Type: application/fhir+json`)."""
    return _json(assessment.assess_intake(request.app.state.runtime, body.intake))


@router.post("/dose/lamotrigine", response_model=LamotrigineScheduleReport, responses=problems(*WITH_BODY))
async def lamotrigine(body: LamotrigineRequest, request: Request, caller: Clinician) -> Response:
    """The label's lamotrigine escalation for these co-medications (an unknown name is an error)."""
    return _json(assessment.lamotrigine_dose(request.app.state.runtime, body.with_, body.age))


@router.post("/dose/ketamine-order", response_model=KetamineOrderReport, responses=problems(*WITH_BODY))
async def ketamine_order(body: KetamineOrderRequest, request: Request, caller: Clinician) -> Response:
    """A ketamine order checked against the sourced ranges (iv and im only)."""
    report = assessment.ketamine_dose(request.app.state.runtime, body.weight_kg, body.route, body.mg, body.over_minutes)
    return _json(report)
