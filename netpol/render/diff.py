"""A reachability diff as text, JSON, or Markdown for a pull-request comment."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from json.encoder import encode_basestring_ascii

from netpol.connectivity import port_text
from netpol.diff import Ambiguity, Change, ReachabilityDiff
from netpol.model import IPAddress
from netpol.portsets import PortSet
from netpol.render.markdown import md_code, md_text

SIGN = {"gained": "+", "lost": "-", "changed": "~"}
SHOWN_SOURCES = 10  # in a Markdown cell before the list folds into a <details> block


def summary(d: ReachabilityDiff) -> str:
    """The counts: of (source, destination) pairs, or of changes (lines) when sources are possible pods."""
    if not d.changed:
        return "no reachability change"
    unit = "pair(s)" if d.pairs else "change(s)"
    parts = [f"{d.count('gained')} {unit} gained", f"{d.count('lost')} lost", f"{d.count('changed')} with "
             "changed ports"]
    if d.ambiguities:
        parts.append(f"{len(d.ambiguities)} ambiguity change(s)")
    if d.added_pods or d.removed_pods:
        parts.append(f"pods: {len(d.added_pods)} added, {len(d.removed_pods)} removed")
    return ", ".join(parts)


def ambiguity_text(t: Ambiguity) -> str:
    """`ambiguous: A -> B: TCP:80 (ANP a and ANP b share priority 10; ...)`: the ports a same-priority tie
    leaves to the network plugin, newly or no longer."""
    if not t.before:
        what = f"ambiguous: {', '.join(t.sources)} -> {t.destination}: {t.after}"
    elif not t.after:
        what = f"no longer ambiguous: {', '.join(t.sources)} -> {t.destination}: {t.before}"
    else:
        what = f"ambiguous ports changed: {', '.join(t.sources)} -> {t.destination}: {t.before} => {t.after}"
    return (f"{what} ({'; '.join(t.ties)}: the API leaves their order undefined and they decide these ports "
            "differently, so the network plugin may do either)")


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
    yield summary(d) + "\n"
    for c in d.changes:
        yield f"{SIGN[c.kind]} {', '.join(c.sources)} -> {c.destination}: {_ports(c)}{_because(c)}\n"
    yield from (f"! {ambiguity_text(t)}\n" for t in d.ambiguities)
    yield from (f"pod added: {p}\n" for p in d.added_pods)
    yield from (f"pod removed: {p}\n" for p in d.removed_pods)


def diff_markdown(d: ReachabilityDiff) -> Iterator[str]:
    yield f"### netpol: reachability changes\n\n**{summary(d)}**\n"
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
    if d.ambiguities:
        yield "\n"
        yield from (f"- {md_text(ambiguity_text(t))}\n" for t in d.ambiguities)
    if d.added_pods or d.removed_pods:
        yield "\n"
        yield from (f"- pod added: {md_code(p)}\n" for p in d.added_pods)
        yield from (f"- pod removed: {md_code(p)}\n" for p in d.removed_pods)
    if d.assumptions:
        yield "\n"
        yield from (f"- note: {md_text(note)}\n" for note in d.assumptions)


def diff_json(d: ReachabilityDiff) -> Iterator[str]:
    """One JSON object, byte for byte as json.dumps with indent 2 writes it, the counts first, then a
    change at a time; source lists skip json's indent mode, which is pure Python (a large diff lists
    millions of sources). Beside each display text: ports as ranges per protocol (as `matrix -o json`
    writes them) and named ports, and an outside endpoint's addresses as [first, last] ranges."""
    head = {"changed": d.changed, "gained": d.count("gained"), "lost": d.count("lost"),
            "ports_changed": d.count("changed"), "counts": "pairs" if d.pairs else "changes"}
    yield json.dumps(head, indent=2)[:-2] + ',\n  "changes": ['
    last: tuple[tuple[str, ...], str] = ((), "[]")  # pods of one group come in a row with one same list
    for i, c in enumerate(d.changes):
        if c.sources is not last[0]:
            last = (c.sources, _json_list(c.sources))
        fields = [f'"kind": {json.dumps(c.kind)}', f'"sources": {last[1]}',
                  f'"destination": {json.dumps(c.destination)}',
                  f'"before": {json.dumps(port_text(c.before, c.named_before))}',
                  f'"after": {json.dumps(port_text(c.after, c.named_after))}',
                  f'"before_ranges": {_ranges(c.before)}', f'"after_ranges": {_ranges(c.after)}']
        fields.extend(f'"{key}": {_json_list(named)}' for key, named in (("before_named", c.named_before),
                                                                          ("after_named", c.named_after)) if named)
        fields.extend(f'"{key}": {_addresses(addresses)}' for key, addresses in (
            ("source_addresses", c.source_addresses), ("destination_addresses", c.destination_addresses)) if addresses)
        if c.because:
            fields.append(f'"rules": {_json_list(c.because)}')
        yield ("," if i else "") + "\n    {\n      " + ",\n      ".join(fields) + "\n    }"
    yield ("\n  ]" if d.changes else "]") + ",\n"
    ambiguities = [{"sources": list(t.sources), "destination": t.destination, "before": str(t.before),
                    "after": str(t.after), "before_ranges": t.before.to_json(), "after_ranges": t.after.to_json(),
                    "ties": list(t.ties)} for t in d.ambiguities]
    tail = json.dumps({"ambiguities": ambiguities, "added_pods": list(d.added_pods),
                       "removed_pods": list(d.removed_pods), "assumptions": list(d.assumptions)}, indent=2)
    yield tail[2:] + "\n"


@lru_cache(maxsize=4096)  # a large diff writes the same few port sets for many destinations
def _ranges(ports: PortSet) -> str:
    """Ports as [first, last] ranges per protocol, laid out as indent 2 lays them out inside a change."""
    return json.dumps(ports.to_json(), indent=2).replace("\n", "\n      ")




def _addresses(ranges: tuple[tuple[IPAddress, IPAddress], ...]) -> str:
    return json.dumps([[str(first), str(last)] for first, last in ranges], indent=2).replace("\n", "\n      ")


def _json_list(values: tuple[str, ...]) -> str:
    """A list of strings inside a change, laid out as indent 2 lays it out; each string through the
    encoder json.dumps uses for a str."""
    if not values:
        return "[]"
    if _ESCAPED.search("".join(values)) is None:  # pod names need no escape: quotes around each, at C speed
        return '[\n        "' + '",\n        "'.join(values) + '"\n      ]'
    return "[\n        " + ",\n        ".join(map(encode_basestring_ascii, values)) + "\n      ]"


_ESCAPED = re.compile(r'[^ !#-\[\]-~]')  # what json's ASCII encoder escapes: quote, backslash, and beyond printable
