"""The ask-latency benchmark's measurements: a cold start's wall and CPU time, and its baseline process."""

from __future__ import annotations

import sys

import pytest

from ketaguide_bench import ask_latency


def test_wall_gives_the_processes_cpu_time_too() -> None:
    busy = [sys.executable, "-c", "sum(i * i for i in range(3_000_000))"]
    elapsed, cpu = ask_latency.wall(busy, "lexical")
    assert cpu > 0 and elapsed > 0
    idle = [sys.executable, "-c", "import time; time.sleep(0.3)"]
    elapsed, cpu = ask_latency.wall(idle, "lexical")
    assert elapsed >= 0.3 > cpu  # waiting is wall time, not CPU time


def test_the_cold_baseline_loads_the_pack_as_ask_does_and_searches() -> None:
    code = ask_latency.COLD_BASELINE.format(q="ketamine bladder")
    assert "load_snapshot(cache_dir=" in code
    elapsed, _ = ask_latency.wall([sys.executable, "-c", code], "lexical")
    assert elapsed > 0


def test_cold_processes_cache_their_bytecode_as_an_installed_package_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    environment = ask_latency.cold_environment("hybrid")
    assert "PYTHONDONTWRITEBYTECODE" not in environment and environment["KETAGUIDE_RETRIEVER"] == "hybrid"
