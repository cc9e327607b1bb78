"""Lamotrigine escalation schedules and ketamine dose checks, from the label tables stored in dosing.yaml.

Lamotrigine: the US prescribing information's bipolar-disorder escalation table (clinical-reference.md, appendix)
has three columns; the inducer column is for patients "not taking valproate", so valproate decides first.
Ketamine: an order is compared, in mg/kg, with every stored range for its route (the label's induction ranges and
the 0.5 mg/kg-over-40-minutes sub-anaesthetic research regimen) and each comparison is explained. The input limits
and the single-dose tolerance are KetaGuide's conventions (conventions.yaml, `ketamine_order`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ketaguide.domain.care.conventions import KetamineOrderLimits
from ketaguide.domain.care.interactions import DrugEntry
from ketaguide.domain.citing.citer import Citer, Cites
from ketaguide.domain.citing.references import Reference
from ketaguide.domain.errors import InputError

RegimenId = Literal["standard", "valproate", "inducer"]
Route = Literal["iv", "im"]
Verdict = Literal["below", "within", "above"]

VALPROATE_CLASS = "valproate"
INDUCER_CLASS = "lamotrigine_inducer"
CONTRACEPTIVE_CLASS = "estrogen_contraceptive"


class DosingNote(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    text: str = Field(min_length=1)
    cites: Cites


class EscalationStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weeks: str
    dose: str
    target: bool = False


class EscalationRegimen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RegimenId
    applies_to: str
    steps: tuple[EscalationStep, ...] = Field(min_length=1)


class LamotrigineDosing(BaseModel):
    """The label table's three columns, the notes that go with them, and the evidence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cites: Cites
    regimens: tuple[EscalationRegimen, ...]
    always: tuple[DosingNote, ...] = Field(description="printed with every schedule (rash warning, restart rule)")
    contraceptive: DosingNote
    under_18: DosingNote

    def regimen(self, regimen_id: RegimenId) -> EscalationRegimen:
        return next(r for r in self.regimens if r.id == regimen_id)


