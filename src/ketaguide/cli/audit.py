"""`ketaguide audit verify`: recompute the audit trail's hash chain and report any altered, deleted or inserted
event."""

from __future__ import annotations

import typer

from ketaguide.cli.streams import write_error, write_output

audit_app = typer.Typer(help="The server's audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def verify_command() -> None:
    """Check every event against the hash chain; exit 1 and list the problems if the trail was tampered with."""
    from ketaguide.cli.db import ready_records
    from ketaguide.services.audit import verify_trail

    with ready_records() as records:
        report = verify_trail(records)
    for problem in report.problems:
        write_error(f"problem: {problem}")
    if not report.intact:
        write_error(f"audit trail: {report.events} events, {len(report.problems)} problem(s)")
        raise typer.Exit(1)
    write_output(f"audit trail: {report.events} events, hash chain intact")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
