"""The care options' safety rules for the medicines in a chart and its draft orders: the CDS Hooks side of the care
engine's option review (`ketaguide.domain.care.option_review`, which says why the plan alone is not enough).

- patient-view: the craving and relapse-prevention drug options that the chart makes a caution or contra-indication;
- order-select / order-sign: for each ordered drug, the patient as they are without that order (so "already taking
  lamotrigine" or a QT-prolonging drug is not the drafted drug itself): the reviews of the options about that drug,
  and the monitoring the order adds to the plan.

Both come from the one care plan of the chart as it is: its diagnosis and phase (which no medicine changes) and the
engine's staged facts for the intake without the order; no second plan is run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ketaguide.cdshooks.chart import Chart
from ketaguide.contracts.care_plan import CarePlanReport
from ketaguide.domain.care.findings import MonitoringItem
from ketaguide.domain.care.intake import parse_intake
from ketaguide.domain.care.option_review import (
    OptionReview,
    StagedFacts,
    monitoring_items,
    option_drugs,
    review_options,
    staged_facts,
)
from ketaguide.domain.care.rules import ClinicalContent
from ketaguide.domain.evidence.pack import KnowledgePack


@dataclass(frozen=True)
class Ordered:
    """A monitoring item the plan gains because `drug` is ordered (it is not in the plan without the order)."""

    drug: str
    item: MonitoringItem


@dataclass
class OrderChecks:
    """What the care engine says of the ordered drugs (or, for patient-view, of the chart's drug options): option
    reviews, and the monitoring items of the plan that only an order brings."""

    options: list[OptionReview] = field(default_factory=list)
    monitoring: list[Ordered] = field(default_factory=list)


def chart_reviews(chart: Chart, report: CarePlanReport, content: ClinicalContent, pack: KnowledgePack) -> OrderChecks:
    """patient-view: each craving and relapse-prevention drug option that is a caution or contra-indicated (for
    ketamine use disorder, so only when it is on the chart)."""
    if not chart.kud:
        return OrderChecks()
    staged = _staged(chart.intake(), report, content)
    notes = _dose_notes(report)
    return OrderChecks(options=review_options(staged, content, pack, None, experimental_only=True, dose_notes=notes))


def order_reviews(chart: Chart, report: CarePlanReport, content: ClinicalContent, pack: KnowledgePack) -> OrderChecks:
    """For each ordered drug, against the patient without its orders: the option reviews about it, and the
    monitoring items of the plan that only the order brings."""
    ordered = sorted({m.drug for m in chart.focus if m.drug})
    about = {d for option in content.options for d in option_drugs(option.id, content)}
    notes = _dose_notes(report)
    checks = OrderChecks()
    for drug in ordered:
        staged = _staged(chart.intake(without_orders_of=drug), report, content)
        if drug in about:
            found = review_options(staged, content, pack, {drug}, dose_notes=notes)
            checks.options += [replace(review, for_drug=drug) for review in found]
        known = monitoring_items(staged, content)
        checks.monitoring += [Ordered(drug, item) for item in report.monitoring if item.item not in known]
    return checks


def _staged(intake_document: Mapping[str, Any], report: CarePlanReport, content: ClinicalContent) -> StagedFacts:
    return staged_facts(parse_intake(intake_document), content, report.diagnosis, report.phase)


def _dose_notes(report: CarePlanReport) -> dict[str, str]:
    """The plan's dose column per option. It depends only on co-medications that select a column (valproate, an
    enzyme inducer) and on names not recognised, never on the option's own drug, so the chart's plan gives the
    note for the patient without that drug's order too (checked against the plan by a test)."""
    return {o.id: o.dose_column.message for o in report.options if o.dose_column}
