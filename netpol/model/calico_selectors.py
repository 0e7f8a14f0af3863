"""Calico's selector language, parsed exactly as libcalico-go's tokenizer and parser take it, to an AST that
evaluates on label maps (shared/reference/calico-policies.md §3).

Calico selects with expressions, not with Kubernetes' matchLabels: `app == 'web' && !has(legacy)`,
`tier in {'a', 'b'}`, `name starts with 'db-'`, `all()`, `global()`. What Felix rejects is rejected here
with the position of the offending token, and what it accepts means here what it means to Felix
(libcalico-go/lib/selector/tokenizer/tokenizer.go, parser/parser.go, parser/ast.go at v3.32.1):

- only space and tab separate tokens; any other character outside a string literal that is not a label
  character is an error (so a YAML `|` block's final newline is one);
- a label is 1 to 512 of `[A-Za-z0-9_./-]`; keywords are labels where a label is expected (`in == 'x'`);
- after a label comes an operator: `==`, `!=`, `contains`, `starts with`, `ends with`, `in`, `not in`
  (`startswith`, `endswith`, `notin` too), a keyword operator followed by a non-label character;
- `has(`, `all(`, `global(` take no space before `(`;
- string literals are quoted with ' or ", hold any character but their quote, and have no escapes;
- `!` binds tighter than `&&`, which binds tighter than `||`; an even number of `!` cancels;
- an empty or blank selector is `all()`; `global()` matches everything (its meaning is where it is used).

Two choices of netpol's, for hostile input: parentheses nest at most MAX_NESTING deep (Felix has no bound;
deeper nesting could exhaust the stack), and a selector is at most MAX_LENGTH characters (its tokens would
otherwise cost many times its text in memory); the errors say so.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

MAX_LABEL = 512  # tokenizer.MaxLabelLength
MAX_NESTING = 100  # netpol's bound on nested parentheses
MAX_LENGTH = 65536  # netpol's bound on a selector's length (Calico 3.33's CRDs allow 1024)
_BLANK = " \t"
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-")


class CalicoSelectorError(ValueError):
    """A selector Calico would reject: why, and the 1-based column of the offending character."""

    def __init__(self, column: int, reason: str) -> None:
        self.column = column
        self.reason = reason
        super().__init__(f"column {column}: {reason}")


# -- the AST ------------------------------------------------------------------------------------------------

Comparison = Literal["==", "!=", "contains", "starts with", "ends with"]
Bits = Mapping[str, Mapping[str, int]]  # per label key, per value, a bitset of the label maps that hold it
_NONE: frozenset[str] = frozenset()

# Each node evaluates on one label map (`evaluate`) and on many at once (`select`: given, per key and value,
# the bitset of the maps with that label, `keys` the maps with each key and `every` all of them, the maps that
# satisfy it), which is how the engine reads it once for every group of pods (netpol/engine/predicates.py);
# `keys` is the label keys it reads.


def _quoted(value: str) -> str:
    """A literal as Felix writes it: in double quotes, unless it holds one (ast.go appendLabelOpAndQuotedString)."""
    quote = "'" if '"' in value else '"'
    return f"{quote}{value}{quote}"


@dataclass(frozen=True)
class All:
    """`all()`, or an empty selector: every label map."""

    def evaluate(self, labels: Mapping[str, str]) -> bool:
        return True

    def keys(self) -> frozenset[str]:
        return _NONE

    def select(self, bits: Bits, keys: Mapping[str, int], every: int) -> int:
        return every

    def __str__(self) -> str:
        return "all()"


@dataclass(frozen=True)
class Global:
    """`global()`: true on every label map; where it is used (a rule's namespaceSelector) gives it meaning."""

    def evaluate(self, labels: Mapping[str, str]) -> bool:
        return True

    def keys(self) -> frozenset[str]:
        return _NONE

    def select(self, bits: Bits, keys: Mapping[str, int], every: int) -> int:
        return every

    def __str__(self) -> str:
        return "global()"


@dataclass(frozen=True)
class Has:
    label: str

    def evaluate(self, labels: Mapping[str, str]) -> bool:
        return self.label in labels

    def keys(self) -> frozenset[str]:
        return frozenset((self.label,))

    def select(self, bits: Bits, keys: Mapping[str, int], every: int) -> int:
        return keys.get(self.label, 0)

    def __str__(self) -> str:
        return f"has({self.label})"


@dataclass(frozen=True)
class Compare:
    """`label OP 'value'`. An absent label fails every operator but `!=` (ast.go *ValueNode.Evaluate)."""

    label: str
    op: Comparison
    value: str

    def evaluate(self, labels: Mapping[str, str]) -> bool:
        found = labels.get(self.label)
        if found is None:
            return self.op == "!="
        if self.op == "==":
            return found == self.value
        if self.op == "!=":
            return found != self.value
        if self.op == "contains":
            return self.value in found
        if self.op == "starts with":
            return found.startswith(self.value)
        return found.endswith(self.value)

    def keys(self) -> frozenset[str]:
        return frozenset((self.label,))

    def select(self, bits: Bits, keys: Mapping[str, int], every: int) -> int:
        values = bits.get(self.label, {})
        if self.op in ("==", "!="):
            equal = values.get(self.value, 0)
            return equal if self.op == "==" else every & ~equal
        return functools.reduce(operator.or_, (b for v, b in values.items() if self.evaluate({self.label: v})), 0)

    def __str__(self) -> str:
        return f"{self.label} {self.op} {_quoted(self.value)}"


@dataclass(frozen=True)
class InSet:
    """`label in {...}` (negated: `not in`), values sorted and deduplicated as Felix keeps them. An absent
    label is in no set, and so `not in` every set."""

    label: str
    values: tuple[str, ...]
    negated: bool = False

    def evaluate(self, labels: Mapping[str, str]) -> bool:
        found = labels.get(self.label)
        if found is None:
            return self.negated
        return (found in self.values) != self.negated

    def keys(self) -> frozenset[str]:
        return frozenset((self.label,))

    def select(self, bits: Bits, keys: Mapping[str, int], every: int) -> int:
        values = bits.get(self.label, {})
        named = functools.reduce(operator.or_, (values.get(v, 0) for v in self.values), 0)
        return every & ~named if self.negated else named

    def __str__(self) -> str:
        op = "not in" if self.negated else "in"
        return f"{self.label} {op} {{{', '.join(_quoted(v) for v in self.values)}}}"


@dataclass(frozen=True)
class Not:
    operand: Node

    def evaluate(self, labels: Mapping[str, str]) -> bool:
        return not self.operand.evaluate(labels)

    def keys(self) -> frozenset[str]:
        return self.operand.keys()

    def select(self, bits: Bits, keys: Mapping[str, int], every: int) -> int:
        return every & ~self.operand.select(bits, keys, every)

    def __str__(self) -> str:
        return f"!{self.operand}"


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]  # two or more

    def evaluate(self, labels: Mapping[str, str]) -> bool:
        return all(o.evaluate(labels) for o in self.operands)

    def keys(self) -> frozenset[str]:
        return frozenset().union(*(o.keys() for o in self.operands))

    def select(self, bits: Bits, keys: Mapping[str, int], every: int) -> int:
        return functools.reduce(operator.and_, (o.select(bits, keys, every) for o in self.operands), every)

    def __str__(self) -> str:
        return "(" + " && ".join(str(o) for o in self.operands) + ")"


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]  # two or more

    def evaluate(self, labels: Mapping[str, str]) -> bool:
        return any(o.evaluate(labels) for o in self.operands)

    def keys(self) -> frozenset[str]:
        return frozenset().union(*(o.keys() for o in self.operands))

    def select(self, bits: Bits, keys: Mapping[str, int], every: int) -> int:
        return functools.reduce(operator.or_, (o.select(bits, keys, every) for o in self.operands), 0)

    def __str__(self) -> str:
        return "(" + " || ".join(str(o) for o in self.operands) + ")"


