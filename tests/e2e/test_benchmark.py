"""The benchmark runs at its smallest size (numbers live in docs/performance.md, not in assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "performance.md"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--out", str(out)],
                       capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "| 1,000 pods / 68 ns / 500 policies |" in text
    assert text.count("| met |") + text.count("| NOT met |") == 6  # benchmarks/run.py TARGETS


def test_generator_is_seeded() -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.generate import SIZES, generate

    assert generate(SIZES[0]) == generate(SIZES[0])
    kinds = [o["kind"] for o in generate(SIZES[0])]
    assert (kinds.count("Pod"), kinds.count("NetworkPolicy"), kinds.count("Namespace")) == (1000, 500, 68)


def test_generated_labels_are_strings_to_every_yaml_reader() -> None:
    """Go's YAML reader takes `2563243e53` for a float and refuses the object: hashes use Kubernetes' alphabet."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.generate import SAFE, SIZES, generate

    hashes = {o["metadata"]["labels"]["pod-template-hash"] for o in generate(SIZES[0]) if o["kind"] == "Pod"
              and "pod-template-hash" in o["metadata"]["labels"]}
    assert len(hashes) > 100
    assert all(len(h) == 10 and set(h) <= set(SAFE) for h in hashes)


def test_a_failed_peer_says_where_it_failed() -> None:
    """NCA's own message can be empty ("Error: "); the cell names the exception and its last frame."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.run import _failure

    stderr = ('Error: \nTraceback (most recent call last):\n'
              '  File "/w/nca-venv/lib/python3.11/site-packages/nca/nca_cli.py", line 352, in nca_main\n'
              '  File "/w/nca-venv/lib/python3.11/site-packages/nca/CoreDS/Peer.py", line 727, in add_peer\n'
              '    assert len(self.ordered_peer_list) < self.max_num_of_pods\nAssertionError\n')
    assert _failure(stderr) == "AssertionError at nca/CoreDS/Peer.py line 727 (add_peer)"
    assert _failure("go: module not found\n") == "go: module not found"


def test_regenerating_keeps_what_was_written_by_hand() -> None:
    """run.py replaces only the generated sections it measured, between their markers; the hand-written
    sections (Replay, list at scale) and generated sections it did not measure stay as they were."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.run import _marked, _merge

    text = "\n".join(["# Performance", "", "intro", "", *_marked("sizes", ["old sizes"]), "", "## Replay", "",
                      "by hand", "", *_marked("peers", ["old peers"])]) + "\n"
    got = _merge(text, {"sizes": ["new sizes"], "open-world": ["## Open", "rows"]})
    assert got == "\n".join(["# Performance", "", "intro", "", *_marked("sizes", ["new sizes"]), "", "## Replay", "",
                             "by hand", "", *_marked("peers", ["old peers"]), "",
                             *_marked("open-world", ["## Open", "rows"])]) + "\n"
    assert _merge(got, {"sizes": ["new sizes"], "open-world": ["## Open", "rows"]}) == got
    assert _merge("", {"sizes": ["x"]}).startswith("# Performance\n")
