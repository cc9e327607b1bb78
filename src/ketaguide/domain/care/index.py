"""Lookups the care-plan rules need that depend only on the knowledge snapshot, built once per snapshot.

Every plan asks the same questions of the content: which safety rules concern an option, how certain the evidence an
option cites is, which curated pairs could concern a drug or a class. Their answers depend on the content and the
pack, never on the patient, so `rule_index(pack, content)` computes them on first use and keeps them with the
content (which never changes); each plan then looks them up instead of scanning every rule. Nothing about a patient
or a plan is kept: every plan is still computed from its own intake.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ketaguide.domain.care.interactions import Exposure, InteractionRule
from ketaguide.domain.care.rules import ClinicalContent, OptionRule
from ketaguide.domain.citing.citer import Citer
from ketaguide.domain.citing.references import Bibliography
from ketaguide.domain.evidence.models import Level
from ketaguide.domain.evidence.pack import KnowledgePack

_MEMO_KEY = "rule_index"


@dataclass(frozen=True)
class OptionCertainty:
    """The GRADE-style certainty of the evidence an option cites (`Citer.grade`), and the reasons for it."""

    level: Level
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RuleIndex:
    """What the rules of one snapshot say before any patient is seen.

    `option_rules[id]`: the safety rules naming the option, in content order (`safety.rules_for`);
    `certainty[id]`: the certainty of the evidence the option cites;
    `pair_sides[i]`: the selectors of each side of `content.interactions[i]`; `pairs_naming[selector]`: the indices of
    the pairs naming a selector (`drug:<id>` or `class:<name>`), on either side;
    `bibliography`: the references plans cite, each built once and numbered per plan (`citing.references`).
    """

    option_rules: Mapping[str, tuple[OptionRule, ...]]
    certainty: Mapping[str, OptionCertainty]
    pairs: tuple[InteractionRule, ...]
    pair_sides: tuple[tuple[frozenset[str], frozenset[str]], ...]
    pairs_naming: Mapping[str, tuple[int, ...]]
    named_selectors: frozenset[str]
    bibliography: Bibliography

    @classmethod
    def of(cls, pack: KnowledgePack, content: ClinicalContent) -> RuleIndex:
        grader = Citer(pack, content.references)  # grading reads the evidence only, never a plan's numbering
        grades = {o.id: grader.grade(o.cites) for o in content.options}
        naming: dict[str, list[int]] = {}
        for i, pair in enumerate(content.interactions):
            for selector in dict.fromkeys(pair.selectors):
                naming.setdefault(selector, []).append(i)
        return cls(
            option_rules={o.id: tuple(r for r in content.option_rules if o.id in r.options) for o in content.options},
            certainty={k: OptionCertainty(g.level, tuple(g.reasons)) for k, g in grades.items()},
            pairs=content.interactions,
            pair_sides=tuple((frozenset(p.between[0]), frozenset(p.between[1])) for p in content.interactions),
            pairs_naming={selector: tuple(found) for selector, found in naming.items()},
            named_selectors=frozenset(naming),
            bibliography=Bibliography(),
        )

    def unchecked(self, exposures: Iterable[Exposure]) -> tuple[Exposure, ...]:
        """The exposures, other than the subject drug, that no curated pair names: `interactions.unchecked_exposures`
        (tests check they agree), with each exposure's selectors looked up instead of every pair scanned."""
        return tuple(
            e for e in exposures if e.origin != "subject" and exposure_selectors((e,)).isdisjoint(self.named_selectors)
        )

    def pairs_that_may_fire(self, exposures: Iterable[Exposure]) -> tuple[InteractionRule, ...]:
        """The curated pairs whose both sides name one of these exposures, in content order: no other pair can fire
        (`interactions.find_interactions` finds the same matches among these as among every pair)."""
        present = exposure_selectors(exposures)
        return tuple(
            self.pairs[i]
            for i in self._naming(present)
            if not present.isdisjoint(self.pair_sides[i][0]) and not present.isdisjoint(self.pair_sides[i][1])
        )

    def _naming(self, selectors: Iterable[str]) -> list[int]:
        return sorted({i for selector in selectors for i in self.pairs_naming.get(selector, ())})


def exposure_selectors(exposures: Iterable[Exposure]) -> frozenset[str]:
    """Every selector one of the exposures matches (`Exposure.matches`: `drug:<its id>`, `class:<one of its
    classes>`)."""
    return frozenset(s for e in exposures for s in (f"drug:{e.drug}", *(f"class:{c}" for c in e.classes)))


def rule_index(pack: KnowledgePack, content: ClinicalContent) -> RuleIndex:
    """The snapshot's `RuleIndex`, built on first use and kept with the content for this pack. (Two threads may
    both build it the first time; they build the same thing.)"""
    memo = content.memo
    found = memo.get(_MEMO_KEY)
    if isinstance(found, tuple) and found[0] is pack:
        index: RuleIndex = found[1]
        return index
    index = RuleIndex.of(pack, content)
    memo[_MEMO_KEY] = (pack, index)
    return index
