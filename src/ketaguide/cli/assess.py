"""`ketaguide assess`, `ketaguide dose` and `ketaguide schema`: thin commands over the assessment services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from ketaguide.cli.emit import OutputFormat, emit_json, emit_rich
from ketaguide.cli.streams import read_document
from ketaguide.contracts.notes import cites, reference_line
from ketaguide.contracts.sanitize import plain

if TYPE_CHECKING:  # annotations only: importing the care models at start-up would slow every command
    from ketaguide.contracts.care_plan import CarePlanReport, KetamineOrderReport, LamotrigineScheduleReport
    from ketaguide.domain.care.findings import (
        CareOption,
        Interaction,
        NotChecked,
        OptionNotOffered,
        PrescribingCheck,
        RedFlag,
    )
    from ketaguide.domain.citing.references import Reference

# The services (and the care-plan rules) are imported inside each command: every command module loads at each
# start of the command line, and `ask` does not need them (cold start, README "Benchmarks").
MAX_INTAKE_BYTES = 100_000

dose_app = typer.Typer(help="Dose tools: lamotrigine escalation and ketamine order checks.", no_args_is_help=True)

_URGENCY_STYLE = {"emergency": "bold white on red", "urgent": "bold red", "routine": "yellow"}
_SEVERITY_STYLE = {"major": "bold red", "moderate": "yellow", "minor": "green", "unrated": "magenta"}
_STATUS_STYLE = {
    "contraindicated": "bold white on red",
    "caution": "bold yellow",
    "recommended": "green",
    "consider": "cyan",
}
_EFFECT_MARK = {
    "contraindicated": "CONTRA-INDICATED",
    "caution": "CAUTION",
    "note": "note",
    "not_applicable": "not offered",
}


def assess_command(
    source: str = typer.Argument(..., metavar="FILE|-", help="Intake JSON file, or - to read standard input."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="text or json."),
) -> None:
    """Assess a patient intake: severity, phase, red flags, interactions, options, monitoring; all cited."""
    from ketaguide.bootstrap import build_runtime
    from ketaguide.services.assessment import assess_text

    text = read_document(source, MAX_INTAKE_BYTES, "intake")
    with build_runtime() as runtime:
        plan = assess_text(runtime, text)
    if fmt is OutputFormat.json:
        emit_json(plan)
    else:
        emit_rich(lambda console: print_care_plan(plan, console))


def print_care_plan(plan: CarePlanReport, console: Console) -> None:
    """Terminal rendering: each finding with its reference numbers, then the numbered references."""
    dx = plan.diagnosis
    head = f"[bold]{escape(dx.label or 'No use disorder diagnosed')}[/bold]: severity {dx.severity}"
    head += f", {dx.criteria_met} criteria" + (f", {dx.remission}" if dx.remission else "")
    body = "\n".join([head, *(f"- {escape(n)}" for n in dx.notes), f"Evidence: {cites(dx.citations)}"])
    console.print(Panel(body, title="Diagnosis", border_style="blue"))
    phase = f"[bold]{plan.phase}[/bold]: {escape(plan.phase_basis)} {cites(plan.phase_citations)}"
    console.print(Panel(phase, title="Phase", border_style="blue"))
    _print_red_flags(plan.red_flags, console)
    _print_medicines_read(plan, console)
    _print_interactions(plan.interactions, plan.not_checked, console)
    _print_prescribing(plan.prescribing, console)
    _print_options(plan.options, console)
    _print_not_offered(plan.options_not_offered, console)
    _print_list("Monitoring", [f"{m.item}: {m.message} {cites(m.citations)}" for m in plan.monitoring], console)
    gaps = [f"{g.topic}: {g.message}" for g in plan.evidence_gaps]
    _print_list("Open questions (not in the sources)", gaps, console)
    _print_list("Where sources conflict", [f"{c.message} {cites(c.citations)}" for c in plan.conflicts], console)
    _print_references(plan.references, console)


def _print_red_flags(flags: Sequence[RedFlag], console: Console) -> None:
    if not flags:
        console.print(Panel("None of KetaGuide's red flags is triggered.", title="Red flags", border_style="green"))
        return
    table = Table(title="Red flags", show_lines=True, expand=True)
    for column in ("urgency", "flag", "what to do"):
        table.add_column(column)
    for f in flags:
        why = f"{escape(f.message)} {cites(f.citations)}\n[dim]because: {escape(plain(', '.join(f.triggers)))}[/dim]"
        table.add_row(f"[{_URGENCY_STYLE[f.urgency]}]{f.urgency}[/]", f.code, why)
    console.print(table)


def _print_medicines_read(plan: CarePlanReport, console: Console) -> None:
    """How each medicine name was read, so a clinician can see that "Epilim Chrono" was taken as valproate."""
    read = [
        f"{m.written_as} -> {m.generic}" for m in plan.recognized_medications if m.written_as.casefold() != m.generic
    ]
    if read:
        console.print("[dim]Medicines read as: " + escape(plain("; ".join(read))) + "[/dim]")


def _written(written: str, drug: str) -> str:
    generic = drug.replace("_", " ")
    return written if written.casefold() == generic.casefold() else f"{written} ({generic})"


def _print_interactions(pairs: Sequence[Interaction], not_checked: Sequence[NotChecked], console: Console) -> None:
    table = Table(title="Interactions (curated pairs only)", show_lines=True, expand=True)
    for column in ("severity", "drugs", "what happens"):
        table.add_column(column)
    for i in pairs:
        drugs = escape(plain(" + ".join(_written(w, d) for w, d in zip(i.written_as, i.drugs, strict=True))))
        table.add_row(
            f"[{_SEVERITY_STYLE[i.severity]}]{i.severity}[/]", drugs, f"{escape(i.message)} {cites(i.citations)}"
        )
    console.print(table if pairs else "No curated interaction applies.")
    unread = [n.written_as for n in not_checked if n.drug is None]
    unchecked = [n.written_as for n in not_checked if n.drug is not None]
    if unread:
        names = escape(plain(", ".join(unread)))
        console.print(
            f"[magenta]Not recognised, so not checked for interactions or against the options:[/magenta] {names}"
        )
    if unchecked:
        names = escape(plain(", ".join(unchecked)))
        console.print(
            f"[magenta]No curated pair names these, so not checked (not listed is not safe):[/magenta] {names}"
        )


def _print_prescribing(checks: Sequence[PrescribingCheck], console: Console) -> None:
    """Medicines on the intake that a finding changes (ketamine or esketamine with ketamine use disorder...)."""
    for c in checks:
        title = f"{_written(c.written_as, c.drug)} {c.title}"
        mark = f"[{_STATUS_STYLE.get(c.effect, 'cyan')}]{_EFFECT_MARK[c.effect]}[/]"
        why = f"[dim]because: {escape(plain(', '.join(c.triggers)))}[/dim]"
        body = f"{mark}: {escape(c.message)} {cites(c.citations)}\n{why}"
        console.print(Panel(body, title=escape(plain(title)), border_style="yellow"))


def _print_options(options: Sequence[CareOption], console: Console) -> None:
    table = Table(title="Options for this phase, checked against this patient", show_lines=True, expand=True)
    for column in ("option", "status", "reasons and notes"):
        table.add_column(column)
    for o in options:
        label = f"{escape(o.intervention)}\n[dim]{o.kind}; phase {', '.join(o.phases)}; certainty {o.certainty}[/dim]"
        label += "\n[bold magenta]EXPERIMENTAL[/]" if o.experimental else ""
        status = f"[{_STATUS_STYLE[o.status]}]{o.status.upper()}[/]"
        lines = [
            f"[bold]{_EFFECT_MARK[r.effect]}:[/bold] {escape(plain(r.message))} {cites(r.citations)}"
            for r in o.status_reasons
        ]
        if o.dose_column:
            lines.append(f"[bold]dose:[/bold] {escape(plain(o.dose_column.message))} {cites(o.dose_column.citations)}")
        lines += [f"- {escape(plain(n))}" for n in o.notes]
        table.add_row(label, status, "\n".join(lines) + f"\n{cites(o.citations)}")
    console.print(table if options else "No options apply (no diagnosis and no acute phase).")


def _print_not_offered(options: Sequence[OptionNotOffered], console: Console) -> None:
    lines = []
    for o in options:
        numbers = tuple(n for r in o.reasons for n in r.citations)
        lines.append(f"{o.intervention}: {' '.join(r.message for r in o.reasons)} {cites(numbers)}")
    _print_list("Not offered for this patient", lines, console)


def _print_list(title: str, lines: Sequence[str], console: Console) -> None:
    if lines:
        body = "\n".join(f"- {escape(plain(line))}" for line in lines)
        console.print(Panel(body, title=title, border_style="cyan"))


def _print_references(refs: Sequence[Reference], console: Console) -> None:
    lines = "\n".join(f"{r.n}. {escape(reference_line(r, with_statement=True))}" for r in refs)
    console.print(Panel(lines, title="References", border_style="blue"))


@dose_app.command("lamotrigine")
def lamotrigine_command(
    with_: list[str] = typer.Option([], "--with", help="A co-medication (repeat for several), e.g. valproate."),
    age: int | None = typer.Option(None, "--age", help="Patient age in years (the table is for adults)."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="text or json."),
) -> None:
    """Print the label's lamotrigine escalation for the co-medications given, with the rash warning."""
    from ketaguide.bootstrap import build_runtime
    from ketaguide.services.assessment import lamotrigine_dose

    with build_runtime() as runtime:
        schedule = lamotrigine_dose(runtime, with_, age)
    if fmt is OutputFormat.json:
        emit_json(schedule)
    else:
        emit_rich(lambda console: _print_schedule(schedule, console))


