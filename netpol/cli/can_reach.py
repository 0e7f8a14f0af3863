"""`netpol can-reach`: can SRC open a connection to DST on PORT (or send it an ICMP message)? Exit 0 allowed, 1
denied, 2 error.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from netpol.cli.errors import EXIT_DENIED, EXIT_OK, _fail, _user_errors
from netpol.cli.inputs import Source, _analyze, _load, input_command
from netpol.cli.options import IcmpCode, IcmpType, ProbeProtocol, TextFormat, _icmp_probe
from netpol.cli.output import _note, _say
from netpol.cli.progress_line import _phase

if TYPE_CHECKING:
    from netpol.model.selectors import Scope


def _endpoint_namespaces(endpoints: Iterable[str], default: str) -> list[str] | None:
    """The namespaces a live read needs for a can-reach question; None (all) when an endpoint is an IP."""
    from netpol.analyses.query import endpoint_key
    from netpol.model import SERVICE_REF

    out = set()
    for text in endpoints:
        service = SERVICE_REF.match(text)
        if service is not None:
            out.add(service.group(1) or default)
            continue
        try:
            ipaddress.ip_address(text)
            return None
        except ValueError:
            pass
        out.add(endpoint_key(text, default).split("/", 1)[0])
    return sorted(out)


@input_command("can-reach")
def can_reach(
    inputs: Source,
    source: Annotated[
        str, typer.Argument(metavar="SRC", help="ns/pod, pod (in -n), ns/deployment/NAME, or an IP address.")
    ],
    destination: Annotated[str, typer.Argument(
        metavar="DST", help="As SRC, or a Service: svc/NAME:PORT or NS/svc/NAME:PORT (PORT: number or name)."
    )],
    port: Annotated[
        str | None, typer.Option("--port", "-p", metavar="PORT",
                                 help="Port number, or a port name of DST. Not for a Service.")
    ] = None,
    protocol: Annotated[ProbeProtocol, typer.Option(
        "--protocol", metavar="TCP|UDP|SCTP|ICMP|ICMPv6", case_sensitive=False,
        help="The protocol. ICMP and ICMPv6 take --icmp-type (default: echo request, 8 or 128), not --port.")
    ] = ProbeProtocol.TCP,
    icmp_type: IcmpType = None,
    icmp_code: IcmpCode = None,
    namespace: Annotated[str, typer.Option("--namespace", "-n", metavar="NS",
                                           help="Namespace for bare pod names.")] = "default",
    output: Annotated[TextFormat, typer.Option("--output", "-o", metavar="text|json", help="Output format.")
                      ] = TextFormat.text,
) -> None:
    """Can SRC open a connection to DST on PORT (or send it an ICMP message)? Exit 0 allowed, 1 denied, 2 error.

    For a Service, every backing pod is checked: exit 0 when all are reachable, 1 when some or none are.

    \b
    Examples:
      netpol can-reach default/test-2 default/apiserver --port 80 -f fixtures/limit
      netpol can-reach shop/deployment/web svc/db:5432 -f k8s/
      netpol can-reach shop/web shop/db --protocol ICMP --icmp-type 8 -f k8s/
    """
    from netpol.model import SERVICE_REF
    from netpol.model.selectors import parse_scope
    from netpol.render.verdict import service_json, service_text, verdict_json, verdict_text

    try:
        scopes = [s for s in (parse_scope(source), parse_scope(destination)) if s is not None]
    except ValueError as exc:
        _fail(str(exc))
    icmp = _icmp_probe(protocol.value, port is not None, icmp_type, icmp_code, echo_default=True)
    probe: int | str | None = icmp if icmp is not None else port
    if scopes:
        if probe is None:
            _fail("--port is required")
        _can_reach_possible(source, destination, probe, protocol.value, namespace, output,
                            replace(inputs, staged=False), scopes)
    service = SERVICE_REF.match(destination)
    if service is not None and icmp is not None:
        _fail(f"{protocol.value} has no ports, so a Service does not carry it: ask about its pods")
    if service is not None and port is not None:
        _fail("a Service destination takes its port as svc/NAME:PORT, not --port")
    if service is None and probe is None:
        _fail("--port is required (or DST is a Service: svc/NAME:PORT)")
    with _user_errors():
        analyzer = _analyze(inputs, _endpoint_namespaces((source, destination), namespace))
        if service is not None:
            sv = analyzer.can_reach_service(source, destination, protocol.value, namespace)
            _say((service_json(sv) if output is TextFormat.json else service_text(sv)) + "\n")
            raise typer.Exit(EXIT_OK if sv.summary == "all" else EXIT_DENIED)
        assert probe is not None
        verdict = analyzer.can_reach(source, destination, probe, protocol.value, namespace)
    _say((verdict_json(verdict) if output is TextFormat.json else verdict_text(verdict)) + "\n")
    raise typer.Exit(EXIT_OK if verdict.allowed else EXIT_DENIED)


def _can_reach_possible(source: str, destination: str, port: int | str, protocol: str, namespace: str,
                        output: TextFormat, inputs: Source, scopes: list[Scope]) -> NoReturn:
    """can-reach where an endpoint is `NS{labels}`: every possible such pod, each region answered."""
    from netpol.analyses.query import Analyzer
    from netpol.model.portsets import probe_text
    from netpol.render.verdict import possible_json, possible_text

    with _user_errors():
        cluster = _load(inputs).cluster
        with _phase("adding every possible pod"):
            analyzer = Analyzer.with_possible(cluster, scopes)
        verdicts = [analyzer.can_reach(s, d, port, protocol)
                    for s in analyzer.endpoints(source, namespace) for d in analyzer.endpoints(destination, namespace)]
    assert analyzer.possible is not None
    for note in analyzer.possible.notes():
        _note(f"netpol: note: {note}")
    label = probe_text(protocol, port) if isinstance(port, int) else f"{protocol}/{port}"  # type: ignore[arg-type]
    text = possible_json(verdicts) if output is TextFormat.json else possible_text(verdicts, source, destination, label)
    _say(text + "\n")
    raise typer.Exit(EXIT_OK if all(v.allowed for v in verdicts) else EXIT_DENIED)
