"""A replay as text, JSON, CSV and Markdown.

Text and Markdown are for a reviewer: what would break first, then mismatches, unknowns and
unmatched endpoints, grouped by (source workload, destination workload, protocol, port) with the
flow count, first and last seen time and the deciding rule; unchanged connections are counted. JSON
and CSV keep one entry per distinct connection (docs/replay.md).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass

from netpol.analyses.replay import Classification, Connection, Replay, time_key
from netpol.render.markdown import md_code, md_text
from netpol.render.text import one_line
from netpol.sources.flows import FlowStats

HEADINGS: dict[Classification, str] = {
    "break": "WOULD BREAK: observed traffic these policies deny",
    "mismatch": "MISMATCH: observed denied, but these policies allow it",
    "unknown": "UNKNOWN: the prediction depends on a fact netpol does not have",
    "unmatched": "UNMATCHED: an endpoint netpol cannot place",
}
CSV_HEADER = ["source", "destination", "protocol", "port", "records", "first_seen", "last_seen", "observed",
              "predicted", "classification", "decided_by", "note", "base_predicted", "change", "policy_mismatch"]
POLICY_MISMATCH = "POLICY MISMATCH: Calico's flow logs name another deciding rule than netpol"
CHANGES = {"newly denied": "THE CHANGE DENIES observed traffic the base version allows",
           "newly allowed": "THE CHANGE ALLOWS observed traffic the base version denies"}


@dataclass(frozen=True)
class Group:
    """Connections between the same two workloads on one protocol and port, with one classification."""

    source: str
    destination: str
    protocol: str
    port: int
    connections: tuple[Connection, ...]

    @property
    def records(self) -> int:
        return sum(c.record_count for c in self.connections)

    @property
    def seen(self) -> str:
        times = [t for c in self.connections for t in (c.first_seen, c.last_seen) if t is not None]
        if not times:
            return ""
        first, last = min(times, key=time_key), max(times, key=time_key)
        return first if first == last else f"{first} .. {last}"

    def values(self, attribute: str) -> list[str]:
        out: dict[str, None] = {}
        for c in self.connections:
            value = getattr(c, attribute)
            for v in value if isinstance(value, tuple) else (value,):
                if v:
                    out[str(v)] = None
        return list(out)


def groups(connections: Iterable[Connection]) -> list[Group]:
    by: dict[tuple[str, str, str, int], list[Connection]] = {}
    for c in connections:
        by.setdefault((c.source.group, c.destination.group, c.protocol, c.port), []).append(c)
    return [Group(*key, tuple(conns)) for key, conns in by.items()]


def _observed(g: Group) -> str:
    return "/".join(str(o) if o else "no verdict" for o in dict.fromkeys(c.observed for c in g.connections))


def _stats_lines(stats: FlowStats) -> list[str]:
    out = [f"{count} line(s) skipped: {reason}" for reason, count in sorted(stats.skipped.items())]
    if stats.invalid_count:
        out.append(f"{stats.invalid_count} invalid line(s) skipped (--skip-invalid)")
        out.extend(f"  {e}" for e in stats.invalid)
    return out


def _changes(replay: Replay) -> Iterator[tuple[str, list[Group]]]:
    """With a base version: the observed connections the change denies or allows, grouped."""
    for change, heading in CHANGES.items():
        found = groups(c for c in replay.connections if c.change == change)
        if found:
            yield heading, found


def replay_text(replay: Replay, stats: FlowStats) -> Iterator[str]:
    for heading, found in _changes(replay):
        yield f"{heading} ({len(found)})\n"
        for g in found:
            yield (f"  {one_line(g.source)} -> {one_line(g.destination)} {g.protocol}/{g.port}: {g.records} "
                   f"record(s); observed {_observed(g)}\n")
    for kind, heading in HEADINGS.items():
        found = groups(replay.of(kind))
        if not found:
            continue
        yield f"{heading} ({len(found)})\n"
        for g in found:
            names = len({(c.source.name, c.destination.name) for c in g.connections})
            pods = f", {names} pod pair(s)" if names > 1 else ""
            seen = f", {g.seen}" if g.seen else ""
            yield (f"  {one_line(g.source)} -> {one_line(g.destination)} {g.protocol}/{g.port}: "
                   f"{g.records} record(s){pods}{seen}; observed {_observed(g)}\n")
            for rule in g.values("decided_by") if kind != "unmatched" else ():
                yield f"    decided by {one_line(rule)}\n"
            for note in g.values("note"):
                yield f"    {one_line(note)}\n"
            for placed in dict.fromkeys(p for c in g.connections for p in (c.source, c.destination)
                                        if p.placement == "possible"):
                yield f"    {one_line(placed.name)}: {one_line(placed.detail)}\n"
    differs = [c for c in replay.connections if c.policy_mismatch]
    if differs:
        yield f"{POLICY_MISMATCH} ({len(differs)})\n"
        for c in differs:
            yield f"  {one_line(c.source.name)} -> {one_line(c.destination.name)} {c.protocol}/{c.port}\n"
            for line in c.policy_mismatch:
                yield f"    {one_line(line)}\n"
    s = replay.summary()
    yield f"{s['unchanged']} connection(s) unchanged; {s['connections']} connection(s) from {s['records']} record(s)\n"
    for line in _stats_lines(stats):
        yield f"{one_line(line)}\n"
    for note in replay.assumptions:
        yield f"assumption: {note}\n"


def _connection_json(c: Connection) -> dict[str, object]:
    return {"source": c.source.name, "destination": c.destination.name, "protocol": c.protocol, "port": c.port,
            "source_placement": c.source.placement, "destination_placement": c.destination.placement,
            "source_workload": c.source.group, "destination_workload": c.destination.group,
            "records": list(c.records), "record_count": c.record_count, "first_seen": c.first_seen,
            "last_seen": c.last_seen, "observed": c.observed, "predicted": c.predicted,
            "classification": c.classification, "decided_by": list(c.decided_by), "note": c.note,
            "assumptions": list(c.assumptions), "base_predicted": c.base_predicted, "change": c.change,
            "placed_as": {p.name: p.detail for p in (c.source, c.destination) if p.detail},
            **({"walk": {d: [step.to_dict() for step in steps] for d, steps in c.walk}} if c.walk else {}),
            **({"reported": [{**asdict(r), "text": str(r)} for r in c.reported],
                "policy_mismatch": list(c.policy_mismatch)} if c.reported else {})}


def replay_json(replay: Replay, stats: FlowStats) -> str:
    summary: dict[str, object] = {**replay.summary(), "skipped": dict(sorted(stats.skipped.items())),
                                  "invalid": stats.invalid_count}
    return json.dumps({"connections": [_connection_json(c) for c in replay.connections], "summary": summary,
                       "assumptions": list(replay.assumptions)}, indent=2) + "\n"


def replay_csv(replay: Replay) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for c in replay.connections:
        w.writerow([c.source.name, c.destination.name, c.protocol, c.port, c.record_count, c.first_seen or "",
                    c.last_seen or "", c.observed or "", c.predicted or "", c.classification,
                    "; ".join(c.decided_by), c.note, c.base_predicted or "", c.change or "",
                    "; ".join(c.policy_mismatch)])
    return buf.getvalue()


def replay_markdown(replay: Replay, stats: FlowStats) -> Iterator[str]:
    yield "## netpol replay\n\n"
    for heading, found in _changes(replay):
        yield f"### {heading} ({len(found)})\n\n| source | destination | port | records | observed |\n"
        yield "|---|---|---|---|---|\n"
        for g in found:
            yield (f"| {md_code(g.source)} | {md_code(g.destination)} | {g.protocol}/{g.port} | {g.records} | "
                   f"{_observed(g)} |\n")
        yield "\n"
    for kind, heading in HEADINGS.items():
        found = groups(replay.of(kind))
        if not found:
            continue
        yield f"### {heading} ({len(found)})\n\n| source | destination | port | records | seen | observed | why |\n" \
              "|---|---|---|---|---|---|---|\n"
        for g in found:
            why = "<br>".join(md_text(x) for x in (*(g.values("decided_by") if kind != "unmatched" else ()),
                                                   *g.values("note")))
            yield (f"| {md_code(g.source)} | {md_code(g.destination)} | {g.protocol}/{g.port} | {g.records} | "
                   f"{md_text(g.seen)} | {_observed(g)} | {why} |\n")
        yield "\n"
    differs = [c for c in replay.connections if c.policy_mismatch]
    if differs:
        yield f"### {POLICY_MISMATCH} ({len(differs)})\n\n"
        yield "| source | destination | port | what differs |\n|---|---|---|---|\n"
        for c in differs:
            yield (f"| {md_code(c.source.name)} | {md_code(c.destination.name)} | {c.protocol}/{c.port} | "
                   f"{'<br>'.join(md_text(x) for x in c.policy_mismatch)} |\n")
        yield "\n"
    s = replay.summary()
    yield f"{s['unchanged']} connection(s) unchanged; {s['connections']} connection(s) from {s['records']} record(s).\n"
    for line in [*_stats_lines(stats), *(f"assumption: {n}" for n in replay.assumptions)]:
        yield f"\n- {md_text(line.strip())}"
    yield "\n"
