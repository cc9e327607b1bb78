"""Care-plan findings as CDS Hooks cards: each card says only what a finding of the care engine says, and cites it.

The care engine (`ketaguide.domain.care.plan.evaluate`, through the `assess` it is handed) decides; this module only
chooses which findings a hook shows and how they read:
- patient-view: every red flag and interaction of the chart, each craving/relapse drug option the chart makes a
  caution or contra-indication (`ketaguide.domain.care.option_review`), and a card linking to the full assessment
  that lists what KetaGuide could not check;
- order-select / order-sign: the findings that involve a draft medicine the hook is about (red flags, interactions,
  the drafted option's status), and a "not checked" card for each such draft KetaGuide cannot recognise or read
  (never a silent all clear).
The indicator comes from the finding's urgency, severity or status through three small tables below. When the
patient's chart shows no ketamine exposure (an esketamine order only), findings that rest on ketamine itself (the
engine assumes the person uses ketamine) are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ketaguide.cdshooks.chart import Chart, ChartMedicine, display_of
from ketaguide.cdshooks.options import OrderChecks, Ordered
from ketaguide.cdshooks.text import fit, literal, names, plain
from ketaguide.cdshooks.wire import Action, Card, Coding, Indicator, Link, Source, Suggestion
from ketaguide.contracts.care_plan import CarePlanReport
from ketaguide.domain.care.findings import Interaction, PrescribingCheck, RedFlag
from ketaguide.domain.care.interactions import SUBJECT_DRUG
from ketaguide.domain.care.option_review import (
    UNRECOGNISED,
    OptionReview,
    ReviewReason,
    for_component,
    merged,
    option_drugs,
)
from ketaguide.domain.care.rules import ClinicalContent
from ketaguide.domain.citing.references import ExternalCitation, QuoteCitation, Reference

URGENCY_INDICATOR: dict[str, Indicator] = {"emergency": "critical", "urgent": "warning", "routine": "info"}
SEVERITY_INDICATOR: dict[str, Indicator] = {
    "major": "warning",
    "moderate": "warning",
    "unrated": "warning",  # the risk is not graded, which is itself a reason to look
    "minor": "info",
}
# Option statuses (care-plan safety, issue #9): contraindicated stops the order, caution warns; others show no card.
STATUS_INDICATOR: dict[str, Indicator] = {"contraindicated": "critical", "caution": "warning"}
URGENCY_MEANING = {
    "emergency": "act now",
    "urgent": "the same day",
    "routine": "at the next planned contact",
}
RED_FLAG_TITLES = {
    "suicidal_ideation": "Suicidal ideation",
    "respiratory_depression": "Possible overdose (slowed breathing or unresponsive)",
    "psychosis": "Psychotic symptoms",
    "hematuria": "Haematuria",
    "upper_urinary_tract": "Possible upper urinary tract complication",
    "urinary_symptoms": "Lower urinary tract symptoms (ketamine uropathy?)",
    "pregnancy": "Pregnant or breastfeeding",
    "cns_depressant_co_use": "CNS depressant with ketamine",
}
# Red flags whose message is about ketamine itself: left out when the chart shows no ketamine exposure.
RESTS_ON_KETAMINE = frozenset({"cns_depressant_co_use"})
CARD_TYPE_SYSTEM = "urn:ketaguide:cds:card-type"
# CDS Hooks 3.0 example CodeSystem (docs/cds-hooks.md 1.4); the spec requires a display for each reason.
NON_ADHERENCE = "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes"
OVERRIDE_REASONS = (
    Coding(system=NON_ADHERENCE, code="cds-not-applicable", display="Not applicable to this patient"),
    Coding(system=NON_ADHERENCE, code="cds-suboptimal-context", display="Chart data incomplete or out of date"),
    Coding(system=NON_ADHERENCE, code="recipient-disagrees-evidence", display="I disagree with the evidence"),
    Coding(system=NON_ADHERENCE, code="does-not-align-preferences", display="Does not fit the patient's preferences"),
)


@dataclass(frozen=True)
class Presentation:
    """How cards point outside themselves: the source label, and URLs for evidence, schedules and the patient."""

    source_label: str
    evidence_url: Callable[[str], str | None]
    schedule_url: Callable[[Sequence[str]], str | None]
    assessment_link: Link | None = None


@dataclass(frozen=True)
class Finding:
    """A card before it has a uuid. `card_type` names the rule (for feedback counts and the evidence page)."""

    card_type: str
    indicator: Indicator
    summary: str
    detail: str
    remove: tuple[ChartMedicine, ...] = ()
    links: tuple[Link, ...] = ()


def indicator_for_urgency(urgency: str) -> Indicator:
    return URGENCY_INDICATOR[urgency]


def indicator_for_severity(severity: str) -> Indicator:
    return SEVERITY_INDICATOR[severity]


def indicator_for_status(status: str) -> Indicator | None:
    return STATUS_INDICATOR.get(status)


@dataclass
class _Index:
    """Which drug each name in the report stands for (formulary ids, generic names, and the displays the engine
    builds for the chart's medicines), so findings can be tied to the chart's medicines."""

    content: ClinicalContent
    chart: Chart
    by_name: dict[str, str] = field(default_factory=dict)
    as_written: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.formulary = self.content.formulary
        self.by_name.update(_formulary_names(self.content))
        for medicine in self.chart.medicines:
            shown = display_of(medicine, self.formulary)
            if shown is not None and medicine.drug is not None:
                self.by_name[shown] = medicine.drug
            # The engine names a medicine by what it was handed; the card names it as the chart writes it.
            for name in (shown, medicine.engine_name):
                if name:
                    self.as_written.setdefault(name, medicine.written)

    def drugs(self, shown: Iterable[str]) -> set[str]:
        return {self.by_name[s] for s in shown if s in self.by_name}

    def generic(self, drug: str) -> str:
        entry = self.formulary.entry(drug)
        return entry.generic if entry else drug.replace("_", " ")


def _formulary_names(content: ClinicalContent) -> dict[str, str]:
    """Each formulary id and generic name -> its id; built once per content (kept in its memo), not for every card."""
    names = content.memo.get("card_drug_names")
    if not isinstance(names, dict):
        names = dict[str, str]()
        for entry in content.formulary.medications:
            names.setdefault(entry.id, entry.id)
            names.setdefault(entry.generic, entry.id)
        content.memo["card_drug_names"] = names
    return names


class CardMapper:
    """The findings of one care plan that a hook shows, as `Finding`s (then `cards()` gives them uuids)."""

    def __init__(
        self,
        report: CarePlanReport,
        chart: Chart,
        content: ClinicalContent,
        presentation: Presentation,
        checks: OrderChecks | None = None,
    ) -> None:
        checks = checks or OrderChecks()
        self.monitoring = checks.monitoring
        self.report = report
        self.chart = chart
        self.presentation = presentation
        self.options = checks.options
        self.content = content
        self.index = _Index(content, chart)
        self.references = {r.n: r for r in report.references}

    # --- which findings -------------------------------------------------------------------------------------

    def patient_view(self) -> list[Finding]:
        flags = [self._red_flag(f) for f in self._red_flags()]
        interactions = [self._interaction(i, ()) for i in self._interactions()]
        # A caution that only says a chart medicine was not recognised is left to the assessment card.
        options = [self._option(c, ()) for c in self.options if any(r.rule_id != UNRECOGNISED for r in c.reasons)]
        prescribing = [self._prescribing(c, self.chart.medicines) for c in self.report.prescribing]
        return [*flags, *interactions, *options, *prescribing, self._assessment()]

    def order(self) -> list[Finding]:
        focus = [m for m in self.chart.focus if m.drug]
        focus_drugs = {m.drug for m in focus}
        findings = [
            self._red_flag(flag)
            for flag in self._red_flags()
            if focus and (self._flag_drugs(flag) & focus_drugs or not self._flag_drugs(flag))
        ]
        for interaction in self._interactions():
            involved = set(interaction.drugs) & focus_drugs
            if involved:
                findings.append(self._interaction(interaction, tuple(m for m in focus if m.drug in involved)))
        by_drug: dict[str, list[OptionReview]] = {}
        for check in self.options:
            components = option_drugs(check.option_id, self.content)
            for drug in sorted(components & focus_drugs):
                if check.for_drug not in (None, drug):
                    continue
                narrowed = for_component(check, drug, components) if len(components) > 1 else check
                if narrowed is not None:
                    by_drug.setdefault(drug, []).append(narrowed)
        for drug, checks in by_drug.items():
            findings.append(self._option(merged(checks), tuple(m for m in focus if m.drug == drug)))
        findings += [self._prescribing(c, focus) for c in self.report.prescribing if c.drug in focus_drugs]
        findings += [self._monitoring(o, tuple(m for m in focus if m.drug == o.drug)) for o in self.monitoring]
        findings += [self._not_recognised(m) for m in self.chart.focus if m.drug is None]
        unpaired = {n.drug: n.reason for n in self.report.not_checked if n.drug}
        findings += [self._not_paired(m, unpaired[m.drug]) for m in focus if m.drug in unpaired]
        findings += [self._not_read(d.reference, d.reason) for d in self.chart.unread_drafts]
        return findings

    def _red_flags(self) -> list[RedFlag]:
        flags = list(self.report.red_flags)
        return [f for f in flags if self.chart.ketamine_exposed or f.code not in RESTS_ON_KETAMINE]

    def _interactions(self) -> list[Interaction]:
        found = list(self.report.interactions)
        return [i for i in found if self.chart.ketamine_exposed or SUBJECT_DRUG not in i.drugs]

    def _flag_drugs(self, flag: RedFlag) -> set[str]:
        return self.index.drugs(flag.triggers)

    # --- how they read ----------------------------------------------------------------------------------------

    def _red_flag(self, flag: RedFlag) -> Finding:
        title = RED_FLAG_TITLES.get(flag.code, flag.code.replace("_", " ").capitalize())
        triggers = [self._written(t) for t in flag.triggers]
        short = list(dict.fromkeys(self._short(t) for t in flag.triggers))
        summary = f"{title}: {names(short)}" if self._flag_drugs(flag) else title
        detail = [
            flag.message,
            f"**Recorded in the chart:** {literal(names(triggers, 10))}." if triggers else "",
            f"**Urgency:** {flag.urgency} ({URGENCY_MEANING[flag.urgency]}; KetaGuide's convention, the sources rank "
            "no findings).",
        ]
        return Finding(
            card_type=f"red-flag.{flag.code}",
            indicator=indicator_for_urgency(flag.urgency),
            summary=fit(summary),
            detail=self._detail(detail, flag.citations),
        )

    def _interaction(self, interaction: Interaction, drafts: tuple[ChartMedicine, ...]) -> Finding:
        drugs = sorted(interaction.drugs, key=lambda d: d != SUBJECT_DRUG)
        severity = "Unrated" if interaction.severity == "unrated" else interaction.severity.capitalize()
        summary = f"{severity} interaction: {' with '.join(self.index.generic(d) for d in drugs)}"
        if interaction.severity == "unrated":
            summary += " (no label text held; check the label)"
        pairs = zip(interaction.drugs, interaction.written_as, strict=True)
        written = [literal(self._written(w)) for d, w in pairs if d != SUBJECT_DRUG]
        detail = [
            interaction.message,
            f"**In the chart:** {', '.join(written)}." if written else "",
            f"**Ordered now:** {', '.join(literal(m.written) for m in drafts)}." if drafts else "",
            f"**Severity:** {interaction.severity} (KetaGuide's interaction table: {interaction.rule_id}).",
        ]
        return Finding(
            card_type=f"interaction.{interaction.rule_id}",
            indicator=indicator_for_severity(interaction.severity),
            summary=fit(summary),
            detail=self._detail(detail, interaction.citations),
            links=self._schedule_link() if _about_lamotrigine_dosing(drugs) else (),
            remove=drafts if indicator_for_severity(interaction.severity) == "critical" else (),
        )

    def _option(self, check: OptionReview, drafts: tuple[ChartMedicine, ...]) -> Finding:
        indicator = indicator_for_status(check.status) or "info"
        drugs = sorted({m.drug for m in drafts if m.drug} or option_drugs(check.option_id, self.content))
        named = " and ".join(self.index.generic(d) for d in drugs)
        named = named if drafts else f"{named} (care option)"
        deciding = [r for r in check.reasons if r.effect == check.status] or list(check.reasons)
        triggers = list(dict.fromkeys(self._short(t) for r in deciding for t in r.triggers))
        status = "contra-indicated" if check.status == "contraindicated" else "caution"
        marked = "contra-indicated" if check.status == "contraindicated" else "as needing caution"
        summary = f"{named[0].upper()}{named[1:]}: {status} for this patient"
        summary += f" ({names(triggers, 2)})" if triggers else ""
        paragraphs = [
            f"KetaGuide's care-plan rules mark **{check.intervention}** {marked} for this patient"
            + ("." if check.offered else " (the option's own safety rules, applied to the chart)."),
            "\n".join(_reason_line(r, [self._written(t) for t in r.triggers]) for r in check.reasons),
            f"**Ordered now:** {', '.join(literal(m.written) for m in drafts)}." if drafts else "",
            check.dose_note or "",
        ]
        references = list(dict.fromkeys(ref for r in check.reasons for ref in r.references))
        return Finding(
            card_type=f"option.{check.option_id}.{check.status}",
            indicator=indicator,
            summary=fit(summary),
            detail="\n\n".join([*(p for p in paragraphs if p), evidence_markdown(references)]),
            remove=drafts if indicator == "critical" else (),
            links=self._schedule_link() if check.option_id == "lamotrigine" else (),
        )

    def _prescribing(self, check: PrescribingCheck, medicines: Sequence[ChartMedicine]) -> Finding:
        """A medicine a patient finding changes (`order_rules`): the drafts of it (order hooks) or its orders in the
        chart (patient-view)."""
        indicator = indicator_for_status(check.effect) or "info"
        generic = self.index.generic(check.drug)
        mine = [m for m in medicines if m.drug == check.drug]
        drafts = tuple(m for m in mine if m.draft)
        active = [literal(m.written) for m in mine if not m.draft]
        paragraphs = [
            check.message,
            f"**Recorded in the chart:** {literal(names([self._written(t) for t in check.triggers], 10))}."
            if check.triggers
            else "",
            f"**Ordered now:** {', '.join(literal(m.written) for m in drafts)}." if drafts else "",
            f"**Active order in the chart:** {', '.join(active)}." if active else "",
        ]
        return Finding(
            card_type=f"order.{check.rule_id}",
            indicator=indicator,
            summary=fit(f"{generic[0].upper()}{generic[1:]} ordered {check.title}"),
            detail=self._detail(paragraphs, check.citations),
            remove=drafts if indicator == "critical" else (),
        )

    def _monitoring(self, ordered: Ordered, drafts: tuple[ChartMedicine, ...]) -> Finding:
        item = ordered.item
        detail = [
            item.message,
            f"**Ordered now:** {', '.join(literal(m.written) for m in drafts)}." if drafts else "",
        ]
        return Finding(
            card_type=f"monitoring.{slug(item.item)}",
            indicator="info",
            summary=fit(f"Monitoring with {self.index.generic(ordered.drug)}: {item.item}"),
            detail=self._detail(detail, item.citations),
        )

    def _written(self, shown: str) -> str:
        """A trigger as the detail names it: a chart medicine as the chart writes it, a red flag by its title."""
        if shown in self.index.as_written:
            return self.index.as_written[shown]
        flag = shown.removeprefix("red flag: ").replace(" ", "_")
        return RED_FLAG_TITLES.get(flag, plain(shown)) if shown.startswith("red flag: ") else plain(shown)

    def _short(self, shown: str) -> str:
        """A trigger as the summary names it: the generic name of a chart medicine, a red flag by its title, else
        as the engine shows it."""
        drug = self.index.by_name.get(shown)
        if drug:
            return self.index.generic(drug)
        flag = shown.removeprefix("red flag: ").replace(" ", "_")
        if shown.startswith("red flag: ") and flag in RED_FLAG_TITLES:
            return RED_FLAG_TITLES[flag]
        return plain(shown)

    def _schedule_link(self) -> tuple[Link, ...]:
        """The lamotrigine escalation for the chart's medicines (none while a medicine is not recognised: the
        column cannot be chosen then)."""
        if any(m.drug is None for m in self.chart.medicines):
            return ()
        url = self.presentation.schedule_url(sorted(d for d in self.chart.drugs if d != "lamotrigine"))
        return (Link(label="Lamotrigine escalation for these medicines", url=url, type="absolute"),) if url else ()

    def _not_recognised(self, medicine: ChartMedicine) -> Finding:
        detail = (
            f"KetaGuide does not recognise **{literal(medicine.written)}** ({literal(medicine.reference)}), so it "
            'checked no interaction, contra-indication or dose rule for it. "Not listed" never means "no '
            'interaction": check the prescribing information.'
        )
        return Finding(
            card_type="not-checked.medicine",
            indicator="info",
            summary=fit(f"Not checked by KetaGuide: {medicine.written} (not in its formulary)"),
            detail=detail,
        )

    def _not_paired(self, medicine: ChartMedicine, reason: str) -> Finding:
        """A recognised medicine that no curated interaction pair names: the engine says it was not checked."""
        return Finding(
            card_type="not-checked.interactions",
            indicator="info",
            summary=fit(f"Interactions not checked by KetaGuide: {self.index.generic(str(medicine.drug))}"),
            detail=f"**{literal(medicine.written)}** ({literal(medicine.reference)}): {reason}.",
        )

    def _not_read(self, reference: str, reason: str) -> Finding:
        detail = (
            f"KetaGuide could not read draft order **{literal(reference)}** as FHIR R4 ({literal(reason)}), so it "
            "checked nothing for it."
        )
        return Finding(
            card_type="not-checked.order",
            indicator="info",
            summary=fit(f"Not checked by KetaGuide: draft order {reference} could not be read"),
            detail=detail,
        )

    def _assessment(self) -> Finding:
        chart = self.chart
        shown = [literal(k) for k in chart.kud] or ["an active ketamine or esketamine order"]
        unchecked = [literal(m.written) for m in chart.medicines if m.drug is None]
        detail = [
            f"The chart shows {', '.join(shown)}. The cards beside this one are what KetaGuide's rules find in the "
            "chart itself.",
            f"**Not checked** (not in KetaGuide's formulary): {', '.join(unchecked)}." if unchecked else "",
            "**Not in the chart for KetaGuide:** the DSM-5 criteria, time since last ketamine use, symptoms and "
            "other substances; the full assessment asks for them.",
            *(f"*{literal(note)}*" for note in chart.notes),
        ]
        link = self.presentation.assessment_link
        return Finding(
            card_type="assessment",
            indicator="info",
            summary="KetaGuide: ketamine use disorder assessment and care options",
            detail="\n\n".join(d for d in detail if d),
            links=(link,) if link else (),
        )

    def _detail(self, paragraphs: Sequence[str], citations: Sequence[int]) -> str:
        cited = list(dict.fromkeys(citations))
        disputes = [c for c in self.report.conflicts if set(c.citations) & set(cited)]
        for conflict in disputes:
            cited += [n for n in conflict.citations if n not in cited]
        parts = [p for p in paragraphs if p]
        parts += [f"**Sources disagree ({literal(c.topic)}):** {c.message}" for c in disputes]
        parts.append(evidence_markdown([self.references[n] for n in cited if n in self.references]))
        return "\n\n".join(parts)


def slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.casefold()).split())


def _about_lamotrigine_dosing(drugs: Sequence[str]) -> bool:
    """A pair of lamotrigine and a co-medicine (not ketamine: that pair is about effect, not dose)."""
    return "lamotrigine" in drugs and not {SUBJECT_DRUG, "esketamine"} & set(drugs)


def _reason_line(reason: ReviewReason, triggers: list[str]) -> str:
    label = "Contra-indicated" if reason.effect == "contraindicated" else "Caution"
    recorded = f" (recorded: {literal(names(triggers, 5))})" if triggers else ""
    lead = "" if reason.message.casefold().startswith(label.casefold()) else f"**{label}:** "
    return f"- {lead}{reason.message}{recorded}"


def evidence_markdown(references: Sequence[Reference]) -> str:
    """The cited evidence: verbatim quotes with their source and its reliability; named references with what they
    state and how confidently they were read."""
    lines = ["**Evidence**", ""]
    for n, reference in enumerate(references, 1):
        lines.append(f"{n}. {_reference_line(reference)}")
    return "\n".join(lines)


@lru_cache(maxsize=2048)
def _reference_line(reference: Reference) -> str:
    # Cached: references are content, shared between plans (`Bibliography`), and most cards cite the same few;
    # escaping their quotes was a third of building a card. The line does not depend on the reference's number.
    if isinstance(reference, QuoteCitation):
        design = reference.study_design.replace("_", " ")
        return (
            f"“{literal(reference.quote)}” — *{literal(reference.source_title)}* ({design}; source reliability: "
            f"{reference.source_reliability})"
        )
    assert isinstance(reference, ExternalCitation)
    where = f", {literal(reference.section)}" if reference.section else ""
    url = f" <{reference.url}>" if reference.url and reference.url.startswith(("https://", "http://")) else ""
    return (
        f"*{literal(reference.title)}* ({literal(reference.publisher)}{where}): {literal(reference.statement)} "
        f"(read with {reference.confidence} confidence){url}"
    )


def cards(findings: Sequence[Finding], presentation: Presentation, new_uuid: Callable[[], str]) -> list[Card]:
    """Cards with their uuids, source, override reasons and suggestions, most pressing first."""
    order = {"critical": 0, "warning": 1, "info": 2}
    return [_card(f, presentation, new_uuid) for f in sorted(findings, key=lambda f: order[f.indicator])]


def _card(finding: Finding, presentation: Presentation, new_uuid: Callable[[], str]) -> Card:
    topic = Coding(system=CARD_TYPE_SYSTEM, code=finding.card_type)
    source = Source(label=presentation.source_label, url=presentation.evidence_url(finding.card_type), topic=topic)
    suggestions = _removals(finding, new_uuid) if finding.indicator == "critical" else ()
    fields: dict[str, Any] = {
        "uuid": new_uuid(),
        "summary": finding.summary,
        "detail": finding.detail,
        "indicator": finding.indicator,
        "source": source,
        "links": finding.links or None,
        "overrideReasons": OVERRIDE_REASONS if finding.indicator != "info" else None,
    }
    if suggestions:
        fields |= {"suggestions": suggestions, "selectionBehavior": "at-most-one"}
    return Card(**fields)


def _removals(finding: Finding, new_uuid: Callable[[], str]) -> tuple[Suggestion, ...]:
    """One suggestion per draft the finding is about: remove it (the first recommended)."""
    return tuple(
        Suggestion(
            label=fit(f"Remove the draft order for {draft.written}", 80),
            uuid=new_uuid(),
            isRecommended=n == 0,
            actions=(Action(type="delete", description=f"Remove {draft.reference}", resourceId=draft.reference),),
        )
        for n, draft in enumerate(finding.remove)
    )
