"""An intake sent as a FHIR R4 QuestionnaireResponse (`Content-Type: application/fhir+json`), for the routes that
take one: the response to the `ketaguide fhir questionnaire` Questionnaire is read back as the intake document
(`ketaguide.cdshooks.questionnaire.intake_from_response`), checked by the intake rules, and handed to the route as
the JSON body it would otherwise receive (`{"intake": ...}`, with `observed_at` from `authored` where the route
needs it). Every problem is a 422 problem detail naming the item's linkId, reported after authentication (a caller
without a valid token gets its 401 or 403 first), as a JSON body's field problems are.

A route opts in with `@questionnaire_intake()` under its `@router.<method>(...)`; its router uses `IntakeRoute`,
which is `StrictJSONRoute` for every other route and content type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from ketaguide.cdshooks.questionnaire import QUESTIONNAIRE_URL, intake_from_response
from ketaguide.domain.care.intake import parse_intake
from ketaguide.domain.errors import FieldProblem, InputError
from ketaguide.http.requests import StrictJSONRoute, read_json_body

FHIR_JSON = "application/fhir+json"
_MARK = "__ketaguide_questionnaire_intake__"
_LINK_ID = re.compile(r"[^\[]+")
_AWARE = TypeAdapter(AwareDatetime)
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def questionnaire_intake(*, observed_at: bool = False) -> Callable[[Endpoint], Endpoint]:
    """Mark a route as also taking a QuestionnaireResponse; `observed_at`: its body needs one (from `authored`)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _MARK, observed_at)
        return endpoint

    return mark


def request_body_schema(observed_at: bool) -> dict[str, Any]:
    """The `application/fhir+json` request body of a marked route, for its OpenAPI document."""
    required = ["resourceType", "questionnaire", "status", "item"] + (["authored"] if observed_at else [])
    properties: dict[str, Any] = {
        "resourceType": {"type": "string", "enum": ["QuestionnaireResponse"]},
        "questionnaire": {"type": "string", "description": f"{QUESTIONNAIRE_URL}, optionally |version"},
        "status": {"type": "string", "enum": ["completed", "amended"]},
        "item": {
            "type": "array",
            "items": {"type": "object", "required": ["linkId"], "properties": {"linkId": {"type": "string"}}},
            "description": "one item per intake field, linkId = the field's name (`ketaguide fhir questionnaire`)",
        },
    }
    if observed_at:
        properties["authored"] = {
            "type": "string",
            "format": "date-time",
            "description": "when the intake was taken, with its UTC offset (the encounter's observed_at)",
        }
    schema = {
        "type": "object",
        "title": "QuestionnaireResponse",
        "description": "A FHIR R4 QuestionnaireResponse to the KetaGuide intake Questionnaire, as the intake.",
        "required": required,
        "properties": properties,
    }
    return {"requestBody": {"content": {FHIR_JSON: {"schema": schema}}}}


def _is_fhir_json(content_type: str | None) -> bool:
    return content_type is not None and content_type.split(";")[0].strip().lower() == FHIR_JSON


def _link_id(field: str) -> str:
    """The linkId an intake field path belongs to: `criteria[2]` -> `criteria`, `asq.q1` -> `asq.q1`."""
    match = _LINK_ID.match(field)
    return match.group(0) if match else field


def body_from_response(document: object, observed_at: bool) -> dict[str, Any]:
    """The route's JSON body for a QuestionnaireResponse; InputError names each item by its linkId."""
    intake = intake_from_response(document)
    problems: list[FieldProblem] = []
    try:
        parse_intake(intake)
    except InputError as exc:
        problems += [FieldProblem(_link_id(p.field), f"item {_link_id(p.field)!r}: {p.problem}") for p in exc.problems]
    body: dict[str, Any] = {"intake": intake}
    if observed_at:
        assert isinstance(document, Mapping)  # intake_from_response checked it
        authored = document.get("authored")
        try:
            body["observed_at"] = _AWARE.validate_python(authored).isoformat()
        except ValidationError:
            problems.append(FieldProblem("authored", "is required: when the intake was taken, with its UTC offset"))
    if problems:
        raise InputError.of(problems)
    return body


class IntakeRoute(StrictJSONRoute):
    """`StrictJSONRoute`, and for a route marked `questionnaire_intake`: an `application/fhir+json` body is read as a
    QuestionnaireResponse and replaced by the intake body the route takes (documented in its OpenAPI operation)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        observed_at = getattr(endpoint, _MARK, None)
        if observed_at is not None:
            kwargs["openapi_extra"] = {**(kwargs.get("openapi_extra") or {}), **request_body_schema(observed_at)}
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        observed_at = getattr(self.endpoint, _MARK, None)
        if observed_at is None:
            return handler

        async def fhir_handler(request: Request) -> Response:
            if not _is_fhir_json(request.headers.get("content-type")):
                return await handler(request)
            document = await read_json_body(request)  # not JSON: refused now, as for a JSON body
            problems: InputError | None = None
            try:
                payload = json.dumps(body_from_response(document, observed_at)).encode()
            except InputError as exc:  # raised after authentication, as a JSON body's field problems are
                payload, problems = b"{}", exc
            try:
                return await handler(_as_json_request(request, payload))
            except RequestValidationError:
                if problems is not None:
                    raise problems from None
                raise

        return fhir_handler


def _as_json_request(request: Request, payload: bytes) -> Request:
    """The same request with `payload` as its `application/json` body."""
    headers = [(k, v) for k, v in request.scope["headers"] if k not in (b"content-type", b"content-length")]
    headers += [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}
        return await request.receive()

    return Request({**request.scope, "headers": headers}, receive)
