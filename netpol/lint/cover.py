"""Exact containment between label selectors, for checks that must hold for every pod that could exist.

A label set is any map from keys to values, so a selector's conditions on one key never constrain
another: `inner` selects only what `outer` selects exactly when, key by key, every choice (the key
absent, or one of its values) that inner's conditions leave possible is one outer's conditions accept.
Values are unbounded, so a condition that excludes finitely many values (NotIn, Exists) leaves
infinitely many possible: no finite `In` list contains them.
"""

from __future__ import annotations

from netpol.model import METADATA_NAME_LABEL
from netpol.selectors import KeyDomain, LabelSelector, Requirement, by_key, key_domain, requirement, satisfiable


def _accepts(r: Requirement, d: KeyDomain) -> bool:
    """Every choice in `d` satisfies `r`."""
    if r.operator == "In":
        return not d.absent and d.values is not None and d.values <= set(r.values)
    if r.operator == "NotIn":
        return (d.values is not None and not d.values & set(r.values)) or (
            d.values is None and set(r.values) <= d.excluded)
    if r.operator == "Exists":
        return not d.absent
    return d.values is not None and not d.values


def implies(inner: LabelSelector, outer: LabelSelector) -> bool:
    """Every label set `inner` matches, `outer` matches too (exact; true when inner matches nothing)."""
    if not satisfiable(inner):
        return True
    conditions = by_key(inner)
    return all(_accepts(r, key_domain(conditions.get(r.key, []))) for r in outer.requirements)


NAMESPACE = requirement(METADATA_NAME_LABEL, "Exists")  # every namespace has this label


def namespace_selector(selector: LabelSelector) -> LabelSelector:
    """The selector as namespaces meet it: their label sets always hold kubernetes.io/metadata.name."""
    return LabelSelector.build(expressions=(*selector.requirements, NAMESPACE))


def namespace_names(selector: LabelSelector) -> frozenset[str] | None:
    """The only namespace names `selector` can match (from its kubernetes.io/metadata.name conditions), or
    None when it can match a namespace of any name."""
    return key_domain(r for r in selector.requirements if r.key == METADATA_NAME_LABEL).values


def namespace_of(name: str) -> LabelSelector:
    """Namespace `name`, as far as a namespace the input does not declare is known: by its name label."""
    return LabelSelector.build({METADATA_NAME_LABEL: name})
