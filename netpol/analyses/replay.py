"""Observed flows replayed against the policies: what a change would break, and where the plugin disagrees.

Each flow's endpoints are placed (`place`): the input's pod by namespace and name, else by IP, else the
input's workload the record names, else every possible pod of that namespace with the record's labels
(a pod that no longer exists, or one the input does not hold: the world is open), else an outside
address; what cannot be placed is reported as unmatched, never dropped. Flows of one connection
(source, destination, protocol, port) are merged as they stream, and the engine is asked once per
distinct (source class, destination class, protocol, port): millions of records cost one question per
kind of connection, not per line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from itertools import islice, product
from typing import Literal

from netpol.analyses.calico_regions import CalicoAtoms
from netpol.analyses.calico_walk import WalkStep
from netpol.analyses.families import families
from netpol.analyses.query import Analyzer
from netpol.analyses.regions import Region, regions
from netpol.analyses.verdicts import ASSUME_DOMAINS, ASSUME_NO_IP, Endpoint, Verdict
from netpol.errors import QueryError
from netpol.model import METADATA_NAME_LABEL, Cluster, Direction, IPAddress, Pod
from netpol.model.calico import NAME_LABEL, SERVICE_ACCOUNT_LABEL, endpoint_labels
from netpol.model.portsets import Protocol
from netpol.policies.calico import CalicoRuleRef
from netpol.sources.flow_records import Flow, FlowEndpoint, Observed, ReportedRule

Placement = Literal["pod", "workload", "possible", "outside", "unmatched"]
Predicted = Literal["allowed", "denied", "unknown"] | None
Classification = Literal["break", "mismatch", "unknown", "unmatched", "unchanged"]
Change = Literal["newly denied", "newly allowed"] | None
CLASSIFICATIONS: tuple[Classification, ...] = ("break", "mismatch", "unknown", "unmatched", "unchanged")
DOMAINS_NOTE = ASSUME_DOMAINS.split("{pod}", 1)[1].split("{", 1)[0]  # "'s egress has domainNames rules ("
# Calico names aggregated pods by their generateName: the workload kinds whose pods get `NAME-` directly, and
# those whose pods come through an owned object (Deployment -> ReplicaSet NAME-HASH, CronJob -> Job NAME-TIME).
AGGREGATED_KINDS = ("statefulset", "daemonset", "replicaset", "job", "replicationcontroller")
OWNER_KINDS = ("deployment", "cronjob")
CALICO_OWN_KINDS = ("NetworkPolicy", "GlobalNetworkPolicy")  # rule indices as written (others: as Calico converts)
RECORDS_KEPT = 100  # record names kept per connection (the count is always exact): memory stays per connection
MAX_ALTERNATIVES = 256  # kinds of pod pairs a connection's prediction is checked on; beyond, it is unknown
REPORTED_KEPT = 8  # distinct deciding rules a Calico flow log reports, kept per connection
MAX_BY_ID = 1 << 16  # connections remembered by their endpoints' identity; starts over when full (memory bounded)

MEANS_BREAK = ("observed passing, but these policies deny it: applying them breaks this traffic (if they "
               "are applied already, the plugin does not enforce them as written)")
MEANS_MISMATCH = ("observed denied, but these policies allow it: the plugin enforces something the input does "
                  "not hold (plugin-specific policies, a host firewall, policies changed since), or the input "
                  "opens what was closed")
LABEL_ASSUMPTION = ("an endpoint the input does not hold is placed by its namespace and the labels its record "
                    "carries (Hubble: the identity labels Cilium keeps), as every possible pod with them")


@dataclass(frozen=True)
class Placed:
    """Where netpol puts one flow endpoint, under the name the report uses."""

    name: str  # ns/pod, ns/kind/name, an address; for a possible pod the record's name for it
    placement: Placement
    endpoint: Endpoint | None  # None when unmatched
    group: str  # what a reviewer acts on: the pod's workload (ns/kind/name) where known, else `name`
    detail: str = ""  # possible pods: which; unmatched: why
    ip_unknown: bool = False  # the verdict may hang on an IP netpol does not have for this pod
    # Under Calico: the other kinds of possible pod the record's endpoint may be (its service account, its
    # namespace's or service account's labels unsaid): where their verdicts differ, the prediction is unknown.
    alternatives: tuple[Endpoint, ...] = ()


@dataclass(frozen=True)
class Connection:
    """One distinct observed connection, its records and its verdicts."""

    source: Placed
    destination: Placed
    protocol: Protocol
    port: int
    records: tuple[str, ...]  # the first RECORDS_KEPT, as FILE:LINE
    record_count: int
    first_seen: str | None
    last_seen: str | None
    observed: Observed
    predicted: Predicted  # None when an endpoint is unmatched
    classification: Classification
    decided_by: tuple[str, ...] = ()  # the deciding rules (for a denial: the denying sides)
    note: str = ""  # what the classification may mean, or why the prediction is unknown
    assumptions: tuple[str, ...] = ()
    base_predicted: Predicted = None  # with a base version (--base): its prediction
    change: Change = None  # with a base version: what the change does to this observed connection
    walk: tuple[tuple[Direction, tuple[WalkStep, ...]], ...] = ()  # under Calico's tiers: each side's walk
    reported: tuple[ReportedRule, ...] = ()  # what Calico's flow logs say decided, per reporting side
    policy_mismatch: tuple[str, ...] = ()  # where that is not the rule netpol says decides


@dataclass(frozen=True)
class Replay:
    connections: tuple[Connection, ...]
    assumptions: tuple[str, ...]

    def of(self, classification: Classification) -> list[Connection]:
        return [c for c in self.connections if c.classification == classification]

    def summary(self) -> dict[str, int]:
        counts = {c: 0 for c in CLASSIFICATIONS}
        for conn in self.connections:
            counts[conn.classification] += 1
        return {"connections": len(self.connections), "records": sum(c.record_count for c in self.connections),
                **counts, "policy_mismatch": sum(1 for c in self.connections if c.policy_mismatch)}


@dataclass
class _Seen:
    """A connection while the flows stream in (mutable; becomes a Connection at the end)."""

    source: Placed
    destination: Placed
    raw: tuple[FlowEndpoint, FlowEndpoint]  # the first record's endpoints, to place in another version
    records: list[str] = field(default_factory=list)
    count: int = 0
    first: str | None = None
    last: str | None = None
    first_key: str = ""  # time_key of first and last, computed once
    last_key: str = ""
    denied: bool = False
    allowed: bool = False
    ip_unknown: tuple[bool, bool] = (False, False)
    reported: set[ReportedRule] = field(default_factory=set)  # Calico's flow logs: what they say decided


_FRACTION = re.compile(r"\.(\d{1,9})")


def time_key(text: str) -> str:
    """RFC 3339 times compare as text once their fractions have one width (Hubble writes 0 to 9 digits)."""
    fraction = _FRACTION.search(text)
    if fraction is None or fraction.end() - fraction.start() == 10:
        return text
    return f"{text[:fraction.start(1)]}{fraction.group(1).ljust(9, '0')}{text[fraction.end():]}"


class Replayer:
    """Streams flows in (`add`), then answers (`result`). Keeps one entry per connection, not per record."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self._placed: dict[FlowEndpoint, Placed] = {}
        self._by_id: dict[tuple[int, int, Protocol, int], tuple[FlowEndpoint, FlowEndpoint, _Seen]] = {}
        self.records = 0  # flows added
        self._seen: dict[tuple[str, str, Protocol, int], _Seen] = {}
        self._verdicts: dict[tuple[object, object, Protocol, int, bool], Verdict | str] = {}
        self._in_block: dict[IPAddress, bool] = {}
        self._used_possible = False
        self._by_namespace: dict[str, list[Pod]] | None = None
        engine = analyzer.engine  # tiered `networks` peers: a pod without a known IP may be in one
        self._tier_networks = bool(set(engine.blocks) - families(engine).ip_blocks)

    @property
    def connections(self) -> int:
        """Distinct connections so far (with `records`, what a progress display shows)."""
        return len(self._seen)

    def add(self, flows: Iterable[Flow]) -> None:
        """Merge `flows` into their connections."""
        by_id = self._by_id
        for flow in flows:
            # the reader hands out each endpoint's object again and again: by identity first (a FlowEndpoint's
            # hash is computed field by field), each entry holding its endpoints so that their ids stay theirs
            fast = by_id.get((id(flow.source), id(flow.destination), flow.protocol, flow.port))
            if fast is not None and fast[0] is flow.source and fast[1] is flow.destination:
                seen = fast[2]
            else:
                seen = self._connection_of(flow)
            seen.count += 1
            self.records += 1
            if len(seen.records) < RECORDS_KEPT:
                seen.records.append(flow.record)
            if flow.observed is not None:
                seen.denied |= flow.observed == "denied"
                seen.allowed |= flow.observed == "allowed"
            if flow.reported is not None and len(seen.reported) < REPORTED_KEPT:
                seen.reported.add(flow.reported)
            if flow.time is not None and flow.time != seen.first and flow.time != seen.last:
                t = time_key(flow.time)
                if seen.first is None or t < seen.first_key:
                    seen.first, seen.first_key = flow.time, t
                if seen.last is None or t > seen.last_key:
                    seen.last, seen.last_key = flow.time, t

    def _connection_of(self, flow: Flow) -> _Seen:
        """The connection a flow belongs to, its endpoints placed (by value), remembered by identity."""
        src, dst = self.place(flow.source), self.place(flow.destination)
        key = (src.name, dst.name, flow.protocol, flow.port)
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = _Seen(src, dst, (flow.source, flow.destination))
        seen.ip_unknown = (seen.ip_unknown[0] or src.ip_unknown, seen.ip_unknown[1] or dst.ip_unknown)
        if len(self._by_id) >= MAX_BY_ID:
            self._by_id.clear()
        self._by_id[(id(flow.source), id(flow.destination), flow.protocol, flow.port)] = \
            (flow.source, flow.destination, seen)
        return seen

    # -- placing endpoints ---------------------------------------------------------------------------

    def place(self, ep: FlowEndpoint) -> Placed:
        placed = self._placed.get(ep)
        if placed is None:
            placed = self._placed[ep] = self._place(ep)
        return placed

    def _place(self, ep: FlowEndpoint) -> Placed:
        pods = self.analyzer.cluster.pods_by_key
        if ep.namespace and ep.pod and f"{ep.namespace}/{ep.pod}" in pods:
            return self._input_pod(Endpoint(pod=pods[f"{ep.namespace}/{ep.pod}"]), ep)
        by_ip = self._by_ip(ep)
        if by_ip is not None:
            return by_ip
        if ep.namespace and ep.workload:
            kind, _, name = ep.workload.partition("/")
            pod = pods.get(f"{ep.namespace}/{kind.lower()}/{name}")
            if pod is not None:
                return self._input_pod(Endpoint(pod=pod), ep)
        if ep.namespace and ep.prefix is not None:
            aggregated = self._by_prefix(ep.namespace, ep.prefix)
            if aggregated is not None:
                return aggregated
        named = (f"{ep.namespace}/{ep.pod}" if ep.pod else f"{ep.namespace}/{ep.workload}" if ep.workload
                 else f"{ep.namespace}/{ep.prefix}*" if ep.prefix is not None
                 else str(ep.ip) if ep.ip is not None else None)
        if ep.namespace and ep.labels is not None and self.analyzer.possible is not None:
            region, *others = self._regions_of(ep)
            self._used_possible = True
            name = named or f"{ep.namespace}/{{{','.join(f'{k}={v}' for k, v in ep.labels)}}}"
            more = f" (or {len(others)} other kind(s) of pod: the record does not say all Calico's selectors " \
                   "read)" if others else ""
            return Placed(name, "possible", Endpoint(pod=region.pod), name,
                          f"not in the input: as {self.analyzer.possible.name(region.key)}{more}",
                          ip_unknown=self._ip_matters(ep.ip), alternatives=tuple(Endpoint(pod=r.pod) for r in others))
        if ep.namespace is None and ep.ip is not None:
            return Placed(str(ep.ip), "outside", Endpoint(ip=ep.ip), str(ep.ip))
        if ep.namespace is None and ep.workload is not None:
            return Placed(ep.workload, "unmatched", None, ep.workload,
                          "outside the pods with no address (Calico pub/pvt, a host endpoint or a network set): "
                          "which ipBlock it falls in is unknown")
        why = ("not in the input, and the record carries no labels to place it by" if ep.namespace else
               "the record names no pod, namespace or address")
        return Placed(named or "(unnamed)", "unmatched", None, named or "(unnamed)", why)

    def _regions_of(self, ep: FlowEndpoint) -> list[Region]:
        """The regions of possible pods a record's endpoint may fall in. One (under Cilium by its service account
        too, which its identity labels name), but under Calico, whose selectors also read the pod's service account
        and its namespace's and service account's labels (`pcns.*`, `pcsa.*`): every region that agrees with what
        the record and the input say of them."""
        possible = self.analyzer.possible
        assert possible is not None and ep.namespace is not None and ep.labels is not None
        if not isinstance(possible.pod_atoms, CalicoAtoms):
            return [possible.region_of(ep.namespace, dict(ep.namespace_labels), dict(ep.labels), ep.service_account)]
        cluster = self.analyzer.cluster
        held = cluster.namespaces_by_name.get(ep.namespace)
        ns_known = held is not None or bool(ep.namespace_labels)
        ns_labels = held.label_map if held is not None else \
            {**dict(ep.namespace_labels), METADATA_NAME_LABEL: ep.namespace}
        accounts = {(a.namespace, a.name): a.labels for a in cluster.calico.service_accounts} if cluster.calico else {}
        account = dict(accounts.get((ep.namespace, ep.service_account), ())) if ep.service_account else {}
        own = dict(ep.labels)
        seen = endpoint_labels(ep.namespace, own, ep.service_account, ns_labels, account)

        def known(key: str) -> bool:  # what the record and the input say of this key of the pod's Calico labels
            if key in own or key in (f"pcns.{NAME_LABEL}", f"pcns.{METADATA_NAME_LABEL}"):
                return True
            if key == SERVICE_ACCOUNT_LABEL or key.startswith("pcsa."):  # an account not in the input: no labels
                return ep.service_account is not None
            return ns_known or not key.startswith("pcns.")

        atoms = possible.pod_atoms
        named = any(r.namespace.named and r.namespace.name == ep.namespace for r in possible.regions)
        found = [r for r in possible.regions
                 if (r.namespace.name == ep.namespace if named else not r.namespace.named and (
                     not ns_known or r.namespace.cube.contains(ns_labels, possible.namespace_atoms.universe)))
                 and all(atoms.atom_of(k, seen.get(k)) in v for k, v in r.cube.keys if known(k))]
        assert found, f"{ep.namespace}{seen} falls in no region"  # regions partition every namespace's pods
        return found

    def _by_prefix(self, namespace: str, prefix: str) -> Placed | None:
        """Calico's aggregated pods (`web-5d9c7-*`): the input's workload whose pods get that name prefix, else
        the input's pods with it when the policies treat them all alike (one class)."""
        pods = self.analyzer.cluster.pods_by_key
        base = prefix[:-1] if prefix.endswith("-") else prefix
        owners = [(base, AGGREGATED_KINDS), (base.rsplit("-", 1)[0], OWNER_KINDS)]  # web-0: sts; web-5d9c7-x: deploy
        for name, kinds in owners:
            for kind in kinds:
                pod = pods.get(f"{namespace}/{kind}/{name}")
                if pod is not None:
                    return self._input_pod(Endpoint(pod=pod), FlowEndpoint())
        if self._by_namespace is None:
            self._by_namespace = {}
            for p in self.analyzer.cluster.pods:
                if not p.hypothetical and p.workload is None:
                    self._by_namespace.setdefault(p.namespace, []).append(p)
        found = [p for p in self._by_namespace.get(namespace, []) if p.name.startswith(prefix)]
        classes = {self.analyzer.engine.class_of[p.key] for p in found}
        if len(classes) != 1:
            return None
        owner = {p.owner for p in found}
        name = f"{namespace}/{owner.pop()}" if len(owner) == 1 and None not in owner else f"{namespace}/{prefix}*"
        return Placed(name, "pod", Endpoint(pod=found[0]), name, f"{len(found)} pod(s) of the input named {prefix}*",
                      ip_unknown=not all(p.ips for p in found))

    def _by_ip(self, ep: FlowEndpoint) -> Placed | None:
        if ep.ip is None:
            return None
        try:
            found = self.analyzer.endpoint(str(ep.ip))
        except QueryError:  # several pods (hostNetwork pods of one node): the address does not say which
            return None
        if found.pod is None or (ep.namespace is not None and found.pod.namespace != ep.namespace):
            return None
        return self._input_pod(found, ep)

    def _input_pod(self, endpoint: Endpoint, ep: FlowEndpoint) -> Placed:
        assert endpoint.pod is not None
        pod = endpoint.pod
        group = f"{pod.namespace}/{pod.owner}" if pod.owner else pod.key
        return Placed(pod.key, "workload" if pod.workload else "pod", Endpoint(pod=pod), group,
                      ip_unknown=not pod.ips and self._ip_matters(ep.ip))

    def _ip_matters(self, ip: IPAddress | None) -> bool:
        """A pod netpol knows no IP of: its verdict is exact only if its real address is in no ipBlock."""
        if ip is None:
            return True
        hit = self._in_block.get(ip)
        if hit is None:
            hit = self._in_block[ip] = any(b.contains(ip) for b in self.analyzer.engine.blocks)
        return hit

    # -- verdicts ------------------------------------------------------------------------------------

    def _verdict(self, src: Endpoint, dst: Endpoint, protocol: Protocol, port: int) -> Verdict | str:
        """The engine's verdict, once per (class, class, protocol, port); a string when it cannot answer."""
        same = src.pod is not None and dst.pod is not None and src.pod.key == dst.pod.key and src.pod.is_one_pod
        key = (self._peer(src), self._peer(dst), protocol, port, same)
        cached = self._verdicts.get(key)
        if cached is None:
            try:
                cached = self.analyzer.can_reach(src, dst, port, protocol)
            except QueryError as exc:
                cached = str(exc)
            self._verdicts[key] = cached
        return cached

    def _peer(self, ep: Endpoint) -> object:
        return self.analyzer.engine.class_of[ep.pod.key] if ep.pod is not None else ep.ip

    def result(self, base: Analyzer | None = None) -> Replay:
        """The connections classified; with `base` (the version before a change), also what the change does
        to each: newly denied or newly allowed."""
        out = [self._connection(key[2], key[3], seen) for key, seen in self._seen.items()]
        if base is not None:
            out = [self._compare(Replayer(base), c, seen) for c, seen in zip(out, self._seen.values(), strict=True)]
        out.sort(key=lambda c: (CLASSIFICATIONS.index(c.classification), c.source.group, c.destination.group,
                                c.protocol, c.port, c.source.name, c.destination.name))
        notes = [LABEL_ASSUMPTION, *self.analyzer.possible.notes()] if self._used_possible and self.analyzer.possible \
            else []
        return Replay(tuple(out), tuple(notes))

    def _compare(self, base: Replayer, conn: Connection, seen: _Seen) -> Connection:
        src, dst = base.place(seen.raw[0]), base.place(seen.raw[1])
        lacks_ip = (seen.ip_unknown[0] or src.ip_unknown, seen.ip_unknown[1] or dst.ip_unknown)
        before = base._connection(conn.protocol, conn.port, _Seen(src, dst, seen.raw, ip_unknown=lacks_ip))
        change: Change = ("newly denied" if (before.predicted, conn.predicted) == ("allowed", "denied") else
                          "newly allowed" if (before.predicted, conn.predicted) == ("denied", "allowed") else None)
        return replace(conn, base_predicted=before.predicted, change=change)

    def _connection(self, protocol: Protocol, port: int, seen: _Seen) -> Connection:
        observed: Observed = "denied" if seen.denied else "allowed" if seen.allowed else None
        base = dict(source=seen.source, destination=seen.destination, protocol=protocol, port=port,
                    records=tuple(seen.records), record_count=seen.count, first_seen=seen.first,
                    last_seen=seen.last, observed=observed)
        unplaced = [p for p in (seen.source, seen.destination) if p.endpoint is None]
        if unplaced:
            return Connection(**base, predicted=None, classification="unmatched",  # type: ignore[arg-type]
                              note="; ".join(f"{p.name}: {p.detail}" for p in unplaced))
        assert seen.source.endpoint is not None and seen.destination.endpoint is not None
        verdict = self._verdict(seen.source.endpoint, seen.destination.endpoint, protocol, port)
        if isinstance(verdict, str):
            return Connection(**base, predicted=None, classification="unmatched",  # type: ignore[arg-type]
                              note=verdict)
        unknown = self._unsaid(seen, protocol, port, verdict.allowed) or self._unknown(verdict, seen)
        predicted: Predicted = "unknown" if unknown else "allowed" if verdict.allowed else "denied"
        if unknown:
            classification: Classification = "unknown"
        elif predicted == "denied" and observed != "denied":
            classification = "break"
        elif predicted == "allowed" and observed == "denied":
            classification = "mismatch"
        else:
            classification = "unchanged"
        note = unknown or (MEANS_BREAK if classification == "break" and observed == "allowed"
                           else MEANS_MISMATCH if classification == "mismatch" else "")
        walk = tuple((side.direction, side.walk) for side in (verdict.egress, verdict.ingress) if side.walk)
        reported = tuple(sorted(seen.reported, key=str))
        differs = tuple(d for d in (policy_mismatch(verdict, r) for r in reported) if d) if not unknown else ()
        return Connection(**base, predicted=predicted, classification=classification,  # type: ignore[arg-type]
                          decided_by=decided_by(verdict), note=note, assumptions=verdict.assumptions, walk=walk,
                          reported=reported, policy_mismatch=differs)

    def _unsaid(self, seen: _Seen, protocol: Protocol, port: int, allowed: bool) -> str:
        """Why the prediction hangs on what the records do not say of a possible pod under Calico ("" when every
        kind of pod they may be gets the same verdict)."""
        ends = [(p, (p.endpoint, *p.alternatives)) for p in (seen.source, seen.destination)]
        vague = [p.name for p, options in ends if len(options) > 1]
        if not vague:
            return ""
        pairs = list(islice(product(*(options for _, options in ends)), MAX_ALTERNATIVES + 1))
        if len(pairs) <= MAX_ALTERNATIVES and all(
                not isinstance(v := self._verdict(s, d, protocol, port), str) and v.allowed == allowed  # type: ignore
                for s, d in pairs):
            return ""
        return (f"depends on what the records do not say of {' and '.join(vague)}: its service account, or its "
                "namespace's or service account's labels, which Calico's selectors read")

    def _unknown(self, verdict: Verdict, seen: _Seen) -> str:
        """Why the prediction hangs on a fact netpol does not have ("" when it does not)."""
        cluster = self.analyzer.cluster
        for placed, lacks_ip in ((seen.source, seen.ip_unknown[0]), (seen.destination, seen.ip_unknown[1])):
            assert placed.endpoint is not None
            by_ip = ASSUME_NO_IP.format(pod=placed.endpoint.name) in verdict.assumptions or self._tier_networks
            if lacks_ip and by_ip and not (verdict.allowed and not cluster.tiered):  # an ipBlock only adds to allows
                return f"depends on {placed.name}'s IP, which netpol does not know and an ipBlock rule may match"
        dst = seen.destination.endpoint
        assert dst is not None
        if not verdict.allowed and dst.pod is None and any(DOMAINS_NOTE in a for a in verdict.assumptions):
            return f"depends on DNS: a domainNames rule may match {dst.name}"
        if dst.pod is not None and dst.pod.hypothetical and dst.pod.ports and (not verdict.allowed or cluster.tiered):
            return (f"depends on {seen.destination.name}'s container ports, which netpol does not know: a named-port "
                    f"rule may name port {verdict.port}")
        return ""


