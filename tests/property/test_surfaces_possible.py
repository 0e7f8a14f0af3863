"""Every surface tells the same truth about possible pods: each claim of `list` and `exposure` that names pods
that could exist ("any pod in namespace shop", "pods with app notin (db) in any other namespace with team=x"),
parsed back, is checked on concrete pods of the region it names.

Per random cluster (v1 and tiered), the claims with a possible-pod end and an input's pod at the other are read
from the JSON of both commands. Concrete pods are made inside each named region (in the namespace it names, or
in namespaces the input does not name, with labels the phrase allows: named values, another value, none), and a
few anywhere; each declares some of the named ports the rules use, at numbers rules name or not. The pods are added
to the cluster (each new namespace with its labels), and for every such pod and every input pod, both ways, the
ports the claims give it (the one claim whose phrase holds it; none: no connection) are exactly the ports of the
enlarged cluster's matrix (held to the reference evaluator by test_agreement.py): no claim says more than the
matrix, and every connection the matrix allows is printed. The report names no possible pods, so it has none
to check.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from netpol import Analyzer, load_objects
from netpol.analyses.placeholder_ports import placeholders
from netpol.model import METADATA_NAME_LABEL
from netpol.model.portsets import PortSet, Protocol, icmp_value, is_icmp
from tests.property.strategies import LABEL_VALUES, NAMESPACES
from tests.property.test_surfaces import fewer, run, written

FREE_PORT = 40000  # up to 40099: numbers no random rule names
# where concrete pods declare named ports: numbers rules name (53-8080 is a range of the strategies), or not
NUMBERS = [53, 80, 100, 443, 8080, 9000]
Labels = dict[str, str]
# every label set a pod (or a namespace) can have that the selectors tell apart: each key with a value a
# selector names, another value ("zz"), or absent
COMBOS: list[Labels] = [{k: v for k, v in zip(LABEL_VALUES, values, strict=True) if v is not None}
                        for values in itertools.product(*([*vs, "zz", None] for vs in LABEL_VALUES.values()))]


# -- phrases, parsed back --------------------------------------------------------------------------------------

def _term(text: str) -> Callable[[Labels], bool]:
    """One term of `Atoms.describe`: `no k`, `k set`, `k=v`, `k in (a,b)`, `k notin (a,b)`, `X or no k`."""
    if " or no " in text:
        first, key = text.rsplit(" or no ", 1)
        inner = _term(first)
        return lambda labels: key not in labels or inner(labels)
    if text.startswith("no "):
        return lambda labels: text[3:] not in labels
    if text.endswith(" set"):
        return lambda labels: text[:-4] in labels
    if found := re.fullmatch(r"(\S+) (in|notin) \(([^)]*)\)", text):
        key, op, values = found.group(1), found.group(2), set(found.group(3).split(","))
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    key, _, value = text.partition("=")
    assert value, text
    return lambda labels: labels.get(key) == value


def _terms(text: str | None) -> Callable[[Labels], bool]:
    terms = [_term(t) for t in text.split(" and ")] if text else []
    return lambda labels: all(t(labels) for t in terms)


@dataclass(frozen=True)
class Place:
    """Where a concrete pod is: its namespace, that namespace's labels, whether the input names it, its labels."""

    namespace: str
    namespace_labels: tuple[tuple[str, str], ...]
    named: bool
    labels: tuple[tuple[str, str], ...]


PHRASE = re.compile(r"(any pod|pods with (.+?)) in (namespace (\S+)|any namespace|any other namespace(?: with (.+))?)")


def phrase(text: str) -> Callable[[Place], bool]:
    """The pods a region phrase (`RegionSet.describe`) names, as a test on a concrete pod."""
    if text.startswith("any pod in any namespace except "):
        listed = text[len("any pod in any namespace except "):]
        rest = [phrase(p) for p in re.split(r" or (?=pods with |any pod )", listed)]
        return lambda place: not any(r(place) for r in rest)
    found = PHRASE.fullmatch(text)
    assert found is not None, text
    pods, where, name, ns_terms = _terms(found.group(2)), found.group(3), found.group(4), _terms(found.group(5))
    if name is not None:
        return lambda place: place.named and place.namespace == name and pods(dict(place.labels))
    if where == "any namespace":
        return lambda place: pods(dict(place.labels))
    return lambda place: not place.named and ns_terms(dict(place.namespace_labels)) and pods(dict(place.labels))


def region_of_name(name: str) -> Callable[[Place], bool]:
    """A region endpoint's name: its phrases, "; " between them."""
    parts = [phrase(p) for p in name.split("; ")]
    return lambda place: any(p(place) for p in parts)


# -- claims ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    """A printed connection between an input's pod and the possible pods a name stands for."""

    region: Callable[[Place], bool]
    pod: str  # the input's pod (its key) at the other end
    inbound: bool  # from the region's pods to `pod`
    ranges: dict[str, Any]
    named_ports: tuple[str, ...]
    text: str


