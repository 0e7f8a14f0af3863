"""A reachability diff as text, JSON, or Markdown for a pull-request comment."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from json.encoder import encode_basestring_ascii

from netpol.connectivity import port_text
from netpol.diff import Change, ReachabilityDiff
from netpol.render.markdown import md_code, md_text

SIGN = {"gained": "+", "lost": "-", "changed": "~"}
SHOWN_SOURCES = 10  # in a Markdown cell before the list folds into a <details> block


def _summary(d: ReachabilityDiff) -> str:
    if not d.changed:
        return "no reachability change"
    parts = [f"{d.count('gained')} connection(s) gained", f"{d.count('lost')} lost", f"{d.count('changed')} with "
             "changed ports"]
    if d.added_pods or d.removed_pods:
        parts.append(f"pods: {len(d.added_pods)} added, {len(d.removed_pods)} removed")
    return ", ".join(parts)


def _ports(c: Change) -> str:
    before, after = port_text(c.before, c.named_before), port_text(c.after, c.named_after)
    if c.kind == "gained":
        return after
    if c.kind == "lost":
        return f"was {before}"
    return f"{before} => {after}"


def _because(c: Change) -> str:
    return f" ({'; '.join(c.because)})" if c.because else ""


def diff_text(d: ReachabilityDiff) -> Iterator[str]:
    """The summary, then a line per change: written as it goes, so a large diff starts at once."""
    yield _summary(d) + "\n"
    for c in d.changes:
        yield f"{SIGN[c.kind]} {', '.join(c.sources)} -> {c.destination}: {_ports(c)}{_because(c)}\n"
    yield from (f"pod added: {p}\n" for p in d.added_pods)
    yield from (f"pod removed: {p}\n" for p in d.removed_pods)


def diff_markdown(d: ReachabilityDiff) -> Iterator[str]:
    yield f"### netpol: reachability changes\n\n**{_summary(d)}**\n"
    if d.changes:
        any_because = any(c.because for c in d.changes)
        yield ("\n| change | from | to | before | after |" + (" rules |" if any_because else "")
               + "\n|---|---|---|---|---|" + ("---|" if any_because else "") + "\n")
        for c in d.changes:
            sources = ", ".join(map(md_code, c.sources))
            if len(c.sources) > SHOWN_SOURCES:  # every source, folded: a review comment stays short
                sources = f"<details><summary>{len(c.sources)} sources</summary>{sources}</details>"
            yield (f"| {SIGN[c.kind]} {c.kind} | {sources} | {md_code(c.destination)} | "
                   f"{md_text(port_text(c.before, c.named_before))} | {md_text(port_text(c.after, c.named_after))} |"
                   + (f" {md_text('; '.join(c.because))} |" if any_because else "") + "\n")
    if d.added_pods or d.removed_pods:
        yield "\n"
        yield from (f"- pod added: {md_code(p)}\n" for p in d.added_pods)
        yield from (f"- pod removed: {md_code(p)}\n" for p in d.removed_pods)


def diff_json(d: ReachabilityDiff) -> Iterator[str]:
    """One JSON object, byte for byte as json.dumps with indent 2 writes it, the counts first, then a
    change at a time; source lists skip json's indent mode, which is pure Python (a large diff lists
    millions of sources)."""
    head = {"changed": d.changed, "gained": d.count("gained"), "lost": d.count("lost"),
            "ports_changed": d.count("changed")}
    yield json.dumps(head, indent=2)[:-2] + ',\n  "changes": ['
    last: tuple[tuple[str, ...], str] = ((), "[]")  # pods of one group come in a row with one same list
    for i, c in enumerate(d.changes):
        if c.sources is not last[0]:
            last = (c.sources, _json_list(c.sources))
        fields = [f'"kind": {json.dumps(c.kind)}', f'"sources": {last[1]}',
                  f'"destination": {json.dumps(c.destination)}',
                  f'"before": {json.dumps(port_text(c.before, c.named_before))}',
                  f'"after": {json.dumps(port_text(c.after, c.named_after))}']
        if c.because:
            fields.append(f'"rules": {_json_list(c.because)}')
        yield ("," if i else "") + "\n    {\n      " + ",\n      ".join(fields) + "\n    }"
    yield ("\n  ]" if d.changes else "]") + ",\n"
    tail = json.dumps({"added_pods": list(d.added_pods), "removed_pods": list(d.removed_pods)}, indent=2)
    yield tail[2:] + "\n"


def _json_list(values: tuple[str, ...]) -> str:
    """A list of strings inside a change, laid out as indent 2 lays it out; each string through the
    encoder json.dumps uses for a str."""
    if not values:
        return "[]"
    if _ESCAPED.search("".join(values)) is None:  # pod names need no escape: quotes around each, at C speed
        return '[\n        "' + '",\n        "'.join(values) + '"\n      ]'
    return "[\n        " + ",\n        ".join(map(encode_basestring_ascii, values)) + "\n      ]"


_ESCAPED = re.compile(r'[^ !#-\[\]-~]')  # what json's ASCII encoder escapes: quote, backslash, and beyond printable
