"""Embeddings cached on disk, keyed by model and by each text's content hash, so nothing is embedded twice.

Layout: `<cache_dir>/embeddings/<model_id>/<collection>.npz` holding `digests` (BLAKE2b-128 of each text, hex) and
`vectors`. A collection (the knowledge pack's claims, a benchmark corpus) keeps the vectors of its latest texts:
an edited claim is re-embedded alone, and the file never grows past the collection.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ketaguide.retrieval.embedding import Vectors


@dataclass(frozen=True)
class CachedVectors:
    vectors: Vectors
    computed: int  # texts embedded now; the rest came from the cache


def content_digest(text: str) -> str:
    # Hex, not raw bytes: numpy's fixed-width bytes type drops trailing NULs, which would break lookups.
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


class EmbeddingCache:
    def __init__(self, cache_dir: Path, model_id: str) -> None:
        self.directory = cache_dir / "embeddings" / _safe(model_id)

    def path(self, collection: str) -> Path:
        return self.directory / f"{_safe(collection)}.npz"

    def vectors(self, collection: str, texts: Sequence[str], embed: Callable[[list[str]], Vectors]) -> CachedVectors:
        """The vectors of `texts` in order, embedding (with `embed`) only those the cache lacks."""
        digests = [content_digest(t) for t in texts]
        known = self._load(self.path(collection))
        missing = [i for i, d in enumerate(digests) if d not in known]
        fresh = embed([texts[i] for i in missing]) if missing else None
        found = dict(known)
        if fresh is not None:
            found.update((digests[i], fresh[row]) for row, i in enumerate(missing))
        vectors = np.stack([found[d] for d in digests]) if digests else np.zeros((0, 0), dtype=np.float32)
        if missing or len(known) != len(set(digests)):
            # A read-only or full cache directory costs recomputation next time, never an answer.
            with contextlib.suppress(OSError):
                self._save(self.path(collection), digests, vectors)
        return CachedVectors(vectors.astype(np.float32, copy=False), len(missing))

    @staticmethod
    def _load(path: Path) -> dict[str, Vectors]:
        try:
            with np.load(path, allow_pickle=False) as stored:
                return dict(zip(stored["digests"].tolist(), stored["vectors"], strict=True))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            # A torn or foreign file is only a cache miss: the vectors are recomputed and the file rewritten.
            return {}

    @staticmethod
    def _save(path: Path, digests: list[str], vectors: Vectors) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a file, and two writers leave one whole file.
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
            np.savez(tmp, digests=np.array(digests, dtype="U32"), vectors=vectors)
        os.replace(tmp.name, path)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)