def list_claims(rows: list[dict[str, Any]]) -> list[Claim]:
    out = []
    for r in rows:
        kinds = (r["source_kind"], r["destination_kind"])
        if "region" in kinds and "outside" not in kinds and kinds != ("region", "region"):
            inbound = kinds[0] == "region"
            region, pod = (r["source"], r["destination"]) if inbound else (r["destination"], r["source"])
            out.append(Claim(region_of_name(region), pod, inbound, r["ranges"], tuple(r["named_ports"]),
                             f"list: {r['source']} => {r['destination']} : {r['ports']}"))
    return out


def exposure_claims(items: list[dict[str, Any]], pods: set[str]) -> list[Claim]:
    out = []
    for item in items:
        if item["target"] not in pods:
            continue
        for way in ("reached_by", "reaches"):
            for line in item[way]:
                regions = [p for p in line["peers"] if p.startswith(("any pod ", "pods with "))]
                if regions:
                    out.append(Claim(region_of_name("; ".join(regions)), item["target"], way == "reached_by",
                                     line["ranges"], tuple(line["named_ports"]),
                                     f"exposure {item['target']} {way}: {line['peers']} : {line['ports']}"))
    return out


def _port_set(ranges: dict[str, Any]) -> PortSet:
    items: list[tuple[Protocol, int, int]] = []
    for proto, intervals in ranges.items():
        for lo, hi in intervals:
            items.append((proto, icmp_value(*lo), icmp_value(*hi)) if is_icmp(proto) else (proto, lo, hi))
    return PortSet.of(items)


def _numbers(token: str) -> PortSet:
    """The numbers after `@` in a named-port token (`TCP:http@80,100-200`)."""
    proto, _, rest = token.removeprefix("not ").partition(":")
    numbers = rest.partition("@")[2]
    spans = (n.partition("-") for n in numbers.split(","))
    return PortSet.of((proto, int(a), int(b or a)) for a, _, b in spans)  # type: ignore[misc]


def claimed(claim: Claim, declared: list[tuple[Protocol, int, str]], stretches: dict[tuple[str, str], PortSet]
            ) -> PortSet:
    """The ports a claim gives one pod: to a possible pod (an outbound claim), its numbers where it declares no
    name the rules use; where it declares one (docs/exposure.md), `PROTOCOL:name` opens the name wherever the
    pod declares it but at the numbers `not PROTOCOL:name@X` lists; without it the numbers decide where rules
    name the number (`stretches`, per name and protocol), but `PROTOCOL:name@X` opens X and `not
    PROTOCOL:name@X` closes it, and every number no rule names is closed."""
    ports = _port_set(claim.ranges)
    if claim.inbound:
        return ports
    out = ports.difference(PortSet.of((proto, number, number) for proto, number, _ in declared))
    for proto, number, name in declared:
        tokens = [t for t in claim.named_ports if t.removeprefix("not ").partition("@")[0] == f"{proto}:{name}"]
        opened = any(_numbers(t).contains(proto, number) for t in tokens if "@" in t and not t.startswith("not "))
        closed = any(_numbers(t).contains(proto, number) for t in tokens if "@" in t and t.startswith("not "))
        if f"{proto}:{name}" in tokens:
            open_ = not closed
        elif stretches.get((name, proto), PortSet()).contains(proto, number):
            open_ = opened or (ports.contains(proto, number) and not closed)
        else:
            open_ = False
        if open_:
            out = out.union(PortSet.of([(proto, number, number)]))
    return out


# -- concrete pods -----------------------------------------------------------------------------------------------

def named_namespaces(objects: list[dict[str, Any]]) -> set[str]:
    """The namespaces the input names: by a Namespace object, or by holding a pod, workload or policy."""
    return {o["metadata"]["name"] if o["kind"] == "Namespace" else o["metadata"]["namespace"]
            for o in objects if o["kind"] == "Namespace" or "namespace" in o["metadata"]}


def places(objects: list[dict[str, Any]], fresh: list[Labels]) -> list[tuple[str, Labels, bool]]:
    """Every namespace a concrete pod may be in: those the input names (their labels), the strategies'
    others (only their name label), and new ones with each of `fresh`'s labels."""
    named = named_namespaces(objects)
    labels = {o["metadata"]["name"]: o["metadata"].get("labels") or {} for o in objects if o["kind"] == "Namespace"}
    out = [(ns, labels.get(ns, {}), ns in named) for ns in sorted(named | set(NAMESPACES))]
    return out + [(f"new{i}", dict(ls), False) for i, ls in enumerate(fresh)]


