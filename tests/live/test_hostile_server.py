"""The live reader does not trust the API server: bounded time, pages and memory, and a malformed answer
is the server's error (exit 2, naming the server and the path), never a crash or a hang."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netpol.cli import app
from netpol.sources import api_request
from netpol.sources import cluster as live
from netpol.sources.cluster import ClusterError, read_cluster
from tests.live.fake_api import FakeApi
from tests.live.test_cluster import manifests

runner = CliRunner()
GIVE_UP = 40  # the fake server misbehaves this many times, then answers 500: a reader that never stops fails


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi(manifests("specific-port")) as server:
        yield server


def send(handler: BaseHTTPRequestHandler, body: bytes, status: int = 200, **headers: str) -> None:
    handler.send_response(status)
    for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)


def pods_url(api: FakeApi) -> str:
    return f"{api.url}/api/v1/pods"


def failure(api: FakeApi, tmp_path: Path) -> str:
    started = time.monotonic()
    with pytest.raises(ClusterError) as err:
        read_cluster(api.kubeconfig(tmp_path / "k"), timeout=1.0)
    assert time.monotonic() - started < 20
    return str(err.value)


def test_a_repeated_continue_token_is_an_error(api: FakeApi, tmp_path: Path) -> None:
    def again(handler: BaseHTTPRequestHandler) -> None:
        if len(api.requests) > GIVE_UP:
            return send(handler, b"{}", 500)
        send(handler, json.dumps({"items": [], "metadata": {"continue": "again"}}).encode())

    api.raw["pods"] = again
    assert failure(api, tmp_path) == (f"{pods_url(api)}: the API server sent the same continue token twice (again); "
                                      "netpol stops rather than read the same pages forever")
    assert [p for _, p in api.requests if p.startswith("/api/v1/pods")] == [
        "/api/v1/pods?limit=500", "/api/v1/pods?limit=500&continue=again"]


def test_pages_are_bounded(api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "MAX_PAGES", 5)

    def fresh(handler: BaseHTTPRequestHandler) -> None:
        if len(api.requests) > GIVE_UP:
            return send(handler, b"{}", 500)
        send(handler, json.dumps({"items": [], "metadata": {"continue": f"t{len(api.requests)}"}}).encode())

    api.raw["pods"] = fresh
    assert failure(api, tmp_path) == (f"{pods_url(api)}: the API server sent more than 5 pages of pods; netpol "
                                      "stops there")
    assert sum(p.startswith("/api/v1/pods") for _, p in api.requests) == 5


def test_a_listing_is_bounded_in_time_across_its_pages(api: FakeApi, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages that each come within the bound on one request, with a fresh continue token every time, stop at
    the bound on the whole listing (exit 2, one line), long before MAX_PAGES."""
    monkeypatch.setattr(live, "LIST_SECONDS", 1.0)

    def slow_fresh(handler: BaseHTTPRequestHandler) -> None:
        if len(api.requests) > GIVE_UP:
            return send(handler, b"{}", 500)
        time.sleep(0.3)
        send(handler, json.dumps({"items": [], "metadata": {"continue": f"t{len(api.requests)}"}}).encode())

    api.raw["pods"] = slow_fresh
    says = (f"{pods_url(api)}: the API server's pages of pods took more than 1 s in all (netpol's bound on one "
            "listing); netpol stops there")
    started = time.monotonic()
    assert failure(api, tmp_path) == says
    assert 1.0 < time.monotonic() - started < 10
    assert 3 <= sum(p.startswith("/api/v1/pods") for _, p in api.requests) < GIVE_UP // 2
    api.requests.clear()
    r = runner.invoke(app, ["matrix", "--kubeconfig", api.kubeconfig(tmp_path / "k2")])
    assert (r.exit_code, r.stderr) == (2, f"netpol: error: {says}\n")


def test_the_time_bound_is_for_the_whole_request(api: FakeApi, tmp_path: Path) -> None:
    """A server that sends a byte every 0.2 s never trips a per-read timeout of 1 s."""
    def drip(handler: BaseHTTPRequestHandler) -> None:
        body = b'{"items": [], "metadata": {}}'
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        try:
            for byte in body:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass

    api.raw["pods"] = drip
    started = time.monotonic()
    message = failure(api, tmp_path)
    assert 1.0 <= time.monotonic() - started < 2.5
    assert message == (f"{pods_url(api)}: the API server did not finish answering within 1 s (netpol's bound on "
                       "one request)")


def test_a_body_that_never_ends_is_cut_at_the_bound(api: FakeApi, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_request, "MAX_BODY_BYTES", 2**20)

    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        block = b'{"metadata": {"name": "p"}},' * 1000
        try:
            handler.wfile.write(b"b\r\n{\"items\": [\r\n")
            for _ in range(400):  # 11 MB, then a broken end
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
        except (BrokenPipeError, ConnectionResetError):
            pass

    api.raw["pods"] = endless
    assert_cut_at_one_mib(api, tmp_path)


