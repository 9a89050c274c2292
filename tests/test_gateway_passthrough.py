"""The gateway passes ACE-Step's API through unchanged: a real reference backend behind a real
``python -m acekit gateway`` subprocess, every answer compared with the direct one."""

from __future__ import annotations

import io
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from acekit.gateway import GatewaySettings, NullSampler, create_app
from acekit.gateway.launch import running_gateway
from acekit.reference.launch import free_port


@pytest.fixture(scope="module")
def gateway(reference_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    with running_gateway(reference_server, "--sampler-interval-s", "0.05", log_path=log) as url:
        yield url


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30.0, trust_env=False)


def _wait_done(client: httpx.Client, task_id: str, *, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = client.post("/query_result", json={"task_id_list": [task_id]})
        assert r.status_code == 200, r.text
        item = r.json()["data"][0]
        if item["status"] != 0:
            return item
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} did not finish within {timeout_s} s")


def _wav_bytes(seconds: float = 12.0, sr: int = 44100) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    tone = 0.3 * np.sin(2 * np.pi * 220.0 * t)
    buf = io.BytesIO()
    sf.write(buf, np.stack([tone, tone], axis=1), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _without_timestamp(body: bytes) -> object:
    doc = json.loads(body)
    if isinstance(doc, dict):
        doc.pop("timestamp", None)
    return doc


def test_text2music_round_trip_audio_is_byte_identical(gateway: str, reference_server: str) -> None:
    with _client(gateway) as gw, _client(reference_server) as direct:
        r = gw.post("/release_task", json={
            "prompt": "warm lofi groove", "task_type": "text2music", "audio_duration": 10,
            "batch_size": 1, "audio_format": "wav", "bpm": 92, "key_scale": "A minor",
        })
        assert r.status_code == 200, r.text
        envelope = r.json()
        assert set(envelope) == {"data", "code", "error", "timestamp", "extra"}
        task_id = envelope["data"]["task_id"]
        item = _wait_done(gw, task_id)
        assert item["status"] == 1, item
        files = [entry["file"] for entry in json.loads(item["result"])]
        assert len(files) == 1 and files[0].startswith("/v1/audio?path=")

        # Streamed through the gateway vs fetched directly: same bytes, same headers that matter.
        with gw.stream("GET", files[0]) as through:
            assert through.status_code == 200
            via_gateway = b"".join(through.iter_raw())
            through_headers = through.headers
        got = direct.get(files[0])
        assert via_gateway == got.content and len(via_gateway) > 44
        for name in ("content-type", "content-length", "content-disposition", "etag", "last-modified"):
            assert through_headers.get(name) == got.headers.get(name), name
        assert int(through_headers["content-length"]) == len(via_gateway)
        sf.read(io.BytesIO(via_gateway))  # decodable audio

        # HEAD answers as the upstream does (FastAPI GET routes refuse it with 405).
        assert gw.head(files[0]).status_code == direct.head(files[0]).status_code

        # The gateway learnt the task from the traffic.
        tel = gw.get("/v1/telemetry", params={"task_id": task_id}).json()["data"]
        assert tel["status"] == "succeeded" and tel["task_type"] == "text2music" and tel["finished_at"]


def test_multipart_repaint_upload_passes_through(gateway: str) -> None:
    wav = _wav_bytes()
    with _client(gateway) as gw:
        r = gw.post("/release_task", data={
            "task_type": "repaint", "repainting_start": "2", "repainting_end": "5", "audio_format": "wav",
            "batch_size": "1", "prompt": "same song, new fill",
        }, files={"src_audio": ("loop.wav", wav, "audio/wav")})
        assert r.status_code == 200, r.text
        task_id = r.json()["data"]["task_id"]
        item = _wait_done(gw, task_id)
        assert item["status"] == 1, item
        out = json.loads(item["result"])[0]
        audio, sr = sf.read(io.BytesIO(gw.get(out["file"]).content))
        # Repaint keeps the source's length: the upload reached the backend whole.
        assert abs(len(audio) / sr - 12.0) < 0.1
        # task_type sniffed from the multipart body on the fly.
        assert gw.get("/v1/telemetry", params={"task_id": task_id}).json()["data"]["task_type"] == "repaint"


def test_urlencoded_release_passes_through(gateway: str) -> None:
    with _client(gateway) as gw:
        r = gw.post("/release_task", data={"prompt": "ambient", "audio_duration": "10", "batch_size": "1",
                                           "task_type": "text2music"})
        assert r.status_code == 200, r.text
        assert _wait_done(gw, r.json()["data"]["task_id"])["status"] == 1


# Requests whose answers must be identical (timestamp aside) directly and through the gateway.
SAME_ANSWER = [
    ("GET", "/health", {}),
    ("GET", "/v1/models", {}),
    ("GET", "/v1/model_inventory", {}),
    ("POST", "/format_input", {"json": {"prompt": "jazz trio", "lyrics": "[Instrumental]", "bpm": 120}}),
    ("POST", "/query_result", {"json": {"task_id_list": ["no-such-task"]}}),
    ("POST", "/query_result", {"data": {"task_id_list": json.dumps(["no-such-task"])}}),
    ("POST", "/release_task", {"json": {"task_type": "repaint"}}),  # 400: no source audio
    ("POST", "/release_task", {"json": {"bpm": 5000}}),  # 400: out of range
    ("POST", "/release_task", {"content": b"x", "headers": {"content-type": "text/plain"}}),  # 415
    ("POST", "/release_task", {"content": b"{not json", "headers": {"content-type": "application/json"}}),  # 400
    ("GET", "/v1/audio", {"params": {"path": "/etc/passwd"}}),  # 403
    ("GET", "/v1/audio", {}),  # 400
    ("GET", "/no/such/route", {}),  # 404
    ("DELETE", "/health", {}),  # 405
    ("GET", "/openapi.json", {}),  # the upstream's, not the gateway's
]


@pytest.mark.parametrize(("method", "path", "kwargs"), SAME_ANSWER, ids=[f"{m} {p}" for m, p, _ in SAME_ANSWER])
def test_status_headers_and_body_unchanged(gateway: str, reference_server: str, method: str, path: str, kwargs: dict) -> None:
    with _client(gateway) as gw, _client(reference_server) as direct:
        want = direct.request(method, path, **kwargs)
        got = gw.request(method, path, **kwargs)
    assert got.status_code == want.status_code, got.text
    assert got.headers.get("content-type") == want.headers.get("content-type")
    assert got.headers.get("allow") == want.headers.get("allow")
    if "json" in (want.headers.get("content-type") or ""):
        assert _without_timestamp(got.content) == _without_timestamp(want.content)
    else:
        assert got.content == want.content


def test_stats_shape_unchanged(gateway: str, reference_server: str) -> None:
    with _client(gateway) as gw, _client(reference_server) as direct:
        want, got = direct.get("/v1/stats"), gw.get("/v1/stats")
    assert got.status_code == want.status_code == 200
    assert set(got.json()) == set(want.json()) and set(got.json()["data"]) == set(want.json()["data"])


def test_create_random_sample_passes_through(gateway: str) -> None:
    with _client(gateway) as gw:
        r = gw.post("/create_random_sample", json={})
    assert r.status_code == 200 and set(r.json()["data"]) >= {"caption", "bpm", "key_scale"}


def test_upstream_down_is_503_retry_after_with_a_clear_message() -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with TestClient(create_app(GatewaySettings(upstream=dead), sampler=NullSampler())) as gw:
        for method, path in (("GET", "/health"), ("POST", "/release_task"), ("GET", "/v1/audio?path=x")):
            r = gw.request(method, path, json={} if method == "POST" else None)
            assert r.status_code == 503 and r.headers["retry-after"] == "2"  # transient: clients wait it out
            body = r.json()
            assert body["code"] == 503 and body["data"] is None
            assert f"ACE-Step server at {dead} is unreachable" in body["detail"]
            assert "still starting? check its logs" in body["error"]
        health = gw.get("/gateway/health")
        assert health.status_code == 503 and health.json()["data"]["upstream"]["reachable"] is False


def test_upstream_silent_is_504(tmp_path: Path) -> None:
    # A socket that listens but never answers: the connection opens, the answer never comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        app = create_app(GatewaySettings(upstream=url, read_timeout_s=0.3), sampler=NullSampler())
        with TestClient(app) as gw:
            r = gw.get("/v1/stats")
    assert r.status_code == 504
    assert r.json()["code"] == 504 and "did not answer within 0.3 s" in r.json()["detail"]
