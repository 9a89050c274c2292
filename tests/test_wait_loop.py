"""The wait loop's decisions (`acekit.polling.TaskWaiter`), and that `Client` and `AsyncClient` carry them
out identically: same requests, same steps, same progress, same outcome, for the same server answers."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from acekit.client import AsyncClient, Client
from acekit.errors import ServerUnreachable, TaskTimeout, UnknownTask
from acekit.models import TaskResult, Text2MusicRequest, parse_task_result
from acekit.polling import FetchStats, LongPoll, Query, Sleep, TaskWaiter

WAIT = {"x-acekit-wait": "/v1/wait/{task_id}"}


def _item(status: int, progress: float | None = None, stage: str = "diffusion") -> dict:
    if status == 1:
        result = [{"file": "/v1/audio?path=%2Fout%2Ft.wav", "status": 1}]
    elif progress is None:
        result = []  # what upstream says about an id it does not know
    else:
        result = [{"file": "", "status": 0, "progress": progress, "stage": stage}]
    return {"task_id": "t", "status": status, "result": json.dumps(result), "progress_text": ""}


def _answer(item: dict, headers: dict | None = None) -> httpx.Response:
    return httpx.Response(200, json={"data": [item], "code": 200, "error": None, "extra": None}, headers=headers)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _result(item: dict) -> list[TaskResult]:
    return [parse_task_result(item)]


def test_polls_then_sleeps_then_switches_to_long_polls_when_advertised() -> None:
    clock = Clock()
    w = TaskWaiter("t", poll_interval_s=1.0, timeout_s=60, unknown_grace_s=5, clock=clock)
    assert w.next_step(push=False) == Query()
    assert w.answered(_result(_item(0, 0.1))) is None
    assert w.next_step(push=False) == Sleep(1.0)  # fixed interval
    assert w.next_step(push=False) == Query()
    assert w.answered(_result(_item(0, 0.2))) is None
    assert w.next_step(push=True) == LongPoll(2.0)  # that answer advertised a wait endpoint: no sleep
    w.unreachable(ServerUnreachable("http://x"))
    assert w.next_step(push=True) == Sleep(0.5)  # a failed long-poll waits a little before the next
    assert w.next_step(push=True) == LongPoll(2.0)
    assert w.answered(_result(_item(0, 0.5))) is None
    assert w.next_step(push=True) == LongPoll(2.0)  # long-polls back to back
    clock.now += 59.0
    assert w.next_step(push=True) == LongPoll(pytest.approx(1.0))  # never holds past the deadline
    final = w.answered(_result(_item(1)))
    assert final is not None and final.status == 1 and w.polls == 4


def test_adaptive_polling_asks_for_the_job_time_first_and_sleeps_by_the_schedule() -> None:
    clock = Clock()
    w = TaskWaiter("t", poll_interval_s=None, timeout_s=60, unknown_grace_s=5, clock=clock)
    assert w.next_step(push=False) == FetchStats()
    w.expected(4.0)
    assert w.next_step(push=False) == Query()
    assert w.answered(_result(_item(0, 0.0, stage="queued"))) is None
    assert w.next_step(push=False) == Sleep(w.schedule.min_s)  # just submitted: poll fast
    assert w.next_step(push=False) == Query()  # the job time is known: no second FetchStats
    clock.now += 2.0
    w.answered(_result(_item(0, 0.0, stage="queued")))
    # 2 s in, 4 s expected: half of the 2 s left
    assert w.next_step(push=False) == Sleep(pytest.approx(1.0))


def test_without_a_job_time_stats_are_asked_again_before_each_poll() -> None:
    w = TaskWaiter("t", poll_interval_s=None, timeout_s=60, unknown_grace_s=5, clock=Clock())
    steps = []
    for _ in range(2):
        steps.append(w.next_step(push=False))
        w.expected(None)  # the server gives no average
        steps.append(w.next_step(push=False))
        w.answered(_result(_item(0, 0.1)))
        steps.append(type(w.next_step(push=False)))
    assert steps == [FetchStats(), Query(), Sleep, FetchStats(), Query(), Sleep]


def test_unreachable_and_unknown_are_tolerated_for_the_grace_period_then_raised() -> None:
    clock = Clock()
    w = TaskWaiter("t", poll_interval_s=0.5, timeout_s=60, unknown_grace_s=3, clock=clock)
    w.next_step(push=False)
    w.unreachable(ServerUnreachable("http://x"))
    assert w.next_step(push=False) == Sleep(0.5)
    clock.now += 3.0
    w.next_step(push=False)
    with pytest.raises(ServerUnreachable):
        w.unreachable(ServerUnreachable("http://x"))
    w2 = TaskWaiter("t", poll_interval_s=0.5, timeout_s=60, unknown_grace_s=3, clock=clock)
    w2.next_step(push=False)
    assert w2.answered(_result(_item(0))) is None  # unknown once: not yet
    clock.now += 3.0
    w2.next_step(push=False)
    w2.next_step(push=False)
    with pytest.raises(UnknownTask):
        w2.answered(_result(_item(0)))


def test_deadline_raises_task_timeout() -> None:
    clock = Clock()
    w = TaskWaiter("t", poll_interval_s=0.5, timeout_s=10, unknown_grace_s=3, clock=clock)
    w.next_step(push=False)
    clock.now += 10.0
    with pytest.raises(TaskTimeout):
        w.answered(_result(_item(0, 0.3)))


# -- the two clients carry out the same steps


def _script(name: str) -> list:
    """Answers, in order, to every request after the submit; an exception is raised as a transport error."""
    if name == "upstream":  # plain upstream: stats, polls (one 503 blip), done
        return [("GET", "/v1/stats", httpx.Response(200, json={"data": {"avg_job_seconds": 0.2}, "code": 200})),
                ("POST", "/query_result", _answer(_item(0, 0.0, stage="queued"))),
                ("POST", "/query_result", httpx.Response(503, json={"detail": "restarting"})),
                ("POST", "/query_result", _answer(_item(0, 0.4))),
                ("POST", "/query_result", _answer(_item(1)))]
    if name == "switch":  # a poll answer advertises the gateway's wait endpoint; a long-poll fails once
        return [("GET", "/v1/stats", httpx.Response(200, json={"data": {"avg_job_seconds": 0.2}, "code": 200})),
                ("POST", "/query_result", _answer(_item(0, 0.3), WAIT)),
                ("GET", "/v1/wait/t", httpx.ConnectError("refused")),
                ("GET", "/v1/wait/t", _answer(_item(0, 0.8), WAIT)),
                ("GET", "/v1/wait/t", _answer(_item(1), WAIT))]
    if name == "gone":  # advertised at submit, but the wait endpoint is gone (404): fall back to polling
        return [("GET", "/v1/wait/t", httpx.Response(404, json={"detail": "Not Found"})),
                ("GET", "/v1/stats", httpx.Response(404, json={"detail": "Not Found"})),
                ("POST", "/query_result", _answer(_item(0, 0.5))),
                ("POST", "/query_result", _answer(_item(1)))]
    raise KeyError(name)


def _transport(name: str, log: list) -> httpx.MockTransport:
    script = _script(name)

    def handler(request: httpx.Request) -> httpx.Response:
        log.append((request.method, request.url.path))
        if request.url.path == "/release_task":
            return httpx.Response(200, json={"data": {"task_id": "t", "status": "queued", "queue_position": 1},
                                             "code": 200}, headers=WAIT if name == "gone" else None)
        if request.url.path.startswith("/v1/audio"):
            return httpx.Response(200, content=b"RIFF")
        method, path, answer = script.pop(0)
        assert (request.method, request.url.path) == (method, path), "the client left the script"
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler)


def _record_steps(monkeypatch: pytest.MonkeyPatch, steps: list) -> None:
    original = TaskWaiter.next_step

    def recording(self: TaskWaiter, *, push: bool):
        step = original(self, push=push)
        steps.append(type(step).__name__)
        return step

    monkeypatch.setattr(TaskWaiter, "next_step", recording)


@pytest.mark.parametrize("script", ["upstream", "switch", "gone"])
def test_sync_and_async_clients_follow_the_same_sequence(script: str, tmp_path, monkeypatch) -> None:
    runs = {}
    for kind in ("sync", "async"):
        log: list = []
        steps: list = []
        progress: list = []
        _record_steps(monkeypatch, steps)
        request = Text2MusicRequest(prompt="x", duration_s=10, audio_format="wav")
        out = tmp_path / kind
        if kind == "sync":
            with Client("http://srv", transport=_transport(script, log)) as client:
                outcome = client.generate(request, out_dir=out, on_progress=progress.append)
        else:
            async def go():
                async with AsyncClient("http://srv", transport=_transport(script, log)) as client:
                    return await client.generate(request, out_dir=out, on_progress=progress.append)
            outcome = asyncio.run(go())
        runs[kind] = (log, steps, [(p.stage, p.progress, p.polls) for p in progress],
                      (outcome.polls, outcome.result.status, [p.name for p in outcome.paths]))
        monkeypatch.undo()
    assert runs["sync"] == runs["async"]
    log, steps, progress, (polls, status, _) = runs["sync"]
    assert status == 1 and log[0] == ("POST", "/release_task") and log[-1][1].startswith("/v1/audio")
    assert not _script(script)[len(log) - 2:]  # every scripted answer was asked for, no more
    expected_steps = {
        "upstream": ["FetchStats", "Query", "Sleep", "Query", "Sleep", "Query", "Sleep", "Query"],
        "switch": ["FetchStats", "Query", "LongPoll", "Sleep", "LongPoll", "LongPoll"],
        "gone": ["LongPoll", "FetchStats", "Query", "Sleep", "FetchStats", "Query"],
    }[script]
    assert steps == expected_steps
    # answers read about the task (not the 503, the refused long-poll or the 404)
    assert polls == {"upstream": 3, "switch": 3, "gone": 2}[script]
