"""The care engine's option review (`ketaguide.domain.care.option_review`) agrees with the care plan.

The review derives the plan's facts in the plan's stages without running the plan, so CDS Hooks can review a drafted
medicine against the patient without that order from one plan instead of two. These properties run the plan as
well, on generated intakes (diagnosed or not, any phase, recognised and unrecognised medicines), and check that the
staged facts give the plan's own options, red flags and monitoring, and that an option the plan offers is reviewed
exactly as the plan states it (status, reasons, their evidence, the dose column); and the same for the patient
without one of their medicines, which is how CDS Hooks uses it.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketaguide.domain.care.findings import CarePlan
from ketaguide.domain.care.intake import parse_intake
from ketaguide.domain.care.option_review import (
    SAFETY_EFFECTS,
    OptionReview,
    for_component,
    merged,
    monitoring_items,
    option_drugs,
    review_option,
    review_options,
    staged_facts,
)
from ketaguide.domain.care.plan import evaluate
from ketaguide.domain.care.rules import ClinicalContent
from ketaguide.domain.citing.references import Reference
from ketaguide.domain.evidence.pack import KnowledgePack
from test_assess_properties import MEDICATION_NAMES, intakes

EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The medicines the drug options are about, by a name each, beside the property tests' own names.
ORDERED_NAMES = ["lamotrigine", "naltrexone", "bupropion", "paliperidone", "lorazepam", "haloperidol", "ketamine"]
with_orders = intakes.flatmap(
    lambda document: st.lists(st.sampled_from(MEDICATION_NAMES + ORDERED_NAMES), unique=True, max_size=6).map(
        lambda names: {**document, "medications": names}
    )
)


def _evidence(references: tuple[Reference, ...]) -> list[dict[str, Any]]:
    return [r.model_dump(exclude={"n"}) for r in references]


def _as_the_plan_states_it(plan: CarePlan, option_id: str) -> tuple[str, list[tuple[Any, ...]], str | None]:
    option = next(o for o in plan.options if o.id == option_id)
    listed = {r.n: r for r in plan.references}
    reasons = [
        (r.rule_id, r.effect, r.message, r.triggers, _evidence(tuple(listed[n] for n in r.citations)))
        for r in option.status_reasons
        if r.effect in SAFETY_EFFECTS
    ]
    return option.status, reasons, option.dose_column.message if option.dose_column else None


def _as_reviewed(review: OptionReview) -> tuple[str, list[tuple[Any, ...]], str | None]:
    reasons = [(r.rule_id, r.effect, r.message, r.triggers, _evidence(r.references)) for r in review.reasons]
    return review.status, reasons, review.dose_note


def _agrees(
    plan: CarePlan, document: dict[str, Any], pack: KnowledgePack, content: ClinicalContent, notes: Any
) -> None:
    """The staged facts of `document`, with `plan`'s diagnosis and phase, give `plan`'s findings."""
    staged = staged_facts(parse_intake(document), content, plan.diagnosis, plan.phase.phase)
    assert staged.offered == {o.id for o in plan.options}
    assert {f.removeprefix("flag:") for f in staged.facts if f.startswith("flag:")} == {f.code for f in plan.red_flags}
    assert monitoring_items(staged, content) == {m.item for m in plan.monitoring}
    for rule in content.options:
        if rule.id in staged.offered:
            review = review_option(rule, staged, content, pack, notes.get(rule.id))
            assert review.offered
            assert _as_reviewed(review) == _as_the_plan_states_it(plan, rule.id), rule.id


def _dose_notes(plan: CarePlan) -> dict[str, str]:
    return {o.id: o.dose_column.message for o in plan.options if o.dose_column}


@EXAMPLES
@given(document=with_orders)
def test_staged_facts_give_the_plans_findings(
    pack: KnowledgePack, content: ClinicalContent, document: dict[str, Any]
) -> None:
    plan = evaluate(parse_intake(document), pack, content)
    _agrees(plan, document, pack, content, _dose_notes(plan))


@EXAMPLES
@given(document=with_orders, data=st.data())
def test_review_without_an_order_needs_no_second_plan(
    pack: KnowledgePack, content: ClinicalContent, document: dict[str, Any], data: st.DataObject
) -> None:
    """The patient without one of their medicines, reviewed with the diagnosis and phase of the plan with it and
    its dose columns for the options about that medicine (as CDS Hooks reviews a drafted order), agrees with a plan
    run without it."""
    recognised = {n: e.id for n in document["medications"] if (e := content.formulary.recognise(n)) is not None}
    if not recognised:
        return
    drug = data.draw(st.sampled_from(sorted(set(recognised.values()))))
    without = {**document, "medications": [n for n in document["medications"] if recognised.get(n) != drug]}
    with_it = evaluate(parse_intake(document), pack, content)
    plan_without = evaluate(parse_intake(without), pack, content)
    assert plan_without.diagnosis == with_it.diagnosis and plan_without.phase.phase == with_it.phase.phase
    # The dose columns of the options about the drug set aside come from the plan with it (as in CDS Hooks).
    about = {o.id for o in content.options if drug in option_drugs(o.id, content)}
    notes = {k: v for k, v in _dose_notes(plan_without).items() if k not in about}
    notes |= {k: v for k, v in _dose_notes(with_it).items() if k in about}
    _agrees(plan_without, without, pack, content, notes)


def test_every_drug_option_names_its_medicines(content: ClinicalContent) -> None:
    for option in content.options:
        drugs = option_drugs(option.id, content)
        assert bool(drugs) == (option.kind == "pharmacological"), option.id
    assert option_drugs("paliperidone_bupropion", content) == {"paliperidone", "bupropion"}
    assert {"lorazepam", "diazepam"} <= option_drugs("benzodiazepines_withdrawal", content)


def test_an_option_the_plan_withholds_is_still_reviewed(pack: KnowledgePack, content: ClinicalContent) -> None:
    """No DSM-5 criteria (a chart): the plan offers no naltrexone, and the review still contra-indicates it beside
    methadone, with the label's reason and evidence."""
    document = {"age": 30, "sex": "female", "medications": ["methadone", "naltrexone"]}
    plan = evaluate(parse_intake(document), pack, content)
    assert "naltrexone" not in {o.id for o in plan.options}
    without = parse_intake({**document, "medications": ["methadone"]})
    staged = staged_facts(without, content, plan.diagnosis, plan.phase.phase)
    [review] = review_options(staged, content, pack, {"naltrexone"})
    assert (review.option_id, review.status, review.offered) == ("naltrexone", "contraindicated", False)
    assert all(r.references for r in review.reasons if r.effect == "contraindicated")