Node = All | Global | Has | Compare | InSet | Not | And | Or
ALL = All()


def conjunction(*nodes: Node) -> Node:
    """The nodes ANDed, as Felix writes `(a) && (b)` once parsed: one And of them (one node alone is itself)."""
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def prefixed(node: Node, prefix: str) -> Node:
    """Every label of the selector prefixed (Felix's PrefixVisitor): how a namespaceSelector becomes a
    selector on `pcns.` labels and a serviceAccountSelector one on `pcsa.` labels."""
    if isinstance(node, Has):
        return Has(prefix + node.label)
    if isinstance(node, Compare):
        return Compare(prefix + node.label, node.op, node.value)
    if isinstance(node, InSet):
        return InSet(prefix + node.label, node.values, node.negated)
    if isinstance(node, Not):
        return Not(prefixed(node.operand, prefix))
    if isinstance(node, And | Or):
        return type(node)(tuple(prefixed(o, prefix) for o in node.operands))
    return node


def replace_all(node: Node, replacement: Node, global_replacement: Node | None = None) -> Node:
    """Every `all()` of the selector replaced (and every `global()`, when `global_replacement` is given): a
    GlobalNetworkPolicy's selector with a namespaceSelector turns each all() into
    `has(projectcalico.org/namespace)` (updateprocessors/globalnetworkpolicyprocessor.go); a rule's
    namespaceSelector turns all() into that and global() into its negation (updateprocessors/rules.go)."""
    if isinstance(node, All):
        return replacement
    if isinstance(node, Global) and global_replacement is not None:
        return global_replacement
    if isinstance(node, Not):
        return Not(replace_all(node.operand, replacement, global_replacement))
    if isinstance(node, And | Or):
        return type(node)(tuple(replace_all(o, replacement, global_replacement) for o in node.operands))
    return node


