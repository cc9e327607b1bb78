"""KetaGuide's three CDS services, their prefetch templates and the data each one requires.

Prefetch templates use only the spec's recommended subset (instance read, type search, token equality) and
`{{context.patientId}}`. There is no pregnancy-status template: no pregnancy code is sourced in
docs/cds-hooks.md or clinical-reference.md, so KetaGuide reads pregnancy only from condition text (see
`ketaguide.cdshooks.chart`) and says so in every service description.
"""

from __future__ import annotations

from dataclasses import dataclass

from ketaguide.cdshooks.wire import ServiceDefinition

PATIENT = "patient"
CONDITIONS = "conditions"
MEDICATIONS = "medications"

PREFETCH: dict[str, str] = {
    PATIENT: "Patient/{{context.patientId}}",
    CONDITIONS: "Condition?patient={{context.patientId}}&clinical-status=active",
    MEDICATIONS: "MedicationRequest?patient={{context.patientId}}&status=active",
}

_SCOPE = (
    "KetaGuide answers only for a patient with ketamine use disorder on the problem list (ICD-10-CM F16.x, or SNOMED "
    "CT 724713006, 724715004, 724712001 or 724714000) or with an active or draft ketamine or esketamine order; for "
    "anyone else it returns no cards. Medicines are recognised by RxNorm code where KetaGuide holds a sourced one, "
    "otherwise by name (RxNorm display text included); a draft "
    "medicine KetaGuide cannot recognise gets a card saying it was not checked. Conditions other than ketamine use "
    "disorder, and pregnancy, are read from the condition's text (no sourced codes exist for them). Every card "
    "cites its evidence; the evidence for drug treatment of ketamine use disorder is of very low certainty."
)


@dataclass(frozen=True)
class CdsService:
    id: str
    hook: str
    title: str
    summary: str
    required: tuple[str, ...] = (PATIENT, CONDITIONS, MEDICATIONS)

    @property
    def prefetch(self) -> dict[str, str]:
        return {key: PREFETCH[key] for key in self.required}

    def definition(self) -> ServiceDefinition:
        return ServiceDefinition(
            hook=self.hook,
            title=self.title,
            description=f"{self.summary} {_SCOPE}",
            id=self.id,
            prefetch=self.prefetch,
        )


SERVICES: tuple[CdsService, ...] = (
    CdsService(
        id="ketaguide-patient-view",
        hook="patient-view",
        title="KetaGuide: ketamine use disorder safety check",
        summary=(
            "When the chart opens: what the chart shows to be dangerous for a person with ketamine use disorder "
            "(pregnancy, co-prescribed CNS depressants, medicines that interact with ketamine or with the care "
            "options), each with its evidence, and a link to the full assessment."
        ),
    ),
    CdsService(
        id="ketaguide-order-select",
        hook="order-select",
        title="KetaGuide: check a selected medicine",
        summary=(
            "When a medicine is selected: KetaGuide's interaction and care-plan rules for the selected draft "
            "MedicationRequests against the patient's conditions and active medicines."
        ),
    ),
    CdsService(
        id="ketaguide-order-sign",
        hook="order-sign",
        title="KetaGuide: check medicines before signing",
        summary=(
            "Before orders are signed: KetaGuide's interaction and care-plan rules for every draft "
            "MedicationRequest against the patient's conditions and active medicines."
        ),
    ),
)

SERVICES_BY_ID = {service.id: service for service in SERVICES}
