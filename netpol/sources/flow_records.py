"""A flow as the readers give it (netpol/sources/flows.py reads the files, netpol/sources/flow_formats.py each
exporter's records), and the checks on values that every reader shares."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from netpol.errors import InputError, Location, clipped
from netpol.model import IPAddress
from netpol.model.portsets import Protocol

Observed = Literal["allowed", "denied"] | None

@dataclass(frozen=True)
class FlowEndpoint:
    """One end of a flow as the record names it: whatever of these the exporter gave."""

    namespace: str | None = None
    pod: str | None = None
    workload: str | None = None  # "Kind/name", e.g. "Deployment/web"
    labels: tuple[tuple[str, str], ...] | None = None  # the pod's own labels (Cilium's keys removed); None: not given
    namespace_labels: tuple[tuple[str, str], ...] = ()  # as the record carries them (Cilium: its own keys)
    ip: IPAddress | None = None
    prefix: str | None = None  # Calico: the aggregated pods' common name prefix ("web-5d9c7-" of "web-5d9c7-*")
    service_account: str | None = None  # the pod's service account where the record names it (Calico selects by it)


@dataclass(frozen=True)
class ReportedRule:
    """What a Calico flow log says decided the connection on its reporter's side: the last enforced policy hit
    that allowed or denied (docs/replay.md, "What Calico reports")."""

    side: Literal["source", "destination"]  # the reporter: the source's egress, or the destination's ingress
    tier: str  # "__PROFILE__" (Enterprise) or "" for the namespace profile
    namespace: str  # the policy's, "" for a global one
    name: str  # as Calico names it: "web", "tier.web", "knp.default.web", "staged:..." (Enterprise)
    action: Literal["allow", "deny"]
    rule: int  # the rule's index; -1: no rule matched, the tier's end

    def __str__(self) -> str:
        if self.tier in ("", "__PROFILE__"):
            return f"the namespace's profile: {self.action}"
        where = f"tier {self.tier}: "
        if self.rule < 0:
            return f"{where}no rule matched, the tier's end: {self.action}"
        name = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{where}{name} rule {self.rule}: {self.action}"


@dataclass(frozen=True)
class Flow:
    """One observed attempt to open a connection, from one record (line) of a flow file."""

    source: FlowEndpoint
    destination: FlowEndpoint
    protocol: Protocol
    port: int
    observed: Observed
    record: str  # FILE:LINE, 1-based; FILE as given ("-" for standard input)
    time: str | None = None
    reporter: str | None = None  # Hubble: node and traffic direction, e.g. "kind-worker ingress"
    reported: ReportedRule | None = None  # Calico: the policy rule its flow log says decided, where it says



class _Skip(Exception):
    """A line that is valid but describes no connection (the reason is counted)."""


class _LineReader:
    def flow(self, text: str, record: str) -> Flow:
        raise NotImplementedError


def _json_object(text: str, where: Location) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InputError(where, None, f"not a JSON object: {getattr(exc, 'msg', exc)}") from None
    if not isinstance(obj, dict):
        raise InputError(where, None, "not a JSON object")
    return obj


def _location(record: str) -> Location:
    name, _, line = record.rpartition(":")
    return Location(name, line=int(line))


def _int(value: object, where: Location, name: str, low: int, high: int) -> int:
    if isinstance(value, str) and value.isdigit() and len(value) <= 6:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InputError(where, name, f"{clipped(repr(value))} is not a port number ({low}-{high})")
    return value


def _address(value: object, where: Location, name: str) -> IPAddress:
    parsed = _ip(value) if isinstance(value, str) and len(value) <= 64 else None
    if parsed is None:
        raise InputError(where, name, f"{clipped(repr(value))} is not an IP address")
    return parsed


@lru_cache(maxsize=1 << 16)
def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
