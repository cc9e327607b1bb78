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


@app.command("answer-quality")
def answer_quality_command(
    questions: Path = typer.Option(
        Path("tests/data/questions"),
        "--questions",
        exists=True,
        help="The question set: a YAML file or a folder of them; the default is relative to the repository root.",
    ),
    retriever: RetrieverChoice = typer.Option(RetrieverChoice.lexical, "--retriever", help="auto, lexical or hybrid."),
    fmt: ReportFormat = FORMAT,
) -> None:
    """Answer quality on the clinical question set (issue #8): the engine in this tree against the pre-issue-8 one."""
    # Imported here, as for ask-latency: it loads the whole application.
    from ketaguide_bench.answer_quality import figure_rows, run_answer_quality

    report = _run(lambda p: run_answer_quality(questions, retriever.value, p))
    report["command"] = (
        f"ketaguide-bench answer-quality --questions {questions} --retriever {retriever.value} --format {fmt.value}"
    )
    _emit(report, fmt, lambda: _answer_quality_table(report, figure_rows(report)))


def _answer_quality_table(report: dict[str, Any], rows: list[tuple[str, str, str]]) -> Table:
    size = report["question_set"]
    table = Table(title=f"Answer quality ({size['answerable']} answerable, {size['unanswerable']} unanswerable)")
    for column in ("figure", "baseline (before #8)", "current"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    table.caption = escape(f"retriever: {report['retriever']}")
    return table


@app.command("server")
def server_command(
    out: Path = typer.Option(Path("bench/results/server.json"), "--out", help="Where to write the JSON report."),
    postgres_url: str | None = typer.Option(
        None, "--postgres-url", envvar="KETAGUIDE_TEST_POSTGRES_URL", help="PostgreSQL server for the second run."
    ),
    seconds: float = typer.Option(5.0, "--seconds", min=0.5, help="Measured seconds per route and concurrency."),
    workers: int = typer.Option(1, "--workers", min=1, help="uvicorn worker processes."),
) -> None:
    """REST API requests/s, p50 and p99 at 1, 10 and 50 clients, each beside a no-op route (SQLite, PostgreSQL)."""
    from ketaguide_bench.server_bench import run_server_benchmark, table_rows  # imports the server stack

    postgres = postgres_url or None  # an empty value: SQLite only
    report = _run(lambda p: run_server_benchmark(postgres, seconds, min(1.0, seconds / 5), workers, p))
    out.write_text(json.dumps(report, indent=2) + "\n")
    table = Table(title=f"REST API on loopback ({workers} worker(s), {seconds:g} s per measure)")
    columns = ("database", "clients", "route", "req/s", "p50 ms", "p99 ms", "no-op req/s", "no-op p50", "no-op p99")
    for column in (*columns, "errors"):
        table.add_column(column)
    for row in table_rows(report):
        table.add_row(*row)
    Console().print(table)
    typer.echo(f"written to {out}")


@app.command("cds")
def cds_command(
    out: Path = typer.Option(Path("bench/results/cds-order-sign.json"), "--out", help="Where to write the report."),
    seconds: float = typer.Option(5.0, "--seconds", min=0.5, help="Measured seconds per route and concurrency."),
    workers: int = typer.Option(1, "--workers", min=1, help="uvicorn worker processes."),
    redis_url: str | None = typer.Option(None, "--redis-url", help="Share the JWT replay guard through this Redis."),
) -> None:
    """CDS Hooks order-sign requests/s, p50 and p99 at 1, 10 and 50 clients (issue #11), beside a no-op route."""
    from ketaguide_bench.cds_bench import run_cds_benchmark  # imports the server stack

    report = _run(lambda p: run_cds_benchmark(seconds, min(1.0, seconds / 5), redis_url, workers, p))
    out.write_text(json.dumps(report, indent=2) + "\n")
    title = f"CDS Hooks on loopback ({workers} worker(s), {report['stores']} stores, {seconds:g} s per measure)"
    table = Table(title=title)
    for column in ("route", "clients", "requests", "req/s", "p50 ms", "p99 ms", "errors"):
        table.add_column(column)
    for row in report["rows"]:
        cells = (row["requests"], row["requests_per_s"], row["p50_ms"], row["p99_ms"], row["errors"])
        table.add_row(row["route"], str(row["clients"]), *(str(c) for c in cells))
    Console().print(table)
    typer.echo(f"written to {out}")


@app.command("web-pages")
def web_pages_command(
    out: Path = typer.Option(Path("bench/results/web_pages.json"), "--out", help="Where to write the JSON report."),
    root: Path = typer.Option(Path("."), "--root", help="The repository (its examples/intakes are the data)."),
    repeats: int = typer.Option(60, "--repeats", min=5, help="Measured requests per page."),
    warmup: int = typer.Option(3, "--warmup", min=0, help="Unmeasured requests per page first."),
) -> None:
    """Server time p50/p95/max of every web page on the example data (target: p95 under 100 ms)."""
    from ketaguide_bench.web_bench import run_web_benchmark, table_rows  # imports the server stack

    report = _run(lambda p: run_web_benchmark(root, repeats, warmup, p))
    out.write_text(json.dumps(report, indent=2) + "\n")
    table = Table(title=f"Web pages: server time, {repeats} requests each ({report['retriever']})")
    for column in ("page", "user", "status", "p50 ms", "p95 ms", "max ms", "p95 < 100 ms"):
        table.add_column(column)
    for row in table_rows(report):
        table.add_row(*row)
    Console().print(table)
    typer.echo(f"sign-in (Argon2id, not a page): {report['sign_in_ms']} ms; written to {out}")


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
