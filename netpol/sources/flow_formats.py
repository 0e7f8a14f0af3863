"""Each flow exporter's records read into Flows: Hubble, Calico (Goldmane, Whisker), kube-network-policies
(klog) and CSV, one reader per format (netpol/sources/flows.py picks it and reads the file line by line)."""

from __future__ import annotations

import csv
import json
import re
from functools import lru_cache
from typing import Any, Literal

from netpol.errors import InputError, Location, clipped
from netpol.model import IPAddress
from netpol.model.portsets import PROTOCOLS, Protocol
from netpol.sources.flow_records import (
    Flow,
    FlowEndpoint,
    Observed,
    ReportedRule,
    _address,
    _int,
    _json_object,
    _LineReader,
    _location,
    _Skip,
)

# Cilium's drop reasons that are policy decisions (flow.proto DropReason); other drops are not verdicts.
POLICY_DROPS = frozenset({"POLICY_DENIED", "POLICY_DENY", "AUTH_REQUIRED"})
POLICY_DROP_CODES = frozenset({133, 181, 189})
# Cilium's own identity labels, which are not the pod's labels (k8s: prefix removed).
CILIUM_NAMESPACE_LABELS = "io.cilium.k8s.namespace.labels."
CILIUM_KEYS = ("io.kubernetes.pod.namespace", "io.cilium.k8s.policy.", "io.cilium.k8s.namespace.labels.")
CILIUM_ACCOUNT = "io.cilium.k8s.policy.serviceaccount="  # the pod's service account among Cilium's identity labels
CSV_COLUMNS = ("source", "destination", "protocol", "port")
CSV_OPTIONAL = ("verdict", "time")


# -- Hubble -------------------------------------------------------------------------------------------


# Values that change from record to record of one connection and that the Hubble reader ignores (uuid,
# socket_cookie, source_port) or keeps as given (time): plain strings (no escape, no control character) and
# integers, each a whole JSON token. Two lines that differ only in them read as the same flow but for its time.
_WS = r"[ \t\r\n]*"
_VARYING = re.compile(rf'"(?=[tus])(?:((?:time|uuid|socket_cookie)"{_WS}:{_WS}")([^"\\\x00-\x1f]*)(?=")'
                      rf'|(source_port"{_WS}:{_WS})(0|[1-9][0-9]*)(?![0-9.eE]))')  # (?=[tus]): 5 times faster
MAX_SHAPES = 1 << 14  # line shapes kept parsed per file; the cache starts over when full, so memory stays bounded


class _HubbleReader(_LineReader):
    """`hubble observe -o json` (jsonpb: {"flow": {...}, "node_name", "time"}) and bare legacy flows.

    A flow file repeats each connection's records many times over, differing only in the values _VARYING
    takes out: a line is decoded once per shape (its text without them) and later lines of that shape reuse
    the flow, with their own time and record name. A line of a shape not seen (or whose shape led to an
    error: the message names the line's own values) is decoded in full."""

    def __init__(self) -> None:
        # a shape's flow (time taken from which varying value, None: the flow's own) or the reason it is skipped
        self.shapes: dict[tuple[tuple[str | None, ...], ...], tuple[Flow, int | None] | str] = {}

    def flow(self, text: str, record: str) -> Flow:
        parts = _VARYING.split(text)  # text, then per value: a string's key ('"' off) and value, an integer's, text
        shape = (tuple(parts[::5]), tuple(parts[1::5]), tuple(parts[3::5]))
        known = self.shapes.get(shape)
        if known is None:
            known = self.shapes[shape] = self._shape(text, parts, record)
            if len(self.shapes) > MAX_SHAPES:
                self.shapes.clear()
        if isinstance(known, str):
            raise _Skip(known)
        flow, time = known
        return Flow(flow.source, flow.destination, flow.protocol, flow.port, flow.observed, record,
                    flow.time if time is None else parts[time], flow.reporter)

    def _shape(self, text: str, parts: list[str | None], record: str) -> tuple[Flow, int | None] | str:
        """The flow of a line of a new shape, and which of its varying values is the flow's time."""
        try:
            flow = self._decode(text, record)
        except _Skip as skip:
            return str(skip)
        if flow.time is None:
            return flow, None
        marks = [self._decode("".join(f"{mark}{i}" if i % 5 == 2 else f'"{p}' if i % 5 in (1, 3) else p
                                      for i, p in enumerate(parts) if p is not None), record).time
                 for mark in ("#", "%")]
        index = marks[0][1:] if marks[0] is not None else ""  # the varying value marked alike by either mark
        return flow, int(index) if index.isdigit() and marks == [f"#{index}", f"%{index}"] else None

    def _decode(self, text: str, record: str) -> Flow:
        where = _location(record)
        obj = _json_object(text, where)
        if "flow" in obj:
            flow, prefix = obj["flow"], "flow."
            if not isinstance(flow, dict):
                raise InputError(where, "flow", "not an object")
        elif any(k in obj for k in ("IP", "l4", "verdict", "source", "destination")):
            flow, prefix = obj, ""
        else:
            raise _Skip("not a flow (lost_events, node status, ...)")
        return _hubble_flow(flow, obj, record, where, prefix)


