"""One hook call, from the checked envelope to the cards: context, prefetch, chart, care engine, cards.

No HTTP here (the router is `ketaguide.http.cds_hooks`): `run_hook` takes the parsed request and the verified
caller, and raises `InvalidRequest` (400), `PreconditionFailed` (412) or lets a store's `StoreUnavailable` (503)
through. The care engine is handed in as `CareEngine.assess` (the service layer's `assess`), so the rules applied
are exactly `ketaguide assess`'s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from pydantic import ValidationError

from ketaguide.cdshooks.auth import Caller
from ketaguide.cdshooks.cards import CardMapper, Presentation, cards
from ketaguide.cdshooks.catalog import CdsService
from ketaguide.cdshooks.chart import Chart, read_chart
from ketaguide.cdshooks.fhir import Entry, entries
from ketaguide.cdshooks.options import chart_reviews, order_reviews
from ketaguide.cdshooks.prefetch import FhirAccess, FhirFetcher, Gathered, gather
from ketaguide.cdshooks.stores import IssuedCard
from ketaguide.cdshooks.wire import (
    Card,
    CdsResponse,
    HookRequest,
    Link,
    OrderSelectContext,
    OrderSignContext,
    PatientViewContext,
)
from ketaguide.contracts.care_plan import CarePlanReport
from ketaguide.knowledge.snapshot import KnowledgeSnapshot

CONTEXTS: dict[str, type[PatientViewContext | OrderSignContext]] = {
    "patient-view": PatientViewContext,
    "order-select": OrderSelectContext,
    "order-sign": OrderSignContext,
}


class InvalidRequest(Exception):
    """The request is malformed for this service: 400, with every problem found."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class CareEngine:
    """The content and the care engine as the server runs them (`assess` is the service layer's use case)."""

    knowledge: KnowledgeSnapshot
    assess: Callable[[Mapping[str, Any]], CarePlanReport]

    @property
    def version(self) -> str:
        return self.knowledge.version


@dataclass(frozen=True)
class Site:
    """Where KetaGuide is reached from outside (KETAGUIDE_PUBLIC_URL, or the URL the call came to)."""

    base_url: str
    patient_path: str = "/patients/fhir/{patient_id}"

    def evidence_url(self, version: str, card_type: str) -> str:
        return f"{self.base_url}/cds-evidence/{quote(version, safe='')}/{quote(card_type, safe='')}"

    def schedule_url(self, version: str, drugs: Sequence[str]) -> str:
        query = urlencode([("with", d) for d in drugs])
        return f"{self.base_url}/cds-evidence/{quote(version, safe='')}/lamotrigine-schedule" + (
            f"?{query}" if query else ""
        )


@dataclass(frozen=True)
class HookOutcome:
    response: CdsResponse
    issued: tuple[IssuedCard, ...]
    context: PatientViewContext | OrderSignContext
    chart: Chart | None
    gathered: Gathered


def parse_context(service: CdsService, request: HookRequest) -> PatientViewContext | OrderSignContext:
    """The hook's context, checked; 400 when the hook is not this service's or a required field is missing."""
    if request.hook != service.hook:
        raise InvalidRequest([f"hook: {request.hook!r} is not {service.hook!r}, the hook of {service.id}"])
    try:
        return CONTEXTS[service.hook].model_validate(request.context)
    except ValidationError as exc:
        raise InvalidRequest([f"context.{_where(e)}: {e['msg']}" for e in exc.errors()]) from None


def run_hook(
    service: CdsService,
    request: HookRequest,
    caller: Caller,
    engine: CareEngine,
    *,
    site: Site,
    fetcher: FhirFetcher,
    now: datetime,
    new_uuid: Callable[[], str],
    budget_seconds: float,
) -> HookOutcome:
    context = parse_context(service, request)
    drafts = _drafts(context)
    token = request.fhirAuthorization.access_token.get_secret_value() if request.fhirAuthorization else None
    access = FhirAccess(request.fhirServer, token, caller.client.may_fetch_from(request.fhirServer))
    deadline = time.perf_counter() + budget_seconds
    gathered = gather(service.required, request.prefetch, request.context, access, fetcher, deadline)
    selections = context.selections if isinstance(context, OrderSelectContext) else None
    chart = read_chart(gathered.data, drafts, selections, engine.knowledge.clinical.formulary, now.date())
    chart.notes += gathered.notes
    if not chart.in_scope:
        return HookOutcome(CdsResponse(cards=()), (), context, chart, gathered)
    intake = chart.intake()
    report = engine.assess(intake)
    presentation = _presentation(engine, site, context, caller)
    content, pack = engine.knowledge.clinical, engine.knowledge.pack
    if service.hook == "patient-view":
        checks = chart_reviews(chart, report, content, pack)
    else:
        checks = order_reviews(chart, report, content, pack)
    mapper = CardMapper(report, chart, content, presentation, checks)
    findings = mapper.patient_view() if service.hook == "patient-view" else mapper.order()
    issued_cards = cards(findings, presentation, new_uuid)
    issued = _issued(issued_cards, service, request, caller, now)
    return HookOutcome(CdsResponse(cards=tuple(issued_cards)), issued, context, chart, gathered)


def _drafts(context: PatientViewContext | OrderSignContext) -> list[Entry]:
    if not isinstance(context, OrderSignContext):
        return []
    return list(entries(context.draftOrders, "context.draftOrders"))


def _presentation(engine: CareEngine, site: Site, context: Any, caller: Caller) -> Presentation:
    version = engine.version
    launch = caller.client.smart_launch_url
    if launch:
        link = Link(
            label="Open the KetaGuide assessment", url=launch, type="smart", appContext=f"patient={context.patientId}"
        )
    else:
        url = site.base_url + site.patient_path.format(patient_id=quote(context.patientId, safe=""))
        link = Link(label="Open the KetaGuide assessment", url=url, type="absolute")
    return Presentation(
        source_label=f"KetaGuide (content {version})",
        evidence_url=lambda card_type: site.evidence_url(version, card_type),
        schedule_url=lambda drugs: site.schedule_url(version, drugs),
        assessment_link=link,
    )


def _issued(
    issued_cards: Sequence[Card], service: CdsService, request: HookRequest, caller: Caller, now: datetime
) -> tuple[IssuedCard, ...]:
    return tuple(
        IssuedCard(
            uuid=card.uuid,
            service_id=service.id,
            hook_instance=str(request.hookInstance),
            iss=caller.iss,
            card_type=card.source.topic.code if card.source.topic else "unknown",
            indicator=card.indicator,
            suggestions=tuple(s.uuid for s in card.suggestions or () if s.uuid),
            issued_at=now,
        )
        for card in issued_cards
    )


def _where(error: Mapping[str, Any]) -> str:
    return ".".join(str(p) for p in error.get("loc", ())) or "context"
