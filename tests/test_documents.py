"""Strict JSON input documents: every problem json.loads would let through is named with its path, all at once."""

from __future__ import annotations

import contextlib
import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaguide.domain.errors import FieldProblem, InputError
from ketaguide.services.documents import MAX_DEPTH, MAX_PROBLEMS, DocumentError, parse_json_document


def problems_of(text: str, field: str = "intake") -> list[FieldProblem]:
    with pytest.raises(DocumentError) as caught:
        parse_json_document(text, field)
    return list(caught.value.problems)


# --- valid documents ---------------------------------------------------------------------------------------


def test_a_valid_document_parses_to_plain_dicts_and_lists() -> None:
    value = parse_json_document('{"criteria": [1, 2.5, "x", true, null, {"a": {}}], "é": []}', "intake")
    assert value == {"criteria": [1, 2.5, "x", True, None, {"a": {}}], "é": []}
    assert type(value) is dict
    assert type(value["criteria"][5]) is dict


def test_a_leading_byte_order_mark_is_ignored() -> None:
    assert parse_json_document('\ufeff{"a": 1}', "intake") == {"a": 1}


def test_a_surrogate_pair_escape_is_one_character() -> None:
    assert parse_json_document(r'{"a": "\ud83d\ude00"}', "intake") == {"a": "😀"}


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"note": "[" * 1000 + '\\"{' * 100})
    assert parse_json_document(text, "intake") == json.loads(text)


def test_nesting_at_the_limit_is_accepted() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert parse_json_document(text, "intake") is not None


def test_an_integer_at_the_interpreter_digit_limit_is_accepted() -> None:
    digits = sys.get_int_max_str_digits() or 4300
    assert parse_json_document("9" * digits, "intake") == int("9" * digits)


# --- each kind of problem, named with its path -------------------------------------------------------------


def test_a_duplicate_key_names_the_key_and_the_object_path() -> None:
    assert problems_of('{"criteria": {"x": 1, "x": 2}}') == [FieldProblem("intake.criteria", "duplicate key 'x'")]


def test_a_duplicate_key_at_the_root_is_reported_once_however_often_it_repeats() -> None:
    assert problems_of('{"a": 1, "a": 2, "a": 3}') == [FieldProblem("intake", "duplicate key 'a'")]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_json_number_literals_are_rejected(literal: str) -> None:
    assert problems_of(f'{{"dose": [1, {literal}]}}') == [
        FieldProblem("intake.dose[1]", f"{literal} is not a JSON number")
    ]


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "1" * 400 + ".0"])
def test_a_number_too_large_for_a_float_is_rejected_instead_of_becoming_infinity(literal: str) -> None:
    [problem] = problems_of(f'{{"mg": {literal}}}')
    assert problem.field == "intake.mg"
    assert "out of range" in problem.problem


def test_an_integer_longer_than_the_digit_limit_is_named_not_a_value_error() -> None:
    [problem] = problems_of('{"weight": [-' + "1" * 5000 + "]}")
    assert problem.field == "intake.weight[0]"
    assert "5000 digits is too long" in problem.problem


def test_a_lone_surrogate_in_a_value_is_rejected() -> None:
    [problem] = problems_of(r'{"notes": ["ok", "bad \ud800 here"]}')
    assert problem.field == "intake.notes[1]"
    assert "lone UTF-16 surrogate" in problem.problem


def test_a_lone_surrogate_in_a_key_is_rejected_and_escaped_in_the_message() -> None:
    [problem] = problems_of(r'{"a": {"\udc00": 1}}')
    assert problem == FieldProblem("intake.a", r"key '\udc00' contains a lone UTF-16 surrogate")


def test_a_lone_surrogate_passed_in_the_text_itself_is_rejected() -> None:
    assert problems_of('{"a": "\ud800"}')[0].field == "intake.a"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"a": 1,}', "line 1, column 9"),
        ('{\n  "a": 1\n  "b": 2\n}', "line 3, column 3"),
        ("[1, 2", "line 1, column 6"),
        ("{} {}", "line 1, column 4"),
        ("'single'", "line 1, column 1"),
        ('{"a": "tab\there"}', "line 1, column 11"),
    ],
)
def test_a_syntax_error_names_line_and_column(text: str, where: str) -> None:
    [problem] = problems_of(text)
    assert problem.field == "intake"
    assert problem.problem.startswith("not valid JSON: ") and problem.problem.endswith(f" at {where}")


