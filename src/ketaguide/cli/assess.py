"""`ketaguide assess`, `ketaguide dose` and `ketaguide schema`: thin commands over services.assessment."""

from __future__ import annotations

import importlib
import json
import sys
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from ketaguide.cli.render import reference_line
from ketaguide.domain.errors import InputError, KetaGuideError


def _assessment() -> ModuleType:
    """The assessment service, imported on first use: every command module loads at each start of the command
    line, and the care-plan rules are not needed to answer a question (cold start, README "Benchmarks")."""
    return importlib.import_module("ketaguide.services.assessment")


dose_app = typer.Typer(help="Dose tools: lamotrigine escalation and ketamine order checks.", no_args_is_help=True)
schema_app = typer.Typer(help="Publish JSON Schemas of KetaGuide's input documents.", no_args_is_help=True)

_URGENCY_STYLE = {"emergency": "bold white on red", "urgent": "bold red", "routine": "yellow"}
_SEVERITY_STYLE = {"major": "bold red", "moderate": "yellow", "minor": "green", "unrated": "magenta"}


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def _fail(exc: KetaGuideError) -> NoReturn:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2 if isinstance(exc, InputError) else 1) from exc


def _read_source(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(InputError("FILE", f"cannot read {source!r}: {exc}"))


def _cites(numbers: list[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def _echo_json(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def assess_command(
    source: str = typer.Argument(..., metavar="FILE|-", help="Intake JSON file, or - to read standard input."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="text or json."),
) -> None:
    """Assess a patient intake: severity, phase, red flags, interactions, options, monitoring; all cited."""
    text = _read_source(source)
    try:
        plan = _assessment().care_plan_contract(_assessment().assess_text(text))
    except KetaGuideError as exc:
        _fail(exc)
    if fmt is OutputFormat.json:
        _echo_json(plan)
    else:
        print_care_plan(plan, Console())


def print_care_plan(plan: dict[str, Any], console: Console) -> None:
    """Terminal rendering: each finding with its reference numbers, then the numbered references."""
    dx = plan["diagnosis"]
    head = f"[bold]{escape(dx['label'] or 'No use disorder diagnosed')}[/bold]: severity {dx['severity']}"
    head += f", {dx['criteria_met']} criteria" + (f", {dx['remission']}" if dx["remission"] else "")
    body = "\n".join([head, *(f"- {escape(n)}" for n in dx["notes"]), f"Evidence: {_cites(dx['citations'])}"])
    console.print(Panel(body, title="Diagnosis", border_style="blue"))
    phase = f"[bold]{plan['phase']}[/bold]: {escape(plan['phase_basis'])} {_cites(plan['phase_citations'])}"
    console.print(Panel(phase, title="Phase", border_style="blue"))
    _print_red_flags(plan["red_flags"], console)
    _print_interactions(plan["interactions"], plan["unrecognized_medications"], console)
    _print_options(plan["options"], console)
    _print_list(
        "Monitoring", [f"{m['item']}: {m['message']} {_cites(m['citations'])}" for m in plan["monitoring"]], console
    )
    _print_list(
        "Open questions (not in the sources)", [f"{g['topic']}: {g['message']}" for g in plan["evidence_gaps"]], console
    )
    _print_list(
        "Where sources conflict", [f"{c['message']} {_cites(c['citations'])}" for c in plan["conflicts"]], console
    )
    _print_references(plan["references"], console)


def _print_red_flags(flags: list[dict[str, Any]], console: Console) -> None:
    if not flags:
        console.print(Panel("None of KetaGuide's red flags is triggered.", title="Red flags", border_style="green"))
        return
    table = Table(title="Red flags", show_lines=True, expand=True)
    for column in ("urgency", "flag", "what to do"):
        table.add_column(column)
    for f in flags:
        why = f"{escape(f['message'])} {_cites(f['citations'])}\n[dim]because: {escape(', '.join(f['triggers']))}[/dim]"
        table.add_row(f"[{_URGENCY_STYLE[f['urgency']]}]{f['urgency']}[/]", f["code"], why)
    console.print(table)


def _print_interactions(pairs: list[dict[str, Any]], unrecognised: list[str], console: Console) -> None:
    table = Table(title="Interactions (curated pairs only)", show_lines=True, expand=True)
    for column in ("severity", "drugs", "what happens"):
        table.add_column(column)
    for i in pairs:
        style = _SEVERITY_STYLE[i["severity"]]
        drugs = escape(" + ".join(i["drugs"]))
        table.add_row(f"[{style}]{i['severity']}[/]", drugs, f"{escape(i['message'])} {_cites(i['citations'])}")
    if pairs:
        console.print(table)
    else:
        console.print("No curated interaction applies.")
    if unrecognised:
        names = escape(", ".join(unrecognised))
        console.print(f"[magenta]Not recognised, so not checked for interactions:[/magenta] {names}")


def _print_options(options: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Options for this phase", show_lines=True, expand=True)
    for column in ("option", "certainty", "notes"):
        table.add_column(column)
    for o in options:
        label = f"{escape(o['intervention'])}\n[dim]{o['kind']}; phase {', '.join(o['phases'])}[/dim]"
        certainty = o["certainty"] + ("\n[bold magenta]EXPERIMENTAL[/]" if o["experimental"] else "")
        notes = "\n".join(f"- {escape(n)}" for n in o["notes"]) + f"\n{_cites(o['citations'])}"
        table.add_row(label, certainty, notes)
    console.print(table if options else "No options apply (no diagnosis and no acute phase).")


def _print_list(title: str, lines: list[str], console: Console) -> None:
    if lines:
        console.print(Panel("\n".join(f"- {escape(line)}" for line in lines), title=title, border_style="cyan"))


def _print_references(refs: list[dict[str, Any]], console: Console) -> None:
    lines = "\n".join(f"{r['n']}. {escape(reference_line(r, with_statement=True))}" for r in refs)
    console.print(Panel(lines, title="References", border_style="blue"))


@dose_app.command("lamotrigine")
def lamotrigine_command(
    with_: list[str] = typer.Option([], "--with", help="A co-medication (repeat for several), e.g. valproate."),
    age: int | None = typer.Option(None, "--age", help="Patient age in years (the table is for adults)."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="text or json."),
) -> None:
    """Print the label's lamotrigine escalation for the co-medications given, with the rash warning."""
    try:
        schedule = _assessment().schedule_contract(_assessment().lamotrigine_dose(with_, age))
    except KetaGuideError as exc:
        _fail(exc)
    if fmt is OutputFormat.json:
        _echo_json(schedule)
        return
    console = Console()
    regimen = schedule["regimen"]
    table = Table(title=f"Lamotrigine escalation: {regimen['applies_to']} {_cites(schedule['citations'])}")
    table.add_column("weeks")
    table.add_column("dose")
    for step in regimen["steps"]:
        table.add_row(step["weeks"], step["dose"] + (" (target)" if step["target"] else ""))
    console.print(table)
    console.print("Why this column: " + escape("; ".join(schedule["reasons"])))
    _print_list("Warnings", [f"{n['text']} {_cites(n['citations'])}" for n in schedule["notes"]], console)
    _print_references(schedule["references"], console)


@dose_app.command("ketamine")
def ketamine_command(
    weight_kg: float = typer.Option(..., "--weight-kg", help="Body weight in kg."),
    route: str = typer.Option(..., "--route", help="iv or im."),
    mg: float = typer.Option(..., "--mg", help="The ordered dose in mg."),
    minutes: float | None = typer.Option(None, "--minutes", help="Minutes the dose is given over, if known."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="text or json."),
) -> None:
    """Check a ketamine order against the label range and the sub-anaesthetic regimen, and explain the result."""
    try:
        check = _assessment().dose_check_contract(_assessment().ketamine_dose(weight_kg, route, mg, minutes))
    except KetaGuideError as exc:
        _fail(exc)
    if fmt is OutputFormat.json:
        _echo_json(check)
        return
    console = Console()
    console.print(Panel(escape(check["summary"]), title="Ketamine order", border_style="blue"))
    lines = [f"{c['verdict'].upper()}: {c['explanation']} {_cites(c['citations'])}" for c in check["comparisons"]]
    _print_list("Comparisons", lines, console)
    _print_list("Notes", [f"{n['text']} {_cites(n['citations'])}" for n in check["notes"]], console)
    _print_references(check["references"], console)


@schema_app.command("intake")
def intake_schema_command() -> None:
    """Print the JSON Schema of the intake document that `ketaguide assess` reads."""
    _echo_json(_assessment().intake_schema())


def register(app: typer.Typer) -> None:
    app.command("assess")(assess_command)
    app.add_typer(dose_app, name="dose")
    app.add_typer(schema_app, name="schema")
