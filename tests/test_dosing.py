"""Lamotrigine escalation (label table columns) and ketamine order checks against the stored ranges."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ketaguide.bootstrap import Runtime, build_runtime
from ketaguide.domain.care.dosing import check_ketamine_order
from ketaguide.domain.care.rules import ClinicalContent
from ketaguide.domain.citing.citer import Citer
from ketaguide.domain.errors import InputError
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.services.assessment import ketamine_dose, lamotrigine_dose

LABEL_TABLE = {
    "standard": ["25 mg daily", "50 mg daily", "100 mg daily", "200 mg daily"],
    "valproate": ["25 mg every other day", "25 mg daily", "50 mg daily", "100 mg daily"],
    "inducer": [
        "50 mg daily",
        "100 mg daily, divided",
        "200 mg daily, divided",
        "300 mg daily, divided",
        "up to 400 mg daily, divided",
    ],
}


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    with build_runtime() as loaded:
        yield loaded


@pytest.mark.parametrize(
    ("with_", "regimen"),
    [
        ([], "standard"),
        (["valproate"], "valproate"),
        (["Depakote"], "valproate"),
        (["VALPROIC ACID"], "valproate"),
        (["divalproex sodium 250 mg"], "valproate"),
        (["carbamazepine"], "inducer"),
        (["phenytoin sodium 100 mg"], "inducer"),
        (["Tegretol Retard"], "inducer"),
        (["Epilim Chrono 500 mg"], "valproate"),
        (["Epilim Chrono 500 mg", "Tegretol Retard", "Microgynon 30"], "valproate"),
        (["Depakene"], None),
        (["phenobarbitone"], "inducer"),
        (["primidone"], "inducer"),
        (["rifampin"], "inducer"),
        (["Tegretol", "Depakote"], "valproate"),
        (["sertraline"], None),
        (["diazepam"], "standard"),
    ],
)
def test_regimen_follows_the_label_columns(with_: list[str], regimen: str | None, runtime: Runtime) -> None:
    if regimen is None:
        with pytest.raises(InputError, match=with_[0]):
            lamotrigine_dose(runtime, with_)
        return
    schedule = lamotrigine_dose(runtime, with_)
    assert schedule.regimen.id == regimen
    assert [s.dose for s in schedule.regimen.steps] == LABEL_TABLE[regimen]
    assert schedule.regimen.steps[-1].target
    assert schedule.citations


def test_valproate_with_inducer_explains_the_choice(runtime: Runtime) -> None:
    schedule = lamotrigine_dose(runtime, ["carbamazepine", "Depakote"])
    assert "not taking valproate" in schedule.reasons[0]


def test_every_schedule_carries_the_rash_warning_and_restart_rule(runtime: Runtime) -> None:
    texts = " ".join(n.text for n in lamotrigine_dose(runtime, []).notes)
    assert "serious skin rashes" in texts
    assert "2-8 weeks" in texts
    assert "5 half-lives" in texts
    assert all(n.citations for n in lamotrigine_dose(runtime, []).notes)


def test_contraceptive_and_age_notes_only_when_they_apply(runtime: Runtime) -> None:
    plain = " ".join(n.text for n in lamotrigine_dose(runtime, [], age=40).notes)
    assert "contraceptive" not in plain and "The table is for adults" not in plain
    both = " ".join(n.text for n in lamotrigine_dose(runtime, ["combined pill"], age=16).notes)
    assert "up to 2-fold" in both
    assert "The table is for adults" in both


def test_lamotrigine_age_out_of_range(runtime: Runtime) -> None:
    with pytest.raises(InputError, match="age"):
        lamotrigine_dose(runtime, [], age=200)


def test_the_example_order_is_an_induction_dose_not_the_subanaesthetic_regimen(runtime: Runtime) -> None:
    check = ketamine_dose(runtime, 70, "iv", 140)
    assert check.mg_per_kg == 2.0
    verdicts = {c.range_id: c.verdict for c in check.comparisons}
    assert verdicts == {"label-iv-induction": "within", "subanaesthetic-iv": "above"}
    sub = next(c for c in check.comparisons if c.range_id == "subanaesthetic-iv")
    assert "4 times" in sub.explanation and "35.0 mg" in sub.explanation
    assert "Consistent with the label's IV induction range" in check.summary
    assert all(c.citations for c in check.comparisons)
    assert check.references


@pytest.mark.parametrize(
    ("weight", "route", "mg", "expected"),
    [
        (70, "iv", 35, {"label-iv-induction": "below", "subanaesthetic-iv": "within"}),
        (70, "iv", 36, {"label-iv-induction": "below", "subanaesthetic-iv": "within"}),
        (70, "iv", 30, {"label-iv-induction": "below", "subanaesthetic-iv": "below"}),
        (70, "iv", 70, {"label-iv-induction": "within", "subanaesthetic-iv": "above"}),
        (70, "iv", 315, {"label-iv-induction": "within", "subanaesthetic-iv": "above"}),
        (70, "iv", 400, {"label-iv-induction": "above", "subanaesthetic-iv": "above"}),
        (70, "IM", 700, {"label-im-induction": "within"}),
        (70, "im", 300, {"label-im-induction": "below"}),
        (50, "im", 700, {"label-im-induction": "above"}),
    ],
)
def test_order_verdicts(weight: float, route: str, mg: float, expected: dict[str, str], runtime: Runtime) -> None:
    assert {c.range_id: c.verdict for c in ketamine_dose(runtime, weight, route, mg).comparisons} == expected


def test_order_outside_every_range_says_check_the_order(runtime: Runtime) -> None:
    assert "check the order" in ketamine_dose(runtime, 70, "iv", 1000).summary


def test_infusion_time_is_compared_with_the_regimen(runtime: Runtime) -> None:
    sub = next(c for c in ketamine_dose(runtime, 70, "iv", 35, 10).comparisons if c.range_id == "subanaesthetic-iv")
    assert "Given over 10 min, not the 40 min" in sub.explanation
    sub = next(c for c in ketamine_dose(runtime, 70, "iv", 35, 40).comparisons if c.range_id == "subanaesthetic-iv")
    assert "Given over" not in sub.explanation


def test_order_notes_are_cited(runtime: Runtime) -> None:
    notes = ketamine_dose(runtime, 70, "iv", 35).notes
    assert any("addiction to ketamine" in n.text for n in notes)
    assert all(n.citations for n in notes)


@pytest.mark.parametrize(
    ("weight", "route", "mg", "minutes", "field"),
    [
        (0, "iv", 35, None, "weight_kg"),
        (-70, "iv", 35, None, "weight_kg"),
        (401, "iv", 35, None, "weight_kg"),
        (70, "oral", 35, None, "route"),
        (70, "intranasal", 35, None, "route"),
        (70, "iv", 0, None, "mg"),
        (70, "iv", 20_000, None, "mg"),
        (70, "iv", 35, 0, "minutes"),
    ],
)
def test_bad_orders_name_the_field(
    weight: float, route: str, mg: float, minutes: float | None, field: str, runtime: Runtime
) -> None:
    with pytest.raises(InputError) as caught:
        ketamine_dose(runtime, weight, route, mg, minutes)
    assert caught.value.field == field


def test_order_limits_are_the_conventions_the_content_states(pack: KnowledgePack, content: ClinicalContent) -> None:
    limits = content.ketamine.limits
    assert limits is content.conventions.ketamine_order
    lower = limits.model_copy(update={"max_weight_kg": limits.max_weight_kg.model_copy(update={"value": 150.0})})
    dosing = content.ketamine.model_copy(update={"limits": lower})
    with pytest.raises(InputError, match="at most 150"):
        check_ketamine_order(160, "iv", 100, None, dosing, Citer(pack, content.references))
