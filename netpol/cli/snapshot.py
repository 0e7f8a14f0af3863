"""`netpol snapshot`: save what netpol reads from the live cluster as a v1 List, for -f: CI, offline use, bug
reports.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from netpol.cli.errors import _fail, _user_errors
from netpol.cli.files import _output_path, _suffix, _write_file
from netpol.cli.inputs import LIVE, Source, _read_live, _report, _unmodelled, input_command
from netpol.cli.options import Force, Namespaces
from netpol.cli.output import _note


@input_command(only=[*LIVE, "verbose", "ignore_unmodelled"])  # the live cluster, read as it is
def snapshot(
    inputs: Source,
    out: Annotated[str, typer.Option("--output", "-o", metavar="FILE", help="A .yaml/.yml or .json file.")],
    namespace: Namespaces = None,
    force: Force = False,
) -> None:
    """Save what netpol reads from the live cluster as a v1 List, for -f: CI, offline use, bug reports.

    Only the fields netpol reads are written (labels, ports, IPs, selectors, policies...): no environment
    values, commands, images or last-applied-configuration, so the file is safe to attach to a bug report.

    \b
    Example:
      netpol snapshot -o cluster.yaml -n shop
    """
    suffix = _suffix(out)
    if suffix not in ("yaml", "yml", "json"):
        _fail(f"cannot tell the format of {out!r} from its extension: use .yaml, .yml or .json")
    _output_path(out, force)
    with _user_errors():
        read = _read_live(inputs, namespace)
        _report(read.result, inputs.verbose)
        # Objects netpol does not evaluate are written (by name), so the file's answers refuse alike; what
        # could not be read, the file could not say: refused here.
        _unmodelled(read.result, None if inputs.ignore_unmodelled or not read.result.unread else False)
    import yaml

    from netpol.sources.snapshot import shareable

    document = {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": [shareable(o) for o in read.objects]}
    if suffix == "json":
        data = json.dumps(document, indent=1, sort_keys=True).encode() + b"\n"
    else:
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        data = yaml.dump(document, Dumper=dumper, sort_keys=True, default_flow_style=False).encode()
    _write_file(out, data, force)
    c = read.result.cluster
    _note(f"netpol: wrote {len(read.objects)} object(s) from context {read.context} to {out}: "
          f"{len(c.namespaces)} namespaces, {len(c.pods)} pods and workloads, {len(c.policies)} "
          f"policies, {len(c.services)} services")
