"""The progress line on a terminal's standard error: what a long phase does and how far, never in
piped output.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netpol.render.text import terminal_safe

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


PROGRESS_VAR = "NETPOL_PROGRESS"  # 0: no progress line, even on a terminal


NO_PROGRESS_FLAG = "--no-progress"


PROGRESS_LINES = 1000  # lines of an answer between two reports of how much is written


@dataclass(frozen=True)
class _Line:
    """The progress line while a phase runs: a rich display with one task, whose text says what and how far."""

    display: Progress
    task: TaskID

    def show(self, text: str) -> None:
        self.display.update(self.task, description=terminal_safe(text))

    @property
    def text(self) -> str:
        return self.display.tasks[0].description


_LIVE: list[_Line] = []  # the line, while one is shown


_QUIET: list[bool] = []  # --no-progress was given


def _stderr_is_terminal() -> bool:
    return sys.stderr is not None and sys.stderr.isatty()


def _progress_shown() -> bool:
    """The progress line is for a person at a terminal: standard error is one, and neither --no-progress nor
    NETPOL_PROGRESS=0 (nor TERM=dumb) turns it off. Piped or redirected, nothing is shown."""
    return (not _QUIET and os.environ.get(PROGRESS_VAR) != "0" and os.environ.get("TERM") != "dumb"
            and _stderr_is_terminal())


@contextmanager
def _phase(message: str) -> Iterator[None]:
    """While a phase runs (seconds on a large input), a transient line on standard error: a spinner, what netpol
    does and how far (the library's reports, netpol.progress), and the time taken. A phase inside another takes
    the line over and gives it back. rich is imported only here, when the line is shown."""
    from netpol.progress import listener

    if not _progress_shown():
        yield
        return
    if _LIVE:
        line, outer = _LIVE[0], _LIVE[0].text
        line.show(message)
        try:
            with listener(lambda how_far: line.show(f"{message}: {how_far}")):
                yield
        finally:
            line.show(outer)
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Column

    console = Console(stderr=True, force_terminal=True, highlight=False)
    with Progress(SpinnerColumn(), TextColumn("netpol: {task.description}", markup=False,
                                              table_column=Column(no_wrap=True, overflow="ellipsis")),
                  TimeElapsedColumn(), console=console, transient=True, redirect_stdout=False,
                  redirect_stderr=False) as display:
        line = _Line(display, display.add_task(terminal_safe(message), total=None))
        _LIVE.append(line)
        try:
            with listener(lambda how_far: line.show(f"{message}: {how_far}")):
                yield
        finally:
            _LIVE.clear()
