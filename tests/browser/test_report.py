"""The HTML report in a real browser: Debian's chromium, driven headless by Playwright.

Pages are opened from file://. Any request other than the page itself fails the test, and so does any
console error or uncaught exception. Screenshots go to $NETPOL_SCREENSHOTS (scripts/gallery points it at
docs/gallery), else to the test's temporary directory. Without chromium only these tests skip.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from netpol.analyses.connectivity import Units
from netpol.analyses.query import Analyzer
from netpol.analyses.report import DIFF_SCOPE, REPORT_SCOPE, build_report
from netpol.analyses.verdicts import Endpoint
from netpol.cli import app
from tests.builders import FIXTURES, fixture
from tests.property.test_surfaces import in_addresses

SELF_NOTE = "a pod's traffic to itself ('self') is assumed allowed"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (apt-get install chromium; ./scripts/test installs it)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "chromium is required in CI (./scripts/test installs it)"
    with sync_playwright() as p:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []  # chromium refuses to run as root otherwise
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield b
        b.close()


class Page:
    """A page opened from disk that records every request beyond itself and every console error."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.url = path.resolve().as_uri()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._route)
        self.page.goto(self.url)

    def _route(self, route: Any) -> None:
        if route.request.url == self.url:
            route.continue_()
        else:
            self.requests.append(route.request.url)
            route.abort()

    def check_clean(self) -> None:
        assert self.requests == [] and self.errors == []


