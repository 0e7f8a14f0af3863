"""Calico's selector language: the cases of libcalico-go's parser and tokenizer tests
(libcalico-go/lib/selector/parser/parser_test.go selectorTests, badSelectors, canonicalisationTests;
tokenizer/tokenizer_test.go), and the brief's (shared/reference/calico-policies.md §3)."""

from __future__ import annotations

import pytest

from netpol.model.calico_selectors import (
    MAX_LENGTH,
    MAX_NESTING,
    And,
    CalicoSelectorError,
    Compare,
    Has,
    InSet,
    Not,
    Or,
    parse,
    prefixed,
    replace_all,
)

# (selector, label maps it matches, label maps it does not): parser_test.go selectorTests
SELECTOR_TESTS: list[tuple[str, list[dict[str, str]], list[dict[str, str]]]] = [
    ('a == "b"', [{"a": "b"}, {"a": "b", "c": "d"}], [{}, {"a": "c"}, {"c": "d"}]),
    ('a == "b" && c == "d"', [{"a": "b", "c": "d"}],
     [{}, {"a": "b", "c": "e"}, {"a": "c", "c": "d"}, {"c": "d"}, {"a": "b"}]),
    ('a == "b" || c == "d"', [{"a": "b", "c": "d"}, {"a": "b"}, {"c": "d"}],
     [{}, {"a": "e", "c": "e"}, {"c": "e"}, {"a": "e"}]),
    ("a in {\"'\", '\"', \"c\"}", [{"a": "c"}, {"a": '"'}, {"a": "'"}], [{}, {"a": "e"}]),
    ("a not in {\"'\", '\"', \"c\"}", [{}, {"a": "e"}], [{"a": "c"}, {"a": '"'}, {"a": "'"}]),
    ("a == 'a'", [{"a": "a"}], [{"a": "b"}, {}]),
    ('a == "a"', [{"a": "a"}], []),
    ('a != "b"', [{"a": "a"}], []),
    ('a != "a"', [{}], [{"a": "a"}]),
    ("a != 'a'", [], [{"a": "a"}]),
    ('a contains "a"', [{"a": "a"}, {"a": "bab"}, {"a": "aaa", "b": "c"}], [{}, {"a": "b"}, {"b": "aaa"}]),
    ('a starts with "a"', [{"a": "a"}, {"a": "abb"}, {"a": "aaa", "b": "c"}],
     [{}, {"a": "b"}, {"a": "baa"}, {"b": "aaa"}]),
    ('a ends with "a"', [{"a": "a"}, {"a": "bba"}, {"a": "aaa", "b": "c"}],
     [{}, {"a": "b"}, {"a": "aab"}, {"b": "aaa"}]),
    ('a in {"a"}', [{"a": "a"}], [{"a": "b"}]),
    ('!a in {"a"}', [{"a": "b"}], []),
    ('a in {"a", "b"}', [{"a": "a"}, {"a": "b"}], [{"a": "c"}]),
    ('a not in {"d", "e"}', [{"a": "a"}], []),
    ('a not in {"a"}', [], [{"a": "a"}]),
    ("has(a)", [{"a": "b"}], []),
    ("!has(a)", [{"b": "b"}], [{"a": "b"}]),
    ("has(b)", [], [{"a": "b"}]),
    ("!!has(b)", [], [{"a": "b"}]),
    ("! has(a)", [], [{"a": "b"}]),
    ("!!! has(a)", [], [{"a": "b"}]),
    ("!!!has(a)", [], [{"a": "b"}]),
    ("!! ! has(a)", [], [{"a": "b"}]),
    ("! !!has(a)", [], [{"a": "b"}]),
    ("", [{}, {"a": "b"}], []),
    (" ", [{}], []),
    ("all()", [{}], []),
    (" all()", [{}, {"a": "b"}], []),
    ("global()", [{}], []),
    (" global()", [{}, {"a": "b"}], []),
    ("a == 'a1' && b == 'b1'", [{"a": "a1", "b": "b1"}], []),
    ("a == 'a1' && b != 'b1'", [], [{"a": "a1", "b": "b1"}]),
    ("a != 'a1' && b == 'b1'", [], [{"a": "a1", "b": "b1"}]),
    ("a != 'a1' && b != 'b1'", [], [{"a": "a1", "b": "b1"}]),
    ("a != 'a1' && !b == 'b1'", [], [{"a": "a1", "b": "b1"}]),
    ("!a == 'a1' && b == 'b1'", [], [{"a": "a1", "b": "b1"}]),
    ("has(a) && !has(b)", [{"a": "a"}], []),
    ("!has(b) && has(a)", [{"a": "a"}], []),
    ("!(!has(a) || has(b))", [{"a": "a"}], []),
    ("!(has(b) || !has(a))", [{"a": "a"}], []),
    ("a == 'a1' || b == 'b1'", [{"a": "a1", "b": "b1"}], []),
    ("a == 'a1' || b != 'b1'", [{"a": "a1", "b": "b1"}], []),
    ("a != 'a1' || b == 'b1'", [{"a": "a1", "b": "b1"}], []),
    ("a != 'a1' || b != 'b1'", [], [{"a": "a1", "b": "b1"}]),
    ("! a == 'a1' || ! b == 'b1'", [], [{"a": "a1", "b": "b1"}]),
    # the brief's: '' is a prefix of every value, and keywords are labels where a label belongs
    ("a starts with ''", [{"a": ""}, {"a": "x"}], [{}]),
    ("in == 'x'", [{"in": "x"}], [{}]),
    ("contains contains 'contains'", [{"contains": "xcontainsx"}], [{"contains": "x"}]),
    ("a in {}", [], [{}, {"a": ""}]),
    ("a not in {}", [{}, {"a": ""}], []),
    ("a in {'x',}", [{"a": "x"}], [{}]),
]


