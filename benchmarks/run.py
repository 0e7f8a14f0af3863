"""Benchmark netpol on generated clusters of growing size and write docs/performance.md.

    python benchmarks/run.py                 # every size, about 15 minutes on 2 cores
    python benchmarks/run.py --sizes 1k,10k  # some sizes
    python benchmarks/run.py --smoke --out /tmp/perf.md   # the smallest size, as CI runs it
    python benchmarks/run.py --sections open-world,commands  # measure these sections only

docs/performance.md holds generated sections between marker comments and sections written by hand: a run
replaces the generated sections it measures and keeps everything else (`_merge`).

Each size is measured in a fresh child process so that its peak RSS is its
own: load (JSON and YAML, each in its own process), compile, point queries,
the class-level reachability of one port, and peak RSS. The end-to-end time
of `netpol can-reach` on the 10k-pod file is measured through the CLI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.generate import SIZES, Size, changed, generate, tiered_policies, write  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
QUERIES = 200
PROBE = ("TCP", 8080)
TIERED = 100  # Admin and Baseline policies in the tiered variant of the largest size
TARGETS = {  # at the largest size (docs/performance.md)
    "compile_s": 10.0, "query_ms": 10.0, "reach_s": 10.0, "rss_mb": 2048.0, "json_pods_per_s": 15_000.0,
    "lint_s": 30.0,  # `netpol lint` beyond load and compile (issue: load + compile + 30 s)
}


def measure(path: str, full: bool) -> dict[str, Any]:
    """In a child process: load the file, and with `full` compile and query it too."""
    from netpol import load_manifests
    from netpol.bulk import frozen_when_built

    started = time.perf_counter()
    with frozen_when_built():  # as the CLI loads and compiles (netpol/cli.py)
        cluster = load_manifests([path]).cluster
    out: dict[str, Any] = {"load_s": time.perf_counter() - started, "pods": len(cluster.pods),
                           "policies": len(cluster.policies), "namespaces": len(cluster.namespaces),
                           "tiered": len(cluster.tiered)}
    if full:
        analyzer, measured = compile_and_query(cluster, time.perf_counter)
        out.update(measured)
        from netpol.analyses.lint import lint

        started = time.perf_counter()
        report = lint(cluster, engine=analyzer.engine)
        out["lint_s"] = time.perf_counter() - started
        out["lint_findings"] = len(report.findings)
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def compile_and_query(cluster: Any, clock: Callable[[], float]) -> tuple[Any, dict[str, Any]]:
    """The Analyzer of a loaded cluster and what it took, on `clock` (wall or CPU): compile_s, classes; the median
    and maximum wall time of QUERIES can-reach queries between random pods (seeded) on PROBE, query_ms and
    query_max_ms; the class-level reachability of PROBE, reach_s and reach_pairs."""
    from netpol import Analyzer
    from netpol.bulk import frozen_when_built

    started = clock()
    with frozen_when_built():
        analyzer = Analyzer(cluster)
    out: dict[str, Any] = {"compile_s": clock() - started, "classes": len(analyzer.engine.classes)}
    rng = random.Random(7)
    times = []
    for _ in range(QUERIES):
        src, dst = rng.choice(cluster.pods), rng.choice(cluster.pods)
        started = time.perf_counter()
        analyzer.can_reach(src.key, dst.key, PROBE[1], PROBE[0])
        times.append(time.perf_counter() - started)
    out.update(query_ms=statistics.median(times) * 1000, query_max_ms=max(times) * 1000)
    started = clock()
    rows = analyzer.engine.reachability(*PROBE)
    out.update(reach_s=clock() - started, reach_pairs=rows.count())
    return analyzer, out


def _child(path: Path, full: bool) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--measure", str(path)] + (["--full"] if full else [])
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _end_to_end(path: Path) -> float:
    netpol = shutil.which("netpol") or str(Path(sys.executable).parent / "netpol")
    from netpol import load_manifests

    pods = load_manifests([str(path)]).cluster.pods
    started = time.perf_counter()
    subprocess.run([netpol, "can-reach", pods[0].key, pods[-1].key, "-p", str(PROBE[1]), "-f", str(path)],
                   capture_output=True, check=False)
    return time.perf_counter() - started


def _startup() -> dict[str, float]:
    """Whole-process times of the quickest commands (median of 5, after one run): `--help`, `can-reach` on a
    fixture, with netpol's bytecode compiled as `pip install` leaves it (an editable install under
    PYTHONDONTWRITEBYTECODE would otherwise compile every module on every run)."""
    import compileall

    import netpol as package

    compileall.compile_dir(str(Path(package.__file__).parent), quiet=1)
    netpol = _netpol()
    commands = {"help_s": [netpol, "--help"],
                "can_reach_s": [netpol, "can-reach", "test-2", "apiserver", "-p", "80", "-f",
                                str(ROOT / "fixtures" / "limit")]}
    out = {}
    for key, cmd in commands.items():
        subprocess.run(cmd, capture_output=True, check=False)
        times = []
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=False)
            times.append(time.perf_counter() - started)
        out[key] = statistics.median(times)
    return out


def _report(path: Path, workdir: Path) -> dict[str, Any]:
    """`netpol report` on one generated file: whole-process time, page size, and the time chromium takes
    to open it (load event, then the matrix drawn), when chromium and Playwright are installed."""
    out = workdir / "report.html"
    seconds, rss, _ = _command(["report", "-f", str(path), "-o", str(out)])
    result: dict[str, Any] = {"write_s": seconds, "rss_mb": rss, "kib": out.stat().st_size / 1024, "open_s": None}
    chromium = shutil.which("chromium")
    if chromium is not None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True,
                                        args=["--no-sandbox"] if os.geteuid() == 0 else [])
            page = browser.new_page()
            started = time.perf_counter()
            page.goto(out.resolve().as_uri(), wait_until="load")
            page.wait_for_selector("#matrix-table tr.row")
            result["open_s"] = time.perf_counter() - started
            browser.close()
    return result


COMMANDS = (  # (what a user runs, generated size (pods, policies), arguments); whole process, one core
    ("matrix --port 8080 -o json", (2_000, 400), ["matrix", "--port", "8080", "-o", "json"]),
    ("matrix --port 8080 -o json", (10_000, 5_000), ["matrix", "--port", "8080", "-o", "json"]),
    ("matrix --port 8080 -o csv", (10_000, 5_000), ["matrix", "--port", "8080", "-o", "csv"]),
    ("matrix -o json (every port)", (3_000, 1_500), ["matrix", "-o", "json"]),
    ("matrix -o json (every port)", (10_000, 5_000), ["matrix", "-o", "json"]),
    # with pods, list and exposure answer for every possible pod beside them (the open world) unless --input-only
    ("list", (2_000, 400), ["list"]),
    ("list --input-only", (2_000, 400), ["list", "--input-only"]),
    ("exposure ns-00001/{pod}", (2_000, 400), ["exposure", "{pod}"]),
    ("exposure ns-00001/{pod} --input-only", (2_000, 400), ["exposure", "{pod}", "--input-only"]),
    ("list", (10_000, 5_000), ["list"]),
    ("list --input-only", (10_000, 5_000), ["list", "--input-only"]),
)


def _command(args: list[str]) -> tuple[float, float | None, int]:
    """Wall time, peak RSS (MiB) and exit code of one netpol process, its output discarded."""
    seconds, _, rss, code = _timed_command(args)
    return seconds, rss, code


def _timed_command(args: list[str]) -> tuple[float, float | None, float | None, int]:
    """Wall time, CPU time (user and system), peak RSS (MiB) and exit code of one netpol process, its output
    discarded. CPU and RSS come from GNU time when it is installed: a forked child's own rusage would count
    the benchmark's memory too."""
    netpol = _netpol()
    gnu_time = Path("/usr/bin/time")
    prefix = [str(gnu_time), "-f", "%U %S %M"] if gnu_time.exists() else []
    started = time.perf_counter()
    result = subprocess.run([*prefix, netpol, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, check=False)
    seconds = time.perf_counter() - started
    lines = result.stderr.strip().splitlines()
    fields = lines[-1].split() if prefix and lines else []
    if len(fields) == 3 and fields[2].isdigit():
        return seconds, float(fields[0]) + float(fields[1]), int(fields[2]) / 1024, result.returncode
    return seconds, None, None, result.returncode


def _commands(workdir: Path) -> list[str]:
    rows = []
    for what, (pods, policies), args in COMMANDS:
        path = _generated(workdir, pods, policies)
        first = next(p for p in json.loads(path.read_text())["items"] if p["kind"] == "Pod"
                     and p["metadata"]["namespace"] == "ns-00001")["metadata"]["name"]
        seconds, rss, code = _command([*(a.replace("{pod}", f"ns-00001/{first}") for a in args), "-f", str(path)])
        memory = f"{rss:,.0f} MiB" if rss is not None else "n/a (no GNU time)"
        time_text = f"{seconds:.2f} s" + (f" (exit {code}: an error, e.g. more possible pods than netpol takes)"
                                           if code > 1 else "")
        rows.append(f"| `netpol {what.replace('{pod}', first)}` | {pods:,} pods / {policies:,} policies | "
                    f"{time_text} | {memory} |")
    return rows


OPEN_WORLD = ((2_000, 400), (10_000, 5_000))  # generated clusters (pods, policies) for the open world's cost
OPEN_WORLD_TARGET = 0.20  # with pods, the open world's extra CPU time over --input-only (issue 30)


def _generated(workdir: Path, pods: int, policies: int) -> Path:
    """The generated cluster of this size (JSON), written once per run."""
    path = workdir / f"cmd-{pods}-{policies}.json"
    if not path.exists():
        write(generate(Size(pods, policies, max(1, pods // 15))), path)
    return path


def _open_world(workdir: Path) -> list[str]:
    """With pods, each command that answers for every possible pod beside the input's, against the same with
    `--input-only`: whole process, CPU time (user and system) and wall time, and the open world's extra CPU."""
    from netpol import load_manifests

    rows = []
    for pods, policies in OPEN_WORLD:
        path = _generated(workdir, pods, policies)
        head = workdir / f"cmd-{pods}-{policies}-head.json"
        if not head.exists():
            write(changed(json.loads(path.read_text())["items"], DIFF_CHANGED), head)
        cluster_pods = list(load_manifests([str(path)]).cluster.pods)
        intent = workdir / f"open-{pods}.intent.yaml"
        _intent(intent, cluster_pods)
        first = next(p.key for p in cluster_pods if p.namespace == "ns-00001")
        for what, args in ((f"diff BASE HEAD -o json ({DIFF_CHANGED:.0%} of the policies changed)",
                            ["diff", str(path), str(head), "-o", "json"]),
                           ("check (100 expectations, 5 of them `only`)",
                            ["check", str(intent), "--allow-outside-repo", "-f", str(path)]),
                           (f"exposure {first}", ["exposure", first, "-f", str(path)]),
                           ("list", ["list", "-f", str(path)])):
            cells, spent, failed = [], [], False
            for extra in ([], ["--input-only"]):
                seconds, cpu, _, code = _timed_command([*args, *extra])
                spent.append(cpu if cpu is not None else seconds)
                cell = f"{spent[-1]:.2f} s ({seconds:.2f} s)"
                failed |= code > 1
                cells.append(f"exit {code} (error): {cell}" if code > 1 else cell)
            verdict = "met" if spent[0] <= spent[1] * (1 + OPEN_WORLD_TARGET) else "NOT met"
            over = "no answer to compare" if failed else f"{spent[0] / spent[1] - 1:+.0%} ({verdict})"
            rows.append(f"| `netpol {what}` | {pods:,} pods / {policies:,} policies | {' | '.join(cells)} | {over} |")
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


POSSIBLE = ((100, 50, 7), (300, 150, 20), (1_000, 500, 67))  # the generator's policies, without their pods


def _possible(workdir: Path) -> list[str]:
    """Policy-only inputs: how many regions (possible pods) the policies tell apart, and whole-process times
    of the commands that answer for every possible pod."""
    from netpol import load_objects
    from netpol.analyses.regions import regions

    rows = []
    for pods, policies, namespaces in POSSIBLE:
        objects = [o for o in generate(Size(pods, policies, namespaces))
                   if o["kind"] in ("Namespace", "NetworkPolicy")]
        path = workdir / f"policies-{policies}.yaml"
        write(objects, path)
        count = len(regions(load_objects(objects).cluster).regions)
        cells = []
        for args in (["list", "-f", str(path)], ["exposure", "ns-00001{role=db}", "-f", str(path)],
                     ["diff", str(path), str(path)]):
            seconds, rss, _ = _command(args)
            cells.append(f"{seconds:.2f} s" + (f" ({rss:,.0f} MiB)" if rss is not None else ""))
        cells_text = " | ".join(cells)
        rows.append(f"| {policies:,} policies / {namespaces + 1:,} namespaces | {count:,} | {cells_text} |")
    return rows


REPOSITORY_TARGETS = {2_000: 10.0, 5_000: 30.0}  # CPU seconds beyond `explain` of the same repository (issue 28)
REPOSITORY_TIERED = 2_000  # the repository size of the variant with TIERED Admin and Baseline policies


def _repository_intent(path: Path) -> None:
    """Expectations about namespace ns-00001 of a generated repository: an `only` (every other pod that could
    exist is denied), a namespace-wide deny and an allow; every pair has an end in ns-00001."""
    path.write_text("\n".join([
        "apiVersion: netpol/v1", "kind: NetworkPolicyIntent", "metadata: {name: repository}", "expectations:",
        "- name: the data tier only from the backend", "  only:", "    from: ['ns-00001{tier=backend}']",
        "    to: 'ns-00001{tier=data}'", "  ports: [5432]",
        "- name: ns-00002 cannot reach ns-00001", "  from: {namespace: ns-00002}", "  to: {namespace: ns-00001}",
        "  expect: deny",
        "- name: DNS", "  from: {namespace: ns-00001}", "  to: 'kube-system{k8s-app=kube-dns}'", "  ports: [53]",
        "  protocol: UDP", "  expect: allow"]) + "\n")


REPOSITORIES_HEADING = "## Policy-only repositories"


def _repositories_section(rows: list[str]) -> list[str]:
    return [REPOSITORIES_HEADING, "",
            "Repositories of NetworkPolicies without pods (`benchmarks/generate.py --policy-only`: one namespace per "
            "five policies, labelled team/env/compliance; default denies with DNS egress, same-namespace allows, peers "
            "by name, team and env, combined namespace and pod peers, matchExpressions on seven keys, named and "
            "numbered ports, endPort ranges, ipBlocks with except), and a variant with "
            f"{TIERED} Admin and Baseline policies. CPU time (user and system) of the whole process, as the shared "
            "machine's wall times vary: `explain` is the load and the compile, every other column what the command "
            "takes beyond it, with its peak RSS. The diff's HEAD moves the numbered ports of "
            f"{DIFF_CHANGED:.0%} of the policies (`--changed`); `exposure` and `check` (three expectations, one of "
            "them `only`) ask about namespace ns-00001. Regions are cut for each command's focus "
            "(docs/exposure.md#focus-regions-cut-for-the-question-asked). Targets (issue 28): diff, diff A A, "
            "exposure and check within `explain` + 10 s at 2,000 policies and + 30 s at 5,000, lint + 30 s, "
            "memory under 2 GiB.", "",
            "| repository | `explain` | `diff BASE HEAD` | `diff A A` | `exposure 'ns-00001{tier=data}'` | `check` "
            "| `lint` | target |", "|---|---|---|---|---|---|---|---|", *rows]


HEADER = [
    "# Performance", "",
    "The sections between `<!-- benchmarks/run.py: NAME -->` and `<!-- end of benchmarks/run.py: NAME -->` are "
    "generated by `python benchmarks/run.py` (seeded clusters from `benchmarks/generate.py`; see its docstring for "
    "what they contain): do not edit them by hand, rerun the script, which replaces the sections it measures and "
    "keeps everything else. The other sections are written by hand.",
]


def _marked(name: str, lines: list[str]) -> list[str]:
    """A generated section between its markers, ending with when it was measured and the machine's load."""
    return [f"<!-- benchmarks/run.py: {name} -->", *lines, f"<!-- end of benchmarks/run.py: {name} -->"]


def _merge(text: str, sections: dict[str, list[str]]) -> str:
    """`text` (performance.md as it is) with each section of `sections` replaced between its markers, or added
    at the end when it has none; hand-written sections, and generated ones not measured this run, are kept."""
    lines = text.rstrip("\n").split("\n") if text.strip() else list(HEADER)
    for name, section in sections.items():
        block = _marked(name, section)
        if block[0] in lines and block[-1] in lines:
            start, end = lines.index(block[0]), lines.index(block[-1])
            lines[start:end + 1] = block
        else:
            lines += ["", *block]
    return "\n".join(lines) + "\n"


class _Load:
    """The machine's 1-minute load average when a section's measurements start and end: the 2 cores are shared,
    so wall times depend on it (CPU times much less)."""

    def __init__(self) -> None:
        self.started = os.getloadavg()[0]

    def stamp(self) -> str:
        return (f"Measured {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; load average "
                f"{self.started:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores.")


def _repositories(workdir: Path) -> list[str]:
    """Policy-only repositories (benchmarks/generate.py --policy-only): per size, `explain` (load and compile),
    and each command that answers for every possible pod, as CPU time beyond `explain`'s."""
    from benchmarks.generate import REPOSITORIES, repository

    intent = workdir / "repository.intent.yaml"
    _repository_intent(intent)
    rows = []
    for policies, tiered in [*((n, 0) for n in REPOSITORIES), (REPOSITORY_TIERED, TIERED)]:
        objects = repository(policies) + tiered_policies(tiered)
        base, head = workdir / f"repo-{policies}-{tiered}.yaml", workdir / f"repo-{policies}-{tiered}-head.yaml"
        write(objects, base)
        write(changed(objects, DIFF_CHANGED), head)
        cells = []
        explain = None
        for args in (["explain", "-f", str(base)], ["diff", str(base), str(head)], ["diff", str(base), str(base)],
                     ["exposure", "ns-00001{tier=data}", "-f", str(base)],
                     ["check", str(intent), "--allow-outside-repo", "-f", str(base)],
                     ["lint", "-f", str(base), "--fail-on", "never"]):
            seconds, cpu, rss, code = _timed_command(args)
            spent = cpu if cpu is not None else seconds
            if explain is None:
                explain = spent
                cells.append(f"{spent:.1f} s")
                continue
            cell = f"{spent - explain:+.1f} s ({rss or 0:,.0f} MiB)"
            cells.append(f"exit {code}: {cell}" if code > 1 else cell)
        target = REPOSITORY_TARGETS.get(policies)
        what = f"{policies:,} policies / {policies // 5 + 1:,} namespaces" + (f" + {tiered} tiered" if tiered else "")
        rows.append(f"| {what} | {' | '.join(cells)} | {f'+{target:g} s' if target else ''} |")
        print(rows[-1], file=sys.stderr, flush=True)  # a row at a time: the largest take minutes
    return rows


PEER_SIZES = ((1_000, 500), (2_000, 400), (10_000, 5_000))  # (pods, policies) of the side-by-side files
PEER_TIMEOUT = 600  # seconds a peer may take on one file; beyond it the row says so, and larger files are skipped
NCA = "network-config-analyzer==2.1.0"  # IBM's analyzer, from PyPI, in a virtualenv of its own
NP_GUARD = "github.com/np-guard/netpol-analyzer/cmd/netpolicy@v1.4.4"  # from the Go module proxy
PEER_NETPOL = (  # netpol's closest outputs to the peers' connectivity lists
    ("netpol matrix -o json (every port, pod by pod)", ["matrix", "-o", "json"]),
    ("netpol matrix --port 8080 -o json", ["matrix", "--port", "8080", "-o", "json"]),
    ("netpol matrix --by-workload -o json", ["matrix", "--by-workload", "-o", "json"]),
    ("netpol list (workload connectivity list)", ["list"]),
)


def _install_peers(workdir: Path) -> dict[str, tuple[list[str], str] | str]:
    """The peers' commands and versions, or why one is missing. Installed into the workdir, never into
    netpol's environment: a benchmark, not a dependency."""
    out: dict[str, tuple[list[str], str] | str] = {}
    venv = workdir / "nca-venv"
    nca = venv / "bin" / "nca"
    if not nca.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=False, capture_output=True)
        got = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", NCA], check=False, capture_output=True,
                             text=True)
        if got.returncode:
            out["nca"] = "not installed: pip said " + (got.stderr.strip().splitlines() or ["nothing"])[-1]
    if nca.exists():
        version = subprocess.run([str(nca), "--version"], check=False, capture_output=True, text=True)
        # --debug only prints the traceback of a failure (its message alone can be empty)
        out["nca"] = ([str(nca), "--connectivity", "--output_format", "txt", "--debug", "--resource_list"],
                      (version.stdout + version.stderr).strip().splitlines()[-1] if version.returncode == 0 else NCA)
    go = shutil.which("go")
    if go is None:
        out["np-guard"] = "not run: no Go toolchain on this machine"
    else:
        out["np-guard"] = _build_np_guard(go, workdir / "go-bin")
    return out


def _build_np_guard(go: str, bin_dir: Path) -> tuple[list[str], str] | str:
    """np-guard's `netpolicy`, by `go install` from the module proxy. When the proxy refuses the module's
    version list (which `go install` reads for deprecations) but serves the version itself, the module is
    fetched with `go mod download` and built where it lands, with the same go.sum: the same code."""
    env = {**os.environ, "GOBIN": str(bin_dir)}
    module, version = NP_GUARD.rsplit("@", 1)
    tool = bin_dir / "netpolicy"
    got = subprocess.run([go, "install", NP_GUARD], check=False, capture_output=True, text=True, env=env,
                         timeout=900)
    how = f"`go install {NP_GUARD}`"
    if got.returncode or not tool.exists():
        root = module.removesuffix("/cmd/netpolicy")
        fetched = subprocess.run([go, "mod", "download", "-json", f"{root}@{version}"], check=False,
                                 capture_output=True, text=True, env=env, timeout=900)
        source = json.loads(fetched.stdout).get("Dir") if fetched.returncode == 0 else None
        if source is None:
            return f"not run: {how} failed here ({_short(got.stderr.strip().splitlines() or ['no output'])})"
        got = subprocess.run([go, "build", "-o", str(tool), "./cmd/netpolicy"], cwd=source, check=False,
                             capture_output=True, text=True, env=env, timeout=900)
        how = f"`go mod download {root}@{version}` and `go build ./cmd/netpolicy`"
        if got.returncode or not tool.exists():
            return f"not run: {how} failed here ({_short(got.stderr.strip().splitlines() or ['no output'])})"
    return [str(tool), "list", "--dirpath"], f"{version} (built by {how})"


def _short(lines: list[str]) -> str:
    """The line of a failure that says why (the Go proxy's answer), cut to fit a table cell."""
    why = next((line for line in reversed(lines) if "403" in line or "404" in line or "not available" in line),
               lines[-1])
    return why.strip().replace("|", "/")[:160]


_FRAME = re.compile(r'File "(?:.*/site-packages/)?([^"]+)", line (\d+), in (\S+)')


def _failure(stderr: str) -> str:
    """What a failed peer said: its last line, and where a Python traceback ended."""
    lines = stderr.strip().splitlines() or ["no output"]
    frames = _FRAME.findall(stderr)
    where = f" at {frames[-1][0]} line {frames[-1][1]} ({frames[-1][2]})" if frames else ""
    return _short(lines) + where


def _timed(command: list[str]) -> str:
    """One peer run, whole process, output discarded: its time, or that it failed or did not finish."""
    started = time.perf_counter()
    try:
        got = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             timeout=PEER_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return f"did not finish in {PEER_TIMEOUT} s"
    seconds = time.perf_counter() - started
    if got.returncode not in (0, 1):
        return f"failed (exit {got.returncode}: {_failure(got.stderr)}) after {seconds:.1f} s"
    return f"{seconds:.2f} s"


def _peers(workdir: Path) -> tuple[list[str], list[str]]:
    """Side by side with the static peers on the same generated files (YAML, one directory per file for
    np-guard, which reads directories): netpol's closest outputs, NCA's connectivity map, np-guard's list.
    Returns the table rows and the versions."""
    peers = _install_peers(workdir)
    files = []
    for pods, policies in PEER_SIZES:
        folder = workdir / f"peer-{pods}-{policies}"
        folder.mkdir(exist_ok=True)
        path = folder / "cluster.yaml"
        if not path.exists():
            write(generate(Size(pods, policies, max(1, pods // 15))), path)
        files.append(path)
    header = " | ".join(f"{pods:,} pods / {policies:,} policies" for pods, policies in PEER_SIZES)
    rows = [f"| tool and command | {header} |", "|---|" + "---|" * len(PEER_SIZES)]
    for what, args in PEER_NETPOL:
        cells = [_timed([_netpol(), *args, "-f", str(path)]) for path in files]
        rows.append(f"| {what} | {' | '.join(cells)} |")
    versions = [f"netpol {_netpol_version()}"]
    labels = {"nca": "IBM network-config-analyzer `--connectivity`", "np-guard": "np-guard `netpolicy list`"}
    for name, label in labels.items():
        peer = peers[name]
        if isinstance(peer, str):
            rows.append(f"| {label} | {peer} |" + " |" * (len(PEER_SIZES) - 1))
            continue
        command, version = peer
        versions.append(f"{name} {version}")
        timed: list[str] = []
        for path in files:
            if timed and not timed[-1][0].isdigit():
                timed.append("not run (the smaller file did not finish)")
                continue
            timed.append(_timed([*command, str(path.parent) if name == "np-guard" else str(path)]))
        rows.append(f"| {label} | {' | '.join(timed)} |")
    return rows, versions


def _netpol() -> str:
    return shutil.which("netpol") or str(Path(sys.executable).parent / "netpol")


def _netpol_version() -> str:
    from netpol import __version__

    return __version__


LARGE = (  # (what a user runs, arguments, target beyond load + compile) on the largest cluster, whole process
    ("can-reach (load + compile + one answer)", ["can-reach", "{pod}", "{pod}", "-p", "80"], None),
    ("explain -o json", ["explain", "-o", "json"], 10.0),
    ("graph --focus NS/POD", ["graph", "--focus", "{pod}"], 5.0),
    ("graph -n NS", ["graph", "-n", "{ns}", "--format", "dot"], 5.0),
    ("lint -o json", ["lint", "-o", "json", "--fail-on", "never"], 30.0),
    ("check (100 expectations, some namespace-wide; `only` over every possible pod)",
     ["check", "{intent}", "--allow-outside-repo"], 5.0),
    ("check --input-only (the same, the input's pods alone)",
     ["check", "{intent}", "--allow-outside-repo", "--input-only"], 5.0),
)
DIFF_CHANGED = 0.01  # of the NetworkPolicies, for the diff of two versions of the largest cluster
DIFF_TARGET = 10.0  # seconds beyond two loads and two compiles


def _intent(path: Path, pods: list[Any]) -> None:
    """100 seeded expectations for `check`: 90 pod pairs on TCP/8080, 5 namespace-to-namespace denies,
    5 `only` expectations (a namespace's pods only, to one of its pods: every other pod is checked)."""
    rng = random.Random(3)
    lines = ["apiVersion: netpol/v1", "kind: NetworkPolicyIntent", "metadata: {name: bench}", "expectations:"]
    for i in range(90):
        a, b = rng.choice(pods), rng.choice(pods)
        lines += [f"- name: pair {i}", f"  from: {a.key}", f"  to: {b.key}", "  ports: [8080]",
                  f"  expect: {rng.choice(['allow', 'deny'])}"]
    for i in range(5):
        ns, other = rng.choice(pods).namespace, rng.choice(pods).namespace
        lines += [f"- name: namespace {i}", f"  from: {{namespace: {other}}}", f"  to: {{namespace: {ns}}}",
                  "  expect: deny"]
    for i in range(5):
        b = rng.choice(pods)
        lines += [f"- name: only {i}", "  only:", f"    from: [{{namespace: {b.namespace}}}]", f"    to: {b.key}"]
    path.write_text("\n".join(lines) + "\n")


def _large(path: Path, pods: list[Any], workdir: Path) -> list[str]:
    """The LARGE commands, each against can-reach's time, which is load and compile (and one answer)."""
    intent = workdir / "bench.intent.yaml"
    _intent(intent, pods)
    rows = []
    base = None
    for what, args, target in LARGE:
        filled = [a.replace("{pod}", pods[7].key).replace("{ns}", pods[7].namespace).replace("{intent}", str(intent))
                  for a in args]
        seconds, rss, code = _command(filled + ["-f", str(path)])
        if base is None:
            base = seconds
        extra = "" if target is None else f"{seconds - base:+.2f} s (target +{target:g} s)"
        if code > 1:  # an error is not a measurement of the answer (e.g. more possible pods than netpol takes)
            extra = f"exit {code} (error), {extra}"
        memory = f"{rss:,.0f} MiB" if rss is not None else "n/a"
        rows.append(f"| `netpol {what}` | {seconds:.2f} s | {extra} | {memory} |")
    head = workdir / "cluster-head.json"
    write(changed(json.loads(path.read_text())["items"], DIFF_CHANGED), head)
    # the input's pods (--input-only): possible pods of the namespaces every changed policy reaches are more than
    # netpol enumerates here (docs/intent.md#netpol-diff)
    same, same_rss, _ = _command(["diff", str(path), str(path), "-o", "json", "--input-only"])  # two loads, compiles
    rows.append(f"| `netpol diff BASE BASE -o json --input-only` (two loads and compiles) | {same:.2f} s |  | "
                f"{same_rss or 0:,.0f} MiB |")
    seconds, cpu, rss, _ = _timed_command(["diff", str(path), str(head), "-o", "json", "--input-only"])
    memory = f"{rss:,.0f} MiB" if rss is not None else "n/a"
    rows.append(f"| `netpol diff BASE HEAD -o json --input-only` ({DIFF_CHANGED:.0%} of the policies changed) | "
                f"{seconds:.2f} s (CPU {cpu or 0:.2f} s) | "
                f"{seconds - same:+.2f} s beyond `diff BASE BASE` (target +{DIFF_TARGET:g} s) | {memory} |")
    # the same diff for every pod that could exist (the open world): at most 20% over --input-only (issue 30),
    # in CPU time (the wall time of a shared machine varies more)
    opened, opened_cpu, opened_rss, code = _timed_command(["diff", str(path), str(head), "-o", "json"])
    spent, base_cpu = (opened_cpu, cpu) if opened_cpu is not None and cpu else (opened, seconds)
    verdict = (f"exit {code} (error)" if code > 1 else
               f"{spent / base_cpu - 1:+.0%} CPU over `--input-only` (target +{OPEN_WORLD_TARGET:.0%})")
    rows.append(f"| `netpol diff BASE HEAD -o json` (every possible pod) | {opened:.2f} s "
                f"(CPU {opened_cpu or 0:.2f} s) | {verdict} | {opened_rss or 0:,.0f} MiB |")
    return rows


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def _row(size: Size, j: dict[str, Any], y: dict[str, Any]) -> str:
    return (f"| {size.pods:,} pods / {j['namespaces']:,} ns / {j['policies']:,} policies | {j['classes']:,} "
            f"| {j['load_s']:.2f} s ({j['pods'] / j['load_s']:,.0f} pods/s) "
            f"| {y['load_s']:.2f} s ({y['pods'] / y['load_s']:,.0f} pods/s) "
            f"| {j['compile_s']:.2f} s | {j['query_ms']:.2f} ms (max {j['query_max_ms']:.1f}) "
            f"| {j['reach_s']:.2f} s | {j['lint_s']:.2f} s ({j['lint_findings']:,}) | {j['rss_mb']:,.0f} MiB |")


def _verdicts(size: Size, j: dict[str, Any]) -> list[str]:
    got = {"compile_s": j["compile_s"], "query_ms": j["query_ms"], "reach_s": j["reach_s"], "rss_mb": j["rss_mb"],
           "json_pods_per_s": j["pods"] / j["load_s"], "lint_s": j["lint_s"]}
    lines = []
    for key, target in TARGETS.items():
        ok = got[key] >= target if key == "json_pods_per_s" else got[key] <= target
        lines.append(f"| {key} | {'>=' if key == 'json_pods_per_s' else '<='} {target:,.0f} | {got[key]:,.2f} "
                     f"| {'met' if ok else 'NOT met'} |")
    return lines


def _tiered_row(size: Size, t: dict[str, Any]) -> str:
    return (f"| {size.pods:,} pods / {t['policies']:,} policies + {t['tiered']} tiered | {t['classes']:,} "
            f"| {t['load_s']:.2f} s | {t['compile_s']:.2f} s | {t['query_ms']:.2f} ms (max {t['query_max_ms']:.1f}) "
            f"| {t['reach_s']:.2f} s | {t['lint_s']:.2f} s ({t['lint_findings']:,}) | {t['rss_mb']:,.0f} MiB |")


def _sizes_section(results: list[tuple[Size, dict[str, Any], dict[str, Any]]], e2e: float | None, elapsed: float,
                   startup: dict[str, float] | None) -> list[str]:
    largest = results[-1]
    lines = [
        f"- Machine: {_machine()}",
        f"- Date: {time.strftime('%Y-%m-%d')}; whole run {elapsed:.0f} s; one process per measurement, one core.",
        f"- Point query: median (and max) of {QUERIES} `Analyzer.can_reach` calls between random pods, on "
        f"{PROBE[0]}/{PROBE[1]}.",
        f"- Reachability: `Engine.reachability('{PROBE[0]}', {PROBE[1]})`, every ordered pair of equivalence "
        "classes.",
        "- RSS: peak resident memory of the process that loaded the JSON file, compiled, queried and computed "
        "the reachability.",
        "- As in the CLI, the loaded and compiled objects are frozen out of the garbage collector's view "
        "(`gc.freeze()`) at the end of each phase, while the collector is still paused (`netpol/bulk.py`): no "
        "collection walks them.",
        "- How it scales: loading and compiling are linear in objects; the class-level reachability is a packed "
        "n x n bit matrix (n = classes), built per class and transposed 64 bits at a time.",
        "- Lint: `netpol.analyses.lint.lint` on the compiled cluster (every rule; its own compile is not counted), and "
        "how many findings it made; the generator's random selectors and ipBlocks give many.",
        "- The machine is shared: between runs, times (loads most) have varied by up to 2x for the same code, "
        "so compare rows of one run, and rerun before judging a target that is close.",
        "",
        "| cluster | classes | load JSON | load YAML (libyaml) | compile | point query | reachability | lint | "
        "peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
        *(_row(size, j, y) for size, j, y in results),
        "",
        f"Targets, checked at the largest size measured ({largest[0].pods:,} pods):",
        "",
        "| measure | target | measured | |",
        "|---|---|---|---|",
        *_verdicts(largest[0], largest[1]),
    ]
    if e2e is not None:
        lines += ["", f"`netpol can-reach` end to end (start, load, compile, answer) on the 10k-pod JSON file: "
                  f"{e2e:.2f} s."]
    if startup is not None:
        lines += ["", "Start-up, whole process (median of 5, bytecode compiled as `pip install` leaves it): "
                  f"`netpol --help` {startup['help_s']:.2f} s (target 0.2 s); "
                  f"`netpol can-reach` on fixtures/limit {startup['can_reach_s']:.2f} s (target 0.4 s). "
                  "The library, rich, yaml, numpy, networkx, graphviz and the kubernetes client are imported "
                  "only by the commands that use them."]
    return lines


def _document(results: list[tuple[Size, dict[str, Any], dict[str, Any]]], e2e: float | None, elapsed: float,
              tiered: dict[str, Any] | None = None, startup: dict[str, float] | None = None,
              commands: list[str] | None = None, report: dict[str, Any] | None = None,
              large: list[str] | None = None, possible: list[str] | None = None,
              peers: tuple[list[str], list[str]] | None = None, repositories: list[str] | None = None,
              open_world: list[str] | None = None, stamps: dict[str, str] | None = None) -> dict[str, list[str]]:
    """The generated sections measured in this run, by name (`_merge` puts each between its markers), each
    ending with when it was measured and the machine's load (`stamps`)."""
    stamps = stamps or {}
    out: dict[str, list[str]] = {}
    if results:
        out["sizes"] = _sizes_section(results, e2e, elapsed, startup)
    if commands:
        out["commands"] = ["## Commands, whole process", "",
                  "Each on a generated cluster (JSON), in its own process, output discarded. Pod-level matrices "
                  "expand the class-level rows to pods with numpy and are written a row at a time. Every-port "
                  "matrices are built from the port atoms: one class-level reachability per interval that every "
                  "rule treats alike, combined into one bit code per class pair. `list` and `exposure` answer, "
                  "beside the input's pods, for every possible pod (regions, docs/exposure.md): their cost is the "
                  "regions' (a few hundred per namespace the generator names), and beyond 20,000 regions they "
                  "exit 2 and say so; `--input-only` is the input's pods alone.", "",
                  "| command | cluster | time | peak RSS |", "|---|---|---|---|", *commands]
    if open_world:
        out["open-world"] = [
            "## The open world against `--input-only`", "",
            "With pods, `diff`, `check` (its `only` expectations), `exposure` and `list` answer for every pod that "
            "could exist: the input's pods and, beside them, possible pods (regions, docs/exposure.md). "
            "`--input-only` answers for the input's pods alone. Each command on a generated cluster (JSON; the "
            f"diff's HEAD moves the numbered ports of {DIFF_CHANGED:.0%} of the policies, `--changed`), whole "
            "process, output discarded: CPU time (user and system), with the wall time in brackets, and how much "
            "more CPU the open world takes. Target (issue 30): at most "
            f"+{OPEN_WORLD_TARGET:.0%}.", "",
            "| command | cluster | open world: CPU (wall) | `--input-only`: CPU (wall) | open world's extra CPU |",
            "|---|---|---|---|---|", *open_world]
    if large:
        out["large"] = ["## Commands on the largest cluster", "",
                  "Whole process on the largest JSON file, against `can-reach`, whose time is the load and the "
                  "compile (one answer costs milliseconds).", "",
                  "| command | time | beyond load + compile | peak RSS |", "|---|---|---|---|", *large, "",
                  "The diff's second file is the same cluster with the numbered ports of "
                  f"{DIFF_CHANGED:.0%} of the NetworkPolicies moved up by one (`benchmarks/generate.py --changed`); "
                  "only the rows and columns of the classes those policies select are computed (netpol.engine.slices), "
                  "and its time beyond two loads and two compiles is against `diff BASE BASE`, which loads and "
                  "compiles the same two files and finds nothing to compare."]
    if peers is not None:
        rows, versions = peers
        out["peers"] = ["## Side by side with other analyzers", "",
                  "The same generated files (YAML) through each tool's closest output, whole process, output "
                  f"discarded, at most {PEER_TIMEOUT} s each (a tool that does not finish is not run on larger "
                  "files). The peers are installed by `benchmarks/run.py` into its working directory (a "
                  "virtualenv for NCA from PyPI; for np-guard, `go install` from the Go module proxy, or, where "
                  "the proxy refuses the version list that `go install` reads, `go mod download` of that version "
                  "and `go build`), never into netpol's environment. Versions: " + ", ".join(versions) + ".", "", *rows]
    if report is not None:
        opened = f"{report['open_s']:.2f} s" if report["open_s"] is not None else "not measured (no chromium)"
        out["report"] = ["## The HTML report", "",
                  "`netpol report` on the 10k-pod cluster: the whole process, the page's size, and the time "
                  "Debian's chromium (headless, through Playwright) takes from opening the file to the matrix "
                  "drawn. Target: under 2 s to open. The cluster has more than 200 classes, so the page's matrix "
                  "holds pairs within each namespace and the graph is left out (docs/report.md#size).", "",
                  "| write | peak RSS | size | open in chromium |", "|---|---|---|---|",
                  f"| {report['write_s']:.2f} s | {report['rss_mb'] or 0:,.0f} MiB | {report['kib']:,.0f} KiB "
                  f"| {opened} |"]
    if possible:
        out["possible"] = ["## Possible pods", "",
                  "Policies without pods (the generator's NetworkPolicies and Namespaces, pods left out): how many "
                  "regions of label space the selectors tell apart (one hypothetical pod each, docs/exposure.md), "
                  "and each command's whole process. The regions grow with the selectors that can apply in one "
                  "namespace, not with pods; netpol refuses beyond 20,000 regions (exit 2, never a sample). "
                  "`list` writes every connection between regions (millions at 500 policies), folded into lines.",
                  "", "| policies | regions | `list` | `exposure NS{role=db}` | `diff A A` |", "|---|---|---|---|---|",
                  *possible]
    if repositories:
        out["repositories"] = _repositories_section(repositories)
    if tiered is not None:
        ok = [f"{key} {tiered[key]:.2f} ({'met' if tiered[key] <= TARGETS[key] else 'NOT met'}: <= {TARGETS[key]:g})"
              for key in ("compile_s", "query_ms", "lint_s")]
        out["tiered"] = ["## With tiered policies", "",
                  f"The largest cluster again, with {TIERED} AdminNetworkPolicies and ClusterNetworkPolicies (both API "
                  "versions, `benchmarks/generate.py --tiered`): Admin Denies and Passes between teams, an Allow for "
                  "DNS, an egress Deny of the internet with a carve-out, and a Baseline Deny. Point queries and "
                  "the reachability walk the tiers first-match per class.", "",
                  "| cluster | classes | load JSON | compile | point query | reachability | lint | peak RSS |",
                  "|---|---|---|---|---|---|---|---|",
                  _tiered_row(results[-1][0], tiered), "", "Targets: " + "; ".join(ok) + "."]
    for name, section in out.items():
        if name in stamps:
            section += ["", stamps[name]]
    return out


def _sizes(wanted: list[str], by_name: dict[str, Size], workdir: Path, with_tiered: bool
           ) -> tuple[list[tuple[Size, dict[str, Any], dict[str, Any]]], float | None, dict[str, Any] | None]:
    """Each size in a child process (JSON: load, compile, query, lint; YAML: load), `can-reach` end to end on
    the 10k-pod file, and the largest size with tiered policies; the files stay in `workdir`."""
    results = []
    e2e = tiered = None
    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  disable=not console.is_terminal) as progress:
        for name in wanted:
            size = by_name[name]
            task = progress.add_task(f"{name}: generating", total=None)
            objects = generate(size)
            files = {ext: workdir / f"cluster-{name}.{ext}" for ext in ("json", "yaml")}
            for path in files.values():
                write(objects, path)
            del objects
            progress.update(task, description=f"{name}: load, compile, query (JSON)")
            j = _child(files["json"], full=True)
            progress.update(task, description=f"{name}: load (YAML)")
            y = _child(files["yaml"], full=False)
            if name == "10k":
                progress.update(task, description=f"{name}: netpol can-reach end to end")
                e2e = _end_to_end(files["json"])
            results.append((size, j, y))
            progress.update(task, description=f"{name}: done")
            console.print(_row(size, j, y), markup=False, highlight=False)
        if with_tiered:
            size = results[-1][0]
            progress.add_task(f"{size.name} with {TIERED} tiered policies", total=None)
            tiered_file = workdir / "cluster-tiered.json"
            write(generate(size) + tiered_policies(TIERED), tiered_file)
            tiered = _child(tiered_file, full=True)
            console.print(_tiered_row(size, tiered), markup=False, highlight=False)
    return results, e2e, tiered


SECTIONS = ("sizes", "commands", "open-world", "large", "peers", "report", "possible", "repositories", "tiered")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1k,10k,50k,150k", help="comma-separated: 1k, 10k, 50k, 150k")
    parser.add_argument("--smoke", action="store_true", help="only the smallest size")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--workdir", type=Path, help="keep generated files here (default: a temporary directory)")
    parser.add_argument("--no-peers", action="store_true", help="leave out the side-by-side run of other analyzers")
    parser.add_argument("--sections", help="comma-separated generated sections to measure and replace in --out, "
                        f"keeping the others: {', '.join(SECTIONS)} (default: every one)")
    parser.add_argument("--repositories-only", action="store_true", help="the same as --sections repositories")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.full)))
        return
    wanted = ["1k"] if args.smoke else args.sizes.split(",")
    by_name = {f"{s.pods // 1000}k": s for s in SIZES}
    unknown = [w for w in wanted if w not in by_name]
    if unknown:
        parser.error(f"unknown size(s) {', '.join(unknown)}; choose from {', '.join(by_name)}")
    sections = set(SECTIONS)
    if args.repositories_only or args.sections:
        sections = {"repositories"} if args.repositories_only else set(args.sections.split(","))
        if sections - set(SECTIONS):
            parser.error(f"unknown section(s) {', '.join(sorted(sections - set(SECTIONS)))}; "
                         f"choose from {', '.join(SECTIONS)}")
    if args.smoke:
        sections -= {"commands", "open-world", "large", "peers", "possible", "repositories"}
    if args.no_peers:
        sections.discard("peers")
    started = time.perf_counter()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="netpol-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    stamps: dict[str, str] = {}
    measured: dict[str, Any] = {}

    def timed(name: str, run: Any) -> Any:  # one section's measurements, stamped with the machine's load
        if name not in sections:
            return None
        load = _Load()
        measured[name] = run()
        stamps[name] = load.stamp()
        print(f"measured {name}", file=sys.stderr, flush=True)
        return measured[name]

    results: list[tuple[Size, dict[str, Any], dict[str, Any]]] = []
    e2e = tiered = startup = None
    if sections & {"sizes", "tiered", "large", "report"}:
        load = _Load()
        results, e2e, tiered = _sizes(wanted, by_name, workdir, "tiered" in sections)
        stamps["sizes"] = stamps["tiered"] = load.stamp()
        startup = _startup() if "sizes" in sections else None
    timed("commands", lambda: _commands(workdir))
    timed("open-world", lambda: _open_world(workdir))
    timed("possible", lambda: _possible(workdir))
    timed("repositories", lambda: _repositories(workdir))
    if "10k" in wanted:
        timed("report", lambda: _report(workdir / "cluster-10k.json", workdir))
    if results:
        largest = workdir / f"cluster-{wanted[-1]}.json"

        def large() -> list[str]:
            from netpol import load_manifests

            return _large(largest, list(load_manifests([str(largest)]).cluster.pods), workdir)

        timed("large", large)
    timed("peers", lambda: _peers(workdir))
    generated = _document(results or [], e2e, time.perf_counter() - started, tiered, startup,
                          measured.get("commands"), measured.get("report"), measured.get("large"),
                          measured.get("possible"), measured.get("peers"), measured.get("repositories"),
                          measured.get("open-world"), stamps)
    kept = {name: lines for name, lines in generated.items() if name in sections}
    args.out.write_text(_merge(args.out.read_text() if args.out.exists() else "", kept))
    print(f"wrote {args.out}", file=sys.stderr)
    if args.workdir is None:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
