"""The pytest plugin: intent files as test items, and the netpol_cluster fixture."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from netpol.pytest_plugin import ClusterUnderTest
from tests.builders import FIXTURES

pytest_plugins = ["pytester"]
WRONG = (FIXTURES.parent / "tests" / "data" / "limit-wrong.yaml").read_text()


def test_fixture_in_this_suite(netpol_cluster: Callable[..., ClusterUnderTest]) -> None:
    cluster = netpol_cluster(FIXTURES / "limit")
    assert cluster.can_reach("default/test-2", "default/apiserver", port=80)
    denied = cluster.can_reach("default/test-1", "default/apiserver", port=80)
    assert not denied
    assert denied.explanation.startswith("DENIED: default/test-1 -> default/apiserver TCP/80\n")
    assert repr(cluster.can_reach("default/test-2", "default/apiserver", port="80")) == (
        "ALLOWED default/test-2 -> default/apiserver TCP/80 (egress: not isolated: no NetworkPolicy selects "
        "default/test-2 for egress; ingress: allowed by default/api-allow ingress[0])")


def test_intent_items_pass_and_fail_with_explanations(pytester: pytest.Pytester) -> None:
    pytester.makefile(".intent.yaml", limit=WRONG.replace("../../fixtures/limit", str(FIXTURES / "limit")))
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "*limit.intent.yaml::test-1 reaches the API FAILED*",
        "*limit.intent.yaml::the front end reaches test-1 PASSED*",
        "*expected: default/test-1 -> default/apiserver on 80: allow (1 of 1 pairs wrong)",
        "*default/test-1 -> default/apiserver should be allowed but is denied on TCP:80",
        "*DENIED: default/test-1 -> default/apiserver TCP/80",
    ])
    assert "Traceback" not in result.stdout.str()


def test_assertion_message_carries_the_explanation(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(f"""
        def test_api(netpol_cluster):
            cluster = netpol_cluster({str(FIXTURES / "limit")!r})
            assert cluster.can_reach("default/test-1", "default/apiserver", port=80)
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E * assert DENIED default/test-1 -> default/apiserver TCP/80 (ingress: denied: default/apiserver is isolated "
        "for ingress by default/api-allow and no rule allows receiving TCP/80 from default/test-1)",
    ])


def test_bad_intent_file_is_a_one_line_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".intent.yaml", bad="apiVersion: netpol/v1\nkind: NetworkPolicyIntent\nmanifests: [x]\n"
                                          "expectations:\n- {from: a/b, to: c/d, expect: sometimes}\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*bad.intent.yaml: line 5 (expectation 1): expectations?0?.expect: must be allow "
                                 "or deny, not 'sometimes'"])


def test_the_fixture_answers_under_the_plugin_the_files_show(netpol_cluster: Callable[..., ClusterUnderTest],
                                                             tmp_path: Path) -> None:
    import yaml

    from tests.unit.test_dataplane import OBJECTS
    cnp = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "x", "namespace": "shop"},
           "spec": {"endpointSelector": {}, "ingress": [{}]}}
    (tmp_path / "in.yaml").write_text(yaml.safe_dump_all([*OBJECTS, cnp]))
    denied = netpol_cluster(tmp_path / "in.yaml").can_reach("shop/web", "shop/db", port=80)
    assert not denied  # under Cilium, db's ipBlock does not match web's pod address
    assert "  assumption: dataplane profile cilium 1.20 (recognised: the input holds CiliumNetworkPolicy " \
           "(cilium.io)); " in denied.explanation