def concrete(rng: random.Random, claims: list[Claim], objects: list[dict[str, Any]], names: list[tuple[str, str]]
             ) -> tuple[list[dict[str, Any]], dict[str, tuple[Place, list[tuple[Protocol, int, str]]]]]:
    """Pods inside each claim's region (two where it holds any) and eight anywhere, as manifests (with the new
    namespaces), and per pod key where it is and the named ports it declares."""
    spaces = places(objects, rng.sample(COMBOS, 12) + [{}])
    every = [Place(ns, tuple(sorted({**ls, METADATA_NAME_LABEL: ns}.items())), named, tuple(sorted(pod.items())))
             for ns, ls, named in spaces for pod in COMBOS]
    chosen: list[Place] = []
    for claim in {c.text: c for c in claims}.values():
        inside = [p for p in every if claim.region(p)]
        chosen += rng.sample(inside, min(2, len(inside)))
    chosen += rng.sample(every, 8)
    out: list[dict[str, Any]] = []
    made: dict[str, tuple[Place, list[tuple[Protocol, int, str]]]] = {}
    for i, place in enumerate(chosen):
        taken: dict[str, tuple[str, int, str]] = {}
        for name, proto in rng.sample(names, rng.randint(0, len(names))):
            number = rng.choice([*NUMBERS, FREE_PORT + i])  # a name once per pod, a number once per protocol
            if name not in taken and (proto, number) not in {(p, n) for p, n, _ in taken.values()}:
                taken[name] = (proto, number, name)
        declared: list[tuple[Protocol, int, str]] = list(taken.values())  # type: ignore[arg-type]
        key = f"{place.namespace}/possible{i}"
        made[key] = (place, declared)
        out.append({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"possible{i}", "namespace": place.namespace, "labels": dict(place.labels)},
            "spec": {"containers": [{"name": "c", "ports": [{"containerPort": n, "protocol": p, "name": nm}
                                                            for p, n, nm in declared]}]}})
    out += [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": ls}}
            for ns, ls, _ in spaces if ns.startswith("new") and any(p.namespace == ns for p in chosen)]
    return out, made


def claims_hold(objects: list[dict[str, Any]], claims: list[Claim], seed: int, targets: set[str] | None = None) -> None:
    """Every claim, on concrete pods of its region, is the enlarged cluster's matrix, and the matrix's every
    connection between such a pod and an input pod (of `targets`, default: every one) is claimed."""
    rng = random.Random(seed)
    named_ports = placeholders(load_objects(objects).cluster)
    names = sorted({(c.name, c.protocol) for c in named_ports if c.name})
    stretches = {(name, proto): PortSet.of((proto, *c.stands_for) for c in named_ports  # type: ignore[misc]
                                           if (c.name, c.protocol) == (name, proto) and c.stands_for)
                 for name, proto in names}
    extra, made = concrete(rng, claims, objects, names)
    a = Analyzer(load_objects(objects + extra).cluster)
    m = a.matrix()
    pods = a.cluster.pods_by_key
    inputs = targets if targets is not None else {k for k in pods if k not in made}
    for key, (place, declared) in made.items():
        for other in sorted(inputs):
            for inbound in (True, False):
                src, dst = (key, other) if inbound else (other, key)
                found = [c for c in claims if c.pod == other and c.inbound is inbound and c.region(place)]
                assert len(found) <= 1, ("a pod in two claims", src, dst, [c.text for c in found])
                got = claimed(found[0], declared, stretches) if found else PortSet()
                want = m.ports(pods[src], pods[dst])
                assert got == want, (src, dst, place, declared, str(got), str(want), [c.text for c in found])


@fewer(0.5)  # two runs of the CLI and a cluster of some 50 more pods per example
def test_possible_pod_claims_of_list_and_exposure_hold_for_concrete_pods(clusters: Any, data: st.DataObject) -> None:
    objects = data.draw(clusters)
    pods = {p.key for p in load_objects(objects).cluster.pods}
    with written(objects) as path:
        rows = json.loads(run("list", "-f", str(path), "-o", "json"))["connections"]
        items = json.loads(run("exposure", "-f", str(path), "-o", "json"))["exposure"]
    seed = data.draw(st.integers(0, 2**32 - 1))
    claims_hold(objects, list_claims(rows), seed)
    claims_hold(objects, exposure_claims(items, pods), seed)


def test_exposure_keeps_a_regions_named_ports_apart_from_a_pod_on_all_ports() -> None:
    """A pod of the input and a region reached on all ports, the region on its named ports too, are two lines: one
    line named `[]` for both (what exposure printed), and a pod declaring http in that region reads as closed there."""
    from tests.builders import pod, policy

    objects = [pod("api", "shop", {"app": "api"}), pod("db", "shop", {"app": "db"}),
               policy("web", "shop", {"matchLabels": {"app": "web"}}, ingress=[{"ports": [{"port": "http"}]}])]
    with written(objects) as path:
        items = json.loads(run("exposure", "shop/api", "-f", str(path), "-o", "json"))["exposure"]
    assert [(line["peers"], line["ports"], line["named_ports"]) for line in items[0]["reaches"]] == [
        (["any address"], "all", []),
        (["any pod in any namespace except pods with app=web in namespace shop"], "all", ["TCP:http"]),
        (["pods with app=web in namespace shop"], "TCP:http", ["TCP:http"]),
        (["shop/db"], "all", [])]
    claims_hold(objects, exposure_claims(items, {"shop/api", "shop/db"}), 0, {"shop/api"})