# -- the tokenizer ------------------------------------------------------------------------------------------

TokenKind = Literal["label", "string", "{", "}", ",", "==", "!=", "!", "&&", "||", "(", ")", "contains",
                    "starts with", "ends with", "in", "not in", "has", "all", "global", "end"]


@dataclass(frozen=True)
class _Token:
    kind: TokenKind
    at: int  # 0-based offset of its first character
    value: str = ""


def _skip_blank(text: str, at: int) -> int:
    while at < len(text) and text[at] in _BLANK:
        at += 1
    return at


def _label_end(text: str, at: int) -> int:
    end = at
    while end < len(text) and text[end] in _LABEL_CHARS:
        end += 1
    return end


def _identifier(text: str, at: int) -> tuple[str, int]:
    """The label at `at` and where it ends (tokenizer.go cutIdentifier)."""
    end = _label_end(text, at)
    if end == at:
        shown = "the end" if at >= len(text) else repr(text[at])
        raise CalicoSelectorError(at + 1, f"expected a label (letters, digits, '_', '.', '/', '-'), found {shown}")
    if end - at > MAX_LABEL:
        raise CalicoSelectorError(at + 1, f"a label is at most {MAX_LABEL} characters, this one has {end - at}")
    return text[at:end], end


def _keyword(text: str, at: int, *words: str) -> int | None:
    """Where the keyword operator at `at` ends (words separated by optional blanks, a non-label character or
    the end after the last), or None (tokenizer.go cutMultiWordPrefixCheckBreak, cutPrefixCheckBreak)."""
    end = at
    for word in words:
        if not text.startswith(word, end):
            return None
        end += len(word)
        if len(words) > 1:
            end = _skip_blank(text, end)
    if end < len(text) and text[end] in _LABEL_CHARS:
        return None
    return end


_OPERATORS: tuple[tuple[TokenKind, tuple[str, ...]], ...] = (
    ("contains", ("contains",)), ("starts with", ("starts", "with")), ("ends with", ("ends", "with")),
    ("not in", ("not", "in")), ("in", ("in",)))
_FUNCTIONS: tuple[tuple[TokenKind, str], ...] = (("has", "has("), ("all", "all("), ("global", "global("))


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    at = 0
    while True:
        at = _skip_blank(text, at)
        if at >= len(text):
            out.append(_Token("end", at))
            return out
        c = text[at]
        if c in "(){},":
            out.append(_Token(c, at))  # type: ignore[arg-type]
            at += 1
        elif c in "'\"":
            close = text.find(c, at + 1)
            if close < 0:
                raise CalicoSelectorError(at + 1, f"unterminated string: no closing {c} (there are no escapes)")
            out.append(_Token("string", at, text[at + 1:close]))
            at = close + 1
        elif c in "=&|":
            pair = c * 2
            if not text.startswith(pair, at):
                raise CalicoSelectorError(at + 1, f"expected {pair}")
            out.append(_Token(pair, at))  # type: ignore[arg-type]
            at += 2
        elif c == "!":
            ne = text.startswith("!=", at)
            out.append(_Token("!=" if ne else "!", at))
            at += 2 if ne else 1
        elif out and out[-1].kind == "label":
            for kind, words in _OPERATORS:
                end = _keyword(text, at, *words)
                if end is not None:
                    out.append(_Token(kind, at))
                    at = end
                    break
            else:
                raise CalicoSelectorError(at + 1, f"expected an operator after label {out[-1].value!r} (==, !=, "
                                                  "in, not in, contains, starts with, ends with)")
        else:
            at = _function_or_label(text, at, out)


