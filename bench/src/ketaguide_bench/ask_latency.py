"""Benchmark: `ketaguide ask` latency, warm (in process) and cold (process start to answer).

The baseline, measured in the same run on the same questions, is KetaGuide's SQLite FTS5 retrieval alone (no
answer composition; for cold start, a process that loads the pack as `ask` does, from the compiled pack in
KETAGUIDE_CACHE_DIR, builds the index and searches). Figures are reported as absolute times and as ratios to that
baseline. Run by `ketaguide-bench ask-latency` (`make bench`).

Cold start is wall time from process start to exit, which other work on the machine stretches; each cold figure
also gives the processes' CPU time (user + system, all threads) and the load average around the runs, so a run on
a busy machine can be told from a slower KetaGuide.

The cold processes run with Python's bytecode cache on, as an installed KetaGuide does (pip writes the .pyc files;
a checkout writes them on its first run), even when the benchmark's own environment sets PYTHONDONTWRITEBYTECODE:
without the cache every start compiles KetaGuide's modules from source again (~10% of a cold start), which no user
pays. The first, unmeasured run of each kind writes the cache.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml

from ketaguide.bootstrap import build_runtime
from ketaguide.retrieval.claims import build_lexical_claim_index
from ketaguide.retrieval.embedding import missing_dense_modules
from ketaguide.services.evidence import ask
from ketaguide.settings import Settings

Mode = Literal["lexical", "hybrid"]
ROUNDS = 20
COLD_RUNS = 7
COLD_BASELINE = (
    "from ketaguide.knowledge.snapshot import load_snapshot;"
    "from ketaguide.retrieval.claims import build_lexical_claim_index;"
    "from ketaguide.settings import load_settings;"
    "build_lexical_claim_index(load_snapshot(cache_dir=load_settings().cache_dir).pack).search({q!r}, 40)"
)


def load_questions(path: Path) -> list[str]:
    """The answered and abstained questions of a clinical-questions file (tests/data/clinical_questions.yaml)."""
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [c["question"] for c in cases["answered"]] + list(cases["abstained"])


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Callable[..., object], *args: object) -> float:
    """Milliseconds one call takes."""
    start = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - start) * 1000


def warm(mode: Mode, questions: list[str]) -> dict[str, float]:
    with build_runtime(Settings(retriever=mode)) as runtime:
        baseline = build_lexical_claim_index(runtime.knowledge.pack)  # FTS5 retrieval alone
        for q in questions:  # warm caches once, as a long-running service would be
            ask(runtime, q)
        full = [timed(ask, runtime, q) for _ in range(ROUNDS) for q in questions]
        fts = [timed(baseline.search, q, 40) for _ in range(ROUNDS) for q in questions]
    return {
        "queries": len(full),
        "ask_p50_ms": statistics.median(full),
        "ask_p95_ms": percentile(full, 0.95),
        "fts5_p50_ms": statistics.median(fts),
        "fts5_p95_ms": percentile(fts, 0.95),
        "p95_ratio_to_fts5": percentile(full, 0.95) / percentile(fts, 0.95),
    }


def cold_environment(mode: Mode) -> dict[str, str]:
    """The environment of a cold process: this one's, with `mode` retrieval and the bytecode cache on."""
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return environment | {"KETAGUIDE_RETRIEVER": mode}


def wall(cmd: list[str], mode: Mode) -> tuple[float, float]:
    """Seconds from process start to exit, and the CPU seconds the process used."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=cold_environment(mode))
    elapsed = time.perf_counter() - start
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return elapsed, (now.ru_utime - used.ru_utime) + (now.ru_stime - used.ru_stime)


def cold(mode: Mode, questions: list[str]) -> dict[str, Any]:
    q = questions[1]
    ketaguide = str(Path(sys.executable).parent / "ketaguide")
    # Fill the caches if empty: compiled pack, optimised model, claim vectors, and the bytecode of both processes.
    wall([ketaguide, "ask", q], mode)
    wall([sys.executable, "-c", COLD_BASELINE.format(q=q)], mode)
    load_before = os.getloadavg()[0]
    full = [wall([ketaguide, "ask", q, "--format", "json"], mode) for _ in range(COLD_RUNS)]
    base = [wall([sys.executable, "-c", COLD_BASELINE.format(q=q)], mode) for _ in range(COLD_RUNS)]
    return {
        "runs": COLD_RUNS,
        "ask_cold_median_s": statistics.median(t for t, _ in full),
        "ask_cold_max_s": max(t for t, _ in full),
        "ask_cold_cpu_median_s": statistics.median(c for _, c in full),
        "fts5_cold_median_s": statistics.median(t for t, _ in base),
        "fts5_cold_cpu_median_s": statistics.median(c for _, c in base),
        "median_ratio_to_fts5": statistics.median(t for t, _ in full) / statistics.median(t for t, _ in base),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def run_ask_latency(questions_file: Path) -> dict[str, Any]:
    """Warm and cold figures per retriever mode: lexical, and hybrid when the dense extra is installed."""
    questions = load_questions(questions_file)
    modes: list[Mode] = ["lexical"] if missing_dense_modules() else ["lexical", "hybrid"]
    report: dict[str, Any] = {"command": "make bench (ketaguide-bench ask-latency)"}
    for mode in modes:
        report[mode] = {"warm": warm(mode, questions), "cold": cold(mode, questions)}
    return report


def summary_lines(report: dict[str, Any]) -> list[str]:
    """One line per mode, set against the targets (warm p95 <= 50 ms, cold <= 1.0 s)."""
    lines = []
    for mode in ("lexical", "hybrid"):
        if mode not in report:
            continue
        w, c = report[mode]["warm"], report[mode]["cold"]
        lines.append(
            f"{mode}: warm ask p95 {w['ask_p95_ms']:.1f} ms (target <= 50) vs FTS5 alone {w['fts5_p95_ms']:.2f} ms "
            f"(x{w['p95_ratio_to_fts5']:.1f}); cold ask median {c['ask_cold_median_s']:.2f} s, max "
            f"{c['ask_cold_max_s']:.2f} s (target <= 1.0; CPU {c['ask_cold_cpu_median_s']:.2f} s) vs FTS5-only "
            f"process {c['fts5_cold_median_s']:.2f} s (x{c['median_ratio_to_fts5']:.2f}); load average "
            f"{c['load_average_1min'][0]:.1f}-{c['load_average_1min'][1]:.1f} on {os.cpu_count()} cores"
        )
    return lines
