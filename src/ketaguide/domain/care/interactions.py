"""Drug names, the formulary and drug-pair rules.

Clinicians write "LAMICTAL", "Epilim Chrono 500 mg", "Tegretol Retard", "naltrexone HCl" or "Microgynon 30"; the
formulary (medications.yaml) maps each name to one entry: its generic id, ingredients, classes and, where a source
gives them, its RxNorm codes. `Formulary.recognise` is the one pure function that reads a name:

1. the name is normalised (`normalise_name`): case, trademark signs, apostrophes and punctuation, and a trailing
   strength ("500 mg", "30") are dropped;
2. if that is not a listed name, release forms, dosage forms and salts written after the first word (Chrono,
   Retard, XL, SR, CR, ER, XR, ODT, "prolonged release", tablets, hydrochloride, sodium ...) are dropped too
   (`without_modifiers`). Only words that never change the ingredient are dropped: "Tegretol Plus" or "Tylenol PM"
   stay unrecognised, never guessed.

A name that is still not listed is not recognised, and the care plan says what that leaves unchecked. Every brand
name cites the reference that maps it to its generic (clinical-reference.md s.8.7); no brand is listed from memory.
EHRs send RxNorm codes, mostly of products (a clinical or branded drug, SCD/SBD) rather than ingredients (IN):
`Formulary.recognise_rxnorm` reads both, but only the codes a stored source gives, each with its citation.

The person being assessed uses ketamine, so ketamine is always one of the exposures; other substances come from the
intake's codes. Every pair rule (interactions.yaml) names its evidence.
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
MatchedBy = Literal["name", "name without release form, dosage form or salt", "rxnorm"]
SUBJECT_DRUG = "ketamine"

# A selector names one drug ("drug:valproate") or a class ("class:opioid").
_SELECTOR = r"^(drug|class):[a-z0-9_]+$"
_TRADEMARKS = re.compile(r"[®™©]")
_APOSTROPHES = re.compile(r"['\u2018\u2019`´]")
_ENTERIC_COATED = re.compile(r"\be/c\b")
_PUNCTUATION = re.compile(r"[\-\u2010\u2011\u2012\u2013\u2014/,;:()\[\]+&.*]")
# Strength and anything after it: "depakote 500 mg", "microgynon 30", "lamotrigine 25mg tablets".
_STRENGTH = re.compile(r"\s\d.*$")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that name a release form, a dosage form or a salt: dropping them never changes the ingredient.
RELEASE_FORMS = _words(
    "chrono retard xl sr cr er xr odt la mr dr ec prolonged modified controlled extended sustained delayed "
    "release gastro resistant"
)
DOSAGE_FORMS = _words(
    "tablet tablets tab tabs capsule capsules caps oral solution suspension liquid syrup mixture injection "
    "injectable inj depot film coated orally disintegrating dispersible chewable soluble sublingual buccal nasal "
    "spray patch patches transdermal granules sachet sachets sprinkle sprinkles"
)
SALTS = _words(
    "hydrochloride hcl sodium semisodium hydrobromide sulfate sulphate phosphate tartrate bitartrate citrate "
    "maleate mesylate mesilate acetate besylate besilate succinate fumarate bromide potassium calcium magnesium "
    "dihydrate monohydrate anhydrous decanoate lactate palmitate"
)
MODIFIERS = RELEASE_FORMS | DOSAGE_FORMS | SALTS


class _Content(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BrandName(_Content):
    """A brand (proprietary) name and the reference that maps it to its generic."""

    name: str = Field(min_length=1)
    market: str | None = Field(None, description="where the reference places the brand, e.g. UK or US")
    form: str | None = Field(None, description="the formulation as the reference gives it")
    cites: Cites


# RxNorm term types: an ingredient; a clinical or branded drug (a product as ordered); a clinical or branded dose
# form group (e.g. "esketamine Nasal Spray").
RxNormTermType = Literal["IN", "SCD", "SBD", "SCDF", "SBDF"]


class RxNormCode(_Content):
    """An RxNorm concept (RXCUI) that means this entry, and where it is from; a code is stored only with its source."""

    code: str = Field(pattern=r"^[0-9]+$")
    name: str = Field(min_length=1, description="the concept's name as the source gives it")
    term_type: RxNormTermType
    cites: Cites


class DrugEntry(_Content):
    """One medicine or substance: its generic id, the names that mean it, its ingredients and classes."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    generic_name: str | None = Field(None, description="as shown; default: the id with spaces")
    names: tuple[str, ...] = Field(min_length=1, description="generic names, spellings and salts")
    brands: tuple[BrandName, ...] = ()
    ingredients: tuple[str, ...] | None = Field(
        None, description="for a combination product, each ingredient; null: the entry is its own one ingredient"
    )
    classes: tuple[str, ...] = ()
    rxnorm: tuple[RxNormCode, ...] = Field(
        (), description="RxNorm codes (ingredients and products) a stored source gives; empty where none does"
    )

    @property
    def generic(self) -> str:
        return self.generic_name or self.id.replace("_", " ")

    @property
    def ingredient_ids(self) -> tuple[str, ...]:
        return (self.id,) if self.ingredients is None else self.ingredients

    @property
    def ingredient_codes(self) -> tuple[str, ...]:
        """The RxNorm ingredient (IN) codes among the entry's codes."""
        return tuple(c.code for c in self.rxnorm if c.term_type == "IN")

    @property
    def all_names(self) -> tuple[str, ...]:
        """Every name that means this entry: its id, generic name, names and brands."""
        return (self.id, self.generic, *self.names, *(b.name for b in self.brands))


