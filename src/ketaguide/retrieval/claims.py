"""The evidence index over the knowledge pack's claims."""

from __future__ import annotations

from pathlib import Path

from ketaguide.domain.evidence import Claim
from ketaguide.domain.pack import KnowledgePack
from ketaguide.domain.ports import EvidenceIndex
from ketaguide.retrieval.lexical import FtsIndex, IndexedDocument

# The normalised statement and the verbatim quote carry the content; `about` names concepts the quote implies.
CLAIM_FIELD_WEIGHTS = {"statement": 1.0, "quote": 1.0, "about": 0.5}


def claim_document(claim: Claim, pack: KnowledgePack) -> IndexedDocument:
    about = claim.about
    intervention = about.intervention
    concept_terms = pack.lexicon.get(intervention).terms if intervention and intervention in pack.lexicon else ()
    about_text = " ".join(
        filter(None, [about.condition, about.outcome, about.phase.replace("_", " "), *concept_terms, *claim.keywords])
    )
    return IndexedDocument(claim.id, {"statement": claim.statement, "quote": claim.quote, "about": about_text})


def build_lexical_claim_index(pack: KnowledgePack) -> FtsIndex:
    index = FtsIndex(CLAIM_FIELD_WEIGHTS, lexicon=pack.lexicon)
    index.add(claim_document(c, pack) for c in pack.claims)
    return index


def build_claim_index(pack: KnowledgePack, mode: str, cache_dir: Path) -> tuple[EvidenceIndex, str]:
    """The claim index for `mode` (auto|lexical|hybrid) and a note saying which retriever is in use."""
    return build_lexical_claim_index(pack), "lexical retrieval (SQLite FTS5 BM25 with the synonym lexicon)"