def screenshots(tmp_path: Path) -> Path:
    out = Path(os.environ.get("NETPOL_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_report(tmp_path: Path, fixture: str) -> Path:
    out = tmp_path / f"{fixture}.html"
    path = os.path.relpath(FIXTURES / fixture)  # as a user names it (the gallery shows the title)
    r = CliRunner().invoke(app, ["report", "-f", path, "-o", str(out)])
    assert r.exit_code == 0, r.stderr
    return out


def test_graph_node_opens_its_explanation(browser: Any, tmp_path: Path) -> None:
    p = Page(browser, write_report(tmp_path, "limit"))
    page = p.page
    assert page.locator("#summary-table").inner_text().count("NetworkPolicies\t1") == 1
    page.locator("#graph g.node", has=page.locator("title", has_text="default/apiserver")).first.click()
    panel = page.locator("#panel").inner_text()
    assert panel.startswith("default/apiserver")
    assert "ingress: isolated by default/api-allow" in panel
    assert "who can reach it (the input's pods, and outside addresses):\n  default/test-2 on all" in panel
    assert "ingress of the destination: isolated by default/api-allow; default/api-allow ingress[0] allows all" in panel
    # apiserver is not isolated for egress: it reaches both other pods and any address (the collapsed
    # diagram draws those edges from "any pod", which the panel once read as "nobody")
    assert ("whom it reaches (the input's pods, and outside addresses):\n  default/test-1, default/test-2 on all"
            in panel)
    assert "\n  any address on all\n" in panel
    page.screenshot(path=str(screenshots(tmp_path) / "report-graph.png"))
    p.check_clean()


def node_of(page: Any, node_id: str) -> Any:
    """The graph node whose id (its SVG title) is exactly `node_id`."""
    return page.locator("#graph g.node", has=page.locator("title", has_text=re.compile(f"^{re.escape(node_id)}$")))


def panel_claims(text: str, a: Analyzer, group: list[str], key: str) -> dict[str, dict[str, str]]:
    """The panel's connections for pod `key` of a group, per heading ("in", "out"): peer -> ports, one entry
    per pod or address set ("its pods with one another": each pod of the group, `key` itself only when it
    stands for several pods)."""
    claims: dict[str, dict[str, str]] = {"in": {}, "out": {}}
    current: dict[str, str] | None = None
    sections = re.split(r"^for (.*):$", text, flags=re.M)  # a group whose pods' classes answer differently
    if len(sections) > 1:
        text = next(body for head, body in zip(sections[1::2], sections[2::2], strict=True)
                    if key in head.split(", "))
    for line in text.split("\n"):
        if line.startswith("who can reach it"):
            current = claims["in"]
        elif line.startswith("whom it reaches"):
            current = claims["out"]
        elif not line.startswith("  "):
            current = None
        elif current is not None and not line.startswith("    ") and line != "  nobody":
            peers, ports = line[2:].rsplit(" on ", 1)
            names = [peers] if "address" in peers or peers[0].isdigit() else peers.split(", ")
            if names[-1] == "its pods with one another":
                names[-1:] = [k for k in group if k != key or not a.cluster.pods_by_key[k].is_one_pod]
            if "address" in peers or peers[0].isdigit():  # one set of outside addresses: per representative
                names = [str(ip) for ip in representatives(a) if in_addresses(peers, ip)]
            for name in names:
                assert name not in current, f"{name} named twice"
                current[name] = ports
    return claims


def representatives(a: Analyzer) -> list[Any]:
    """One address of each set of outside addresses that every rule treats alike."""
    return [u.peer for u in Units(a).all if u.kind == "outside"]


def engine_claims(a: Analyzer, pod_key: str) -> dict[str, dict[str, str]]:
    """What the engine answers for one pod: every other pod's ports (the all-port matrix) and each set of
    outside addresses (by one address of it), both ways."""
    m = a.matrix()
    me = a.cluster.pods_by_key[pod_key]
    out: dict[str, dict[str, str]] = {
        "in": {p.key: str(m.ports(p, me)) for p in a.cluster.pods if not m.is_self(p, me) and m.ports(p, me)},
        "out": {p.key: str(m.ports(me, p)) for p in a.cluster.pods if not m.is_self(me, p) and m.ports(me, p)}}
    for ip in representatives(a):
        for way in ("in", "out"):
            src, dst = (Endpoint(ip=ip), Endpoint(pod=me)) if way == "in" else (Endpoint(pod=me), Endpoint(ip=ip))
            ports = a.allowed_ports(src, dst)
            if ports:
                out[way][str(ip)] = str(ports)
    return out


@pytest.mark.parametrize("name", ["limit", "specific-port", "egress-allow-dns", "external", "multiple-selectors",
                                  "tiered-pass-v1alpha2", "tiered-egress-cidr-v1alpha1", "tiered-nodes-v1alpha2"])
def test_every_graph_panel_says_what_the_engine_says(browser: Any, tmp_path: Path, name: str) -> None:
    """Click every group of pods: the pods it names as reaching it, and those it reaches, on which ports,
    are the engine's answer for each of its pods (not the collapsed diagram's edges)."""
    a = fixture(name)
    groups = build_report(a, None, a.diagram()).data["groups"]
    p = Page(browser, write_report(tmp_path, name))
    page = p.page
    for gid, group in groups.items():
        node_of(page, gid).click()
        text = page.locator("#panel").inner_text()
        assert text.startswith(group["title"])
        for key in group["pods"]:
            assert panel_claims(text, a, group["pods"], key) == engine_claims(a, key), (gid, key)
    p.check_clean()


def test_matrix_filters_and_cells_explain(browser: Any, tmp_path: Path) -> None:
    p = Page(browser, write_report(tmp_path, "limit"))
    page = p.page
    rows = page.locator("#matrix-table tr.row")
    assert [r.get_attribute("data-pod") for r in rows.all()] == ["default/apiserver", "default/test-1",
                                                                 "default/test-2"]
    page.fill("#f-text", "test-1")
    assert [r.get_attribute("data-pod") for r in rows.all()] == ["default/test-1"]
    assert page.locator("#f-port option").all_inner_texts() == ["all ports", "TCP:all", "UDP:all", "SCTP:all",
                                                                "ICMP:all", "ICMPv6:all"]
    cells = rows.first.locator("td.cell")
    for interval in ("TCP:all", "ICMP:all"):  # api-allow has no ports: ICMP as TCP
        page.select_option("#f-port", interval)
        assert [c.inner_text() for c in cells.all()] == ["\u2717", "self", "\u2713"], interval
    cells.first.click()
    panel = page.locator("#panel").inner_text()
    assert panel.startswith("default/test-1 \u2192 default/apiserver")
    assert "ingress of the destination: isolated by default/api-allow; no rule matches" in panel
    page.locator("#matrix").screenshot(path=str(screenshots(tmp_path) / "report-matrix.png"))
    p.check_clean()


def test_policies_and_lint_are_static_html(browser: Any, tmp_path: Path) -> None:
    path = write_report(tmp_path, "allow-all")
    html = path.read_text()
    assert "<a href=\"#pod-default/web\">default/web</a>" in html  # a policy links to the pods it selects
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(path.resolve().as_uri())
    assert "NP109" in page.locator("#lint-table").inner_text()
    assert "default/web-allow-all" in page.locator("#policies").inner_text()
    context.close()


def test_diff_report_shows_the_changes(browser: Any, tmp_path: Path) -> None:
    out = tmp_path / "diff.html"
    r = CliRunner().invoke(app, ["diff", os.path.relpath(FIXTURES / "deny-all"), os.path.relpath(FIXTURES / "allow-all"),
                                 "-o", "html"])
    assert r.exit_code == 1
    out.write_text(r.stdout)
    p = Page(browser, out)
    page = p.page
    assert page.locator("#diff-summary").inner_text().startswith("10 connection(s) gained, 0 lost")
    changes = page.locator("#changes tr.change")
    assert changes.count() == 4
    first = changes.nth(1)
    assert first.locator("td").nth(2).inner_text() == "default/test-1"
    first.locator("summary").click()
    why = first.locator("details").inner_text()
    assert "DENIED" in why and "ALLOWED" in why
    page.select_option("#f-kind", "lost")
    assert page.locator("#changes tr.change:visible").count() == 0
    page.select_option("#f-kind", "")
    page.screenshot(path=str(screenshots(tmp_path) / "report-diff.png"))
    p.check_clean()


HOSTILE_DIR = "<!--<script>&\"' d"  # a folder name; rule names below are valid per the CRDs (any string)
HOSTILE_PODS = """\
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: default, labels: {app: a}}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: default, labels: {app: b}}
spec: {containers: [{name: c}]}
"""
HOSTILE_POLICIES = """\
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: evil}
spec:
  priority: 5
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: a}}}}
  ingress:
  - name: "<!--<script>"
    action: Deny
    from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: b}}}}]
    ports: [{portNumber: {protocol: TCP, port: 80}}]
  - name: "</script><img src=x onerror=window.pwned=1>"
    action: Deny
    from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: b}}}}]
    ports: [{portNumber: {protocol: UDP, port: 53}}]
  - name: "\\"><svg onload=window.pwned=1>"
    action: Allow
    from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: b}}}}]
    ports: [{portNumber: {protocol: TCP, port: 80}}]
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: odd}
spec:
  tier: Admin
  priority: 9
  subject: {namespaces: {}}
  egress:
  - name: "a & b \\u2028 \\" ' <b>bold</b> <script>window.pwned=1</script>"
    action: Deny
    to: [{networks: ["10.0.0.0/8"]}]
    protocols: [{tcp: {destinationPort: {number: 443}}}]
"""
EVIL = "ANP evil priority 5 ingress[0] '<!--<script>' (Deny)"
IMG = "ANP evil priority 5 ingress[1] '</script><img src=x onerror=window.pwned=1>' (Deny)"
ODD_NAME = "a & b \u2028 \" ' <b>bold</b> <script>window.pwned=1</script>"
ODD = f"CNP odd priority 9 egress[0] {ODD_NAME!r} (Deny)"  # rule names are quoted as Python does


def hostile_input(tmp_path: Path, policies: bool = True) -> Path:
    folder = tmp_path / ("head" if policies else "base") / HOSTILE_DIR
    folder.mkdir(parents=True)
    (folder / "in.yaml").write_text(HOSTILE_PODS + (HOSTILE_POLICIES if policies else ""))
    return folder


def no_injection(p: Page, scripts: int) -> None:
    """Only the page's own script elements, no element from a name, nothing run, nothing logged."""
    page = p.page
    assert page.evaluate("document.querySelectorAll('script').length") == scripts
    assert page.evaluate("document.querySelectorAll('img, svg[onload], main script').length") == 0
    assert page.evaluate("[...document.querySelectorAll('b')].filter(e => e.textContent === 'bold').length") == 0
    assert page.evaluate("window.pwned") is None
    p.check_clean()


def test_hostile_names_land_as_text_everywhere(browser: Any, tmp_path: Path) -> None:
    """Rule names and a path full of markup: the script still runs (the matrix is drawn), and each name
    reads back literally in the title, the matrix's explanations, the graph's panel and the tables."""
    folder = hostile_input(tmp_path)
    out = tmp_path / "r.html"
    r = CliRunner().invoke(app, ["report", "-f", str(folder), "-o", str(out)])
    assert r.exit_code == 0, r.stderr
    p = Page(browser, out)
    page = p.page
    assert page.title() == f"netpol report: {folder}"
    assert page.locator("h1").inner_text() == f"netpol report: {folder}"
    rows = page.locator("#matrix-table tr.row")
    assert [r.get_attribute("data-pod") for r in rows.all()] == ["default/a", "default/b"]
    rows.nth(1).locator("td.cell").first.click()  # b -> a: denied by the rule named <!--<script>
    panel = page.locator("#panel").inner_text()
    assert panel.startswith("default/b \u2192 default/a\nports: TCP:1-79,81-65535 UDP:1-52,54-65535 SCTP:all")
    assert EVIL in panel and IMG in panel
    node_of(page, "default/a").click()
    panel = page.locator("#panel").inner_text()
    assert EVIL in panel and ODD in panel
    assert f"(shadowed by {EVIL})" in page.locator("#policies").inner_text()
    assert str(folder / "in.yaml") in page.locator("#lint-table").inner_text()
    no_injection(p, 2)  # the data and the page's script


def test_hostile_names_in_a_diff_page(browser: Any, tmp_path: Path) -> None:
    base, head = hostile_input(tmp_path, policies=False), hostile_input(tmp_path)
    r = CliRunner().invoke(app, ["diff", str(base), str(head), "-o", "html"])
    assert r.exit_code == 1, r.stderr
    out = tmp_path / "diff.html"
    out.write_text(r.stdout)
    p = Page(browser, out)
    page = p.page
    assert page.title() == f"netpol diff {base} {head}"
    change = page.locator("#changes tr.change").filter(
        has=page.locator("td:nth-child(2)", has_text=re.compile("^default/b$")))
    change.locator("summary").click()
    assert EVIL in change.locator("details").inner_text()
    no_injection(p, 1)


def test_a_pod_with_itself_reads_self_when_its_class_has_other_pods(browser: Any, tmp_path: Path) -> None:
    """Two pods the policies treat alike share a class whose diagonal cell allows every port between two of
    them; each pod's own cell is still "self" (a pod's traffic to itself), as in netpol matrix."""
    folder = tmp_path / "twins"
    folder.mkdir()
    (folder / "pods.yaml").write_text(HOSTILE_PODS.replace("app: b", "app: a"))
    out = tmp_path / "r.html"
    assert CliRunner().invoke(app, ["report", "-f", str(folder), "-o", str(out)]).exit_code == 0
    p = Page(browser, out)
    rows = p.page.locator("#matrix-table tr.row")
    assert [[c.inner_text() for c in r.locator("td.cell").all()] for r in rows.all()] == [["self", "all"],
                                                                                          ["all", "self"]]
    p.check_clean()


CILIUM_POLICY = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: lock-apiserver, namespace: default}
spec: {endpointSelector: {matchLabels: {app: apiserver}}, ingress: [{}]}
"""


def test_the_page_names_what_its_answers_ignore_and_assume(browser: Any, tmp_path: Path) -> None:
    """A page shared in a pull request says on the page, not only on stderr, which enforcing objects its
    answers ignored (--ignore-unmodelled); without such objects, the standing assumptions."""
    folder = tmp_path / "limit-cilium"
    shutil.copytree(FIXTURES / "limit", folder)
    (folder / "cilium.yaml").write_text(CILIUM_POLICY)
    out = tmp_path / "r.html"
    # --cni generic: the Cilium kind alone would choose the cilium profile, whose answers the page lists too
    r = CliRunner().invoke(app, ["report", "-f", str(folder), "-o", str(out), "--ignore-unmodelled", "--cni", "generic"])
    assert r.exit_code == 0, r.stderr
    p = Page(browser, out)
    items = p.page.locator("#assumption-list li").all_inner_texts()
    assert items[0] == ("ignored (--ignore-unmodelled): 1 CiliumNetworkPolicy (cilium.io/v2): default/lock-apiserver, "
                        "not evaluated by netpol; they may allow or deny this traffic")
    assert items[1:] == [SELF_NOTE, REPORT_SCOPE]
    assert p.page.locator("#assumptions").is_visible()
    p.check_clean()
    p = Page(browser, write_report(tmp_path, "limit"))
    assert p.page.locator("#assumption-list li").all_inner_texts() == [SELF_NOTE, REPORT_SCOPE]
    p.check_clean()


def test_a_diff_page_names_what_one_version_ignores(browser: Any, tmp_path: Path) -> None:
    head = tmp_path / "head"
    shutil.copytree(FIXTURES / "limit", head)
    (head / "cilium.yaml").write_text(CILIUM_POLICY)
    r = CliRunner().invoke(app, ["diff", str(FIXTURES / "limit"), str(head), "-o", "html", "--ignore-unmodelled",
                                 "--cni", "generic"])
    assert r.exit_code == 0, r.stderr
    out = tmp_path / "diff.html"
    out.write_text(r.stdout)
    p = Page(browser, out)
    assert p.page.locator("#assumption-list li").all_inner_texts() == [
        SELF_NOTE, "HEAD only: ignored (--ignore-unmodelled): 1 CiliumNetworkPolicy (cilium.io/v2): "
        "default/lock-apiserver, not evaluated by netpol; they may allow or deny this traffic", DIFF_SCOPE]
    p.check_clean()