def _hubble_flow(flow: dict[str, Any], outer: dict[str, Any], record: str, where: Location, prefix: str) -> Flow:
    kind = flow.get("Type", "L3_L4")
    if kind != "L3_L4":
        raise _Skip("not an L3/L4 record (L7, ...)")
    if flow.get("is_reply") is True:
        raise _Skip("reply")
    ip = _obj(flow, "IP", where, prefix)
    l4 = _obj(flow, "l4", where, prefix)
    if not ip or not l4:
        raise _Skip("no IP or no layer 4 (ARP, ICMP, ...)")
    protocol, ports = next(((p, v) for p, v in l4.items() if p in PROTOCOLS), (None, None))
    if protocol is None or not isinstance(ports, dict):
        raise _Skip("not TCP, UDP or SCTP (ICMP, ...)")
    if protocol == "TCP":
        flags = ports.get("flags") or {}
        if not isinstance(flags, dict) or flags.get("SYN") is not True or flags.get("ACK") is True:
            raise _Skip("not a connection's first TCP segment (no SYN, or ACK set)")
    port = _int(ports.get("destination_port"), where, f"{prefix}l4.{protocol}.destination_port", 1, 65535)
    time = flow.get("time", outer.get("time"))
    node = flow.get("node_name", outer.get("node_name"))
    direction = flow.get("traffic_direction")
    reporter = " ".join(str(x).lower() if x == direction else str(x) for x in (node, direction) if x) or None
    return Flow(_hubble_endpoint(flow, ip, "source", where, prefix),
                _hubble_endpoint(flow, ip, "destination", where, prefix),
                protocol, port, _hubble_verdict(flow), record, time if isinstance(time, str) else None, reporter)


def _hubble_verdict(flow: dict[str, Any]) -> Observed:
    verdict = flow.get("verdict")
    if verdict in ("FORWARDED", "AUDIT"):
        return "allowed"
    if verdict == "DROPPED" and (flow.get("drop_reason_desc") in POLICY_DROPS
                                 or flow.get("drop_reason") in POLICY_DROP_CODES):
        return "denied"
    return None


def _hubble_endpoint(flow: dict[str, Any], ip: dict[str, Any], side: str, where: Location, prefix: str
                     ) -> FlowEndpoint:
    ep = _obj(flow, side, where, prefix)
    raw_labels = ep.get("labels") or []
    if not isinstance(raw_labels, list):
        raise InputError(where, f"{prefix}{side}.labels", "not a list")
    workloads = ep.get("workloads") or ()
    try:  # a flow file repeats the same endpoints millions of times: each is parsed once
        key = (ip.get(side), ep.get("namespace"), ep.get("pod_name"), tuple(raw_labels),
               tuple((w.get("kind"), w.get("name")) for w in workloads if isinstance(w, dict))
               if isinstance(workloads, list) else ())
        cached = _ENDPOINTS.get(key)
    except TypeError:  # an unhashable value where a string belongs: parsed (and refused) below
        key, cached = None, None
    if cached is None:
        cached = _parse_hubble_endpoint(ep, raw_labels, workloads, ip.get(side), where, f"{prefix}IP.{side}")
        if key is not None:
            if len(_ENDPOINTS) >= MAX_CACHED:
                _ENDPOINTS.clear()
            _ENDPOINTS[key] = cached
    return cached