Side = tuple[str, ...]


class InteractionRule(_Content):
    """A curated pair: what happens, how much it matters, and the evidence.

    `between` has two sides; each side is one selector or a list of selectors, any of which matches.
    """

    id: str = Field(pattern=r"^[a-z0-9_.-]+$")
    between: tuple[Side, Side] = Field(description="two sides, e.g. drug:ketamine and [class:opioid]")
    severity: InteractionSeverity
    message: str = Field(min_length=1)
    cites: Cites

    @field_validator("between", mode="before")
    @classmethod
    def _sides_as_lists(cls, between: object) -> object:
        if isinstance(between, list | tuple):
            return [[side] if isinstance(side, str) else side for side in between]
        return between

    @field_validator("between")
    @classmethod
    def _selectors(cls, between: tuple[Side, Side]) -> tuple[Side, Side]:
        for side in between:
            if not side:
                raise ValueError("each side names at least one selector")
            for selector in side:
                if not re.match(_SELECTOR, selector):
                    raise ValueError(f"selector {selector!r} is not drug:<id> or class:<name>")
        return between

    @property
    def selectors(self) -> tuple[str, ...]:
        return (*self.between[0], *self.between[1])


class Exposure(BaseModel):
    """A drug the patient is exposed to, as written, with its formulary entry."""

    model_config = ConfigDict(frozen=True)

    drug: str
    generic: str
    written: str
    classes: frozenset[str]
    origin: Origin

    @property
    def display(self) -> str:
        """As shown to a clinician: the name as written, with the generic when it differs."""
        return (
            self.written if self.written.casefold() == self.generic.casefold() else f"{self.written} ({self.generic})"
        )

    def matches(self, selector: str) -> bool:
        kind, _, value = selector.partition(":")
        return self.drug == value if kind == "drug" else value in self.classes

    def matches_any(self, side: Side) -> bool:
        return any(self.matches(selector) for selector in side)


class InteractionMatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: InteractionRule
    first: Exposure
    second: Exposure


class NameMatch(BaseModel):
    """How a written name was recognised: the entry, the name as written and the listed name it matched."""

    model_config = ConfigDict(frozen=True)

    entry: DrugEntry
    written: str
    matched: str
    matched_by: MatchedBy


