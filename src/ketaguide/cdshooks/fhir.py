"""FHIR R4 read tolerantly, entry by entry: what KetaGuide needs from Patient, Condition and MedicationRequest.

Real clients send sloppy FHIR (docs/cds-hooks.md section 7.1.3): the spec's own R4 examples use the STU3 dosage
shape, the sandbox sends `category` as an object and no `Bundle.type`, the hook library's NutritionOrder has no
`intent`. So each entry is read on its own and leniently for the few fields KetaGuide uses, and validated with
`fhir.resources.R4B` to *report* what is wrong with it when that must be said (a draft that cannot be read): one
malformed NutritionOrder never hides the MedicationRequest beside it, and a MedicationRequest with a bad `category`
still has its medicine checked. A resource type that is not
in FHIR R4 (a DSTU2 `MedicationOrder`) is reported, not read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
# Medication orders of earlier FHIR versions: a draft of one of these is reported as not checked.
NOT_R4_MEDICATION_ORDERS = frozenset({"MedicationOrder", "MedicationPrescription"})
_VALIDATED = ("Patient", "Condition", "MedicationRequest", "Medication", "OperationOutcome")
_MAX_PROBLEMS = 3


@dataclass(frozen=True)
class Code:
    system: str | None
    code: str | None
    display: str | None


@dataclass(frozen=True)
class CodedText:
    """A CodeableConcept as read: its codings and its text, whatever survived a malformed shape."""

    codings: tuple[Code, ...] = ()
    text: str | None = None

    @property
    def texts(self) -> tuple[str, ...]:
        """The human-readable names: the text first, then each coding's display, each once."""
        names = [self.text, *(c.display for c in self.codings)]
        return tuple(dict.fromkeys(n for n in names if n))

    def codes(self, system: str) -> tuple[str, ...]:
        return tuple(c.code for c in self.codings if c.system == system and c.code)


class Entry:
    """One resource of a Bundle (or a resource on its own), where it was, and why it is not valid FHIR R4.

    `problems` is computed when first asked for: validating every prefetched entry costs about half a millisecond
    each, and the reasons are needed only to explain a draft that cannot be read."""

    def __init__(self, where: str, resource: Mapping[str, Any], problems: tuple[str, ...] | None = None) -> None:
        self.where = where
        self.resource = resource
        self._problems = problems

    @property
    def problems(self) -> tuple[str, ...]:
        if self._problems is None:
            self._problems = r4_problems(self.resource)
        return self._problems

    @property
    def resource_type(self) -> str | None:
        return _text(self.resource.get("resourceType"))

    @property
    def id(self) -> str | None:
        return _text(self.resource.get("id"))

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}" if self.id else f"{self.resource_type} ({self.where})"


@dataclass(frozen=True)
class PatientRecord:
    id: str | None
    gender: str | None
    birth_date: str | None


@dataclass(frozen=True)
class ConditionRecord:
    reference: str
    code: CodedText
    clinical_status: str | None
    verification_status: str | None
    subject: str | None


@dataclass(frozen=True)
class MedicationRecord:
    reference: str
    status: str | None
    medicine: CodedText
    subject: str | None
    entry: Entry

    @property
    def problems(self) -> tuple[str, ...]:
        """Why the request is not valid FHIR R4 (validated when first asked: only an unreadable draft needs it)."""
        return self.entry.problems


def warm_up() -> None:
    """Import the R4B models now (about 0.4 s), so the first hook call does not pay for it."""
    for resource_type in _VALIDATED:
        _model(resource_type)


def entries(value: Mapping[str, Any], where: str) -> Iterator[Entry]:
    """The resources of a Bundle (each entry on its own), or the resource itself; malformed entries are skipped."""
    if value.get("resourceType") != "Bundle":
        yield Entry(where, value)
        return
    raw = value.get("entry")
    for n, item in enumerate(raw if isinstance(raw, list) else []):
        resource = item.get("resource") if isinstance(item, Mapping) else None
        if isinstance(resource, Mapping):
            yield Entry(f"{where}.entry[{n}]", resource)


def r4_problems(resource: Mapping[str, Any]) -> tuple[str, ...]:
    """Why `resource` is not valid FHIR R4 (checked as R4B), at most three reasons; empty when it is valid.

    Only the types KetaGuide reads are validated; others are skipped (they are not read either).
    """
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return ("no resourceType",)
    if resource_type in NOT_R4_MEDICATION_ORDERS:
        return (f"{resource_type} is not a FHIR R4 resource (KetaGuide reads FHIR R4)",)
    model = _model(resource_type) if resource_type in _VALIDATED else None
    if model is None:
        return ()
    try:
        model.model_validate(dict(resource))
    except ValidationError as exc:
        return tuple(_problem(e) for e in exc.errors()[:_MAX_PROBLEMS])
    except (TypeError, ValueError) as exc:  # fhir.resources raises plain errors for some shapes
        return (str(exc)[:200],)
    return ()


