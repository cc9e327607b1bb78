"""The answer as a clinical note: the same Markdown as `ketaguide ask --format markdown`, so both paste alike.

The one import of the command line's renderer from the pages (declared in the import-linter layers contract):
`answer_markdown` is a pure function of the answer contract, with the question escaped so that it cannot forge a
bottom line or a certainty in the note.
"""

from __future__ import annotations

from ketaguide.cli.render import answer_markdown
from ketaguide.contracts.answer import AnswerReport


def answer_note(answer: AnswerReport) -> str:
    return answer_markdown(answer)
