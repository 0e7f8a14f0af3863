"""What every cluster check of lint needs beside the engine: pods per namespace, objects by key, and pods
named and counted for a message."""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice

from netpol.analyses.lint.findings import Subject
from netpol.engine import Engine
from netpol.engine.bits import bit_ids, bit_mask, low_bits
from netpol.errors import name_list
from netpol.model import Pod, TieredPolicy
from netpol.policies.calico import CalicoRuleRef
from netpol.policies.cilium import CiliumRuleRef
from netpol.policies.networkpolicy import RuleRef
from netpol.policies.tiered import TierRuleRef

_SAMPLE = 3  # names gathered for a message (name_list shows three)


class _Context:
    """The engine plus lookups every check needs: pods per namespace, objects by key."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        cluster = engine.cluster
        self.pods_in: dict[str, int] = {}
        for pod in cluster.pods:
            self.pods_in[pod.namespace] = self.pods_in.get(pod.namespace, 0) + 1
        self.policies = {p.key: p for p in cluster.policies}
        self.tiered = {(p.kind, p.name): p for p in cluster.tiered}
        calico = cluster.calico.policies if cluster.calico is not None else ()
        self.calico = {(p.kind, f"{p.namespace}/{p.name}" if p.namespace else p.name): p for p in calico}
        self.cilium = {(p.kind, p.key.partition("/")[2]): p for p in cluster.cilium}
        # the names the stages give the policies that select pods (Engine.selecting), in every family
        self.named: dict[str, Subject] = {p.key: p for p in cluster.policies}
        self.named.update({f"KubernetesNetworkPolicy {p.key}": p for p in cluster.policies})
        self.named.update({f"{p.short_kind} {p.name}": p for p in cluster.tiered})
        self.named.update({f"{kind} {key}": p for (kind, key), p in self.calico.items()})
        self.named.update({p.short: p for p in cluster.cilium})
        self.usable = engine.all_bits & ~engine.host_bits  # classes policies can select
        import numpy as np

        self._sizes = np.array([c.size for c in engine.classes], dtype=np.int64)

    def pods(self, bits: int, but: Callable[[Pod], bool] | None = None) -> str:
        """'N pods (a, b, c +N more)' for the classes in `bits` (`but`: leaving out the pods it is true of).
        The names shown come from the first classes, so a finding about 100k pods costs no walk over them."""
        names: list[str] = []
        if but is None:
            total = self.count(bits)
            for cid in islice(low_bits(bits), _SAMPLE):
                names.extend(p.display for p in self.engine.classes[cid].pods[:_SAMPLE])
        else:
            kept = [p for cid in bit_ids(bits) for p in self.engine.classes[cid].pods if not but(p)]
            total, names = len(kept), [p.display for p in kept[:_SAMPLE]]
        return f"{total:,} pod{'s' if total != 1 else ''} ({name_list(names, total=total)})"

    def count(self, bits: int) -> int:
        """Pods in the classes of `bits`: a weighted popcount, in numpy for large sets."""
        if bits.bit_count() <= 64:
            return sum(self.engine.classes[cid].size for cid in low_bits(bits))
        return int(self._sizes[bit_mask(bits, len(self._sizes))].sum())

    def tier_policy(self, ref: TierRuleRef) -> TieredPolicy:
        return self.tiered[(ref.kind, ref.policy)]  # type: ignore[index]

    def owner(self, who: object) -> Subject | None:
        """The object a rule's provenance, or a selecting policy's stage name, comes from (None: the node rule, an
        agent option)."""
        if isinstance(who, str):
            return self.named.get(who) or self.named.get(who.split(" specs[")[0])
        if isinstance(who, TierRuleRef):
            return self.tier_policy(who)
        if isinstance(who, RuleRef):
            return self.policies[who.policy]
        if isinstance(who, CiliumRuleRef):
            return self.cilium[(who.kind, who.policy)]
        if isinstance(who, CalicoRuleRef):
            if who.kind == "KubernetesNetworkPolicy":
                return self.policies[who.policy]
            return self.tiered.get((who.kind, who.policy)) or self.calico[(who.kind, who.policy)]
        return None
