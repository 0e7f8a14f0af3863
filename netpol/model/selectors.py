"""Kubernetes label selectors as canonical, hashable values.

matchLabels entries are folded into `In` requirements with one value, so two
selectors that select the same thing by the same rules share one key; that
key interns selectors and drives equivalence classes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
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

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # a namespace's name (at most 63)
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


@lru_cache(maxsize=65536)  # a cluster repeats its label keys and values many times
def valid_label_value(text: str) -> bool:
    """Empty, or at most 63 alphanumerics, '-', '_' and '.', starting and ending alphanumeric."""
    return not text or (len(text) <= 63 and bool(LABEL_NAME.match(text)))


@lru_cache(maxsize=4096)
def valid_label_key(key: str) -> bool:
    """A qualified name: an optional DNS subdomain prefix and '/', then a name as a label value (not empty)."""
    prefix, _, name = key.rpartition("/")
    return bool(
        name
        and len(name) <= 63
        and LABEL_NAME.match(name)
        and (not prefix or (len(prefix) <= 253 and DNS_SUBDOMAIN.match(prefix)))
    )


def valid_namespace_name(name: str) -> bool:
    return len(name) <= 63 and bool(DNS_LABEL.match(name))


@dataclass(frozen=True)
class Scope:
    """Pods by namespace (None: any) and labels: every possible such pod (netpol.analyses.regions)."""

    namespace: str | None
    selector: LabelSelector


def parse_scope(text: str) -> Scope | None:
    """`NS{labels}` as a Scope (`*{...}` or `{...}`: any namespace); None when text is not of that form.
    Raises ValueError, one line, for a namespace name or selector that cannot be."""
    if not text.endswith("}") or "{" not in text:
        return None
    ns, _, rest = text.partition("{")
    if ns not in ("", "*") and not valid_namespace_name(ns):
        raise ValueError(f"{text}: {ns!r} is not a namespace name (lower-case letters, digits and '-', "
                         "at most 63)")
    try:
        selector = parse_selector_text(rest[:-1])
    except ValueError as exc:
        raise ValueError(f"{text}: {exc}") from None
    return Scope(None if ns in ("", "*") else ns, selector)


_TOKEN = re.compile(r"\s*(?:(!=|==|=|!|\(|\)|,|<|>)|([^\s!=(),<>]+))")
_SET_OPERATORS: dict[str, Operator] = {"in": "In", "notin": "NotIn"}


def parse_selector_text(text: str) -> LabelSelector:
    """kubectl's selector syntax (k8s.io/apimachinery labels.Parse): comma-separated `key=value`,
    `key==value`, `key!=value` (NotIn), `key in (a,b)`, `key notin (a,b)`, `key`, `!key`, spaces
    between tokens allowed; keys must be qualified names and values label values. ValueError otherwise."""
    tokens: list[str] = []  # symbols as they are; identifiers prefixed with "w:"
    at = 0
    while at < len(text):
        m = _TOKEN.match(text, at)
        if m is None:  # only trailing whitespace is left
            break
        tokens.append(m.group(1) if m.group(1) is not None else "w:" + m.group(2))
        at = m.end()
    reqs: list[Requirement] = []
    i = 0

    def take() -> str:
        nonlocal i
        i += 1
        return tokens[i - 1] if i <= len(tokens) else ""

    def key() -> str:
        tok = take()
        name = tok[2:]
        if not tok.startswith("w:") or name in _SET_OPERATORS:  # in and notin are keywords, not keys
            raise ValueError(f"expected a label key, found {_shown(tok)} in selector {text!r}")
        if not valid_label_key(name):
            raise ValueError(f"{name!r} is not a label key (an optional DNS prefix and '/', then at most 63 "
                             "letters, digits, '-', '_' or '.', starting and ending with a letter or digit)")
        return name

    def value(text_value: str) -> str:
        if not valid_label_value(text_value):
            raise ValueError(f"{text_value!r} is not a label value (at most 63 letters, digits, '-', '_' or '.', "
                             "starting and ending with a letter or digit)")
        return text_value

    while tokens:
        tok = tokens[i] if i < len(tokens) else ""
        if tok == "!":
            take()
            reqs.append(requirement(key(), "DoesNotExist"))
        else:
            name = key()
            op = tokens[i] if i < len(tokens) else ""
            if op in ("", ","):
                reqs.append(requirement(name, "Exists"))
            elif op in ("=", "==", "!="):
                take()
                given = take()[2:] if i < len(tokens) and tokens[i].startswith("w:") else ""
                reqs.append(requirement(name, "NotIn" if op == "!=" else "In", [value(given)]))
            elif op[2:] in _SET_OPERATORS:
                take()
                if take() != "(":
                    raise ValueError(f"expected '(' after {op[2:]} in selector {text!r}")
                values: list[str] = []
                while True:
                    nxt = take()
                    values.append(value(nxt[2:]) if nxt.startswith("w:") else "")
                    if nxt.startswith("w:"):
                        nxt = take()
                    if nxt == ")":
                        break
                    if nxt != ",":
                        raise ValueError(f"expected ',' or ')' in the values of {name}, found {_shown(nxt)} in "
                                         f"selector {text!r}")
                if values == [""]:
                    raise ValueError(f"{name} {op[2:]} () names no value in selector {text!r}")
                reqs.append(requirement(name, _SET_OPERATORS[op[2:]], values))
            else:
                gt = " (a policy's selector has no > or <)" if op in ("<", ">") else ""
                raise ValueError(f"expected =, ==, !=, in or notin after {name}, found {_shown(op)} in selector "
                                 f"{text!r}{gt}")
        end = take()
        if end == "" and i > len(tokens):
            break
        if end != ",":
            raise ValueError(f"expected ',' or the end, found {_shown(end)} in selector {text!r}")
        if i >= len(tokens):
            raise ValueError(f"empty term at the end of selector {text!r}")
    return LabelSelector(tuple(sorted(set(reqs))))


def _shown(token: str) -> str:
    return "the end" if not token else repr(token[2:] if token.startswith("w:") else token)
