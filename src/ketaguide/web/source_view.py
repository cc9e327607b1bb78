"""A source's text cut into runs for the source view: the quoted passage, other claims' passages, plain text.

Offsets are Python string offsets (code points), the same as every claim's and reference's `start`/`end`, so the
highlighted run is exactly `text[start:end]`. Claims may overlap; a run carries every claim that covers it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from ketaguide.domain.evidence.models import Claim


@dataclass(frozen=True)
class Run:
    text: str
    kind: Literal["quote", "claim", "plain"]
    claims: tuple[str, ...]
    first: bool  # the first run of the quoted passage (it carries the `#quote` anchor)


@dataclass(frozen=True)
class Highlight:
    start: int
    end: int
    claims: tuple[str, ...]  # the claims quoting exactly this passage


def highlight_of(text: str, claims: Sequence[Claim], start: int | None, end: int | None) -> Highlight | str | None:
    """The passage to highlight, a problem to show instead, or None when no offsets were given."""
    if start is None and end is None:
        return None
    if start is None or end is None:
        return "Give both start and end to highlight a passage."
    if not 0 <= start < end <= len(text):
        return f"Characters {start}-{end} are outside this document ({len(text)} characters); nothing is highlighted."
    return Highlight(start, end, tuple(c.id for c in claims if c.start == start and c.end == end))


def runs(text: str, claims: Sequence[Claim], highlight: Highlight | None) -> list[Run]:
    """The text as consecutive runs; together they are exactly `text`."""
    cuts = {0, len(text)}
    spans = [(c.start, c.end, c.id) for c in claims if 0 <= c.start < c.end <= len(text)]
    for start, end, _ in spans:
        cuts.update((start, end))
    if highlight is not None:
        cuts.update((highlight.start, highlight.end))
    bounds = sorted(cuts)
    found: list[Run] = []
    first_quote = True
    for left, right in pairwise(bounds):
        covering = tuple(cid for start, end, cid in spans if start <= left and right <= end)
        if highlight is not None and highlight.start <= left and right <= highlight.end:
            found.append(Run(text[left:right], "quote", covering, first_quote))
            first_quote = False
        else:
            found.append(Run(text[left:right], "claim" if covering else "plain", covering, False))
    return found
