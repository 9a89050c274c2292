"""The client against the real reference backend (``acekit serve-reference`` on loopback).

Each test drives the server through the public API only: JSON and multipart submits, polling,
downloads, queue-full retries, auth, lost tasks after a restart, task failures, and the
async client on the same flows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from acekit import contract
from acekit.client import AsyncClient, Client
from acekit.contract import TaskStatus
from acekit.errors import AuthError, BadRequest, QueueFull, ServerUnreachable, TaskFailed, UnknownTask
from acekit.models import LegoRequest, Progress, RepaintRequest, Text2MusicRequest
from acekit.reference.launch import free_port, running_reference_server

POLL_S = 0.1  # tests poll faster than the 1 s default so they finish quickly


def _source_wav(path: Path, seconds: float = 12.0, sr: int = 44100) -> Path:
    t = np.arange(int(seconds * sr)) / sr
    tone = 0.3 * np.sin(2 * np.pi * 220.0 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 2.0 * t))
    sf.write(path, np.stack([tone, tone], axis=1).astype(np.float32), sr)
    return path


class CountingTransport(httpx.HTTPTransport):
    """A real HTTP transport that records the status of every /release_task answer."""

    def __init__(self) -> None:
        super().__init__()
        self.submit_statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path == "/release_task":
            self.submit_statuses.append(response.status_code)
        return response


def _wait_until_running(client: Client, task_id: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        res = client.query([task_id])[0]
        if res.stage and res.stage != "queued":
            return
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} never left the queue")


def test_health_models_stats(reference_server: str) -> None:
    with Client(reference_server) as client:
        health = client.health()
        models = client.models()
        stats = client.stats()
    assert health.status == "ok" and health.version
    assert models.source == "/v1/model_inventory"
    assert models.default_model == models.names[0]
    assert any(m.is_default for m in models.models)
    turbo = next(m for m in models.models if "turbo" in m.name)
    assert turbo.supports("text2music") and not turbo.supports("lego")
    assert stats.queue_maxsize == 200 and stats.jobs.total >= 0


def test_text2music_json_submit_wait_download(reference_server: str, tmp_path: Path) -> None:
    req = Text2MusicRequest(prompt="lofi piano", duration_s=10, bpm=92, key_scale="a:min", time_signature="3/4",
                            seed=1234, batch_size=2, audio_format="wav")
    progress: list[Progress] = []
    with Client(reference_server) as client:
        outcome = client.generate(req, out_dir=tmp_path, on_progress=progress.append, poll_interval_s=POLL_S)
    res = outcome.result
    assert res.status is TaskStatus.succeeded and len(res.items) == 2 and len(outcome.paths) == 2
    for path, item in zip(outcome.paths, res.items):
        assert path.parent == tmp_path and path.name == item.filename
        data, sr = sf.read(path)
        assert abs(len(data) / sr - 10.0) < 0.5
        assert item.metas.bpm == 92 and item.metas.keyscale == "A minor" and item.metas.timesignature == "3"
    assert res.items[0].seed_value and res.items[0].seed_value.split(",")[0] == "1234"  # seed pinned
    assert outcome.polls >= 1 and outcome.wall_s > 0 and outcome.task_id == res.task_id
    assert all(p.task_id == outcome.task_id for p in progress)
    assert not list(tmp_path.glob("*.part"))


def test_repaint_uploads_local_wav_as_multipart(reference_server: str, tmp_path: Path) -> None:
    src = _source_wav(tmp_path / "source.wav")
    req = RepaintRequest(prompt="brighter", repainting_start=3, repainting_end=6, batch_size=1,
                         audio_format="wav", repaint_wav_crossfade_sec=0.1)
    with Client(reference_server) as client:
        sub = client.submit(req, src_audio=src)
        res = client.wait(sub.task_id, poll_interval_s=POLL_S)
        out = client.download(res.items[0], tmp_path / "out" / "repainted.wav")
    data, sr = sf.read(out)
    assert abs(len(data) / sr - 12.0) < 0.5  # repaint keeps the source length
    assert out.parent.name == "out"


def test_lego_upload_on_base_model(reference_server: str, tmp_path: Path) -> None:
    src = _source_wav(tmp_path / "ctx.wav", seconds=10)
    with Client(reference_server) as client:
        outcome = client.generate(LegoRequest(track="bass", model="acestep-v15-base", batch_size=1, bpm=120),
                                  src_audio=src, out_dir=tmp_path / "lego", poll_interval_s=POLL_S)
    assert outcome.result.items[0].dit_model == "acestep-v15-base"
    assert outcome.paths[0].stat().st_size > 0


def test_download_outside_output_dir_is_refused(reference_server: str, tmp_path: Path) -> None:
    with Client(reference_server) as client:
        with pytest.raises(BadRequest) as exc:
            client.download("/etc/passwd", tmp_path / "passwd")
    assert exc.value.status_code == 403 and not (tmp_path / "passwd").exists()


def test_queue_full_retries_then_raises_and_then_gets_through(
    start_reference: Callable[..., str], tmp_path: Path
) -> None:
    # One worker, a queue of one and slow simulated compute: job A runs, B waits, C finds the queue full.
    url = start_reference("--queue-maxsize", "1", "--seconds-per-step", "1.0")
    slow = Text2MusicRequest(prompt="slow", duration_s=10, inference_steps=20, batch_size=1)  # ~3.3 s each
    transport = CountingTransport()
    with Client(url, transport=transport, retry_backoff_s=0.05) as client:
        a = client.submit(slow)
        _wait_until_running(client, a.task_id)
        client.submit(slow)  # B fills the queue
        with pytest.raises(QueueFull) as exc:
            client.submit(slow, max_retries=2)
        assert exc.value.attempts == 3 and exc.value.status_code == 429
        assert "queue is full" in str(exc.value)
        assert transport.submit_statuses[-3:] == [429, 429, 429]

        # With patience the same submit gets through once A finishes and B leaves the queue.
        transport.submit_statuses.clear()
        client.max_retry_wait_s = 0.5
        d = client.submit(slow, max_retries=40)
    assert d.task_id
    assert transport.submit_statuses[0] == 429 and transport.submit_statuses[-1] == 200


def test_auth(start_reference: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(contract.API_KEY_ENV, raising=False)
    url = start_reference("--api-key", "k3y")
    with Client(url) as client:
        with pytest.raises(AuthError) as exc:
            client.stats()
    assert exc.value.status_code == 401 and contract.API_KEY_ENV in str(exc.value)
    with Client(url, api_key="wrong") as client:
        with pytest.raises(AuthError, match="Invalid API key"):
            client.submit(Text2MusicRequest())
    monkeypatch.setenv(contract.API_KEY_ENV, "k3y")
    with Client(url) as client:
        assert client.stats().queue_maxsize == 200
        assert client.models().names


def test_unknown_task_id_is_raised_after_grace(reference_server: str) -> None:
    with Client(reference_server) as client:
        assert client.query(["no-such-task"])[0].is_unknown
        with pytest.raises(UnknownTask) as exc:
            client.wait("no-such-task", poll_interval_s=POLL_S, unknown_grace_s=0.5)
    assert exc.value.task_id == "no-such-task" and "resubmit" in str(exc.value)


def test_task_lost_in_a_server_restart(tmp_path: Path) -> None:
    port = free_port()
    args = ("--output-dir", str(tmp_path), "--seconds-per-step", "1.0")
    with running_reference_server(*args, port=port, log_path=tmp_path / "first.log") as url:
        with Client(url) as client:
            task_id = client.submit(Text2MusicRequest(duration_s=10, inference_steps=20)).task_id
    with running_reference_server(*args, port=port, log_path=tmp_path / "second.log") as url:
        with Client(url) as client:
            with pytest.raises(UnknownTask, match="restarted"):
                client.wait(task_id, poll_interval_s=POLL_S, unknown_grace_s=0.5)


def test_non_audio_upload_fails_the_task_with_a_reason(reference_server: str, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is not audio\n" * 50)
    with Client(reference_server) as client:
        sub = client.submit(RepaintRequest(repainting_start=1, repainting_end=2), src_audio=bogus)
        with pytest.raises(TaskFailed) as exc:
            client.wait(sub.task_id, poll_interval_s=POLL_S)
    assert exc.value.task_id == sub.task_id and exc.value.reason
    assert exc.value.result is not None and exc.value.result.status is TaskStatus.failed
    assert exc.value.reason in str(exc.value)


def test_server_down_is_reported_clearly() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with Client(url) as client:
        with pytest.raises(ServerUnreachable) as exc:
            client.health()
    assert url in str(exc.value) and contract.SERVER_ENV in str(exc.value)


def test_async_client_parity(reference_server: str, tmp_path: Path) -> None:
    src = _source_wav(tmp_path / "src.wav", seconds=10)

    async def flow() -> tuple:
        async with AsyncClient(reference_server) as client:
            health = await client.health()
            models = await client.models()
            t2m = await client.generate(Text2MusicRequest(duration_s=10, batch_size=1, bpm=100, audio_format="wav"),
                                        out_dir=tmp_path / "t2m", poll_interval_s=POLL_S)
            sub = await client.submit(RepaintRequest(repainting_start=2, repainting_end=4, batch_size=1), src_audio=src)
            rep = await client.wait(sub.task_id, poll_interval_s=POLL_S)
            rep_path = await client.download(rep.items[0], tmp_path / "rep")
            with pytest.raises(UnknownTask):
                await client.wait("nope", poll_interval_s=POLL_S, unknown_grace_s=0.3)
            stats = await client.stats()
            return health, models, t2m, rep_path, stats

    (tmp_path / "rep").mkdir()
    health, models, t2m, rep_path, stats = asyncio.run(flow())
    assert health.status == "ok" and models.default_model
    assert t2m.result.items[0].metas.bpm == 100 and sf.info(t2m.paths[0]).duration == pytest.approx(10, abs=0.5)
    assert rep_path.parent == tmp_path / "rep" and rep_path.stat().st_size > 0
    assert stats.jobs.succeeded >= 2

    with pytest.raises(ServerUnreachable):
        asyncio.run(_health_of(f"http://127.0.0.1:{free_port()}"))


async def _health_of(url: str) -> None:
    async with AsyncClient(url) as client:
        await client.health()