@pytest.mark.parametrize(("text", "matches", "non_matches"), SELECTOR_TESTS)
def test_selector_matches(text: str, matches: list[dict[str, str]], non_matches: list[dict[str, str]]) -> None:
    node = parse(text)
    again = parse(str(node))  # the canonical form means the same
    for labels in matches:
        assert node.evaluate(labels) and again.evaluate(labels), labels
    for labels in non_matches:
        assert not node.evaluate(labels) and not again.evaluate(labels), labels


# parser_test.go badSelectors and tokenizer_test.go's errors, each with the column netpol names
BAD_SELECTORS = [
    ("b == b", 6, "expected a quoted string after =="),
    ("b contains b", 12, "expected a quoted string after contains"),
    # a keyword operator needs a non-label character after its last word, blanks skipped: Felix's tokenizer
    # fails these before its parser sees them
    ("b starts with b", 3, "expected an operator after label 'b'"),
    ("b ends with b", 3, "expected an operator after label 'b'"),
    ("'b1' == b", 1, "expected a label, has(), all(), global(), '!' or '(', found 'b1'"),
    ("b", 2, "expected an operator after label 'b', found the end"),
    ("a b", 3, "expected an operator after label 'a'"),
    ("!", 2, "found the end"),
    ('foo == "bar" &', 14, "expected &&"),
    ('foo == "bar" |', 14, "expected ||"),
    ("foo != ||", 8, "expected a quoted string after !=, found '||'"),
    ('foo in {"", ||', 13, "expected a quoted string or '}', found '||'"),
    ('foo in ""', 8, "expected '{' after in, found ''"),
    ('"FOO', 1, "unterminated string"),
    ("\"FOO'", 1, "unterminated string"),
    ("'FOO", 1, "unterminated string"),
    ("(", 2, "found the end"),
    ('(a == "foo"', 12, "expected ')', found the end"),
    (")", 1, "found ')'"),
    ("()", 2, "found ')'"),
    ("%", 1, "expected a label (letters, digits, '_', '.', '/', '-'), found '%'"),
    ('a == "b" && %', 13, "found '%'"),
    ('a == "b" || %', 13, "found '%'"),
    ("a ", 3, "found the end"),
    ("has(foo) &&", 12, "found the end"),
    ('label starts foo "value"', 7, "expected an operator after label 'label'"),
    ('label ends foo "value"', 7, "expected an operator after label 'label'"),
    ('label squiggles "value"', 7, "expected an operator after label 'label'"),
    # the brief's: values are quoted, no blank before '(' of has(), a newline is no blank
    ("a == 'x'\n", 9, "found '\\n'"),
    ("has (a)", 5, "expected an operator after label 'has'"),
    ("has(a", 6, "no closing ')' after has("),
    ("all(x)", 5, "no closing ')' after all("),
    ("a == 'x' b", 10, "unexpected content after the selector's end, found 'b'"),
    ("a = 'x'", 3, "expected =="),
    ("a inx {'b'}", 3, "expected an operator after label 'a'"),
    ("a in {,}", 7, "expected a quoted string or '}', found ','"),
    ("x" * 513 + " == 'a'", 1, "a label is at most 512 characters, this one has 513"),
]