def _print_schedule(schedule: LamotrigineScheduleReport, console: Console) -> None:
    regimen = schedule.regimen
    table = Table(title=f"Lamotrigine escalation: {escape(regimen.applies_to)} {cites(schedule.citations)}")
    table.add_column("weeks")
    table.add_column("dose")
    for step in regimen.steps:
        table.add_row(step.weeks, step.dose + (" (target)" if step.target else ""))
    console.print(table)
    console.print("Why this column: " + escape(plain("; ".join(schedule.reasons))))
    _print_list("Warnings", [f"{n.text} {cites(n.citations)}" for n in schedule.notes], console)
    _print_references(schedule.references, console)


@dose_app.command("ketamine")
def ketamine_command(
    weight_kg: float = typer.Option(..., "--weight-kg", help="Body weight in kg."),
    route: str = typer.Option(..., "--route", help="iv or im."),
    mg: float = typer.Option(..., "--mg", help="The ordered dose in mg."),
    minutes: float | None = typer.Option(None, "--minutes", help="Minutes the dose is given over, if known."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="text or json."),
) -> None:
    """Check a ketamine order against the label range and the sub-anaesthetic regimen, and explain the result."""
    from ketaguide.bootstrap import build_runtime
    from ketaguide.services.assessment import ketamine_dose

    with build_runtime() as runtime:
        check = ketamine_dose(runtime, weight_kg, route, mg, minutes)
    if fmt is OutputFormat.json:
        emit_json(check)
    else:
        emit_rich(lambda console: _print_order_check(check, console))


def _print_order_check(check: KetamineOrderReport, console: Console) -> None:
    console.print(Panel(escape(check.summary), title="Ketamine order", border_style="blue"))
    lines = [f"{c.verdict.upper()}: {c.explanation} {cites(c.citations)}" for c in check.comparisons]
    _print_list("Comparisons", lines, console)
    _print_list("Notes", [f"{n.text} {cites(n.citations)}" for n in check.notes], console)
    _print_references(check.references, console)


def register(app: typer.Typer) -> None:
    app.command("assess")(assess_command)
    app.add_typer(dose_app, name="dose")
