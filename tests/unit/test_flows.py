"""Flow files read into Flows: exact flows from small samples of each format, and every line's fate."""

from __future__ import annotations

import io
import ipaddress
import json
from pathlib import Path

import pytest

from netpol.errors import InputError
from netpol.sources.flow_records import Flow, FlowEndpoint, ReportedRule
from netpol.sources.flows import MAX_LINE, FlowStats, read_flows

DATA = Path(__file__).resolve().parent.parent / "data" / "flows"


def read(text: str, fmt: str = "auto", skip_invalid: bool = False) -> tuple[list[Flow], FlowStats]:
    stats = FlowStats()
    return list(read_flows("f", io.BytesIO(text.encode()), fmt, stats, skip_invalid)), stats


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def test_hubble_sample_exact() -> None:
    stats = FlowStats()
    with open(DATA / "hubble.json", "rb") as fh:
        flows = list(read_flows("hubble.json", fh, "auto", stats))
    api = FlowEndpoint("default", "apiserver", None, (("app", "bibliotheque"), ("role", "api")), (), ip("10.244.2.10"))
    front = (("app", "bibliotheque"), ("role", "front"))
    test1 = FlowEndpoint("default", "test-1", None, (("run", "test-1"),), (), ip("10.244.2.11"))
    assert flows == [
        Flow(FlowEndpoint("default", "test-2", None, front, (("kubernetes.io/metadata.name", "default"),),
                          ip("10.244.2.12"), service_account="default"), api, "TCP", 80, "allowed", "hubble.json:1",
             "2026-12-01T10:00:00.5Z", "kind-worker egress"),
        Flow(test1, api, "TCP", 80, "denied", "hubble.json:4", "2026-12-01T10:00:02.25Z", "kind-worker ingress"),
        Flow(test1, api, "TCP", 80, "allowed", "hubble.json:5", "2026-12-01T10:00:03Z", "kind-worker egress"),
        Flow(FlowEndpoint("default", "test-2", None, front, (), ip("10.244.2.12")),
             FlowEndpoint(ip=ip("93.184.215.14")), "UDP", 443, "allowed", "hubble.json:6", "2026-12-01T10:00:04Z",
             "kind-worker egress"),
        Flow(FlowEndpoint("default", "front-5d9c7-x2x9z", "Deployment/front",
                          (("app", "bibliotheque"), ("pod-template-hash", "5d9c7"), ("role", "front")), (),
                          ip("10.244.2.77")), api, "TCP", 80, None, "hubble.json:7", "2026-12-01T10:00:05Z",
             "kind-worker egress"),
    ]
    assert stats.flows == 5
    assert stats.skipped == {"reply": 1, "not a flow (lost_events, node status, ...)": 1,
                             "not an L3/L4 record (L7, ...)": 1}


HUBBLE = ('{{"flow":{{"verdict":"{verdict}",{extra}"IP":{{"source":"10.0.0.1","destination":"10.0.0.2"}},'
          '"l4":{{"TCP":{{"source_port":1000,"destination_port":5432,"flags":{flags}}}}},'
          '"source":{{"namespace":"a","pod_name":"x","labels":[]}},"destination":{{}}}}}}\n')


@pytest.mark.parametrize(("verdict", "extra", "flags", "observed"), [
    ("FORWARDED", "", '{"SYN":true}', "allowed"),
    ("AUDIT", "", '{"SYN":true}', "allowed"),
    ("DROPPED", '"drop_reason_desc":"POLICY_DENIED",', '{"SYN":true}', "denied"),
    ("DROPPED", '"drop_reason_desc":"POLICY_DENY",', '{"SYN":true}', "denied"),
    ("DROPPED", '"drop_reason":133,', '{"SYN":true}', "denied"),  # legacy: the number only
    ("DROPPED", '"drop_reason_desc":"CT_MAP_INSERTION_FAILED",', '{"SYN":true}', None),
    ("TRACED", "", '{"SYN":true}', None),
])
def test_hubble_verdicts(verdict: str, extra: str, flags: str, observed: str | None) -> None:
    flows, _ = read(HUBBLE.format(verdict=verdict, extra=extra, flags=flags))
    assert [f.observed for f in flows] == [observed]
    assert flows[0].destination == FlowEndpoint(ip=ip("10.0.0.2"))
    assert flows[0].source == FlowEndpoint("a", "x", None, (), (), ip("10.0.0.1"))


