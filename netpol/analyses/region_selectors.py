"""The pod selectors that can apply to a namespace region's pods, indexed by where they apply, and the focus
that narrows them to what a question about some namespaces needs (netpol.analyses.regions)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from netpol.analyses.label_space import NamespaceRegion
from netpol.model import DIRECTIONS, METADATA_NAME_LABEL, Cluster, NetworkPolicy, PodPeer, Rule, TierSelector
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
    that hold one of them (those of other namespaces' rules that can reach a focus pod)."""

    namespaces: frozenset[str]
    labels: dict[str, list[dict[str, str]]]
    peers: dict[LabelSelector, set[LabelSelector]]  # the focus rules' peers elsewhere, per namespace selector
    holding: dict[LabelSelector, bool]

    def holds(self, nsel: LabelSelector) -> bool:
        """Whether a namespace selector matches a focus namespace (in any version)."""
        found = self.holding.get(nsel)
        if found is None:
            found = self.holding[nsel] = any(nsel.matches(labels) for sets in self.labels.values() for labels in sets)
        return found


@dataclass(frozen=True)
class PodSelectors:
    """Every pod selector of the input, indexed by where it can apply, so that finding a namespace's
    selectors costs what applies to it, not a pass over every policy per namespace."""

    own: dict[str, set[LabelSelector]]  # per namespace: its policies' subjects and same-namespace peers
    # (namespace selector, pod selectors) of peers whose namespace selector names namespaces by
    # kubernetes.io/metadata.name In: only those named namespaces can match
    by_name: dict[str, dict[LabelSelector, set[LabelSelector]]]
    anywhere: dict[LabelSelector, set[LabelSelector]]  # the other peers, per namespace selector
    policies: dict[str, list[NetworkPolicy]]  # per namespace
    tiered: dict[LabelSelector, set[LabelSelector]]  # the Admin and Baseline subjects and peers, per namespace selector

    @classmethod
    def of(cls, cluster: Cluster) -> PodSelectors:
        own: dict[str, set[LabelSelector]] = {}
        policies: dict[str, list[NetworkPolicy]] = {}
        peers: list[tuple[LabelSelector, LabelSelector]] = []
        for pol in cluster.policies:
            policies.setdefault(pol.namespace, []).append(pol)
            mine = own.setdefault(pol.namespace, set())
            mine.add(pol.pod_selector)
            for d in DIRECTIONS:
                for rule in pol.rules(d):
                    for peer in rule.peers:
                        if not isinstance(peer, PodPeer) or peer.pod_selector is None:
                            continue
                        if peer.namespace_selector is None:
                            mine.add(peer.pod_selector)
                        else:
                            peers.append((peer.namespace_selector, peer.pod_selector))
        tiered: dict[LabelSelector, set[LabelSelector]] = {}
        for s in tier_selectors(cluster):
            if s.pod_selector is not None:
                peers.append((s.namespace_selector, s.pod_selector))
                tiered.setdefault(s.namespace_selector, set()).add(s.pod_selector)
        for nsel, psel in label_selectors(cluster.cilium):  # CNP and CCNP selectors apply wherever they can, like
            peers.append((nsel, psel))  # the Admin and Baseline ones
            tiered.setdefault(nsel, set()).add(psel)
        by_name: dict[str, dict[LabelSelector, set[LabelSelector]]] = {}
        anywhere: dict[LabelSelector, set[LabelSelector]] = {}
        for nsel, pods in peers:
            names = next((r.values for r in nsel.requirements
                          if r.key == METADATA_NAME_LABEL and r.operator == "In"), None)
            for name in names or ():
                by_name.setdefault(name, {}).setdefault(nsel, set()).add(pods)
            if names is None:
                anywhere.setdefault(nsel, set()).add(pods)
        return cls(own, by_name, anywhere, policies, tiered)

    def within(self, ns: NamespaceRegion, scopes: Sequence[Scope], label_sets: list[dict[str, str]]
               ) -> set[LabelSelector]:
        """The pod selectors that can apply to pods of namespace region `ns` (with any of its versions'
        labels; a region of other namespaces has no name a selector names)."""
        out = set(self.own.get(ns.name, ())) if ns.named else set()
        named = self.by_name.get(ns.name, {}) if ns.named else {}
        for groups in (named, self.anywhere):
            for nsel, pods in groups.items():
                if any(nsel.matches(labels) for labels in label_sets):
                    out |= pods
        return out | _scoped(ns, scopes)

    def focus(self, namespaces: frozenset[str], labels: dict[str, list[dict[str, str]]]) -> Focus:
        peers: dict[LabelSelector, set[LabelSelector]] = {}
        for peer in self._focus_peers(namespaces):
            assert peer.namespace_selector is not None
            if peer.pod_selector is not None:
                peers.setdefault(peer.namespace_selector, set()).add(peer.pod_selector)
        return Focus(namespaces, labels, peers, {})

    def _focus_peers(self, namespaces: frozenset[str]) -> Iterator[PodPeer]:
        """The focus namespaces' rules' peers in other namespaces (those with a namespace selector)."""
        for name in sorted(namespaces):
            for pol in self.policies.get(name, ()):
                for d in DIRECTIONS:
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
        """The pod selectors that tell apart pods of `ns` (not a focus namespace) for a connection with a pod
        of a focus namespace: the focus namespaces' rules' peers that can hold them, the Admin and Baseline
        selectors, and the subjects of `ns`'s own policies that decide such a connection. A subject decides
        through its rules that can hold a focus pod, and through isolation: where no policy of that direction
        selects every pod of `ns`, whether any selects a pod depends on its labels, so every subject counts."""
        if not focus.namespaces:
            return _scoped(ns, scopes)
        out: set[LabelSelector] = set()
        for groups in (focus.peers, self.tiered):
            for nsel, pods in groups.items():
                if any(nsel.matches(labels) for labels in label_sets):
                    out |= pods
        for d in DIRECTIONS:
            mine = [pol for pol in self.policies.get(ns.name, ()) if ns.named and pol.affects(d)]
            closed = any(pol.pod_selector.selects_all for pol in mine)
            out.update(pol.pod_selector for pol in mine
                       if not closed or any(_may_hold(rule, focus) for rule in pol.rules(d)))
        return out | _scoped(ns, scopes)


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
