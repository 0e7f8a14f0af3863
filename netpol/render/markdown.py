"""Text from the input as it lands in Markdown: every renderer that writes Markdown (a pull-request
comment, a job summary) puts names through these, so that a rule named ``a|b`c<img src=…>[x](…)``
reads as those characters instead of splitting a table cell, opening a code span, an image or a link.

CommonMark lets a backslash escape any ASCII punctuation; the characters below are those that can start
markup (emphasis, code, links, images, HTML, entities, headings, strikethrough, math) or end a GitHub
table cell. A line break inside a cell ends the table, so control characters become spaces.
"""

from __future__ import annotations

import re

_MARKUP = re.compile(r"([\\`*_{}\[\]()<>#!|~&$])")
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def md_text(text: str) -> str:
    """Input-derived text, shown as itself in Markdown (a table cell included)."""
    return _MARKUP.sub(r"\\\1", _BREAKS.sub(" ", text))


def md_code(text: str) -> str:
    """A name as a code span when it can be one (no backtick, no line break: inside a span nothing else
    is markup, and GitHub reads `\\|` in a table cell as a bar), else as escaped text."""
    if "`" in text or _BREAKS.search(text):
        return md_text(text)
    return "`" + text.replace("|", "\\|") + "`"