def _parse_hubble_endpoint(ep: dict[str, Any], raw_labels: list[Any], workloads: object, address: object,
                           where: Location, field: str) -> FlowEndpoint:
    parsed = _address(address, where, field) if address else None
    labels, ns_labels = _cilium_labels(tuple(t for t in raw_labels if isinstance(t, str)))
    workload = next((f"{w.get('kind')}/{w.get('name')}" for w in workloads if isinstance(w, dict)
                     and isinstance(w.get("kind"), str) and isinstance(w.get("name"), str)), None) \
        if isinstance(workloads, list) else None
    namespace, pod = ep.get("namespace"), ep.get("pod_name")
    namespace = namespace if isinstance(namespace, str) and namespace else None
    account = next((t[4 + len(CILIUM_ACCOUNT):] for t in raw_labels if isinstance(t, str)
                    and t.startswith(f"k8s:{CILIUM_ACCOUNT}")), None)
    return FlowEndpoint(namespace, pod if isinstance(pod, str) and pod else None, workload,
                        labels if namespace else None, ns_labels, parsed, service_account=account or None)


_ENDPOINTS: dict[tuple[object, ...], FlowEndpoint] = {}
MAX_CACHED = 1 << 16  # endpoints kept parsed; the cache starts over when full, so memory stays bounded


@lru_cache(maxsize=1 << 14)  # a flow file repeats the same identities millions of times
def _cilium_labels(raw: tuple[str, ...]) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """The pod's labels and its namespace's, from Cilium's identity labels."""
    labels: dict[str, str] = {}
    ns_labels: dict[str, str] = {}
    for text in raw:
        if not text.startswith("k8s:"):
            continue  # reserved:, cidr:, container: ... are Cilium's identities, not labels
        key, _, value = text[4:].partition("=")
        if key.startswith(CILIUM_NAMESPACE_LABELS):
            ns_labels[key[len(CILIUM_NAMESPACE_LABELS):]] = value
        elif not key.startswith(CILIUM_KEYS):
            labels[key] = value
    return tuple(sorted(labels.items())), tuple(sorted(ns_labels.items()))


def _obj(flow: dict[str, Any], key: str, where: Location, prefix: str) -> dict[str, Any]:
    value = flow.get(key) or {}
    if not isinstance(value, dict):
        raise InputError(where, f"{prefix}{key}", "not an object")
    return value


# -- Calico -------------------------------------------------------------------------------------------

CALICO_ACTIONS: dict[object, Observed] = {1: "allowed", 2: "denied", "Allow": "allowed", "Deny": "denied",
                                          "allow": "allowed", "deny": "denied"}
CALICO_REPORTERS: dict[object, Literal["source", "destination"]] = {
    1: "source", 2: "destination", "Src": "source", "Dst": "destination", "src": "source", "dst": "destination"}
CALICO_WORKLOAD = (1, "WorkloadEndpoint", "wep", None)  # endpoint types that are pods (Whisker gives no type)
CALICO_FINAL = {1: "allow", 2: "deny", "Allow": "allow", "Deny": "deny", "allow": "allow", "deny": "deny"}
CALICO_PROFILE_KINDS = (9, "Profile")  # Goldmane's PolicyKind of the namespace profile; 10 is EndOfTier
CALICO_END_OF_TIER = (10, "EndOfTier")
CALICO_OWN_LABELS = "projectcalico.org/"
CALICO_ACCOUNT = "projectcalico.org/serviceaccount="  # the workload endpoint's service account, among its labels


