"""The embedding cache on real files: anything wrong with a file is a miss, recomputed, rewritten; never a crash.

A deterministic stand-in embedder (unit vectors from each text's hash) keeps these tests independent of the
dense extra: the cache's contract is about files, not about the model.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ketaguide.retrieval import embedding_cache
from ketaguide.retrieval.embedding_cache import FORMAT, EmbeddingCache

DIMENSION = 8
TEXTS = ["ketamine cystitis", "lamotrigine and craving", "naltrexone trial", "withdrawal and mood"]


class StandInEmbedder:
    """Unit vectors derived from each text's hash; counts the texts it is asked to embed."""

    def __init__(self, dimension: int = DIMENSION) -> None:
        self.dimension, self.embedded = dimension, 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.embedded += len(texts)
        return np.stack([self.vector(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        raw = np.random.default_rng(seed).normal(size=self.dimension)
        return (raw / np.linalg.norm(raw)).astype(np.float32)


class Reports(list[str]):
    """Collects what the cache reports (it would print to stderr)."""

    def __call__(self, message: str) -> None:
        self.append(message)


def new_cache(root: Path, reports: Reports | None = None) -> EmbeddingCache:
    return EmbeddingCache(root, "stand-in", dimension=DIMENSION, report=reports if reports is not None else Reports())


def expected_vectors() -> np.ndarray:
    return StandInEmbedder()(TEXTS)


def written(root: Path) -> Path:
    """A cache file written by the cache itself for TEXTS; its path."""
    cache = new_cache(root)
    cache.vectors("claims", TEXTS, StandInEmbedder())
    return cache.path("claims")


def stored_arrays(path: Path) -> dict[str, Any]:
    with np.load(path) as stored:
        return {key: stored[key] for key in stored.files}


def forge(path: Path, keep_checksum: bool = False, **changes: Any) -> None:
    """Rewrite a good cache file with some arrays changed; the checksum is recomputed to match unless kept.

    A recomputed checksum makes the file well formed, so the checks behind it (shape, dtype, values) are tested.
    """
    arrays = {**stored_arrays(path), **changes}
    if not keep_checksum:
        arrays["checksum"] = np.array(embedding_cache._checksum(arrays["digests"], arrays["vectors"]))
    with path.open("wb") as out:
        np.savez(out, **arrays)


def assert_recomputed_and_rewritten(root: Path) -> None:
    embedder = StandInEmbedder()
    result = new_cache(root).vectors("claims", TEXTS, embedder)
    assert (result.computed, embedder.embedded) == (len(TEXTS), len(TEXTS))
    assert result.vectors.dtype == np.float32
    np.testing.assert_array_equal(result.vectors, expected_vectors())
    again = new_cache(root).vectors("claims", TEXTS, embedder)
    assert again.computed == 0  # the rewritten file is whole and passes every check
    np.testing.assert_array_equal(again.vectors, expected_vectors())


def test_a_good_file_is_read_back_exactly(tmp_path: Path) -> None:
    written(tmp_path)
    embedder = StandInEmbedder()
    result = new_cache(tmp_path).vectors("claims", TEXTS, embedder)
    assert (result.computed, embedder.embedded) == (0, 0)
    np.testing.assert_array_equal(result.vectors, expected_vectors())


def test_the_format_version_is_in_the_file_name(tmp_path: Path) -> None:
    assert written(tmp_path).name == f"claims.v{FORMAT}.npz"


def test_a_zero_byte_file(tmp_path: Path) -> None:
    written(tmp_path).write_bytes(b"")
    assert_recomputed_and_rewritten(tmp_path)


def test_a_truncated_zip(tmp_path: Path) -> None:
    path = written(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert_recomputed_and_rewritten(tmp_path)


def test_a_zip_with_a_corrupt_member(tmp_path: Path) -> None:
    path = written(tmp_path)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(16)  # inside the vectors' bytes: the zip's CRC or the checksum catches it
    path.write_bytes(bytes(data))
    assert_recomputed_and_rewritten(tmp_path)


def test_not_a_zip_at_all(tmp_path: Path) -> None:
    written(tmp_path).write_bytes(b"not an npz file")
    assert_recomputed_and_rewritten(tmp_path)


def test_a_zip_missing_an_array(tmp_path: Path) -> None:
    path = written(tmp_path)
    arrays = stored_arrays(path)
    del arrays["checksum"]
    with path.open("wb") as out:
        np.savez(out, **arrays)
    assert_recomputed_and_rewritten(tmp_path)


def test_a_pickled_array_is_refused(tmp_path: Path) -> None:
    path = written(tmp_path)
    forge(path, digests=np.array(stored_arrays(path)["digests"].tolist(), dtype=object))
    assert_recomputed_and_rewritten(tmp_path)


@pytest.mark.parametrize(
    "vectors",
    [
        pytest.param(lambda v: v[:, :5], id="another-dimension"),
        pytest.param(lambda v: v[:3], id="fewer-rows-than-digests"),
        pytest.param(lambda v: v.reshape(-1), id="one-dimensional"),
        pytest.param(lambda v: v.astype(np.float64), id="float64"),
        pytest.param(lambda v: v.astype(np.float16), id="float16"),
        pytest.param(lambda v: np.where(np.arange(len(v))[:, None] == 1, np.nan, v), id="nan"),
        pytest.param(lambda v: np.where(np.arange(len(v))[:, None] == 2, np.inf, v), id="infinite"),
        pytest.param(lambda v: np.where(np.arange(len(v))[:, None] == 0, 0.0, v).astype(np.float32), id="zero"),
        pytest.param(lambda v: (v * 2).astype(np.float32), id="not-unit-length"),
    ],
)
def test_well_formed_files_with_wrong_vectors(tmp_path: Path, vectors: Any) -> None:
    path = written(tmp_path)
    forge(path, vectors=vectors(stored_arrays(path)["vectors"]))
    assert_recomputed_and_rewritten(tmp_path)


@pytest.mark.parametrize(
    "digests",
    [
        pytest.param(lambda d: d[:3], id="fewer-digests-than-rows"),
        pytest.param(lambda d: d.reshape(2, 2), id="two-dimensional"),
        pytest.param(lambda d: d.astype("S32"), id="bytes"),
    ],
)
def test_well_formed_files_with_wrong_digests(tmp_path: Path, digests: Any) -> None:
    path = written(tmp_path)
    forge(path, digests=digests(stored_arrays(path)["digests"]))
    assert_recomputed_and_rewritten(tmp_path)


def test_rows_permuted_against_their_digests(tmp_path: Path) -> None:
    path = written(tmp_path)
    # Every row still finite and unit length, every shape right: only the checksum ties rows to digests.
    forge(path, keep_checksum=True, vectors=stored_arrays(path)["vectors"][[1, 0, 3, 2]])
    assert_recomputed_and_rewritten(tmp_path)


@pytest.mark.parametrize("format_", [np.array(FORMAT - 1), np.array(str(FORMAT)), np.array([FORMAT])])
def test_another_format_inside_the_file(tmp_path: Path, format_: np.ndarray) -> None:
    path = written(tmp_path)
    forge(path, format=format_)
    assert_recomputed_and_rewritten(tmp_path)


def test_a_directory_where_the_file_should_be(tmp_path: Path) -> None:
    path = written(tmp_path)
    path.unlink()
    path.mkdir()
    reports = Reports()
    result = new_cache(tmp_path, reports).vectors("claims", TEXTS, StandInEmbedder())
    np.testing.assert_array_equal(result.vectors, expected_vectors())
    assert len(reports) == 1 and "continuing without it" in reports[0]


def test_a_file_where_the_cache_folder_should_be(tmp_path: Path) -> None:
    (tmp_path / "embeddings").write_text("in the way")
    reports = Reports()
    cache = new_cache(tmp_path, reports)
    for collection in ("claims", "corpus"):  # reported once, not once per collection
        result = cache.vectors(collection, TEXTS, StandInEmbedder())
        np.testing.assert_array_equal(result.vectors, expected_vectors())
    assert len(reports) == 1


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """The folder made unwritable for this process: by mode, or for root (whom modes do not stop) immutable."""
    folder.chmod(0o555)
    immutable = os.geteuid() == 0 and shutil.which("chattr") is not None
    if immutable:
        immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
    try:
        probe = folder / "probe"
        with contextlib.suppress(OSError):
            probe.touch()
            probe.unlink()
            pytest.skip("cannot make a folder read-only here (root without chattr)")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def test_a_read_only_folder(tmp_path: Path) -> None:
    path = written(tmp_path)
    path.write_bytes(b"")  # a torn file that cannot be rewritten
    reports = Reports()
    with read_only(path.parent):
        cache = new_cache(tmp_path, reports)
        first = cache.vectors("claims", TEXTS, StandInEmbedder())
        second = cache.vectors("claims", TEXTS, StandInEmbedder())
    np.testing.assert_array_equal(first.vectors, expected_vectors())
    np.testing.assert_array_equal(second.vectors, expected_vectors())
    assert len(reports) == 1 and "embedding cache not written" in reports[0]
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp file left behind


def test_the_default_report_goes_to_stderr_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "embeddings").write_text("in the way")
    cache = EmbeddingCache(tmp_path, "stand-in", dimension=DIMENSION)
    cache.vectors("claims", TEXTS, StandInEmbedder())
    cache.vectors("corpus", TEXTS, StandInEmbedder())
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("embedding cache not written") == 1


def test_a_failed_write_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = written(tmp_path)
    before = path.read_bytes()

    def no_space(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    reports = Reports()
    new_cache(tmp_path, reports).vectors("claims", [*TEXTS, "a new claim"], StandInEmbedder())
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    assert path.read_bytes() == before and len(reports) == 1


def test_the_temp_file_is_synced_before_it_replaces_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    def replace(source: str, target: Path) -> None:
        calls.append("replace")
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    written(tmp_path)
    assert calls == ["fsync", "replace"]


def test_a_valid_file_of_another_width_without_a_dimension_to_check(tmp_path: Path) -> None:
    """A caller that gives no dimension still gets vectors of one width: the old ones are dropped."""
    EmbeddingCache(tmp_path, "stand-in").vectors("claims", TEXTS, StandInEmbedder(dimension=4))
    embedder = StandInEmbedder()
    result = EmbeddingCache(tmp_path, "stand-in").vectors("claims", [*TEXTS, "new"], embedder)
    assert result.vectors.shape == (len(TEXTS) + 1, DIMENSION)
    np.testing.assert_array_equal(result.vectors[: len(TEXTS)], expected_vectors())


def test_texts_with_lone_surrogates_have_digests(tmp_path: Path) -> None:
    result = new_cache(tmp_path).vectors("claims", ["ketamine \udc80 bladder"], lambda texts: expected_vectors()[:1])
    assert result.computed == 1


def test_collection_for_path_is_keyed_by_the_resolved_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a" / "scifact", tmp_path / "b" / "scifact"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    (tmp_path / "link").symlink_to(first)
    monkeypatch.chdir(tmp_path / "a")
    name = EmbeddingCache.collection_for_path
    assert name("beir", first) != name("beir", second)
    assert name("beir", first) == name("beir", Path("scifact")) == name("beir", tmp_path / "link")
    assert name("beir", first).startswith("beir-scifact-")
