"""A can-reach verdict (to a pod, an address or a Service) as terminal text or JSON."""

from __future__ import annotations

import json

from netpol.analyses.verdicts import ServiceVerdict, Verdict
from netpol.render.text import one_line


def verdict_text(v: Verdict) -> str:
    head = "ALLOWED" if v.allowed else "DENIED"
    lines = [f"{head}: {v.source} -> {v.destination} {v.probe}"]
    for side, endpoint in ((v.egress, v.source), (v.ingress, v.destination)):
        lines.append(f"  {side.direction:<7} of {endpoint}: {side.reason}")
    lines.extend(f"  assumption: {a}" for a in v.assumptions)
    return "\n".join(lines)


def verdict_json(v: Verdict) -> str:
    return json.dumps(v.to_dict(), indent=2)


def service_text(sv: ServiceVerdict) -> str:
    p = sv.port
    serving = [b for b in sv.backends if b.verdict is not None]
    named = f" named {p.name}" if p.name else ""
    lines = [f"{sv.summary.upper()}: {sv.source} -> {one_line(sv.reference)} (Service {sv.service.key} port {p.port}/"
             f"{p.protocol}{named}, targetPort {p.target}): {len(sv.reachable)} of {len(serving)} backing pod(s) "
             "reachable"]
    for b in sv.backends:
        if b.verdict is None:
            lines.append(f"  SKIPPED {b.pod.key}: declares no {p.protocol} container port named {p.target!r}")
        else:
            lines.extend("  " + line for line in verdict_text(b.verdict).splitlines())
    return "\n".join(lines)


def service_json(sv: ServiceVerdict) -> str:
    return json.dumps(sv.to_dict(), indent=2)


def possible_text(verdicts: list[Verdict], source: str, destination: str, port: str) -> str:
    """A question about possible pods: one verdict per pair of regions; allowed only if every pair is."""
    denied = [v for v in verdicts if not v.allowed]
    head = (f"ALLOWED for every possible pod: {source} -> {destination} {port}" if not denied else
            f"DENIED for {'every possible pod' if len(denied) == len(verdicts) else 'some possible pods'}: "
            f"{source} -> {destination} {port} ({len(denied)} of {len(verdicts)} kind(s) of pair denied)")
    return "\n".join([head, *("\n".join("  " + line for line in verdict_text(v).splitlines()) for v in verdicts)])


def possible_json(verdicts: list[Verdict]) -> str:
    return json.dumps({"allowed": all(v.allowed for v in verdicts), "pairs": [v.to_dict() for v in verdicts]},
                      indent=2)
