"""An upstream that fails: 5xx answers relayed as they are, slow answers waited for, audio streamed
chunk by chunk (not buffered), a body cut short passed on as cut short.

The upstream here is a small real HTTP server on loopback that misbehaves on purpose (the
reference backend is well behaved); the gateway is a real ``python -m acekit gateway`` process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from acekit.gateway.launch import running_gateway

AUDIO_HEAD = b"RIFF" + b"\1" * 4092  # what the upstream sends before it waits
AUDIO_TAIL = b"\2" * 60_000


class BadUpstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    released = threading.Event()  # set by the test once the first audio bytes reached it
    released_by_client: bool | None = None
    bodies: list[bytes] = []

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _json(self, status: int, doc: object, **headers: str) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k.replace("_", "-"), v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path == "/health":
            self._json(500, {"detail": "model failed to load: CUDA error"})
        elif self.path == "/v1/stats":
            self._json(500, {"detail": "Internal Server Error"}, x_upstream_trace="abc123")
        elif self.path == "/slow":
            threading.Event().wait(0.5)  # slower than a poll interval, well inside the gateway's timeout
            self._json(200, {"data": {"slow": True}, "code": 200})
        elif self.path == "/v1/audio?path=drip":
            self.send_response(200)
            self.send_header("content-type", "audio/wav")
            self.send_header("content-length", str(len(AUDIO_HEAD) + len(AUDIO_TAIL)))
            self.end_headers()
            self.wfile.write(AUDIO_HEAD)
            self.wfile.flush()
            # A gateway that buffers whole answers never lets the client see AUDIO_HEAD, so the
            # client never releases us: we then go on after the deadlock breaker and say so.
            type(self).released_by_client = type(self).released.wait(timeout=20)
            self.wfile.write(AUDIO_TAIL)
        elif self.path == "/v1/audio?path=cut":
            self.send_response(200)
            self.send_header("content-type", "audio/wav")
            self.send_header("content-length", "100000")
            self.end_headers()
            self.wfile.write(b"RIFF" + b"\0" * 996)
            self.wfile.flush()
            self.close_connection = True  # hang up 99 000 bytes early
        else:
            self._json(404, {"detail": "Not Found"})

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        type(self).bodies.append(body)
        if self.path == "/release_task":
            self._json(503, {"detail": "queue is shutting down"}, retry_after="7")
        elif self.path == "/query_result":
            raw = b"oops: worker crashed"
            self.send_response(500)
            self.send_header("content-type", "text/plain; charset=utf-8")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        else:
            self._json(404, {"detail": "Not Found"})


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BadUpstream)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def gateway_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gw-bad-upstream") / "gateway.log"


@pytest.fixture(scope="module")
def gateway(upstream: str, gateway_log: Path) -> Iterator[str]:
    with running_gateway(upstream, "--read-timeout-s", "10", log_path=gateway_log) as url:
        yield url


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30.0, trust_env=False)


def test_5xx_is_relayed_unchanged(gateway: str, upstream: str) -> None:
    with _client(gateway) as gw, _client(upstream) as direct:
        for method, path, kwargs in (("GET", "/v1/stats", {}),
                                     ("POST", "/release_task", {"json": {"prompt": "x"}}),
                                     ("POST", "/query_result", {"json": {"task_id_list": ["t"]}})):
            want = direct.request(method, path, **kwargs)
            got = gw.request(method, path, **kwargs)
            assert got.status_code == want.status_code >= 500, path
            assert got.content == want.content, path
            for name in ("content-type", "content-length", "retry-after", "x-upstream-trace"):
                assert got.headers.get(name) == want.headers.get(name), (path, name)


def test_failed_release_creates_no_task(gateway: str) -> None:
    with _client(gateway) as gw:
        r = gw.post("/release_task", json={"prompt": "x", "task_type": "repaint"})
        assert r.status_code == 503
        assert gw.get("/v1/telemetry").json()["data"]["tasks"] == {}


def test_unhealthy_upstream_fails_both_health_checks(gateway: str) -> None:
    with _client(gateway) as gw:
        passed_through = gw.get("/health")  # what the compose healthcheck curls
        assert passed_through.status_code == 500 and "CUDA error" in passed_through.json()["detail"]
        own = gw.get("/gateway/health")
        assert own.status_code == 503
        assert own.json()["data"]["upstream"] | {"latency_ms": None} == {
            "url": own.json()["data"]["upstream"]["url"], "reachable": False, "status_code": 500,
            "latency_ms": None, "error": None, "service": None}


def test_slow_answer_is_waited_for(gateway: str) -> None:
    with _client(gateway) as gw:
        r = gw.get("/slow")
    assert r.status_code == 200 and r.json()["data"] == {"slow": True}


def test_audio_is_streamed_not_buffered(gateway: str) -> None:
    BadUpstream.released.clear()
    BadUpstream.released_by_client = None
    received = b""
    with _client(gateway) as gw, gw.stream("GET", "/v1/audio", params={"path": "drip"}) as r:
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        assert int(r.headers["content-length"]) == len(AUDIO_HEAD) + len(AUDIO_TAIL)
        for chunk in r.iter_raw():
            received += chunk
            if len(received) >= len(AUDIO_HEAD):
                BadUpstream.released.set()  # the head got through while the upstream still held the tail
    assert received == AUDIO_HEAD + AUDIO_TAIL
    assert BadUpstream.released_by_client is True


def test_body_cut_short_upstream_is_cut_short_downstream(gateway: str) -> None:
    received = b""
    with _client(gateway) as gw:
        with pytest.raises(httpx.RemoteProtocolError):  # the client learns the body is incomplete
            with gw.stream("GET", "/v1/audio", params={"path": "cut"}) as r:
                assert r.status_code == 200 and r.headers["content-length"] == "100000"
                for chunk in r.iter_raw():
                    received += chunk
        assert 0 < len(received) < 100_000
        # The gateway survives it.
        assert gw.get("/slow").status_code == 200


def test_gateway_log_names_the_broken_upstream(gateway: str, upstream: str, gateway_log: Path) -> None:
    """A cut-short body leaves a warning naming the upstream URL in the gateway's log."""
    with _client(gateway) as gw:
        with pytest.raises(httpx.RemoteProtocolError):
            with gw.stream("GET", "/v1/audio", params={"path": "cut"}) as r:
                for _ in r.iter_raw():
                    pass
        gw.get("/slow")  # one more round trip: the warning is written before it is answered
    log = gateway_log.read_text()
    assert f"upstream broke off {upstream}/v1/audio?path=cut mid-body" in log
