"""How far a long phase is, for whoever listens: the CLI's progress line on a terminal, or a library user.

The library never prints. Its long phases (reading manifests, compiling classes, cutting possible pods
into regions) call `report` with one line saying how far they are ("3 of 12 files, 4,000 objects"; the
caller knows which phase it started); nothing happens unless a caller listens (`listener`). The listener
is a context variable rather than a parameter: the phases sit deep inside calls that every analysis makes
(regions are cut for `list`, `exposure`, `graph`, `check` and `diff` alike), and a parameter would have
to pass through each. Reports come at coarse points (a file, a thousand objects, a namespace), so they
cost nothing measurable when no one listens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Listener = Callable[[str], None]

_LISTENER: ContextVar[Listener | None] = ContextVar("netpol_progress", default=None)


def report(line: str) -> None:
    """Say what a long phase is doing and how far it is; nothing when no one listens."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(line)


@contextmanager
def listener(callback: Listener) -> Iterator[None]:
    """Send the reports made inside the block to `callback` (the innermost listener wins)."""
    token = _LISTENER.set(callback)
    try:
        yield
    finally:
        _LISTENER.reset(token)
