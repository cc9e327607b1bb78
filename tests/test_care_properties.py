"""Safety properties of care-plan options over generated intakes.

The central one: no option is ever offered as `recommended` (or `consider`, or `caution`) to a patient who triggers
one of its contra-indication rules. Each contra-indication rule is tested on its own: a random intake gets one of the
rule's trigger facts written into it as a clinician would record it (a condition, a medicine by one of its names, a
substance, pregnancy, an age, the symptoms behind a red flag, the hours behind a phase), and the option, if it is
offered at all, must be contra-indicated with that rule among its reasons.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketaguide.domain.care.intake import parse_intake
from ketaguide.domain.care.plan import evaluate
from ketaguide.domain.care.rules import ClinicalContent, OptionRule
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.knowledge.clinical import load_clinical
from ketaguide.knowledge.loader import load_pack
from test_assess_properties import UNRECOGNISED, intakes

HOURS_PER_YEAR = 8766.0
# Hours since last use that put the patient in each phase (conventions.yaml: 6 h, 7 days, 90 days).
PHASE_HOURS = {"intoxication": 2.0, "withdrawal": 30.0, "early_abstinence": 500.0, "relapse_prevention": 5000.0}
CO_MEDICATION_OPTIONS = {
    "lamotrigine",
    "naltrexone",
    "paliperidone_bupropion",
    "haloperidol",
    "benzodiazepines_intoxication",
    "benzodiazepines_withdrawal",
}
OPIOID_NAMES = ["methadone", "buprenorphine/naloxone", "Methadone hydrochloride 10 mg", "oxycodone", "heroin"]
EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Loaded once at import: the contra-indication rules parametrise the tests, one case per rule and option.
_CONTENT = load_clinical(load_pack())
CONTRAINDICATIONS = [(r, o) for r in _CONTENT.option_rules if r.effect == "contraindicated" for o in r.options]


def _add(document: dict[str, Any], field: str, value: str) -> None:
    values = list(document.get(field, []))
    if value.casefold() not in {v.casefold() for v in values}:
        values.append(value)
    document[field] = values


def _inject(fact: str, document: dict[str, Any], content: ClinicalContent, data: st.DataObject) -> None:
    """Write one fact into an intake as a clinician would record it."""
    kind, _, value = fact.partition(":")
    formulary = content.formulary
    if kind in ("condition", "symptom", "substance", "criterion"):
        field = {"condition": "conditions", "symptom": "symptoms", "substance": "other_substances"}.get(
            kind, "criteria"
        )
        _add(document, field, value)
    elif kind == "drug":
        if formulary.substances and any(s.id == value for s in formulary.substances):
            _add(document, "other_substances", value)
        else:
            entry = formulary.entry(value)
            assert entry is not None, fact
            _add(document, "medications", data.draw(st.sampled_from(entry.all_names)))
    elif kind == "class":
        entries = [e for e in (*formulary.medications, *formulary.substances) if value in e.classes]
        entry = data.draw(st.sampled_from(entries))
        if entry in formulary.substances:
            _add(document, "other_substances", entry.id)
        else:
            _add(document, "medications", data.draw(st.sampled_from(entry.all_names)))
    elif kind == "status":
        _inject_status(value, document, data)
    elif kind == "flag":
        rule = next(r for r in content.red_flags if r.code == value)
        _inject(data.draw(st.sampled_from(rule.when_any)), document, content, data)
        if rule.and_any:
            _inject(data.draw(st.sampled_from(rule.and_any)), document, content, data)
    elif kind == "phase":
        document["last_ketamine_use_hours"] = PHASE_HOURS.get(value)
        if value == "withdrawal":
            _add(document, "symptoms", "anxiety")
    else:
        raise AssertionError(f"no way to write {fact} into an intake")


def _inject_status(value: str, document: dict[str, Any], data: st.DataObject) -> None:
    if value in ("pregnant", "breastfeeding"):
        document[value] = True
    elif value == "under_18":
        document["age"] = data.draw(st.integers(12, 17))
    elif value == "age_24_or_under":
        document["age"] = data.draw(st.integers(16, 24))
    elif value == "age_45_or_over":
        document["age"] = data.draw(st.integers(45, 90))
    elif value == "diagnosed":
        document["criteria"] = ["craving", "tolerance", "larger_amounts"]
    else:
        raise AssertionError(f"no way to write status:{value} into an intake")


def _within_lifetime(document: dict[str, Any]) -> None:
    hours = document.get("last_ketamine_use_hours")
    if hours is not None:
        document["last_ketamine_use_hours"] = min(hours, document["age"] * HOURS_PER_YEAR)


def _for_the_option(option_id: str, document: dict[str, Any], content: ClinicalContent, data: st.DataObject) -> None:
    """Make the option one the plan considers: a diagnosis, a phase it is for, and the symptoms that gate it."""
    option = next(o for o in content.options if o.id == option_id)
    for criterion in ("craving", "tolerance", "larger_amounts"):
        _add(document, "criteria", criterion)
    _inject(f"phase:{data.draw(st.sampled_from(option.phases)).value}", document, content, data)
    _add(document, "symptoms", "agitation")
    document["age"] = max(document["age"], 1)


@pytest.mark.parametrize(("rule", "option_id"), CONTRAINDICATIONS, ids=[f"{r.id}:{o}" for r, o in CONTRAINDICATIONS])
@EXAMPLES
@given(document=intakes, data=st.data())
def test_a_contraindicated_option_is_never_offered_as_anything_else(
    rule: OptionRule,
    option_id: str,
    document: dict[str, Any],
    data: st.DataObject,
    pack: KnowledgePack,
    content: ClinicalContent,
) -> None:
    assert not rule.unless_any, "a contra-indication that an exception can switch off needs its own property"
    _for_the_option(option_id, document, content, data)
    _inject(data.draw(st.sampled_from(rule.when_any)), document, content, data)
    if rule.and_any:
        _inject(data.draw(st.sampled_from(rule.and_any)), document, content, data)
    _within_lifetime(document)
    plan = evaluate(parse_intake(document), pack, content)
    option = next(o for o in plan.options if o.id == option_id)  # offered: the property is not vacuous
    assert option.status == "contraindicated", (option.status, document)
    assert rule.id in {r.rule_id for r in option.status_reasons}


@EXAMPLES
@given(document=intakes)
def test_status_follows_the_reasons(document: dict[str, Any], pack: KnowledgePack, content: ClinicalContent) -> None:
    plan = evaluate(parse_intake(document), pack, content)
    defaults = {o.id: o.default_status for o in content.options}
    for option in plan.options:
        effects = {r.effect for r in option.status_reasons}
        assert "not_applicable" not in effects
        if "contraindicated" in effects:
            assert option.status == "contraindicated"
        elif "caution" in effects:
            assert option.status == "caution"
        else:
            assert option.status == defaults[option.id]
    for withheld in plan.options_not_offered:
        assert withheld.reasons and all(r.effect == "not_applicable" for r in withheld.reasons)
        assert withheld.id not in {o.id for o in plan.options}


@EXAMPLES
@given(document=intakes)
def test_options_are_gated_by_symptoms(document: dict[str, Any], pack: KnowledgePack, content: ClinicalContent) -> None:
    plan = evaluate(parse_intake(document), pack, content)
    offered = {o.id for o in plan.options}
    symptoms = set(document.get("symptoms", []))
    if "haloperidol" in offered:
        assert symptoms & {"agitation", "psychosis"}
    if "benzodiazepines_intoxication" in offered:
        assert "agitation" in symptoms


@EXAMPLES
@given(document=intakes, opioid=st.sampled_from(OPIOID_NAMES))
def test_naltrexone_is_contraindicated_whenever_an_opioid_is_written(
    document: dict[str, Any], opioid: str, pack: KnowledgePack, content: ClinicalContent
) -> None:
    _add(document, "medications", opioid)
    plan = evaluate(parse_intake(document), pack, content)
    naltrexone = [o for o in plan.options if o.id == "naltrexone"]
    assert all(o.status == "contraindicated" for o in naltrexone)


@EXAMPLES
@given(document=intakes, unknown=st.sampled_from(sorted(UNRECOGNISED)))
def test_an_unrecognised_medicine_is_said_inside_every_option_that_depends_on_co_medication(
    document: dict[str, Any], unknown: str, pack: KnowledgePack, content: ClinicalContent
) -> None:
    _add(document, "medications", unknown)
    plan = evaluate(parse_intake(document), pack, content)
    for option in plan.options:
        if option.id in CO_MEDICATION_OPTIONS:
            assert option.status in ("caution", "contraindicated")
            assert any(r.evidence == "unrecognised_medication" and unknown in r.triggers for r in option.status_reasons)
        if option.dose_column is not None:
            assert option.dose_column.regimen is None
            assert "could not be chosen" in option.dose_column.message


def test_every_option_that_takes_warnings_from_co_medication_says_what_an_unknown_name_leaves_unchecked() -> None:
    declared = {o.id for o in _CONTENT.options if o.co_medication_check is not None}
    assert declared == CO_MEDICATION_OPTIONS
