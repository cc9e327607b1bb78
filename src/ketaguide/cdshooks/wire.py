"""CDS Hooks 2.0.1 wire models: the request envelope (strict), the response (cards), discovery and feedback.

The envelope is parsed strictly: an unknown top-level member, a `hookInstance` that is not a UUID, a `patientId`
that is not a FHIR id ("Patient/123") or `fhirAuthorization` without `fhirServer` (invariant cds-r-1) is a 400.
The FHIR resources inside it are not parsed here: `ketaguide.cdshooks.fhir` reads them entry by entry, tolerantly.

Responses follow the spec's "Use of JSON" rule: no member is null or empty (`""`, `[]`, `{}`), apart from
`{"cards": []}`; `dump()` leaves out every unset member and the models refuse empty values, so a builder that
forgot to leave one out fails in the tests, not in an EHR.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

# FHIR R4 `id`: [A-Za-z0-9\-\.]{1,64} (datatypes.html#id).
FHIR_ID = r"^[A-Za-z0-9\-.]{1,64}$"
# The summary is "<140-character" (spec: Card Attributes): at most 139.
MAX_SUMMARY = 139
Indicator = Literal["info", "warning", "critical"]
_USER_TYPES = ("Practitioner", "PractitionerRole", "Patient", "RelatedPerson")


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FhirAuthorization(_Envelope):
    """The client's OAuth token for its FHIR server: transient, never logged, stored or echoed."""

    access_token: SecretStr = Field(min_length=1)
    token_type: Literal["Bearer"]
    expires_in: int = Field(strict=True, ge=0)
    scope: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    patient: str | None = Field(None, pattern=FHIR_ID)


class HookRequest(_Envelope):
    """A hook call (spec: HTTP Request). `context` and `prefetch` are checked per hook and per key later."""

    hook: str = Field(min_length=1)
    hookInstance: UUID
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None

    @field_validator("fhirServer")
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", value):
            raise ValueError("must be an absolute http(s) URL without query or fragment")
        return value.rstrip("/") if value is not None else None

    @model_validator(mode="after")
    def _server_with_authorization(self) -> HookRequest:
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirAuthorization requires fhirServer (invariant cds-r-1)")
        return self


class _Context(BaseModel):
    # Hooks gain context fields over versions (the hook library's change logs); unknown ones are ignored.
    model_config = ConfigDict(extra="ignore", frozen=True)

    userId: str
    patientId: str = Field(pattern=FHIR_ID)
    encounterId: str | None = Field(None, pattern=FHIR_ID)

    @field_validator("userId")
    @classmethod
    def _typed_reference(cls, value: str) -> str:
        kind, _, ident = value.partition("/")
        if kind not in _USER_TYPES or not re.match(FHIR_ID, ident):
            raise ValueError(f"must be {', '.join(_USER_TYPES)} followed by '/' and an id")
        return value


class PatientViewContext(_Context):
    """patient-view (CDS Hooks Library): the chart of `patientId` was opened by `userId`."""


