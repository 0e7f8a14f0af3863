"""Kubernetes label selectors as canonical, hashable values.

matchLabels entries are folded into `In` requirements with one value, so two
selectors that select the same thing by the same rules share one key; that
key interns selectors and drives equivalence classes.
"""

from __future__ import annotations

from collections.abc import Mapping
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

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements) if self.requirements else "{}"


def requirement(key: str, operator: Operator, values: tuple[str, ...] | list[str] = ()) -> Requirement:
    """Build a requirement with its values in canonical order."""
    return Requirement(key, operator, tuple(sorted(set(values))))


EVERYTHING = LabelSelector()
