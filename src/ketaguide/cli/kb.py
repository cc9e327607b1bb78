"""`ketaguide kb`: check, summarise and export the knowledge pack."""

from __future__ import annotations

import importlib
import json
from enum import StrEnum
from types import ModuleType

import typer
from rich.console import Console
from rich.table import Table

from ketaguide.knowledge.loader import load_pack


def _knowledge() -> ModuleType:
    """The knowledge service (and the clinical content it checks), imported on first use to keep cold start low."""
    return importlib.import_module("ketaguide.services.knowledge")


kb_app = typer.Typer(help="Check, summarise and export the knowledge pack.", no_args_is_help=True)


class ExportFormat(StrEnum):
    json = "json"


@kb_app.command("check")
def check_command() -> None:
    """Fail on any quote not verbatim at its offsets, duplicate ids, dangling references or unknown values."""
    problems = _knowledge().check_pack()
    if problems:
        for problem in problems:
            typer.echo(f"problem: {problem}", err=True)
        typer.echo(f"knowledge pack: {len(problems)} problem(s)", err=True)
        raise typer.Exit(1)
    pack = load_pack()
    typer.echo(f"knowledge pack {pack.version}: {len(pack.sources)} sources, {len(pack.claims)} claims, OK")


@kb_app.command("stats")
def stats_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Sources with their reliability, and claims by type and study design."""
    stats = _knowledge().pack_stats(load_pack())
    if as_json:
        typer.echo(json.dumps(stats, indent=2))
        return
    table = Table(title=f"Knowledge pack {stats['version']}")
    for column in ("source", "kind", "reliability (score)", "claims"):
        table.add_column(column)
    for sid, s in stats["sources"].items():
        table.add_row(f"{sid}\n{s['title']}", s["kind"], f"{s['reliability']} ({s['score']})", str(s["claims"]))
    console = Console()
    console.print(table)
    console.print(f"{stats['claims']} claims; {stats['conflicts']} conflicts; {stats['factual_slips']} factual slips")
    console.print(f"claim types: {stats['claim_types']}")
    console.print(f"study designs: {stats['study_designs']}")


@kb_app.command("export")
def export_command(
    fmt: ExportFormat = typer.Option(ExportFormat.json, "--format", "-f", help="Export format."),
) -> None:
    """Print claims and sources (with reliability items) as JSON."""
    typer.echo(json.dumps(_knowledge().export_pack(load_pack()), indent=2, ensure_ascii=False))


@kb_app.command("locate")
def locate_command(source_id: str, quote: str) -> None:
    """Print the offsets at which QUOTE occurs verbatim in SOURCE_ID (for curators writing claims)."""
    pack = load_pack()
    if source_id not in pack.sources:
        typer.echo(f"error: source_id: unknown source '{source_id}'", err=True)
        raise typer.Exit(2)
    spans = _knowledge().locate_quote(pack.sources[source_id].text, quote)
    if not spans:
        typer.echo("error: quote: not found verbatim in the source", err=True)
        raise typer.Exit(1)
    for start, end in spans:
        typer.echo(f"start: {start}\nend: {end}")


def register(app: typer.Typer) -> None:
    app.add_typer(kb_app, name="kb")
