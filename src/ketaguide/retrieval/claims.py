"""The evidence index over the knowledge pack's claims: hybrid (lexical + dense) when the dense extra is installed.

Everything dense is imported only when a hybrid index is built, so `ketaguide ask` with lexical retrieval never
pays for numpy or onnxruntime at start-up.
"""

from __future__ import annotations

from pathlib import Path

from ketaguide.domain.errors import InputError
from ketaguide.domain.evidence.models import Claim
from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.domain.ports import EvidenceIndex
from ketaguide.retrieval.embedding import DENSE_INSTALL_HINT, missing_dense_modules
from ketaguide.retrieval.fusion import HybridIndex
from ketaguide.retrieval.lexical import FtsIndex, IndexedDocument

LEXICAL_NOTE = "lexical retrieval (SQLite FTS5 BM25 with the synonym lexicon)"
HYBRID_NOTE = "hybrid retrieval (SQLite FTS5 BM25 with the synonym lexicon, fused with all-MiniLM-L6-v2 embeddings)"
CLAIM_COLLECTION = "knowledge-pack-claims"

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


def claim_embedding_text(claim: Claim) -> str:
    """What the dense leg embeds: the curator's statement, then the source's own words."""
    return f"{claim.statement} {claim.quote}"


def build_hybrid_claim_index(pack: KnowledgePack, cache_dir: Path) -> HybridIndex:
    """Lexical and dense indexes over the claims, fused; claim vectors (and the model as onnxruntime optimises it)
    are cached on disk after the first run."""
    from ketaguide.retrieval.dense import DenseIndex
    from ketaguide.retrieval.embedding import MiniLmEmbedder
    from ketaguide.retrieval.embedding_cache import EmbeddingCache

    embedder = MiniLmEmbedder(cache_dir=cache_dir)
    texts = [claim_embedding_text(c) for c in pack.claims]
    cache = EmbeddingCache(cache_dir, embedder.model_id, dimension=embedder.dimension)
    vectors = cache.vectors(CLAIM_COLLECTION, texts, embedder.embed).vectors
    dense = DenseIndex(embedder, [c.id for c in pack.claims], vectors)
    return HybridIndex(build_lexical_claim_index(pack), dense)


def build_claim_index(pack: KnowledgePack, mode: str, cache_dir: Path) -> tuple[EvidenceIndex, str]:
    """The claim index for `mode` (auto|lexical|hybrid) and a note saying which retriever is in use.

    auto: hybrid when the dense extra is installed, else lexical (and the note says why); hybrid: an error
    naming the missing modules when the extra is not installed.
    """
    if mode not in ("auto", "lexical", "hybrid"):
        raise InputError("retriever", f"{mode!r} is not one of auto, lexical, hybrid")
    if mode == "lexical":
        return build_lexical_claim_index(pack), LEXICAL_NOTE
    missing = missing_dense_modules()
    if not missing:
        return build_hybrid_claim_index(pack, cache_dir), HYBRID_NOTE
    if mode == "hybrid":
        raise InputError(
            "retriever", f"hybrid needs the dense extra ({DENSE_INSTALL_HINT}); not installed: {', '.join(missing)}"
        )
    note = f"{LEXICAL_NOTE}; hybrid unavailable: the dense extra is not installed ({DENSE_INSTALL_HINT})"
    return build_lexical_claim_index(pack), note
