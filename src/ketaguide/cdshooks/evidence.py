"""The pages a card links to: the evidence behind a card type, and the lamotrigine escalation for co-medicines.

Cards carry `source.url` = `{base}/cds-evidence/{content version}/{card type}`: the rule as the content states it
and every reference it cites (verbatim quotes with their source's reliability). The version in the URL is the
content release the card was made from; a server holding another release answers 404 rather than show evidence
the card was not made from. The pages hold no patient data: they are per rule, and the schedule page is per set of
generic medicine ids.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from ketaguide.cdshooks.cards import RED_FLAG_TITLES, slug
from ketaguide.domain.care.dosing import lamotrigine_schedule
from ketaguide.domain.care.interactions import DrugEntry
from ketaguide.domain.care.rules import ClinicalContent
from ketaguide.domain.citing.citer import Citer, Cites
from ketaguide.domain.citing.references import ExternalCitation, QuoteCitation, Reference
from ketaguide.knowledge.snapshot import KnowledgeSnapshot

_EXPLAINED = {
    "not-checked.medicine": (
        "Medicines KetaGuide did not check",
        "KetaGuide checks only the medicines in its formulary, against the curated interaction pairs and care-plan "
        'rules of its content. A medicine it does not recognise is reported as not checked: "not listed" never '
        'means "no interaction". The formulary holds: {formulary}.',
    ),
    "not-checked.interactions": (
        "Medicines no interaction pair names",
        "KetaGuide checks interactions only against its curated pairs; a medicine that no pair names was not "
        'checked for interactions, and "not listed" never means "no interaction".',
    ),
    "not-checked.order": (
        "Draft orders KetaGuide could not read",
        "KetaGuide reads FHIR R4. A draft order of another FHIR version (a DSTU2 MedicationOrder, for example), or "
        "one whose medicine cannot be read, is reported as not checked rather than passed silently.",
    ),
    "assessment": (
        "The KetaGuide assessment",
        "From the chart KetaGuide reads age, sex, conditions (ketamine use disorder by ICD-10-CM F16.x or SNOMED "
        "CT code; other conditions and pregnancy from their text) and active medicines. The DSM-5 criteria, time "
        "since last ketamine use, symptoms and other substances are not in the chart for KetaGuide: the full "
        "assessment asks for them.",
    ),
}


@dataclass(frozen=True)
class Page:
    title: str
    paragraphs: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    table: tuple[tuple[str, str], ...] = ()


def evidence_page(knowledge: KnowledgeSnapshot, card_type: str) -> Page | None:
    """The rule behind `card_type` and its cited evidence; None for a type the content does not have."""
    content = knowledge.clinical
    kind, _, name = card_type.partition(".")
    if card_type in _EXPLAINED:
        title, text = _EXPLAINED[card_type]
        formulary = ", ".join(sorted(e.generic for e in content.formulary.medications))
        return Page(title, (text.format(formulary=formulary),))
    if kind == "interaction":
        rule = next((r for r in content.interactions if r.id == name), None)
        if rule is not None:
            between = " with ".join(
                " or ".join(s.partition(":")[2].replace("_", " ") for s in side) for side in rule.between
            )
            return _cited(knowledge, f"Interaction: {between} ({rule.severity})", (rule.message,), rule.cites)
    if kind == "red-flag":
        flag = next((r for r in content.red_flags if r.code == name), None)
        if flag is not None:
            return _cited(
                knowledge, f"{RED_FLAG_TITLES.get(flag.code, flag.code)} ({flag.urgency})", (flag.message,), flag.cites
            )
    if kind == "monitoring":
        item = next((m for m in content.monitoring if slug(m.item) == name), None)
        if item is not None:
            return _cited(knowledge, f"Monitoring: {item.item}", (item.message,), item.cites)
    if kind == "order":
        order = next((r for r in content.order_rules if r.id == name), None)
        if order is not None:
            drugs = " or ".join(_generic(content, d) for d in order.drugs)
            return _cited(
                knowledge, f"{drugs[0].upper()}{drugs[1:]} ordered {order.title}", (order.message,), order.cites
            )
    if kind == "option":
        option = next((o for o in content.options if o.id == name.partition(".")[0]), None)
        if option is not None:
            option_rules = [r for r in content.option_rules if option.id in r.options]
            cites = option.cites
            for option_rule in option_rules:
                cites = cites + option_rule.cites if option_rule.cites else cites
            notes = (*option.notes, *(f"{r.effect.replace('_', ' ').capitalize()}: {r.note}" for r in option_rules))
            return _cited(knowledge, option.intervention, notes, cites)
    return None


def schedule_page(knowledge: KnowledgeSnapshot, drug_ids: Sequence[str]) -> Page:
    """The label's lamotrigine escalation for these co-medicines (formulary ids), with its notes and evidence."""
    content = knowledge.clinical
    co_medications: list[tuple[str, DrugEntry]] = []
    for drug_id in drug_ids:
        entry = content.formulary.entry(drug_id)
        if entry is not None:
            co_medications.append((entry.generic, entry))
    citer = Citer(knowledge.pack, content.references)
    schedule = lamotrigine_schedule(co_medications, None, content.lamotrigine, citer)
    regimen = schedule.regimen
    paragraphs = (
        f"Column: {regimen.applies_to} ({'; '.join(schedule.reasons)}).",
        *(note.text for note in schedule.notes),
        "Age is not taken into account on this page: under 18, see the full assessment.",
    )
    table = tuple((step.weeks, step.dose + (" (target)" if step.target else "")) for step in regimen.steps)
    return Page("Lamotrigine escalation (label table)", paragraphs, schedule.references, table)


