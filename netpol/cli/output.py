"""Standard output and error: colours, and streams that stay safe on a closed pipe or an unencodable
character.
"""

from __future__ import annotations

import codecs
import errno
import io
import os
import re
import select
import sys
from collections.abc import Iterable
from contextlib import nullcontext
from typing import TYPE_CHECKING

from netpol.cli.progress_line import _LIVE, PROGRESS_LINES, _phase
from netpol.render.text import terminal_safe

if TYPE_CHECKING:
    from rich.console import Console


LARGE_GRAPH_EDGES = 1000  # beyond this, dot's layout takes minutes (docs/cli.md#netpol-graph)


def _stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 100_000)


_VERDICT = re.compile(r"^( *)(ALLOWED|DENIED|PASS|FAIL|ERROR|ALL|SOME|NONE)\b", re.MULTILINE)


_COLOURS = {"ALLOWED": "32", "PASS": "32", "ALL": "32", "DENIED": "31", "FAIL": "31", "ERROR": "31", "NONE": "31",
            "SOME": "33"}


def _colour() -> bool:
    """Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _say(text: str) -> None:
    """Text for standard output: made safe, verdict words coloured on a terminal."""
    text = terminal_safe(text)
    if _colour():
        text = _VERDICT.sub(lambda m: f"{m.group(1)}\x1b[1;{_COLOURS[m.group(2)]}m{m.group(2)}\x1b[0m", text)
    sys.stdout.write(text)


def _note(message: str) -> None:
    """One line on standard error (above the progress line while one is shown)."""
    if _LIVE:
        from rich.text import Text

        _LIVE[0].display.console.print(Text(terminal_safe(message)), soft_wrap=True)
        return
    sys.stderr.write(terminal_safe(message) + "\n")


class OutputFailed(Exception):
    """Standard output cannot take the answer (a full disk, a closed descriptor, an encoding without one of its
    characters): an environment error, exit 2. A reader that stopped reading (`| head`) is not one."""


class _Stream(io.RawIOBase):
    """Standard output or error for the whole run, so that a failed write is never a verdict nor a crash.

    When the reader closes the pipe (EPIPE), the rest of the output is dropped and netpol ends with its
    verdict's exit code. Any other failure of standard output raises OutputFailed once. Diagnostics that
    standard error cannot take are dropped: they never change the exit code. After a failure every write is
    dropped, so Python's final flush cannot fail again (it would exit 120)."""

    def __init__(self, fd: int, name: str, fatal: bool) -> None:
        super().__init__()
        self.fd, self.name, self.fatal = fd, name, fatal
        self.reader_left = False
        self.failed = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return os.isatty(self.fd)

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        size = len(data)
        while not (self.reader_left or self.failed):
            try:
                return os.write(self.fd, data)
            except BlockingIOError:  # a descriptor left non-blocking by the parent: wait until it takes more
                select.select([], [self.fd], [])
            except BrokenPipeError:
                self.reader_left = True
            except OSError as exc:
                self.failed = True
                if self.fatal:
                    reason = "it is closed" if exc.errno == errno.EBADF else exc.strerror or str(exc)
                    raise OutputFailed(f"cannot write to {self.name}: {reason}") from None
        return size


def _unencodable(exc: UnicodeError) -> tuple[str, int]:
    """The error handler of standard output: a character its encoding lacks is an environment error."""
    assert isinstance(exc, UnicodeEncodeError)
    char = exc.object[exc.start]
    raise OutputFailed(f"cannot write to standard output: its encoding ({exc.encoding}) has no character "
                       f"U+{ord(char):04X}; use a UTF-8 locale or PYTHONIOENCODING=utf-8")


codecs.register_error("netpol-stdout", _unencodable)


def _guard_streams() -> None:
    """Put _Stream under the process's standard output and error (not under a test's capture). A descriptor
    that was closed (`>&-`, `2>&-`, `<&-`) first gets /dev/null, so that no file netpol opens later takes its
    number; writes to a closed standard output still fail (it is opened read-only)."""
    for fd, name, mode in ((0, "stdin", os.O_WRONLY), (1, "stdout", os.O_RDONLY), (2, "stderr", os.O_WRONLY)):
        stream = getattr(sys, name)
        if stream is not getattr(sys, f"__{name}__"):
            continue
        if stream is None:
            null = os.open(os.devnull, mode)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if fd == 0:
            continue  # reading standard input checks it (_stdin_text)
        raw = _Stream(fd, "standard output" if fd == 1 else "standard error", fatal=fd == 1)
        setattr(sys, name, io.TextIOWrapper(
            io.BufferedWriter(raw, 1 << 16), encoding=stream.encoding if stream else "utf-8",
            errors="netpol-stdout" if fd == 1 else "backslashreplace",
            line_buffering=stream.line_buffering if stream else fd == 2))


def _reader_left() -> bool:
    """True once the reader of standard output has closed it: the rest of a long output need not be made."""
    raw = getattr(getattr(sys.stdout, "buffer", None), "raw", None)
    return isinstance(raw, _Stream) and raw.reader_left


def _write(chunks: Iterable[str]) -> None:
    """The answer on standard output, as it is made (a large matrix is computed row by row while written). Into
    a file or a pipe, with a progress line counting what is written; on a terminal the answer shows itself."""
    from netpol.progress import report

    lines = 0
    with nullcontext() if sys.stdout.isatty() else _phase("writing the answer"):
        for chunk in chunks:
            if _reader_left():
                break
            sys.stdout.write(terminal_safe(chunk))
            counted = lines + chunk.count("\n")
            if counted // PROGRESS_LINES != lines // PROGRESS_LINES:
                report(f"{counted:,} lines")
            lines = counted