def normalise_name(name: str) -> str:
    """Lower case; no trademark signs, apostrophes or punctuation; single spaces; any strength dropped."""
    cleaned = _APOSTROPHES.sub("", _TRADEMARKS.sub("", name)).casefold()
    cleaned = _PUNCTUATION.sub(" ", _ENTERIC_COATED.sub("ec", cleaned))
    cleaned = " ".join(cleaned.split())
    return _STRENGTH.sub("", cleaned).strip()


def without_modifiers(normalised: str) -> str:
    """A normalised name without release forms, dosage forms and salts after its first word."""
    first, *rest = normalised.split() or [""]
    return " ".join([first, *(word for word in rest if word not in MODIFIERS)])


@dataclass(frozen=True)
class Formulary:
    """Medicines (any name, any case, any release form) and the intake's substance codes, each a `DrugEntry`."""

    medications: tuple[DrugEntry, ...]
    substances: tuple[DrugEntry, ...]
    _by_name: dict[str, DrugEntry] = field(init=False, repr=False, compare=False)
    _by_rxnorm: dict[str, DrugEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = {normalise_name(n): e for e in self.medications for n in e.all_names}
        object.__setattr__(self, "_by_name", names)
        codes: dict[str, DrugEntry] = {}
        for entry in self.medications:
            for rxnorm in entry.rxnorm:
                # One code, one medicine: a code listed under two entries would make an order ambiguous.
                if codes.setdefault(rxnorm.code, entry) is not entry:
                    raise ValueError(
                        f"RxNorm code {rxnorm.code} is listed under {codes[rxnorm.code].id} and {entry.id}"
                    )
        object.__setattr__(self, "_by_rxnorm", codes)

    def recognise(self, name: str) -> DrugEntry | None:
        """The entry a name written by a clinician means, or None: never a guess."""
        found = self.match(name)
        return found.entry if found else None

    def match(self, name: str) -> NameMatch | None:
        """`recognise`, saying which listed name matched and how."""
        key = normalise_name(name)
        if entry := self._by_name.get(key):
            return NameMatch(entry=entry, written=name, matched=key, matched_by="name")
        reduced = without_modifiers(key)
        if reduced != key and (entry := self._by_name.get(reduced)):
            return NameMatch(
                entry=entry, written=name, matched=reduced, matched_by="name without release form, dosage form or salt"
            )
        return None

    def recognise_rxnorm(self, code: str) -> DrugEntry | None:
        """The entry an RxNorm code (ingredient or product) means, where the formulary holds it with its source."""
        return self._by_rxnorm.get(code.strip())

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
    return Exposure(
        drug=entry.id, generic=entry.generic, written=written, classes=frozenset(entry.classes), origin=origin
    )


def find_interactions(exposures: Sequence[Exposure], rules: Iterable[InteractionRule]) -> list[InteractionMatch]:
    """Every rule whose two sides are met by two different drugs, once per pair of drugs."""
    found: dict[tuple[str, frozenset[str]], InteractionMatch] = {}
    for rule in rules:
        # Each side is matched once per drug, not once per pair: this loop runs for every rule of every plan.
        firsts = [e for e in exposures if e.matches_any(rule.between[0])]
        seconds = [e for e in exposures if e.matches_any(rule.between[1])] if firsts else []
        for first in firsts:
            for second in seconds:
                if first.drug != second.drug:
                    key = (rule.id, frozenset((first.drug, second.drug)))
                    found.setdefault(key, InteractionMatch(rule=rule, first=first, second=second))
    return list(found.values())


def unchecked_exposures(exposures: Sequence[Exposure], rules: Sequence[InteractionRule]) -> tuple[Exposure, ...]:
    """The patient's medicines and substances that no curated pair names: KetaGuide has not checked them at all."""
    return tuple(
        e for e in exposures if e.origin != "subject" and not any(e.matches(s) for r in rules for s in r.selectors)
    )