@pytest.mark.parametrize("drug", ["paliperidone", "bupropion"])
def test_a_combination_is_narrowed_to_the_component_ordered(
    pack: KnowledgePack, content: ClinicalContent, drug: str
) -> None:
    document = {"age": 30, "sex": "male", "conditions": ["epilepsy", "long_qt_or_arrhythmia"]}
    plan = evaluate(parse_intake(document), pack, content)
    staged = staged_facts(parse_intake(document), content, plan.diagnosis, plan.phase.phase)
    [review] = review_options(staged, content, pack, {drug})
    narrowed = for_component(review, drug, option_drugs(review.option_id, content))
    assert narrowed is not None and narrowed.for_drug == drug
    other = "bupropion" if drug == "paliperidone" else "paliperidone"
    assert not any(r.rule_id.startswith(f"{other}-") for r in narrowed.reasons)
    assert merged([narrowed]) is narrowed


@EXAMPLES
@given(document=with_orders)
def test_a_source_two_reasons_cite_has_one_number(
    pack: KnowledgePack, content: ClinicalContent, document: dict[str, Any]
) -> None:
    """Offered or not, an option's reasons share one reference list, so a card never lists one source twice."""
    plan = evaluate(parse_intake(document), pack, content)
    staged = staged_facts(parse_intake(document), content, plan.diagnosis, plan.phase.phase)
    for review in review_options(staged, content, pack, None):
        numbered: dict[str, int] = {}
        sources: dict[int, str] = {}
        for reference in (r for reason in review.reasons for r in reason.references):
            key = reference.model_dump_json(exclude={"n"})
            assert numbered.setdefault(key, reference.n) == reference.n, review.option_id
            assert sources.setdefault(reference.n, key) == key, review.option_id  # one number, one source