class _CalicoReader(_LineReader):
    """Calico flow logs, one object a line: Goldmane's emitter ({"Key": {...}, "start_time", "source_labels":
    [..]}, integer enums) and Whisker's /flows items (flat, string enums, labels joined with " | ")."""

    def flow(self, text: str, record: str) -> Flow:
        where = _location(record)
        obj = _json_object(text, where)
        key, prefix = (obj["Key"], "Key.") if "Key" in obj else (obj, "")
        if not isinstance(key, dict):
            raise InputError(where, "Key", "not an object")
        protocol = key.get("proto", key.get("protocol"))
        if not isinstance(protocol, str):
            raise InputError(where, f"{prefix}proto", "missing or not a string")
        if protocol.upper() not in PROTOCOLS:
            raise _Skip("not TCP, UDP or SCTP (ICMP, ...)")
        port = _int(key.get("dest_port"), where, f"{prefix}dest_port", 1, 65535)
        start = obj.get("start_time")
        time = _epoch(start) if isinstance(start, int) and not isinstance(start, bool) else \
            start if isinstance(start, str) else None
        reporter = CALICO_REPORTERS.get(key.get("reporter"))  # type: ignore[arg-type]
        reported = _calico_reported(key.get("policies"), reporter, where, f"{prefix}policies") if reporter else None
        return Flow(_calico_endpoint(key, obj, "source", where, prefix),
                    _calico_endpoint(key, obj, "dest", where, prefix), protocol.upper(),  # type: ignore[arg-type]
                    port, CALICO_ACTIONS.get(key.get("action")), record, time,  # type: ignore[arg-type]
                    f"{reporter} side" if reporter else None, reported)


def _calico_reported(policies: object, side: Literal["source", "destination"], where: Location, field: str
                     ) -> ReportedRule | None:
    """The last enforced policy hit that allowed or denied: Goldmane's and Whisker's PolicyHit objects
    (`enforced_policies`, `enforced`), Calico Enterprise's "INDEX|TIER|NAME|ACTION|RULE" strings."""
    if policies is None:
        return None
    hits = policies.get("enforced_policies", policies.get("enforced")) if isinstance(policies, dict) else None
    if hits is None:
        return None
    if not isinstance(hits, list):
        raise InputError(where, f"{field}.enforced_policies", "not a list")
    found: list[tuple[int, ReportedRule]] = []
    for i, hit in enumerate(hits):
        if isinstance(hit, str):
            parts = hit.split("|")
            if len(parts) != 5 or not all(p.lstrip("-").isdigit() for p in (parts[0], parts[4])):
                raise InputError(where, f"{field}.enforced_policies[{i}]",
                                 f"{clipped(repr(hit))} is not INDEX|TIER|NAME|ACTION|RULE")
            namespace, _, name = parts[2].rpartition("/")
            order, tier, action, rule = int(parts[0]), parts[1], parts[3], int(parts[4])
        elif isinstance(hit, dict):
            namespace, name, tier = (str(hit.get(k) or "") for k in ("namespace", "name", "tier"))
            kind, action = hit.get("kind"), hit.get("action")
            order, rule = hit.get("policy_index", i), hit.get("rule_index", -2)
            if not isinstance(order, int) or not isinstance(rule, int):
                raise InputError(where, f"{field}.enforced_policies[{i}]", "policy_index or rule_index not a number")
            tier = "" if kind in CALICO_PROFILE_KINDS else tier
            rule = -1 if kind in CALICO_END_OF_TIER else rule
        else:
            raise InputError(where, f"{field}.enforced_policies[{i}]", "not a policy hit")
        final = CALICO_FINAL.get(action)  # type: ignore[arg-type]
        if final is not None:
            found.append((order, ReportedRule(side, tier, namespace, name, final, rule)))  # type: ignore[arg-type]
    return max(found, key=lambda f: f[0])[1] if found else None