@pytest.mark.parametrize("flags", ['{"SYN":true,"ACK":true}', '{"ACK":true}', '{"PSH":true,"ACK":true}', "{}"])
def test_hubble_non_initial_tcp_is_skipped(flags: str) -> None:
    flows, stats = read(HUBBLE.format(verdict="FORWARDED", extra="", flags=flags))
    assert flows == []
    assert stats.skipped == {"not a connection's first TCP segment (no SYN, or ACK set)": 1}


def test_hubble_cilium_keys_are_not_pod_labels() -> None:
    line = ('{"flow":{"verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},'
            '"l4":{"UDP":{"source_port":1,"destination_port":53}},"source":{"namespace":"a","labels":['
            '"k8s:app=x","k8s:io.kubernetes.pod.namespace=a","k8s:io.cilium.k8s.policy.serviceaccount=sa",'
            '"k8s:io.cilium.k8s.policy.cluster=default","k8s:io.cilium.k8s.namespace.labels.team=t",'
            '"reserved:host","container:id=1"]},"destination":{"labels":["reserved:world"]}}}\n')
    flows, _ = read(line)
    assert flows[0].source == FlowEndpoint("a", None, None, (("app", "x"),), (("team", "t"),), ip("10.0.0.1"),
                                           service_account="sa")  # Calico selects by it: kept apart


@pytest.mark.parametrize(("text", "message"), [
    ('{"flow":{"IP":{}}\n', "f: line 1: not a JSON object: Expecting ',' delimiter"),
    ("[1]\n", "f: line 1: not a JSON object"),
    ('{"flow":[]}\n', "f: line 1: flow: not an object"),
    ('{"flow":{"IP":{"source":"10.0.0.999"},"l4":{"UDP":{"destination_port":53}},"source":{},"destination":{}}}\n',
     "f: line 1: flow.IP.source: '10.0.0.999' is not an IP address"),
    ('{"flow":{"IP":{"source":"10.0.0.1"},"l4":{"UDP":{"destination_port":70000}}}}\n',
     "f: line 1: flow.l4.UDP.destination_port: 70000 is not a port number (1-65535)"),
    ('{"flow":{"IP":{"source":"10.0.0.1"},"l4":{"UDP":{"destination_port":53}},"source":{"labels":"x"}}}\n',
     "f: line 1: flow.source.labels: not a list"),
])
def test_hubble_malformed_line_names_file_and_line(text: str, message: str) -> None:
    with pytest.raises(InputError) as exc:
        read('{"lost_events":{}}\n' + text)
    assert str(exc.value).startswith(message.replace("line 1", "line 2"))


def test_skip_invalid_counts_and_keeps_going() -> None:
    good = HUBBLE.format(verdict="FORWARDED", extra="", flags='{"SYN":true}')
    flows, stats = read(good + "{oops\n" + good + "[]\n", skip_invalid=True)
    assert [f.record for f in flows] == ["f:1", "f:3"]
    assert stats.invalid_count == 2
    assert stats.invalid[1] == "f: line 4: not a JSON object"


def test_a_line_longer_than_the_cap_is_an_error_not_held() -> None:
    with pytest.raises(InputError, match=f"f: line 2: line longer than {MAX_LINE} bytes"):
        read("source,destination,protocol,port\n" + "x" * (MAX_LINE + 10) + "\n")


def test_not_utf8() -> None:
    stats = FlowStats()
    with pytest.raises(InputError, match=r"f: line 1: not UTF-8 text \(byte 0\)"):
        list(read_flows("f", io.BytesIO(b"\xff\n"), "auto", stats))


def test_unknown_format_from_first_line() -> None:
    with pytest.raises(InputError, match="f: line 2: cannot tell the flow format"):
        read("\nhello\n")


def test_csv_exact() -> None:
    flows, stats = read("Source,Destination,Protocol,Port,Verdict,Time\n"
                        "a/x,b/deployment/web,tcp,80,ALLOWED,2026-12-01T10:00:00Z\n"
                        "\n"
                        "10.0.0.1,a/x,udp,53,denied,\n"
                        "a/x,2001:db8::1,SCTP,9000,,\n")
    assert flows == [
        Flow(FlowEndpoint("a", "x"), FlowEndpoint("b", workload="deployment/web"), "TCP", 80, "allowed", "f:2",
             "2026-12-01T10:00:00Z"),
        Flow(FlowEndpoint(ip=ip("10.0.0.1")), FlowEndpoint("a", "x"), "UDP", 53, "denied", "f:4"),
        Flow(FlowEndpoint("a", "x"), FlowEndpoint(ip=ip("2001:db8::1")), "SCTP", 9000, None, "f:5"),
    ]
    assert stats.flows == 3


