"""`ketaguide fhir questionnaire`: the intake as a FHIR R4 Questionnaire (for EHRs and forms tools)."""

from __future__ import annotations

import typer

from ketaguide.cli.streams import dump_json, write_output

fhir_app = typer.Typer(help="FHIR R4 resources for EHR integration.", no_args_is_help=True)


@fhir_app.command("questionnaire")
def questionnaire_command() -> None:
    """Print the intake as a FHIR R4 Questionnaire; a QuestionnaireResponse to it is accepted as an intake."""
    from ketaguide.cdshooks.questionnaire import intake_questionnaire
    from ketaguide.version import __version__

    write_output(dump_json(intake_questionnaire(__version__)))


def register(app: typer.Typer) -> None:
    app.add_typer(fhir_app, name="fhir")
