"""`netpol report` and `netpol diff -o html`: one self-contained HTML page, no network access.

Everything is inline: CSS, the script, the allow-graph's SVG and the data
(JSON in a non-executed script element). A Content-Security-Policy meta
tag allows nothing to load and only this script (by its hash) to run. The
summary and the tables are plain HTML, readable with JavaScript off; the
script adds the graph's side panel and the filterable matrix.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from html import escape
from importlib import resources
from typing import Any

from netpol.analyses.diff import Change, ReachabilityDiff
from netpol.analyses.explain import PolicySummary
from netpol.analyses.lint import LintReport
from netpol.analyses.report import LINK_LIMIT, POD_TABLE_LIMIT, TABLE_LIMIT, ReportData
from netpol.analyses.tier_explain import TierPolicySummary
from netpol.analyses.verdicts import Verdict
from netpol.render.verdict import verdict_text

POD_COLUMNS = ("pod", "labels", "isolated for ingress by", "isolated for egress by")


def _asset(name: str) -> str:
    return (resources.files("netpol.render") / name).read_text(encoding="utf-8")


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{digest}'"


# JSON inside a script element: "<" (which could open "<!--" or "</script"), ">" and "&" as \u escapes,
# which the browser's JSON.parse reads back, and the JS line separators. These only occur in strings.
_SCRIPT_SAFE = str.maketrans({c: f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"})


def _page(title: str, body: str, script: str, data: dict[str, Any] | None = None) -> str:
    payload = ""
    if data is not None:
        text = json.dumps(data, separators=(",", ":")).translate(_SCRIPT_SAFE)
        payload = f'<script type="application/json" id="netpol-data">{text}</script>\n'
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{_csp(script)}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title><style>{_asset('report.css')}</style></head>\n<body>\n{body}\n{payload}"
            f"<script>{script}</script>\n</body></html>\n")


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]], attrs: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pod_links(keys: tuple[str, ...]) -> str:
    """Links to the pods a policy selects (the first LINK_LIMIT, then a count)."""
    if not keys:
        return '<span class="muted">none</span>'
    links = ", ".join(f'<a href="#pod-{escape(k)}">{escape(k)}</a>' for k in keys[:LINK_LIMIT])
    return links + (f" +{len(keys) - LINK_LIMIT:,} more" if len(keys) > LINK_LIMIT else "")


def _summary(data: dict[str, Any]) -> str:
    s = data["summary"]
    rows = [("namespaces", s["namespaces"]), ("pods", s["pods"]), ("workloads", s["workloads"]),
            ("NetworkPolicies", s["policies"]), *((kind, n) for kind, n in s["tiered"].items()),
            *((f"isolated for {d} by {s['isolating']}", _of(s["isolated"][d], s)) for d in ("ingress", "egress")),
            ("equivalence classes", s["classes"])]
    if s["lint"] is not None:
        rows.append(("lint findings", ", ".join(f"{n} {k}" for k, n in s["lint"].items())))
    return _table(("", "count"), ((escape(k), escape(str(v))) for k, v in rows), ' id="summary-table"')


def _assumptions(notes: Iterable[str]) -> str:
    """The block near the top that a reader of a shared page must see: what the answers below assume."""
    items = "".join(f"<li>{escape(n)}</li>" for n in notes)
    return ('<section id="assumptions"><h2>Assumptions</h2><p class="muted">Every answer on this page rests on '
            f"these:</p><ul id=\"assumption-list\">{items}</ul></section>")


def _no_pods(data: dict[str, Any]) -> str:
    """A page of policies without pods says why its graph and matrix are empty, and what answers instead."""
    s = data["summary"]
    if s["pods"] or s["workloads"]:
        return ""
    return ('<p id="no-pods" class="warning">The input has no pods or workloads, so the graph and the matrix '
            "have no connection to show. For what the policies allow every pod that could exist (every "
            "possible pod, in the policies' terms), run <code>netpol list -f PATH</code> or "
            "<code>netpol exposure -f PATH</code>; for a change, <code>netpol diff BASE HEAD</code>. To see "
            "the connections here, pass the manifests that create the pods too (Deployments, StatefulSets, "
            "…; for a chart: <code>helm template … | netpol report -f - -o report.html</code>) or a "
            "snapshot of the cluster (<code>netpol snapshot</code>).</p>")


def _of(part: dict[str, int], whole: dict[str, Any]) -> str:
    """"2 of 3 pods, 1 of 2 workloads": each count in the unit the summary counts it in."""
    return ", ".join(f"{part[unit]:,} of {whole[unit]:,} {unit}"
                     for unit in ("pods", "workloads") if whole[unit]) or "0"


def _policies(summaries: Iterable[PolicySummary], tiers: Iterable[TierPolicySummary]) -> str:
    tiers = list(tiers)
    parts = []
    for tier, title in (("Admin", "Admin tier (first match, by priority)"), (None, "NetworkPolicies"),
                        ("Baseline", "Baseline tier")):
        if tier is None:
            rows = [(escape(s.policy.key), escape(s.direction), escape(s.selector),
                     _pod_links(s.targets),
                     escape(s.effect) + "".join(f"<br>[{r.index}] {escape(', '.join(r.peers))} on {escape(r.ports)}"
                                                for r in s.rules)) for s in summaries]
            headers = ("policy", "direction", "podSelector", "selects", "rules")
        else:
            rows = [(escape(f"{t.policy.short_kind} {t.policy.name}"),
                     escape(str(t.policy.priority) if t.policy.priority is not None else "-"), escape(t.subject),
                     _pod_links(t.targets),
                     "<br>".join(escape(f"{r.ref.direction}[{r.ref.index}] {r.ref.written_action} "
                                        f"{', '.join(r.peers)} on {r.ports}")
                                 + _shadowed(r.shadowed_by) for r in t.rules))
                    for t in tiers if t.tier == tier]
            headers = ("policy", "priority", "subject", "selects", "rules in order")
        if rows:
            parts.append(f"<h3>{escape(title)}</h3>" + _table(headers, rows[:TABLE_LIMIT])
                         + _cut(len(rows), "netpol explain"))
    return "".join(parts) or '<p class="muted">No policies.</p>'


def _shadowed(by: Iterable[object]) -> str:
    names = ", ".join(str(b) for b in by)
    return f' <span class="muted">(shadowed by {escape(names)})</span>' if names else ""


def _lint(report: LintReport | None) -> str:
    if report is None:
        return ""
    if not report.findings:
        return '<p class="ok">No findings.</p>'
    rows = [(f'<span class="{f.rule.severity}">{escape(f.rule.severity)}</span>'
             + (' <span class="muted">(suppressed)</span>' if f.suppressed else ""),
             f'<a href="{escape(f.rule.help_uri)}">{escape(f.rule.id)}</a>',
             escape(f"{f.location.file}:{f.start_line}" if f.location and f.start_line else
                    (f.location.file if f.location else "")),
             escape(f.message)) for f in report.findings]
    return _table(("severity", "rule", "where", "finding"), rows[:TABLE_LIMIT], ' id="lint-table"') + _cut(
        len(rows), "netpol lint")


def _cut(rows: int, command: str) -> str:
    """A note under a static table cut at TABLE_LIMIT rows (a page that opens fast at 10k pods)."""
    if rows <= TABLE_LIMIT:
        return ""
    return f'<p class="muted">The first {TABLE_LIMIT:,} of {rows:,} rows; <code>{command}</code> lists them all.</p>'


def report_html(report: ReportData, svg: str | None, summaries: Iterable[PolicySummary],
                tiers: Iterable[TierPolicySummary], lint: LintReport | None, title: str,
                graph_note: str | None = None) -> str:
    data = report.data
    pods = report.pods
    classes = data["classes"]
    pod_rows = [(f'<span id="pod-{escape(p.key)}">{escape(p.display)}</span>',
                 escape(", ".join(f"{k}={v}" for k, v in p.labels)),
                 escape(", ".join(classes[row["cls"]]["ingress"]) or "-"),
                 escape(", ".join(classes[row["cls"]]["egress"]) or "-"))
                for p, row in zip(pods[:POD_TABLE_LIMIT], data["pods"], strict=False)]
    hidden = len(pods) - POD_TABLE_LIMIT
    more = f'<p class="muted">{hidden:,} more pods are in the matrix view.</p>' if hidden > 0 else ""
    graph = f'<div id="graph">{svg}</div>' if svg else f'<p class="muted">{escape(graph_note or "No graph.")}</p>'
    scope = ("Only pairs of pods in the same namespace are in this report (too many classes for every pair): "
             "choose a namespace. For pairs across namespaces, use netpol can-reach."
             if report.namespace_level else "Click a cell for its explanation.")
    body = f"""<header><h1>{escape(title)}</h1>
