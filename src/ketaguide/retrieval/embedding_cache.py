"""Embeddings cached on disk, keyed by model and by each text's content hash, so nothing is embedded twice.

Layout: `<cache_dir>/embeddings/<model_id>/<collection>.v<FORMAT>.npz` holding `format`, `digests` (BLAKE2b-128 of
each text, hex), `vectors` (float32 unit rows, one per digest) and `checksum` (BLAKE2b of the other three). A
collection (the knowledge pack's claims, a benchmark corpus) keeps the vectors of its latest texts: an edited claim
is re-embedded alone, and the file never grows past the collection.

The cache can only cost time, never an answer: a file that cannot be read or fails any check (empty, torn, another
shape, NaN, rows out of step with their digests) is a miss, recomputed and rewritten; a folder that cannot be
written is reported once and the run goes on without caching.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ketaguide.cache_files import Report, ReportOnce, report_to_stderr, write_atomically

if TYPE_CHECKING:
    from ketaguide.retrieval.embedding import Vectors

# Bumped whenever the file's layout or meaning changes; part of the file name, so old files are never misread.
FORMAT = 2
# Stored vectors are unit length; float32 rounding keeps norms far closer to 1 than this.
NORM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class CachedVectors:
    vectors: Vectors
    computed: int  # texts embedded now; the rest came from the cache


def content_digest(text: str) -> str:
    # Hex, not raw bytes: numpy's fixed-width bytes type drops trailing NULs, which would break lookups.
    # "surrogatepass": a text with a lone surrogate (undecodable input) still has a digest.
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class EmbeddingCache:
    """Vectors of texts on disk under `cache_dir`, for one model; `dimension`, the model's, is checked on read.

    `report` is told, once per cache, that the folder cannot be written (the default prints to stderr).
    """

    def __init__(
        self, cache_dir: Path, model_id: str, dimension: int | None = None, report: Report = report_to_stderr
    ) -> None:
        self.directory = cache_dir / "embeddings" / _safe(model_id)
        self.dimension = dimension
        self._report_once = ReportOnce(report)

    @staticmethod
    def collection_for_path(name: str, path: Path) -> str:
        """A collection for a dataset folder: `name`, the folder's name and a hash of its resolved path.

        By folder name alone, two datasets both called `scifact` would overwrite each other's vectors each run.
        """
        resolved = path.resolve()
        digest = hashlib.blake2b(str(resolved).encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
        return f"{name}-{resolved.name}-{digest}"

    def path(self, collection: str) -> Path:
        return self.directory / f"{_safe(collection)}.v{FORMAT}.npz"

    def vectors(self, collection: str, texts: Sequence[str], embed: Callable[[list[str]], Vectors]) -> CachedVectors:
        """The vectors of `texts` in order, embedding (with `embed`) only those the cache lacks."""
        digests = [content_digest(t) for t in texts]
        known = self._load(self.path(collection))
        found, computed = self._with_missing(known, digests, texts, embed)
        empty = np.zeros((0, self.dimension or 0), dtype=np.float32)
        vectors = np.stack([found[d] for d in digests]).astype(np.float32, copy=False) if digests else empty
        if computed or len(known) != len(set(digests)):
            self._save(self.path(collection), digests, vectors)
        return CachedVectors(vectors, computed)

    def _with_missing(
        self, known: dict[str, Vectors], digests: list[str], texts: Sequence[str], embed: Callable[[list[str]], Vectors]
    ) -> tuple[dict[str, Vectors], int]:
        """`known` plus the vectors of the texts it lacks, and how many texts were embedded for them."""
        missing = [i for i, d in enumerate(digests) if d not in known]
        if not missing:
            return known, 0
        fresh = np.asarray(embed([texts[i] for i in missing]), dtype=np.float32)
        if known and fresh.shape[1:] != next(iter(known.values())).shape:
            # Cached at another width under this model id (no `dimension` was given to catch it): start afresh.
            return self._with_missing({}, digests, texts, embed)
        return {**known, **{digests[i]: fresh[row] for row, i in enumerate(missing)}}, len(missing)

    def _load(self, path: Path) -> dict[str, Vectors]:
        """The cached vector of each digest, or nothing if the file is absent, unreadable or fails a check."""
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {key: stored[key] for key in ("format", "digests", "vectors", "checksum")}
            if self._usable(arrays):
                return dict(zip(arrays["digests"].tolist(), arrays["vectors"], strict=True))
        # Broad on purpose: whatever reading a cache file raises (EOFError on an empty file, BadZipFile, KeyError,
        # ValueError for a pickled array, OSError...), it is only a miss, recomputed and rewritten.
        except Exception:
            pass
        return {}

    def _usable(self, arrays: dict[str, Any]) -> bool:
        """Whether a file's arrays are what `_save` writes: this layout, intact, one unit vector per digest."""
        digests, vectors, format_ = arrays["digests"], arrays["vectors"], arrays["format"]
        header = format_.shape == arrays["checksum"].shape == () and format_.dtype.kind == "i" and format_ == FORMAT
        shapes = digests.dtype == np.dtype("<U32") and vectors.dtype == np.float32 and vectors.ndim == 2
        if not (header and shapes and digests.shape == (len(vectors),)):
            return False
        if self.dimension is not None and vectors.shape[1] != self.dimension:
            return False
        if str(arrays["checksum"]) != _checksum(digests, vectors):
            return False  # torn, edited, or rows out of step with their digests
        norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
        return bool(np.isfinite(vectors).all() and np.all(np.abs(norms - 1.0) <= NORM_TOLERANCE))

    def _save(self, path: Path, digests: list[str], vectors: Vectors) -> None:
        stored_digests = np.array(digests, dtype="<U32")
        arrays: dict[str, Any] = {"format": np.array(FORMAT), "digests": stored_digests, "vectors": vectors}
        arrays["checksum"] = np.array(_checksum(stored_digests, vectors))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, lambda file: np.savez(file, **arrays))
        except OSError as error:
            self._report_once(f"ketaguide: embedding cache not written ({error}); continuing without it")


def _checksum(digests: Any, vectors: Any) -> str:
    """BLAKE2b of the digests then the vectors, so a torn write or rows reordered against their digests show."""
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(np.ascontiguousarray(digests).tobytes())
    hasher.update(np.ascontiguousarray(vectors).tobytes())
    return hasher.hexdigest()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)