@pytest.mark.parametrize(("text", "message"), [
    ("source,dst\n", "f: line 1: a CSV flow file starts with the header source,destination,protocol,port"),
    ("source,destination,protocol,port,colour\n", "f: line 1: a CSV flow file starts with the header"),
    ("source,destination,protocol,port\na/x,a/y,ICMP,1\n", "f: line 2: protocol: 'ICMP' is not TCP, UDP or SCTP"),
    ("source,destination,protocol,port\na/x,a/y,TCP,0\n", "f: line 2: port: 0 is not a port number (1-65535)"),
    ("source,destination,protocol,port\na/x,a/y,TCP,http\n", "f: line 2: port: 'http' is not a port number"),
    ("source,destination,protocol,port\na/x,a/y,TCP\n", "f: line 2: 3 fields where the header has 4"),
    ("source,destination,protocol,port\nx,a/y,TCP,80\n", "f: line 2: source: 'x' is not an IP address"),
    ("source,destination,protocol,port\na/b/c/d,a/y,TCP,80\n",
     "f: line 2: source: 'a/b/c/d' is not ns/pod, ns/KIND/NAME or an IP address"),
    ("source,destination,protocol,port,verdict\na/x,a/y,TCP,80,maybe\n",
     "f: line 2: verdict: 'maybe' is not allowed, denied or empty"),
])
def test_csv_errors(text: str, message: str) -> None:
    with pytest.raises(InputError) as exc:
        read(text)
    assert str(exc.value).startswith(message)


def test_format_option_overrides_detection() -> None:
    with pytest.raises(InputError, match="f: line 1: not a JSON object"):
        read("source,destination,protocol,port\n", fmt="hubble")


def test_calico_goldmane_exact() -> None:
    stats = FlowStats()
    with open(DATA / "goldmane.json", "rb") as fh:
        flows = list(read_flows("g.json", fh, "auto", stats))
    client = FlowEndpoint("a", "client", None, (("app", "client"),))
    web = FlowEndpoint("a", "web", None, (("app", "web"),))
    assert flows == [
        Flow(client, web, "TCP", 80, "allowed", "g.json:1", "2025-12-01T10:00:00Z", "source side",
             ReportedRule("source", "default", "a", "client-out", "allow", 0)),
        Flow(client, web, "TCP", 80, "allowed", "g.json:2", "2025-12-01T10:00:15Z", "destination side"),
        Flow(FlowEndpoint("b", None, None, (("app", "api"),), prefix="api-7d4f9c-"), web, "TCP", 80, "denied",
             "g.json:3", "2025-12-01T10:00:00Z", "destination side",
             ReportedRule("destination", "default", "a", "", "deny", -1)),  # EndOfTier
        Flow(FlowEndpoint(workload="pub"), web, "TCP", 80, "denied", "g.json:4", "2025-12-01T10:00:00Z",
             "destination side"),
        Flow(FlowEndpoint("b", None, None, (("app", "x"), ("pod-template-hash", "5f6d7")), prefix="gone-5f6d7-"),
             web, "TCP", 80, "allowed", "g.json:6", "2025-12-01T10:01:00Z", "source side"),
    ]
    assert stats.skipped == {"not TCP, UDP or SCTP (ICMP, ...)": 1}


def test_calico_whisker_exact() -> None:
    stats = FlowStats()
    with open(DATA / "whisker.json", "rb") as fh:
        flows = list(read_flows("w.json", fh, "auto", stats))
    web = FlowEndpoint("a", "web", None, (("app", "web"),))
    assert flows == [
        Flow(FlowEndpoint("a", "client", None, (("app", "client"),)), web, "TCP", 80, "allowed", "w.json:1",
             "2026-12-01T10:00:00Z", "source side"),
        Flow(FlowEndpoint("b", "other", None, (("app", "other"),)), web, "TCP", 80, "denied", "w.json:2",
             "2026-12-01T10:00:15Z", "destination side"),
    ]


@pytest.mark.parametrize(("text", "message"), [
    ('{"Key":[]}\n', "f: line 1: Key: not an object"),
    ('{"Key":{"dest_port":80}}\n', "f: line 1: Key.proto: missing or not a string"),
    ('{"Key":{"proto":"tcp","dest_port":0}}\n', "f: line 1: Key.dest_port: 0 is not a port number (1-65535)"),
    ('{"Key":{"proto":"tcp","dest_port":80,"source_name":5}}\n', "f: line 1: Key.source_name: missing or not a string"),
    ('{"source_name":"a","source_namespace":"n","protocol":"tcp","dest_port":80,"source_labels":7,"dest_name":"pub"}\n',
     "f: line 1: source_labels: not a list of key=value strings"),
])
def test_calico_errors(text: str, message: str) -> None:
    with pytest.raises(InputError) as exc:
        read(text)
    assert str(exc.value).startswith(message)


