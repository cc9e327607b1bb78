"""KetaGuide's exception tree. Adapters map these to exit codes or HTTP statuses in one place each.

KetaGuideError
├── KnowledgePackError      the content is invalid (a release or curation defect, never user input)
├── ConfigurationError      a setting is invalid (KETAGUIDE_* variables); names the variable
├── InputError              user input is invalid; carries every problem found, each with its field
│   └── IntakeError         a patient intake failed validation
└── DatasetError            a benchmark dataset file is malformed; names the file and line

The command line maps them in `ketaguide.cli.errors`: InputError exits 2, ConfigurationError 3, anything else
(a defect) 1, always with a message and never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple, Self


class KetaGuideError(Exception):
    """Base of every error KetaGuide raises on purpose."""


class KnowledgePackError(KetaGuideError):
    """The knowledge pack failed to load or failed a consistency check."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""))


class FieldProblem(NamedTuple):
    """One problem with one input field: `field` is a path such as `criteria[0]` or `asq.q5`."""

    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


def _joined(problems: tuple[FieldProblem, ...]) -> str:
    return "; ".join(map(str, problems))


class ConfigurationError(KetaGuideError):
    """A setting is invalid; `problems` name each variable and what is wrong with it."""

    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(_joined(self.problems))


class InputError(KetaGuideError):
    """Invalid input: every problem found, each naming its field, so an adapter can report them all.

    `InputError(field, problem)` for one problem; `InputError.of(problems)` for several.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.problems: tuple[FieldProblem, ...] = (FieldProblem(field, problem),)
        super().__init__(_joined(self.problems))

    @classmethod
    def of(cls, problems: Iterable[FieldProblem]) -> Self:
        found = tuple(problems)
        if not found:
            raise ValueError("an input error needs at least one problem")
        error = cls(*found[0])
        error.problems = found
        error.args = (_joined(found),)
        return error

    @property
    def field(self) -> str:
        return self.problems[0].field

    @property
    def problem(self) -> str:
        return self.problems[0].problem


class IntakeError(InputError):
    """A patient intake document is invalid."""


class DatasetError(KetaGuideError):
    """A benchmark dataset file is malformed."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")
