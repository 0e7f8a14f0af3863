"""Read manifest files into located raw objects.

This is the only place that touches YAML/JSON text. It yields plain dicts
with the Location they came from; `netpol.sources.parse` turns them into the
model. `kind: List` and `*List` documents (what `kubectl get -o yaml` prints)
are expanded into their items, each keeping its own location; the items of
a typed list (`PodList`) take their kind from it, as the API server leaves
it out, and a List inside a List is flattened, as kubectl does.

Nothing is skipped in silence: every file a directory holds is read or is an
error naming it, except dot-files and dot-directories (`.git`, `.github`),
which are noted, and what an --exclude pattern matches, which is named.
Hostile text is bounded: nesting deeper than MAX_DEPTH and alias expansion
beyond ALIAS_BUDGET nodes are errors, not a crash or unbounded memory.
"""

from __future__ import annotations

import fnmatch
import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
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


# YAML 1.1's "value" key `=` (kube-prometheus writes `op: =`) is just the string "=" to the API server.
_YamlLoader.add_constructor("tag:yaml.org,2002:value", _YamlLoader.construct_yaml_str)

MAX_DEPTH = 1000  # no API object nests this deep; libyaml's composer recurses in C and crashes far deeper
ALIAS_BUDGET = 1_000_000  # nodes that aliases may add to a document when expanded ("billion laughs")

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


@dataclass(frozen=True)
class RawObject:
    """One API object as decoded from text, not yet validated."""

    data: dict[str, Any]
    location: Location


# Files that mark a directory as a source to render, not manifests to read: (file, what, how to render).
_RENDER_FIRST = (
    ("kustomization.yaml", "a Kustomize directory", "kubectl kustomize {dir} | netpol ... -f -"),
    ("kustomization.yml", "a Kustomize directory", "kubectl kustomize {dir} | netpol ... -f -"),
    ("Kustomization", "a Kustomize directory", "kubectl kustomize {dir} | netpol ... -f -"),
    ("Chart.yaml", "a Helm chart", "helm template RELEASE {dir} | netpol ... -f -"),
)


@dataclass(frozen=True)
class Inputs:
    """The files to read, and what was passed over on the way (shown with --verbose)."""

    files: tuple[str, ...]
    given: frozenset[str]  # files named on the command line, not found in a directory
    skipped: tuple[str, ...] = ()
    render_sources: tuple[RenderSource, ...] = ()  # Kustomize directories and Helm charts: not read as files
    excluded: tuple[tuple[str, tuple[str, ...]], ...] = ()  # each --exclude pattern, the paths it left out


@dataclass(frozen=True)
class RenderSource:
    """A Kustomize directory or a Helm chart: its files are a renderer's inputs, not objects."""

    directory: str
    marker: str  # the file that says what it is (kustomization.yaml, Chart.yaml)
    given: bool  # named with -f, not found inside a directory
    hint: InputError  # what to do without the renderer


def expand_paths(paths: Iterable[str], exclude: Iterable[str] = ()) -> Inputs:
    """Files as given; directories walked recursively (following symlinks) for manifest suffixes, sorted,
    leaving out the files and directories an `exclude` pattern matches (_Exclusions)."""
    out: list[str] = []
    given: set[str] = set()
    skipped: list[str] = []
    sources: list[RenderSource] = []
    exclusions = _Exclusions(tuple(exclude))
    for raw in paths:
        if raw == STDIN:
            out.append(STDIN)
            given.add(STDIN)
            continue
        path = Path(raw)
        if path.is_dir():
            before, left_out = len(sources), exclusions.count()
            found = _walk(path, skipped, sources, exclusions)
            if not found and len(sources) == before:
                excluded = exclusions.count() - left_out
                raise InputError(Location(raw), None, "directory holds no .yaml, .yml or .json files" + (
                    f" once --exclude left out {excluded} path(s)" if excluded else ""))
            out.extend(found)
        elif path.exists():  # named on the command line: a file, or a pipe such as /dev/stdin or <(kubectl ...)
            marked = _render_source(path.parent, {path.name}, True)
            if marked is not None:
                sources.append(marked)
            else:
                out.append(raw)
                given.add(raw)
        else:
            _check_entry(raw)
    return Inputs(tuple(out), frozenset(given), tuple(skipped), tuple(sources),
                  tuple((pattern, tuple(paths)) for pattern, paths in exclusions.matched.items()))


