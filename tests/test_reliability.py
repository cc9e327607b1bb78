"""Itemised source reliability: each detector, and the levels of the seed documents."""

from __future__ import annotations

from ketaguide.domain.evidence.models import Level
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.domain.evidence.reliability import (
    CuratorObservations,
    Observation,
    assess_source,
    dangling_reference_numbers,
    keyword_stuffing,
    unattributed_statistics,
)


def observations(met: bool = False, errors: tuple[str, ...] = ()) -> CuratorObservations:
    o = Observation(met=met, detail="curator note")
    return CuratorObservations(
        authorship=o,
        attribution=o,
        disclosure=o,
        currency=o,
        topic_mixing=Observation(met=False, detail="n/a"),
        factual_errors=errors,
    )


def test_dangling_reference_numbers_flag_lifted_numbering() -> None:
    lifted = "Microglia matter 179. Gut flora matter 216. Stroke leads to depression 247. Ketamine acts 30."
    assert dangling_reference_numbers(lifted) is not None


def test_consistent_small_numbering_is_not_dangling() -> None:
    consistent = "Lamotrigine helps 1, 2\nIt inhibits glutamate release 2, 3\nCravings fell 4\nAnd more 5"
    assert dangling_reference_numbers(consistent) is None


def test_keyword_stuffing_counts_repeated_headings() -> None:
    page = "ketamine addiction\ntext\nKetamine addiction\nmore text\nketamine addiction\n"
    assert keyword_stuffing(page) == ["'ketamine addiction' x3"]
    assert keyword_stuffing("one heading\nbody\n") == []


def test_unattributed_statistic_needs_a_citation_to_pass() -> None:
    assert unattributed_statistics("Nearly 70% of users are young.")
    assert not unattributed_statistics("Nearly 70% of users are young (Smith, 2020).")


def test_factual_errors_and_calls_to_action_cost_points() -> None:
    clean = assess_source("Risks and dangers are discussed.", observations())
    flagged = assess_source("Risks and dangers. Call our free helpline now.", observations(errors=("x",)))
    assert flagged.score == clean.score - 2


def test_all_jama_items_and_balanced_content_reach_high() -> None:
    text = (
        "Risks include overdose and dependence. Evidence is limited and uncertain. Options: naltrexone or CBT. "
        "A systematic review and case reports were rated very low quality by GRADE criteria."
    )
    assert assess_source(text, observations(met=True)).level is Level.HIGH


def test_seed_levels_separate_graded_summary_from_spun_page(pack: KnowledgePack) -> None:
    sources = pack.sources
    summary, spun = sources["000_64f69f112bc3706e"], sources["004_452b14dc06c0c0a1"]
    assert summary.reliability.level.rank >= Level.MODERATE.rank
    assert spun.reliability.level is Level.VERY_LOW
    assert summary.reliability.score - spun.reliability.score >= 5
    spun_flags = {i.name for i in spun.reliability.items if i.instrument == "red flag" and i.met}
    assert {"keyword stuffing", "dangling reference numbers", "unattributed statistics"} <= spun_flags


def test_assessment_is_deterministic(pack: KnowledgePack) -> None:
    text = pack.sources["003_4454fa2a4e19c3b6"].text
    assert assess_source(text, observations()) == assess_source(text, observations())
