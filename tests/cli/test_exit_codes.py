"""Exit codes carry results: a crash is exit 3 with one line, never 1 (a verdict) or 2 (the user's error)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netpol import cli
from netpol.analyses.query import Analyzer
from netpol.errors import QueryError
from netpol.render import matrix as render_matrix
from tests.builders import FIXTURES

LIMIT = str(FIXTURES / "limit")


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["netpol", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    code = exit_info.value.code
    assert isinstance(code, int)
    return code


def _boom(*_: object, **__: object) -> None:
    raise KeyError("matrix")


def test_unexpected_exception_is_exit_3_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(Analyzer, "can_reach", _boom)
    code = run_main(monkeypatch, "can-reach", "test-1", "apiserver", "-p", "80", "-f", LIMIT)
    err = capsys.readouterr().err
    assert code == 3
    assert err == "netpol: error: internal error: KeyError: 'matrix'; rerun with --debug for the traceback\n"


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_prints_the_traceback_wherever_it_is_given(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str], where: str) -> None:
    monkeypatch.setattr(Analyzer, "can_reach", _boom)
    args = ["can-reach", "test-1", "apiserver", "-p", "80", "-f", LIMIT]
    args = ["--debug", *args] if where == "before" else [*args, "--debug"]
    code = run_main(monkeypatch, *args)
    err = capsys.readouterr().err
    assert code == 3
    assert err.startswith("Traceback (most recent call last):\n")
    assert err.endswith("netpol: error: internal error: KeyError: 'matrix'\n")


def test_recursion_limit_is_internal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def deep(*_: object, **__: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(Analyzer, "matrix", deep)
    assert run_main(monkeypatch, "matrix", "-f", LIMIT) == 3
    assert "internal error: recursion limit reached" in capsys.readouterr().err


def test_a_user_error_outside_a_command_block_stays_exit_2(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    def bad(*_: object, **__: object) -> None:
        raise QueryError("unknown thing")

    monkeypatch.setattr(render_matrix, "matrix_table", bad)
    assert run_main(monkeypatch, "matrix", "-f", LIMIT) == 2
    assert capsys.readouterr().err == "netpol: error: unknown thing\n"


def test_verdicts_keep_their_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_main(monkeypatch, "can-reach", "test-2", "apiserver", "-p", "80", "-f", LIMIT) == 0
    assert run_main(monkeypatch, "can-reach", "test-1", "apiserver", "-p", "80", "-f", LIMIT) == 1
    assert run_main(monkeypatch, "can-reach", "test-9", "apiserver", "-p", "80", "-f", LIMIT) == 2
    assert run_main(monkeypatch, "matrix", "--no-such-option") == 2


def test_hoisting_debug_leaves_arguments_after_double_dash() -> None:
    assert cli._hoist(["netpol", "check", "--", "--debug"], "--debug") == (["netpol", "check", "--", "--debug"], False)
    assert cli._hoist(["netpol", "check", "x", "--debug"], "--debug") == (["netpol", "--debug", "check", "x"], True)


# -- the installed command with its standard streams closed, full or cut short -------------------------------

NETPOL = shutil.which("netpol")
SHOP = """\
apiVersion: v1
kind: Pod
metadata: {name: NAME, namespace: shop, labels: {app: NAME}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}
"""
ONLY_A = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-ingress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{from: [{podSelector: {matchLabels: {app: FROM}}}]}]
"""
EGRESS_IGNORED = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: e, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  egress: [{to: [{podSelector: {}}]}]
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Pods a, b, c in `shop`, a namespace the input does not declare, so loading warns on stderr; b takes
    ingress from a only (`base`), or from c too (`head`); `bad` has an egress rule its policyTypes ignore."""
    root = tmp_path_factory.mktemp("shop")
    pods = "---\n".join(SHOP.replace("NAME", n) for n in "abc")
    files = {"base": pods + "---\n" + ONLY_A.replace("FROM", "a"),
             "head": pods + "---\n" + ONLY_A.replace("{matchLabels: {app: FROM}}", "{matchExpressions: "
                                                     "[{key: app, operator: In, values: [a, c]}]}"),
             "bad": pods + "---\n" + EGRESS_IGNORED}
    for name, text in files.items():
        (root / f"{name}.yaml").write_text(text)
    return {name: str(root / f"{name}.yaml") for name in files}


VERDICTS = [  # (name, arguments with {base}/{head}/{bad}, the verdict's exit code)
    ("can-reach allowed", ["can-reach", "shop/a", "shop/b", "-p", "80", "-f", "{base}"], 0),
    ("can-reach denied", ["can-reach", "shop/c", "shop/b", "-p", "80", "-f", "{base}"], 1),
    ("diff unchanged", ["diff", "{base}", "{base}"], 0),
    ("diff changed", ["diff", "{base}", "{head}"], 1),
    ("lint clean", ["lint", "-f", "{base}", "--fail-on", "error"], 0),
    ("lint failing", ["lint", "-f", "{bad}", "--fail-on", "error"], 1),
]


def _spawn(args: list[str], shop: dict[str, str], stdout: int | None, stderr: int | None,
           close: tuple[int, ...] = ()) -> int:
    """Run the installed netpol; `close` lists the standard descriptors it starts without (`>&-`, `2>&-`)."""
    assert NETPOL is not None
    argv = [NETPOL, *(a.format(**shop) for a in args)]

    def closed() -> None:
        for fd in close:
            os.close(fd)

    return subprocess.run(argv, stdout=stdout, stderr=stderr, preexec_fn=closed, timeout=120, check=False).returncode


needs_netpol = pytest.mark.skipif(NETPOL is None, reason="netpol is not installed on PATH")


@needs_netpol
@pytest.mark.parametrize(("name", "args", "verdict"), VERDICTS, ids=[v[0] for v in VERDICTS])
def test_diagnostics_that_cannot_be_written_never_change_the_verdict(shop: dict[str, str], name: str,
                                                                     args: list[str], verdict: int) -> None:
    null = subprocess.DEVNULL
    assert _spawn(args, shop, null, null) == verdict
    assert _spawn(args, shop, null, None, close=(2,)) == verdict  # 2>&-
    read, write = os.pipe()
    os.close(read)  # a reader that is gone before the first byte (`| head -0`): every write meets EPIPE
    try:
        assert _spawn(args, shop, write, null) == verdict
        assert _spawn(args, shop, write, write) == verdict  # stderr shares the closed pipe (2>&1 | head)
    finally:
        os.close(write)
    with open("/dev/full", "wb") as full:  # stderr full: diagnostics are lost, the verdict is not
        assert _spawn(args, shop, null, full.fileno()) == verdict


@needs_netpol
@pytest.mark.parametrize(("name", "args", "verdict"), VERDICTS, ids=[v[0] for v in VERDICTS])
def test_an_answer_that_cannot_be_written_is_exit_2_with_one_line(shop: dict[str, str], name: str,
                                                                  args: list[str], verdict: int) -> None:
    assert NETPOL is not None
    argv = [NETPOL, *(a.format(**shop) for a in args)]
    for how, expected in ((">/dev/full", "No space left on device"), (">&-", "it is closed")):
        r = subprocess.run(["sh", "-c", f'"$@" {how}', "sh", *argv], capture_output=True, text=True, timeout=120,
                           check=False)
        assert r.returncode == 2, (how, r.stderr)
        assert r.stderr.splitlines()[-1] == f"netpol: error: cannot write to standard output: {expected}"
        assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr


@needs_netpol
def test_an_encoding_without_a_character_of_the_answer_is_exit_2(shop: dict[str, str]) -> None:
    assert NETPOL is not None
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    r = subprocess.run([NETPOL, "matrix", "-f", shop["base"]], capture_output=True, text=True, env=env, timeout=120,
                       check=False)
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == ("netpol: error: cannot write to standard output: its encoding (ascii) has "
                                         "no character U+2717; use a UTF-8 locale or PYTHONIOENCODING=utf-8")
    r = subprocess.run([NETPOL, "can-reach", "shop/a", "shop/b", "-p", "80", "-f", shop["base"]],
                       capture_output=True, text=True, env=env, timeout=120, check=False)
    assert r.returncode == 0 and r.stdout.startswith("ALLOWED: shop/a -> shop/b TCP/80\n")  # ASCII text is fine


@needs_netpol
def test_standard_input_closed_is_an_input_error(shop: dict[str, str]) -> None:
    assert NETPOL is not None
    r = subprocess.run([NETPOL, "matrix", "-f", "-"], capture_output=True, text=True, preexec_fn=lambda: os.close(0),
                       timeout=120, check=False)
    assert (r.returncode, r.stderr) == (2, "netpol: error: -f -: standard input is closed\n")
    r = subprocess.run([NETPOL, "matrix", "-f", "-"], input=b"\xff\xfe", capture_output=True, timeout=120, check=False)
    assert (r.returncode, r.stderr) == (2, b"netpol: error: <stdin>: not UTF-8 text (byte 0)\n")


@needs_netpol
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_layout_ends_dot_with_netpol(tmp_path: Path, signum: int, code: int) -> None:
    """300 pods in a ring of policies keep dot busy for seconds; netpol's end is dot's end."""
    docs = []
    for i in range(300):
        docs.append(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: default, labels: {{app: a{i}}}}}\n"
                    "spec: {containers: [{name: c, image: x}]}\n")
        docs.append(f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: n{i}, namespace: "
                    f"default}}\nspec:\n  podSelector: {{matchLabels: {{app: a{i}}}}}\n  ingress:\n  - from:\n"
                    f"    - podSelector: {{matchLabels: {{app: a{(i + 1) % 300}}}}}\n"
                    f"    - podSelector: {{matchLabels: {{app: a{(i + 7) % 300}}}}}\n")
    (tmp_path / "ring.yaml").write_text("---\n".join(docs))
    assert NETPOL is not None
    proc = subprocess.Popen([NETPOL, "graph", "-f", str(tmp_path / "ring.yaml"), "-o", str(tmp_path / "g.svg")],
                            stderr=subprocess.DEVNULL, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    children: list[int] = []
    deadline = time.monotonic() + 120
    while not children and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
        with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as listing:
            children = [int(pid) for pid in listing.read().split()]
    assert children, "dot never started"
    proc.send_signal(signum)
    assert proc.wait(timeout=60) == code
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone, not reparented to init (nor a zombie: netpol reaped it)


def test_bare_netpol_prints_its_help_without_an_error_and_exits_2(monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(monkeypatch) == 2  # a script whose command went missing must not pass
    out, err = capsys.readouterr()
    assert out.startswith("Usage: netpol [OPTIONS] COMMAND [ARGS]...\n") and "\n  can-reach " in out
    assert err == ""
    assert run_main(monkeypatch, "--help") == 0


@pytest.mark.parametrize("args", [["matrix", "-f", LIMIT, "--kubeconfig", "k.yaml"],
                                  ["lint", LIMIT, "--context", "prod"]])
def test_a_kube_config_beside_manifests_is_an_error_not_ignored(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str],
                                                                args: list[str]) -> None:
    assert run_main(monkeypatch, *args) == 2
    assert capsys.readouterr().err == ("netpol: error: --kubeconfig and --context choose the live cluster to read; "
                                       "with -f (manifests) they would be ignored\n")


def test_check_takes_a_kube_config_only_with_live(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    intents = str(FIXTURES.parent / "intents" / "allow-all.intent.yaml")
    assert run_main(monkeypatch, "check", intents, "--kubeconfig", "k.yaml") == 2
    assert capsys.readouterr().err == ("netpol: error: --kubeconfig and --context choose the live cluster to read; "
                                       "with intent files' manifests (without --live) they would be ignored\n")