@pytest.mark.parametrize(("text", "column", "reason"), BAD_SELECTORS)
def test_bad_selectors_name_the_column(text: str, column: int, reason: str) -> None:
    with pytest.raises(CalicoSelectorError) as caught:
        parse(text)
    assert caught.value.column == column
    assert reason in caught.value.reason


# parser_test.go canonicalisationTests (and the brief's precedence examples)
@pytest.mark.parametrize(("text", "canonical"), [
    ("", "all()"),
    (" all() ", "all()"),
    (" (all() )", "all()"),
    ("! (has( b)||! has(a ))", "!(has(b) || !has(a))"),
    ('! (a == "b"&&! c != "d")', '!(a == "b" && !c != "d")'),
    ("a == \"'\"", "a == \"'\""),
    ("a == '\"'", "a == '\"'"),
    ("a contains '\"'", "a contains '\"'"),
    ("a startswith '\"'", "a starts with '\"'"),
    ("a endswith \"'\"", "a ends with \"'\""),
    ("a!='\"'", "a != '\"'"),
    ('a in {"d", "a", "b"}', 'a in {"a", "b", "d"}'),
    ('a in {"z", "z", "x", "y", "x", "a"}', 'a in {"a", "x", "y", "z"}'),
    ('a notin{"bar"}', 'a not in {"bar"}'),
    ("a  not  in  {}", "a not in {}"),
    ("!a == 'x'", '!a == "x"'),
    ("!has(l) || l starts with 'p' && r in {'x'}", '(!has(l) || (l starts with "p" && r in {"x"}))'),
    ("startswith starts with 'v'", 'startswith starts with "v"'),
])
def test_canonical_form(text: str, canonical: str) -> None:
    assert str(parse(text)) == canonical
    assert str(parse(canonical)) == canonical


def test_ast_shapes() -> None:
    assert parse("!a == 'x'") == Not(Compare("a", "==", "x"))
    assert parse("!!!has(a)") == Not(Has("a"))
    assert parse("a in {'y', 'x', 'y'}") == InSet("a", ("x", "y"))
    assert parse("has(a) && has(b) || has(c)") == Or((And((Has("a"), Has("b"))), Has("c")))


def test_prefix_and_all_rewriting() -> None:
    """Felix's PrefixVisitor (visitor tests of parser_test.go) and the GNP all() rewrite."""
    node = prefixed(parse("!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))"), "visited/")
    assert str(node) == '!(!((visited/k == "v" && has(visited/t)) || all()) && visited/a in {"b", "c"})'
    assert str(replace_all(parse("all() && !all()"), Has("x"))) == "(has(x) && !has(x))"


def test_nesting_is_bounded() -> None:
    parse("(" * MAX_NESTING + "all()" + ")" * MAX_NESTING)
    with pytest.raises(CalicoSelectorError) as caught:
        parse("(" * (MAX_NESTING + 1) + "all()" + ")" * (MAX_NESTING + 1))
    assert caught.value.column == MAX_NESTING + 1 and "nest more than" in caught.value.reason


def test_length_is_bounded() -> None:
    parse(" " * MAX_LENGTH)
    with pytest.raises(CalicoSelectorError) as caught:
        parse("a == 'x' && " * 10_000 + "all()")
    assert caught.value.column == MAX_LENGTH + 1 and "longer than netpol's bound of 65,536" in caught.value.reason


def test_long_flat_selectors_parse() -> None:
    """A long chain of && and ! is flat: no recursion per term."""
    text = " && ".join(f"k{i} != 'v'" for i in range(3000)) + " && " + "!" * 3001 + "has(x)"
    assert parse(text).evaluate({})


def test_global_rewriting() -> None:
    assert str(replace_all(parse("global() || all()"), Has("ns"), Not(Has("ns")))) == "(!has(ns) || has(ns))"
    assert str(replace_all(parse("global()"), Has("ns"))) == "global()"
