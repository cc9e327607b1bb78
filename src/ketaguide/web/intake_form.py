"""The intake form, generated from the intake's JSON Schema (`ketaguide schema intake`), and read back.

Every property of the schema becomes a field of the kind its type calls for (number, choice, yes/no, a set of
codes, lines of text, the ASQ's yes/no questions), with its constraints (min, max, required) and help text: the
schema's own description, else the wording here. A property added to the intake appears on the form without a
change here (in "Other"), so the form cannot fall behind the schema.

Reading the form back keeps every value as typed, so a re-shown form loses nothing; a value that is not a number is
reported at its field, and the intake rules themselves (`parse_intake`) report the rest, each problem at the field
its path names (`criteria[0]` at criteria, `asq.q5` at that question).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from ketaguide.contracts.schemas import json_schema
from ketaguide.domain.errors import FieldProblem
from ketaguide.web.security import Form

Kind = Literal["integer", "number", "choice", "flag", "codes", "lines", "yesno"]

# Groups shown as fieldsets, in order; a property in none of them is shown under "Other".
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Patient", ("age", "sex", "weight_kg", "pregnant", "breastfeeding")),
    ("Use disorder criteria (past 12 months)", ("criteria", "months_without_criteria", "in_controlled_environment")),
    ("Ketamine and other substances", ("last_ketamine_use_hours", "craving_score", "other_substances")),
    ("Symptoms now", ("symptoms",)),
    ("Conditions and medicines", ("conditions", "medications")),
    ("ASQ suicide risk screening", ("asq",)),
)

LABELS = {
    "age": "Age (years)",
    "sex": "Sex",
    "weight_kg": "Weight (kg)",
    "pregnant": "Pregnant",
    "breastfeeding": "Breastfeeding",
    "criteria": "DSM-5 criteria met",
    "months_without_criteria": "Months without criteria",
    "in_controlled_environment": "In a controlled environment",
    "last_ketamine_use_hours": "Hours since last ketamine use",
    "craving_score": "Craving score (0-10)",
    "other_substances": "Other substances used",
    "symptoms": "Symptoms",
    "conditions": "Conditions",
    "medications": "Medicines",
    "asq": "ASQ",
}

HELP = {
    "age": "Whole years, 0 to 120.",
    "sex": "As recorded for the assessment.",
    "weight_kg": "Optional; used for weight-based checks.",
    "pregnant": "Tick if the patient is pregnant.",
    "breastfeeding": "Tick if the patient is breastfeeding.",
    "criteria": (
        "Tick each criterion met in the past 12 months. Withdrawal can be recorded but is not counted for "
        "ketamine (phencyclidine-class) use disorder."
    ),
    "symptoms": "Tick each symptom present now; some raise red flags.",
    "conditions": "Current or past conditions that change which options are safe.",
    "medications": (
        "One medicine per line, as written in the chart: generic or brand name, any case, strength allowed "
        "(for example LAMICTAL, Depakote 500 mg). Names KetaGuide does not know are listed, not refused."
    ),
    "other_substances": "Other substances the patient uses.",
    "craving_score": "0 (no craving) to 10 (worst imaginable).",
    "asq": "Ask questions 1 to 4; ask question 5 only if any answer is yes. Leave all blank if the ASQ was not asked.",
}

# The ASQ as on the NIMH form (Ask Suicide-Screening Questions, public domain), by the intake's item numbers.
ASQ_QUESTIONS = {
    "q1": "1. In the past few weeks, have you wished you were dead?",
    "q2": "2. In the past few weeks, have you felt that you or your family would be better off if you were dead?",
    "q3": "3. In the past week, have you been having thoughts about killing yourself?",
    "q4": "4. Have you ever tried to kill yourself?",
    "q5": "5. Are you having thoughts of killing yourself right now? (Ask only if any of 1 to 4 is yes.)",
}

CODE_LABELS = {
    "larger_amounts": "Taken in larger amounts or for longer than intended",
    "cut_down": "Persistent wish or unsuccessful efforts to cut down",
    "time_spent": "Much time spent obtaining, using or recovering",
    "craving": "Craving",
    "role_failure": "Failure to fulfil major obligations",
    "social_problems": "Continued use despite social or interpersonal problems",
    "activities_given_up": "Important activities given up or reduced",
    "hazardous_use": "Recurrent use in physically hazardous situations",
    "physical_psychological_problems": "Continued use despite physical or psychological problems",
    "tolerance": "Tolerance",
    "withdrawal": "Withdrawal (recorded, not counted)",
    "ghb": "GHB",
    "mdma": "MDMA",
    "long_qt_or_arrhythmia": "Long QT or arrhythmia",
    "acute_hepatitis_or_liver_failure": "Acute hepatitis or liver failure",
}


def code_label(code: str) -> str:
    return CODE_LABELS.get(code) or (code.replace("_", " ")[:1].upper() + code.replace("_", " ")[1:])


@dataclass(frozen=True)
class Field:
    name: str  # the form field's name: a property, or `asq.q1` for a nested one
    label: str
    help: str
    kind: Kind
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None  # an exclusive minimum
    options: tuple[tuple[str, str], ...] = ()  # (code, label)
    children: tuple[Field, ...] = ()

    @property
    def html_id(self) -> str:
        return "f-" + self.name.replace(".", "-")

    @property
    def step(self) -> str:
        return "1" if self.kind == "integer" else "any"


@dataclass(frozen=True)
class Group:
    legend: str
    fields: tuple[Field, ...]


def _resolve(schema: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    """The node itself: `$ref`s followed, `anyOf [X, null]` taken as X."""
    if "$ref" in node:
        return _resolve(schema, schema["$defs"][node["$ref"].rsplit("/", 1)[-1]])
    if "anyOf" in node:
        chosen = next((n for n in node["anyOf"] if n.get("type") != "null"), node["anyOf"][0])
        return _resolve(schema, chosen)
    return node


def _field(schema: Mapping[str, Any], name: str, node: Mapping[str, Any], required: bool, prefix: str = "") -> Field:
    resolved = _resolve(schema, node)
    label = LABELS.get(name) or node.get("title") or name
    help_text = HELP.get(name) or node.get("description") or resolved.get("description") or ""
    full = prefix + name
    kind_of = resolved.get("type")
    if kind_of == "object":
        inner_required = set(resolved.get("required", ()))
        children = tuple(
            Field(
                full + "." + key,
                ASQ_QUESTIONS.get(key, key),
                sub.get("description", ""),
                "yesno",
                key in inner_required,
            )
            for key, sub in resolved.get("properties", {}).items()
        )
        return Field(full, label, help_text, "yesno", required, children=children)
    if kind_of == "array":
        items = _resolve(schema, resolved.get("items", {}))
        if "enum" in items:
            options = tuple((code, code_label(code)) for code in items["enum"])
            return Field(full, label, help_text, "codes", required, options=options)
        return Field(full, label, help_text, "lines", required)
    if "enum" in resolved:
        options = tuple((code, code_label(code)) for code in resolved["enum"])
        return Field(full, label, help_text, "choice", required, options=options)
    if kind_of == "boolean":
        return Field(full, label, help_text, "flag", required)
    return Field(
        full,
        label,
        help_text,
        "integer" if kind_of == "integer" else "number",
        required,
        minimum=resolved.get("minimum"),
        maximum=resolved.get("maximum"),
        above=resolved.get("exclusiveMinimum"),
    )


@cache
def intake_groups() -> tuple[Group, ...]:
    schema = json_schema("intake")
    required = set(schema.get("required", ()))
    fields = {name: _field(schema, name, node, name in required) for name, node in schema.get("properties", {}).items()}
    groups = [Group(legend, tuple(fields.pop(n) for n in names if n in fields)) for legend, names in GROUPS]
    if fields:
        groups.append(Group("Other", tuple(fields.values())))
    return tuple(g for g in groups if g.fields)


# Reading the form back ------------------------------------------------------------------------------------------


@dataclass
class Submitted:
    """The form as typed (to show again), the intake document built from it, and problems found on the way."""

    values: dict[str, Any] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)
    problems: list[FieldProblem] = field(default_factory=list)


_INTEGER = re.compile(r"[+-]?\d{1,12}")


def _number(text: str, integer: bool) -> int | float | str:
    """The number typed, or a problem (a string) saying why it is not one."""
    if integer:
        if not _INTEGER.fullmatch(text):
            return "must be a whole number"
        return int(text)
    try:
        value = float(text) if len(text) <= 40 else math.nan
    except ValueError:
        return "must be a number"
    return value if math.isfinite(value) else "must be a finite number"


def read_intake(form: Form, groups: Sequence[Group] | None = None) -> Submitted:
    submitted = Submitted()
    for group in groups or intake_groups():
        for f in group.fields:
            _read_field(form, f, submitted)
    return submitted


def _read_field(form: Form, f: Field, out: Submitted) -> None:
    if f.kind == "yesno" and f.children:
        answers = {}
        for child in f.children:
            raw = form.get(child.name)
            out.values[child.name] = raw
            if raw in ("yes", "no"):
                answers[child.name.rsplit(".", 1)[-1]] = raw == "yes"
        if answers:
            out.document[f.name] = answers
        return
    if f.kind == "flag":
        out.values[f.name] = f.name in form
        out.document[f.name] = f.name in form
    elif f.kind == "codes":
        chosen = [v for v in form.get_all(f.name) if v]
        out.values[f.name] = chosen
        out.document[f.name] = chosen
    elif f.kind == "lines":
        raw = form.get(f.name)
        out.values[f.name] = raw
        out.document[f.name] = [line.strip() for line in raw.splitlines() if line.strip()]
    elif f.kind == "choice":
        raw = form.get(f.name).strip()
        out.values[f.name] = raw
        if raw:
            out.document[f.name] = raw
    else:
        raw = form.get(f.name).strip()
        out.values[f.name] = raw
        if raw:
            number = _number(raw, f.kind == "integer")
            if isinstance(number, str):
                out.problems.append(FieldProblem(f.name, f"{number} (got {raw[:40]!r})"))
            else:
                out.document[f.name] = number


def empty_values(groups: Iterable[Group] | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for group in groups or intake_groups():
        for f in group.fields:
            for one in f.children or (f,):
                values[one.name] = [] if one.kind == "codes" else (False if one.kind == "flag" else "")
    return values


def errors_by_field(problems: Iterable[FieldProblem], names: Iterable[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Problems placed at the form field their path names; those naming no field are returned apart."""
    known = set(names)
    placed: dict[str, list[str]] = {}
    loose: list[str] = []
    for problem in problems:
        target = _field_for(problem.field, known)
        if target is None:
            loose.append(str(problem))
        else:
            placed.setdefault(target, []).append(problem.problem)
    return placed, loose


def _field_for(path: str, known: set[str]) -> str | None:
    candidates = [path, re.sub(r"\[\d+\]", "", path), path.split(".")[0].split("[")[0]]
    for candidate in candidates:
        if candidate in known:
            return candidate
    if path.startswith("asq"):
        return next((name for name in sorted(known) if name.startswith("asq.")), None)
    return None


def field_names(groups: Iterable[Group] | None = None) -> list[str]:
    return [one.name for group in (groups or intake_groups()) for f in group.fields for one in (f.children or (f,))]


def field_labels(groups: Iterable[Group] | None = None) -> dict[str, str]:
    """Each form field's label (an ASQ question by its number), for the error summary."""
    labels: dict[str, str] = {}
    for group in groups or intake_groups():
        for f in group.fields:
            labels[f.name] = f.label
            labels |= {child.name: f"ASQ question {child.name.rsplit('.q', 1)[-1]}" for child in f.children}
    return labels
