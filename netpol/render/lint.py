"""Lint findings as compiler-style text, JSON, and SARIF 2.1.0 for code scanning."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from netpol.analyses.lint import LintReport
from netpol.analyses.lint.catalogue import DOCS_URL, RULES, SEVERITIES
from netpol.analyses.lint.findings import Finding
from netpol.render.text import one_line
from netpol.sources.intents import git_root

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_SUPPRESSED_BY = {"annotation": "netpol.io/lint-ignore", "option": "--disable"}


def _where(f: Finding) -> str:
    if f.location is None:
        return "<cluster>"
    line = f.start_line
    if line is None:
        return f.location.file
    return f"{f.location.file}:{line}" + (f":{f.column}" if f.column is not None else "")


def _summary(report: LintReport) -> str:
    counts = report.counts()
    parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}" for s in SEVERITIES]
    return ", ".join(parts) + f", {counts['suppressed']} suppressed"


def lint_text(report: LintReport) -> Iterator[str]:
    """One line per finding (and the rule's reason the first time), files in order with a blank line
    between them; the count last."""
    current: str | None = None
    explained: set[str] = set()
    for f in report.findings:
        file = f.location.file if f.location else "<cluster>"
        if current is not None and file != current:
            yield "\n"
        current = file
        where, message = one_line(_where(f)), one_line(f.message)
        if f.suppressed is not None:
            yield (f"{where}: suppressed {f.rule.severity} {f.rule.id} [{f.rule.name}] {message} "
                   f"(by {_SUPPRESSED_BY[f.suppressed]})\n")
            continue
        yield f"{where}: {f.rule.severity} {f.rule.id} [{f.rule.name}] {message}\n"
        if f.rule.id not in explained:  # once per rule: the reason does not change between findings
            explained.add(f.rule.id)
            yield f"    why: {f.rule.why}\n"
    if report.findings:
        yield "\n"
    if not report.cluster_checks:
        yield ("note: the input has no pods or workloads, so only the policy checks (NP0xx, NP1xx) ran, and "
               "NP212 for every possible pod; pass the workloads or a snapshot for the other cluster checks "
               "(NP2xx)\n")
    yield from (f"note: {one_line(n)}\n" for n in report.notes)
    yield _summary(report) + "\n"


def _finding_dict(f: Finding) -> dict[str, Any]:
    loc = f.location
    return {
        "id": f.rule.id, "name": f.rule.name, "severity": f.rule.severity, "message": f.message,
        "object": f.object, "namespace": f.namespace, "file": loc.file if loc else None,
        "document": loc.document if loc else None, "item": loc.item if loc else None,
        "line": f.start_line, "column": f.column, "path": f.path, "suppressed": f.suppressed,
        "why": f.rule.why, "help_uri": f.rule.help_uri,
    }


def lint_json(report: LintReport) -> str:
    return json.dumps({"findings": [_finding_dict(f) for f in report.findings], "summary": report.counts(),
                       "cluster_checks": report.cluster_checks, "notes": list(report.notes)}, indent=2) + "\n"


@dataclass(frozen=True)
class SarifRoot:
    """The folder SARIF locations are relative to (%SRCROOT%), and what it is, for the log to state."""

    path: str  # real path, never written into the log
    what: str

    @classmethod
    def of(cls, files: Iterable[str]) -> SarifRoot:
        """The git repository root of the input files when they share one; else the deepest folder that
        holds them all (never a machine path in the log: every file is then inside the root)."""
        reals = [os.path.realpath(f) for f in files]
        roots = {git_root(f) for f in reals}
        if len(roots) == 1 and None not in roots:
            return cls(roots.pop() or "", "The root of the git repository holding the input files.")
        if not reals:
            return cls(os.path.realpath(os.getcwd()), "The current directory (no finding has a file).")
        common = os.path.commonpath([os.path.dirname(f) for f in reals])
        return cls(common, "The deepest folder holding every input file (they share no git repository).")

    def uri(self, file: str) -> tuple[str, str | None]:
        """(uri, uriBaseId): RFC 3986 percent-encoded, relative to the root; a `file:` URI (no base) for a
        file outside it."""
        real = os.path.realpath(file)
        if real.startswith(self.path.rstrip(os.sep) + os.sep):
            relative = os.path.relpath(real, self.path).replace(os.sep, "/")
            return quote(relative, safe="/"), "%SRCROOT%"
        return Path(real).as_uri(), None


def lint_sarif(report: LintReport, version: str) -> str:
    """SARIF 2.1.0; locations relative to the stated root (SarifRoot), where code scanning resolves them."""
    files = sorted({f.location.file for f in report.findings if f.location and f.location.document is not None
                    and f.location.file != "<stdin>"})
    root = SarifRoot.of(files)
    uris = {f: root.uri(f) for f in files}
    ids = list(RULES)
    rules = [{
        "id": r.id, "name": r.name,
        "shortDescription": {"text": r.summary}, "fullDescription": {"text": r.why},
        "help": {"text": f"{r.summary} {r.why}", "markdown": f"**{r.summary}**\n\n{r.why}\n\n[docs]({r.help_uri})"},
        "helpUri": r.help_uri,
        "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity]},
        "properties": {"tags": ["kubernetes", "networkpolicy", "security"], "precision": "very-high",
                       "problem.severity": {"info": "recommendation"}.get(r.severity, r.severity)},
    } for r in RULES.values()]
    results = [_sarif_result(f, ids.index(f.rule.id), uris) for f in report.findings]
    log = {
        "$schema": SARIF_SCHEMA, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "netpol", "version": version, "semanticVersion": version,
                                "informationUri": DOCS_URL, "rules": rules}},
            "columnKind": "unicodeCodePoints",
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": root.what}}},
            "results": results,
        }],
    }
    return json.dumps(log, indent=2) + "\n"


def _sarif_result(f: Finding, index: int, uris: Mapping[str, tuple[str, str | None]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": f.rule.id, "ruleIndex": index, "level": _SARIF_LEVEL[f.rule.severity],
        "message": {"text": f.message},
        # stable across edits that move lines: the rule, the object and the field
        "partialFingerprints": {"netpolFinding/v1": hashlib.sha256(
            f"{f.rule.id}\0{f.object}\0{f.path or ''}".encode()).hexdigest()[:32]},
    }
    if f.location is not None and f.location.file in uris:
        region: dict[str, int] = {"startLine": f.start_line or 1}
        if f.column is not None:
            region["startColumn"] = f.column
        uri, base = uris[f.location.file]
        artifact = {"uri": uri, **({"uriBaseId": base} if base else {})}
        out["locations"] = [{"physicalLocation": {"artifactLocation": artifact, "region": region}}]
    if f.suppressed is not None:
        out["suppressions"] = [{"kind": "inSource" if f.suppressed == "annotation" else "external",
                                "justification": f"suppressed by {_SUPPRESSED_BY[f.suppressed]}"}]
    return out
