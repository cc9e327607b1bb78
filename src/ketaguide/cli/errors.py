"""The command line's one mapping from errors to exit codes and messages (README, "Exit codes").

0   success
1   an internal defect (invalid bundled content, an output that cannot be written, any unexpected exception):
    one line on stderr, never a traceback
2   invalid input or usage: every problem, one line each, naming its field
3   invalid configuration (a KETAGUIDE_* setting): every problem, naming the variable
"""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from typer._click.core import Context  # typer vendors click; TyperGroup.invoke takes this Context
from typer.core import TyperGroup

from ketaguide.cli.streams import discard_standard_output, write_error
from ketaguide.contracts.sanitize import plain
from ketaguide.domain.errors import ConfigurationError, InputError, KetaGuideError

EXIT_DEFECT = 1
EXIT_INPUT = 2
EXIT_CONFIGURATION = 3


def fail(error: BaseException) -> NoReturn:
    """Report `error` on stderr and exit with its code."""
    if isinstance(error, BrokenPipeError):
        # The reader left (`ketaguide ... | head`): nothing is wrong and nobody is listening; exit quietly.
        discard_standard_output()
        raise typer.Exit(EXIT_DEFECT)
    if isinstance(error, InputError | ConfigurationError):
        for problem in error.problems:
            write_error(f"error: {_one_line(str(problem))}")
        raise typer.Exit(EXIT_INPUT if isinstance(error, InputError) else EXIT_CONFIGURATION)
    if isinstance(error, KetaGuideError):
        write_error(f"error: {_one_line(str(error))}")
    else:
        write_error(f"internal error ({type(error).__name__}): {_one_line(str(error))}; please report it")
    raise typer.Exit(EXIT_DEFECT)


def _one_line(text: str) -> str:
    """Input echoed in a message (a field name from a document, say) cannot add lines or terminal controls."""
    return " ".join(plain(text).split()) or "no details"


class KetaGuideGroup(TyperGroup):
    """The root command group: every command's errors pass through `fail`, whichever command raised them."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # the framework's own: usage errors (exit 2), --help, Ctrl-C
        except Exception as error:  # the one place that turns any failure into an exit code
            fail(error)
