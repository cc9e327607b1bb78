"""`ketaguide kb`: check, summarise and export the knowledge pack."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ketaguide.cli.emit import emit_rich
from ketaguide.cli.streams import dump_json, write_error, write_output
from ketaguide.domain.errors import InputError

# The knowledge service is imported inside each command, to keep the start of other commands fast.

kb_app = typer.Typer(help="Check, summarise and export the knowledge pack.", no_args_is_help=True)


class ExportFormat(StrEnum):
    json = "json"


@kb_app.command("check")
def check_command() -> None:
    """Fail on any quote not verbatim at its offsets, duplicate ids, dangling references or unknown values."""
    from ketaguide.bootstrap import build_runtime
    from ketaguide.services.knowledge import check_pack
    from ketaguide.settings import load_settings

    problems = check_pack(load_settings().content_dir)
    if problems:
        for problem in problems:
            write_error(f"problem: {problem}")
        write_error(f"knowledge pack: {len(problems)} problem(s)")
        raise typer.Exit(1)
    with build_runtime() as runtime:
        pack = runtime.knowledge.pack
        write_output(f"knowledge pack {pack.version}: {len(pack.sources)} sources, {len(pack.claims)} claims, OK")


@kb_app.command("stats")
def stats_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Sources with their reliability, and claims by type and study design."""
    from ketaguide.bootstrap import build_runtime
    from ketaguide.services.knowledge import pack_stats

    with build_runtime() as runtime:
        stats = pack_stats(runtime.knowledge.pack)
    if as_json:
        write_output(dump_json(stats))
    else:
        emit_rich(lambda console: _print_stats(stats, console))


def _print_stats(stats: dict[str, Any], console: Console) -> None:
    table = Table(title=f"Knowledge pack {stats['version']}")
    for column in ("source", "kind", "reliability (score)", "claims"):
        table.add_column(column)
    for sid, s in stats["sources"].items():
        table.add_row(f"{sid}\n{s['title']}", s["kind"], f"{s['reliability']} ({s['score']})", str(s["claims"]))
    console.print(table)
    console.print(f"{stats['claims']} claims; {stats['conflicts']} conflicts; {stats['factual_slips']} factual slips")
    console.print(f"claim types: {stats['claim_types']}")
    console.print(f"study designs: {stats['study_designs']}")


@kb_app.command("export")
def export_command(
    fmt: ExportFormat = typer.Option(ExportFormat.json, "--format", "-f", help="Export format."),
) -> None:
    """Print claims and sources (with reliability items) as JSON."""
    from ketaguide.bootstrap import build_runtime
    from ketaguide.services.knowledge import export_pack

    with build_runtime() as runtime:
        write_output(dump_json(export_pack(runtime.knowledge.pack)))


@kb_app.command("locate")
def locate_command(source_id: str, quote: str) -> None:
    """Print the offsets at which QUOTE occurs verbatim in SOURCE_ID (for curators writing claims)."""
    from ketaguide.bootstrap import build_runtime
    from ketaguide.services.knowledge import locate_quote

    with build_runtime() as runtime:
        sources = runtime.knowledge.pack.sources
    if source_id not in sources:
        raise InputError("source_id", f"unknown source {source_id!r}")
    spans = locate_quote(sources[source_id].text, quote)
    if not spans:
        raise InputError("quote", "not found verbatim in the source")
    write_output("\n".join(f"start: {start}\nend: {end}" for start, end in spans))


def register(app: typer.Typer) -> None:
    app.add_typer(kb_app, name="kb")
