"""Drug names and drug-pair rules.

Clinicians write "LAMICTAL", "Depakote 500 mg" or "valproic acid"; the formulary (medications.yaml) maps each name,
in any case and without its strength, to one generic entry and the classes the rules use. The person being assessed
uses ketamine, so ketamine is always one of the exposures; other substances come from the intake's codes.
Every pair rule (interactions.yaml) names its evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ketaguide.domain.care.intake import Intake
from ketaguide.domain.citing.citer import Cites

InteractionSeverity = Literal["major", "moderate", "minor", "unrated"]
Origin = Literal["subject", "medication", "substance"]
SUBJECT_DRUG = "ketamine"

# A selector names one drug ("drug:valproate") or a class ("class:opioid").
_SELECTOR = r"^(drug|class):[a-z0-9_]+$"
# Strength and form written after a name: "Depakote 500 mg", "lamotrigine 25mg tablets".
_STRENGTH = re.compile(r"\s+\d[\d.,]*\s*(mg|mcg|µg|ug|g|ml|%)?\b.*$")
_TRADEMARKS = re.compile(r"[®™]")


class DrugEntry(BaseModel):
    """One medicine or substance: its generic id, the names that mean it, and its classes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    names: tuple[str, ...] = Field(min_length=1)
    classes: tuple[str, ...] = ()

    @property
    def generic(self) -> str:
        return self.id.replace("_", " ")


class InteractionRule(BaseModel):
    """A curated pair: what happens, how much it matters, and the evidence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_.-]+$")
    between: tuple[str, str] = Field(description="two selectors, e.g. drug:ketamine and class:opioid")
    severity: InteractionSeverity
    message: str = Field(min_length=1)
    cites: Cites

    @field_validator("between")
    @classmethod
    def _selectors(cls, between: tuple[str, str]) -> tuple[str, str]:
        for selector in between:
            if not re.match(_SELECTOR, selector):
                raise ValueError(f"selector {selector!r} is not drug:<id> or class:<name>")
        return between


class Exposure(BaseModel):
    """A drug the patient is exposed to, as written, with its formulary entry."""

    model_config = ConfigDict(frozen=True)

    drug: str
    written: str
    classes: frozenset[str]
    origin: Origin

    @property
    def display(self) -> str:
        generic = self.drug.replace("_", " ")
        return self.written if self.written.casefold() == generic else f"{self.written} ({generic})"

    def matches(self, selector: str) -> bool:
        kind, _, value = selector.partition(":")
        return self.drug == value if kind == "drug" else value in self.classes


class InteractionMatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: InteractionRule
    first: Exposure
    second: Exposure


def normalise_name(name: str) -> str:
    """Lower case, no trademark signs, curly apostrophes straightened, strength and form dropped."""
    cleaned = _TRADEMARKS.sub("", name).replace("\u2019", "'").casefold()
    cleaned = " ".join(cleaned.split())
    return _STRENGTH.sub("", cleaned).strip()


@dataclass(frozen=True)
class Formulary:
    """Medicines (any name, any case) and the intake's substance codes, each mapped to a `DrugEntry`."""

    medications: tuple[DrugEntry, ...]
    substances: tuple[DrugEntry, ...]
    _by_name: dict[str, DrugEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = {normalise_name(n): e for e in self.medications for n in (*e.names, e.id, e.generic)}
        object.__setattr__(self, "_by_name", names)

    def recognise(self, name: str) -> DrugEntry | None:
        return self._by_name.get(normalise_name(name))

    def substance(self, code: str) -> DrugEntry:
        return next(e for e in self.substances if e.id == code)

    def entry(self, drug_id: str) -> DrugEntry | None:
        return next((e for e in (*self.medications, *self.substances) if e.id == drug_id), None)

    @property
    def classes(self) -> frozenset[str]:
        return frozenset(c for e in (*self.medications, *self.substances) for c in e.classes)


def patient_exposures(intake: Intake, formulary: Formulary) -> tuple[tuple[Exposure, ...], tuple[str, ...]]:
    """Ketamine, recognised medications and other substances; and the medication names not recognised."""
    subject = formulary.entry(SUBJECT_DRUG)
    exposures = [_exposure(subject, SUBJECT_DRUG, "subject")] if subject else []
    unrecognised: list[str] = []
    for name in intake.medications:
        entry = formulary.recognise(name)
        if entry is None:
            unrecognised.append(name)
        else:
            exposures.append(_exposure(entry, name.strip(), "medication"))
    exposures += [_exposure(formulary.substance(s.value), s.value, "substance") for s in intake.other_substances]
    return tuple(exposures), tuple(unrecognised)


def _exposure(entry: DrugEntry, written: str, origin: Origin) -> Exposure:
    return Exposure(drug=entry.id, written=written, classes=frozenset(entry.classes), origin=origin)


def find_interactions(exposures: Sequence[Exposure], rules: Iterable[InteractionRule]) -> list[InteractionMatch]:
    """Every rule whose two selectors are met by two different drugs, once per pair of drugs."""
    found: dict[tuple[str, str, str], InteractionMatch] = {}
    for rule in rules:
        first_sel, second_sel = rule.between
        for first in exposures:
            for second in exposures:
                key = (rule.id, first.drug, second.drug)
                if first.drug != second.drug and first.matches(first_sel) and second.matches(second_sel):
                    found.setdefault(key, InteractionMatch(rule=rule, first=first, second=second))
    return list(found.values())
