"""The knowledge pack as the domain sees it: sources, claims, conflicts and vocabulary, already validated."""

from __future__ import annotations

from dataclasses import dataclass, field

from ketaguide.domain.evidence.lexicon import Lexicon
from ketaguide.domain.evidence.models import Claim, Conflict, Source
from ketaguide.domain.evidence.text import NEGATING_PREFIXES, stem, tokens


@dataclass(frozen=True)
class KnowledgePack:
    version: str
    sources: dict[str, Source]
    claims: tuple[Claim, ...]
    conflicts: tuple[Conflict, ...]
    lexicon: Lexicon
    _claims_by_id: dict[str, Claim] = field(init=False, repr=False, compare=False)
    _conflicts_by_claim: dict[str, tuple[Conflict, ...]] = field(init=False, repr=False, compare=False)
    _vocabulary: frozenset[str] = field(init=False, repr=False, compare=False)
    _concepts: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        by_claim: dict[str, list[Conflict]] = {}
        for conflict in self.conflicts:
            for claim_id in conflict.claim_ids:
                by_claim.setdefault(claim_id, []).append(conflict)
        object.__setattr__(self, "_claims_by_id", {c.id: c for c in self.claims})
        object.__setattr__(self, "_conflicts_by_claim", {k: tuple(v) for k, v in by_claim.items()})
        words = {t for s in self.sources.values() for t in tokens(s.text)}
        words |= {t for c in self.lexicon.concepts for term in c.terms for t in tokens(term)}
        object.__setattr__(self, "_vocabulary", frozenset(stem(w) for w in words))

    def claim(self, claim_id: str) -> Claim:
        return self._claims_by_id[claim_id]

    def has_claim(self, claim_id: str) -> bool:
        return claim_id in self._claims_by_id

    def source_of(self, claim: Claim) -> Source:
        return self.sources[claim.source_id]

    def conflicts_of(self, claim_id: str) -> tuple[Conflict, ...]:
        return self._conflicts_by_claim.get(claim_id, ())

    def knows_word(self, word: str) -> bool:
        """Whether a word, or its stem with or without a negating prefix, occurs in any source or lexicon term."""
        forms = {word, *(p + word for p in NEGATING_PREFIXES)}
        forms |= {word[len(p) :] for p in NEGATING_PREFIXES if word.startswith(p)}
        return any(stem(f) in self._vocabulary for f in forms)

    def concepts_of(self, claim: Claim) -> frozenset[str]:
        """Lexicon concepts a claim names (quote, statement, `about`, keywords), plus its intervention."""
        if claim.id not in self._concepts:
            about = claim.about
            parts = [claim.quote, claim.statement, about.condition, about.outcome, *claim.keywords]
            found = self.lexicon.concepts_in(" ".join(p for p in parts if p))
            self._concepts[claim.id] = frozenset(found | ({about.intervention} if about.intervention else set()))
        return self._concepts[claim.id]
