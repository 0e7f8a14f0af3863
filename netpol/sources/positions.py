"""Where a field of a loaded object is written: the line of `spec.ingress[1].from[0]` in its file.

Loading keeps one location per object (its document's first line), which is
enough for errors but not for a finding about one rule of a long policy. This
composes the YAML of the texts the loader kept (LoadResult.texts; each input
is read once, so a FIFO, standard input or `<(kubectl ...)` get lines too)
into nodes (no values are built, aliases are not expanded) and follows the
field path. The texts passed the depth and alias checks when they were
loaded; anything unexpected gives no line rather than an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import yaml

from netpol.errors import Location
from netpol.sources.manifests import _YamlLoader

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class Positions:
    """Field positions in the texts of one load (LoadResult.texts, by the name locations use)."""

    texts: Mapping[str, str]

    def find(self, location: Location, path: str | None) -> tuple[int, int] | None:
        """(line, column), both 1-based, of `path` inside the object at `location`; the deepest part of the
        path that exists. None when the text was not kept (above KEPT_TEXT_LIMIT) or has no such document."""
        text = self.texts.get(location.file)
        if location.document is None or text is None:
            return None
        documents = _documents(text)
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




@lru_cache(maxsize=64)
def _documents(text: str) -> tuple[yaml.Node | None, ...]:
    """The text's documents as nodes. Composing keeps every node with its position, about 50 times the
    text's size in memory, which is why the loader keeps only texts up to KEPT_TEXT_LIMIT."""
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
