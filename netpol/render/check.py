"""Results of `netpol check` as text, JSON and JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from typing import Any

from netpol.check import Outcome, PairFailure
from netpol.errors import name_list
from netpol.intent import Expectation, IntentFile
from netpol.render.verdict import verdict_text

Results = Sequence[tuple[IntentFile, Sequence[Outcome]]]
LISTED_FAILURES = 10


def counts(results: Results) -> tuple[int, int]:
    outcomes = [o for _, outs in results for o in outs]
    passed = sum(o.passed for o in outcomes)
    return passed, len(outcomes) - passed


def summary(results: Results) -> str:
    passed, failed = counts(results)
    return f"{passed} passed, {failed} failed"


def _where(exp: Expectation) -> str:
    line = f":{exp.location.line}" if exp.location.line else ""
    return f"{exp.location.file}{line}"


def _what(exp: Expectation) -> str:
    ports = ", ".join(str(p) for p in exp.ports) or (f"{exp.protocol}/all" if exp.protocol else "all ports")
    sources = ", ".join(s.text for s in exp.sources)
    destinations = ", ".join(s.text for s in exp.destinations)
    if exp.kind == "isolated":
        return f"{sources} and {destinations} isolated from each other on {ports}"
    if exp.kind == "only":
        return f"only {sources} may reach {destinations} on {ports}"
    return f"{sources} -> {destinations} on {ports}: {exp.expect}"


def _failure_line(f: PairFailure) -> str:
    should, but = ("allowed", "denied") if f.expect == "allow" else ("denied", "allowed")
    return f"{f.source} -> {f.destination} should be {should} but is {but} on {f.wrong}"


def failure_text(outcome: Outcome) -> list[str]:
    """The lines explaining one failed expectation."""
    exp = outcome.expectation
    lines = [f"expected: {_what(exp)} ({len(outcome.failures)} of {outcome.pairs} pairs wrong)"]
    for f in outcome.failures[:LISTED_FAILURES]:
        lines.append(f"  {_failure_line(f)}")
        if f.verdict is not None:
            lines.extend(f"    {line}" for line in verdict_text(f.verdict).splitlines())
    rest = outcome.failures[LISTED_FAILURES:]
    if rest:
        lines.append(f"  and {len(rest)} more: {name_list([f'{f.source} -> {f.destination}' for f in rest])}")
    return lines


def check_text(results: Results) -> Iterator[str]:
    for intent, outcomes in results:
        for o in outcomes:
            exp = o.expectation
            if o.passed:
                yield f"PASS {intent.name}: {exp.name} ({o.pairs} pair{'' if o.pairs == 1 else 's'})\n"
            else:
                yield f"FAIL {intent.name}: {exp.name} ({_where(exp)})\n"
                yield from (f"  {line}\n" for line in failure_text(o))
    yield summary(results) + "\n"


def check_json(results: Results) -> str:
    passed, failed = counts(results)
    return json.dumps({
        "passed": passed,
        "failed": failed,
        "results": [_outcome_dict(intent, o) for intent, outs in results for o in outs],
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
        "pairs": o.pairs,
        "failures": [
            {"source": f.source.name, "destination": f.destination.name, "wanted": str(f.wanted),
             "wrong": str(f.wrong), "verdict": f.verdict.to_dict() if f.verdict is not None else None}
            for f in o.failures
        ],
    }


def check_junit(results: Results) -> str:
    """JUnit XML: one testsuite per intent file, one testcase per expectation."""
    passed, failed = counts(results)
    root = ET.Element("testsuites", name="netpol check", tests=str(passed + failed), failures=str(failed))
    for intent, outcomes in results:
        suite = ET.SubElement(root, "testsuite", name=intent.name, file=intent.path, tests=str(len(outcomes)),
                              failures=str(sum(not o.passed for o in outcomes)), errors="0")
        for o in outcomes:
            exp = o.expectation
            case = ET.SubElement(suite, "testcase", classname=f"netpol.{intent.name}", name=exp.name,
                                 file=exp.location.file)
            if exp.location.line:
                case.set("line", str(exp.location.line))
            if not o.passed:
                text = failure_text(o)
                failure = ET.SubElement(case, "failure", message=text[0], type="NetworkPolicyIntent")
                failure.text = "\n".join(text) + "\n"
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
