"""Where a field of a loaded object is written: the line of `spec.ingress[1].from[0]` in its file.

Loading keeps one location per object (its document's first line), which is
enough for errors but not for a finding about one rule of a long policy. This
re-reads only the files a finding points into, composes their YAML into
nodes (no values are built, aliases are not expanded) and follows the field
path. The files were loaded a moment before, so they passed the depth and
alias checks; anything unexpected gives no line rather than an error.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

import yaml

from netpol.errors import Location
from netpol.sources.manifests import _YamlLoader

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def field_position(location: Location, path: str | None) -> tuple[int, int] | None:
    """(line, column), both 1-based, of `path` inside the object at `location`; the deepest part of the path
    that exists. None when the file cannot be read again (standard input, a file above REREAD_LIMIT) or has
    no such document."""
    if location.document is None or location.file == "<stdin>":
        return None
    documents = _documents(location.file)
    if not 0 < location.document <= len(documents):
        return None
    node = documents[location.document - 1]
    if node is None:
        return None
    if location.item is not None:
        node = _step(_step(node, "items"), location.item)
    best = node
    for key, index in _STEP.findall(path or ""):
        node = _step(node, key if key else int(index))
        if node is None:
            break
        best = node
    if best is None:
        return None
    return best.start_mark.line + 1, best.start_mark.column + 1


REREAD_LIMIT = 1 << 20  # bytes: a larger file (a cluster snapshot) keeps its findings at the object's place


@lru_cache(maxsize=64)
def _documents(file: str) -> tuple[yaml.Node | None, ...]:
    """The file's documents as nodes. Composing keeps every node with its position, about 50 times the
    file's size in memory, so files above REREAD_LIMIT are not re-read."""
    try:
        if os.path.getsize(file) > REREAD_LIMIT:
            return ()
        with open(file, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return ()
    loader = _YamlLoader(text)
    out: list[yaml.Node | None] = []
    try:
        while loader.check_node():
            out.append(loader.get_node())
    except (yaml.YAMLError, RecursionError):
        return tuple(out)
    finally:
        loader.dispose()
    return tuple(out)


def _step(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    if isinstance(key, int):
        if isinstance(node, yaml.SequenceNode) and key < len(node.value):
            child: yaml.Node = node.value[key]
            return child
        return None
    if isinstance(node, yaml.MappingNode):
        for key_node, value in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                found: yaml.Node = value
                return found
    return None
