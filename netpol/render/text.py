"""Text that reaches a terminal or a CI log: input-derived names escaped so that they cannot end a line.

A file name, an intent name or an AdminNetworkPolicy rule name may hold any character, a newline
included. Printed raw, `x\n::error file=README.md::…` forges a line that GitHub Actions reads as a
workflow command, and escape sequences repaint the terminal. Whole outputs keep their own line breaks
and tabs (`terminal_safe`); each name printed inside a line escapes every control character
(`one_line`).
"""

from __future__ import annotations

# C0 controls but tab and newline, DEL, and C1 controls (U+0085 is a line break in some readers)
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0b, 0x20), *range(0x7f, 0xa0))}
_IN_A_LINE = {**_CONTROL, 0x09: "\\t", 0x0a: "\\n", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def terminal_safe(text: str) -> str:
    """A whole output: control characters escaped, its own newlines and tabs kept."""
    return text.translate(_CONTROL)


def one_line(text: str) -> str:
    """A name from the input, printed inside a line: every control character and line separator escaped."""
    return text.translate(_IN_A_LINE)


def wrap_at(line: str, separator: str, width: int, indent: str = "    ") -> str:
    """`line` broken after each `separator` where the next part would pass `width`; continuation lines are
    indented. A part longer than the width stays whole (it is never cut)."""
    parts = line.split(separator)
    lines, current = [], parts[0]
    for part in parts[1:]:
        if len(current) + len(separator) + len(part) > width:
            lines.append(current + separator.rstrip())
            current = indent + part
        else:
            current += separator + part
    lines.append(current)
    return "\n".join(lines)