def _generic(content: ClinicalContent, drug_id: str) -> str:
    entry = content.formulary.entry(drug_id)
    return entry.generic if entry is not None else drug_id


def _cited(knowledge: KnowledgeSnapshot, title: str, paragraphs: Sequence[str], cites: Cites) -> Page:
    citer = Citer(knowledge.pack, knowledge.clinical.references)
    citer.cite(cites)
    return Page(title, tuple(paragraphs), citer.reference_list.references)


def render_html(page: Page, version: str, content_hash: str) -> str:
    """A small, self-contained HTML page; every piece of text is escaped."""
    e = html.escape
    body = [f"<h1>{e(page.title)}</h1>", *(f"<p>{e(p)}</p>" for p in page.paragraphs)]
    if page.table:
        rows = "".join(f"<tr><td>{e(weeks)}</td><td>{e(dose)}</td></tr>" for weeks, dose in page.table)
        body.append(f"<table><tr><th>Weeks</th><th>Dose</th></tr>{rows}</table>")
    if page.references:
        items = "".join(f"<li>{_reference_html(r)}</li>" for r in page.references)
        body.append(f"<h2>Evidence</h2><ol>{items}</ol>")
    body.append(f"<p><small>KetaGuide content {e(version)} ({e(content_hash)})</small></p>")
    head = f'<meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{e(page.title)}</title>'
    return f"<!doctype html><html lang=en><head>{head}</head><body>{''.join(body)}</body></html>"


def _reference_html(reference: Reference) -> str:
    e = html.escape
    if isinstance(reference, QuoteCitation):
        design = reference.study_design.replace("_", " ")
        return (
            f"<blockquote>{e(reference.quote)}</blockquote><cite>{e(reference.source_title)}</cite> "
            f"({e(design)}; source reliability: {e(reference.source_reliability)})"
        )
    assert isinstance(reference, ExternalCitation)
    where = f", {e(reference.section)}" if reference.section else ""
    link = ""
    if reference.url and reference.url.startswith(("https://", "http://")):
        link = f' <a href="{e(reference.url, quote=True)}" rel="noreferrer">{e(reference.url)}</a>'
    return (
        f"<cite>{e(reference.title)}</cite> ({e(reference.publisher)}{where}): {e(reference.statement)} "
        f"(read with {e(reference.confidence)} confidence){link}"
    )
