"""Results of `netpol check` as text, JSON and JUnit XML."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from typing import Any

from netpol.analyses.check import FileError, Outcome, PairFailure
from netpol.errors import name_list
from netpol.model.intent import Expectation, IntentFile
from netpol.render.text import one_line
from netpol.render.verdict import verdict_text

Results = Sequence[tuple[IntentFile, Sequence[Outcome]]]
Errors = Sequence[FileError]
LISTED_FAILURES = 10


def counts(results: Results, errors: Errors = ()) -> tuple[int, int, int]:
    """(passed, failed, errors): an expectation that could not be checked, or a whole file, is an error."""
    outcomes = [o for _, outs in results for o in outs]
    passed = sum(o.passed for o in outcomes)
    failed = sum(not o.passed and o.error is None for o in outcomes)
    return passed, failed, len(outcomes) - passed - failed + len(errors)


def summary(results: Results, errors: Errors = ()) -> str:
    passed, failed, errored = counts(results, errors)
    depends = sum(bool(o.depends) and not o.failures and o.error is None for _, outs in results for o in outs)
    return f"{passed} passed, {failed} failed" + (f" ({depends} of them hold at L3/L4 but depend on runtime facts)"
                                                  if depends else "") + (f", {errored} errors" if errored else "")


def _where(exp: Expectation) -> str:
    line = f":{exp.location.line}" if exp.location.line else ""
    return f"{one_line(exp.location.file)}{line}"


def _what(exp: Expectation) -> str:
    ports = ", ".join(str(p) for p in exp.ports) or (f"{exp.protocol}/all" if exp.protocol else "all ports and ICMP")
    sources = ", ".join(s.text for s in exp.sources)
    destinations = ", ".join(s.text for s in exp.destinations)
    if exp.kind == "isolated":
        return f"{sources} and {destinations} isolated from each other on {ports}"
    if exp.kind == "only":
        return f"only {sources} may reach {destinations} on {ports}"
    return f"{sources} -> {destinations} on {ports}: {exp.expect}"


def _failure_line(f: PairFailure) -> str:
    should, but = ("allowed", "denied") if f.expect == "allow" else ("denied", "allowed")
    return f"{f.source_text} -> {f.destination} should be {should} but is {but} on {f.wrong}"


def failure_text(outcome: Outcome) -> list[str]:
    """The lines explaining one failed expectation."""
    exp = outcome.expectation
    lines = [f"expected: {one_line(_what(exp))} ({len(outcome.failures)} of {outcome.pairs} pairs wrong)"]
    for f in outcome.failures[:LISTED_FAILURES]:
        lines.append(f"  {_failure_line(f)}")
        if f.verdict is not None:
            lines.extend(f"    {line}" for line in verdict_text(f.verdict).splitlines())
    rest = outcome.failures[LISTED_FAILURES:]
    if rest:
        lines.append(f"  and {len(rest)} more: {name_list([f'{f.source_text} -> {f.destination}' for f in rest])}")
    lines.extend(f"  runtime decides: {one_line(note)}" for note in outcome.depends[:LISTED_FAILURES])
    return lines


def check_text(results: Results, errors: Errors = ()) -> Iterator[str]:
    for intent, outcomes in results:
        for o in outcomes:
            exp = o.expectation
            name = f"{one_line(intent.name)}: {one_line(exp.name)}"
            if o.error is not None:
                yield f"ERROR {name} ({_where(exp)})\n  {one_line(o.error)}\n"
            elif o.passed:
                yield f"PASS {name} ({o.pairs} pair{'' if o.pairs == 1 else 's'})\n"
            elif not o.failures:  # holds at L3/L4; runtime facts decide the rest (Cilium)
                yield f"DEPENDS {name} ({_where(exp)}): holds at L3/L4, but runtime facts decide it\n"
                yield from (f"  {one_line(note)}\n" for note in o.depends[:LISTED_FAILURES])
                if len(o.depends) > LISTED_FAILURES:
                    yield f"  and {len(o.depends) - LISTED_FAILURES} more\n"
            else:
                yield f"FAIL {name} ({_where(exp)})\n"
                yield from (f"  {line}\n" for line in failure_text(o))
    for e in errors:
        yield f"ERROR {one_line(e.path)}\n  {one_line(e.message)}\n"
    yield summary(results, errors) + "\n"


def check_json(results: Results, errors: Errors = (), notes: Sequence[str] = ()) -> str:
    passed, failed, errored = counts(results, errors)
    return json.dumps({
        "assumptions": list(notes),
        "passed": passed,
        "failed": failed,
        "errors": errored,
        "results": [_outcome_dict(intent, o) for intent, outs in results for o in outs],
        "file_errors": [{"file": e.path, "error": e.message} for e in errors],
    }, indent=2) + "\n"


def _outcome_dict(intent: IntentFile, o: Outcome) -> dict[str, Any]:
    exp = o.expectation
    return {
        "intent": intent.name,
        "file": exp.location.file,
        "line": exp.location.line,
        "name": exp.name,
        "kind": exp.kind,
        "expect": exp.expect,
        "passed": o.passed,
        "error": o.error,
        "pairs": o.pairs,
        "depends_on_runtime": list(o.depends),
        "failures": [
            {"source": f.source_text, "destination": str(f.destination), "wanted": str(f.wanted),
             "wrong": str(f.wrong), "verdict": f.verdict.to_dict() if f.verdict is not None else None}
            for f in o.failures
        ],
    }


def check_junit(results: Results, errors: Errors = ()) -> str:
    """JUnit XML: one testsuite per intent file, one testcase per expectation; always well-formed XML,
    whatever the names hold (characters XML cannot carry are written as escapes)."""
    passed, failed, errored = counts(results, errors)
    root = ET.Element("testsuites", name="netpol check", tests=str(passed + failed + errored),
                      failures=str(failed), errors=str(errored))

    def element(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        node = ET.SubElement(parent, tag, {k: xml_safe(v) for k, v in attrs.items()})
        if text is not None:
            node.text = xml_safe(text)
        return node

    for intent, outcomes in results:
        suite = element(root, "testsuite", name=intent.name, file=intent.path, tests=str(len(outcomes)),
                        failures=str(sum(not o.passed and o.error is None for o in outcomes)),
                        errors=str(sum(o.error is not None for o in outcomes)))
        for o in outcomes:
            exp = o.expectation
            case = element(suite, "testcase", classname=f"netpol.{intent.name}", name=exp.name,
                           file=exp.location.file)
            if exp.location.line:
                case.set("line", str(exp.location.line))
            if o.error is not None:
                element(case, "error", o.error + "\n", message=o.error, type="NetworkPolicyIntentError")
            elif not o.passed:
                text = failure_text(o)
                element(case, "failure", "\n".join(text) + "\n", message=text[0], type="NetworkPolicyIntent")
    for e in errors:
        suite = element(root, "testsuite", name=e.path, file=e.path, tests="1", failures="0", errors="1")
        case = element(suite, "testcase", classname="netpol", name=e.path, file=e.path)
        element(case, "error", e.message + "\n", message=e.message, type="NetworkPolicyIntentError")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# Characters XML 1.0 cannot hold at all: C0 controls but tab, newline and return; surrogates; U+FFFE/U+FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    return _XML_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
