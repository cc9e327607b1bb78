"""Strict JSON for input documents: what Python's `json` module lets through, a clinical document must not.

`json.loads` accepts duplicate keys (the last silently wins, so a reviewer and the program can read different
values), the non-JSON literals NaN and Infinity, numbers like 1e400 that become infinity, lone UTF-16
surrogates that cannot be encoded again, and nesting deep enough to raise RecursionError. Here each of those
is a problem named with its path, and every problem found is reported at once. Pure: text in, object out.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from typing import Any

from ketaguide.domain.errors import FieldProblem, InputError

MAX_DEPTH = 64
MAX_PROBLEMS = 50
# A JSON string (escapes included) or a bracket. Strings are matched whole so brackets inside are not counted.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class DocumentError(InputError):
    """A JSON document is invalid; `problems` has one FieldProblem per problem, its field a path in the
    document rooted at the field named by the caller (`intake.criteria[0]`), in document order."""


class _Problems:
    """Problems found so far. Past `limit` they are only counted: one line each on a terminal is the report,
    and a document of ten thousand duplicate keys should not print ten thousand lines."""

    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self.found: list[FieldProblem] = []
        self.limit = limit
        self.unlisted = 0

    def add(self, path: str, problem: str) -> None:
        if len(self.found) < self.limit:
            self.found.append(FieldProblem(path, problem))
        else:
            self.unlisted += 1

    def error(self, field: str) -> InputError:
        unlisted = [FieldProblem(field, f"{self.unlisted} more problems not listed")] if self.unlisted else []
        return DocumentError.of([*self.found, *unlisted])


@dataclass(frozen=True, slots=True)
class _Pairs:
    """A JSON object as parsed, before duplicate keys are checked (`object_pairs_hook` cannot see its path)."""

    pairs: list[tuple[str, Any]]


@dataclass(frozen=True, slots=True)
class _Rejected:
    """A value the parser must not turn into a Python number; `problem` says why."""

    problem: str


def parse_json_document(text: str, field: str, *, max_depth: int = MAX_DEPTH) -> object:
    """Parse `text` as one strict JSON value; raise DocumentError (an InputError) listing every problem."""
    text = text.removeprefix("\ufeff")  # a byte-order mark is allowed before JSON text (RFC 8259 section 8.1)
    _check_depth(text, field, max_depth)
    try:
        raw = json.loads(
            text,
            object_pairs_hook=_Pairs,
            parse_constant=_reject_constant,
            parse_float=_parse_float,
            parse_int=_parse_int,
        )
    except json.JSONDecodeError as exc:
        raise DocumentError(field, _syntax_problem(text, exc)) from None
    except RecursionError:  # unreachable after _check_depth; kept so the promise holds if that ever changes
        raise DocumentError(field, f"nested deeper than {max_depth} levels") from None
    problems = _Problems()
    value = _clean(raw, field, problems)
    if problems.found:
        raise problems.error(field)
    return value


def _check_depth(text: str, field: str, max_depth: int) -> None:
    """Refuse deep nesting before parsing: json's C scanner recurses per level and would hit the recursion
    limit, and so would the walk over the result."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > max_depth:
                where = _line_column(text, match.start())
                raise DocumentError(field, f"{where}: nested deeper than {max_depth} levels")
        elif token in ("]", "}"):
            depth -= 1


def _syntax_problem(text: str, exc: json.JSONDecodeError) -> str:
    if not text.strip():
        return "the document is empty"
    return f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"


def _line_column(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - text.rfind("\n", 0, index)
    return f"line {line} column {column}"


def _reject_constant(name: str) -> _Rejected:
    return _Rejected(f"{name} is not a JSON number")


def _parse_float(literal: str) -> float | _Rejected:
    number = float(literal)
    if math.isfinite(number):
        return number
    return _Rejected(f"number {_abbreviate(literal)} is out of range")


def _parse_int(literal: str) -> int | _Rejected:
    try:
        return int(literal)
    except ValueError:  # longer than sys.get_int_max_str_digits() (4,300 by default; CVE-2020-10735)
        digits = len(literal.lstrip("-"))
        return _Rejected(f"integer with {digits} digits is too long (limit {sys.get_int_max_str_digits()})")


def _abbreviate(literal: str) -> str:
    return literal if len(literal) <= 40 else f"{literal[:20]}…{literal[-10:]}"


def _clean(value: Any, path: str, problems: _Problems) -> object:
    """The parsed value as plain dicts and lists, with each problem found on the way added to `problems`."""
    if isinstance(value, _Pairs):
        return _clean_object(value.pairs, path, problems)
    if isinstance(value, list):
        return [_clean(item, f"{path}[{index}]", problems) for index, item in enumerate(value)]
    if isinstance(value, _Rejected):
        problems.add(path, value.problem)
        return None
    if isinstance(value, str) and _SURROGATE.search(value):
        problems.add(path, "string contains a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape)")
    return value


def _clean_object(pairs: list[tuple[str, Any]], path: str, problems: _Problems) -> dict[str, object]:
    result: dict[str, object] = {}
    duplicates: set[str] = set()
    for key, item in pairs:
        if _SURROGATE.search(key):
            problems.add(path, f"key {key!r} contains a lone UTF-16 surrogate")
        if key in result and key not in duplicates:
            duplicates.add(key)
            problems.add(path, f"duplicate key {key!r}")
        result[key] = _clean(item, _child_path(path, key), problems)
    return result


def _child_path(path: str, key: str) -> str:
    # Keys that are not plain names are quoted as JSON (ASCII-escaped), so no key can inject text or controls.
    return f"{path}.{key}" if _PLAIN_KEY.fullmatch(key) else f"{path}[{json.dumps(key)}]"
