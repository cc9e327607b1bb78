"""The real MiniLM embedder on small data, and the on-disk cache keyed by model and content hash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ketaguide.retrieval.embedding import missing_dense_modules
from ketaguide.retrieval.embedding_cache import EmbeddingCache, content_digest

# Checked without importing onnxruntime: importing it is what writes telemetry unless the embedder turned it off.
if missing_dense_modules():
    pytest.skip("the dense extra is not installed", allow_module_level=True)

from ketaguide.retrieval.dense import DenseIndex
from ketaguide.retrieval.embedding import DIMENSION, MiniLmEmbedder

TEXTS = [
    "Ketamine damages the bladder and causes cystitis.",
    "Chronic ketamine use injures the urinary tract.",
    "Lamotrigine reduces glutamate release in the brain.",
]


@pytest.fixture(scope="module")
def embedder() -> MiniLmEmbedder:
    return MiniLmEmbedder()


class CountingEmbedder:
    """Wraps the real embedder and records which texts it was asked to embed."""

    def __init__(self, inner: MiniLmEmbedder) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.embed(texts)


def test_vectors_are_unit_length_and_close_for_paraphrases(embedder: MiniLmEmbedder) -> None:
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (3, DIMENSION) and vectors.dtype == np.float32
    assert np.linalg.norm(vectors, axis=1) == pytest.approx(1.0, abs=1e-5)
    bladder, urinary, lamotrigine = vectors
    assert bladder @ urinary > bladder @ lamotrigine + 0.2


def test_batching_does_not_change_a_vector(embedder: MiniLmEmbedder) -> None:
    many = [*TEXTS, "x " * 300, "short"]  # mixed lengths, one truncated at 256 tokens
    together = embedder.embed(many)
    alone = np.stack([embedder.embed([t])[0] for t in many])
    assert together == pytest.approx(alone, abs=1e-5)


def test_dense_index_finds_the_paraphrase(embedder: MiniLmEmbedder) -> None:
    index = DenseIndex(embedder, ["bladder", "urinary", "lamotrigine"], embedder.embed(TEXTS))
    assert index.search("Does ketamine harm the urinary system?", 2)[0].doc_id == "urinary"
    assert index.search("   ", 2) == []


def test_second_run_reads_the_cache(tmp_path: Path, embedder: MiniLmEmbedder) -> None:
    counting = CountingEmbedder(embedder)
    first = EmbeddingCache(tmp_path, embedder.model_id).vectors("claims", TEXTS, counting)
    again = EmbeddingCache(tmp_path, embedder.model_id).vectors("claims", TEXTS, counting)
    assert (first.computed, again.computed) == (3, 0)
    assert counting.calls == [TEXTS]
    assert again.vectors == pytest.approx(first.vectors)


def test_only_changed_texts_are_embedded(tmp_path: Path, embedder: MiniLmEmbedder) -> None:
    counting = CountingEmbedder(embedder)
    cache = EmbeddingCache(tmp_path, embedder.model_id)
    cache.vectors("claims", TEXTS, counting)
    edited = [TEXTS[0], "An edited claim about naltrexone.", TEXTS[2]]
    result = cache.vectors("claims", edited, counting)
    assert counting.calls[-1] == ["An edited claim about naltrexone."]
    assert result.computed == 1
    assert result.vectors[1] == pytest.approx(embedder.embed([edited[1]])[0], abs=1e-5)


def test_cache_is_keyed_by_model(tmp_path: Path, embedder: MiniLmEmbedder) -> None:
    counting = CountingEmbedder(embedder)
    EmbeddingCache(tmp_path, embedder.model_id).vectors("claims", TEXTS, counting)
    other = EmbeddingCache(tmp_path, "another-model").vectors("claims", TEXTS, counting)
    assert other.computed == 3


def test_a_corrupt_cache_file_is_a_miss_not_an_error(tmp_path: Path, embedder: MiniLmEmbedder) -> None:
    cache = EmbeddingCache(tmp_path, embedder.model_id)
    cache.path("claims").parent.mkdir(parents=True)
    cache.path("claims").write_bytes(b"not an npz file")
    assert cache.vectors("claims", TEXTS, embedder.embed).computed == 3
    assert cache.vectors("claims", TEXTS, embedder.embed).computed == 0  # rewritten whole


def test_content_digest_is_stable_and_distinguishes_texts() -> None:
    assert content_digest("a") == content_digest("a") != content_digest("a ")
    assert len(content_digest("")) == 32


def test_embedding_writes_no_telemetry_under_home(tmp_path: Path) -> None:
    """onnxruntime 1.29+ writes ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ on import unless told not to."""
    home = tmp_path / "home"
    home.mkdir()
    # Nothing inherited that already turns telemetry off (onnxruntime also stays quiet under CI).
    quiet = {"ORT_DISABLE_TELEMETRY", "ORT_RUNNING_UNIT_TESTS", "CI", "XDG_CACHE_HOME"}
    env = {k: v for k, v in os.environ.items() if k not in quiet} | {"HOME": str(home)}
    code = "from ketaguide.retrieval.embedding import MiniLmEmbedder; print(MiniLmEmbedder().embed(['ketamine']).shape)"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"(1, {DIMENSION})"
    assert not (home / ".cache" / "Microsoft").exists()
    assert list(home.rglob("*")) == []


def test_lone_surrogates_are_embedded(embedder: MiniLmEmbedder) -> None:
    """Undecodable input (Python's surrogateescape) reaches the Rust tokenizer as valid text, not a TypeError."""
    vector = embedder.embed(["ketamine \udc80 bladder"])[0]
    assert vector == pytest.approx(embedder.embed(["ketamine ? bladder"])[0], abs=1e-6)
