"""Submitting while the server is down: an error that says what to do, and the opt-in wait for the server
to come up (``--wait-for-server``) that never submits a task twice."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from acekit import contract
from acekit.cli.main import app
from acekit.cli.output import ExitCode
from acekit.client import Client
from acekit.errors import AuthError, ServerNotReady, ServerUnreachable, ServiceUnavailable
from acekit.models import Text2MusicRequest
from acekit.polling import ServerWait

REQ = Text2MusicRequest(prompt="x", duration_s=10, audio_format="wav")
OK_SUBMIT = {"data": {"task_id": "t1", "status": "queued", "queue_position": 1}, "code": 200}
OK_HEALTH = {"data": {"status": "ok", "service": "ACE-Step API"}, "code": 200}


class Script:
    """Answers per path, in order (the last one repeats); counts what reached the 'server'."""

    def __init__(self, **answers: list) -> None:
        self.answers = {k: list(v) for k, v in answers.items()}
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.lstrip("/")
        queue = self.answers[path]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, type) and issubclass(answer, Exception):
            if answer is httpx.ConnectError:  # never connected: nothing reached the server
                raise answer("[Errno 111] Connection refused", request=request)
            self.seen.append(path)
            raise answer("connection reset mid-answer", request=request)
        self.seen.append(path)
        return httpx.Response(answer[0], json=answer[1])


@pytest.fixture(autouse=True)
def fast_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", lambda s: slept.append(s))
    return slept


def test_server_down_says_what_to_do_and_that_nothing_was_submitted() -> None:
    script = Script(release_task=[httpx.ConnectError])
    with Client("http://box:8001", transport=httpx.MockTransport(script)) as client:
        with pytest.raises(ServerUnreachable) as exc:
            client.submit(REQ)
    msg = str(exc.value)
    assert "Nothing was submitted" in msg and "still starting" in msg
    assert "`acekit health --server http://box:8001`" in msg and "http://box:8001/gateway/health" in msg
    assert "--wait-for-server SECONDS" in msg and "serve-reference" in msg and contract.SERVER_ENV in msg
    assert script.seen == []


def test_a_connection_that_broke_after_sending_is_never_retried(fast_sleep: list[float]) -> None:
    script = Script(health=[(200, OK_HEALTH)], release_task=[httpx.ReadError])
    with Client("http://box:8001", transport=httpx.MockTransport(script)) as client:
        with pytest.raises(ServerUnreachable) as exc:
            client.submit(REQ, wait_for_server_s=60)
    msg = str(exc.value)
    assert script.seen == ["health", "release_task"]  # sent once, even with time left to wait
    assert "may have accepted the task" in msg and "acekit stats --server http://box:8001" in msg
    assert "Nothing was submitted" not in msg


def test_waits_through_refusals_and_a_gateway_503_then_submits_once(fast_sleep: list[float]) -> None:
    script = Script(health=[httpx.ConnectError, httpx.ConnectError, (503, {"detail": "upstream unreachable"}),
                            (200, OK_HEALTH)],
                    release_task=[(200, OK_SUBMIT)])
    with Client("http://box:8001", transport=httpx.MockTransport(script)) as client:
        submitted = client.submit(REQ, wait_for_server_s=60)
    assert submitted.task_id == "t1"
    assert script.seen == ["health", "health", "release_task"]  # the two refusals never arrived
    assert fast_sleep == [0.25, 0.5, 1.0]  # backoff between the three failed probes


def test_a_submit_refused_after_the_probe_waits_again_and_is_sent_once(fast_sleep: list[float]) -> None:
    script = Script(health=[(200, OK_HEALTH)], release_task=[httpx.ConnectError, (200, OK_SUBMIT)])
    with Client("http://box:8001", transport=httpx.MockTransport(script)) as client:
        assert client.submit(REQ, wait_for_server_s=60).task_id == "t1"
    assert script.seen == ["health", "health", "release_task"]


def test_a_server_that_answers_is_not_waited_on() -> None:
    script = Script(health=[(401, {"detail": "Missing API key"})], release_task=[(200, OK_SUBMIT)])
    with Client("http://box:8001", transport=httpx.MockTransport(script)) as client:
        with pytest.raises(AuthError):
            client.submit(REQ, wait_for_server_s=60)
    assert script.seen == ["health"]


def test_gives_up_with_server_not_ready_after_the_time_given(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    monkeypatch.setattr(time, "sleep", lambda s: now.__setitem__(0, now[0] + s))
    script = Script(health=[(503, {"detail": "the ACE-Step server at http://127.0.0.1:8001 is unreachable"})],
                    release_task=[(200, OK_SUBMIT)])
    with Client("http://box:8001", transport=httpx.MockTransport(script)) as client:
        with pytest.raises(ServerNotReady) as exc:
            client.submit(REQ, wait_for_server_s=20)
    assert "release_task" not in script.seen and now[0] == pytest.approx(20.0)
    msg = str(exc.value)
    assert "did not come up within 20 s" in msg and "Nothing was submitted" in msg and "/gateway/health" in msg


def test_backoff_is_capped_and_never_sleeps_past_the_deadline() -> None:
    now = [0.0]
    wait = ServerWait("http://x", 12.0, clock=lambda: now[0])
    sleeps = []
    with pytest.raises(ServerNotReady):
        while True:
            sleeps.append(wait.probe_failed(ServiceUnavailable("503")))
            now[0] += sleeps[-1]
    assert sleeps == [0.25, 0.5, 1.0, 2.0, 4.0, pytest.approx(4.25)] and sum(sleeps) == pytest.approx(12.0)
    with pytest.raises(ValueError):
        ServerWait("http://x", 0)


def test_gateway_503_on_submit_points_at_its_health_and_is_not_resent() -> None:
    script = Script(release_task=[(503, {"detail": "the ACE-Step server at http://127.0.0.1:8001 is unreachable"})])
    with Client("http://box:8001", transport=httpx.MockTransport(script)) as client:
        with pytest.raises(ServiceUnavailable) as exc:
            client.submit(REQ)
    assert "http://box:8001/gateway/health" in str(exc.value) and "--wait-for-server" in str(exc.value)
    assert script.seen == ["release_task"]


# -- end to end: the CLI against a server that comes up late


def _cli(*args: str):
    return CliRunner().invoke(app, list(args), env={contract.SERVER_ENV: None, contract.API_KEY_ENV: None})


def test_cli_fails_at_once_with_advice_then_waits_for_a_late_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   late_reference) -> None:
    monkeypatch.undo()  # real sleeps: a real server starts meanwhile
    url = late_reference(3.0)  # nothing listens there for 3 s: the first call finds it down
    down = _cli("generate", "--duration", "10", "--out", str(tmp_path / "a"), "--server", url)
    assert down.exit_code == ExitCode.server
    assert "Nothing was submitted" in down.stderr and f"acekit health --server {url}" in down.stderr
    assert "--wait-for-server SECONDS" in down.stderr

    ok = _cli("generate", "--duration", "10", "--format", "wav", "--batch", "1", "--out", str(tmp_path / "b"),
              "--server", url, "--wait-for-server", "90", "--json", "--poll-interval-s", "0.05")
    assert ok.exit_code == 0, ok.stderr
    assert len(list((tmp_path / "b").glob("*.wav"))) == 1
    with Client(url) as client:
        assert client.stats().jobs.total == 1  # one task: the refused attempts never reached it
    health = _cli("health", "--server", url, "--wait-for-server", "5", "--json")
    assert health.exit_code == 0


def test_the_task_timeout_starts_once_the_server_is_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    now = [0.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    monkeypatch.setattr(time, "sleep", lambda s: now.__setitem__(0, now[0] + s))
    running = {"task_id": "t1", "status": 0, "result": '[{"progress": 0.5, "stage": "diffusion"}]'}
    done = {"task_id": "t1", "status": 1, "result": '[{"file": "/v1/audio?path=%2Fo%2Ft1.wav", "status": 1}]'}
    script = Script(health=[(503, {"detail": "loading"})] * 12 + [(200, OK_HEALTH)],
                    release_task=[(200, OK_SUBMIT)],
                    query_result=[(200, {"data": [running], "code": 200}), (200, {"data": [done], "code": 200})])
    with Client("http://box:8001", transport=httpx.MockTransport(
            lambda r: httpx.Response(200, content=b"RIFF") if r.url.path == "/v1/audio" else script(r))) as client:
        outcome = client.generate(REQ, out_dir=tmp_path, timeout_s=10, poll_interval_s=1, wait_for_server_s=120)
    assert now[0] > 30  # waited for the server longer than the task's timeout ...
    assert outcome.result.status == 1 and outcome.wall_s < 10  # ... which only counts the task
    assert script.seen.count("release_task") == 1
