"""The JSON Schema of every document KetaGuide reads or writes (`ketaguide schema NAME`), generated from the models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ketaguide.contracts.answer import AnswerReport
from ketaguide.contracts.care_plan import CarePlanReport, KetamineOrderReport, LamotrigineScheduleReport
from ketaguide.contracts.problem import Problem
from ketaguide.domain.care.intake import Intake

DOCUMENTS: dict[str, tuple[type[BaseModel], str]] = {
    "intake": (Intake, "KetaGuide intake"),
    "answer": (AnswerReport, "KetaGuide answer"),
    "care-plan": (CarePlanReport, "KetaGuide care plan"),
    "lamotrigine-schedule": (LamotrigineScheduleReport, "KetaGuide lamotrigine schedule"),
    "ketamine-order": (KetamineOrderReport, "KetaGuide ketamine order check"),
    "problem": (Problem, "KetaGuide problem details"),
}


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of document `name`: input documents as validated, outputs as serialised."""
    model, title = DOCUMENTS[name]
    schema = model.model_json_schema(mode="validation" if name == "intake" else "serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "title": title}
