"""A can-reach verdict (to a pod, an address or a Service) as terminal text or JSON."""

from __future__ import annotations

import json

from netpol.verdicts import ServiceVerdict, Verdict


def verdict_text(v: Verdict) -> str:
    head = "ALLOWED" if v.allowed else "DENIED"
    lines = [f"{head}: {v.source} -> {v.destination} {v.protocol}/{v.port}"]
    for side, endpoint in ((v.egress, v.source), (v.ingress, v.destination)):
        lines.append(f"  {side.direction:<7} of {endpoint}: {side.reason}")
    lines.extend(f"  assumption: {a}" for a in v.assumptions)
    return "\n".join(lines)


def verdict_json(v: Verdict) -> str:
    return json.dumps(v.to_dict(), indent=2)


def service_text(sv: ServiceVerdict) -> str:
    p = sv.port
    serving = [b for b in sv.backends if b.verdict is not None]
    lines = [f"{sv.summary.upper()}: {sv.source} -> svc/{sv.service.key}:{p.port} ({p.protocol}, targetPort "
             f"{p.target}): {len(sv.reachable)} of {len(serving)} backing pod(s) reachable"]
    for b in sv.backends:
        if b.verdict is None:
            lines.append(f"  SKIPPED {b.pod.key}: declares no {p.protocol} container port named {p.target!r}")
        else:
            lines.extend("  " + line for line in verdict_text(b.verdict).splitlines())
    return "\n".join(lines)


def service_json(sv: ServiceVerdict) -> str:
    return json.dumps(sv.to_dict(), indent=2)