def test_kube_network_policies_klog_exact() -> None:
    """Every entry with the packet's id is a record of it; the dump's other lines and unrelated entries are
    counted; a verdict for a packet the file does not describe belongs to nothing."""
    stats = FlowStats()
    with open(DATA / "knp.log", "rb") as fh:
        flows = list(read_flows("k.log", fh, "auto", stats))
    test1 = FlowEndpoint("default", "test-1", ip=ip("10.244.2.11"))
    api = FlowEndpoint("default", "apiserver", ip=ip("10.244.2.10"))
    test2 = FlowEndpoint("default", "test-2", ip=ip("10.244.2.12"))
    world = FlowEndpoint(ip=ip("172.66.147.243"))
    assert flows == [
        Flow(test1, api, "TCP", 80, None, "k.log:2", "1201 10:00:00.100100"),
        Flow(test1, api, "TCP", 80, None, "k.log:7", "1201 10:00:00.100300"),
        Flow(test1, api, "TCP", 80, "denied", "k.log:8", "1201 10:00:00.100400"),
        Flow(test2, world, "TCP", 443, None, "k.log:9", "1201 10:00:01.000000"),
        Flow(test2, world, "TCP", 443, "allowed", "k.log:12", "1201 10:00:01.000100"),
    ]
    assert stats.skipped == {"a packet dump's other lines": 3, "an entry about no packet this file describes": 3}


def test_kube_network_policies_json_exact() -> None:
    stats = FlowStats()
    with open(DATA / "knp.json", "rb") as fh:
        flows = list(read_flows("k.json", fh, "auto", stats))
    test2 = FlowEndpoint("default", "test-2", ip=ip("10.244.2.12"))
    api = FlowEndpoint("default", "apiserver", ip=ip("10.244.2.10"))
    outside = FlowEndpoint(ip=ip("192.0.2.9"))
    assert flows == [
        Flow(test2, api, "TCP", 80, None, "k.json:1", "2025-12-01T10:00:00.100100Z"),
        Flow(test2, api, "TCP", 80, "allowed", "k.json:2", "2025-12-01T10:00:00.100400Z"),
        Flow(outside, api, "UDP", 53, None, "k.json:3", "2025-12-01T10:00:01.500000Z"),
        Flow(outside, api, "UDP", 53, "denied", "k.json:4", "2025-12-01T10:00:01.600000Z"),
    ]
    assert stats.skipped == {}


def test_kube_network_policies_bad_dump_line() -> None:
    text = ('I1201 10:00:00.1 1 controller.go:567] "Evaluating packet" id=1 srcPod="a/x" dstPod="none" packet=<\n'
            "\tgarbage\n")
    with pytest.raises(InputError, match=r"f: line 2: packet: 'garbage' is not '\[ID\] SRC:PORT DST:PORT PROTO'"):
        read(text)


def test_kube_network_policies_go_escapes_are_not_a_crash() -> None:
    text = ('I1201 10:00:00.1 1 controller.go:567] "Evaluating \\x41packet" id=1 srcPod="a\\x41/x" dstPod="none"\n')
    flows, stats = read(text, fmt="kube-network-policies")
    assert (flows, stats.skipped) == ([], {"an entry about no packet this file describes": 1})


