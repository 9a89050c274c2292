"""Client behaviour at the HTTP level, through httpx.MockTransport: headers, bodies, retries, errors, polling.

These cover protocol paths the reference backend does not produce on demand (Retry-After,
an endpoint missing, error envelopes); the end-to-end behaviour is in test_client_reference.py.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from acekit import contract
from acekit.client import AsyncClient, Client
from acekit.errors import (
    AuthError,
    BadRequest,
    QueueFull,
    ServerError,
    ServerUnreachable,
    TaskFailed,
    TaskTimeout,
    UnknownTask,
)
from acekit.models import AudioItem, RepaintRequest, Text2MusicRequest


def _env(data: object, code: int = 200, error: str | None = None) -> dict:
    return {"data": data, "code": code, "error": error, "timestamp": 1, "extra": None}


def _query(task_id: str, status: int, items: list[dict], progress_text: str = "") -> httpx.Response:
    entry = {"task_id": task_id, "status": status, "result": json.dumps(items), "progress_text": progress_text}
    return httpx.Response(200, json=_env([entry]))


def test_server_and_key_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_env({"status": "ok", "service": "ACE-Step API", "version": "1.0"}))

    monkeypatch.setenv(contract.SERVER_ENV, "http://gpu-box:9000/")
    monkeypatch.setenv(contract.API_KEY_ENV, "s3cret")
    with Client(transport=httpx.MockTransport(handler)) as client:
        health = client.health()
    assert (health.status, health.service, health.version) == ("ok", "ACE-Step API", "1.0")
    assert str(seen[0].url) == "http://gpu-box:9000/health"
    assert seen[0].headers["authorization"] == "Bearer s3cret"

    monkeypatch.delenv(contract.SERVER_ENV)
    monkeypatch.delenv(contract.API_KEY_ENV)
    with Client(transport=httpx.MockTransport(handler)) as client:
        client.health()
    assert str(seen[1].url) == f"{contract.DEFAULT_SERVER}/health"
    assert "authorization" not in seen[1].headers


def test_json_submit_body() -> None:
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["content-type"] == "application/json"
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=_env({"task_id": "abc", "status": "queued", "queue_position": 1}))

    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        sub = client.submit(Text2MusicRequest(prompt="p", bpm=100, key_scale="Am", seed=7))
    assert (sub.task_id, sub.status, sub.queue_position) == ("abc", "queued", 1)
    assert bodies[0] == {"task_type": "text2music", "prompt": "p", "lyrics": "", "bpm": 100,
                         "key_scale": "A minor", "seed": 7, "use_random_seed": False,
                         # the LM switches always go out, off (issue 7 part 1)
                         "thinking": False, "use_cot_caption": False, "use_cot_language": False,
                         "use_cot_metas": False}


def test_multipart_submit_sends_files_and_string_fields(tmp_path: Path) -> None:
    src = tmp_path / "src.wav"
    src.write_bytes(b"RIFF....WAVEfake")
    captured: dict = {}

    def handler(request: httpx.Request) -> httpx.Response:
        ctype = request.headers["content-type"]
        captured["ctype"] = ctype
        captured["body"] = request.read()
        return httpx.Response(200, json=_env({"task_id": "m1", "status": "queued", "queue_position": 0}))

    req = RepaintRequest(repainting_start=1, repainting_end=3, thinking=False)
    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        assert client.submit(req, src_audio=src).task_id == "m1"
    assert captured["ctype"].startswith("multipart/form-data")
    body = captured["body"]
    assert b'name="src_audio"; filename="src.wav"' in body and b"RIFF....WAVEfake" in body
    assert b'name="task_type"\r\n\r\nrepaint' in body
    assert b'name="thinking"\r\n\r\nfalse' in body  # upstream parses "false", not "False"
    assert b'name="repainting_end"\r\n\r\n3.0' in body


def test_submit_checks_sources_before_sending(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:  # pragma: no cover - must not be reached
        raise AssertionError("sent a request that should have been refused locally")

    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ValueError, match="edits a source audio"):
            client.submit(RepaintRequest())
        with pytest.raises(FileNotFoundError, match="not a file"):
            client.submit(RepaintRequest(), src_audio=tmp_path / "missing.wav")
        (tmp_path / "a.wav").write_bytes(b"x")
        with pytest.raises(ValueError, match="not both"):
            client.submit(RepaintRequest(src_audio_path="/srv/a.wav"), src_audio=tmp_path / "a.wav")


def test_429_retries_honour_retry_after_then_succeed() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"detail": "Server busy: queue is full"})
        return httpx.Response(200, json=_env({"task_id": "t", "status": "queued", "queue_position": 0}))

    with Client("http://x", transport=httpx.MockTransport(handler), max_retries=3) as client:
        assert client.submit(Text2MusicRequest()).task_id == "t"
    assert len(calls) == 3


def test_429_gives_up_with_queue_full() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429, json={"detail": "Server busy: queue is full"})

    with Client("http://x", transport=httpx.MockTransport(handler), max_retries=2, retry_backoff_s=0.001) as client:
        with pytest.raises(QueueFull) as exc:
            client.submit(Text2MusicRequest())
    assert len(calls) == 3 and exc.value.attempts == 3 and exc.value.status_code == 429
    assert "queue is full" in str(exc.value) and "ACESTEP_QUEUE_MAXSIZE" in str(exc.value)


def test_retry_delay_prefers_retry_after_and_is_capped() -> None:
    with Client("http://x", retry_backoff_s=0.5, max_retry_wait_s=10) as client:
        assert client._retry_delay_s(httpx.Response(429, headers={"Retry-After": "3"}), 0) == 3
        assert client._retry_delay_s(httpx.Response(429, headers={"Retry-After": "120"}), 0) == 10
        assert client._retry_delay_s(httpx.Response(429), 0) == 0.5
        assert client._retry_delay_s(httpx.Response(429), 3) == 4.0
        date = "Wed, 21 Oct 2015 07:28:00 GMT"  # in the past: retry now
        assert client._retry_delay_s(httpx.Response(429, headers={"Retry-After": date}), 0) == 0


@pytest.mark.parametrize(
    ("status", "body", "exc_type", "needle"),
    [
        (401, {"detail": "Invalid API key"}, AuthError, "ACESTEP_API_KEY"),
        (400, {"detail": "bpm out of range"}, BadRequest, "bpm out of range"),
        (415, {"detail": "Unsupported Content-Type"}, BadRequest, "Unsupported"),
        (500, {"detail": "boom"}, ServerError, "boom"),
        (503, "<html>bad gateway</html>", ServerError, "bad gateway"),
    ],
)
def test_http_errors_map_to_named_exceptions(status: int, body: object, exc_type: type, needle: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, dict):
            return httpx.Response(status, json=body)
        return httpx.Response(status, text=str(body))

    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(exc_type) as exc:
            client.stats()
    assert needle in str(exc.value) and exc.value.status_code == status and exc.value.response is not None


def test_error_envelope_with_http_200_is_raised() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=_env(None, code=500, error="Model initialization failed"))

    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ServerError, match="Model initialization failed"):
            client.stats()


def test_models_prefers_inventory_and_falls_back_to_v1_models() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/v1/model_inventory":
            return httpx.Response(404, json={"detail": "Not Found"})
        return httpx.Response(200, json=_env({"models": [{"name": "acestep-v15-turbo", "is_default": True}],
                                              "default_model": "acestep-v15-turbo"}))

    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        ml = client.models()
    assert paths == ["/v1/model_inventory", "/v1/models"]
    assert ml.source == "/v1/models" and ml.default_model == "acestep-v15-turbo"
    assert ml.models[0].supported_task_types is None


def test_openrouter_style_v1_models_is_understood() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/model_inventory":
            return httpx.Response(404)
        return httpx.Response(200, json={"object": "list", "data": [{"id": "acestep-v15-turbo", "object": "model"}]})

    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        assert client.models().names == ["acestep-v15-turbo"]


def test_wait_reports_progress_and_returns_success() -> None:
    answers = iter([
        [{"file": "", "status": 0, "progress": 0.0, "stage": "queued"}],
        [{"file": "", "status": 0, "progress": 0.5, "stage": "diffusion step 4/8"}],
    ])

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content) == {"task_id_list": ["t"]}
        items = next(answers, None)
        if items is None:
            return _query("t", 1, [{"file": "/v1/audio?path=%2Fo%2Fa.mp3", "status": 1, "metas": {"bpm": 90}}])
        return _query("t", 0, items, progress_text="log line of another job")

    seen = []
    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        res = client.wait("t", poll_interval_s=0.01, on_progress=seen.append)
    assert res.items[0].server_path == "/o/a.mp3" and res.items[0].metas.bpm == 90
    assert [(p.stage, p.progress, p.polls) for p in seen] == [("queued", 0.0, 1), ("diffusion step 4/8", 0.5, 2)]


def test_wait_raises_task_failed_with_reason() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _query("t", 2, [{"file": "", "status": 2, "stage": "failed", "error": "src_audio is not audio"}])

    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TaskFailed) as exc:
            client.wait("t", poll_interval_s=0.01)
    assert exc.value.task_id == "t" and exc.value.reason == "src_audio is not audio"
    assert "src_audio is not audio" in str(exc.value) and exc.value.result is not None


#: What upstream's /query_result answers for a failed job when its local cache is on (diskcache installed):
#: the item has no error key at all, and progress_text is the server-wide last log line, here the previous job's.
UPSTREAM_CACHED_FAILURE = [{"file": "", "wave": "", "status": 2, "create_time": 1, "env": "development",
                            "progress": 0.0, "stage": "failed"}]
OTHER_JOBS_LOG_LINE = "Saved audio to /tmp/api_audio/other-job_0.wav"


def test_task_failed_without_its_own_error_quotes_the_log_line_as_such() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _query("t", 2, UPSTREAM_CACHED_FAILURE, progress_text=OTHER_JOBS_LOG_LINE)

    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TaskFailed) as exc:
            client.wait("t", poll_interval_s=0.01)
    message = str(exc.value)
    assert "the server reported no error for this task" in message
    assert f"its last log line (server-wide, it may belong to another job) was: {OTHER_JOBS_LOG_LINE!r}" in message
    # never presented as the task's own error
    assert not message.endswith(f"failed on the server: {OTHER_JOBS_LOG_LINE}")


def test_cli_and_json_say_the_server_reported_no_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from acekit.cli import task_cmds
    from acekit.cli.main import app

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/release_task":
            return httpx.Response(200, json=_env({"task_id": "t", "status": "queued", "queue_position": 1}))
        return _query("t", 2, UPSTREAM_CACHED_FAILURE, progress_text=OTHER_JOBS_LOG_LINE)

    monkeypatch.setattr(task_cmds, "_client", lambda server, api_key: Client("http://x", transport=httpx.MockTransport(handler)))
    res = CliRunner().invoke(app, ["generate", "--prompt", "x", "--bpm", "90", "--key", "C major", "--time-signature", "4",
                                   "--duration", "10", "--out", str(tmp_path), "--json", "--poll-interval-s", "0.01"])
    doc = json.loads(res.stdout)
    assert res.exit_code == 4 and doc["ok"] is False
    assert "the server reported no error for this task" in doc["error"] and OTHER_JOBS_LOG_LINE in doc["error"]


def test_wait_gives_up_on_unknown_task_after_grace() -> None:
    polls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        polls.append(1)
        return httpx.Response(200, json=_env([{"task_id": "gone", "result": "[]", "status": 0}]))

    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(UnknownTask) as exc:
            client.wait("gone", poll_interval_s=0.02, unknown_grace_s=0.1)
    assert "restarted" in str(exc.value) and "resubmit" in str(exc.value)
    assert len(polls) >= 2  # one unknown answer alone is not enough


def test_wait_times_out() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _query("t", 0, [{"file": "", "status": 0, "progress": 0.1, "stage": "running"}])

    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TaskTimeout) as exc:
            client.wait("t", poll_interval_s=0.02, timeout_s=0.1)
    assert exc.value.result is not None and exc.value.result.stage == "running"


def test_download_is_atomic(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 1000

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/audio"
        if request.url.params["path"] == "/o/missing.mp3":
            return httpx.Response(404, json={"detail": "Audio file not found"})
        return httpx.Response(200, content=payload)

    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        item = AudioItem(file="/v1/audio?path=%2Fo%2Fsong.mp3")
        out = client.download(item, tmp_path)  # a directory: keeps the server's file name
        assert out == tmp_path / "song.mp3" and out.read_bytes() == payload
        with pytest.raises(BadRequest, match="404"):
            client.download("/o/missing.mp3", tmp_path / "sub" / "x.mp3")
    assert not (tmp_path / "sub" / "x.mp3").exists()
    assert [p.name for p in tmp_path.rglob("*.part")] == []


def test_unreachable_server_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with Client("http://10.9.8.7:8001", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ServerUnreachable) as exc:
            client.health()
    msg = str(exc.value)
    assert "http://10.9.8.7:8001" in msg and "is the server running" in msg.lower()
    assert contract.SERVER_ENV in msg and "serve-reference" in msg


def test_async_client_same_surface() -> None:
    state = {"polls": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/release_task":
            return httpx.Response(200, json=_env({"task_id": "a1", "status": "queued", "queue_position": 0}))
        if request.url.path == "/query_result":
            state["polls"] += 1
            if state["polls"] < 2:
                return _query("a1", 0, [{"file": "", "status": 0, "progress": 0.3, "stage": "running"}])
            return _query("a1", 1, [{"file": "/v1/audio?path=%2Fo%2Fa1_0.wav", "status": 1}])
        if request.url.path == "/v1/audio":
            return httpx.Response(200, content=b"RIFFdata")
        return httpx.Response(404)

    async def run(out: Path):
        async with AsyncClient("http://x", transport=httpx.MockTransport(handler)) as client:
            return await client.generate(Text2MusicRequest(audio_format="wav"), out_dir=out, poll_interval_s=0.01)

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        outcome = asyncio.run(run(Path(tmp)))
        assert [p.name for p in outcome.paths] == ["a1_0.wav"]
        assert outcome.paths[0].read_bytes() == b"RIFFdata"
    assert outcome.polls == 2 and outcome.queue_wait_s is not None and outcome.task_id == "a1"