def decided_by(verdict: Verdict) -> tuple[str, ...]:
    """The rules that decided, without pod names (one verdict answers for every pod of its classes): for a
    denial the denying sides, for an allow the allowing rules; under Calico's tiers each such side's walk
    (every Pass that handed on, then the rule, the tier's default action or the profile that decided)."""
    out = []
    for side in (verdict.egress, verdict.ingress):
        if not side.governed or side.allowed != verdict.allowed:
            continue
        if side.walk:
            out.append(f"{side.direction}: {side.reason}")
        elif side.decided_by is not None:
            out.append(f"{side.direction}: {side.decided_by}")
        elif side.allowed_by:
            out.append(f"{side.direction}: " + ", ".join(str(r) for r in side.allowed_by))
        elif not side.allowed:
            out.append(f"{side.direction}: isolated by {', '.join(side.isolated_by)}; no rule allows "
                       f"{verdict.protocol}/{verdict.port}")
        elif not side.isolated_by:  # the node rule and hostNetwork pods say so in the assumptions
            out.append(f"{side.direction}: " + ("not isolated" if side.tier is None else "allowed by default"))
        else:  # isolated, allowed by no rule: the pod's own node (verdicts._v1_side)
            out.append(f"{side.direction}: the pod's own node, whose traffic the plugin always allows")
    return tuple(out)


