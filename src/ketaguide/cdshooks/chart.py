"""From FHIR to the care engine's intake: what the chart shows, read as KetaGuide's intake codes.

- Ketamine use disorder: ICD-10-CM F16.x or the SNOMED CT ketamine/dissociative-drug codes sourced in
  docs/cds-hooks.md 7.3.3. It decides whether KetaGuide answers at all (every rule assumes a person who uses
  ketamine), and it enters the intake as the documented condition `ketamine_use_disorder` (which the order rules
  name), adding no DSM-5 criteria: the chart does not record them.
- The intake's other conditions (ketamine uropathy among them), pregnancy and breastfeeding: no sourced codes exist
  for them, so they are read
  from the condition's text and displays by the word rules below, never from guessed codes. Refuted, resolved and
  inactive conditions are skipped, and so is text that negates the words ("no", "not", "family history of").
- Medicines: by RxNorm code where the formulary has codes, otherwise by the formulary's own name rules applied to
  the text and displays (RxNorm display strings such as "72 HR Fentanyl 0.075 MG/HR Transdermal System" or
  "... [Depakote]" are tried in their parts). A medicine not recognised goes to the engine under its written
  name, so the engine lists it as unrecognised and the card mapping can say it was not checked.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ketaguide.cdshooks.fhir import (
    ICD10CM,
    NOT_R4_MEDICATION_ORDERS,
    RXNORM,
    SNOMED,
    CodedText,
    ConditionRecord,
    Entry,
    medications_by_reference,
    read_condition,
    read_medication_request,
    read_patient,
)
from ketaguide.domain.care.interactions import SUBJECT_DRUG, DrugEntry, Exposure, Formulary

# docs/cds-hooks.md 7.3.3: Harmful use of ketamine; Dependence caused by ketamine; Harmful use of dissociative
# drug; Dependence caused by dissociative substance (CDC value set conditions-documenting-substance-misuse).
KUD_SNOMED = frozenset({"724713006", "724715004", "724712001", "724714000"})
KUD_ICD10CM_PREFIX = "F16"
KETAMINE_DRUGS = frozenset({SUBJECT_DRUG, "esketamine"})
# Intake condition codes read from words, because no code for them is sourced (see the module docstring).
CONDITION_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("epilepsy", re.compile(r"\bepilep|\bseizure", re.I)),
    ("opioid_use_disorder", re.compile(r"\b(opioid|opiate|heroin) (use disorder|dependence|abuse|addiction)", re.I)),
    ("alcohol_use_disorder", re.compile(r"\balcohol (use disorder|dependence|abuse)|\balcoholism", re.I)),
    ("schizophrenia", re.compile(r"\bschizophreni", re.I)),
    ("bipolar_disorder", re.compile(r"\bbipolar", re.I)),
    ("depression", re.compile(r"(?<!respiratory )\bdepressi(on|ve (disorder|episode))", re.I)),
    ("chronic_pain", re.compile(r"\bchronic pain", re.I)),
    ("eating_disorder", re.compile(r"\bbulimi|\banorexia nervosa|\beating disorder", re.I)),
    (
        "long_qt_or_arrhythmia",
        re.compile(r"\blong qt|\bqt(c)? prolongation|\bprolonged qt|\barrhythmi|\btorsade", re.I),
    ),
    ("dementia", re.compile(r"\bdementia", re.I)),
    ("parkinsonism", re.compile(r"\bparkinson", re.I)),
    ("acute_hepatitis_or_liver_failure", re.compile(r"\bacute hepatitis|\b(liver|hepatic) failure", re.I)),
    (
        "renal_impairment",
        re.compile(r"\brenal (impairment|failure|insufficiency)|\b(chronic )?kidney (disease|failure)", re.I),
    ),
    (
        "ketamine_uropathy",
        re.compile(r"\bketamine[\s-]+((induced|associated|related)[\s-]+)?(uropathy|cystitis|bladder)", re.I),
    ),
)
# Read from its codes (`is_kud`), not from words: the codes decide whether KetaGuide answers at all.
KUD_CONDITION = "ketamine_use_disorder"
PREGNANCY_WORDS = re.compile(r"\bpregnan", re.I)
BREASTFEEDING_WORDS = re.compile(r"\b(breast[\s-]?feeding|lactation|lactating)\b", re.I)
_NEGATION = re.compile(
    r"\b(no|not|non|without|denies|negative for|family history of|fh of|rule out|ruled out|r/o)[\s-]+(\w+[\s-]+){0,2}$",
    re.I,
)
_SKIPPED_CLINICAL = frozenset({"inactive", "resolved"})
_SKIPPED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
_QUANTITY_PREFIX = re.compile(r"^\d[\d.]*\s*(hr|actuat|ml|day)\s+", re.I)
_BRACKETED = re.compile(r"\[([^\]]+)\]")
MAX_NAME = 200
# Entered for an unknown age: an adult age that none of the care rules' age facts (under 18, 24 or under, 45 or
# over) covers, so no age rule fires on a guess. The notes say the age-based rules were not applied.
AGE_UNKNOWN = 30


@dataclass(frozen=True)
class ChartMedicine:
    """One medicine of the chart or of the draft orders, as written and as handed to the care engine."""

    reference: str
    written: str
    engine_name: str
    drug: str | None
    draft: bool
    focus: bool


@dataclass(frozen=True)
class UnreadDraft:
    """A draft order KetaGuide could not check (not FHIR R4, or a medicine it cannot read)."""

    reference: str
    reason: str


@dataclass
class Chart:
    """What the chart shows, read for the care engine; `notes` says what could not be read or was skipped."""

    age: int | None = None
    sex: str = "unknown"
    pregnant: bool = False
    breastfeeding: bool = False
    conditions: list[str] = field(default_factory=list)
    kud: list[str] = field(default_factory=list)
    medicines: list[ChartMedicine] = field(default_factory=list)
    unread_drafts: list[UnreadDraft] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def drugs(self) -> frozenset[str]:
        return frozenset(m.drug for m in self.medicines if m.drug)

    @property
    def focus(self) -> list[ChartMedicine]:
        return [m for m in self.medicines if m.focus]

    @property
    def ketamine_exposed(self) -> bool:
        """The engine's premise holds: the person uses ketamine (coded use disorder, or a ketamine order)."""
        return bool(self.kud) or SUBJECT_DRUG in self.drugs

    @property
    def in_scope(self) -> bool:
        """KetaGuide answers: ketamine use disorder on the problem list, or a ketamine or esketamine order."""
        return self.ketamine_exposed or bool(KETAMINE_DRUGS & self.drugs)

    def intake(self, *, without_orders_of: str | None = None) -> dict[str, Any]:
        """The intake document for the care engine; `without_orders_of` leaves out the drafts of that drug (to
        check an ordered drug against the patient as they are, not against itself).

        An unknown age is entered as `AGE_UNKNOWN`, an age no age rule names (checked by a test), and the cards
        say the age-based rules were not applied."""
        medicines = [m for m in self.medicines if not (m.focus and m.drug and m.drug == without_orders_of)]
        return {
            "age": self.age if self.age is not None else AGE_UNKNOWN,
            "sex": self.sex,
            "pregnant": self.pregnant,
            "breastfeeding": self.breastfeeding,
            "conditions": self.conditions,
            "medications": [m.engine_name for m in medicines],
        }


