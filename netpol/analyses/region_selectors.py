"""The pod selectors that can apply to a namespace region's pods, indexed by where they apply, and the focus
that narrows them to what a question about some namespaces needs (netpol.analyses.regions)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from netpol.analyses.label_space import NamespaceRegion
from netpol.model import (
    DIRECTIONS,
    METADATA_NAME_LABEL,
    Cluster,
    Direction,
    NetworkPolicy,
    PodPeer,
    Rule,
    TierSelector,
)
from netpol.model.selectors import LabelSelector, Scope
from netpol.policies.cilium import label_selectors


def tier_selectors(cluster: Cluster) -> Iterator[TierSelector]:
    for pol in cluster.tiered:
        yield pol.subject
        for d in DIRECTIONS:
            for rule in pol.rules(d):
                for peer in rule.peers:
                    if peer.pods is not None:
                        yield peer.pods


@dataclass(frozen=True)
class Focus:
    """The namespaces a region set answers for, with each version's labels, and the namespace selectors
    that hold one of them (those of other namespaces' rules that can reach a focus pod). `directions`: of the
    focus pods' connections asked about ("ingress": into them, from other pods; "egress": out of them)."""

    namespaces: frozenset[str]
    labels: dict[str, list[dict[str, str]]]
    peers: dict[LabelSelector, set[LabelSelector]]  # the focus rules' peers elsewhere, per namespace selector
    holding: dict[LabelSelector, bool]
    directions: frozenset[Direction] = frozenset(DIRECTIONS)

    def holds(self, nsel: LabelSelector) -> bool:
        """Whether a namespace selector matches a focus namespace (in any version)."""
        found = self.holding.get(nsel)
        if found is None:
            found = self.holding[nsel] = any(nsel.matches(labels) for sets in self.labels.values() for labels in sets)
        return found


@dataclass(frozen=True)
class PodSelectors:
    """Every pod selector of the input, indexed by where it can apply, so that finding a namespace's
    selectors costs what applies to it, not a pass over every policy per namespace.

    Each is kept per side: the selectors that tell pods apart as destinations ("ingress": their namespace's
    ingress subjects, the peers of egress rules) and as sources ("egress": egress subjects, peers of ingress
    rules); the Admin and Baseline ones (and Cilium's) count on both sides."""

    # per side and namespace: its policies' subjects and same-namespace peers
    own: dict[Direction, dict[str, set[LabelSelector]]]
    # (namespace selector, pod selectors) of peers whose namespace selector names namespaces by
    # kubernetes.io/metadata.name In: only those named namespaces can match
    by_name: dict[Direction, dict[str, dict[LabelSelector, set[LabelSelector]]]]
    anywhere: dict[Direction, dict[LabelSelector, set[LabelSelector]]]  # the other peers, per namespace selector
    policies: dict[str, list[NetworkPolicy]]  # per namespace
    tiered: dict[LabelSelector, set[LabelSelector]]  # the Admin and Baseline subjects and peers, per namespace selector

    @classmethod
    def of(cls, cluster: Cluster) -> PodSelectors:
        own: dict[Direction, dict[str, set[LabelSelector]]] = {d: {} for d in DIRECTIONS}
        policies: dict[str, list[NetworkPolicy]] = {}
        peers: list[tuple[tuple[Direction, ...], LabelSelector, LabelSelector]] = []
        for pol in cluster.policies:
            policies.setdefault(pol.namespace, []).append(pol)
            for d in DIRECTIONS:
                if pol.affects(d):
                    own[d].setdefault(pol.namespace, set()).add(pol.pod_selector)
                side = (_OTHER[d],)  # a rule's peers are the other end of its direction
                for rule in pol.rules(d):
                    for peer in rule.peers:
                        if not isinstance(peer, PodPeer) or peer.pod_selector is None:
                            continue
                        if peer.namespace_selector is None:
                            own[side[0]].setdefault(pol.namespace, set()).add(peer.pod_selector)
                        else:
                            peers.append((side, peer.namespace_selector, peer.pod_selector))
        tiered: dict[LabelSelector, set[LabelSelector]] = {}
        for s in tier_selectors(cluster):
            if s.pod_selector is not None:
                peers.append((DIRECTIONS, s.namespace_selector, s.pod_selector))
                tiered.setdefault(s.namespace_selector, set()).add(s.pod_selector)
        for nsel, psel in label_selectors(cluster.cilium):  # CNP and CCNP selectors apply wherever they can, like
            peers.append((DIRECTIONS, nsel, psel))  # the Admin and Baseline ones
            tiered.setdefault(nsel, set()).add(psel)
        by_name: dict[Direction, dict[str, dict[LabelSelector, set[LabelSelector]]]] = {d: {} for d in DIRECTIONS}
        anywhere: dict[Direction, dict[LabelSelector, set[LabelSelector]]] = {d: {} for d in DIRECTIONS}
        for sides, nsel, pods in peers:
            names = next((r.values for r in nsel.requirements
                          if r.key == METADATA_NAME_LABEL and r.operator == "In"), None)
            for side in sides:
                for name in names or ():
                    by_name[side].setdefault(name, {}).setdefault(nsel, set()).add(pods)
                if names is None:
                    anywhere[side].setdefault(nsel, set()).add(pods)
        return cls(own, by_name, anywhere, policies, tiered)

    def within(self, ns: NamespaceRegion, scopes: Sequence[Scope], label_sets: list[dict[str, str]],
               sides: Iterable[Direction] = DIRECTIONS) -> set[LabelSelector]:
        """The pod selectors that can apply to pods of namespace region `ns` (with any of its versions'
        labels; a region of other namespaces has no name a selector names) on these sides of a connection
        (as destinations: "ingress"; as sources: "egress")."""
        out: set[LabelSelector] = set()
        for side in sides:
            if ns.named:
                out |= self.own[side].get(ns.name, set())
            named = self.by_name[side].get(ns.name, {}) if ns.named else {}
            for groups in (named, self.anywhere[side]):
                for nsel, pods in groups.items():
                    if not pods <= out and any(nsel.matches(labels) for labels in label_sets):
                        out |= pods
        return out | _scoped(ns, scopes)

    def focus(self, namespaces: frozenset[str], labels: dict[str, list[dict[str, str]]],
              directions: Iterable[Direction] = DIRECTIONS) -> Focus:
        """`directions`: of the focus pods' connections asked about (Focus.directions)."""
        directions = frozenset(directions)
        peers: dict[LabelSelector, set[LabelSelector]] = {}
        for peer in self._focus_peers(namespaces, directions):
            assert peer.namespace_selector is not None
            if peer.pod_selector is not None:
                peers.setdefault(peer.namespace_selector, set()).add(peer.pod_selector)
        return Focus(namespaces, labels, peers, {}, directions)

    def _focus_peers(self, namespaces: frozenset[str], directions: Iterable[Direction] = DIRECTIONS
                     ) -> Iterator[PodPeer]:
        """The focus namespaces' rules' peers in other namespaces (those with a namespace selector), of the
        rules of these directions."""
        for name in sorted(namespaces):
            for pol in self.policies.get(name, ()):
                for d in directions:
                    for rule in pol.rules(d):
                        for peer in rule.peers:
                            if isinstance(peer, PodPeer) and peer.namespace_selector is not None:
                                yield peer

    def namespace_selectors(self, focus: frozenset[str]) -> set[LabelSelector]:
        """The namespace selectors of the focus namespaces' rules: what tells the other namespaces apart
        for a connection with a focus pod."""
        return {peer.namespace_selector for peer in self._focus_peers(focus) if peer.namespace_selector is not None}

    def toward(self, ns: NamespaceRegion, focus: Focus, scopes: Sequence[Scope], label_sets: list[dict[str, str]]
               ) -> set[LabelSelector]:
        """The pod selectors that tell apart pods of `ns` for a connection with a pod of a focus namespace: the
        focus namespaces' rules' peers that can hold them, the Admin and Baseline
        selectors, and the subjects of `ns`'s own policies that decide such a connection. A subject decides
        through its rules that can hold a focus pod, and through isolation: where no policy of that direction
        selects every pod of `ns`, whether any selects a pod depends on its labels, so every subject counts.
        Only the directions of `ns`'s policies that decide a connection asked about count (its egress for a
        connection into a focus pod, its ingress for one out of a focus pod: Focus.directions), and only the
        focus rules of those directions. A focus namespace's pods count every subject of its policies of those
        directions and their rules' same-namespace peers."""
        if not focus.namespaces:
            return _scoped(ns, scopes)
        out: set[LabelSelector] = set()
        for groups in (focus.peers, self.tiered):
            for nsel, pods in groups.items():
                if any(nsel.matches(labels) for labels in label_sets):
                    out |= pods
        if ns.named and ns.name in focus.namespaces:  # its own rules' same-namespace peers, and its subjects
            for d in focus.directions:
                out |= self.own[_OTHER[d]].get(ns.name, set())
            return out | _scoped(ns, scopes)
        for d in DIRECTIONS:
            if _OTHER[d] not in focus.directions:
                continue  # pods of `ns` are not at this end of any connection asked about
            mine = [pol for pol in self.policies.get(ns.name, ()) if ns.named and pol.affects(d)]
            closed = any(pol.pod_selector.selects_all for pol in mine)
            out.update(pol.pod_selector for pol in mine
                       if not closed or any(_may_hold(rule, focus) for rule in pol.rules(d)))
        return out | _scoped(ns, scopes)


_OTHER: dict[Direction, Direction] = {"ingress": "egress", "egress": "ingress"}  # the other end's side


def _scoped(ns: NamespaceRegion, scopes: Sequence[Scope]) -> set[LabelSelector]:
    """The selectors of the scopes that apply to namespace region `ns`."""
    return {s.selector for s in scopes if s.namespace is None or (ns.named and s.namespace == ns.name)}


def _may_hold(rule: Rule, focus: Focus) -> bool:
    """Whether a rule of a namespace outside the focus can have a focus pod as its peer: a rule of every peer,
    a peer whose namespace selector matches a focus namespace, or an ipBlock (which may hold a pod of the
    input)."""
    if not rule.peers:
        return True
    return any(not isinstance(peer, PodPeer) or (peer.namespace_selector is not None
                                                 and focus.holds(peer.namespace_selector)) for peer in rule.peers)