class _Exclusions:
    """--exclude GLOB: what a directory input holds and a pattern matches is not walked. A pattern without
    `/` matches an entry's name at any depth (`*.test.yaml`, `charts`); one with `/` matches its path below
    the directory named with -f (`legacy/*`), or as netpol names it (`k8s/legacy`). Globs are fnmatch's
    (`*` also crosses `/`); a trailing `/` is ignored. What was named with -f itself is always read."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns
        self.matched: dict[str, list[str]] = {p: [] for p in patterns}  # pattern -> the paths it left out

    def count(self) -> int:
        return sum(map(len, self.matched.values()))

    def leaves_out(self, top: Path, child: Path) -> bool:
        """Whether a pattern matches `child`, found under `top`; the first that does records it."""
        for pattern in self.patterns:
            glob = pattern.rstrip("/").removeprefix("./")
            if "/" in glob:
                hit = fnmatch.fnmatchcase(child.relative_to(top).as_posix(), glob) or fnmatch.fnmatchcase(
                    child.as_posix(), glob)
            else:
                hit = fnmatch.fnmatchcase(child.name, glob)
            if hit:
                self.matched[pattern].append(str(child))
                return True
        return False


def _walk(top: Path, skipped: list[str], sources: list[RenderSource], exclusions: _Exclusions) -> list[str]:
    """Manifest files under `top`, following directory symlinks once each (a loop is not walked twice).
    A Kustomize directory or Helm chart (`top` too) goes whole into `sources`: its files are a renderer's
    inputs, not objects, and one such folder in a repository must not stop the reading of the rest.
    Entries an --exclude pattern matches are left out before anything else (`exclusions` records them)."""
    found: list[str] = []
    seen: set[tuple[int, int]] = set()
    pending = [top]
    while pending:
        directory = pending.pop()
        try:
            info = directory.stat()
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise InputError(Location(str(directory)), None, f"cannot read directory: {exc.strerror}") from None
        if (info.st_dev, info.st_ino) in seen:
            skipped.append(f"{directory}: already read through another path (symlink loop)")
            continue
        seen.add((info.st_dev, info.st_ino))
        names = {e.name for e in entries}
        marked = _render_source(directory, names, directory == top)
        if marked is not None:
            sources.append(marked)
            continue
        subdirs = []
        for entry in entries:
            child = directory / entry.name
            if exclusions.leaves_out(top, child):
                continue
            if entry.name.startswith("."):
                skipped.append(f"{child}: dot-file or dot-directory")
                continue
            if entry.is_dir():  # follows symlinks
                subdirs.append(child)
            elif entry.is_file():
                if child.suffix.lower() in MANIFEST_SUFFIXES:
                    found.append(str(child))
            else:
                _check_entry(str(child))
        pending.extend(reversed(subdirs))
    return sorted(found)


def _check_entry(path: str) -> None:
    """An entry that is neither a regular file nor a directory is an error naming what it is."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError(Location(path), None, f"broken symbolic link (to {os.readlink(path)})") from None
        raise InputError(Location(path), None, "no such file or directory") from None
    except OSError as exc:
        raise InputError(Location(path), None, exc.strerror or str(exc)) from None
    what = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISBLK(mode) or stat.S_ISCHR(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    raise InputError(Location(path), None, f"{what}, not a manifest file or directory")


def _render_source(directory: Path, names: set[str], given: bool) -> RenderSource | None:
    """The directory as a render source when it holds one of the marker files."""
    for marker, what, how in _RENDER_FIRST:
        if marker in names:
            hint = f"is {what} ({marker}), not manifests: render it first, e.g. {how.format(dir=directory)}"
            return RenderSource(str(directory), marker, given, InputError(Location(str(directory)), None, hint))
    return None


def display_name(path: str) -> str:
    """How messages name an input: `<stdin>` for `-`."""
    return "<stdin>" if path == STDIN else path


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
    """JSON text, by its first character: a .json file holding YAML is YAML, as kubectl reads it."""
    return (path.lower().endswith(".json") or path == STDIN) and text.lstrip()[:1] in ("{", "[")


def decode_documents(path: str, text: str) -> Iterator[tuple[int, int | None, Any]]:
    """Yield (document number, first line, decoded value) for every non-empty document."""
    name = display_name(path)
    if _looks_like_json(path, text):
        try:
            value = json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as exc:
            raise InputError(Location(name, line=exc.lineno), None, f"invalid JSON: {exc.msg}") from None
        except _DuplicateKey as exc:
            raise InputError(Location(name), None, f"invalid JSON: duplicate key {exc.args[0]!r}") from None
        except RecursionError:
            raise InputError(Location(name), None, "invalid JSON: nested too deeply") from None
        yield 1, 1, value
        return
    if not _libyaml_limits_depth() and _could_nest_deeper(text, MAX_DEPTH):
        _check_depth(name, text)
    loader = _YamlLoader(text)
    number = 0
    aliases = "&" in text  # no anchor, no alias to expand
    try:
        while loader.check_node():
            number += 1
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            if aliases and _expanded_size(node) > ALIAS_BUDGET:
                raise InputError(Location(name, document=number, line=line), None,
                                 f"its aliases expand to more than {ALIAS_BUDGET:,} nodes (a 'billion laughs' "
                                 "document?); netpol refuses it rather than using unbounded memory")
            value = loader.construct_document(node)
            if value is not None:
                yield number, line, value
    except RecursionError:
        raise InputError(Location(name, document=max(number, 1)), None,
                         f"nested deeper than {MAX_DEPTH} levels; no Kubernetes object is") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "nesting depth" in problem:
            raise InputError(Location(name, document=max(number, 1), line=line), None,
                             f"nested deeper than {MAX_DEPTH} levels; no Kubernetes object is") from None
        raise InputError(
            Location(name, document=max(number, 1), line=line), None, f"invalid YAML: {problem}"
        ) from None
    finally:
        loader.dispose()


@lru_cache(maxsize=1)
def _libyaml_limits_depth() -> bool:
    """libyaml >= 0.2.5 refuses nesting beyond 1000 levels itself; older ones recurse until they crash."""
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    try:
        _YamlLoader(deep).get_single_node()
    except yaml.YAMLError as exc:
        return "nesting depth" in str(exc)
    except RecursionError:  # the pure-Python composer: it fails cleanly, and the check below still runs
        return False
    return False


def _could_nest_deeper(text: str, limit: int) -> bool:
    """A cheap upper bound: block nesting needs a column per level, flow nesting a bracket per level."""
    if len(text) <= limit:
        return False
    return text.count("[") + text.count("{") + max(map(len, text.split("\n"))) > limit


def _check_depth(name: str, text: str) -> None:
    """The exact nesting depth, from libyaml's events (its parser is iterative; its composer is not)."""
    parser = _YamlLoader(text)
    depth, document, line = 0, 0, 1
    too_deep = f"nested deeper than {MAX_DEPTH} levels; no Kubernetes object is"
    try:
        while True:
            event = parser.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return
            line = event.start_mark.line + 1
            if isinstance(event, yaml.DocumentStartEvent):
                document += 1
            elif isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InputError(Location(name, document=document, line=line), None, too_deep)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        if "nesting depth" in str(exc):  # newer libyaml stops at its own limit (also 1000)
            raise InputError(Location(name, document=max(document, 1), line=line), None, too_deep) from None
        return  # the composer reports it, with its position
    finally:
        parser.dispose()


def _expanded_size(root: yaml.Node) -> int:
    """Nodes in the document with every alias expanded, counted without expanding (memoised, iterative)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    active: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = _children(node)
        if done:
            active.discard(key)
            sizes[key] = min(1 + sum(sizes[id(c)] for c in children), ALIAS_BUDGET + 1)
            continue
        if key in active:
            return ALIAS_BUDGET + 1  # a recursive alias expands without end
        active.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


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
    name = display_name(path)
    for number, line, value in decode_documents(path, text):
        loc = Location(name, document=number, line=line)
        if not isinstance(value, dict):
            raise InputError(loc, None, f"expected an object (a mapping), found {type(value).__name__}")
        yield from _expand(value, loc)


def _expand(value: dict[str, Any], loc: Location) -> Iterator[RawObject]:
    """One object, or the items of a List (typed lists give their items the kind; nested Lists flatten)."""
    if not _is_list(value):
        yield located(value, loc)
        return
    items = value["items"]
    if items is None:
        return
    if not isinstance(items, list):
        raise InputError(loc, "items", "must be a list")
    kind, api_version = value["kind"], value.get("apiVersion")
    item_kind = kind[: -len("List")] if kind != "List" else None
    for index, item in enumerate(items):
        items[index] = None  # let each raw object go once parsed: a 150k-pod List is most of the memory
        item_loc = Location(loc.file, document=loc.document, item=index) if loc.item is None else loc
        if not isinstance(item, dict):
            raise InputError(item_loc, None, f"expected an object, found {type(item).__name__}")
        if item_kind is not None:  # a PodList's items, as the API server returns them, have no kind
            item.setdefault("kind", item_kind)
            if isinstance(api_version, str):
                item.setdefault("apiVersion", api_version)
        yield from _expand(item, item_loc)


def located(data: dict[str, Any], loc: Location) -> RawObject:
    described = _describe(data)
    return RawObject(data, loc.describing(described) if described else loc)
