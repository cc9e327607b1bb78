"""The intake as a FHIR R4 Questionnaire (`ketaguide fhir questionnaire`), and a QuestionnaireResponse to it read
back as an intake document (for the REST API's `application/fhir+json` intake).

The Questionnaire is generated from the intake model itself, so a new intake field fails the tests until it has
an item. Answer codes are KetaGuide's own intake codes in KetaGuide's own code systems (`urn:ketaguide:intake:*`):
no clinical terminology code is implied or invented. Converting a response checks the structure (which items, how
many answers, which value types and codes) and returns the intake document; the intake rules themselves are applied
afterwards by `parse_intake`, as for any intake.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ketaguide.domain.care.intake import AsqAnswers, Intake
from ketaguide.domain.errors import FieldProblem, InputError

QUESTIONNAIRE_URL = "urn:ketaguide:Questionnaire:intake"
CODE_SYSTEM = "urn:ketaguide:intake:"
_VALUE = {"integer": "valueInteger", "decimal": "valueDecimal", "boolean": "valueBoolean", "string": "valueString"}
_ANSWERED = ("completed", "amended")


def intake_questionnaire(version: str) -> dict[str, Any]:
    """The intake as a FHIR R4 Questionnaire (one item per intake field, linkId = the field's name)."""
    return {
        "resourceType": "Questionnaire",
        "id": "ketaguide-intake",
        "url": QUESTIONNAIRE_URL,
        "version": version,
        "name": "KetaGuideIntake",
        "title": "KetaGuide intake: ketamine use disorder assessment",
        "status": "active",
        "subjectType": ["Patient"],
        "description": (
            "What a clinician records before a KetaGuide assessment. Answer codes are KetaGuide's intake codes "
            "(`ketaguide schema intake`); a QuestionnaireResponse to this Questionnaire is accepted as an intake."
        ),
        "item": [_item(name, info) for name, info in Intake.model_fields.items()],
    }


def _item(name: str, info: FieldInfo) -> dict[str, Any]:
    kind, options, repeats = _kind(info.annotation)
    item: dict[str, Any] = {"linkId": name, "text": _text(name, info), "type": kind}
    if info.is_required():
        item["required"] = True
    if repeats:
        item["repeats"] = True
    if options:
        system = CODE_SYSTEM + name
        item["answerOption"] = [
            {"valueCoding": {"system": system, "code": code, "display": code.replace("_", " ")}} for code in options
        ]
    if kind == "group":
        item["item"] = [{**_item(sub, sub_info), "linkId": f"{name}.{sub}"} for sub, sub_info in _group(info).items()]
    return item


def _kind(annotation: Any) -> tuple[str, tuple[str, ...], bool]:
    """(item type, answer codes, repeats) of a field's annotation."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, types.UnionType):
        return _kind(args[0])
    if get_origin(annotation) is tuple:
        inner, _, _ = _kind(args[0])
        return inner, _codes(args[0]), True
    if get_origin(annotation) is Literal:
        return "choice", tuple(str(a) for a in get_args(annotation)), False
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return "choice", _codes(annotation), False
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "group", (), False
    simple = {bool: "boolean", int: "integer", float: "decimal", str: "string"}
    if annotation in simple:
        return simple[annotation], (), False
    raise TypeError(f"no Questionnaire item type for {annotation!r}")


def _codes(annotation: Any) -> tuple[str, ...]:
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return tuple(member.value for member in annotation)
    return ()


def _group(info: FieldInfo) -> dict[str, FieldInfo]:
    model = next(
        a for a in (info.annotation, *get_args(info.annotation)) if isinstance(a, type) and issubclass(a, BaseModel)
    )
    return dict(model.model_fields)


def _text(name: str, info: FieldInfo) -> str:
    label = name.replace("_", " ").replace("asq", "ASQ").replace("kg", "(kg)")
    label = label[0].upper() + label[1:]
    return f"{label}: {info.description}" if info.description else label


# --- QuestionnaireResponse -> intake --------------------------------------------------------------------------


def intake_from_response(document: object) -> dict[str, Any]:
    """The intake document a QuestionnaireResponse to the intake Questionnaire records; InputError lists every
    structural problem (which item, which answer)."""
    problems: list[FieldProblem] = []
    if not isinstance(document, Mapping) or document.get("resourceType") != "QuestionnaireResponse":
        raise InputError("resourceType", "must be QuestionnaireResponse")
    canonical = document.get("questionnaire")
    if not isinstance(canonical, str) or canonical.partition("|")[0] != QUESTIONNAIRE_URL:
        problems.append(FieldProblem("questionnaire", f"must be {QUESTIONNAIRE_URL} (optionally |version)"))
    if document.get("status") not in _ANSWERED:
        problems.append(
            FieldProblem("status", f"must be one of {', '.join(_ANSWERED)} (got {document.get('status')!r})")
        )
    intake = _answers(document.get("item"), Intake.model_fields, "item", "", problems)
    if problems:
        raise InputError.of(problems)
    return intake


def _answers(
    items: object, fields: Mapping[str, FieldInfo], where: str, prefix: str, problems: list[FieldProblem]
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for n, item in enumerate(items if isinstance(items, list) else []):
        path = f"{where}[{n}]"
        link = item.get("linkId") if isinstance(item, Mapping) else None
        name = link[len(prefix) :] if isinstance(link, str) and link.startswith(prefix) else None
        if name not in fields or name is None:
            problems.append(FieldProblem(f"{path}.linkId", f"unknown item {link!r}"))
            continue
        if name in found:
            problems.append(FieldProblem(f"{path}.linkId", f"item {link!r} is answered twice"))
            continue
        value = _value(item, name, f"{prefix}{name}", fields[name], path, problems)
        if value is not None:
            found[name] = value
    return found


def _value(
    item: Mapping[str, Any], name: str, link: str, info: FieldInfo, path: str, problems: list[FieldProblem]
) -> Any:
    kind, options, repeats = _kind(info.annotation)
    if kind == "group":
        asq = _answers(item.get("item"), AsqAnswers.model_fields, f"{path}.item", f"{name}.", problems)
        return asq or None
    answers = item.get("answer")
    answers = answers if isinstance(answers, list) else []
    if not answers:
        return None
    if len(answers) > 1 and not repeats:
        problems.append(FieldProblem(f"{path}.answer", f"item {link!r} takes one answer"))
        return None
    values = [_one(a, kind, name, link, options, f"{path}.answer[{i}]", problems) for i, a in enumerate(answers)]
    return values if repeats else values[0]


def _one(
    answer: object, kind: str, name: str, link: str, options: tuple[str, ...], path: str, problems: list[FieldProblem]
) -> Any:
    """One answer's value; each problem names the item's linkId (`link`)."""
    if not isinstance(answer, Mapping):
        problems.append(FieldProblem(path, f"item {link!r}: an answer must be an object"))
        return None
    if kind == "choice":
        coding = answer.get("valueCoding")
        if not isinstance(coding, Mapping) or coding.get("system") != CODE_SYSTEM + name:
            problems.append(FieldProblem(path, f"item {link!r}: must be a valueCoding in {CODE_SYSTEM + name}"))
            return None
        if coding.get("code") not in options:
            problems.append(FieldProblem(path, f"item {link!r}: unknown code {coding.get('code')!r}"))
        return coding.get("code")
    key = _VALUE[kind]
    value = answer.get(key)
    wrong = value is None or isinstance(value, bool) != (kind == "boolean")
    if wrong or (kind == "string" and not isinstance(value, str)) or (kind == "integer" and not isinstance(value, int)):
        problems.append(FieldProblem(path, f"item {link!r}: must be a {key}"))
        return None
    if kind == "decimal" and not isinstance(value, int | float):
        problems.append(FieldProblem(path, f"item {link!r}: must be a {key}"))
        return None
    return float(value) if kind == "decimal" and isinstance(value, int | float) else value