<nav><a href="#summary">Summary</a><a href="#assumptions">Assumptions</a><a href="#graph-section">Graph</a><a href="#matrix">Matrix</a>
<a href="#policies">Policies</a><a href="#lint">Lint</a><a href="#pods">Pods</a></nav></header>
<aside id="panel"><p class="muted">Click a graph node or a matrix cell to see why.</p></aside>
<main>
<section id="summary"><h2>Summary</h2>{_no_pods(data)}{_summary(data)}</section>
{_assumptions(data["assumptions"])}
<section id="graph-section"><h2>Allow-graph</h2>{graph}</section>
<section id="matrix"><h2>Matrix</h2>
<noscript><p>The matrix needs JavaScript; <code>netpol matrix -o csv</code> gives it as a file.</p></noscript>
<p class="muted">{escape(scope)}</p>
<p><label>namespace <select id="f-ns"><option value="">all</option></select></label>
<label>pod <input id="f-text" type="search" placeholder="filter rows"></label>
<label>port <select id="f-port"><option value="">all ports</option></select></label>
<span id="matrix-note" class="muted"></span></p>
<table id="matrix-table"></table><p><button id="f-more" hidden>show 50 more rows</button></p></section>
<section id="policies"><h2>Policies, in evaluation order</h2>{_policies(summaries, tiers)}</section>
<section id="lint"><h2>Lint findings</h2>{_lint(lint)}</section>
<section id="pods"><h2>Pods</h2>{_table(POD_COLUMNS, pod_rows)}{more}</section>
</main>"""
    return _page(title, body, _asset("report.js"), data)


def _direction(c: Change) -> str:
    """The colour of a change: opened (gained), widened, narrowed, closed (lost), or both at once."""
    if c.kind != "changed":
        return {"gained": "opened", "lost": "closed"}.get(c.kind, "")
    wider, narrower = c.after.difference(c.before), c.before.difference(c.after)
    return "widened" if not narrower else "narrowed" if not wider else "reshaped"


def diff_html(d: ReachabilityDiff, verdicts: dict[Change, tuple[Verdict | str, Verdict | str]], title: str,
              assumptions: Iterable[str]) -> str:
    """`verdicts`: per change, the base's and the head's can-reach verdict of its first pair; `assumptions`:
    both versions' (report.diff_assumptions)."""
    rows = []
    for c in d.changes:
        base, head = (v if isinstance(v, str) else verdict_text(v) for v in verdicts.get(c, ("", "")))
        details = (f"<details><summary>why</summary><b>before</b><pre>{escape(base)}</pre>"
                   f"<b>after</b><pre>{escape(head)}</pre></details>") if base or head else ""
        rows.append(f'<tr class="change" data-kind="{escape(c.kind)}"><td class="{_direction(c)}">'
                    f'{escape(c.kind)}</td><td>{escape(", ".join(c.sources))}</td><td>{escape(c.destination)}</td>'
                    f"<td>{escape(str(c.before))}</td><td>{escape(str(c.after))}</td><td>{details}</td></tr>")
    summary = (f"{d.count('gained')} connection(s) gained, {d.count('lost')} lost, {d.count('changed')} with "
               f"changed ports; {len(d.added_pods)} pod(s) added, {len(d.removed_pods)} removed")
    pods = "".join(f"<li>added: {escape(p)}</li>" for p in d.added_pods) + "".join(
        f"<li>removed: {escape(p)}</li>" for p in d.removed_pods)
    body = f"""<header><h1>{escape(title)}</h1></header>
<main style="margin-right:0">
<section><h2>Summary</h2><p id="diff-summary">{escape(summary)}</p><ul>{pods}</ul></section>
{_assumptions(assumptions)}
<section><h2>Changes</h2>
<p id="diff-legend">Colours: <span class="opened">opened</span> (gained), <span class="widened">widened</span>
and <span class="narrowed">narrowed</span> (changed ports), <span class="reshaped">some ports opened, others
closed</span>, <span class="closed">closed</span> (lost).</p>
<p><label>show <select id="f-kind"><option value="">all</option><option>gained</option><option>lost</option>
<option>changed</option></select></label></p>
<table id="changes"><thead><tr><th>change</th><th>from</th><th>to</th><th>before</th><th>after</th><th></th></tr>
</thead><tbody>{"".join(rows) or '<tr><td colspan="6">no change</td></tr>'}</tbody></table></section>
</main>"""
    return _page(title, body, _asset("report-diff.js"))
