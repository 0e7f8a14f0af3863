"""Read manifest files into located raw objects.

This is the only place that touches YAML/JSON text. It yields plain dicts
with the Location they came from; `netpol.sources.parse` turns them into the
model. `kind: List` and `*List` documents (what `kubectl get -o yaml` prints)
are expanded into their items, each keeping its own location.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from netpol.errors import InputError, Location

try:  # libyaml is ~7x faster; fall back to the pure-Python safe loader.
    _BaseLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


class _YamlLoader(_BaseLoader):  # type: ignore[misc]
    """Safe loading that rejects duplicate keys, which PyYAML would silently drop but kubectl refuses."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


@dataclass(frozen=True)
class RawObject:
    """One API object as decoded from text, not yet validated."""

    data: dict[str, Any]
    location: Location


def expand_paths(paths: Iterable[str]) -> list[str]:
    """Files as given; directories walked recursively for manifest suffixes, in sorted order."""
    out: list[str] = []
    for raw in paths:
        if raw == STDIN:
            out.append(STDIN)
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES
            )
            if not found:
                raise InputError(Location(raw), None, "directory holds no .yaml, .yml or .json files")
            out.extend(str(p) for p in found)
        elif path.is_file():
            out.append(raw)
        elif path.exists():
            raise InputError(Location(raw), None, "not a regular file or directory")
        else:
            raise InputError(Location(raw), None, "no such file or directory")
    return out


def read_text(path: str, stdin_text: str | None) -> str:
    if path == STDIN:
        if stdin_text is None:
            raise InputError(Location("<stdin>"), None, "no standard input to read")
        return stdin_text
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(Location(path), None, f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(Location(path), None, exc.strerror or str(exc)) from None


class _DuplicateKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        keys = [k for k, _ in pairs]
        raise _DuplicateKey(next(k for i, k in enumerate(keys) if k in keys[:i]))
    return out


def _looks_like_json(path: str, text: str) -> bool:
    if path.lower().endswith(".json"):
        return True
    return path == STDIN and text.lstrip()[:1] in ("{", "[")


def decode_documents(path: str, text: str) -> Iterator[tuple[int, int | None, Any]]:
    """Yield (document number, first line, decoded value) for every non-empty document."""
    name = "<stdin>" if path == STDIN else path
    if _looks_like_json(path, text):
        try:
            value = json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as exc:
            raise InputError(Location(name, line=exc.lineno), None, f"invalid JSON: {exc.msg}") from None
        except _DuplicateKey as exc:
            raise InputError(Location(name), None, f"invalid JSON: duplicate key {exc.args[0]!r}") from None
        yield 1, 1, value
        return
    loader = _YamlLoader(text)
    number = 0
    try:
        while loader.check_node():
            number += 1
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            value = loader.construct_document(node)
            if value is not None:
                yield number, line, value
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(
            Location(name, document=max(number, 1), line=line), None, f"invalid YAML: {problem}"
        ) from None
    finally:
        loader.dispose()


def _describe(data: dict[str, Any]) -> str | None:
    kind = data.get("kind")
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(kind, str):
        return None
    if not isinstance(name, str):
        return kind
    ns = meta.get("namespace") if isinstance(meta, dict) else None
    return f"{kind} {ns}/{name}" if isinstance(ns, str) and kind != "Namespace" else f"{kind} {name}"


def _is_list(data: dict[str, Any]) -> bool:
    kind = data.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and "items" in data


def raw_objects(path: str, text: str) -> Iterator[RawObject]:
    """Every object in one file, with List documents expanded."""
    name = "<stdin>" if path == STDIN else path
    for number, line, value in decode_documents(path, text):
        loc = Location(name, document=number, line=line)
        if not isinstance(value, dict):
            raise InputError(loc, None, f"expected an object (a mapping), found {type(value).__name__}")
        if not _is_list(value):
            yield located(value, loc)
            continue
        items = value["items"]
        if items is None:
            continue
        if not isinstance(items, list):
            raise InputError(loc, "items", "must be a list")
        for index, item in enumerate(items):
            items[index] = None  # let each raw object go once parsed: a 150k-pod List is most of the memory
            item_loc = Location(name, document=number, item=index)
            if not isinstance(item, dict):
                raise InputError(item_loc, None, f"expected an object, found {type(item).__name__}")
            yield located(item, item_loc)


def located(data: dict[str, Any], loc: Location) -> RawObject:
    described = _describe(data)
    return RawObject(data, loc.describing(described) if described else loc)
