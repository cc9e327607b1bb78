"""Dense retrieval: exact cosine search over cached embeddings (numpy; no ANN index below ~10^5 vectors)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ketaguide.domain.ports import Hit

if TYPE_CHECKING:
    from ketaguide.retrieval.embedding import Vectors


class Embedder(Protocol):
    model_id: str

    def embed(self, texts: Sequence[str]) -> Vectors: ...


class DenseIndex:
    """Ranks documents by the cosine similarity of their unit vectors to the query's."""

    name = "dense"

    def __init__(self, embedder: Embedder, doc_ids: Sequence[str], vectors: Vectors) -> None:
        if len(doc_ids) != len(vectors):
            raise ValueError(f"{len(doc_ids)} document ids for {len(vectors)} vectors")
        self.embedder = embedder
        self._doc_ids = list(doc_ids)
        self._vectors = vectors

    def search(self, query: str, k: int) -> Sequence[Hit]:
        if not query.strip() or not self._doc_ids or k <= 0:
            return []
        return self.search_vector(self.embedder.embed([query])[0], k)

    def search_vector(self, query_vector: Vectors, k: int) -> list[Hit]:
        scores = self._vectors @ query_vector
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        ranked = top[np.argsort(-scores[top], kind="stable")]
        return [Hit(doc_id=self._doc_ids[i], score=float(scores[i])) for i in ranked.tolist()]
