"""Golden outputs: answers, care plans and dose checks stay exactly as recorded, apart from their provenance.

The files in tests/data/golden/ were recorded from the command line's JSON. A deliberate change of output (a new
rule, better answers) re-records them: `KETAGUIDE_UPDATE_GOLDEN=1 pytest tests/test_golden.py`, then review the
diff like any other change.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ketaguide import KetaGuide
from ketaguide.retrieval.embedding import missing_dense_modules

GOLDEN = Path(__file__).parent / "data" / "golden"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "intakes"
UPDATE = os.environ.get("KETAGUIDE_UPDATE_GOLDEN") == "1"

# The `ketaguide dose` arguments each recorded check was made with, as keyword arguments of the facade.
DOSES: dict[str, dict[str, Any]] = {
    "lamotrigine --with valproate": {"co_medications": ["valproate"]},
    "lamotrigine --with Tegretol --with combined pill --age 17": {
        "co_medications": ["Tegretol", "combined pill"],
        "age": 17,
    },
    "lamotrigine": {},
    "ketamine --weight-kg 70 --route iv --mg 140": {"weight_kg": 70, "route": "iv", "mg": 140},
    "ketamine --weight-kg 70 --route im --mg 700 --minutes 3": {
        "weight_kg": 70,
        "route": "im",
        "mg": 700,
        "over_minutes": 3,
    },
}


def _questions() -> list[str]:
    data = yaml.safe_load((Path(__file__).parent / "data" / "clinical_questions.yaml").read_text(encoding="utf-8"))
    extra = ["What are the signs of ketamine bladder?", "Is ketamine withdrawal physical?"]
    return [q["question"] for q in data["answered"]] + list(data["abstained"]) + extra


def _without_provenance(output: Any) -> dict[str, Any]:
    body: dict[str, Any] = output.model_dump(mode="json")
    assert set(body.pop("provenance")) >= {"ketaguide_version", "content_version", "content_hash", "policy_version"}
    return body


def _compare(name: str, actual: Any) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(json.dumps(actual, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert actual == json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def guide() -> Iterator[KetaGuide]:
    with KetaGuide.from_settings(retriever="lexical") as guide:
        yield guide


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_answers_match_the_recorded_ones(mode: str) -> None:
    if mode == "hybrid" and missing_dense_modules():
        pytest.skip(f"the dense extra is not installed: {', '.join(missing_dense_modules())}")
    with KetaGuide.from_settings(retriever=mode) as guide:
        _compare(f"answers-{mode}.json", [_without_provenance(guide.ask(q)) for q in _questions()])


def test_care_plans_match_the_recorded_ones(guide: KetaGuide) -> None:
    plans = {
        path.name: _without_provenance(guide.assess(json.loads(path.read_text(encoding="utf-8"))))
        for path in sorted(EXAMPLES.glob("*.json"))
    }
    _compare("care-plans.json", plans)


def test_dose_checks_match_the_recorded_ones(guide: KetaGuide) -> None:
    checks = {
        args: _without_provenance(
            guide.lamotrigine_schedule(**kwargs)
            if args.startswith("lamotrigine")
            else guide.check_ketamine_order(**kwargs)
        )
        for args, kwargs in DOSES.items()
    }
    _compare("doses.json", checks)
