"""Make user text safe to echo: in a terminal it cannot drive the terminal, in Markdown it cannot forge structure.

A question typed by a user is echoed back in answers and clinical notes. Raw, it could set the window title,
move the cursor to overwrite a warning, reorder text with bidi overrides ("Trojan Source", CVE-2021-42574), or
in Markdown open a heading, a list, a bold "Bottom line" or an HTML comment that hides what follows.
"""

from __future__ import annotations

import re

# ECMA-48 sequences, longest first. Control strings (OSC, DCS, SOS, PM, APC) run to ST or BEL; a string left
# unterminated is cut at the next ESC or the end, which keeps the match linear. CSI parameters then a final
# byte; any other ESC with its intermediate and final bytes. The 8-bit (C1) introducers are included.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)
# What is left after whole sequences are gone: C0 controls but tab and newline, DEL, C1 controls, and the
# bidi embeddings, overrides and isolates (Unicode TR9 explicit formatting characters).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Every character that can start Markdown structure or inline markup, plus `&` (entities) and `<` `>` (raw
# HTML, autolinks). CommonMark 0.31 section 2.4: any ASCII punctuation may be backslash-escaped.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~&])")


def plain(text: str) -> str:
    """`text` with terminal escape sequences, control characters (but \\n and \\t) and bidi controls removed."""
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))


def markdown_inline(text: str) -> str:
    """`text` as one line of inline Markdown that a renderer shows literally, inside a single paragraph.

    Whitespace runs, newlines included, become one space, so no line can start a block (heading, list, quote,
    code, table); then Markdown punctuation is backslash-escaped, so no emphasis, link or HTML can form.
    """
    flat = " ".join(plain(text).split())
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", flat)
