"""The exception tree and diagnostics.

    NetpolError                 anything netpol reports to a user instead of an answer
    ├── InputError              a manifest is unreadable or not a valid object
    └── QueryError              a question names something the cluster does not have
        └── UnknownEndpointError  an endpoint matches no pod (with close names)

The library raises these and never prints or exits; the CLI maps every
NetpolError to one line on stderr and exit code 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Location:
    """Where an object came from, so every message can point back at it."""

    file: str
    document: int | None = None  # 1-based document number within the file
    item: int | None = None  # index in a `kind: List` document's items
    line: int | None = None
    object: str | None = None  # e.g. "NetworkPolicy default/api-allow"

    def __str__(self) -> str:
        parts = [self.file]
        where: list[str] = []
        if self.document is not None:
            where.append(f"document {self.document}")
        if self.item is not None:
            where.append(f"items[{self.item}]")
        if self.line is not None:
            where.append(f"line {self.line}")
        if where:
            parts.append(", ".join(where))
        text = ": ".join(parts)
        if self.object:
            text += f" ({self.object})"
        return clipped(text)

    def describing(self, obj: str) -> Location:
        return Location(self.file, self.document, self.item, self.line, obj)


LONG_RUN = 400  # characters of one unbroken run in a message (a namespaced name fits); longer ones are cut
LONG_MESSAGE = 2000  # characters of one message; a longer one keeps its start and its end
_RUN = re.compile(r"\S{%d,}" % (LONG_RUN + 1))


def clipped(text: str) -> str:
    """A message with every long value cut, keeping each one's start and end and saying how much is left
    out: input can hold a 5 MB label value, and a message echoes what it names. Every message goes
    through here (errors, diagnostics), so no path prints an input's value whole."""
    if len(text) <= LONG_RUN:
        return text
    text = _RUN.sub(lambda m: _cut(m.group(), LONG_RUN), text)
    return _cut(text, LONG_MESSAGE) if len(text) > LONG_MESSAGE else text


# what str.splitlines() breaks at, and the other C0 controls: escaped in an error, which is one line by contract
_BREAKS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7f, 0x85)} | {0x2028: "\\u2028", 0x2029: "\\u2029"}
_BREAKS |= {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


def one_line(text: str) -> str:
    """An error with every line break and control character escaped: a value the input chose (a kind of "\\n",
    a name) must not split the one line a user, a log or a CI annotation reads."""
    return text if text.isprintable() else text.translate(_BREAKS)


def _cut(text: str, limit: int) -> str:
    head, tail = limit * 3 // 5, limit // 5
    return f"{text[:head]}…[{len(text) - head - tail:,} characters]…{text[-tail:]}"


class NetpolError(Exception):
    """Base of every error a user can cause; never a bug in netpol."""

    def __str__(self) -> str:
        return one_line(clipped(super().__str__()))


class InputError(NetpolError):
    """Raised when a manifest cannot be read or holds an invalid object."""

    def __init__(self, location: Location | None, field: str | None, message: str) -> None:
        self.location = location
        self.field = field if field is None else clipped(field)
        self.message = clipped(message)
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        if self.location is not None:
            parts.append(str(self.location))
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return one_line(clipped(": ".join(parts)))


class QueryError(NetpolError):
    """Raised when a question cannot be answered as asked (bad endpoint, port, option)."""


class UnknownEndpointError(QueryError):
    """Raised when an endpoint names no pod; carries close names to suggest."""

    def __init__(self, text: str, suggestions: tuple[str, ...]) -> None:
        self.text = text
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown pod {text!r}{hint}")


LONG_NAME = 160  # characters of one name in a message; longer ones are cut


_DIGITS = re.compile(r"(\d+)")
_MARKS: dict[str, str] = {}  # a run of digits -> its mark; names repeat the same few numbers
_MARKS_KEPT = 1 << 16  # beyond that many distinct runs, marks are computed, not kept (bounded memory)


def natural_key(name: str) -> str:
    """Sort key that puts p2 before p10, as a person reads them: each run of digits becomes a mark that
    sorts before every character, its length, and the number without leading zeros, so that keys compare
    as plain strings (fast) and numbers compare by value."""
    parts = _DIGITS.split(name)  # text, digits, text, ...: split and a dict lookup per run, no callback
    if len(parts) == 1:
        return name
    marks = _MARKS.get
    parts[1::2] = [marks(run) or _mark(run) for run in parts[1::2]]
    return "".join(parts)


def _mark(run: str) -> str:
    digits = run.lstrip("0") or "0"
    mark = "\x01" + chr(0x100 + len(digits)) + digits
    if len(_MARKS) < _MARKS_KEPT:
        _MARKS[run] = mark
    return mark


def short(name: str, limit: int = LONG_NAME) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def name_list(names: list[str], shown: int = 3, total: int | None = None) -> str:
    """A few names for a one-line message, in natural order, long ones cut, and how many more there are
    (`total`: how many there are in all, when `names` is only a sample of them)."""
    ordered = sorted(names, key=natural_key)
    count = len(names) if total is None else total
    more = f" +{count - shown:,} more" if count > shown else ""
    return ", ".join(short(n) for n in ordered[:shown]) + more


Severity = Literal["warning", "info", "note"]  # notes are details shown with --verbose


@dataclass(frozen=True)
class Diagnostic:
    """A non-fatal remark about the input, shown to the user rather than dropped."""

    severity: Severity
    message: str
    location: Location | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", clipped(self.message))

    def __str__(self) -> str:
        prefix = f"{self.location}: " if self.location else ""
        return clipped(f"{self.severity}: {prefix}{self.message}")
