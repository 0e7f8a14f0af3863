"""Helm hooks in rendered manifests (`helm template`): objects Helm creates at a hook event, not with the
release, and may delete again.

The rule (docs/cli.md, "Helm hooks"): every hook is named. A hook Pod or Job is left out: Helm waits
for it to run to completion, and a finished pod has no network. Any other hook whose
`helm.sh/hook-delete-policy` lists `hook-succeeded` is left out too: Helm deletes it once the hook has
run (for kinds other than Pod and Job, right after creating them), so it is not part of the release's
lasting state; a policy left out this way gets a warning, since it enforces while the hook runs. Every
other hook lasts (the default policy, before-hook-creation, only replaces it at the next run) and is
analysed as a lasting object, with a note.

Objects read from a live cluster are never filtered: what the API server holds is there now. That
includes an object dumped from one (`kubectl get -o yaml`), which has a metadata.uid that a rendered
manifest never has.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from netpol.errors import Diagnostic, name_list
from netpol.sources.manifests import RawObject

HOOK = "helm.sh/hook"
DELETE_POLICY = "helm.sh/hook-delete-policy"
RUN_TO_COMPLETION = ("Pod", "Job")
POLICY_KINDS = ("NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy")


def _annotation(raw: RawObject, key: str) -> tuple[str, ...]:
    meta = raw.data.get("metadata")
    if not isinstance(meta, dict) or "uid" in meta:  # not a manifest: an object the API server holds
        return ()
    annotations = meta.get("annotations")
    value = annotations.get(key) if isinstance(annotations, dict) else None
    return tuple(part.strip() for part in value.split(",") if part.strip()) if isinstance(value, str) else ()


def without_passing_hooks(objects: Iterable[RawObject], diagnostics: list[Diagnostic]) -> Iterator[RawObject]:
    """The objects, less the Helm hooks that do not last; what was left out or kept is added to
    `diagnostics` once every object has been read."""
    left_out: list[str] = []
    kept: list[str] = []
    for raw in objects:
        events = _annotation(raw, HOOK)
        if not events:
            yield raw
            continue
        kind = raw.data.get("kind")
        name = raw.location.object or str(kind)
        if kind in RUN_TO_COMPLETION or "hook-succeeded" in _annotation(raw, DELETE_POLICY):
            left_out.append(name)
            if kind in POLICY_KINDS:
                diagnostics.append(Diagnostic(
                    "warning", f"{name} is a Helm hook ({', '.join(events)}) that Helm deletes once the hook has run "
                               "(hook-delete-policy hook-succeeded): it is left out, though it enforces while the "
                               "hook runs", raw.location))
            continue
        kept.append(name)
        yield raw
    if left_out:
        diagnostics.append(Diagnostic(
            "info", f"left out {len(left_out)} Helm hook object(s) that do not last: {name_list(left_out)} (a hook Pod "
                    "or Job runs to completion, and hook-delete-policy hook-succeeded deletes the others once the "
                    "hook has run)"))
    if kept:
        diagnostics.append(Diagnostic(
            "info", f"{len(kept)} Helm hook object(s) are analysed as lasting (their delete policy keeps them): "
                    f"{name_list(kept)}"))