def read_chart(
    data: Mapping[str, list[Entry] | None],
    drafts: Sequence[Entry],
    selections: Sequence[str] | None,
    formulary: Formulary,
    today: date,
) -> Chart:
    """The chart from the gathered prefetch (`patient`, `conditions`, `medications`) and the draft orders."""
    chart = Chart()
    _read_patient(chart, data.get("patient"), today)
    for entry in data.get("conditions") or []:
        if entry.resource_type == "Condition":
            _read_condition(chart, read_condition(entry))
    active = data.get("medications") or []
    medications = medications_by_reference([*active, *drafts])
    for entry in active:
        if entry.resource_type == "MedicationRequest":
            _add_medicine(chart, entry, medications, formulary, draft=False, focus=False)
    for entry in drafts:
        focus = selections is None or entry.reference in selections
        if entry.resource_type == "MedicationRequest":
            _add_medicine(chart, entry, medications, formulary, draft=True, focus=focus)
        elif entry.resource_type in NOT_R4_MEDICATION_ORDERS and focus:
            chart.unread_drafts.append(UnreadDraft(entry.reference, "; ".join(entry.problems)))
    return chart


def is_kud(code: CodedText) -> bool:
    icd = (c.replace(".", "").upper() for c in code.codes(ICD10CM))
    return any(c.startswith(KUD_ICD10CM_PREFIX) for c in icd) or bool(KUD_SNOMED & set(code.codes(SNOMED)))