class DoseRange(BaseModel):
    """A stored dose range in mg/kg for one route (low == high for a single-dose regimen)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    route: Route
    label: str
    low_mg_per_kg: float = Field(gt=0)
    high_mg_per_kg: float = Field(gt=0)
    over_minutes: float | None = Field(None, gt=0, description="how long the dose is given over, if stated")
    note: str
    cites: Cites


class KetamineDoseTable(BaseModel):
    """The stored ketamine ranges and the notes printed with every order check (dosing.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ranges: tuple[DoseRange, ...] = Field(min_length=1)
    notes: tuple[DosingNote, ...]


class KetamineDosing(KetamineDoseTable):
    """The dose table with the conventions the order check applies (conventions.yaml), joined by the loader."""

    limits: KetamineOrderLimits


class CitedNote(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    citations: tuple[int, ...]


class LamotrigineSchedule(BaseModel):
    model_config = ConfigDict(frozen=True)

    regimen: EscalationRegimen
    reasons: tuple[str, ...]
    notes: tuple[CitedNote, ...]
    citations: tuple[int, ...]
    references: tuple[Reference, ...]


class RangeComparison(BaseModel):
    model_config = ConfigDict(frozen=True)

    range_id: str
    label: str
    low_mg: float
    high_mg: float
    verdict: Verdict
    explanation: str
    citations: tuple[int, ...]


class KetamineOrderCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    weight_kg: float
    route: Route
    mg: float
    mg_per_kg: float
    over_minutes: float | None
    comparisons: tuple[RangeComparison, ...]
    summary: str
    notes: tuple[CitedNote, ...]
    references: tuple[Reference, ...]


def choose_regimen(co_medications: Sequence[tuple[str, DrugEntry]]) -> tuple[RegimenId, tuple[str, ...]]:
    """Pick the label column from co-medications given as (name as written, entry) pairs."""
    valproate = _named(co_medications, VALPROATE_CLASS)
    inducers = _named(co_medications, INDUCER_CLASS)
    if valproate and inducers:
        why = "the label's inducer column is for patients not taking valproate"
        return "valproate", (f"taking valproate{_as_written(valproate)} and an enzyme inducer ({inducers}): {why}",)
    if valproate:
        return "valproate", (f"taking valproate{_as_written(valproate)}",)
    if inducers:
        return "inducer", (f"taking an enzyme inducer ({inducers}) and not valproate",)
    return "standard", ("not taking valproate or an enzyme inducer",)


def _as_written(names: str) -> str:
    return "" if names.casefold() == VALPROATE_CLASS else f" ({names})"


def _named(co_medications: Sequence[tuple[str, DrugEntry]], drug_class: str) -> str:
    """The co-medications of one class, as written ("Depakote, valproic acid")."""
    return ", ".join(name for name, entry in co_medications if drug_class in entry.classes)


def lamotrigine_schedule(
    co_medications: Sequence[tuple[str, DrugEntry]], age: int | None, dosing: LamotrigineDosing, citer: Citer
) -> LamotrigineSchedule:
    """The escalation schedule for these co-medications, with the rash warning and any contraceptive note."""
    regimen_id, reasons = choose_regimen(co_medications)
    notes = list(dosing.always)
    if any(CONTRACEPTIVE_CLASS in e.classes for _, e in co_medications):
        notes.append(dosing.contraceptive)
    if age is not None and age < 18:
        notes.append(dosing.under_18)
    return LamotrigineSchedule(
        regimen=dosing.regimen(regimen_id),
        reasons=reasons,
        citations=citer.cite(dosing.cites),
        notes=tuple(CitedNote(text=n.text, citations=citer.cite(n.cites)) for n in notes),
        references=citer.reference_list.references,
    )


def check_ketamine_order(
    weight_kg: float, route: str, mg: float, over_minutes: float | None, dosing: KetamineDosing, citer: Citer
) -> KetamineOrderCheck:
    """Compare an order with every stored range for its route and explain each comparison."""
    checked_route = _validate_order(weight_kg, route, mg, over_minutes, dosing.limits)
    mg_per_kg = mg / weight_kg
    ranges = [r for r in dosing.ranges if r.route == checked_route]
    tolerance = dosing.limits.single_dose_tolerance.value
    comparisons = tuple(_compare(mg, weight_kg, over_minutes, r, tolerance, citer) for r in ranges)
    notes = tuple(CitedNote(text=n.text, citations=citer.cite(n.cites)) for n in dosing.notes)
    return KetamineOrderCheck(
        weight_kg=weight_kg,
        route=checked_route,
        mg=mg,
        mg_per_kg=round(mg_per_kg, 3),
        over_minutes=over_minutes,
        comparisons=comparisons,
        summary=_summary(mg, weight_kg, checked_route, comparisons),
        notes=notes,
        references=citer.reference_list.references,
    )


def _validate_order(
    weight_kg: float, route: str, mg: float, over_minutes: float | None, limits: KetamineOrderLimits
) -> Route:
    max_weight, max_mg = limits.max_weight_kg.value, limits.max_order_mg.value
    if not 0 < weight_kg <= max_weight:
        raise InputError("weight_kg", f"{weight_kg:g} is out of range (more than 0, at most {max_weight:g})")
    if not 0 < mg <= max_mg:
        raise InputError("mg", f"{mg:g} is out of range (more than 0, at most {max_mg:g})")
    if over_minutes is not None and over_minutes <= 0:
        raise InputError("minutes", f"{over_minutes:g} must be more than 0")
    normalised = route.strip().lower()
    if normalised == "iv":
        return "iv"
    if normalised == "im":
        return "im"
    raise InputError("route", f"{route!r} has no sourced dose range in KetaGuide; supported routes: iv, im")


def _compare(
    mg: float, weight_kg: float, minutes: float | None, rng: DoseRange, tolerance: float, citer: Citer
) -> RangeComparison:
    low, high = rng.low_mg_per_kg * weight_kg, rng.high_mg_per_kg * weight_kg
    single = rng.low_mg_per_kg == rng.high_mg_per_kg
    # Only a single-dose regimen gets the rounding tolerance: a range already spans its own ends.
    slack = tolerance if single else 0.0
    verdict: Verdict = "below" if mg < low * (1 - slack) else "above" if mg > high * (1 + slack) else "within"
    return RangeComparison(
        range_id=rng.id,
        label=rng.label,
        low_mg=round(low, 1),
        high_mg=round(high, 1),
        verdict=verdict,
        explanation=_explain(mg, low, high, single, verdict, minutes, rng),
        citations=citer.cite(rng.cites),
    )


def _explain(
    mg: float, low: float, high: float, single: bool, verdict: Verdict, minutes: float | None, rng: DoseRange
) -> str:
    span = (
        f"{rng.low_mg_per_kg:g} mg/kg = {low:.1f} mg"
        if single
        else (f"{rng.low_mg_per_kg:g}-{rng.high_mg_per_kg:g} mg/kg = {low:.1f}-{high:.1f} mg")
    )
    if verdict == "within":
        text = f"{'Matches' if single else 'Within'} {rng.label} ({span})."
    else:
        factor = mg / (high if verdict == "above" else low)
        end = "that dose" if single else ("its upper end" if verdict == "above" else "its lower end")
        text = f"{verdict.capitalize()} {rng.label} ({span}); the order is {factor:.2g} times {end}."
    if rng.over_minutes is not None and minutes is not None and abs(minutes - rng.over_minutes) > 1e-9:
        text += f" Given over {minutes:g} min, not the {rng.over_minutes:g} min of this regimen."
    return f"{text} {rng.note}"


def _summary(mg: float, weight_kg: float, route: Route, comparisons: Sequence[RangeComparison]) -> str:
    head = f"{mg:g} mg for {weight_kg:g} kg = {mg / weight_kg:.2f} mg/kg {route.upper()}."
    within = [c.label for c in comparisons if c.verdict == "within"]
    outside = [f"{c.verdict} {c.label}" for c in comparisons if c.verdict != "within"]
    if not within:
        return f"{head} Outside every stored range for this route ({'; '.join(outside)}): check the order."
    return f"{head} Consistent with {'; '.join(within)}" + (f"; {'; '.join(outside)}." if outside else ".")