def _function_or_label(text: str, at: int, out: list[_Token]) -> int:
    """has(label), all(), global() (no blank before their '('), or a label."""
    for kind, opening in _FUNCTIONS:
        if text.startswith(opening, at):
            inner = _skip_blank(text, at + len(opening))
            label = ""
            if kind == "has":
                label, inner = _identifier(text, inner)
                inner = _skip_blank(text, inner)
            if not text.startswith(")", inner):
                raise CalicoSelectorError(inner + 1, f"no closing ')' after {opening}")
            out.append(_Token(kind, at, label))
            return inner + 1
    label, end = _identifier(text, at)
    out.append(_Token("label", at, label))
    return end


# -- the parser ---------------------------------------------------------------------------------------------

class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def fail(self, token: _Token, reason: str) -> CalicoSelectorError:
        found = "the end" if token.kind == "end" else repr(token.value) if token.kind in ("label", "string") \
            else f"'{token.kind}'"
        return CalicoSelectorError(token.at + 1, f"{reason}, found {found}")

    def or_expression(self) -> Node:
        operands = [self.and_expression()]
        while self.token.kind == "||":
            self.i += 1
            operands.append(self.and_expression())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expression(self) -> Node:
        operands = [self.operation()]
        while self.token.kind == "&&":
            self.i += 1
            operands.append(self.operation())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def operation(self) -> Node:
        negated = False
        while self.token.kind == "!":
            negated = not negated
            self.i += 1
        node = self.primary()
        return Not(node) if negated else node

    def primary(self) -> Node:
        token = self.token
        self.i += 1
        if token.kind == "has":
            return Has(token.value)
        if token.kind == "all":
            return ALL
        if token.kind == "global":
            return Global()
        if token.kind == "label":
            return self.match(token)
        if token.kind == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise CalicoSelectorError(token.at + 1, f"parentheses nest more than {MAX_NESTING} deep (netpol's "
                                                        "bound)")
            node = self.or_expression()
            if self.token.kind != ")":
                raise self.fail(self.token, "expected ')'")
            self.i += 1
            self.depth -= 1
            return node
        raise self.fail(token, "expected a label, has(), all(), global(), '!' or '('")

    def match(self, label: _Token) -> Node:
        op = self.token
        self.i += 1
        if op.kind in ("==", "!=", "contains", "starts with", "ends with"):
            value = self.token
            if value.kind != "string":
                raise self.fail(value, f"expected a quoted string after {op.kind}")
            self.i += 1
            return Compare(label.value, op.kind, value.value)  # type: ignore[arg-type]
        if op.kind in ("in", "not in"):
            if self.token.kind != "{":
                raise self.fail(self.token, f"expected '{{' after {op.kind}")
            self.i += 1
            values: set[str] = set()
            while self.token.kind == "string":
                values.add(self.token.value)
                self.i += 1
                if self.token.kind != ",":
                    break
                self.i += 1
            if self.token.kind != "}":
                raise self.fail(self.token, "expected a quoted string or '}'")
            self.i += 1
            return InSet(label.value, tuple(sorted(values)), op.kind == "not in")
        raise self.fail(op, f"expected an operator after label {label.value!r}")


def parse(text: str) -> Node:
    """The selector's AST; CalicoSelectorError (with its column) for what Calico rejects."""
    if len(text) > MAX_LENGTH:
        raise CalicoSelectorError(MAX_LENGTH + 1, f"a selector of {len(text):,} characters is longer than netpol's "
                                                  f"bound of {MAX_LENGTH:,}")
    parser = _Parser(text)
    if parser.token.kind == "end":
        return ALL
    node = parser.or_expression()
    if parser.token.kind != "end":
        raise parser.fail(parser.token, "unexpected content after the selector's end")
    return node
