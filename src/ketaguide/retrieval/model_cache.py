"""The embedding model's graph as onnxruntime optimises it, kept in KETAGUIDE_CACHE_DIR: a session in 40 ms, not 300.

Creating a session from the int8 model spends 0.2-0.3 s of CPU optimising its graph (folding the dequantised
weights into constants, fusing operators), on every start. onnxruntime can write the optimised graph out
(`optimized_model_filepath`); a session created from that file with optimisation off runs the same graph with the
same kernels, so its vectors are bit for bit the ones the original gives (`test_model_cache.py`), and it is created
in a fraction of the time. The weights (90 MB of float32) are written beside the graph as external data.

Layout: `<cache_dir>/onnx/<model id>-ort<version>-<machine>-v<FORMAT>/` holding `model.onnx` and `model.data`. The
machine (architecture and CPU features) is in the name because onnxruntime may optimise for the instruction set,
so a cache folder shared between machines never hands one the other's graph. onnxruntime writes into a temporary
folder that is renamed into place once whole, so a reader sees a complete folder or none. A folder that cannot be
read (onnxruntime checks every tensor against its file) is replaced; a cache that cannot be written is reported
once and the model is optimised in memory as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ketaguide.cache_files import Report, ReportOnce, report_to_stderr

FORMAT = 1
GRAPH = "model.onnx"
WEIGHTS = "model.data"
# Every initializer of 1 KB or more goes to the weights file (onnxruntime's default keeps them in the graph).
_EXTERNAL_FROM_BYTES = "1024"

Options = Callable[[], Any]  # a new onnxruntime.SessionOptions, set up as the caller runs the model


class OptimisedModelCache:
    """Sessions for one model, created from its optimised graph when this cache holds it."""

    def __init__(self, cache_dir: Path, model_id: str, report: Report = report_to_stderr) -> None:
        self.root = cache_dir / "onnx"
        self.model_id = model_id
        self._report = ReportOnce(report)

    def folder(self, onnxruntime: Any) -> Path:
        name = f"{self.model_id}-ort{onnxruntime.__version__}-{machine()}-v{FORMAT}"
        return self.root / re.sub(r"[^A-Za-z0-9._-]+", "_", name)

    def session(self, onnxruntime: Any, model: Path, options: Options) -> Any:
        """An InferenceSession running `model` as `options` sets it up, on the CPU."""
        folder = self.folder(onnxruntime)
        damaged = False
        if (folder / GRAPH).is_file():
            saved = options()
            saved.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL  # done already
            try:
                return _inference_session(onnxruntime, folder / GRAPH, saved)
            # Broad on purpose: whatever a damaged folder raises, the original model is optimised again below.
            except Exception:
                damaged = True
        return self._optimise_and_keep(onnxruntime, model, options, folder, replace=damaged)

    def _optimise_and_keep(self, onnxruntime: Any, model: Path, options: Options, folder: Path, replace: bool) -> Any:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            temp = Path(tempfile.mkdtemp(dir=self.root, prefix=".tmp-"))
        except OSError as error:
            self._report_once(error)
            return _inference_session(onnxruntime, model, options())
        try:
            keeping = options()
            keeping.optimized_model_filepath = str(temp / GRAPH)
            keeping.add_session_config_entry("session.optimized_model_external_initializers_file_name", WEIGHTS)
            keeping.add_session_config_entry(
                "session.optimized_model_external_initializers_min_size_in_bytes", _EXTERNAL_FROM_BYTES
            )
            try:
                session = _inference_session(onnxruntime, model, keeping)
            except Exception as error:  # the graph could not be written (a full disk): run without keeping it
                self._report_once(error)
                return _inference_session(onnxruntime, model, options())
            _move_into_place(temp, folder, replace)
            return session
        finally:
            shutil.rmtree(temp, ignore_errors=True)

    def _report_once(self, error: BaseException) -> None:
        self._report(f"ketaguide: optimised model not cached ({error}); continuing without it")


def _inference_session(onnxruntime: Any, model: Path, options: Any) -> Any:
    return onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])


def _move_into_place(temp: Path, folder: Path, replace: bool) -> None:
    """Rename the written folder to `folder`, replacing it if `replace` (it failed to load); a folder another
    process put there meanwhile is kept: it is as good as this one."""
    with contextlib.suppress(OSError):
        if replace:  # set aside first: a folder cannot be renamed over a non-empty one
            aside = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".old-"))
            os.replace(folder, aside / folder.name)
            shutil.rmtree(aside, ignore_errors=True)
        os.replace(temp, folder)


def machine() -> str:
    """The architecture and a hash of the CPU's feature flags (Linux; elsewhere the architecture alone)."""
    flags = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
        flags = next((line for line in info if line.startswith(("flags", "Features"))), "")
    return f"{platform.machine()}-{hashlib.sha256(flags.encode('utf-8')).hexdigest()[:12]}"
