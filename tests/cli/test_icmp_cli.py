"""can-reach and matrix with --protocol ICMP/ICMPv6: the probe, its defaults, its errors and its outputs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from netpol.cli import app
from tests.builders import FIXTURES

runner = CliRunner()
LIMIT = str(FIXTURES / "limit")  # api-allow: a rule without ports (ICMP allowed with the rest)
SPECIFIC = str(FIXTURES / "specific-port")  # api-allow-5000: a rule with ports (no ICMP)


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


@pytest.mark.parametrize(("args", "code", "head"), [
    (["--protocol", "ICMP", "-f", LIMIT], 0, "ALLOWED: default/test-2 -> default/apiserver ICMP type 8 code 0"),
    (["--protocol", "icmp", "--icmp-type", "3", "--icmp-code", "1", "-f", LIMIT], 0,
     "ALLOWED: default/test-2 -> default/apiserver ICMP type 3 code 1"),
    (["--protocol", "ICMPv6", "-f", LIMIT], 0, "ALLOWED: default/test-2 -> default/apiserver ICMPv6 type 128 code 0"),
    (["--protocol", "ICMP", "--icmp-type", "0", "-f", SPECIFIC], 1,
     "DENIED: default/test-2 -> default/apiserver ICMP type 0 code 0"),
])
def test_can_reach_icmp(args: list[str], code: int, head: str) -> None:
    r = run("can-reach", "default/test-2", "default/apiserver", *args)
    assert (r.exit_code, r.stdout.splitlines()[0]) == (code, head), r.stderr


def test_a_rule_with_ports_names_the_icmp_message_it_does_not_allow() -> None:
    r = run("can-reach", "default/test-2", "default/apiserver", "--protocol", "ICMP", "-f", SPECIFIC)
    assert r.exit_code == 1
    assert r.stdout.splitlines()[2] == (
        "  ingress of default/apiserver: denied: default/apiserver is isolated for ingress by default/api-allow-5000 "
        "and no rule allows receiving ICMP type 8 code 0 from default/test-2")


def test_can_reach_icmp_json_names_type_and_code_and_no_port() -> None:
    r = run("can-reach", "default/test-2", "default/apiserver", "--protocol", "ICMP", "--icmp-type", "11", "-o",
            "json", "-f", LIMIT)
    data = json.loads(r.stdout)
    assert (r.exit_code, data["protocol"], data["port"], data["icmp_type"], data["icmp_code"], data["allowed"]) == (
        0, "ICMP", None, 11, 0, True)


@pytest.mark.parametrize(("args", "message"), [
    (["--protocol", "ICMP", "-p", "80"], "ICMP has no ports: give --icmp-type (and --icmp-code) instead of --port"),
    (["-p", "80", "--icmp-type", "8"], "--icmp-type and --icmp-code are for --protocol ICMP or ICMPv6"),
    (["--protocol", "ICMP", "--icmp-code", "1"], "--icmp-code needs --icmp-type"),
])
def test_icmp_option_mistakes_exit_2_with_one_line(args: list[str], message: str) -> None:
    r = run("can-reach", "default/test-2", "default/apiserver", *args, "-f", LIMIT)
    assert (r.exit_code, r.stdout, r.stderr) == (2, "", f"netpol: error: {message}\n")


@pytest.mark.parametrize("value", ["256", "-1"])
def test_icmp_type_and_code_are_0_to_255(value: str) -> None:
    for option in ("--icmp-type", "--icmp-code"):
        extra = ["--icmp-type", "8"] if option == "--icmp-code" else []
        r = run("can-reach", "default/test-2", "default/apiserver", "--protocol", "ICMP", *extra, option, value,
                "-f", LIMIT)
        assert (r.exit_code, r.stderr) == (2, f"netpol: error: {option} {value} is outside 0-255\n")


def test_icmp_to_a_service_is_refused() -> None:
    r = run("can-reach", "default/test-2", "svc/apiserver:8001", "--protocol", "ICMP", "-f", SPECIFIC)
    assert (r.exit_code, r.stderr) == (2, "netpol: error: ICMP has no ports, so a Service does not carry it: ask "
                                          "about its pods\n")


def test_matrix_icmp_probe_json() -> None:
    r = run("matrix", "--protocol", "ICMP", "--icmp-type", "8", "-o", "json", "-f", LIMIT)
    data = json.loads(r.stdout)
    assert r.exit_code == 0, r.stderr
    assert (data["port"], data["icmp_type"], data["icmp_code"], data["protocol"]) == (None, 8, 0, "ICMP")
    assert ["default/test-2", "default/apiserver"] in data["allowed"]
    assert ["default/test-1", "default/apiserver"] not in data["allowed"]


def test_matrix_without_icmp_type_lists_icmp_sets_and_a_probe_titles_the_message() -> None:
    r = run("matrix", "--protocol", "ICMP", "-o", "json", "-f", SPECIFIC)
    data = json.loads(r.stdout)
    pairs = {(e["from"], e["to"]): (e["ports"], e["ranges"]) for e in data["ports"]}
    assert pairs[("default/test-2", "default/test-1")] == ("ICMP:all", {"ICMP": [[[0, 0], [255, 255]]]})
    assert ("default/test-2", "default/apiserver") not in pairs  # api-allow-5000 names ports: no ICMP
    r = run("matrix", "--protocol", "ICMPv6", "--icmp-type", "128", "-f", SPECIFIC)
    assert r.exit_code == 0 and "ICMPv6 type 128 code 0" in r.stdout
    r = run("matrix", "--protocol", "ICMP", "--port", "8", "-f", SPECIFIC)
    assert (r.exit_code, r.stderr) == (2, "netpol: error: ICMP has no ports: give --icmp-type (and --icmp-code) "
                                          "instead of --port\n")