@pytest.mark.parametrize("text", ["", "   \n\t", "\ufeff"])
def test_an_empty_document_says_so(text: str) -> None:
    assert problems_of(text) == [FieldProblem("intake", "the document is empty")]


@pytest.mark.parametrize("opening", ["[", '{"a":', '[{"b": '])
def test_deep_nesting_is_refused_before_recursion_error(opening: str) -> None:
    [problem] = problems_of(opening * 200_000)
    assert problem.field == "intake"
    assert f"nested deeper than {MAX_DEPTH} levels" in problem.problem


def test_one_level_past_the_limit_is_refused_naming_where() -> None:
    text = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    assert problems_of(text) == [FieldProblem("intake", f"line 1 column {MAX_DEPTH + 1}: nested deeper than 64 levels")]


def test_a_custom_depth_limit() -> None:
    with pytest.raises(DocumentError, match="nested deeper than 2 levels"):
        parse_json_document("[[[]]]", "body", max_depth=2)


# --- all problems at once; paths that cannot be forged -----------------------------------------------------


def test_every_problem_in_the_document_is_reported_in_one_error() -> None:
    text = r'{"a": 1, "a": 2, "b": {"c": NaN, "d": ["\ud800", 1e999]}, "e": {"f": 1, "f": 1}}'
    assert problems_of(text) == [
        FieldProblem("intake", "duplicate key 'a'"),
        FieldProblem("intake.b.c", "NaN is not a JSON number"),
        FieldProblem("intake.b.d[0]", "string contains a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape)"),
        FieldProblem("intake.b.d[1]", "number 1e999 is out of range"),
        FieldProblem("intake.e", "duplicate key 'f'"),
    ]


def test_the_error_is_an_input_error_whose_message_joins_the_problems() -> None:
    with pytest.raises(InputError) as caught:
        parse_json_document('{"x": NaN, "x": 1}', "intake")
    assert isinstance(caught.value, DocumentError)
    assert str(caught.value) == "intake.x: NaN is not a JSON number; intake: duplicate key 'x'"
    assert caught.value.field == "intake.x"


def test_problems_past_the_limit_are_counted_not_listed() -> None:
    problems = problems_of("[" + ", ".join(["NaN"] * (MAX_PROBLEMS + 7)) + "]")
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1] == FieldProblem("intake", "7 more problems not listed")


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("plain_name", "intake.plain_name"),
        ("two words", 'intake["two words"]'),
        ("a.b", 'intake["a.b"]'),
        ("\x1b[31mred", 'intake["\\u001b[31mred"]'),
        ("dosé", 'intake["dos\\u00e9"]'),
    ],
)
def test_paths_quote_keys_that_are_not_plain_names(key: str, path: str) -> None:
    assert problems_of(json.dumps({key: float("nan")}, allow_nan=True))[0].field == path


def test_a_long_number_is_abbreviated_in_the_message() -> None:
    [problem] = problems_of("1" * 500 + "e999")
    assert len(problem.problem) < 100


# --- properties -------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


@given(json_values)
def test_any_valid_json_round_trips(value: object) -> None:
    assert parse_json_document(json.dumps(value), "doc") == value
    assert parse_json_document(json.dumps(value, indent=2, ensure_ascii=False), "doc") == value


@given(st.text())
@settings(max_examples=300)
def test_any_text_parses_or_raises_input_error(text: str) -> None:
    try:
        parse_json_document(text, "doc")
    except InputError as exc:
        assert exc.problems
        assert all(problem.field.startswith("doc") for problem in exc.problems)


json_alphabet = st.sampled_from([*'[]{}",:0123456789.eE+-\\ ntruefalsNIfiy', "\\ud800", "\\u0041", "\n"])


@given(st.lists(json_alphabet, max_size=200).map("".join))
@settings(max_examples=500)
def test_json_like_noise_parses_or_raises_input_error(text: str) -> None:
    with contextlib.suppress(InputError):  # anything else (RecursionError, ValueError) fails the test
        parse_json_document(text, "doc")


@given(st.dictionaries(st.sampled_from("abcde"), st.integers(), min_size=1), st.sampled_from("abcde"))
def test_a_repeated_key_is_always_found(document: dict[str, int], repeated: str) -> None:
    body = ", ".join(f'"{key}": {value}' for key, value in document.items())
    text = f'{{"inner": {{{body}, "{repeated}": 0}}}}'
    if repeated in document:
        assert problems_of(text, "doc") == [FieldProblem("doc.inner", f"duplicate key {repeated!r}")]
    else:
        assert parse_json_document(text, "doc") == {"inner": {**document, repeated: 0}}
