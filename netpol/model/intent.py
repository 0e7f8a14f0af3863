"""Intent: what a set of policies is meant to allow and deny, as checkable expectations.

An intent file (docs/intent.md) is parsed into these values by
netpol.sources.intents and checked against a cluster by netpol.analyses.check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from netpol.errors import Location
from netpol.model import METADATA_NAME_LABEL, IPNetwork, Namespace, NamespaceName
from netpol.model.portsets import MAX_ICMP, Protocol, icmp_type_code, is_icmp
from netpol.model.selectors import LabelSelector

INTENT_API_VERSION = "netpol/v1"
INTENT_KIND = "NetworkPolicyIntent"

Expect = Literal["allow", "deny"]
ExpectationKind = Literal["reach", "isolated", "only"]


@dataclass(frozen=True)
class Selection:
    """Endpoints an expectation names: a pod, a namespace, pods by label in a namespace, addresses,
    or (as a destination) a Service port."""

    text: str  # as the user would write it, for messages
    pod: str | None = None  # ns/name
    namespace: str | None = None  # with selector None: every pod of the namespace
    selector: LabelSelector | None = None
    network: IPNetwork | None = None  # an IP is a /32 or /128
    service: str | None = None  # svc/NAME:PORT or NS/svc/NAME:PORT: its backing pods, on their target ports
    possible: bool = False  # every possible pod of namespace (None: any) and selector, not only the input's
    # a namespace the input does not hold, taken to exist with these labels (and its name label)
    namespace_labels: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True)
class PortSpec:
    """A port number, a range, or a name resolved against each destination pod; for ICMP and ICMPv6, one type
    (every code of it, or one code) as a range of portsets.icmp_value."""

    protocol: Protocol | None  # None: TCP for numbers and names
    first: int | None = None
    last: int | None = None
    name: str | None = None

    def __str__(self) -> str:
        if self.protocol is not None and is_icmp(self.protocol) and self.first is not None and self.last is not None:
            (icmp_type, code), last_code = icmp_type_code(self.first), icmp_type_code(self.last)[1]
            return f"{self.protocol} type {icmp_type}" + ("" if (code, last_code) == (0, MAX_ICMP) else f" code {code}")
        proto = f"{self.protocol}/" if self.protocol else ""
        if self.name is not None:
            return f"{proto}{self.name}"
        return f"{proto}{self.first}" if self.first == self.last else f"{proto}{self.first}-{self.last}"


@dataclass(frozen=True)
class Expectation:
    """One assertion. `reach`: every source to every destination is allowed (or denied) on
    the ports. `isolated`: deny in both directions. `only`: the sources are allowed and
    every other pod of the cluster is denied."""

    name: str
    kind: ExpectationKind
    sources: tuple[Selection, ...]
    destinations: tuple[Selection, ...]
    ports: tuple[PortSpec, ...]  # empty: every port
    protocol: Protocol | None  # with no ports: only this protocol's ports
    expect: Expect
    location: Location


@dataclass(frozen=True)
class IntentFile:
    path: str
    name: str
    manifests: tuple[str, ...]  # resolved against the intent file's directory
    expectations: tuple[Expectation, ...]

    def possible_namespaces(self) -> tuple[Namespace, ...]:
        """The namespaces endpoints declare with `namespaceLabels` (one label set per name: the loader checks)."""
        found = {sel.namespace: sel.namespace_labels for exp in self.expectations
                 for sel in (*exp.sources, *exp.destinations)
                 if sel.namespace is not None and sel.namespace_labels is not None}
        return tuple(Namespace(NamespaceName(name), tuple(sorted({**dict(labels), METADATA_NAME_LABEL: name}.items())))
                     for name, labels in sorted(found.items()))