@cache
def _model(resource_type: str) -> type[BaseModel] | None:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        model: type[BaseModel] = get_fhir_model_class(resource_type)
    except (ValueError, KeyError, ImportError):
        return None
    return model


def _problem(error: Mapping[str, Any]) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()))
    return f"{location}: {error.get('msg', 'invalid')}" if location else str(error.get("msg", "invalid"))


def is_operation_outcome(value: object) -> bool:
    return isinstance(value, Mapping) and value.get("resourceType") == "OperationOutcome"


def outcome_errors(value: Mapping[str, Any]) -> tuple[str, ...]:
    """The error and fatal issues of an OperationOutcome, or of the OperationOutcome entries of a Bundle."""
    outcomes = (
        [value]
        if is_operation_outcome(value)
        else [e.resource for e in entries(value, "") if e.resource_type == "OperationOutcome"]
    )
    found = []
    for outcome in outcomes:
        issues = outcome.get("issue")
        for issue in issues if isinstance(issues, list) else []:
            if isinstance(issue, Mapping) and issue.get("severity") in ("error", "fatal"):
                found.append(_text(issue.get("diagnostics")) or _text(issue.get("code")) or "error")
    return tuple(found)


def _is_outcome(entry: Entry) -> bool:
    return entry.resource_type == "OperationOutcome"


def coded(value: object) -> CodedText:
    """A CodeableConcept read leniently: a `coding` given as one object is read too; bad parts are skipped."""
    if not isinstance(value, Mapping):
        return CodedText()
    raw = value.get("coding")
    items = [raw] if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []
    codings = tuple(
        Code(_text(c.get("system")), _text(c.get("code")), _text(c.get("display")))
        for c in items
        if isinstance(c, Mapping)
    )
    return CodedText(codings, _text(value.get("text")))


def read_patient(resource: Mapping[str, Any]) -> PatientRecord:
    return PatientRecord(_text(resource.get("id")), _text(resource.get("gender")), _text(resource.get("birthDate")))


def read_condition(entry: Entry) -> ConditionRecord:
    resource = entry.resource
    return ConditionRecord(
        reference=entry.reference,
        code=coded(resource.get("code")),
        clinical_status=_status_code(resource.get("clinicalStatus")),
        verification_status=_status_code(resource.get("verificationStatus")),
        subject=_reference(resource.get("subject")),
    )


def read_medication_request(entry: Entry, medications: Mapping[str, Mapping[str, Any]]) -> MedicationRecord:
    """The medicine of a MedicationRequest: its CodeableConcept, or the Medication it references (contained,
    or elsewhere in the same Bundle), or at least the reference's display."""
    resource = entry.resource
    medicine = coded(resource.get("medicationCodeableConcept"))
    reference = resource.get("medicationReference")
    if not medicine.texts and not medicine.codings and isinstance(reference, Mapping):
        medicine = _referenced_medicine(resource, reference, medications)
    return MedicationRecord(
        reference=entry.reference,
        status=_text(resource.get("status")),
        medicine=medicine,
        subject=_reference(resource.get("subject")),
        entry=entry,
    )


def medications_by_reference(found: Sequence[Entry]) -> dict[str, Mapping[str, Any]]:
    """The Medication resources among `found`, by `Medication/id`."""
    return {f"Medication/{e.id}": e.resource for e in found if e.resource_type == "Medication" and e.id}


def _referenced_medicine(
    resource: Mapping[str, Any], reference: Mapping[str, Any], medications: Mapping[str, Mapping[str, Any]]
) -> CodedText:
    target = _text(reference.get("reference")) or ""
    medication = medications.get(target)
    if target.startswith("#"):
        contained = resource.get("contained")
        for item in contained if isinstance(contained, list) else []:
            if isinstance(item, Mapping) and item.get("id") == target[1:]:
                medication = item
    if medication is not None:
        found = coded(medication.get("code"))
        if found.texts or found.codings:
            return found
    return CodedText(text=_text(reference.get("display")))


def _status_code(value: object) -> str | None:
    found = coded(value)
    return next((c.code for c in found.codings if c.code), None) if found.codings else found.text


def _reference(value: object) -> str | None:
    return _text(value.get("reference")) if isinstance(value, Mapping) else None


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
