"""Kustomize directories and Helm charts rendered to manifests by their own tools, when one is on PATH.

A repository of policies is often overlays and charts; netpol reads what they render to, as `kubectl apply
-k` or `helm install` would send it, and says which command rendered what. Without the tool (or with
`--render never`) the directory stays what it was: the hint to render it first.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass

from netpol.errors import InputError, Location
from netpol.sources.manifests import RenderSource

RENDER_TIMEOUT = 300  # seconds: a renderer that hangs (a remote base that does not answer) is an error, not a wait
OUTPUT_LIMIT = 256 << 20  # bytes of rendered YAML: beyond it the output is refused, not held in memory


@dataclass(frozen=True)
class Rendering:
    """How to render: whether at all, and the chart values (helm template --values, --set)."""

    enabled: bool = True
    helm_values: tuple[str, ...] = ()
    helm_set: tuple[str, ...] = ()


AUTO = Rendering()  # the default: render with the tool on PATH, helm's own values


@dataclass(frozen=True)
class Rendered:
    directory: str
    command: str  # as a shell would run it, for the note
    text: str


def included(sources: tuple[RenderSource, ...]) -> dict[str, str]:
    """Kustomize directories that another one of `sources` includes (resources, bases, components), each
    with that one: rendered as part of it, not on their own, where a base would count twice."""
    import yaml

    kustomizations = {os.path.realpath(s.directory): s.directory for s in sources if s.marker != "Chart.yaml"}
    out: dict[str, str] = {}
    for real, directory in kustomizations.items():
        try:
            with open(os.path.join(directory, next(s.marker for s in sources if s.directory == directory)),
                      encoding="utf-8") as fh:
                spec = yaml.safe_load(fh)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # the renderer says what is wrong with it
        if not isinstance(spec, dict):
            continue
        for key in ("resources", "bases", "components"):
            entries = spec.get(key)
            for entry in entries if isinstance(entries, list) else ():
                if isinstance(entry, str) and "://" not in entry:
                    target = os.path.realpath(os.path.join(real, entry))
                    if target in kustomizations and target != real:
                        out.setdefault(kustomizations[target], directory)
    return out


def render_command(source: RenderSource, rendering: Rendering) -> list[str] | None:
    """The command that renders `source`, or None when rendering is off or its tool is not on PATH."""
    if not rendering.enabled:
        return None
    if source.marker == "Chart.yaml":
        helm = shutil.which("helm")
        if helm is None:
            return None
        values = [a for v in rendering.helm_values for a in ("--values", v)]
        sets = [a for kv in rendering.helm_set for a in ("--set", kv)]
        return [helm, "template", source.directory, *values, *sets]
    kustomize = shutil.which("kustomize")
    if kustomize is not None:
        return [kustomize, "build", source.directory]
    kubectl = shutil.which("kubectl")
    return None if kubectl is None else [kubectl, "kustomize", source.directory]


def render(source: RenderSource, command: list[str]) -> Rendered:
    """Run the renderer; its failure is the user's input error, naming the directory and the command."""
    shown = shlex.join([os.path.basename(command[0]), *command[1:]])
    where = Location(source.directory)
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=RENDER_TIMEOUT,
                              check=False)
    except subprocess.TimeoutExpired:
        raise InputError(where, None, f"`{shown}` did not finish within {RENDER_TIMEOUT} s") from None
    except OSError as exc:
        raise InputError(where, None, f"cannot run `{shown}`: {exc.strerror or exc}") from None
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise InputError(where, None, f"`{shown}` failed (exit {done.returncode})"
                                      + (f": {detail[-1]}" if detail else ""))
    if len(done.stdout) > OUTPUT_LIMIT:
        raise InputError(where, None, f"`{shown}` rendered more than {OUTPUT_LIMIT >> 20} MiB")
    try:
        text = done.stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(where, None, f"`{shown}` printed text that is not UTF-8 (byte {exc.start})") from None
    return Rendered(source.directory, shown, text)
