"""--exclude GLOB: what a directory input holds and a pattern matches is not read, and is named; nested
Kustomize directories and charts that no pattern matches keep their behaviour."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netpol import InputError, load_manifests
from tests.unit.test_inputs import NEVER, POD, pods, write


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Two pods worth reading, and beside them what must be left out to read the rest."""
    root = tmp_path / "k8s"
    write(root / "app" / "a.yaml", POD.format(name="a"))
    write(root / "app" / "a.test.yaml", "kind: [\n")  # broken
    write(root / "legacy" / "deep" / "old.yaml", "kind: [\n")  # broken
    write(root / "b.yaml", POD.format(name="b"))
    write(root / "charts" / "c" / "Chart.yaml", "name: c\n")
    write(root / "overlay" / "kustomization.yaml", "resources: []\n")
    os.symlink(root / "missing", root / "app" / "dangling.yaml")  # a broken link is an error, unless excluded
    return root


def lines(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(d) for d in result.diagnostics if "namespace" not in d.message]


def test_names_paths_and_trailing_slashes(repo: Path) -> None:
    result = load_manifests([str(repo)], rendering=NEVER, exclude=[
        "*.test.yaml", "app/dangling.yaml", f"{repo}/legacy/", "charts", "overlay/"])
    assert pods(result) == ["default/a", "default/b"]
    assert lines(result) == [
        f"info: --exclude '*.test.yaml' left out 1 path(s): {repo}/app/a.test.yaml",
        f"note: {repo}/app/a.test.yaml: left out by --exclude '*.test.yaml'",
        f"info: --exclude 'app/dangling.yaml' left out 1 path(s): {repo}/app/dangling.yaml",
        f"note: {repo}/app/dangling.yaml: left out by --exclude 'app/dangling.yaml'",
        f"info: --exclude '{repo}/legacy/' left out 1 path(s): {repo}/legacy",
        f"note: {repo}/legacy: left out by --exclude '{repo}/legacy/'",
        f"info: --exclude 'charts' left out 1 path(s): {repo}/charts",
        f"note: {repo}/charts: left out by --exclude 'charts'",
        f"info: --exclude 'overlay/' left out 1 path(s): {repo}/overlay",
        f"note: {repo}/overlay: left out by --exclude 'overlay/'",
    ]


def test_nested_sources_no_pattern_matches_keep_their_warning(repo: Path) -> None:
    result = load_manifests([str(repo)], rendering=NEVER, exclude=["*.test.yaml", "dangling.yaml", "legacy",
                                                                   "c", "nothing*"])
    assert pods(result) == ["default/a", "default/b"]
    assert [line for line in lines(result) if not line.startswith("note")] == [
        f"info: --exclude '*.test.yaml' left out 1 path(s): {repo}/app/a.test.yaml",
        f"info: --exclude 'dangling.yaml' left out 1 path(s): {repo}/app/dangling.yaml",
        f"info: --exclude 'legacy' left out 1 path(s): {repo}/legacy",
        f"info: --exclude 'c' left out 1 path(s): {repo}/charts/c",
        "warning: --exclude 'nothing*' matched nothing in the directories read (it applies to what a directory "
        "named with -f holds)",
        f"warning: {repo}/overlay: not read: it is a Kustomize directory (kustomization.yaml), not manifests: render "
        f"it first, e.g. kubectl kustomize {repo}/overlay | netpol ... -f -",
    ]


def test_the_first_matching_pattern_counts_and_a_file_named_with_f_is_read(repo: Path) -> None:
    patterns = ["a*", "app", "legacy", "charts", "overlay", "b.yaml"]
    with pytest.raises(InputError) as info:
        load_manifests([str(repo)], exclude=patterns)
    assert str(info.value) == f"{repo}: directory holds no .yaml, .yml or .json files once --exclude left out 5 path(s)"
    result = load_manifests([str(repo), str(repo / "app" / "a.yaml")], rendering=NEVER, exclude=patterns[:-1])
    assert pods(result) == ["default/a", "default/b"]  # app/a.yaml is read because -f names it
    infos = [line for line in lines(result) if line.startswith(("info", "warning"))]
    assert infos == [
        f"info: --exclude 'a*' left out 1 path(s): {repo}/app",
        "warning: --exclude 'app' matched nothing in the directories read (it applies to what a directory named "
        "with -f holds)",
        f"info: --exclude 'legacy' left out 1 path(s): {repo}/legacy",
        f"info: --exclude 'charts' left out 1 path(s): {repo}/charts",
        f"info: --exclude 'overlay' left out 1 path(s): {repo}/overlay",
    ]


def test_many_paths_are_counted_and_each_one_noted(tmp_path: Path) -> None:
    write(tmp_path / "keep.yaml", POD.format(name="keep"))
    for i in range(5):
        write(tmp_path / f"gen-{i}.yaml", "kind: [\n")
    result = load_manifests([str(tmp_path)], exclude=["gen-*"])
    assert pods(result) == ["default/keep"]
    assert lines(result)[0] == (f"info: --exclude 'gen-*' left out 5 path(s): {tmp_path}/gen-0.yaml, "
                                f"{tmp_path}/gen-1.yaml, {tmp_path}/gen-2.yaml +2 more")
    assert len([line for line in lines(result) if line.startswith("note")]) == 5