def _calico_endpoint(key: dict[str, Any], obj: dict[str, Any], side: str, where: Location, prefix: str
                     ) -> FlowEndpoint:
    """Goldmane and Whisker name aggregated pods `web-5d9c7-*` in `_name`; Calico Enterprise writes `-` there and
    the aggregate in `_name_aggr`, `-` for no namespace, the address in `_ip` (null when aggregated)."""
    name, namespace = key.get(f"{side}_name"), key.get(f"{side}_namespace")
    if name in ("-", None) and isinstance(key.get(f"{side}_name_aggr"), str):
        name = key[f"{side}_name_aggr"]
    if not isinstance(name, str) or not isinstance(namespace, str | None):
        raise InputError(where, f"{prefix}{side}_name", "missing or not a string")
    namespace = None if namespace == "-" else namespace
    address = key.get(f"{side}_ip")
    ip = _address(address, where, f"{prefix}{side}_ip") if address is not None else None
    if key.get(f"{side}_type") not in CALICO_WORKLOAD or not namespace:
        # pub, pvt, a host endpoint, a network set: no pod; outside at its address where the record gives it
        return FlowEndpoint(ip=ip) if ip is not None else FlowEndpoint(workload=name)
    raw = obj.get(f"{side}_labels")
    raw = raw.get("labels") if isinstance(raw, dict) else raw  # Enterprise: {"labels": [...]}
    if raw == "-":  # Enterprise: aggregated, the labels unsaid
        return FlowEndpoint(namespace, None if name.endswith("*") else name, ip=ip,
                            prefix=name[:-1] if name.endswith("*") else None)
    items = raw.split(" | ") if isinstance(raw, str) else raw if isinstance(raw, list) else None
    if items is None or not all(isinstance(i, str) for i in items):
        raise InputError(where, f"{side}_labels", "not a list of key=value strings")
    labels = dict(i.partition("=")[::2] for i in items if i and not i.startswith(CALICO_OWN_LABELS))
    account = next((i[len(CALICO_ACCOUNT):] for i in items if i.startswith(CALICO_ACCOUNT)), None)
    pod, aggregated = (None, name[:-1]) if name.endswith("*") else (name, None)
    return FlowEndpoint(namespace, pod, None, tuple(sorted(labels.items())), (), ip, aggregated, account or None)


def _epoch(seconds: float) -> str:
    """Seconds since the epoch as RFC 3339 UTC (with microseconds when the value has a fraction)."""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return str(seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S" + (".%fZ" if isinstance(seconds, float) else "Z"))


# -- kube-network-policies ------------------------------------------------------------------------------

KLOG_HEADER = re.compile(r"^([IWEF])(\d{4} \d{2}:\d{2}:\d{2}\.\d+)\s+\d+ [^\]\s]+\] ")
_KLOG_MESSAGE = re.compile(r'^"((?:[^"\\]|\\.)*)"')
_KLOG_VALUE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|<|\S+)')
KNP_VERDICTS: dict[str, Observed] = {"accept": "allowed", "drop": "denied"}
KNP_NO_POD = frozenset({"", "none", "external"})
MAX_PENDING = 1 << 16  # packets seen and waiting for their verdict entry (by NFQUEUE id); older ones are let go


