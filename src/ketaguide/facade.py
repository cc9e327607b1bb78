"""`KetaGuide`: the library's front door, for use from Python without the command line or the server.

    from ketaguide import KetaGuide

    with KetaGuide.from_settings(retriever="lexical") as guide:
        answer = guide.ask("Does lamotrigine help with ketamine craving?")
        plan = guide.assess({"age": 30, "sex": "male", "criteria": ["craving", "tolerance"]})

Results are the typed contracts the CLI prints as JSON (`ketaguide.contracts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from ketaguide.bootstrap import Runtime, build_runtime
from ketaguide.contracts.answer import AnswerReport
from ketaguide.contracts.care_plan import CarePlanReport, KetamineOrderReport, LamotrigineScheduleReport
from ketaguide.services import assessment, evidence
from ketaguide.settings import load_settings


class KetaGuide:
    """One loaded knowledge snapshot and its evidence index; thread-safe to query once built."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @classmethod
    def from_settings(cls, **settings: object) -> KetaGuide:
        """Settings as keyword arguments (`retriever`, `cache_dir`, `content_dir`), over KETAGUIDE_* variables."""
        return cls(build_runtime(load_settings(**settings)))

    def ask(self, question: str) -> AnswerReport:
        """A cited, evidence-graded answer, or an abstention saying why."""
        return evidence.ask(self.runtime, question)

    def assess(self, intake: object) -> CarePlanReport:
        """The care plan for an intake document (a dict shaped as `ketaguide schema intake`)."""
        return assessment.assess(self.runtime, intake)

    def lamotrigine_schedule(
        self, co_medications: Sequence[str] = (), age: int | None = None
    ) -> LamotrigineScheduleReport:
        return assessment.lamotrigine_dose(self.runtime, co_medications, age)

    def check_ketamine_order(
        self, weight_kg: float, route: str, mg: float, over_minutes: float | None = None
    ) -> KetamineOrderReport:
        return assessment.ketamine_dose(self.runtime, weight_kg, route, mg, over_minutes)

    def close(self) -> None:
        self.runtime.close()

    def __enter__(self) -> KetaGuide:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
