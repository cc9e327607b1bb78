"""The bundled knowledge pack: every file valid, every quote verbatim, and the checks catch corruption."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from ketaguide.domain.evidence.models import ClaimType, StudyDesign
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.knowledge.loader import content_root, inspect_pack

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "seeds"


def test_bundled_pack_has_no_problems() -> None:
    assert inspect_pack().problems == []


def test_sources_are_the_seed_documents_byte_for_byte(pack: KnowledgePack) -> None:
    seeds = sorted(SEEDS.glob("*.txt"))
    if not seeds:
        pytest.skip(f"../shared/corpus/seeds not found: no seed documents at {SEEDS} to compare the sources with")
    assert set(pack.sources) == {p.stem for p in seeds}
    for seed in seeds:
        assert pack.sources[seed.stem].text.encode("utf-8") == seed.read_bytes(), seed.name


def test_claim_coverage_per_document(pack: KnowledgePack) -> None:
    per_source = Counter(c.source_id for c in pack.claims)
    assert len(pack.claims) >= 100
    assert all(per_source[s] >= 10 for s in pack.sources), per_source


def test_every_quote_is_verbatim_at_its_offsets(pack: KnowledgePack) -> None:
    for claim in pack.claims:
        assert pack.sources[claim.source_id].text[claim.start : claim.end] == claim.quote, claim.id


def test_seed_000_reference_numbers_and_reported_grade_are_recorded(pack: KnowledgePack) -> None:
    summary = [c for c in pack.claims if c.source_id == "000_64f69f112bc3706e"]
    assert {r for c in summary for r in c.refs} == {1, 2, 3, 4, 5}
    assert any(c.reported_certainty is not None for c in summary)


def test_study_designs_and_claim_types_are_varied(pack: KnowledgePack) -> None:
    designs = {c.study_design for c in pack.claims}
    assert {StudyDesign.ANIMAL_PRECLINICAL, StudyDesign.CASE_REPORT, StudyDesign.SYSTEMATIC_REVIEW} <= designs
    assert {c.claim_type for c in pack.claims} == set(ClaimType)


def test_conflicts_link_claims_from_different_sources(pack: KnowledgePack) -> None:
    ids = {c.id for c in pack.conflicts}
    assert {"withdrawal-physical-symptoms", "addictive-potential"} <= ids
    for conflict in pack.conflicts:
        sides = [{pack.claim(cid).source_id for cid in side.claims} for side in conflict.sides]
        assert len(sides) >= 2


def test_factual_slip_is_marked(pack: KnowledgePack) -> None:
    slips = [c for c in pack.claims if c.factual_slip]
    assert any("neuropeptide" in c.quote for c in slips)


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(str(content_root()), target)
    return target


def _edit_claims(root: Path, edit: object) -> None:
    path = root / "claims" / "000_64f69f112bc3706e.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data["claims"])  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def test_check_catches_a_quote_moved_off_its_offsets(pack_copy: Path) -> None:
    def shift(claims: list[dict[str, object]]) -> None:
        claims[0]["start"] = int(claims[0]["start"]) + 1  # type: ignore[call-overload]
        claims[0]["end"] = int(claims[0]["end"]) + 1  # type: ignore[call-overload]

    _edit_claims(pack_copy, shift)
    problems = inspect_pack(pack_copy).problems
    assert any("is not verbatim" in p and "quote found at" in p for p in problems)


def test_check_catches_duplicate_ids_and_unknown_values(pack_copy: Path) -> None:
    def corrupt(claims: list[dict[str, object]]) -> None:
        claims[1]["id"] = claims[0]["id"]
        claims[2]["study_design"] = "anecdote"
        claims[3]["about"] = {**claims[3]["about"], "intervention": "unobtainium"}  # type: ignore[dict-item]

    _edit_claims(pack_copy, corrupt)
    problems = inspect_pack(pack_copy).problems
    assert any(p.startswith("duplicate claim id") for p in problems)
    assert any("study_design" in p for p in problems)
    assert any("'unobtainium' is not a lexicon concept" in p for p in problems)


def test_check_catches_dangling_conflict_reference(pack_copy: Path) -> None:
    path = pack_copy / "conflicts.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["conflicts"][0]["sides"][0]["claims"].append("c999-missing")
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    assert any("unknown claim c999-missing" in p for p in inspect_pack(pack_copy).problems)


def test_check_catches_unknown_fields(pack_copy: Path) -> None:
    _edit_claims(pack_copy, lambda claims: claims[0].update({"qoute": "typo"}))
    assert any("qoute" in p and "Extra inputs" in p for p in inspect_pack(pack_copy).problems)


def test_check_catches_refs_the_source_does_not_cite(pack_copy: Path) -> None:
    _edit_claims(pack_copy, lambda claims: claims[0].update({"refs": [1, 5]}))
    assert any("refs [5] are not cited in the source" in p for p in inspect_pack(pack_copy).problems)
