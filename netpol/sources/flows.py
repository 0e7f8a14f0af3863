"""Observed flows: Hubble, Calico and CSV flow exports read into one frozen Flow per record.

A flow file can hold millions of lines, or be hostile: it is read line by line (a line longer than
MAX_LINE is an error, never held whole), and each line becomes at most one Flow, so memory does not
grow with the file. Lines that describe no new connection (replies, non-initial TCP segments, L7
records, lost-event notices, ICMP) are counted in `FlowStats`, never errors and never silent.
A line that is not what its format says is an InputError naming file and line; with
`skip_invalid` it is counted and skipped instead (docs/replay.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Literal

from netpol.errors import InputError, Location
from netpol.sources.flow_formats import KLOG_HEADER, _CalicoReader, _CsvReader, _HubbleReader, _KnpReader
from netpol.sources.flow_records import Flow, _LineReader, _Skip

FlowFormat = Literal["hubble", "calico", "kube-network-policies", "csv"]
FORMATS: tuple[FlowFormat, ...] = ("hubble", "calico", "kube-network-policies", "csv")
MAX_LINE = 1 << 20  # bytes in one line: a Hubble flow is about 2 KB; a longer line is not a flow
PROGRESS_EVERY = 1 << 15  # lines read between two calls of read_flows' progress callback
Progress = Callable[[int], None]  # lines read so far


@dataclass
class FlowStats:
    """What the reader read but turned into no Flow, by reason: the report says every line's fate."""

    flows: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)  # with skip_invalid: the first errors, as said
    invalid_count: int = 0

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


INVALID_KEPT = 20  # with skip_invalid: the first errors kept for the report; the rest are counted


def read_flows(name: str, stream: IO[bytes], fmt: str, stats: FlowStats, skip_invalid: bool = False,
               progress: Progress | None = None) -> Iterator[Flow]:
    """The flows of one file, streamed. `fmt`: "auto" (decided on the first non-empty line) or a format.
    `progress(lines)` is called every PROGRESS_EVERY lines read and at the end (the CLI shows it on a
    terminal): lines, not flows, since many lines of an export describe no new connection."""
    reader: _LineReader | None = None
    number = 0
    for number, text in _lines(name, stream):
        if progress is not None and not number % PROGRESS_EVERY:
            progress(number)
        if not text or text.isspace():  # (not text.strip(), which copies every line)
            continue
        try:
            if reader is None:
                reader = _reader(name, number, text, fmt)
                if isinstance(reader, _CsvReader):
                    continue  # the header line
            flow = reader.flow(text, f"{name}:{number}")
        except _Skip as skip:
            if skip.args:  # without a reason: the line is part of a record named elsewhere
                stats.skip(str(skip))
            continue
        except InputError as exc:
            if not skip_invalid:
                raise
            stats.invalid_count += 1
            if len(stats.invalid) < INVALID_KEPT:
                stats.invalid.append(str(exc))
            continue
        stats.flows += 1
        yield flow
    if progress is not None:
        progress(number)


def _lines(name: str, stream: IO[bytes]) -> Iterator[tuple[int, str]]:
    number = 0
    while True:
        raw = stream.readline(MAX_LINE + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            raise InputError(Location(name, line=number), None,
                             f"line longer than {MAX_LINE} bytes: not a flow record")
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(Location(name, line=number), None, f"not UTF-8 text (byte {exc.start})") from None


def _reader(name: str, number: int, first: str, fmt: str) -> _LineReader:
    """The reader for a file, from --format or, with auto, from its first non-empty line."""
    if fmt == "auto":
        stripped = first.lstrip("\ufeff").strip()
        if stripped.startswith("{"):
            fmt = _json_format(stripped)
        elif stripped.lower().startswith("source,"):
            fmt = "csv"
        elif KLOG_HEADER.match(stripped):
            fmt = "kube-network-policies"
        else:
            raise InputError(Location(name, line=number), None,
                             "cannot tell the flow format from this line (a Hubble or Calico JSON object, a klog "
                             "line, or a CSV header source,destination,protocol,port[,verdict]): pass --format")
    if fmt == "csv":
        return _CsvReader(name, number, first)
    if fmt == "hubble":
        return _HubbleReader()
    if fmt == "calico":
        return _CalicoReader()
    if fmt == "kube-network-policies":
        return _KnpReader()
    raise InputError(None, "--format", f"unknown flow format {fmt!r} (auto, {', '.join(FORMATS)})")


def _json_format(line: str) -> FlowFormat:
    """Calico's records have a `Key` (Goldmane) or a `source_name` (Whisker) at the top; the rest is Hubble's."""
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return "hubble"  # the reader says what is wrong with the line
    if not isinstance(obj, dict):
        return "hubble"
    return "calico" if "Key" in obj or "source_name" in obj else "kube-network-policies" if "msg" in obj else "hubble"

