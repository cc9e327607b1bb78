"""Echoed user text cannot drive a terminal, and in Markdown cannot forge structure; checked with a real renderer."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from ketaguide.contracts.sanitize import markdown_inline, plain

# Two renderers: CommonMark with raw HTML allowed (the strictest test of HTML neutralising), and markdown-it's
# default preset, which adds GitHub tables and strikethrough.
RENDERERS = {"commonmark": MarkdownIt("commonmark"), "gfm-tables": MarkdownIt("js-default")}
ONE_PARAGRAPH = re.compile(r"<p>([^<>]*)</p>\n")


def rendered_text(text: str, renderer: str) -> str:
    """The paragraph's text as a reader sees it; fails unless the rendering is exactly one tag-free paragraph."""
    rendered = RENDERERS[renderer].render(markdown_inline(text))
    match = ONE_PARAGRAPH.fullmatch(rendered)
    assert match, rendered
    return html.unescape(match.group(1))


# --- plain ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b[2J\x1b[1;1Hcleared", "cleared"),
        ("\x1b[?1049hscreen", "screen"),
        ("\x1b]0;evil title\x07after", "after"),
        ("\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1bP1$qm\x1b\\dcs", "dcs"),
        ("\x1b_apc\x1b\\x", "x"),
        ("\x9b31mC1 CSI", "C1 CSI"),
        ("\x9d0;title\x9cC1 OSC", "C1 OSC"),
        ("\x1b(Bcharset", "charset"),
        ("\x1bcreset", "reset"),
        ("\x1b]0;unterminated title", ""),
        ("\x1b]0;cut short\x1b[31mred", "red"),
        ("bell\x07 back\x08space del\x7f", "bell backspace del"),
        ("over\rwrite", "overwrite"),
        ("null\x00byte\x0bvt\x0cff", "nullbytevtff"),
        ("c1\x85\x8d\x9f", "c1"),
        ("admin\u202e\u2066txt.exe\u2069\u202c", "admintxt.exe"),
        ("\u202a\u202b\u202d\u2067\u2068", ""),
    ],
)
def test_plain_removes_escape_sequences_and_controls(raw: str, shown: str) -> None:
    assert plain(raw) == shown


def test_plain_keeps_newlines_tabs_and_all_printable_unicode() -> None:
    text = "Ketamine — 25 mg\tIM\nκεταμίνη 氯胺酮 😀 \u00a0é\u200d"
    assert plain(text) == text


def test_plain_turns_windows_line_ends_into_newlines() -> None:
    assert plain("a\r\nb") == "a\nb"


@given(st.text())
def test_plain_leaves_no_control_character_and_is_idempotent(text: str) -> None:
    cleaned = plain(text)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", cleaned)
    assert plain(cleaned) == cleaned


@given(
    st.lists(st.sampled_from(["\x1b", "[", "]", "\x07", "\\", "P", "0", ";", "m", "\x9b", "\x9c", "a"])).map("".join)
)
def test_plain_leaves_no_escape_from_sequence_fragments(text: str) -> None:
    assert "\x1b" not in plain(text)
    assert "\x9b" not in plain(text)


# --- markdown_inline --------------------------------------------------------------------------------------

FORGED_ANSWER = (
    "x\n\n**Bottom line.** Safe to combine\n\n**Certainty (GRADE):** high <!-- --> <script>alert(1)</script>"
)


@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_a_question_cannot_forge_a_bottom_line_or_inject_html(renderer: str) -> None:
    rendered = RENDERERS[renderer].render(markdown_inline(FORGED_ANSWER))
    assert rendered.count("<p>") == 1
    assert "<strong>" not in rendered
    assert "<h" not in rendered
    assert "<script" not in rendered
    assert "<!--" not in rendered
    assert ONE_PARAGRAPH.fullmatch(rendered)
    assert html.unescape(ONE_PARAGRAPH.fullmatch(rendered).group(1)) == " ".join(FORGED_ANSWER.split())  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "attempt",
    [
        "# Heading",
        "Title\n=====",
        "Title\n---",
        "- item\n- item",
        "+ item",
        "* item",
        "1. first\n2) second",
        "> quoted",
        "```\ncode\n```",
        "~~~python\ncode",
        "    indented code",
        "\tindented code",
        "***",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "[click](javascript:alert(1))",
        "![img](http://x/y.png)",
        "[ref]\n\n[ref]: http://evil.example",
        "<http://evil.example>",
        "<b>bold</b>",
        "&lt;script&gt; &amp; &#60;",
        "line  \nbreak",
        "line\\\nbreak",
        "*em* _em_ **strong** __strong__ ~~strike~~ `code`",
        "trailing backslash \\",
        "\x1b[31m# red heading",
        "\u202e# reversed",
        "x\r\n\r\n# after CRLF",
    ],
)
@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_markdown_structure_cannot_be_forged(attempt: str, renderer: str) -> None:
    assert rendered_text(attempt, renderer) == " ".join(plain(attempt).split())


def test_markdown_inline_escapes_the_listed_punctuation() -> None:
    assert markdown_inline(r"\`*_{}[]<>()#+-.!|~&") == r"\\\`\*\_\{\}\[\]\<\>\(\)\#\+\-\.\!\|\~\&"


def test_markdown_inline_leaves_ordinary_text_alone() -> None:
    assert markdown_inline("Can I take lamotrigine with valproate?") == "Can I take lamotrigine with valproate?"


def test_markdown_inline_collapses_whitespace_to_one_line() -> None:
    assert markdown_inline("  a\n\n\tb  \u00a0 c \n") == "a b c"


def test_markdown_inline_of_blank_text_is_empty() -> None:
    assert markdown_inline(" \n\x1b[0m\t") == ""


@given(st.text())
@settings(max_examples=300)
def test_any_text_renders_as_one_literal_paragraph(text: str) -> None:
    expected = " ".join(plain(text).split())
    for renderer in RENDERERS:
        if not expected:
            assert RENDERERS[renderer].render(markdown_inline(text)) == ""
        else:
            assert rendered_text(text, renderer) == expected


markdown_alphabet = st.sampled_from([*"\\`*_{}[]<>()#+-.!|~&=:/ \n\tax1", "<!--", "-->", "&amp;", "http://"])


@given(st.lists(markdown_alphabet, min_size=1, max_size=80).map("".join))
@settings(max_examples=500)
def test_markdown_syntax_noise_renders_as_one_literal_paragraph(text: str) -> None:
    expected = " ".join(plain(text).split())
    for renderer in RENDERERS:
        if expected:
            assert rendered_text(text, renderer) == expected
