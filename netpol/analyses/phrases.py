"""How connectivity answers word what they list: ports with a region's named ports, address ranges as the
fewest CIDRs (or what they leave out), and the rules that allow one side of a link, in the policies' names."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from netpol.engine import DirectionResult
from netpol.model import IPNetwork
from netpol.model.portsets import PortSet
from netpol.policies.cilium import ALLOW_STAGE


@lru_cache(maxsize=4096)  # a listing writes the same few port sets for millions of links
def port_text(ports: PortSet, named: tuple[str, ...]) -> str:
    if ports.is_all:  # every name is open too, but where a region's named port closes what the numbers open
        named = tuple(n for n in named if n.startswith("not "))
    if not named:
        return str(ports)
    return " ".join([*([] if ports.is_empty else [str(ports)]), *named])


def address_phrase(nets: Iterable[IPNetwork], every: Iterable[IPNetwork]) -> str:
    """Some ranges of a cut of the address space (`every`: all its ranges, as CIDRs) as the fewest CIDRs,
    or as what they leave out: `10.0.0.0/24`, `0.0.0.0/0 except 10.0.0.0/24`, `any address`."""
    nets, every = list(nets), list(every)
    chosen = set(nets)
    missing = [n for n in every if n not in chosen]
    parts = []
    for version, whole in ((4, "0.0.0.0/0"), (6, "::/0")):
        mine = [n for n in nets if n.version == version]
        if not mine:
            continue
        gap = _collapse([n for n in missing if n.version == version])
        kept = _collapse(mine)
        if not gap:
            parts.append("any address" if version == 4 and not any(n.version == 6 for n in every)
                         else f"any IPv{version} address")
        elif len(gap) < len(kept):
            parts.append(f"{whole} except {', '.join(str(n) for n in gap)}")
        else:
            parts.append(", ".join(str(n) for n in kept))
    if len(parts) == 2 and all(p.startswith("any IPv") for p in parts):
        return "any address"
    return "; ".join(parts)


def _collapse(nets: Iterable[IPNetwork]) -> tuple[IPNetwork, ...]:
    """Networks as few CIDRs as cover them, IPv4 first."""
    nets = list(nets)
    out: list[IPNetwork] = []
    for version in (4, 6):
        out.extend(ipaddress.collapse_addresses([n for n in nets if n.version == version]))  # type: ignore[type-var]
    return tuple(out)


def allowing_rules(result: DirectionResult | None) -> tuple[str, ...]:
    """The rules that allow some port on this side, in the policies' names."""
    if result is None:
        return ()
    out: list[str] = []
    if result.walk is not None:
        for seg in result.walk.segments:
            if not seg.allowed:
                continue
            if seg.decider == "default":  # tier rules select it, and none (nor a NetworkPolicy) decides this part
                out.append("no rule of any tier matches")
            elif seg.decider in ("NetworkPolicy", ALLOW_STAGE):  # a union of allows: its rules name themselves
                out.extend(_v1allowing_rules(result))
            else:
                out.append(str(seg.decider))
    else:
        out.extend(_v1allowing_rules(result))
    return tuple(dict.fromkeys(out))


def _v1allowing_rules(result: DirectionResult) -> list[str]:
    if result.from_local_node:
        return ["traffic with its own node"]
    if not result.isolated:
        return ["not isolated"]
    return [str(m.ref) for m in result.matches if m.ports]
