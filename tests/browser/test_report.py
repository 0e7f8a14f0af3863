"""The HTML report in a real browser: Debian's chromium, driven headless by Playwright.

Pages are opened from file://. Any request other than the page itself fails the test, and so does any
console error or uncaught exception. Screenshots go to $NETPOL_SCREENSHOTS (scripts/gallery points it at
docs/gallery), else to the test's temporary directory. Without chromium only these tests skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from netpol.cli import app
from tests.builders import FIXTURES

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
    r = CliRunner().invoke(app, ["report", "-f", str(FIXTURES / fixture), "-o", str(out)])
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
    assert "who can reach it:\n  default/test-2 on all" in panel
    assert "ingress: isolated by default/api-allow; default/api-allow ingress[0] allows all" in panel
    page.screenshot(path=str(screenshots(tmp_path) / "report-graph.png"))
    p.check_clean()


def test_matrix_filters_and_cells_explain(browser: Any, tmp_path: Path) -> None:
    p = Page(browser, write_report(tmp_path, "limit"))
    page = p.page
    rows = page.locator("#matrix-table tr.row")
    assert [r.get_attribute("data-pod") for r in rows.all()] == ["default/apiserver", "default/test-1",
                                                                 "default/test-2"]
    page.fill("#f-text", "test-1")
    assert [r.get_attribute("data-pod") for r in rows.all()] == ["default/test-1"]
    assert page.locator("#f-port option").all_inner_texts() == ["all ports", "TCP:1-65535", "UDP:1-65535",
                                                                "SCTP:1-65535"]
    page.select_option("#f-port", "TCP:1-65535")
    cells = rows.first.locator("td.cell")
    assert [c.inner_text() for c in cells.all()] == ["\u2717", "self", "\u2713"]
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
    r = CliRunner().invoke(app, ["diff", str(FIXTURES / "deny-all"), str(FIXTURES / "allow-all"), "-o", "html"])
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
