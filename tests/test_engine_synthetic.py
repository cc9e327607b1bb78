"""The synthetic-pack builder the engine tests rely on: offsets are found, and a typo fails loudly."""

from __future__ import annotations

import re

import pytest

from ketaguide.domain.evidence.models import Level, StudyDesign
from synthetic import PackBuilder, ranked

TEXT = "Ketamine damages the bladder. Lamotrigine reduced craving."


def base() -> PackBuilder:
    return PackBuilder().concept("ketamine", "drug", scope=True).concept("lamotrigine", "drug").source("s", TEXT)


def test_offsets_are_found_in_the_source_text() -> None:
    pack = base().claim("c", source="s", quote="Lamotrigine reduced craving").build()
    [claim] = pack.claims
    assert pack.sources["s"].text[claim.start : claim.end] == claim.quote
    assert claim.statement == claim.quote and claim.study_design is StudyDesign.UNSTATED


def test_a_stated_reliability_level_is_kept() -> None:
    pack = base().source("blog", "Ketamine is fun.", reliability=Level.VERY_LOW).build()
    assert pack.sources["blog"].reliability.level is Level.VERY_LOW
    assert pack.sources["s"].reliability.level is Level.MODERATE


@pytest.mark.parametrize(
    ("builder", "message"),
    [
        (base().claim("c", source="s", quote="Lamotrigine cured craving"), "not verbatim in source 's'"),
        (base().claim("c", source="t", quote="Ketamine"), "unknown source 't'"),
        (
            base().claim("c", source="s", quote="Ketamine", about={"intervention": "naltrexone"}),
            "'naltrexone' is not a lexicon concept",
        ),
        (base().claim("c", source="s", quote="Ketamine").claim("c", source="s", quote="bladder"), "duplicate claim"),
        (base().source("s", "again"), "duplicate source id 's'"),
        (
            base().claim("c", source="s", quote="Ketamine").conflict("x", "topic", {"a": ["c"], "b": ["c-typo"]}),
            "unknown claim(s) ['c-typo']",
        ),
    ],
)
def test_mistakes_in_a_test_pack_are_errors(builder: PackBuilder, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        builder.build()


def test_ranked_hits_keep_their_order_and_stay_above_the_relevance_floor() -> None:
    hits = ranked("a", "b", "c")
    assert [h.doc_id for h in hits] == ["a", "b", "c"]
    assert hits[0].score > hits[1].score > hits[2].score > hits[0].score * 0.9
