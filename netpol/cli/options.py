"""The typer app, and the options and formats that several commands share."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from netpol.cli.errors import _fail

app = typer.Typer(
    name="netpol",
    help="Analyse Kubernetes NetworkPolicies: who can reach whom, on which ports, and why.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no <bool>/<list[str]> type labels; every option has a metavar
)


class TextFormat(StrEnum):
    """For can-reach and check."""

    text = "text"
    json = "json"


class GraphFormat(StrEnum):
    dot = "dot"
    svg = "svg"
    png = "png"
    mermaid = "mermaid"
    md = "md"  # Markdown: the Mermaid flowchart in a ```mermaid block, as GitHub renders it


class RenderMode(StrEnum):
    auto = "auto"
    never = "never"


class ProtocolName(StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"


class ProbeProtocol(StrEnum):
    """What can-reach and matrix probe: a port protocol, or ICMP and ICMPv6 (a type and code)."""

    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"
    ICMP = "ICMP"
    ICMPv6 = "ICMPv6"


# The help's heading over the input options, in every command. An input option is an alias below with this panel
# and a field of inputs.Source annotated with it: input_command offers it on every command that reads the input.
INPUT_PANEL = "Input"


Files = Annotated[
    list[str] | None,
    typer.Option("--filename", "-f", metavar="PATH", help="Manifest file, directory (recursive) or '-' for stdin. "
                 "Repeatable. Without it, the live cluster is read.", rich_help_panel=INPUT_PANEL),
]


Render = Annotated[RenderMode, typer.Option(
    "--render", metavar="auto|never", help="auto: render a Kustomize directory or Helm chart under -f with "
    "kustomize build, kubectl kustomize or helm template when on PATH; never: do not (a hint, or a warning).",
    rich_help_panel=INPUT_PANEL)]


HelmValues = Annotated[list[str] | None, typer.Option(
    "--helm-values", metavar="FILE", help="Values for helm template (its --values). Repeatable.",
    rich_help_panel=INPUT_PANEL)]


HelmSet = Annotated[list[str] | None, typer.Option(
    "--helm-set", metavar="K=V", help="A value for helm template (its --set). Repeatable.",
    rich_help_panel=INPUT_PANEL)]


Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="List objects of kinds netpol does not analyse.",
                                       rich_help_panel=INPUT_PANEL)]


Kubeconfig = Annotated[str | None, typer.Option(
    "--kubeconfig", metavar="FILE", help="The kube config file for reading a live cluster (without -f; check: with "
    "--live), instead of $KUBECONFIG's files (merged) or else ~/.kube/config. With none of them, inside a pod: its "
    "service account.", rich_help_panel=INPUT_PANEL)]


Context = Annotated[str | None, typer.Option("--context", metavar="NAME",
                                             help="The kube config's context to read (default: its current-context).",
                                             rich_help_panel=INPUT_PANEL)]


Exclude = Annotated[list[str] | None, typer.Option(
    "--exclude", metavar="GLOB", help="Leave out what a directory under -f holds and GLOB matches: a name at any "
    "depth (*.test.yaml, charts), or with a '/' a path below that directory (legacy/*). Repeatable; named on stderr.",
    rich_help_panel=INPUT_PANEL)]


DefaultNamespace = Annotated[str | None, typer.Option(
    "--default-namespace", metavar="NS", help="Namespace for manifests that name none, as 'kubectl apply -n NS' "
    "gives it (default: default). Objects that name one keep it.", rich_help_panel=INPUT_PANEL)]


Namespaces = Annotated[
    list[str] | None, typer.Option("--namespace", "-n", metavar="NS", help="Only these namespaces. Repeatable.")
]


Force = Annotated[bool, typer.Option("--force", help="Write the output file even where its path is a symbolic "
                                     "link (to the file the link points to).")]


IgnoreUnmodelled = Annotated[bool, typer.Option(
    "--ignore-unmodelled", help="Answer even though the input holds objects that allow or deny traffic and "
    "that netpol does not evaluate (Cilium, Calico, Antrea, Istio... see docs/semantics.md), or a policy kind "
    "it could not read; every answer then names them among its assumptions.", rich_help_panel=INPUT_PANEL)]


Cni = Annotated[str | None, typer.Option(
    "--cni", metavar="NAME[:VERSION]", help="The network plugin that enforces the policies: generic (the API's "
    "answers), cilium or calico, at its newest release netpol knows or at VERSION (netpol --version lists them). "
    "Default: the plugin a live cluster runs, or whose kinds the files hold; else generic (docs/cli.md).",
    rich_help_panel=INPUT_PANEL)]


CniOption = Annotated[list[str] | None, typer.Option(
    "--cni-option", metavar="KEY=VALUE", help="Under --cni cilium: a Cilium agent option that changes an answer "
    "(repeatable): enable-policy=default|always|never, allow-localhost=auto|always|policy, "
    "policy-cidr-match-mode=nodes, policy-default-local-cluster=true|false, "
    "enable-non-default-deny-policies=true|false. Default: Cilium 1.20's (docs/cli.md).",
    rich_help_panel=INPUT_PANEL)]


Staged = Annotated[bool, typer.Option(
    "--staged", help="Under --cni calico: answer as if the staged Calico policies were applied (a stagedAction Set "
    "creates or replaces its enforced counterpart, a Delete deletes it; docs/semantics.md §16).",
    rich_help_panel=INPUT_PANEL)]


ProtocolOpt = Annotated[ProtocolName, typer.Option("--protocol", metavar="TCP|UDP|SCTP", case_sensitive=False,
                                                   help="The protocol.")]


IcmpType = Annotated[int | None, typer.Option(
    "--icmp-type", metavar="TYPE", help="With --protocol ICMP or ICMPv6: the message type, 0-255.")]


IcmpCode = Annotated[int | None, typer.Option(
    "--icmp-code", metavar="CODE", help="With --icmp-type: the message code, 0-255 (default 0).")]


def _icmp_probe(protocol: str, has_port: bool, icmp_type: int | None, icmp_code: int | None,
                echo_default: bool) -> int | None:
    """The ICMP type and code asked about (portsets.icmp_value), None for a port protocol; without --icmp-type,
    the echo request when `echo_default` (what ping sends: 8 for ICMP, 128 for ICMPv6), else None."""
    from netpol.model.portsets import ECHO_REQUEST, MAX_ICMP, icmp_value, is_icmp

    if not is_icmp(protocol):
        if icmp_type is not None or icmp_code is not None:
            _fail("--icmp-type and --icmp-code are for --protocol ICMP or ICMPv6")
        return None
    if has_port:
        _fail(f"{protocol} has no ports: give --icmp-type (and --icmp-code) instead of --port")
    if icmp_type is None and icmp_code is not None:
        _fail("--icmp-code needs --icmp-type")
    for option, value in (("--icmp-type", icmp_type), ("--icmp-code", icmp_code)):
        if value is not None and not 0 <= value <= MAX_ICMP:
            _fail(f"{option} {value} is outside 0-{MAX_ICMP}")
    if icmp_type is None and not echo_default:
        return None
    return icmp_value(ECHO_REQUEST[protocol] if icmp_type is None else icmp_type, icmp_code or 0)  # type: ignore[index]


class ListFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"
    md = "md"


AnyPod = Annotated[bool, typer.Option(  # kept so that scripts written before the open world still run
    "--any-pod", hidden=True, help="No effect: every pod that could exist is answered for unless --input-only.")]


InputOnly = Annotated[bool, typer.Option(
    "--input-only", help="Answer for the input's pods alone, not for every pod that could exist (new pods of its "
    "namespaces, pods of other namespaces).")]
