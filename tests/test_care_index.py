"""The care plan's per-snapshot lookups (`ketaguide.domain.care.index`) give the answers of the rules they index.

Each lookup replaces a scan of every rule that each plan used to make; the scans are still the definitions
(`interactions.find_interactions` and `unchecked_exposures` over every pair, `safety.rules_for`, `Citer.grade`), and
these tests check the lookups against them: over every medicine and substance of the formulary, alone and in pairs
and threes with ketamine, and over generated intakes.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings

from ketaguide.domain.care.index import RuleIndex, rule_index
from ketaguide.domain.care.intake import parse_intake
from ketaguide.domain.care.interactions import (
    Exposure,
    InteractionMatch,
    find_interactions,
    patient_exposures,
    unchecked_exposures,
)
from ketaguide.domain.care.rules import ClinicalContent
from ketaguide.domain.care.safety import rules_for
from ketaguide.domain.citing.citer import Citer, Cites
from ketaguide.domain.citing.references import ReferenceList
from ketaguide.domain.evidence.pack import KnowledgePack
from test_assess_properties import intakes


def _exposure_sets(content: ClinicalContent) -> list[tuple[Exposure, ...]]:
    """Ketamine with each formulary entry, with each pair of medicines, and with pairs of every third medicine and
    one of three substances."""
    formulary = content.formulary
    names = [m.generic for m in formulary.medications]
    codes = [s.id for s in formulary.substances if s.id != "ketamine"]
    documents = [{"age": 30, "sex": "female", "medications": [n]} for n in names] + [
        {"age": 30, "sex": "female", "other_substances": [c]} for c in codes
    ]
    documents += [{"age": 30, "sex": "female", "medications": list(pair)} for pair in itertools.combinations(names, 2)]
    documents += [
        {"age": 30, "sex": "female", "medications": [*pair], "other_substances": [c]}
        for pair in itertools.combinations(names[::3], 2)
        for c in codes[:3]
    ]
    return [patient_exposures(parse_intake(d), formulary)[0] for d in documents]


def _same_matches(exposures: tuple[Exposure, ...], content: ClinicalContent, index: RuleIndex) -> None:
    def key(matches: list[InteractionMatch]) -> list[tuple[str, str, str]]:
        return [(m.rule.id, m.first.drug, m.second.drug) for m in matches]

    every_pair = find_interactions(exposures, content.interactions)
    assert key(find_interactions(exposures, index.pairs_that_may_fire(exposures))) == key(every_pair)
    assert index.unchecked(exposures) == unchecked_exposures(exposures, content.interactions)


def test_interaction_lookups_agree_with_every_pair_scanned(pack: KnowledgePack, content: ClinicalContent) -> None:
    index = rule_index(pack, content)
    sets = _exposure_sets(content)
    assert len(sets) > 300
    fired = 0
    for exposures in sets:
        _same_matches(exposures, content, index)
        fired += bool(find_interactions(exposures, content.interactions))
    assert fired > 50  # the sets reach many pairs, not only ketamine's own


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(intakes)
def test_interaction_lookups_agree_on_generated_intakes(
    pack: KnowledgePack, content: ClinicalContent, document: dict[str, Any]
) -> None:
    exposures, _ = patient_exposures(parse_intake(document), content.formulary)
    _same_matches(exposures, content, rule_index(pack, content))


def test_option_rules_and_certainty_are_those_of_the_rules(pack: KnowledgePack, content: ClinicalContent) -> None:
    index = rule_index(pack, content)
    citer = Citer(pack, content.references)
    for option in content.options:
        assert index.option_rules[option.id] == tuple(rules_for(option.id, content.option_rules))
        grade = citer.grade(option.cites)
        assert (index.certainty[option.id].level, index.certainty[option.id].reasons) == (
            grade.level,
            tuple(grade.reasons),
        )


def test_the_index_is_built_once_per_content_and_pack(pack: KnowledgePack, content: ClinicalContent) -> None:
    first = rule_index(pack, content)
    assert rule_index(pack, content) is first
    # Other content (a test's edited copy) or another pack gets an index of its own, never a stale one.
    edited = dataclasses.replace(content, interactions=content.interactions[:1])
    assert rule_index(pack, edited).pairs == content.interactions[:1]
    other_pack = dataclasses.replace(pack)
    assert rule_index(other_pack, content) is not first
    assert rule_index(other_pack, content) is rule_index(other_pack, content)


def test_plans_share_the_snapshot_s_references_numbered_as_a_fresh_list_numbers_them(
    pack: KnowledgePack, content: ClinicalContent
) -> None:
    bibliography = rule_index(pack, content).bibliography
    claims, refs = tuple(c.id for c in pack.claims[:6]), tuple(sorted(content.references)[:6])
    for order in (Cites(claims=claims, refs=refs), Cites(claims=claims[::-1], refs=refs[::-1])):
        shared, fresh = Citer(pack, content.references, bibliography), Citer(pack, content.references)
        assert shared.cite(order) == fresh.cite(order)
        assert shared.reference_list.references == fresh.reference_list.references
    # Each reference is built once for each number it is given, then shared: plans cannot change it (frozen).
    again = Citer(pack, content.references, bibliography)
    again.cite(Cites(claims=claims, refs=refs))
    first = Citer(pack, content.references, bibliography)
    first.cite(Cites(claims=claims, refs=refs))
    assert all(a is b for a, b in zip(again.reference_list.references, first.reference_list.references, strict=True))
    # Without the snapshot's bibliography (the answering engine's lists) nothing is shared.
    alone = ReferenceList()
    alone.cite_claim(pack.claim(claims[0]), pack.source_of(pack.claim(claims[0])))
    assert alone.references == first.reference_list.references[:1]
    assert alone.references[0] is not first.reference_list.references[0]
