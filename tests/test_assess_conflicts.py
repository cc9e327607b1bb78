"""A care plan that cites one side of a disagreement between sources shows the other side too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ketaguide.bootstrap import Runtime, build_runtime
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.services.assessment import assess_text

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "intakes"


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    with build_runtime() as loaded:
        yield loaded


def test_conflicts_touching_cited_claims_show_both_sides(pack: KnowledgePack, runtime: Runtime) -> None:
    text = (EXAMPLES / "withdrawal-opioid-treatment.json").read_text()
    plan = assess_text(runtime, text).model_dump(mode="json")
    by_n = {r["n"]: r for r in plan["references"]}
    findings = {k: v for k, v in plan.items() if k not in ("conflicts", "references")}
    cited_claims = {by_n[n]["claim_id"] for n in _citations(findings) if by_n[n].get("claim_id")}
    expected = {c.topic for cid in cited_claims for c in pack.conflicts_of(cid)}
    assert expected, "the vignette cites claims that sources dispute"
    assert {c["topic"] for c in plan["conflicts"]} == expected
    for conflict in plan["conflicts"]:
        sources = {by_n[n]["source_id"] for n in conflict["citations"]}
        assert len(sources) >= 2, conflict["topic"]
        assert conflict["message"].startswith("Sources conflict")
    json.dumps(plan)


def _citations(node: object) -> set[int]:
    """Every reference number cited anywhere in a JSON tree."""
    if isinstance(node, dict):
        found = set(node.get("citations", [])) if isinstance(node.get("citations"), list) else set()
        return found.union(*(_citations(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_citations(v) for v in node))
    return set()