def _prescribing(document: dict[str, Any], pack: KnowledgePack, content: ClinicalContent) -> list[str]:
    plan = evaluate(parse_intake({"age": 30, "sex": "male", **document}), pack, content)
    return [f"{c.rule_id}:{c.drug}:{c.effect}" for c in plan.prescribing]


KUD_CRITERIA = ["craving", "tolerance", "cut_down", "larger_amounts"]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        # A use disorder counted from the DSM-5 criteria, or documented elsewhere (a problem list).
        (
            {"criteria": KUD_CRITERIA, "medications": ["Spravato"]},
            ["ketamine-for-use-disorder:esketamine:caution"],
        ),
        (
            {"conditions": ["ketamine_use_disorder"], "medications": ["ketamine 50 mg/mL injection"]},
            ["ketamine-for-use-disorder:ketamine:caution"],
        ),
        ({"criteria": ["craving"], "medications": ["esketamine"]}, []),  # one criterion is no use disorder
        # The ketamine every intake assumes the person uses is no prescription.
        ({"criteria": KUD_CRITERIA}, []),
        # Uropathy: documented, or the urinary red flags of the intake's symptoms.
        (
            {"conditions": ["ketamine_uropathy"], "medications": ["ketamine"]},
            ["ketamine-for-uropathy:ketamine:caution"],
        ),
        ({"symptoms": ["hematuria"], "medications": ["Ketalar"]}, ["ketamine-for-uropathy:ketamine:caution"]),
        ({"symptoms": ["dysuria"], "medications": ["esketamine"]}, ["esketamine-for-uropathy:esketamine:note"]),
        (
            {"conditions": ["ketamine_uropathy", "ketamine_use_disorder"], "medications": ["ketamine"]},
            ["ketamine-for-use-disorder:ketamine:caution", "ketamine-for-uropathy:ketamine:caution"],
        ),
        # Neither finding, or another medicine: nothing.
        ({"conditions": ["epilepsy"], "medications": ["ketamine"]}, []),
        ({"conditions": ["ketamine_use_disorder", "ketamine_uropathy"], "medications": ["lamotrigine"]}, []),
    ],
)
def test_prescribing_checks_fire_on_the_finding_they_name(
    pack: KnowledgePack, content: ClinicalContent, document: dict[str, Any], expected: list[str]
) -> None:
    assert _prescribing(document, pack, content) == expected


def test_a_prescribing_check_cites_what_it_warns_from(pack: KnowledgePack, content: ClinicalContent) -> None:
    """Each check cites its rule's references, with what each states: the use-disorder warning rests on the
    Spravato label's abuse-potential study (high confidence), never on a low-reliability source."""
    document = {"age": 30, "sex": "male", "conditions": ["ketamine_use_disorder", "ketamine_uropathy"]}
    plan = evaluate(parse_intake({**document, "medications": ["Ketalar"]}), pack, content)
    listed = {r.n: r for r in plan.references}
    assert plan.prescribing
    for check in plan.prescribing:
        rule = next(r for r in content.order_rules if r.id == check.rule_id)
        cited = [listed[n] for n in check.citations]
        assert [r.model_dump()["id"] for r in cited] == list(rule.cites.refs)
        assert all(r.confidence in ("high", "moderate") for r in cited)
        assert check.written_as == "Ketalar" and check.triggers
