"""Upload size limit (413 before the body is read whole) and API-key enforcement at the gateway."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from acekit.gateway import GatewaySettings, NullSampler, create_app
from acekit.gateway.launch import running_gateway

MiB = 1024 * 1024


def _gateway(upstream: str, **settings) -> TestClient:
    return TestClient(create_app(GatewaySettings(upstream=upstream, **settings), sampler=NullSampler()))


class CountingBody:
    """A request body produced on demand, counting how much of it was ever pulled."""

    def __init__(self, total_bytes: int, chunk_bytes: int = 64 * 1024) -> None:
        self.total, self.chunk, self.pulled = total_bytes, chunk_bytes, 0

    def __iter__(self) -> Iterator[bytes]:
        while self.pulled < self.total:
            n = min(self.chunk, self.total - self.pulled)
            self.pulled += n
            yield b"\0" * n


def test_declared_length_over_limit_is_413_without_reading(reference_server: str) -> None:
    with _gateway(reference_server, max_upload_mb=1) as gw:
        r = gw.post("/release_task", content=b"\0" * (2 * MiB),
                    headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413
    body = r.json()
    assert body["code"] == 413 and "2.0 MiB" in body["detail"] and "--max-upload-mb" in body["detail"]


def test_streamed_body_over_limit_is_cut_off_at_the_limit(reference_server: str) -> None:
    with _gateway(reference_server, max_upload_mb=1) as gw:
        # A generator body goes chunked: no Content-Length, so the gateway has to count.
        r = gw.post("/release_task", content=iter(CountingBody(8 * MiB)),
                    headers={"content-type": "application/octet-stream"})
    assert r.status_code == 413, r.text
    assert "larger than this gateway accepts (1 MiB)" in r.json()["detail"]


@pytest.mark.parametrize("authenticated_by", ["header", "body"])
def test_streamed_body_is_not_read_past_the_limit(reference_server: str, authenticated_by: str) -> None:
    """Drive the ASGI app directly to count how much of an 8 MiB chunked body it ever pulls."""
    app = create_app(GatewaySettings(upstream=reference_server, max_upload_mb=1, api_key="k"), sampler=NullSampler())
    body = CountingBody(8 * MiB)
    chunks = iter(body)
    sent: list[dict] = []
    headers = [(b"content-type", b"multipart/form-data; boundary=b"), (b"transfer-encoding", b"chunked")]
    if authenticated_by == "header":
        headers.append((b"authorization", b"Bearer k"))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/release_task", "raw_path": b"/release_task", "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000)}

    async def receive() -> dict:
        chunk = next(chunks, None)
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}

    async def send(message: dict) -> None:
        sent.append(message)

    async def run() -> None:
        async with app.router.lifespan_context(app):
            await app(scope, receive, send)

    asyncio.run(run())
    assert sent[0]["status"] == 413
    assert body.pulled <= MiB + body.chunk  # stopped at the first chunk past the limit


def test_upload_under_limit_passes(reference_server: str) -> None:
    with _gateway(reference_server, max_upload_mb=1) as gw:
        r = gw.post("/release_task", data={"task_type": "repaint"},
                    files={"src_audio": ("x.wav", b"\0" * (MiB // 2), "audio/wav")})
    # The reference backend got the whole body and judged it (not a wav it can read, or a job).
    assert r.status_code in (200, 400)
    assert r.status_code != 413


def test_api_key_enforced_at_the_gateway(reference_server: str) -> None:
    with _gateway(reference_server, api_key="gw-secret") as gw:
        missing = gw.get("/v1/models")
        assert missing.status_code == 401 and "Missing API key" in missing.json()["detail"]
        wrong = gw.get("/v1/models", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "Invalid API key" in wrong.json()["detail"]
        assert gw.get("/v1/models", headers={"Authorization": "Bearer gw-secret"}).status_code == 200
        assert gw.get("/v1/models", headers={"Authorization": "gw-secret"}).status_code == 200  # bare, as upstream
        assert gw.get("/v1/stats", params={"ai_token": "gw-secret"}).status_code == 200
        # The gateway's own routes are protected too...
        assert gw.get("/v1/capabilities").status_code == 401
        assert gw.get("/v1/telemetry").status_code == 401
        assert gw.get("/v1/capabilities", headers={"Authorization": "Bearer gw-secret"}).status_code == 200
        # ...but liveness is open.
        assert gw.get("/health").status_code == 200
        assert gw.get("/gateway/health").json()["data"]["auth_required"] is True

        # ai_token in the body: JSON, urlencoded and multipart.
        job = {"prompt": "x", "audio_duration": 10, "batch_size": 1}
        assert gw.post("/release_task", json={**job, "ai_token": "gw-secret"}).status_code == 200
        assert gw.post("/release_task", json={**job, "ai_token": "nope"}).status_code == 401
        assert gw.post("/release_task", json=job).status_code == 401
        form = {k: str(v) for k, v in job.items()}
        assert gw.post("/release_task", data={**form, "ai_token": "gw-secret"}).status_code == 200
        r = gw.post("/release_task", data={**form, "ai_token": "gw-secret", "task_type": "repaint"},
                    files={"src_audio": ("a.wav", b"RIFF....", "audio/wav")})
        assert r.status_code != 401
        assert gw.post("/query_result", json={"task_id_list": ["x"], "ai_token": "gw-secret"}).status_code == 200


def test_upstream_key_is_injected(start_reference: Callable[..., str]) -> None:
    upstream = start_reference("--api-key", "up-secret")
    with _gateway(upstream, upstream_api_key="up-secret") as gw:
        # The client knows no key; the gateway adds the upstream's.
        assert gw.get("/v1/models").status_code == 200
        r = gw.post("/release_task", json={"prompt": "x", "audio_duration": 10, "batch_size": 1})
        assert r.status_code == 200, r.text
    with _gateway(upstream) as gw:
        # Without one, the client's header (or its absence) reaches the upstream as it is.
        r = gw.get("/v1/models")
        direct = httpx.get(upstream + "/v1/models", trust_env=False)
        assert r.status_code == direct.status_code == 401
        assert r.json() == direct.json()
        assert gw.get("/v1/models", headers={"Authorization": "Bearer up-secret"}).status_code == 200


def test_gateway_key_from_environment(reference_server: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"ACEKIT_GATEWAY_API_KEY": "env-secret"}
    with running_gateway(reference_server, env=env, log_path=tmp_path / "gw.log") as url:
        assert httpx.get(url + "/v1/models", trust_env=False).status_code == 401
        ok = httpx.get(url + "/v1/models", headers={"Authorization": "Bearer env-secret"}, trust_env=False)
        assert ok.status_code == 200 and json.loads(ok.content)["data"]["models"]
    assert "anyone who reaches it" not in (tmp_path / "gw.log").read_text()  # nothing injected: no warning


def test_injecting_the_upstream_key_without_a_gateway_key_is_warned_about(start_reference: Callable[..., str],
                                                                         tmp_path) -> None:
    upstream = start_reference("--api-key", "up-secret")
    log = tmp_path / "gw.log"
    with running_gateway(upstream, env={"ACESTEP_API_KEY": "up-secret"}, log_path=log) as url:
        # Open door: no key from the client, yet the keyed upstream answers.
        assert httpx.get(url + "/v1/models", trust_env=False).status_code == 200
    assert "anyone who reaches it is let in" in log.read_text()
