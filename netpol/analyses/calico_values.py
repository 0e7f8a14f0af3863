"""Per label key, the values Calico's selectors tell apart, each kind with a witness: the atoms of the label space
possible pods are cut in under Calico (netpol.analyses.calico_regions).

A Kubernetes selector only asks whether a value is one it names; Calico's also ask `contains`, `starts with` and
`ends with`. So the values of a key fall into: each value a selector names (`==`, `in`), and the realizable
combinations of the string tests among every other value. Those combinations are found exactly, not guessed: a
breadth-first walk over the product of small automata (the key's value syntax, an Aho-Corasick automaton of the
`contains` and `ends with` literals, the `starts with` literals read so far, the named values read so far) reads
strings in order of length up to the syntax's bound; two strings in one product state answer every test alike for
every continuation, so each state is walked once, and each combination gets the shortest value that shows it.
"""

from __future__ import annotations

import string
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from netpol.analyses.label_space import RegionLimitError
from netpol.model.calico_selectors import Compare, Has, InSet

Atomic = Has | Compare | InSet
MAX_STATES = 200_000  # product states one key's walk may visit: beyond, the answer is refused, never guessed
_STRING_TESTS = ("contains", "starts with", "ends with")


@dataclass(frozen=True)
class Syntax:
    """The values a label may take: Kubernetes label values (empty, or up to 63 of `[A-Za-z0-9._-]` starting and
    ending alphanumeric), DNS-1123 labels (namespace names) or DNS-1123 subdomains (service account names), up
    to `max_length` characters."""

    kind: Literal["label value", "DNS label", "DNS subdomain"]
    max_length: int

    def allowed(self, c: str) -> bool:
        if self.kind == "label value":
            return c.isascii() and (c.isalnum() or c in "-_.")
        return (c in string.ascii_lowercase or c in string.digits or c == "-"
                or (c == "." and self.kind == "DNS subdomain"))

    def step(self, state: str, c: str) -> str | None:
        """States: S start, A after an alphanumeric, M after another character, D after a subdomain's dot."""
        if not self.allowed(c):
            return None
        if c.isalnum():
            return "A"
        if state == "S" or state == "D" or (c == "." and state == "M" and self.kind == "DNS subdomain"):
            return None
        return "D" if c == "." and self.kind == "DNS subdomain" else "M"

    def accepts(self, state: str) -> bool:
        return state == "A" or (state == "S" and self.kind == "label value")

    def valid(self, value: str) -> bool:
        state: str | None = "S"
        for c in value:
            state = self.step(state, c) if state is not None else None
        return state is not None and self.accepts(state) and len(value) <= self.max_length


LABEL_VALUE = Syntax("label value", 63)
DNS_LABEL = Syntax("DNS label", 63)


def named_values(tests: Iterable[Atomic]) -> set[str]:
    """The values `==`, `!=`, `in` and `not in` name."""
    out: set[str] = set()
    for t in tests:
        if isinstance(t, InSet):
            out.update(t.values)
        elif isinstance(t, Compare) and t.op in ("==", "!="):
            out.add(t.value)
    return out


def string_tests(tests: Iterable[Atomic]) -> list[Compare]:
    return sorted({t for t in tests if isinstance(t, Compare) and t.op in _STRING_TESTS}, key=str)


def value_atoms(key: str, tests: Iterable[Atomic], syntax: Syntax) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The key's values as atoms: (the named values the syntax allows, sorted; one witness per realizable
    combination of the string tests among all other values). Every value of the syntax answers every test
    as exactly one atom does."""
    tests = list(tests)
    named = named_values(tests)
    return tuple(sorted(v for v in named if syntax.valid(v))), _classes(key, string_tests(tests), named, syntax)


class _AhoCorasick:
    """The `contains` and `ends with` literals: a state is the longest suffix read that begins a literal."""

    def __init__(self, patterns: list[str]) -> None:
        self.children: list[dict[str, int]] = [{}]
        self.fail = [0]
        self.out = [0]
        for i, p in enumerate(patterns):
            node = 0
            for c in p:
                nxt = self.children[node].get(c)
                if nxt is None:
                    nxt = len(self.children)
                    self.children[node][c] = nxt
                    self.children.append({})
                    self.fail.append(0)
                    self.out.append(0)
                node = nxt
            self.out[node] |= 1 << i
        queue = deque(self.children[0].values())
        while queue:
            node = queue.popleft()
            for c, child in self.children[node].items():
                f = self.fail[node]
                while f and c not in self.children[f]:
                    f = self.fail[f]
                self.fail[child] = self.children[f].get(c, 0) if self.children[f].get(c, 0) != child else 0
                self.out[child] |= self.out[self.fail[child]]
                queue.append(child)

    def move(self, node: int, c: str) -> int:
        while node and c not in self.children[node]:
            node = self.fail[node]
        return self.children[node].get(c, 0)


def _alphabet(literals: Iterable[str], syntax: Syntax) -> list[str]:
    """The literals' characters, and one character of each kind no literal uses: any other character of that
    kind reads exactly as it does."""
    used = {c for lit in literals for c in lit}
    out = set(used) | {"-", "_", "."}
    for kind in (string.ascii_lowercase, string.ascii_uppercase, string.digits):
        fresh = next((c for c in kind if c not in used), None)
        if fresh is not None:
            out.add(fresh)
    return sorted(c for c in out if syntax.allowed(c))


def _prefix_of(text: str, literals: tuple[str, ...]) -> str | None:
    return text if any(lit.startswith(text) for lit in literals) else None


def _classes(key: str, tests: list[Compare], named: set[str], syntax: Syntax) -> tuple[str, ...]:
    """One shortest witness per realizable combination of `tests` among the syntax's values that are not
    `named`, in the order found."""
    contains = [t.value for t in tests if t.op != "starts with" and t.value]
    starts = tuple(sorted({t.value for t in tests if t.op == "starts with" and t.value}))
    excluded = tuple(sorted(named))
    automaton = _AhoCorasick(sorted(set(contains)))
    alphabet = _alphabet([*contains, *starts, *excluded], syntax)
    start = ("S", 0, 0, _prefix_of("", starts), 0, _prefix_of("", excluded))
    seen = {start}
    queue: deque[tuple[tuple[str, int, int, str | None, int, str | None], str]] = deque([(start, "")])
    found: dict[tuple[bool, ...], str] = {}
    while queue:
        (lang, node, got, prefix, matched, eq), text = queue.popleft()
        if syntax.accepts(lang) and not (eq is not None and eq in named):
            found.setdefault(tuple(t.evaluate({key: text}) for t in tests), text)
        if len(text) == syntax.max_length:
            continue
        for c in alphabet:
            nxt_lang = syntax.step(lang, c)
            if nxt_lang is None:
                continue
            nxt_node = automaton.move(node, c)
            nxt_prefix = _prefix_of(prefix + c, starts) if prefix is not None else None
            nxt_matched = matched | (1 << starts.index(prefix + c) if nxt_prefix in starts else 0)
            state = (nxt_lang, nxt_node, got | automaton.out[nxt_node], nxt_prefix, nxt_matched,
                     _prefix_of(eq + c, excluded) if eq is not None else None)
            if state not in seen:
                if len(seen) >= MAX_STATES:
                    raise RegionLimitError(f"the string tests of Calico selectors on label {key} "
                                           f"({', '.join(str(t) for t in tests[:3])}, ...) take more than "
                                           f"{MAX_STATES:,} states to tell apart; netpol does not sample")
                seen.add(state)
                queue.append((state, text + c))
    return tuple(found.values())
