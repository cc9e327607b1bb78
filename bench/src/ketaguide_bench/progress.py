"""How a benchmark reports progress without knowing who draws it (the CLI draws rich bars on stderr)."""

from __future__ import annotations

from collections.abc import Callable

# Starts a progress task (description, total steps) and returns the function that advances it by n steps.
Progress = Callable[[str, int], Callable[[int], None]]


def no_progress(description: str, total: int) -> Callable[[int], None]:
    return lambda steps: None
