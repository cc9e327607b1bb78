"""`ketaguide bench`: measure evidence retrieval and sentence selection on BEIR-format datasets."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ketaguide.domain.errors import KetaGuideError
from ketaguide.settings import Settings

# Every command module is imported when any command runs: the benchmark services are imported inside the bench
# commands so that `ketaguide ask` does not pay for them at start-up.
ProgressStart = Callable[[str, int], Callable[[int], None]]

bench_app = typer.Typer(help="Benchmarks: retrieval quality and speed on BEIR-format datasets.", no_args_is_help=True)


class ReportFormat(StrEnum):
    text = "text"
    json = "json"


class RetrieverChoice(StrEnum):
    auto = "auto"
    lexical = "lexical"
    hybrid = "hybrid"


DATASET = typer.Option(..., "--dataset", help="Directory with corpus.jsonl, queries.jsonl and qrels/SPLIT.tsv.")
SPLIT = typer.Option("train", "--split", help="Which qrels/SPLIT.tsv to evaluate.")
FORMAT = typer.Option(ReportFormat.text, "--format", "-f", help="text or json.")
CACHE = typer.Option(None, "--cache-dir", help="Embedding cache (default: KETAGUIDE_CACHE_DIR or ~/.cache/ketaguide).")


@contextmanager
def progress_bars() -> Iterator[ProgressStart]:
    """Progress bars on stderr (stdout stays clean for --format json)."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bars:

        def start(description: str, total: int) -> Callable[[int], None]:
            task = bars.add_task(description, total=total)
            return lambda steps: bars.advance(task, steps)

        yield start


def _run(work: Callable[[ProgressStart], Any]) -> Any:
    try:
        with progress_bars() as progress:
            return work(progress)
    except KetaGuideError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@bench_app.command("retrieval")
def retrieval_command(
    dataset: Path = DATASET,
    split: str = SPLIT,
    fmt: ReportFormat = FORMAT,
    retriever: RetrieverChoice = typer.Option(RetrieverChoice.auto, "--retriever", help="auto, lexical or hybrid."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Timed passes over the queries; speed is the median."),
    sweep: bool = typer.Option(False, "--sweep", help="Instead: nDCG@10 per title weight and fusion setting."),
    cache_dir: Path | None = CACHE,
) -> None:
    """nDCG@10, recall@100, queries/s, index time and peak memory, with FTS5 and bm25s baselines."""
    from ketaguide.services.benchmark import fusion_sweep, run_retrieval_benchmark

    cache = cache_dir or Settings().cache_dir
    if sweep:
        rows = _run(lambda p: fusion_sweep(dataset, split, cache, p))
        _emit(rows, fmt, lambda: _sweep_table(rows))
        return
    report = _run(lambda p: run_retrieval_benchmark(dataset, split, cache, retriever.value, repeats, p))
    _emit(report, fmt, lambda: _retrieval_table(report))


@bench_app.command("sentences")
def sentences_command(
    dataset: Path = DATASET,
    split: str = SPLIT,
    fmt: ReportFormat = FORMAT,
    cache_dir: Path | None = CACHE,
) -> None:
    """Rationale-sentence selection on claims_SPLIT.jsonl: precision, recall, F1 against top-2 by BM25."""
    from ketaguide.services.sentence_benchmark import run_sentence_benchmark

    cache = cache_dir or Settings().cache_dir
    report = _run(lambda p: run_sentence_benchmark(dataset, split, cache, p))
    _emit(report, fmt, lambda: _sentence_table(report))


def _emit(report: Any, fmt: ReportFormat, table: Callable[[], Table]) -> None:
    if fmt is ReportFormat.json:
        typer.echo(json.dumps(report, indent=2))
    else:
        Console().print(table())


def _retrieval_table(report: dict[str, Any]) -> Table:
    table = Table(title=f"Retrieval on {report['dataset']['directory']} ({report['dataset']['split']})")
    for column in ("retriever", "nDCG@10", "recall@100", "queries/s", "vs FTS5", "index s"):
        table.add_column(column)
    rows = {report["retriever"]: report, **report["baselines"]}
    for name, row in rows.items():
        table.add_row(
            name,
            f"{row['ndcg_at_10']:.4f}",
            f"{row['recall_at_100']:.4f}",
            f"{row['queries_per_second']:.1f}",
            f"{row.get('speed_vs_fts5', 1.0):.2f}x",
            f"{row['index_seconds']:.2f}",
        )
    caption = [f"peak RSS {report['peak_rss_mb']} MB"]
    lexical = rows.get("lexical", {})
    if "ranking_only_queries_per_second" in lexical:
        caption.append(f"lexical ranking alone (no Hit objects) {lexical['ranking_only_queries_per_second']:.1f} q/s")
    if "embedding" in report:
        e = report["embedding"]
        caption.append(f"embedding {e['model']}: {e['seconds']} s ({e['computed']} of {e['documents']} computed)")
    caption.append(report.get("note", ""))
    table.caption = escape("; ".join(c for c in caption if c))
    return table


def _sweep_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Fusion sweep (nDCG@10)")
    for column in ("title weight", "fusion", "nDCG@10"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row["title_weight"]), row["fusion"], f"{row['ndcg_at_10']:.4f}")
    return table


def _sentence_table(report: dict[str, Any]) -> Table:
    table = Table(title=f"Rationale sentence selection ({report['pairs']} claim-abstract pairs)")
    for column in ("selector", "precision", "recall", "F1"):
        table.add_column(column)
    for name, row in {report["selector"]: report, **report["baselines"]}.items():
        table.add_row(name, f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}")
    return table


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
