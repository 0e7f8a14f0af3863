"""pytest plugin (registered through the pytest11 entry point).

* Files named `*.intent.yaml` / `*.intent.yml` are collected as tests, one
  item per expectation, failing with netpol's explanation.
* The `netpol_cluster` fixture loads manifests for assertions in Python:

      def test_api(netpol_cluster):
          cluster = netpol_cluster("fixtures/limit")
          assert cluster.can_reach("default/test-2", "default/apiserver", port=80)
          assert not cluster.can_reach("default/test-1", "default/apiserver", port=80)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from netpol.analyses.check import Outcome, Prepared, prepare
from netpol.analyses.query import Analyzer
from netpol.analyses.verdicts import Verdict
from netpol.errors import NetpolError
from netpol.model.intent import Expectation, IntentFile
from netpol.policies import profiles
from netpol.render.check import failure_text
from netpol.render.verdict import verdict_text
from netpol.sources import load_manifests
from netpol.sources.intents import load_intent_file

INTENT_SUFFIXES = (".intent.yaml", ".intent.yml")


@lru_cache(maxsize=32)
def _analyzer(manifests: tuple[str, ...]) -> Analyzer:
    """Under the plugin whose kinds the files hold, as the CLI answers without --cni (netpol.policies.profiles)."""
    return Analyzer(profiles.apply(load_manifests(manifests), None).cluster)


@lru_cache(maxsize=32)
def _prepared(intent: IntentFile) -> Prepared:
    """As `netpol check` checks a file: with every possible pod where the file needs them (netpol.analyses.check)."""
    return prepare(_analyzer(intent.manifests), intent)


@dataclass(frozen=True)
class Reachability:
    """A can_reach answer that is truthy when allowed and explains itself in assertion messages."""

    verdict: Verdict

    def __bool__(self) -> bool:
        return self.verdict.allowed

    @property
    def explanation(self) -> str:
        return verdict_text(self.verdict)

    def __repr__(self) -> str:
        """One line, short enough for pytest's assertion message: the side(s) that decided."""
        v = self.verdict
        sides = [s for s in (v.egress, v.ingress) if not s.allowed] or [v.egress, v.ingress]
        reasons = "; ".join(f"{s.direction}: {s.reason}" for s in sides)
        return f"{'ALLOWED' if v.allowed else 'DENIED'} {v.source} -> {v.destination} {v.probe} ({reasons})"


@dataclass(frozen=True)
class ClusterUnderTest:
    analyzer: Analyzer

    def can_reach(self, source: str, destination: str, port: int | str, protocol: str = "TCP") -> Reachability:
        return Reachability(self.analyzer.can_reach(source, destination, port, protocol))


@pytest.fixture
def netpol_cluster() -> Callable[..., ClusterUnderTest]:
    """Load manifests (files or directories) into a cluster to assert reachability on."""
    def load(*paths: str | Path) -> ClusterUnderTest:
        return ClusterUnderTest(_analyzer(tuple(str(p) for p in paths)))
    return load


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.name.endswith(INTENT_SUFFIXES):
        collector: pytest.Collector = IntentFileCollector.from_parent(parent, path=file_path)
        return collector
    return None


class IntentFileCollector(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        # Not confined to the repository as `netpol check` is: a pytest run executes the repository's own
        # code (conftest.py) anyway, so a path outside it opens nothing new.
        intent = load_intent_file(str(self.path), confine=False)
        if not intent.manifests:
            raise NetpolError(f"{self.path}: names no manifests; add 'manifests:' to it")
        for index, exp in enumerate(intent.expectations):
            yield ExpectationItem.from_parent(self, name=exp.name, intent=intent, index=index)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        return _message(excinfo.value) or super().repr_failure(excinfo)


def _message(exc: BaseException) -> str | None:
    """netpol's own words for a failed expectation or a bad intent file, instead of a traceback."""
    if isinstance(exc, IntentFailure):
        return "\n".join(failure_text(exc.outcome))
    if isinstance(exc, NetpolError):
        return str(exc)
    return None


class IntentFailure(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.expectation.name)
        self.outcome = outcome


class ExpectationItem(pytest.Item):
    def __init__(self, *, intent: IntentFile, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.intent = intent
        self.expectation: Expectation = intent.expectations[index]
        self.index = index

    def runtest(self) -> None:
        prepared = _prepared(self.intent)
        outcome = prepared.check(prepared.intent.expectations[self.index])
        if outcome.error is not None:
            raise NetpolError(outcome.error)
        if not outcome.passed:
            raise IntentFailure(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        return _message(excinfo.value) or super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.expectation.location.line
        return self.path, (line - 1 if line else None), f"{self.intent.name}: {self.expectation.name}"