def policy_mismatch(verdict: Verdict, reported: ReportedRule) -> str:
    """Where Calico's flow log names another deciding rule for its reporter's side than netpol's walk ends with
    ("" when they agree): the action, the tier, the policy (Calico's names may carry the tier, `tier.name`, or
    `knp.default.`) and, for Calico's own kinds, the rule's index (-2: Calico did not record it)."""
    side = verdict.egress if reported.side == "source" else verdict.ingress
    if not side.governed:
        return ""
    ours = "allow" if side.allowed else "deny"
    last = side.walk[-1] if side.walk else None
    profile = reported.tier in ("", "__PROFILE__")
    if isinstance(last, WalkStep) and isinstance(last.rule, CalicoRuleRef):
        namespace, _, name = last.rule.policy.rpartition("/")
        rule_ok = reported.rule in (last.rule.index, -2) or last.rule.kind not in CALICO_OWN_KINDS
        same = (reported.tier == last.tier and reported.namespace == namespace and rule_ok
                and (reported.name == name or reported.name.endswith(f".{name}")))
    elif last is not None and last.tier is not None and last.rule is None:  # the tier's default action
        same = reported.tier == last.tier and reported.rule in (-1, -2)
    else:  # the namespace profile (or a rule Calico reports no policy for: a node's, a host-network pod's)
        same = profile or (last is not None and last.rule is not None)
    if same and reported.action == ours:
        return ""
    return f"{reported.side} side: Calico reports {reported}; netpol: {side.direction}: {side.reason}"


def replay(analyzer: Analyzer, flows: Iterable[Flow], base: Analyzer | None = None) -> Replay:
    """Every connection in `flows`, classified against `analyzer`'s policies (and compared with `base`'s)."""
    replayer = Replayer(analyzer)
    replayer.add(flows)
    return replayer.result(base)


def versions(head: Cluster, base: Cluster) -> tuple[Analyzer, Analyzer]:
    """Analyzers of a change's two versions over the same possible pods, so that endpoints the input does not
    hold are placed alike in both."""
    after, before = regions(head, others=[base]), regions(base, others=[head])
    return Analyzer(after.cluster, after), Analyzer(before.cluster, before)
