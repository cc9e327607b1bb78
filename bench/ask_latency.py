"""Benchmark: `ketaguide ask` latency, warm (in process) and cold (process start to answer).

The baseline, measured in the same run on the same questions, is KetaGuide's SQLite FTS5 retrieval alone (no
answer composition; for cold start, a process that loads the pack, builds the index and searches). Figures are
reported as absolute times and as ratios to that baseline. Usage: python bench/ask_latency.py [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

from ketaguide.bootstrap import build_runtime
from ketaguide.retrieval.claims import build_lexical_claim_index
from ketaguide.retrieval.embedding import missing_dense_modules
from ketaguide.services.evidence import ask
from ketaguide.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS_FILE = ROOT / "tests" / "data" / "clinical_questions.yaml"
ROUNDS = 20
COLD_RUNS = 7
COLD_BASELINE = (
    "from ketaguide.knowledge.loader import load_pack;"
    "from ketaguide.retrieval.claims import build_lexical_claim_index;"
    "build_lexical_claim_index(load_pack()).search({q!r}, 40)"
)


def questions() -> list[str]:
    cases = yaml.safe_load(QUESTIONS_FILE.read_text())
    return [c["question"] for c in cases["answered"]] + list(cases["abstained"])


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: object, *args: object) -> float:
    start = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


def warm(mode: str) -> dict[str, float]:
    runtime = build_runtime(Settings(retriever=mode))  # type: ignore[arg-type]
    baseline = build_lexical_claim_index(runtime.pack)  # FTS5 retrieval alone
    qs = questions()
    for q in qs:  # warm caches once, as a long-running service would be
        ask(q, runtime.index, runtime.pack)
    full = [timed(ask, q, runtime.index, runtime.pack) for _ in range(ROUNDS) for q in qs]
    fts = [timed(baseline.search, q, 40) for _ in range(ROUNDS) for q in qs]
    return {
        "queries": len(full),
        "ask_p50_ms": statistics.median(full),
        "ask_p95_ms": percentile(full, 0.95),
        "fts5_p50_ms": statistics.median(fts),
        "fts5_p95_ms": percentile(fts, 0.95),
        "p95_ratio_to_fts5": percentile(full, 0.95) / percentile(fts, 0.95),
    }


def wall(cmd: list[str], mode: str) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "KETAGUIDE_RETRIEVER": mode})
    return time.perf_counter() - start


def cold(mode: str) -> dict[str, float]:
    q = questions()[1]
    bin_dir = Path(sys.executable).parent
    wall([str(bin_dir / "ketaguide"), "ask", q], mode)  # fills the claim-embedding cache on a first run
    full = [wall([str(bin_dir / "ketaguide"), "ask", q, "--format", "json"], mode) for _ in range(COLD_RUNS)]
    base = [wall([sys.executable, "-c", COLD_BASELINE.format(q=q)], mode) for _ in range(COLD_RUNS)]
    return {
        "runs": COLD_RUNS,
        "ask_cold_median_s": statistics.median(full),
        "ask_cold_max_s": max(full),
        "fts5_cold_median_s": statistics.median(base),
        "median_ratio_to_fts5": statistics.median(full) / statistics.median(base),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ask_latency.json")
    args = parser.parse_args()
    modes = ["lexical"] if missing_dense_modules() else ["lexical", "hybrid"]
    report = {
        "command": "make bench (python bench/ask_latency.py)",
        **{mode: {"warm": warm(mode), "cold": cold(mode)} for mode in modes},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for mode in modes:
        w, c = report[mode]["warm"], report[mode]["cold"]
        print(
            f"{mode}: warm ask p95 {w['ask_p95_ms']:.1f} ms (target <= 50) vs FTS5 alone {w['fts5_p95_ms']:.2f} ms "
            f"(x{w['p95_ratio_to_fts5']:.1f}); cold ask median {c['ask_cold_median_s']:.2f} s, max "
            f"{c['ask_cold_max_s']:.2f} s (target <= 1.0) vs FTS5-only process {c['fts5_cold_median_s']:.2f} s "
            f"(x{c['median_ratio_to_fts5']:.2f})"
        )
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