def words_say(pattern: re.Pattern[str], texts: Iterable[str]) -> bool:
    """Whether any text says `pattern`, not negated just before it ("no seizures", "family history of")."""
    for text in texts:
        for match in pattern.finditer(text):
            if not _NEGATION.search(text[: match.start()]):
                return True
    return False


def _read_patient(chart: Chart, patient: list[Entry] | None, today: date) -> None:
    record = read_patient(patient[0].resource) if patient else None
    if record is None:
        chart.notes.append("No Patient resource: age and sex unknown; the age-based rules were not applied.")
        return
    if record.gender in ("female", "male", "other", "unknown"):
        chart.sex = record.gender
    chart.age = youngest_age(record.birth_date, today)
    if chart.age is None:
        chart.notes.append("No usable birth date: age unknown; the age-based rules were not applied.")


def youngest_age(birth_date: str | None, today: date) -> int | None:
    """Age in whole years; a partial date (YYYY or YYYY-MM) counts from its latest day, so under 18 is not missed."""
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", birth_date or "")
    if match is None:
        return None
    year, month = int(match[1]), int(match[2] or 12)
    try:
        born = date(year, month, int(match[3]) if match[3] else calendar.monthrange(year, month)[1])
    except ValueError:
        return None
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return age if 0 <= age <= 120 else None


def _read_condition(chart: Chart, condition: ConditionRecord) -> None:
    if condition.clinical_status in _SKIPPED_CLINICAL or condition.verification_status in _SKIPPED_VERIFICATION:
        return
    texts = condition.code.texts
    if is_kud(condition.code):
        chart.kud.append(texts[0] if texts else condition.reference)
        if KUD_CONDITION not in chart.conditions:
            chart.conditions.append(KUD_CONDITION)
    for code, pattern in CONDITION_WORDS:
        if code not in chart.conditions and words_say(pattern, texts):
            chart.conditions.append(code)
    chart.pregnant = chart.pregnant or words_say(PREGNANCY_WORDS, texts)
    chart.breastfeeding = chart.breastfeeding or words_say(BREASTFEEDING_WORDS, texts)


def _add_medicine(
    chart: Chart,
    entry: Entry,
    medications: Mapping[str, Mapping[str, Any]],
    formulary: Formulary,
    *,
    draft: bool,
    focus: bool,
) -> None:
    record = read_medication_request(entry, medications)
    if not record.medicine.texts and not record.medicine.codings:
        if draft and focus and record.problems:
            chart.unread_drafts.append(UnreadDraft(record.reference, "; ".join(record.problems)))
        return  # a draft with no medicine chosen yet has nothing to check
    written, entry_found, engine_name = recognise(record.medicine, formulary)
    chart.medicines.append(
        ChartMedicine(
            reference=record.reference,
            written=written,
            engine_name=engine_name,
            drug=entry_found.id if entry_found else None,
            draft=draft,
            focus=focus,
        )
    )


def recognise(medicine: CodedText, formulary: Formulary) -> tuple[str, DrugEntry | None, str]:
    """(the name as written, the formulary entry or None, the name to hand the engine)."""
    written = (medicine.texts[0] if medicine.texts else _code_label(medicine))[:MAX_NAME]
    for code in medicine.codes(RXNORM):
        found = formulary.recognise_rxnorm(code)
        if found is not None:
            return written, found, found.generic
    for text in medicine.texts:
        for candidate in name_candidates(text):
            found = formulary.recognise(candidate)
            if found is not None:
                return written, found, candidate[:MAX_NAME]
    return written, None, written


def name_candidates(text: str) -> list[str]:
    """The text, then the parts of an RxNorm-style display: a bracketed brand, the name after a quantity prefix."""
    candidates = [text]
    candidates += _BRACKETED.findall(text)
    stripped = _QUANTITY_PREFIX.sub("", text)
    if stripped != text:
        candidates.append(stripped)
    return [c.strip() for c in candidates if c.strip()]


def _code_label(medicine: CodedText) -> str:
    code = medicine.codings[0] if medicine.codings else None
    return f"{code.system or 'code'}|{code.code}" if code and code.code else "a medicine with no name"


def display_of(medicine: ChartMedicine, formulary: Formulary) -> str | None:
    """How the care engine shows this medicine in its findings (the exposure's display), when recognised."""
    if medicine.drug is None:
        return None
    entry = formulary.entry(medicine.drug)
    if entry is None:
        return None
    written = medicine.engine_name.strip()
    return Exposure(
        drug=entry.id, generic=entry.generic, written=written, classes=frozenset(entry.classes), origin="medication"
    ).display
