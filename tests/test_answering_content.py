"""The answering content is checked like the rest of the pack (`ketaguide kb check`): what each claim answers, and
knowledge/content/answering.yaml (shorthand, answer-type cues, reference points)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ketaguide.domain.evidence.models import AnswerType
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.knowledge.loader import content_root, inspect_pack


@pytest.fixture
def content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(str(content_root()), target)
    return target


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def edit_claims(root: Path, change: Callable[[list[dict[str, Any]]], None]) -> None:
    edit_yaml(root / "claims" / "000_64f69f112bc3706e.yaml", lambda data: change(data["claims"]))


def test_every_claim_says_what_it_answers_in_the_packs_vocabulary(pack: KnowledgePack) -> None:
    for claim in pack.claims:
        assert claim.answers, claim.id
        assert all(f in pack.lexicon for f in claim.facets), claim.id
        assert all(i.lower() in claim.statement.lower() for i in claim.items), claim.id


def test_every_answer_type_is_answered_by_some_evidence(pack: KnowledgePack) -> None:
    answered = {t for c in pack.claims for t in c.answers}
    answered |= {t for p in pack.lexicon.phrasebook.reference_points for t in p.answers}
    assert answered >= set(AnswerType) - {AnswerType.OTHER}


def test_a_claim_without_an_answer_type_is_a_problem(content: Path) -> None:
    edit_claims(content, lambda claims: claims[0].pop("answers"))
    assert any("no answer type" in p for p in inspect_pack(content).problems)


def test_an_unknown_facet_or_answer_type_is_a_problem(content: Path) -> None:
    def corrupt(claims: list[dict[str, Any]]) -> None:
        claims[0]["facets"] = ["lamotrigine", "unobtainium"]
        claims[1]["answers"] = ["prophecy"]

    edit_claims(content, corrupt)
    problems = inspect_pack(content).problems
    assert any("unknown facet 'unobtainium'" in p for p in problems)
    assert any("c000-evidence-preclinical-and-case-reports: answers.0: Input should be" in p for p in problems)


def test_an_item_not_in_the_statement_is_a_problem(content: Path) -> None:
    edit_claims(content, lambda claims: claims[0].update({"items": ["unicorns"]}))
    assert any("item 'unicorns' is not in its statement" in p for p in inspect_pack(content).problems)


def test_a_reference_point_must_name_a_known_reference_and_quote_it(content: Path) -> None:
    def corrupt(data: dict[str, Any]) -> None:
        data["references"][0]["id"] = "no-such.reference"
        data["references"][1]["points"][0]["text"] = "Words the reference never said."
        data["references"][2]["points"][0]["subjects"] = ["unobtainium"]

    edit_yaml(content / "answering.yaml", corrupt)
    problems = inspect_pack(content).problems
    assert any("no-such.reference/1: unknown reference" in p for p in problems)
    assert any("text is not verbatim in the reference's statement" in p for p in problems)
    assert any("unknown subject 'unobtainium'" in p for p in problems)


def test_patterns_cues_and_wording_are_checked(content: Path) -> None:
    def corrupt(data: dict[str, Any]) -> None:
        data["shorthand"].append({"pattern": "(unclosed", "meant": "x", "kind": "slang"})
        data["answer_types"][0]["cues"].append("[bad")
        data["answer_types"][1]["missing"] = "None of the sources states {what}."
        data["answer_types"] = [t for t in data["answer_types"] if t["type"] != "dose"]

    edit_yaml(content / "answering.yaml", corrupt)
    problems = inspect_pack(content).problems
    assert any("pattern does not compile" in p for p in problems)
    assert any("a cue does not compile" in p for p in problems)
    assert any("unknown placeholder {what}" in p for p in problems)
    assert any("answer type 'dose' has no entry with 'missing'" in p for p in problems)
