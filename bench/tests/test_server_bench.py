"""`ketaguide-bench server` (`ketaguide_bench.server_bench`): one short run against a real server on SQLite.

The run checks what the README's table is built from: every route beside the no-op at each concurrency, the load
generator named, the server's CPU time per request, and no errors. A server that cannot start is reported with its
own log, not as a bare timeout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ketaguide_bench import server_bench
from ketaguide_bench.loadgen import free_port
from ketaguide_bench.progress import no_progress


@pytest.mark.slow
def test_a_short_run_measures_every_route_beside_the_noop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_bench, "CONCURRENCY", (2,))
    report = server_bench.run_server_benchmark(None, seconds=1, warmup=0, workers=1, progress=no_progress)
    rows = report["rows"]
    assert [(r["pair"], r["route"]) for r in rows] == [
        (pair, route) for pair in server_bench.ROUTES for route in (server_bench.NOOP, server_bench.ROUTES[pair])
    ]
    for row in rows:
        assert row["database"] == "sqlite" and row["clients"] == 2 and row["workers"] == 1
        assert row["requests"] > 0 and row["errors"] == 0, row
        assert row["generator"] == rows[0]["generator"] and row["server_cpu_ms_per_request"] > 0
        assert 0.97 <= sum(row["server_cpu_share_by_process"]) <= 1.0
    assert report["generator"].startswith(("wrk", "python"))
    assert set(report["load_average_1_5_15_min"]) == {"sqlite before", "sqlite after"}
    table = server_bench.table_rows(report)
    assert [t[2] for t in table] == list(server_bench.ROUTES.values())
    assert all(len(t) == 10 and t[-1] == "0" for t in table)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_a_server_that_cannot_start_is_reported_with_its_log(tmp_path: Path, workers: int) -> None:
    """Started as `ketaguide serve` starts it: one uvicorn process, or several workers under a supervisor that
    stops them all when one cannot start (exit 3, uvicorn's code for a failed start)."""
    url = f"sqlite:///{tmp_path}/missing-folder/ketaguide.db"
    with pytest.raises(RuntimeError, match=r"exited \(3\)") as raised, server_bench._server(url, free_port(), workers):
        pass
    assert "Application startup failed" in str(raised.value)


def test_table_rows_pair_each_route_with_the_noop_measured_beside_it() -> None:
    def row(route: str, rate: float, p99: float) -> dict[str, object]:
        return {"database": "sqlite", "clients": 50, "route": route, "requests_per_s": rate} | {
            "p50_ms": p99 / 2,
            "p99_ms": p99,
            "errors": 0,
        }

    report = {"rows": [row(server_bench.NOOP, 900, 60), row(server_bench.ROUTES["evaluate"], 500, 95)]}
    assert server_bench.table_rows(report) == [
        ("sqlite", "50", "POST /api/v1/assessments/evaluate", "500", "47.5", "95.0", "900", "30.0", "60.0", "0")
    ]