class OrderSignContext(_Context):
    """order-sign: `draftOrders` is a Bundle of the orders about to be signed."""

    draftOrders: dict[str, Any]

    @field_validator("draftOrders")
    @classmethod
    def _bundle(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("resourceType") != "Bundle":
            raise ValueError("must be a FHIR Bundle")
        if not isinstance(value.get("entry", []), list):
            raise ValueError("Bundle.entry must be an array")
        return value


class OrderSelectContext(OrderSignContext):
    """order-select: `selections` names the newly selected orders (`Type/id`) among `draftOrders`."""

    selections: tuple[str, ...] = Field(min_length=1)


# --- response -----------------------------------------------------------------------------------------------


_SIZED = (str, tuple, list, dict)


class _Out(BaseModel):
    """A response member: unset members are left out and nothing may be empty (spec: Use of JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _nothing_empty(self) -> _Out:
        for name, value in self.__dict__.items():
            if isinstance(value, _SIZED) and not value and name != "cards":
                raise ValueError(f"{name} must be left out rather than empty")
        return self

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def dump_json(self) -> bytes:
        """`dump()` as UTF-8 JSON, compact (what an HTTP answer carries), serialised without the dict between."""
        return self.model_dump_json(exclude_none=True).encode()


class Coding(_Out):
    system: str
    code: str
    display: str | None = None


class Source(_Out):
    label: str
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(_Out):
    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None
    resourceId: str | None = None

    @model_validator(mode="after")
    def _target(self) -> Action:
        # cds-resp-2/5: create and update carry the resource; delete names it by resourceId.
        if self.type == "delete" and (self.resourceId is None or self.resource is not None):
            raise ValueError("a delete action names its target by resourceId")
        if self.type != "delete" and self.resource is None:
            raise ValueError(f"a {self.type} action carries the resource")
        return self


class Suggestion(_Out):
    label: str
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: tuple[Action, ...] | None = None


class Link(_Out):
    label: str
    url: str
    type: Literal["absolute", "smart"]
    appContext: str | None = None
    autolaunchable: bool | None = None

    @model_validator(mode="after")
    def _app_context_for_smart(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is only for smart links (cds-resp-3)")
        if not self.url.startswith("https://") and not self.url.startswith("http://"):
            raise ValueError("links must be absolute http(s) URLs")
        return self


class Card(_Out):
    uuid: str
    summary: str = Field(max_length=MAX_SUMMARY)
    detail: str | None = None
    indicator: Indicator
    source: Source
    suggestions: tuple[Suggestion, ...] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: tuple[Coding, ...] | None = None
    links: tuple[Link, ...] | None = None

    @model_validator(mode="after")
    def _card_invariants(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("suggestions require selectionBehavior (cds-resp-6)")
        if self.selectionBehavior == "at-most-one" and sum(bool(s.isRecommended) for s in self.suggestions or ()) > 1:
            raise ValueError("at most one suggestion may be recommended with at-most-one (cds-resp-1)")
        if any(r.display is None for r in self.overrideReasons or ()):
            raise ValueError("every override reason has a display (cds-resp-4)")
        return self


class CdsResponse(_Out):
    cards: tuple[Card, ...]
    systemActions: tuple[Action, ...] | None = None


class ServiceDefinition(_Out):
    hook: str
    title: str
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


class Discovery(_Out):
    services: tuple[ServiceDefinition, ...]


# --- feedback (spec: Feedback) --------------------------------------------------------------------------------


class AcceptedSuggestion(_Envelope):
    id: str = Field(min_length=1)


class ReasonCoding(_Envelope):
    """An override reason as the client sends it (the sandbox leaves `display` out)."""

    code: str = Field(min_length=1)
    system: str = Field(min_length=1)
    display: str | None = None


class OverrideReason(_Envelope):
    reason: ReasonCoding | None = None
    userComment: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _something(self) -> OverrideReason:
        if self.reason is None and not self.userComment:
            raise ValueError("an override reason needs a reason or a userComment (cds-fb-3)")
        return self


class FeedbackItem(_Envelope):
    card: str = Field(min_length=1, max_length=64)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: tuple[AcceptedSuggestion, ...] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: AwareDatetime

    @model_validator(mode="after")
    def _consistent(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("an accepted card names its acceptedSuggestions (cds-fb-2)")
        if self.outcome == "accepted" and self.overrideReason is not None:
            raise ValueError("overrideReason is for overridden cards")
        if self.outcome == "overridden" and self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions are for accepted cards")
        return self


class FeedbackRequest(_Envelope):
    feedback: tuple[FeedbackItem, ...] = Field(min_length=1, max_length=100)


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> dict[str, Any]:
    """A FHIR OperationOutcome with one issue, the body of a non-2xx answer (CDS Hooks 3.0, STU note)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }
