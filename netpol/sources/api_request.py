"""One request to the API server, bounded: in time (the whole request, however slowly the server sends)
and in size (the body once decoded). netpol/sources/cluster.py reads the cluster through it."""

from __future__ import annotations

import threading
import zlib
from typing import Any

from kubernetes import client
from urllib3.response import HTTPResponse

MAX_BODY_BYTES = 128 * 2**20  # one page decoded; 500 API objects are a few MiB
_CHUNK = 2**16


class _TimedOut(Exception):
    """The whole request took longer than its bound."""


class _Malformed(Exception):
    """An answer that is not what the API server sends: the message says what it was."""


def _bounded(api: client.ApiClient, request: Any, timeout: float) -> tuple[int, str, bytearray, str | None]:
    """(status, reason, decoded body, redirect location) of one request, within `timeout` seconds in
    all, however slowly the server sends, and at most MAX_BODY_BYTES of body once decoded.

    The request runs in a worker thread: the client's own timeout applies to each socket read, which a
    server sending a byte at a time never reaches. At the bound the response is shut down, which ends
    the worker's read; a worker still connecting ends at the client's timeout."""
    outcome: dict[str, Any] = {}
    stop = threading.Event()

    def run() -> None:
        try:
            response = api.call_api(*request, _request_timeout=timeout)
            raw: HTTPResponse = response.response
            outcome["raw"] = raw
            body = _body(raw, stop)
            outcome["result"] = (response.status, response.reason or "", body, raw.headers.get("Location"))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which names it
            outcome["error"] = exc
        finally:  # a connection is reused only after a whole answer; any other is closed
            if "raw" in outcome and "result" in outcome:
                outcome["raw"].release_conn()
            elif "raw" in outcome:
                outcome["raw"].close()

    worker = threading.Thread(target=run, name="netpol-api-request", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        stop.set()
        if "raw" in outcome:
            outcome["raw"].shutdown()
        raise _TimedOut()
    if "error" in outcome:
        raise outcome["error"]
    result: tuple[int, str, bytearray, str | None] = outcome["result"]
    return result


def _body(raw: HTTPResponse, stop: threading.Event) -> bytearray:
    """The body, decoded here (gzip, deflate) so that its decoded size is bounded as it grows."""
    encoding = (raw.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        decoder: Any = zlib.decompressobj(zlib.MAX_WBITS | (16 if "gzip" in encoding else 0))
    elif encoding == "identity":
        decoder = None
    else:
        raise _Malformed(f"a body in the content encoding {_cut(encoding)!r}, which netpol does not read")
    out = bytearray()
    while not stop.is_set():
        data = raw.read1(_CHUNK, decode_content=False)
        if not data:
            break
        try:
            while data:
                piece = decoder.decompress(data, MAX_BODY_BYTES + 1 - len(out)) if decoder else data
                out += piece
                if len(out) > MAX_BODY_BYTES:
                    raise _Malformed(f"more than {MAX_BODY_BYTES // 2**20} MiB in one answer (decoded); netpol "
                                     "stops there")
                data = decoder.unconsumed_tail if decoder else b""
        except zlib.error as exc:
            raise _Malformed(f"a body that is not valid {encoding} ({exc})") from None
    if decoder is not None and not stop.is_set() and not decoder.eof:
        raise _Malformed(f"a {encoding} body that ends before its end")
    return out  # json.loads reads it as it is: no copy of up to MAX_BODY_BYTES


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"