def assert_cut_at_one_mib(api: FakeApi, tmp_path: Path) -> None:
    tracemalloc.start()
    try:
        message = failure(api, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == f"{pods_url(api)}: the API server sent more than 1 MiB in one answer (decoded); netpol stops there"
    assert peak < 8 * 2**20


def test_a_gzip_bomb_is_decoded_only_up_to_the_bound(api: FakeApi, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_request, "MAX_BODY_BYTES", 2**20)
    bomb = gzip.compress(b'{"items": [], "metadata": {"x": "' + b"a" * (64 * 2**20) + b'"}}')
    assert len(bomb) < 2**20 // 8
    api.raw["pods"] = lambda handler: send(handler, bomb, Content_Encoding="gzip")
    assert_cut_at_one_mib(api, tmp_path)


def test_a_small_gzip_answer_is_read(api: FakeApi, tmp_path: Path) -> None:
    body = gzip.compress(json.dumps({"items": [{"metadata": {"name": "z", "namespace": "default"},
                                              "spec": {"containers": [{"name": "c"}]}}]}).encode())
    api.raw["pods"] = lambda handler: send(handler, body, Content_Encoding="gzip")
    read = read_cluster(api.kubeconfig(tmp_path / "k"))
    assert [p.key for p in read.result.cluster.pods] == ["default/z"]


@pytest.mark.parametrize(("body", "headers", "says"), [
    (b"[]", {}, "the API server sent an array where a list object belongs"),
    (b"null", {}, "the API server sent null where a list object belongs"),
    (b'"x"', {}, "the API server sent a string where a list object belongs"),
    (b'{"items": {"a": 1}}', {}, "the API server sent items that are an object, not a list"),
    (b'{"items": [{}, "a"]}', {}, "the API server sent items[1] that is a string, not an object"),
    (b'{"items": [null]}', {}, "the API server sent items[0] that is null, not an object"),
    (b'{"items": [], "metadata": "x"}', {}, "the API server sent metadata that is a string, not an object"),
    (b'{"items": [], "metadata": {"continue": 5}}', {},
     "the API server sent a continue token that is a number, not a string"),
    (b'{"items": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}", {}, "the API server sent JSON nested too deeply"),
    (b"not gzip", {"Content_Encoding": "gzip"},
     "the API server sent a body that is not valid gzip (Error -3 while decompressing data: incorrect header check)"),
    (gzip.compress(b'{"items": []}')[:-12], {"Content_Encoding": "gzip"},
     "the API server sent a gzip body that ends before its end"),
    (b"{}", {"Content_Encoding": "br"}, "the API server sent a body in the content encoding 'br', which netpol "
                                        "does not read"),
    (b"<html>login</html>", {}, "the API server sent invalid JSON: Expecting value: line 1 column 1 (char 0)"),
])
def test_malformed_answers_name_the_server_and_path(api: FakeApi, tmp_path: Path, body: bytes,
                                                    headers: dict[str, str], says: str) -> None:
    api.raw["pods"] = lambda handler: send(handler, body, **headers)
    assert failure(api, tmp_path) == f"{pods_url(api)}: {says}"
    r = runner.invoke(app, ["matrix", "--kubeconfig", api.kubeconfig(tmp_path / "k")])
    assert (r.exit_code, r.stderr) == (2, f"netpol: error: {pods_url(api)}: {says}\n")


def test_a_namespace_that_is_not_an_object(api: FakeApi, tmp_path: Path) -> None:
    api.raw["default"] = lambda handler: send(handler, b"[1]")
    with pytest.raises(ClusterError) as err:
        read_cluster(api.kubeconfig(tmp_path / "k"), namespaces=["default"])
    assert str(err.value) == f"{api.url}/api/v1/namespaces/default: the API server sent an array where an object belongs"


def test_a_redirect_is_named_not_followed(api: FakeApi, tmp_path: Path) -> None:
    with FakeApi(manifests("specific-port")) as other:
        api.raw["pods"] = lambda handler: send(handler, b"", 302, Location=f"{other.url}/api/v1/pods?limit=500")
        assert failure(api, tmp_path) == (
            f"{pods_url(api)}: the API server redirected the request to {other.url}/api/v1/pods?limit=500 (302); "
            "netpol does not follow redirects, which could carry the credentials to another server")
        assert other.requests == []


def test_a_failing_exec_credential_plugin_is_one_line(api: FakeApi, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "k"
    api.kubeconfig(kubeconfig)
    text = kubeconfig.read_text().replace("token: secret-token", "exec: {apiVersion: client.authentication.k8s.io/"
                                          "v1beta1, command: /bin/false}")
    kubeconfig.write_text(text)
    r = runner.invoke(app, ["matrix", "--kubeconfig", str(kubeconfig)])
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1 and "ERROR:root" not in r.stderr
    assert r.stderr.startswith(f"netpol: error: cannot load the kube config ({kubeconfig}): the credentials could not "
                               "be obtained: exec: process returned 1")
    assert api.requests == []


@pytest.mark.parametrize("server", ["file:///etc/passwd", "ftp://127.0.0.1/x"])
def test_a_server_url_with_another_scheme(api: FakeApi, tmp_path: Path, server: str) -> None:
    kubeconfig = api.kubeconfig(tmp_path / "k", server=server)
    with pytest.raises(ClusterError) as err:
        read_cluster(kubeconfig)
    scheme = server.split(":")[0]
    assert str(err.value) == (f"cannot load the kube config ({kubeconfig}): the server {server} has the scheme "
                              f"{scheme!r}; netpol talks to an API server over https (or http)")
