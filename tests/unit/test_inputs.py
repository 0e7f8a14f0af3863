"""What netpol reads from files and directories: nothing skipped in silence, real repositories load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netpol import InputError, load_manifests
from netpol.sources import manifests
from netpol.sources.render import AUTO, Rendering

POD = ("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: default, labels: {{app: {name}}}}}\n"
       "spec: {{containers: [{{name: c}}]}}\n")
NS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def pods(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.key for p in result.cluster.pods]


def notes(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [d.message for d in result.diagnostics if d.severity == "note"]


def error(paths: list[str], stdin: str | None = None, rendering: Rendering = AUTO) -> str:
    with pytest.raises(InputError) as info:
        load_manifests(paths, stdin, rendering=rendering)
    return str(info.value)


def test_symlinked_directories_are_followed_once(tmp_path: Path) -> None:
    write(tmp_path / "real" / "a.yaml", POD.format(name="a"))
    os.symlink(tmp_path / "real", tmp_path / "top" / "link" if (tmp_path / "top").mkdir() is None else "")
    os.symlink(tmp_path / "top", tmp_path / "top" / "loop")  # a loop back to the top
    result = load_manifests([str(tmp_path / "top")])
    assert pods(result) == ["default/a"]
    assert notes(result) == [f"skipped {tmp_path / 'top' / 'loop'}: already read through another path (symlink loop)"]


def test_dot_directories_and_files_are_skipped_with_a_note(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", POD.format(name="a"))
    write(tmp_path / ".github" / "workflows" / "ci.yaml", "on: push\n")
    write(tmp_path / ".pre-commit-config.yaml", "repos: []\n")
    result = load_manifests([str(tmp_path)])
    assert pods(result) == ["default/a"]
    assert notes(result) == [f"skipped {tmp_path / '.github'}: dot-file or dot-directory",
                             f"skipped {tmp_path / '.pre-commit-config.yaml'}: dot-file or dot-directory"]


def test_broken_symlink_fifo_and_unreadable_directory_are_errors(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "a.yaml", POD.format(name="a"))
    os.symlink(tmp_path / "gone.yaml", tmp_path / "b.yaml")
    assert error([str(tmp_path)]) == f"{tmp_path / 'b.yaml'}: broken symbolic link (to {tmp_path / 'gone.yaml'})"
    os.remove(tmp_path / "b.yaml")
    os.mkfifo(tmp_path / "pipe.yaml")
    assert error([str(tmp_path)]) == f"{tmp_path / 'pipe.yaml'}: a FIFO (named pipe), not a manifest file or directory"
    os.remove(tmp_path / "pipe.yaml")
    os.symlink("/dev/null", tmp_path / "dev.yaml")
    assert error([str(tmp_path)]) == f"{tmp_path / 'dev.yaml'}: a device, not a manifest file or directory"
    os.remove(tmp_path / "dev.yaml")
    assert error(["/dev/null"]) == "/dev/null: holds no Kubernetes objects (empty input)"  # named: read, like a pipe
    (tmp_path / "sub").mkdir()
    real_scandir = os.scandir

    def refuse(path):  # type: ignore[no-untyped-def]
        if str(path).endswith("sub"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(manifests.os, "scandir", refuse)  # root reads every directory: simulate the refusal
    assert error([str(tmp_path)]) == f"{tmp_path / 'sub'}: cannot read directory: Permission denied"


def test_empty_input_is_an_error(tmp_path: Path) -> None:
    assert error(["-"], "") == "<stdin>: holds no Kubernetes objects (empty input)"
    assert error(["-"], "---\n# only a comment\n") == "<stdin>: holds no Kubernetes objects (empty input)"
    empty = write(tmp_path / "empty.yaml", "")
    assert error([str(empty)]) == f"{empty}: holds no Kubernetes objects (empty input)"
    assert error([str(tmp_path)]) == f"{empty}: no Kubernetes objects in the input"
    write(tmp_path / "a.yaml", POD.format(name="a"))
    result = load_manifests([str(tmp_path)])  # an empty file beside manifests is noted, not an error
    assert pods(result) == ["default/a"]
    assert notes(result) == [f"skipped {empty}: holds no objects"]


def test_identical_duplicates_merge_conflicting_ones_fail(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", NS + "---\n" + POD.format(name="a"))
    b = write(tmp_path / "b.yaml", NS)
    result = load_manifests([str(a), str(b), str(a)])  # one file given twice, a Namespace in two files
    assert pods(result) == ["default/a"]
    assert [d.message for d in result.diagnostics] == [
        "merged 3 identical duplicate object(s): Namespace default, Pod default/a",
        f"Namespace default is defined identically at {a}: document 1, line 1 (Namespace default) and {b}: "
        "document 1, line 1 (Namespace default)",
        f"Namespace default is defined identically at {a}: document 1, line 1 (Namespace default) and {a}: "
        "document 1, line 1 (Namespace default)",
        f"Pod default/a is defined identically at {a}: document 2, line 5 (Pod default/a) and {a}: "
        "document 2, line 5 (Pod default/a)"]
    c = write(tmp_path / "c.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: default, labels: {x: y}}\n")
    assert error([str(a), str(c)]) == (
        f"{c}: document 1, line 1 (Namespace default): Namespace default is defined twice, differently "
        f"(first at {a}: document 1, line 1 (Namespace default))")


def test_typed_lists_and_nested_lists(tmp_path: Path) -> None:
    typed = write(tmp_path / "pods.json", '{"apiVersion": "v1", "kind": "PodList", "items": ['
                  '{"metadata": {"name": "a", "namespace": "default"}, "spec": {"containers": [{"name": "c"}]}},'
                  '{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", '
                  '"metadata": {"name": "b", "namespace": "default"}, "spec": {"containers": [{"name": "c"}]}}]}]}')
    assert pods(load_manifests([str(typed)])) == ["default/a", "default/b"]
    policies = write(tmp_path / "np.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicyList\nitems:\n"
                     "- metadata: {name: deny, namespace: default}\n  spec: {podSelector: {}}\n")
    assert [p.key for p in load_manifests([str(policies)]).cluster.policies] == ["default/deny"]


def test_json_file_holding_yaml_and_the_yaml_value_key(tmp_path: Path) -> None:
    path = write(tmp_path / "pod.json", POD.format(name="a"))  # kubectl reads YAML in a .json file
    assert pods(load_manifests([str(path)])) == ["default/a"]
    rule = write(tmp_path / "rule.yaml", "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\n"
                 "metadata: {name: r}\nspec: {groups: [{name: g, rules: [{alert: A, op: =}]}]}\n---\n"
                 + POD.format(name="a"))
    result = load_manifests([str(rule)])  # `op: =` is the string "=", not an error
    assert pods(result) == ["default/a"] and [o.kind for o in result.ignored] == ["PrometheusRule"]


NEVER = Rendering(enabled=False)  # --render never: what netpol does without kustomize, kubectl or helm


@pytest.mark.parametrize(("marker", "message"), [
    ("kustomization.yaml", "is a Kustomize directory (kustomization.yaml), not manifests: render it first, e.g. "
                           "kubectl kustomize {dir} | netpol ... -f -"),
    ("Chart.yaml", "is a Helm chart (Chart.yaml), not manifests: render it first, e.g. "
                   "helm template RELEASE {dir} | netpol ... -f -"),
])
def test_render_sources_get_a_hint_not_a_field_error(tmp_path: Path, marker: str, message: str) -> None:
    overlay = tmp_path / "deploy" / "overlay"
    write(overlay / marker, "resources: [../base]\n")
    write(overlay / "patch.yaml", "- op: replace\n  path: /spec/replicas\n  value: 3\n")
    write(tmp_path / "deploy" / "base" / "a.yaml", POD.format(name="a"))
    assert error([str(overlay)], rendering=NEVER) == f"{overlay}: {message.format(dir=overlay)}"
    assert error([str(overlay / marker)], rendering=NEVER) == f"{overlay}: {message.format(dir=overlay)}"


@pytest.mark.parametrize(("marker", "message"), [
    ("kustomization.yaml", "is a Kustomize directory (kustomization.yaml), not manifests: render it first, e.g. "
                           "kubectl kustomize {dir} | netpol ... -f -"),
    ("Chart.yaml", "is a Helm chart (Chart.yaml), not manifests: render it first, e.g. "
                   "helm template RELEASE {dir} | netpol ... -f -"),
])
def test_a_render_source_inside_a_directory_is_passed_over_with_a_warning(tmp_path: Path, marker: str,
                                                                         message: str) -> None:
    """One overlay in a repository of plain manifests does not stop the reading of the rest (issue 29)."""
    overlay = tmp_path / "deploy" / "overlay"
    write(overlay / marker, "resources: [../base]\n")
    write(overlay / "patch.yaml", "- op: replace\n  path: /spec/replicas\n  value: 3\n")
    write(overlay / "nested" / "b.yaml", POD.format(name="b"))  # inside the overlay: the renderer's input
    write(tmp_path / "deploy" / "base" / "a.yaml", POD.format(name="a"))
    result = load_manifests([str(tmp_path)], rendering=NEVER)
    assert pods(result) == ["default/a"]
    assert [str(d) for d in result.diagnostics if "not read" in d.message] == [
        f"warning: {overlay}: not read: it {message.format(dir=overlay)}"]
    only = tmp_path / "only"
    write(only / "chart" / marker, "name: c\n")
    write(only / "chart" / "templates" / "np.yaml", POD.format(name="c"))
    assert error([str(only)], rendering=NEVER) == f"{only / 'chart'}: {message.format(dir=only / 'chart')}"


def test_host_bits_load_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "np.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                 "metadata: {name: p, namespace: default}\nspec:\n  podSelector: {}\n  egress:\n"
                 "  - to: [{ipBlock: {cidr: 10.0.1.1/24}}, {ipBlock: {cidr: 10.0.2.0/24}}]\n")
    result = load_manifests([str(path)])
    assert [str(d) for d in result.diagnostics if "host bits" in d.message] == [
        f"warning: {path}: document 1, line 1 (NetworkPolicy default/p): egress[0]: ipBlock cidr 10.0.1.1/24 has "
        "host bits set; it means the network 10.0.1.0/24 (Kubernetes 1.36 and later refuse it in a new object: write "
        "10.0.1.0/24)"]


def test_depth_is_checked_when_libyaml_does_not_limit_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Older libyaml recurses without limit and crashes the process: netpol measures the depth first."""
    monkeypatch.setattr(manifests, "_libyaml_limits_depth", lambda: False)
    deep = write(tmp_path / "deep.yaml", POD.format(name="a") + "---\nx:\n  y: " + "[" * 1500 + "]" * 1500 + "\n")
    assert error([str(deep)]) == f"{deep}: document 2, line 7: nested deeper than 1000 levels; no Kubernetes object is"
    flat = write(tmp_path / "flat.yaml", POD.format(name="a") + "---\n" + POD.format(name="b"))
    assert pods(load_manifests([str(flat)])) == ["default/a", "default/b"]
    assert not manifests._could_nest_deeper(POD.format(name="a"), 1000)
