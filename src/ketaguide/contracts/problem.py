"""Problem details (RFC 9457 shape) for errors, listing every field problem so a caller can fix them all at once."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ketaguide.domain.errors import ConfigurationError, InputError, KetaGuideError


class FieldError(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: str = Field(description="where: a field path such as criteria[0] or asq.q5, or a setting's variable")
    problem: str


class Problem(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: str = Field("about:blank", description="a URI naming the kind of problem")
    title: str
    status: int | None = Field(None, description="the HTTP status, where the problem is served over HTTP")
    detail: str
    errors: tuple[FieldError, ...] = ()


def problem_of(error: KetaGuideError) -> Problem:
    """The problem details of a KetaGuide error."""
    if isinstance(error, InputError | ConfigurationError):
        title = "Invalid input" if isinstance(error, InputError) else "Invalid configuration"
        errors = tuple(FieldError(field=p.field, problem=p.problem) for p in error.problems)
        return Problem(title=title, detail=str(error), errors=errors)
    return Problem(title="Internal error", detail=str(error))