class _KnpReader(_LineReader):
    """kube-network-policies' verdict logs (-v=2 or more), klog text or JSON (--logging-format=json).

    A packet is described by its "Evaluating packet" entry (pods, and the `[id] SRC:PORT DST:PORT PROTO`
    line of its dump, or JSON `packet` fields); every later entry with its NFQUEUE `id` is a record of the
    same connection, and "Finished syncing packet" carries the verdict. Every packet NFQUEUE sees opens a
    connection. The rest of a dump, and entries about no packet, are counted as skipped."""

    def __init__(self) -> None:
        self.pending: dict[str, tuple[FlowEndpoint, FlowEndpoint, Protocol, int, str | None]] = {}
        self.waiting: tuple[str, str | None, dict[str, str]] | None = None  # klog entry whose dump comes next
        self.in_dump = False

    def flow(self, text: str, record: str) -> Flow:
        where = _location(record)
        stripped = text.strip()
        if stripped.startswith("{"):
            obj = _json_object(stripped, where)
            msg, values = obj.get("msg"), obj
            ts = obj.get("ts")
            time = _epoch(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else None
            packet = obj.get("packet")
            if msg == "Evaluating packet" and packet is not None:
                return self._packet(_json_packet(packet, where), values, record, time, where)
            return self._entry(msg, values, record, time)
        header = KLOG_HEADER.match(text)
        if header is None:
            if self.waiting is not None:
                entry_record, time, values = self.waiting
                self.waiting, self.in_dump = None, True
                return self._packet(_tuple_line(stripped, where), values, entry_record, time, where)
            if self.in_dump:
                self.in_dump = stripped != ">"
                raise _Skip("a packet dump's other lines")
            raise _Skip("not a log entry")
        self.waiting, self.in_dump = None, False
        rest = text[header.end():]
        message = _KLOG_MESSAGE.match(rest)
        msg = _unquote(f'"{message.group(1)}"') if message else None
        values = {k: _unquote(v) for k, v in _KLOG_VALUE.findall(rest[message.end():])} if message else {}
        if msg == "Evaluating packet" and values.get("packet") == "<":
            self.waiting = (record, header.group(2), values)
            raise _Skip  # the flow comes with the dump's first line, named by this entry's line
        return self._entry(msg, values, record, header.group(2))

    def _packet(self, packet: tuple[str, str, str, Protocol | None, int], values: dict[str, Any], record: str,
                time: str | None, where: Location) -> Flow:
        packet_id, src_ip, dst_ip, protocol, port = packet
        if protocol is None:
            raise _Skip("not TCP, UDP or SCTP (ICMP, ...)")
        src = _knp_endpoint(values.get("srcPod"), _address(src_ip, where, "packet source"))
        dst = _knp_endpoint(values.get("dstPod"), _address(dst_ip, where, "packet destination"))
        if len(self.pending) >= MAX_PENDING:
            del self.pending[next(iter(self.pending))]
        self.pending[packet_id] = (src, dst, protocol, port, time)
        return Flow(src, dst, protocol, port, None, record, time)

    def _entry(self, msg: object, values: dict[str, Any], record: str, time: str | None) -> Flow:
        packet_id = str(values.get("id", ""))
        known = self.pending.get(packet_id)
        if known is None:
            raise _Skip("an entry about no packet this file describes")
        src, dst, protocol, port, _ = known
        observed = None
        if msg == "Finished syncing packet":
            del self.pending[packet_id]
            observed = KNP_VERDICTS.get(str(values.get("verdict", "")).lower())
        return Flow(src, dst, protocol, port, observed, record, time)


def _unquote(value: str) -> str:
    """A klog value: a quoted one is a Go-quoted string (JSON's escapes, nearly); a bare one is as written."""
    if not value.startswith('"'):
        return value
    try:
        out = json.loads(value)
    except (json.JSONDecodeError, RecursionError):
        return value[1:-1]  # an escape JSON lacks (\x..): the value as written, quotes off
    return out if isinstance(out, str) else value


def _tuple_line(text: str, where: Location) -> tuple[str, str, str, Protocol | None, int]:
    """`[ID] SRC:PORT DST:PORT PROTO`, the first line of a packet's dump."""
    parts = text.split()
    if len(parts) < 4 or not (parts[0].startswith("[") and parts[0].endswith("]")):
        raise InputError(where, "packet", f"{clipped(text)!r} is not '[ID] SRC:PORT DST:PORT PROTO'")
    (src, _, _), (dst, _, port) = parts[1].rpartition(":"), parts[2].rpartition(":")
    protocol = parts[3].upper()
    ok = protocol in PROTOCOLS
    number = _int(port, where, "packet destination port", 1 if ok else 0, 65535)
    checked: Protocol | None = protocol if ok else None  # type: ignore[assignment]
    return parts[0][1:-1], src.strip("[]"), dst.strip("[]"), checked, number


def _json_packet(packet: object, where: Location) -> tuple[str, str, str, Protocol | None, int]:
    if isinstance(packet, str):
        return _tuple_line(packet.strip().splitlines()[0] if packet.strip() else "", where)
    if not isinstance(packet, dict):
        raise InputError(where, "packet", "not a packet")
    protocol = str(packet.get("Proto", "")).upper()
    ok = protocol in PROTOCOLS
    number = _int(packet.get("DstPort"), where, "packet.DstPort", 1 if ok else 0, 65535)
    checked: Protocol | None = protocol if ok else None  # type: ignore[assignment]
    packet_id = str(packet.get("ID", packet.get("id", "")))
    return packet_id, str(packet.get("SrcIP")), str(packet.get("DstIP")), checked, number


def _knp_endpoint(pod: object, ip: IPAddress) -> FlowEndpoint:
    if isinstance(pod, str) and pod not in KNP_NO_POD and pod.count("/") == 1:
        namespace, name = pod.split("/")
        return FlowEndpoint(namespace, name, ip=ip)
    return FlowEndpoint(ip=ip)


# -- CSV ----------------------------------------------------------------------------------------------


class _CsvReader(_LineReader):
    """`source,destination,protocol,port[,verdict][,time]`; endpoints ns/pod, ns/KIND/NAME or an IP."""

    def __init__(self, name: str, number: int, header: str) -> None:
        columns = [c.strip().lower() for c in _csv_row(header.lstrip("\ufeff"), _location(f"{name}:{number}"))]
        missing = [c for c in CSV_COLUMNS if c not in columns]
        unknown = [c for c in columns if c not in (*CSV_COLUMNS, *CSV_OPTIONAL)]
        if missing or unknown or len(set(columns)) != len(columns):
            raise InputError(Location(name, line=number), None,
                             "a CSV flow file starts with the header source,destination,protocol,port"
                             f"[,verdict][,time] (got {clipped(header.strip())!r})")
        self.columns = columns

    def flow(self, text: str, record: str) -> Flow:
        where = _location(record)
        row = _csv_row(text, where)
        if len(row) != len(self.columns):
            raise InputError(where, None, f"{len(row)} fields where the header has {len(self.columns)}")
        values = dict(zip(self.columns, (v.strip() for v in row), strict=True))
        protocol = values["protocol"].upper()
        if protocol not in PROTOCOLS:
            raise InputError(where, "protocol", f"{values['protocol']!r} is not TCP, UDP or SCTP")
        verdict = values.get("verdict", "").lower()
        if verdict not in ("", "allowed", "denied"):
            raise InputError(where, "verdict", f"{values['verdict']!r} is not allowed, denied or empty")
        return Flow(_csv_endpoint(values["source"], where, "source"),
                    _csv_endpoint(values["destination"], where, "destination"), protocol,  # type: ignore[arg-type]
                    _int(values["port"], where, "port", 1, 65535),
                    verdict or None, record, values.get("time") or None)  # type: ignore[arg-type]


def _csv_row(text: str, where: Location) -> list[str]:
    try:
        return next(csv.reader([text]))
    except (csv.Error, StopIteration) as exc:
        raise InputError(where, None, f"not a CSV row: {exc}") from None


def _csv_endpoint(text: str, where: Location, column: str) -> FlowEndpoint:
    parts = text.split("/")
    if len(parts) == 1:
        return FlowEndpoint(ip=_address(text, where, column))
    if len(parts) == 2 and all(parts):
        return FlowEndpoint(namespace=parts[0], pod=parts[1])
    if len(parts) == 3 and all(parts):
        return FlowEndpoint(namespace=parts[0], workload=f"{parts[1]}/{parts[2]}")
    raise InputError(where, column, f"{text!r} is not ns/pod, ns/KIND/NAME or an IP address")
