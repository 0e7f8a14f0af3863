"""Kubernetes label selectors as canonical, hashable values.

matchLabels entries are folded into `In` requirements with one value, so two
selectors that select the same thing by the same rules share one key; that
key interns selectors and drives equivalence classes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Operator = Literal["In", "NotIn", "Exists", "DoesNotExist"]
OPERATORS: tuple[Operator, ...] = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True, order=True)
class Requirement:
    """One ANDed condition. A key the object lacks never equals any value."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()  # sorted, deduplicated

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        return not present

    def __str__(self) -> str:
        if self.operator == "In" and len(self.values) == 1:
            return f"{self.key}={self.values[0]}"
        if self.operator == "In":
            return f"{self.key} in ({','.join(self.values)})"
        if self.operator == "NotIn":
            return f"{self.key} notin ({','.join(self.values)})"
        if self.operator == "Exists":
            return self.key
        return f"!{self.key}"


@dataclass(frozen=True, order=True)
class LabelSelector:
    """A conjunction of requirements; no requirements selects everything."""

    requirements: tuple[Requirement, ...] = ()

    @classmethod
    def build(
        cls,
        match_labels: Mapping[str, str] | None = None,
        expressions: tuple[Requirement, ...] = (),
    ) -> LabelSelector:
        reqs = {Requirement(k, "In", (v,)) for k, v in (match_labels or {}).items()}
        reqs.update(expressions)
        return cls(tuple(sorted(reqs)))

    @property
    def selects_all(self) -> bool:
        return not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    def covers(self, other: LabelSelector) -> bool:
        """Certainly selects everything `other` does: its conditions are a subset of other's (sufficient,
        not necessary: `a in (x,y)` covers `a=x` only when written so)."""
        return set(self.requirements) <= set(other.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements) if self.requirements else "{}"


@dataclass(frozen=True)
class KeyDomain:
    """What a selector leaves possible for one key: absent or not, and the values (a finite set, or every
    value but `excluded`; values are unbounded, so no finite list holds all of those)."""

    absent: bool
    values: frozenset[str] | None  # None: every value except `excluded`
    excluded: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.absent and self.values is not None and not self.values


def key_domain(requirements: Iterable[Requirement]) -> KeyDomain:
    """The domain the requirements (all on one key) leave."""
    present_only = nothing_present = False
    values: set[str] | None = None
    excluded: set[str] = set()
    for r in requirements:
        if r.operator == "In":
            values = set(r.values) if values is None else values & set(r.values)
            present_only = True
        elif r.operator == "NotIn":
            excluded.update(r.values)
        elif r.operator == "Exists":
            present_only = True
        else:
            nothing_present = True
    if nothing_present:
        return KeyDomain(not present_only, frozenset())
    if values is not None:
        return KeyDomain(False, frozenset(values - excluded))
    return KeyDomain(not present_only, None, frozenset(excluded))


def by_key(*selectors: LabelSelector) -> dict[str, list[Requirement]]:
    out: dict[str, list[Requirement]] = {}
    for sel in selectors:
        for r in sel.requirements:
            out.setdefault(r.key, []).append(r)
    return out


def satisfiable(*selectors: LabelSelector) -> bool:
    """Some label set matches all the selectors: exact, key by key (a key absent from a label set
    satisfies NotIn and DoesNotExist; any value outside finite In lists is possible)."""
    return not any(key_domain(reqs).empty for reqs in by_key(*selectors).values())


def requirement(key: str, operator: Operator, values: tuple[str, ...] | list[str] = ()) -> Requirement:
    """Build a requirement with its values in canonical order."""
    return Requirement(key, operator, tuple(sorted(set(values))))


EVERYTHING = LabelSelector()

_TERM = re.compile(r"^\s*(?:(!)\s*([^\s=!(),]+)|([^\s=!(),]+)\s*(?:(==?|!=)\s*([^\s=!(),]*)"
                   r"|\s(in|notin)\s*\(([^()]*)\))?)\s*$")


@dataclass(frozen=True)
class Scope:
    """Pods by namespace (None: any) and labels: every possible such pod (netpol.regions)."""

    namespace: str | None
    selector: LabelSelector


def parse_scope(text: str) -> Scope | None:
    """`NS{labels}` as a Scope (`*{...}` or `{...}`: any namespace); None when text is not of that form.
    Raises ValueError for a selector that cannot be read."""
    if not text.endswith("}") or "{" not in text:
        return None
    ns, _, rest = text.partition("{")
    try:
        selector = parse_selector_text(rest[:-1])
    except ValueError as exc:
        raise ValueError(f"{text}: {exc}") from None
    return Scope(None if ns in ("", "*") else ns, selector)


def parse_selector_text(text: str) -> LabelSelector:
    """kubectl's selector syntax: `app=db,tier in (a,b),env notin (x),team,!debug`; `k!=v` is NotIn."""
    terms: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    reqs: list[Requirement] = []
    for term in terms:
        if not term.strip():
            if len(terms) == 1:
                break
            raise ValueError(f"empty term in selector {text!r}")
        m = _TERM.match(term)
        if m is None:
            raise ValueError(f"cannot read {term.strip()!r} as a label selector term (key=value, key!=value, "
                             "key in (a,b), key notin (a,b), key, !key)")
        neg_key, key, op, value, setop, values = m.group(2), m.group(3), m.group(4), m.group(5), m.group(6), m.group(7)
        if neg_key is not None:
            reqs.append(requirement(neg_key, "DoesNotExist"))
        elif op is not None:
            reqs.append(requirement(key, "NotIn" if op == "!=" else "In", [value]))
        elif setop is not None:
            vals = [v.strip() for v in values.split(",") if v.strip()]
            reqs.append(requirement(key, "In" if setop == "in" else "NotIn", vals))
        else:
            reqs.append(requirement(key, "Exists"))
    return LabelSelector(tuple(sorted(set(reqs))))
