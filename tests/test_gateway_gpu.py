"""Telemetry on a real NVIDIA GPU: the detected memory source, the GPU's name and size, and per-task
peaks that differ by what each task really allocated.

Skipped where no CUDA device is visible (CI, the dev machine). The upstream is a stand-in that
speaks the two job endpoints and, for each task, allocates the GPU memory the task asks for and
holds it until the test has seen the gateway sample it: what is measured is real device memory,
read by the gateway through NVML (or whichever source `detect_sampler` picks on that machine).
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from acekit.gateway import GatewaySettings, create_app, detect_sampler

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device visible", allow_module_level=True)

MIB = 1024 * 1024


class GpuJobs:
    """One FIFO worker, like ACE-Step's default: a task allocates ``mib`` MiB and holds it until released."""

    def __init__(self) -> None:
        self.status: dict[str, int] = {}
        self.holding: dict[str, threading.Event] = {}
        self.release: dict[str, threading.Event] = {}
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._work, daemon=True).start()

    def submit(self, mib: int) -> str:
        tid = str(uuid.uuid4())
        self.status[tid] = 0
        self.holding[tid], self.release[tid] = threading.Event(), threading.Event()
        self._queue.put((tid, mib))
        return tid

    def _work(self) -> None:
        while True:
            tid, mib = self._queue.get()
            block = torch.ones(mib * MIB // 4, dtype=torch.float32, device="cuda")
            torch.cuda.synchronize()
            self.holding[tid].set()
            self.release[tid].wait(timeout=120)
            del block
            torch.cuda.empty_cache()
            self.status[tid] = 1


def _handler(jobs: GpuJobs) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _answer(self, data: object) -> None:
            body = json.dumps({"data": data, "code": 200, "error": None, "timestamp": 0, "extra": None}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            self._answer({"status": "ok", "service": "gpu stand-in", "version": "0"})

        def do_POST(self) -> None:  # noqa: N802
            doc = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            if self.path == "/release_task":
                self._answer({"task_id": jobs.submit(int(doc["mib"])), "status": "queued", "queue_position": 0})
                return
            items = []
            for tid in doc.get("task_id_list", []):
                status = jobs.status.get(tid, 0)
                running = jobs.holding.get(tid) is not None and jobs.holding[tid].is_set()
                result = '[{"file": ""}]' if status == 1 else ('[{"progress": 0.5}]' if running else "[]")
                items.append({"task_id": tid, "status": status, "result": result, "progress_text": ""})
            self._answer(items)

    return Handler


@pytest.fixture(scope="module")
def gpu_upstream() -> Iterator[tuple[str, GpuJobs]]:
    jobs = GpuJobs()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(jobs))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", jobs
    finally:
        server.shutdown()
        server.server_close()


def _wait(predicate, what: str, timeout_s: float = 60.0) -> None:
    done = threading.Event()
    deadline = threading.Timer(timeout_s, done.set)
    deadline.start()
    try:
        while not done.is_set():
            if predicate():
                return
            done.wait(0.02)
    finally:
        deadline.cancel()
    raise AssertionError(f"timed out waiting for {what}")


def test_detected_source_describes_this_gpu() -> None:
    sampler = detect_sampler()
    assert sampler.source != "none", "a CUDA device is visible but the gateway found no memory source"
    info = sampler.gpu()
    assert info.name == torch.cuda.get_device_name(0)
    major, minor = torch.cuda.get_device_capability(0)
    assert info.compute_capability == f"{major}.{minor}"
    total_mb = torch.cuda.get_device_properties(0).total_memory / MIB
    if not info.unified_memory:
        assert info.memory_total_mb == pytest.approx(total_mb, rel=0.02)
    used = sampler.used_memory_mb()
    assert used is not None and 0 <= used <= info.memory_total_mb


def test_each_task_gets_the_peak_it_caused(gpu_upstream: tuple[str, GpuJobs]) -> None:
    url, jobs = gpu_upstream
    small_mib, big_mib = 2048, 8192
    app = create_app(GatewaySettings(upstream=url, sampler_interval_s=0.02, status_poll_s=0.05))
    with TestClient(app) as gw:
        def run(mib: int) -> dict:
            tid = gw.post("/release_task", json={"mib": mib, "task_type": "text2music"}).json()["data"]["task_id"]
            _wait(jobs.holding[tid].is_set, f"the stand-in to allocate {mib} MiB")
            base = gw.get("/v1/telemetry", params={"task_id": tid}).json()["data"]["samples"]
            _wait(lambda: gw.get("/v1/telemetry", params={"task_id": tid}).json()["data"]["samples"] >= base + 3,
                  "three samples while the memory is held")
            jobs.release[tid].set()
            _wait(lambda: gw.get("/v1/telemetry", params={"task_id": tid}).json()["data"]["status"] == "succeeded",
                  "the gateway to see the task finish")
            return gw.get("/v1/telemetry", params={"task_id": tid}).json()["data"]

        small, big = run(small_mib), run(big_mib)
        whole = gw.get("/v1/telemetry").json()["data"]
    print(f"\n[gpu telemetry] {whole['gpu']} source={whole['memory_source']} "
          f"peak small={small['peak_memory_mb']:.0f} MiB big={big['peak_memory_mb']:.0f} MiB "
          f"(asked {small_mib} / {big_mib} MiB)")
    assert whole["gpu"]["name"] == torch.cuda.get_device_name(0)
    assert whole["memory_source"] == small["memory_source"] == detect_sampler().source
    # Device-wide figures: both include the CUDA context; their difference is what the tasks added.
    assert big["peak_memory_mb"] - small["peak_memory_mb"] == pytest.approx(big_mib - small_mib, abs=512)
    assert small["peak_memory_mb"] >= small_mib
    assert whole["peak_memory_mb"] == pytest.approx(big["peak_memory_mb"])