@pytest.mark.parametrize("fmt", ["auto", "hubble", "calico", "kube-network-policies", "csv"])
def test_hostile_lines_are_input_errors_never_crashes(fmt: str) -> None:
    """Structurally plausible garbage: every line is read, skipped or refused with InputError."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    scalars = st.none() | st.booleans() | st.integers(-2, 70000) | st.text(max_size=12) | st.floats(allow_nan=False)
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["flow", "IP", "l4", "TCP", "UDP", "source", "destination", "labels", "verdict", "Key",
                         "proto", "dest_port", "source_name", "msg", "packet", "id", "flags", "SYN", "is_reply",
                         "destination_port", "workloads", "ts", "source_labels", "action", "Type"]), inner, max_size=5),
        max_leaves=12)
    klog = st.builds(lambda v: f'I1201 10:00:00.1 1 c.go:1] "Evaluating packet" id=1 packet=<\n{v}\n',
                     st.text(max_size=30))
    csv_rows = st.builds(lambda v: f"source,destination,protocol,port,verdict\n{v}\n", st.text(max_size=40))

    @settings(max_examples=150, deadline=None)
    @given(st.one_of(values.map(lambda v: json.dumps(v) + "\n"), klog, csv_rows))
    def check(text: str) -> None:
        try:
            read(text, fmt=fmt)
        except InputError:
            pass

    check()


def hubble_line(time: str, outer: str | None = None, uuid: str = "u-1", sport: str = "41000", pad: str = "") -> str:
    """A Hubble record whose per-record values (time, uuid, source port) are given, with optional whitespace."""
    wrapper = f',"time"{pad}:{pad}"{outer}"' if outer is not None else ""
    return ('{"flow":{"time"%s:%s"%s","uuid":"%s","verdict":"FORWARDED","IP":{"source":"10.0.0.1",'
            '"destination":"10.0.0.2"},"l4":{"TCP":{"source_port"%s:%s%s,"destination_port":80,"flags":{"SYN":true}}},'
            '"source":{"namespace":"a","pod_name":"x","labels":["k8s:app=x"]},"destination":{"namespace":"b",'
            '"pod_name":"y"}}%s}\n') % (pad, pad, time, uuid, pad, pad, sport, wrapper)


def test_hubble_records_of_one_shape_keep_their_own_time() -> None:
    """Records that differ only in time, uuid and source port are decoded once; each keeps its own time, the
    flow's own before the wrapper's, whichever comes first in the line."""
    text = (hubble_line("t1", "w1") + hubble_line("t2", "w2", "u-2", "41001") + hubble_line("t3", "t3", "u-3", "9")
            + hubble_line("t4", "w4", pad=" ") + hubble_line("t5", "w5", pad=" "))
    flows, stats = read(text)
    src = FlowEndpoint("a", "x", None, (("app", "x"),), (), ip("10.0.0.1"))
    dst = FlowEndpoint("b", "y", None, (), (), ip("10.0.0.2"))
    assert flows == [Flow(src, dst, "TCP", 80, "allowed", f"f:{n}", f"t{n}") for n in range(1, 6)]
    assert stats.flows == 5


def test_hubble_wrapper_time_when_the_flow_has_none() -> None:
    line = hubble_line("t1", "w1").replace('"time":"t1",', "")
    flows, _ = read(line + line.replace("w1", "w2") + line.replace('"w1"', '"w\\u0033"'))
    assert [f.time for f in flows] == ["w1", "w2", "w3"]


def test_hubble_a_shape_seen_does_not_hide_an_invalid_line() -> None:
    """A line like a known one but not valid JSON where its varying values are is still an error."""
    good = hubble_line("t1")
    for bad in (good.replace('"source_port":41000', '"source_port":041000'),
                good.replace('"source_port":41000', '"source_port":41000.5x'),
                good.replace('"time":"t1"', '"time":"t\x01"')):
        with pytest.raises(InputError, match="f: line 2: not a JSON object"):
            read(good + bad)


def test_hubble_a_time_that_reads_like_a_mark_is_kept() -> None:
    """A time given with an escape is not a varying value: it is the flow's, whatever it spells."""
    line = hubble_line("X").replace('"time":"X"', '"time":"\\u00232"')
    flows, _ = read(line + line.replace("u-1", "u-2"))
    assert [f.time for f in flows] == ["#2", "#2"]


def test_hubble_skipped_shapes_are_counted_each_time() -> None:
    reply = hubble_line("t1").replace('"flags":{"SYN":true}', '"flags":{"SYN":true,"ACK":true}')
    flows, stats = read(reply + reply.replace("t1", "t2") + hubble_line("t3"))
    assert [f.time for f in flows] == ["t3"]
    assert stats.skipped == {"not a connection's first TCP segment (no SYN, or ACK set)": 2}


def test_progress_counts_lines_read_skipped_ones_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("netpol.sources.flows.PROGRESS_EVERY", 2)
    calls: list[int] = []
    reply = hubble_line("t1").replace('"flags":{"SYN":true}', '"flags":{"SYN":true,"ACK":true}')
    text = hubble_line("t1") + "\n" + reply + reply + hubble_line("t2")
    flows = list(read_flows("f", io.BytesIO(text.encode()), "auto", FlowStats(), progress=calls.append))
    assert [f.record for f in flows] == ["f:1", "f:5"]
    assert calls == [2, 4, 5]
