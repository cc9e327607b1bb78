"""`ketaguide-bench`: measure evidence retrieval and sentence selection on BEIR-format datasets, and ask latency.

Thin commands: each parses its options, calls one benchmark function and renders the report (a rich table, or JSON
on stdout with progress bars on stderr).
"""

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
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as ProgressBars
from rich.table import Table

from ketaguide.domain.errors import KetaGuideError
from ketaguide.settings import load_settings
from ketaguide_bench.progress import Progress
from ketaguide_bench.retrieval_benchmark import fusion_sweep, run_retrieval_benchmark
from ketaguide_bench.sentence_benchmark import run_sentence_benchmark

app = typer.Typer(
    name="ketaguide-bench",
    help="KetaGuide benchmarks: retrieval quality and speed on BEIR-format datasets, and ask latency.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
def progress_bars() -> Iterator[Progress]:
    """Progress bars on stderr (stdout stays clean for --format json)."""
    with ProgressBars(
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


@contextmanager
def exit_on_error() -> Iterator[None]:
    """A KetaGuide error (a malformed dataset, a missing extra) is one line on stderr and exit status 2."""
    try:
        yield
    except KetaGuideError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _run(work: Callable[[Progress], Any]) -> Any:
    with exit_on_error(), progress_bars() as progress:
        return work(progress)


@app.command("retrieval")
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
    if sweep:
        rows = _run(lambda p: fusion_sweep(dataset, split, _cache(cache_dir), p))
        _emit(rows, fmt, lambda: _sweep_table(rows))
        return
    report = _run(lambda p: run_retrieval_benchmark(dataset, split, _cache(cache_dir), retriever.value, repeats, p))
    _emit(report, fmt, lambda: _retrieval_table(report))


@app.command("sentences")
def sentences_command(
    dataset: Path = DATASET,
    split: str = SPLIT,
    fmt: ReportFormat = FORMAT,
    cache_dir: Path | None = CACHE,
) -> None:
    """Rationale-sentence selection on claims_SPLIT.jsonl: precision, recall, F1 against top-2 by BM25."""
    report = _run(lambda p: run_sentence_benchmark(dataset, split, _cache(cache_dir), p))
    _emit(report, fmt, lambda: _sentence_table(report))


@app.command("ask-latency")
def ask_latency_command(
    questions: Path = typer.Option(
        Path("tests/data/clinical_questions.yaml"),
        "--questions",
        exists=True,
        dir_okay=False,
        help="Clinical questions YAML (answered and abstained); the default is relative to the repository root.",
    ),
    out: Path = typer.Option(Path("bench/results/ask_latency.json"), "--out", help="Where to write the JSON report."),
) -> None:
    """`ketaguide ask` latency, warm (in process) and cold (process start), against FTS5 retrieval alone."""
    # Imported here: it loads the whole application (knowledge, services), which the dataset benchmarks never need.
    from ketaguide_bench.ask_latency import run_ask_latency, summary_lines

    with exit_on_error():
        report = run_ask_latency(questions)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for line in summary_lines(report):
        typer.echo(line)
    typer.echo(f"written to {out}")


def _cache(cache_dir: Path | None) -> Path:
    return cache_dir or load_settings().cache_dir


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


def main() -> None:
    app()
