"""Text from an EHR made safe for a card: no control characters, Markdown that shows literally, summaries that fit.

Medicine names and condition text come from the client's chart; in a card's `detail` (GitHub Flavored Markdown)
they must not open a heading, a link or raw HTML, and in a `summary` (plain text, under 140 characters) they must
not push the finding itself out of view.
"""

from __future__ import annotations

import re

from ketaguide.cdshooks.wire import MAX_SUMMARY

# C0 controls but tab and newline, DEL, C1 controls, and the bidi embeddings, overrides and isolates.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# The characters that open inline markup mid-line (emphasis, code, links and images, raw HTML and autolinks,
# tables, strikethrough, entities); CommonMark 0.31 section 2.4 lets a backslash escape each. Block markup (`#`,
# `-`, `1.`, `>`) needs a line start, and `literal` text never starts a line: every caller puts a label first.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]<>|~&])")


def plain(text: str) -> str:
    """One line: control characters removed, whitespace runs (newlines included) made one space."""
    return " ".join(_CONTROL.sub("", text).split())


def literal(text: str) -> str:
    """`text` as inline Markdown that a renderer shows as written (no emphasis, link, HTML or block)."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", plain(text))


def fit(summary: str, limit: int = MAX_SUMMARY) -> str:
    """`summary` on one line, cut at a word boundary with an ellipsis if it is longer than `limit`."""
    line = plain(summary)
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return f"{cut}…"


def names(items: list[str], limit: int = 3) -> str:
    """'a, b and c', or 'a, b, c and 2 more'."""
    shown = items[:limit]
    rest = len(items) - len(shown)
    if rest:
        return f"{', '.join(shown)} and {rest} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
