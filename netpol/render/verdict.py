"""A can-reach verdict as terminal text or JSON."""

from __future__ import annotations

import json

from netpol.query import Verdict


def verdict_text(v: Verdict) -> str:
    head = "ALLOWED" if v.allowed else "DENIED"
    lines = [f"{head}: {v.source} -> {v.destination} {v.protocol}/{v.port}"]
    for side, endpoint in ((v.egress, v.source), (v.ingress, v.destination)):
        lines.append(f"  {side.direction:<7} of {endpoint}: {side.reason}")
    lines.extend(f"  assumption: {a}" for a in v.assumptions)
    return "\n".join(lines)


def verdict_json(v: Verdict) -> str:
    return json.dumps(v.to_dict(), indent=2)
