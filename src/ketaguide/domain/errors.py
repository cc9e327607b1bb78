"""KetaGuide's exception tree. Adapters map these to exit codes or HTTP statuses in one place each.

KetaGuideError
├── KnowledgePackError      the bundled content is invalid (a release defect, never user input)
├── InputError              user input is invalid; names the field and the problem
│   └── IntakeError         a patient intake failed validation
└── DatasetError            a benchmark dataset file is malformed; names the file and line
"""

from __future__ import annotations


class KetaGuideError(Exception):
    """Base of every error KetaGuide raises on purpose."""


class KnowledgePackError(KetaGuideError):
    """The knowledge pack failed to load or failed a consistency check."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""))


class InputError(KetaGuideError):
    """Invalid input: `field` names where, `problem` says what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class IntakeError(InputError):
    """A patient intake document is invalid."""


class DatasetError(KetaGuideError):
    """A benchmark dataset file is malformed."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")
