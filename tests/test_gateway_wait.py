"""Push completion through the gateway: /v1/wait (long-poll), /v1/wait/{id}/events (SSE), and one
shared, batched poller upstream, checked against a fake upstream that counts what it is asked."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from acekit.client import Client
from acekit.gateway import GatewaySettings, NullSampler, create_app
from acekit.gateway.completion import query_ids


class _Body(httpx.AsyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self):
        yield self.data


def _json(status: int, doc: object) -> httpx.Response:
    # A streamed body, as from a real server (the pass-through relays it raw).
    return httpx.Response(status, headers={"content-type": "application/json"}, stream=_Body(json.dumps(doc).encode()))


class FakeUpstream:
    """Tasks the test finishes by hand; records every /query_result body it receives."""

    def __init__(self) -> None:
        self.status: dict[str, int] = {}
        self.progress: dict[str, float] = {}
        self.queries: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.lock = threading.Lock()

    def item(self, tid: str) -> dict:
        status = self.status.get(tid)
        if status is None:
            return {"task_id": tid, "status": 0, "result": "[]", "progress_text": ""}
        if status == 1:
            result = [{"file": f"/v1/audio?path=%2Fout%2F{tid}.wav", "status": 1, "metas": {"bpm": 120}}]
        elif status == 2:
            result = [{"file": "", "status": 2, "error": "boom"}]
        else:
            result = [{"file": "", "status": 0, "progress": self.progress.get(tid, 0.0), "stage": "diffusion"}]
        return {"task_id": tid, "status": status, "result": json.dumps(result), "progress_text": ""}

    async def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/query_result":
            ids = json.loads(request.content)["task_id_list"]
            with self.lock:
                self.queries.append(ids)
            while not self.gate.is_set():
                await asyncio.sleep(0.005)
            return _json(200, {"data": [self.item(t) for t in ids], "code": 200, "error": None,
                               "timestamp": 1, "extra": None})
        if request.url.path == "/release_task":
            tid = f"t{len(self.status)}"
            self.status[tid] = 0
            return _json(200, {"data": {"task_id": tid, "status": "queued", "queue_position": 1},
                               "code": 200, "error": None, "timestamp": 1, "extra": None})
        return _json(404, {"detail": "Not Found"})

    def finish(self, tid: str, status: int = 1) -> None:
        self.status[tid] = status


@pytest.fixture
def fake() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def gateway(fake: FakeUpstream) -> Iterator[TestClient]:
    app = create_app(GatewaySettings(upstream="http://up", wait_poll_s=0.02), sampler=NullSampler(),
                     upstream_transport=httpx.MockTransport(fake.handler))
    with TestClient(app, base_url="http://gw") as client:
        yield client


def _in_thread(fn, *args) -> tuple[threading.Thread, list]:
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn(*args)), daemon=True)
    t.start()
    return t, out


def test_long_poll_returns_a_finished_task_at_once(gateway: TestClient, fake: FakeUpstream) -> None:
    fake.status["a"] = 1
    r = gateway.get("/v1/wait/a", params={"timeout_s": 30})
    assert r.status_code == 200
    body = r.json()
    assert body["extra"] == {"final": True}
    [item] = body["data"]
    assert item["task_id"] == "a" and item["status"] == 1 and "a.wav" in item["result"]


def test_long_poll_answers_when_the_task_ends_and_times_out_with_the_latest_item(
        gateway: TestClient, fake: FakeUpstream) -> None:
    fake.status["b"] = 0
    fake.progress["b"] = 0.5
    r = gateway.get("/v1/wait/b", params={"timeout_s": 0.2})
    assert r.json()["extra"] == {"final": False}
    assert r.json()["data"][0]["status"] == 0 and '"progress": 0.5' in r.json()["data"][0]["result"]

    t, out = _in_thread(lambda: gateway.get("/v1/wait/b", params={"timeout_s": 60}))
    time.sleep(0.2)
    assert t.is_alive()  # still waiting: the task has not ended
    fake.finish("b", 2)
    t.join(10)
    assert not t.is_alive() and out[0].json()["data"][0]["status"] == 2


def test_sse_streams_progress_then_the_result(gateway: TestClient, fake: FakeUpstream) -> None:
    fake.status["c"] = 0

    def advance() -> None:
        for p in (0.25, 0.75):
            time.sleep(0.15)
            fake.progress["c"] = p
        time.sleep(0.15)
        fake.finish("c")

    threading.Thread(target=advance, daemon=True).start()
    events: list[tuple[str, dict]] = []
    # a bounded stream: if the result never came, it ends with a "timeout" event and the test fails
    # instead of hanging for the default 30 min (it hung once under heavy load)
    with gateway.stream("GET", "/v1/wait/c/events", params={"timeout_s": 30}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: "):])))
    names = [n for n, _ in events]
    assert names[-1] == "result" and events[-1][1]["status"] == 1
    assert set(names[:-1]) == {"progress"} and len(names) >= 3
    seen = [json.loads(d["result"])[0].get("progress") for n, d in events if n == "progress" and d["result"] != "[]"]
    assert 0.25 in seen and 0.75 in seen  # each change was pushed, in order
    assert seen.index(0.25) < seen.index(0.75)


def test_many_waiters_cost_one_upstream_query_per_tick(gateway: TestClient, fake: FakeUpstream) -> None:
    ids = [f"w{i}" for i in range(12)]
    for tid in ids:
        fake.status[tid] = 0
    threads = [_in_thread(lambda tid=tid: gateway.get(f"/v1/wait/{tid}", params={"timeout_s": 60})) for tid in ids]
    hub = gateway.app.state.gateway.completion
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(w.waiters for w in hub.watches.values()) < len(ids):
        time.sleep(0.01)
    time.sleep(0.2)  # several ticks with every waiter registered
    with fake.lock:
        before = len(fake.queries)
    time.sleep(0.3)
    with fake.lock:
        during = fake.queries[before:]
    for tid in ids:
        fake.finish(tid)
    for t, out in threads:
        t.join(10)
        assert out and out[0].json()["data"][0]["status"] == 1
    # 12 clients waiting: each upstream request asks about all of them at once
    assert during and all(sorted(q) == sorted(ids) for q in during)
    answered = {out[0].json()["data"][0]["task_id"] for _, out in threads}
    assert answered == set(ids)


def test_concurrent_query_result_calls_are_merged_and_each_gets_its_own_items(
        gateway: TestClient, fake: FakeUpstream) -> None:
    fake.gate.clear()  # hold the first upstream request so the others pile up behind it
    first, first_out = _in_thread(lambda: gateway.post("/query_result", json={"task_id_list": ["q0"]}))
    deadline = time.monotonic() + 10
    while not fake.queries and time.monotonic() < deadline:
        time.sleep(0.005)
    others = [_in_thread(lambda i=i: gateway.post("/query_result", json={"task_id_list": [f"q{i}", "shared"]}))
              for i in range(1, 9)]
    batcher = gateway.app.state.gateway.completion.batcher
    while time.monotonic() < deadline and sum(b.callers for b in batcher._pending.values()) < 8:
        time.sleep(0.005)
    fake.gate.set()
    first.join(10)
    assert first_out[0].json()["data"] == [fake.item("q0")]
    assert first_out[0].headers["x-acekit-wait"] == "/v1/wait/{task_id}"
    for i, (t, out) in enumerate(others, start=1):
        t.join(10)
        assert out[0].status_code == 200
        assert [d["task_id"] for d in out[0].json()["data"]] == [f"q{i}", "shared"]
    assert len(fake.queries) == 2  # one for the first caller, one for the 8 that arrived meanwhile
    assert sorted(fake.queries[1]) == sorted([f"q{i}" for i in range(1, 9)] + ["shared"])


def test_release_task_answers_advertise_the_wait_endpoint(gateway: TestClient) -> None:
    r = gateway.post("/release_task", json={"prompt": "x"})
    assert r.status_code == 200 and r.headers["x-acekit-wait"] == "/v1/wait/{task_id}"


def test_query_bodies_the_batcher_leaves_alone() -> None:
    assert query_ids(b'{"task_id_list": ["a", "b"]}', "application/json") == (["a", "b"], None)
    assert query_ids(b'{"task_id_list": "[\\"a\\"]", "ai_token": "k"}', "application/json") == (["a"], "k")
    assert query_ids(b'{"task_id_list": ["a"], "other": 1}', "application/json") is None  # unknown field
    assert query_ids(b"task_id_list=a", "application/x-www-form-urlencoded") is None
    assert query_ids(b'{"task_id_list": []}', "application/json") is None
    assert query_ids(b"not json", "application/json") is None


def test_client_prefers_the_wait_endpoint_when_advertised(gateway: TestClient, fake: FakeUpstream) -> None:
    paths: list[str] = []

    def via_gateway(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        r = gateway.request(request.method, request.url.path, params=dict(request.url.params),
                            content=request.content, headers={"content-type": "application/json"})
        return httpx.Response(r.status_code, headers=r.headers, content=r.content)

    threading.Timer(0.3, lambda: fake.finish("t0")).start()
    with Client("http://gw", transport=httpx.MockTransport(via_gateway)) as client:
        task_id = client.submit(_request()).task_id
        assert client.wait_path == "/v1/wait/{task_id}"
        result = client.wait(task_id)
    assert result.status == 1 and result.items[0].server_path == "/out/t0.wav"
    assert paths[0] == "/release_task" and set(paths[1:]) == {"/v1/wait/t0"}  # never polled /query_result


def test_client_polls_plain_upstream_that_advertises_nothing(fake: FakeUpstream) -> None:
    paths: list[str] = []

    async def direct(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/v1/stats":
            return httpx.Response(200, json={"data": {"avg_job_seconds": 0.2}, "code": 200})
        if len([p for p in paths if p == "/query_result"]) == 3:
            fake.finish("t0")
        response = await fake.handler(request)
        return httpx.Response(response.status_code, headers=response.headers, content=await response.aread())

    async def go() -> None:
        from acekit.client import AsyncClient

        async with AsyncClient("http://up", transport=httpx.MockTransport(direct)) as client:
            task_id = (await client.submit(_request())).task_id
            assert client.wait_path == ""
            result = await client.wait(task_id)
            assert result.status == 1

    asyncio.run(go())
    assert "/v1/wait/t0" not in paths and paths.count("/query_result") == 3
    assert "/v1/stats" in paths  # adaptive polling asked for the server's average job time


def _request():
    from acekit.models import Text2MusicRequest

    return Text2MusicRequest(prompt="x", duration_s=10)


# -- discovery: the capabilities document and /gateway/health list the wait endpoints


def _follow_sse(gateway: TestClient, url: str, params: dict) -> list[tuple[str, dict]]:
    events: list[tuple[str, dict]] = []
    with gateway.stream("GET", url, params=params) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: "):])))
    return events


def test_discovered_wait_endpoints_work_as_advertised(gateway: TestClient, fake: FakeUpstream) -> None:
    from acekit.capabilities import SCHEMA_VERSION, Capabilities

    body = gateway.get("/v1/capabilities").json()
    doc = Capabilities.model_validate(body["data"])  # typed: the plugin's view
    assert doc.schema_version == SCHEMA_VERSION == "1.2"
    wait = doc.completion.wait
    assert wait is not None and wait.version == 1
    assert doc.completion.poll.path == "/query_result"
    # the header it names is the one the gateway's answers carry, with the same path
    assert gateway.post("/query_result", json={"task_id_list": ["d0"]}).headers[wait.header] == wait.long_poll.path
    # /gateway/health lists the same endpoints
    assert gateway.get("/gateway/health").json()["data"]["completion"] == body["data"]["completion"]

    # Long-poll, built only from the document: path template + the advertised timeout parameter.
    [timeout] = [q for q in wait.long_poll.query if q.name == "timeout_s"]
    assert timeout.type == "number" and timeout.maximum >= 30 and wait.long_poll.method == "GET"
    fake.status["d1"] = 0
    threading.Timer(0.2, lambda: fake.finish("d1")).start()
    url = wait.long_poll.path.replace("{task_id}", "d1")
    r = gateway.get(url, params={timeout.name: 30})
    final = body_at(r.json(), wait.long_poll.final_field)
    assert r.status_code == 200 and final is True
    assert r.json()["data"][0]["status"] == 1 and "d1.wav" in r.json()["data"][0]["result"]

    # Events: every event name on the wire is advertised; progress, then the one final event.
    advertised = {e.name: e for e in wait.events.events}
    assert {"progress", "result", "timeout"} <= set(advertised)
    assert [e.name for e in wait.events.events if not e.final] == ["progress"]
    fake.status["d2"] = 0
    fake.progress["d2"] = 0.5

    def advance() -> None:
        time.sleep(0.3)
        fake.finish("d2")

    threading.Thread(target=advance, daemon=True).start()
    [events_timeout] = [q for q in wait.events.query if q.name == "timeout_s"]
    events = _follow_sse(gateway, wait.events.path.replace("{task_id}", "d2"), {events_timeout.name: 30})
    names = [n for n, _ in events]
    assert set(names) <= set(advertised)
    assert names[0] == "progress" and names[-1] == "result" and advertised[names[-1]].final
    assert all(not advertised[n].final for n in names[:-1])
    assert events[-1][1]["status"] == 1 and set(doc.completion.task_item) <= set(events[-1][1])

    # The stream's own timeout ends with the advertised final "timeout" event.
    fake.status["d3"] = 0
    events = _follow_sse(gateway, wait.events.path.replace("{task_id}", "d3"), {events_timeout.name: 0.3})
    assert events[-1][0] == "timeout" and advertised["timeout"].final


def body_at(doc: dict, dotted: str):
    for part in dotted.split("."):
        doc = doc[part]
    return doc


def test_a_matrix_file_says_no_wait_endpoint_and_the_gateway_serving_it_adds_its_own(
        fake: FakeUpstream, tmp_path) -> None:
    from acekit.capabilities import BackendInfo, Capabilities

    file_doc = Capabilities(source="matrix", backend=BackendInfo(name="t4", engine="ACE-Step"))
    assert file_doc.completion.wait is None  # read without its gateway: poll /query_result
    path = tmp_path / "capabilities.json"
    path.write_text(file_doc.to_json())
    # A 1.0 file from before `completion` existed still loads, with polling only.
    old = json.loads(file_doc.to_json())
    del old["completion"]
    old["schema_version"] = "1.0"
    assert Capabilities.model_validate(old).completion.wait is None
    # A 1.1 file from before `checks` still loads; it says nothing of how far its checks hold.
    old11 = json.loads(file_doc.to_json())
    del old11["checks"]
    old11["schema_version"] = "1.1"
    assert Capabilities.model_validate(old11).checks == {}
    app = create_app(GatewaySettings(upstream="http://up", capabilities_file=path), sampler=NullSampler(),
                     upstream_transport=httpx.MockTransport(fake.handler))
    with TestClient(app, base_url="http://gw") as gw:
        body = gw.get("/v1/capabilities").json()
    served = Capabilities.model_validate(body["data"])
    assert body["extra"]["origin"] == "file" and served.backend.name == "t4"
    assert served.completion.wait is not None and served.completion.wait.long_poll.path == "/v1/wait/{task_id}"


def test_plain_upstream_has_no_wait_endpoint_and_its_documents_say_so(reference_server: str) -> None:
    from acekit.capabilities.defaults import default_capabilities

    assert default_capabilities(None, None).completion.wait is None
    with httpx.Client(base_url=reference_server) as direct:
        # plain upstream (here its imitation) serves neither the document nor the endpoints
        assert direct.get("/v1/capabilities").status_code == 404
        assert direct.get("/v1/wait/x", params={"timeout_s": 0}).status_code in (404, 405)
        r = direct.post("/query_result", json={"task_id_list": ["x"]})
        assert r.status_code == 200 and "x-acekit-wait" not in r.headers
