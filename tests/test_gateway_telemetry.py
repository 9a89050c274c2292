"""``GET /v1/telemetry``: tasks learnt from traffic, GPU memory peaks charged to the right task."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from acekit.capabilities.defaults import GpuInfo
from acekit.gateway import GatewaySettings, MemorySampler, NullSampler, TaskTracker, create_app, detect_sampler
from acekit.gateway.gpu import MeminfoSampler, NvidiaSmiSampler, _smi_sampler


class FakeSampler:
    """Stands in for the GPU: returns whatever memory figure the test sets."""

    source = "fake"
    supported = True

    def __init__(self) -> None:
        self.value: float | None = None
        self.calls = 0
        self._lock = threading.Lock()

    def set(self, mb: float) -> None:
        with self._lock:
            self.value = mb

    def gpu(self) -> GpuInfo:
        return GpuInfo(name="Fake GPU", memory_total_mb=16384, compute_capability="8.6")

    def used_memory_mb(self) -> float | None:
        with self._lock:
            self.calls += 1
            return self.value


# -- the attribution rule, on the tracker itself

def test_samples_go_to_the_oldest_in_flight_task() -> None:
    t = TaskTracker(workers=1)
    t.submitted("a", "text2music")
    t.submitted("b", "repaint")
    assert t.record_sample(4000) == ["a"]  # b waits in the queue: not charged
    t.observed("a", 0, '[{"progress": 0.5}]')
    assert t.tasks["a"].status == "running"
    assert t.record_sample(6000) == ["a"]
    t.observed("a", 1, "[]")
    assert t.tasks["a"].status == "succeeded" and t.tasks["a"].finished_at
    assert t.record_sample(5000) == ["b"]
    t.observed("b", 2, "[]")
    assert t.record_sample(9000) == []  # nothing in flight: global peak only
    assert (t.tasks["a"].peak_memory_mb, t.tasks["b"].peak_memory_mb, t.peak_memory_mb) == (6000, 5000, 9000)
    assert (t.tasks["a"].samples, t.tasks["b"].samples) == (2, 1)


def test_several_workers_share_the_samples_and_unknown_ids_are_ignored() -> None:
    t = TaskTracker(workers=2, finished_limit=1)
    for tid in "abc":
        t.submitted(tid, None)
    assert t.record_sample(1000) == ["a", "b"]
    t.observed("zzz", 1, "[]")  # never submitted through this gateway
    assert "zzz" not in t.tasks
    t.observed("a", 0, "[]")  # queued: "[]" while waiting
    assert t.tasks["a"].status == "queued"
    assert t.record_sample(None) == []  # an unreadable sample changes nothing
    t.observed("a", 1, "[]")
    t.observed("b", 1, "[]")
    assert list(t.tasks) == ["b", "c"]  # only the newest finished task is kept
    assert t.tasks["c"].task_type == "text2music"


# -- end to end through the gateway, with the reference backend doing the jobs

def _wait(predicate, *, timeout_s: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _release(gw: TestClient, **fields) -> str:
    r = gw.post("/release_task", json={"prompt": "x", "audio_duration": 10, "batch_size": 1, **fields})
    assert r.status_code == 200, r.text
    return r.json()["data"]["task_id"]


def _entry(gw: TestClient, task_id: str) -> dict:
    r = gw.get("/v1/telemetry", params={"task_id": task_id})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _finish(gw: TestClient, task_id: str) -> None:
    def done() -> bool:
        item = gw.post("/query_result", json={"task_id_list": [task_id]}).json()["data"][0]
        return item["status"] == 1

    _wait(done, what=f"{task_id} to succeed")


def test_peaks_are_charged_to_the_task_that_was_running(reference_server: str) -> None:
    fake = FakeSampler()
    # status_poll_s: only client polls end a task here, so the test decides when b finishes.
    app = create_app(GatewaySettings(upstream=reference_server, sampler_interval_s=0.02, status_poll_s=3600),
                     sampler=fake)
    with TestClient(app) as gw:
        fake.set(1000)
        a = _release(gw)
        _wait(lambda: _entry(gw, a)["samples"] >= 2, what="samples for a")
        _finish(gw, a)  # the gateway learns a finished from the poll it relays
        fake.set(3000)
        b = _release(gw, task_type="text2music")
        c = _release(gw)  # queued behind b (one upstream worker): must not be charged while b holds the GPU
        _wait(lambda: _entry(gw, b)["samples"] >= 2, what="samples for b")
        assert _entry(gw, c)["peak_memory_mb"] is None
        fake.set(2000)  # before b is seen finished, so c can never be charged b's figure
        _finish(gw, b)
        _wait(lambda: _entry(gw, c)["samples"] >= 1, what="samples for c")
        _finish(gw, c)

        ea, eb, ec = (_entry(gw, t) for t in (a, b, c))
        assert (ea["peak_memory_mb"], eb["peak_memory_mb"], ec["peak_memory_mb"]) == (1000, 3000, 2000)
        assert ea["memory_source"] == "fake" and ea["status"] == eb["status"] == "succeeded"
        assert set(ea) >= {"task_type", "submitted_at", "finished_at", "peak_memory_mb", "status"}

        whole = gw.get("/v1/telemetry").json()
        assert set(whole) == {"data", "code", "error", "timestamp", "extra"}
        data = whole["data"]
        assert data["gpu"] == {"name": "Fake GPU", "memory_total_mb": 16384}
        assert data["memory_source"] == "fake" and data["memory_supported"] is True
        assert data["peak_memory_mb"] == 3000 and data["current_memory_mb"] == 2000
        assert set(data["tasks"]) >= {a, b, c}

        calls = fake.calls
        time.sleep(0.2)  # nothing in flight: the sampler idles
        assert fake.calls == calls


def test_unknown_task_is_404(reference_server: str) -> None:
    with TestClient(create_app(GatewaySettings(upstream=reference_server), sampler=NullSampler())) as gw:
        r = gw.get("/v1/telemetry", params={"task_id": "nope"})
        assert r.status_code == 404 and r.json()["code"] == 404 and "unknown to this gateway" in r.json()["detail"]
        data = gw.get("/v1/telemetry").json()["data"]
    assert data["memory_source"] == "none" and data["memory_supported"] is False
    assert data["current_memory_mb"] is None and data["gpu"] == {"name": None, "memory_total_mb": None}


# -- the real samplers

def test_detected_sampler_is_consistent() -> None:
    sampler = detect_sampler()
    assert isinstance(sampler, MemorySampler)
    if sampler.source == "none":  # this dev machine: no driver, no nvidia-smi
        assert sampler.gpu() is None and sampler.used_memory_mb() is None and not sampler.supported
    else:
        used = sampler.used_memory_mb()
        assert sampler.gpu() is not None and (used is None or used >= 0)


def _fake_smi(folder: Path, info_line: str, used: str) -> str:
    """A stand-in ``nvidia-smi`` answering the two queries the sampler makes."""
    folder.mkdir()
    exe = folder / "nvidia-smi"
    exe.write_text(
        "#!/bin/sh\n"
        'case "$*" in *memory.used*) echo "' + used + '" ;; *) echo "' + info_line + '" ;; esac\n'
    )
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(folder)


def test_nvidia_smi_fallback_and_unified_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       131072000 kB\nMemFree:  1000 kB\nMemAvailable:   100000000 kB\n")
    # A T4-like answer: numbers everywhere.
    monkeypatch.setenv("PATH", _fake_smi(tmp_path / "t4", "Tesla T4, 15360, 7.5", "4321"))
    smi = _smi_sampler(0, meminfo)
    assert isinstance(smi, NvidiaSmiSampler) and smi.source == "nvidia-smi"
    assert smi.gpu() == GpuInfo(name="Tesla T4", memory_total_mb=15360, compute_capability="7.5")
    assert smi.used_memory_mb() == 4321
    # A Spark-like answer: memory "[N/A]" everywhere -> unified memory, read from meminfo.
    monkeypatch.setenv("PATH", _fake_smi(tmp_path / "spark", "NVIDIA GB10, [N/A], 12.1", "[N/A]"))
    spark = _smi_sampler(0, meminfo)
    assert isinstance(spark, MeminfoSampler) and spark.source == "meminfo"
    info = spark.gpu()
    assert info.unified_memory and info.is_spark and info.memory_total_mb == pytest.approx(128000)
    assert spark.used_memory_mb() == pytest.approx((131072000 - 100000000) / 1024)
    # A driver that answers nothing at all.
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert _smi_sampler(0, meminfo) is None


def test_gateway_on_this_machine_reports_its_memory_source(reference_server: str, tmp_path: Path) -> None:
    from acekit.gateway.launch import running_gateway

    with running_gateway(reference_server, log_path=tmp_path / "gw.log") as url:
        data = httpx.get(url + "/v1/telemetry", trust_env=False).json()["data"]
    assert data["memory_source"] == detect_sampler().source
    if data["memory_source"] == "none":
        assert data["memory_supported"] is False and data["current_memory_mb"] is None


# -- NVML as the DGX Spark answers it: device memory "Not Supported"

class _FakeNvml:
    """Stands in for the ``pynvml`` module: a GB10-like device whose memory query is unsupported."""

    class NVMLError(Exception):
        pass

    def __init__(self, processes: list | None) -> None:
        self.processes = processes  # None: the process query itself is unsupported

    def nvmlInit(self) -> None:
        pass

    def nvmlDeviceGetHandleByIndex(self, index: int) -> object:
        return object()

    def nvmlDeviceGetName(self, handle: object) -> bytes:
        return b"NVIDIA GB10"

    def nvmlDeviceGetCudaComputeCapability(self, handle: object) -> tuple[int, int]:
        return (12, 1)

    def nvmlDeviceGetMemoryInfo(self, handle: object):
        raise self.NVMLError("Not Supported")

    def nvmlDeviceGetComputeRunningProcesses(self, handle: object) -> list:
        if self.processes is None:
            raise self.NVMLError("Not Supported")
        return self.processes


class _Proc:
    def __init__(self, used: int | None) -> None:
        self.usedGpuMemory = used


def _meminfo(tmp_path: Path) -> Path:
    path = tmp_path / "meminfo"
    path.write_text("MemTotal:       131072000 kB\nMemAvailable:   100000000 kB\n")
    return path


def test_nvml_without_device_memory_uses_process_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from acekit.gateway.gpu import _nvml_sampler

    fake = _FakeNvml([_Proc(3 * 1024**3), _Proc(1024**3)])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    sampler = _nvml_sampler(0, _meminfo(tmp_path))
    assert sampler.source == "nvml-processes"
    info = sampler.gpu()
    assert info.name == "NVIDIA GB10" and info.compute_capability == "12.1" and info.unified_memory
    assert info.memory_total_mb == pytest.approx(131072000 / 1024)  # the shared pool, from meminfo
    assert sampler.used_memory_mb() == 4096
    fake.processes = []  # ACE-Step not started yet: nothing on the GPU
    assert sampler.used_memory_mb() == 0 and sampler.source == "nvml-processes"


@pytest.mark.parametrize("processes", [None, [_Proc(None)]], ids=["query unsupported", "no per-process figure"])
def test_nvml_with_no_usable_figure_falls_back_to_meminfo_for_good(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, processes: list | None) -> None:
    import sys

    from acekit.gateway.gpu import SOURCE_DETAILS, _nvml_sampler

    fake = _FakeNvml([])  # at detection time nothing runs yet, so NVML looks fine
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    sampler = _nvml_sampler(0, _meminfo(tmp_path))
    assert sampler.source == "nvml-processes"
    fake.processes = processes  # ACE-Step starts; the driver has no figure for it
    assert sampler.used_memory_mb() == pytest.approx((131072000 - 100000000) / 1024)
    assert sampler.source == "meminfo"
    fake.processes = [_Proc(5 * 1024**3)]  # never back: one task's peak must come from one source
    assert sampler.used_memory_mb() == pytest.approx((131072000 - 100000000) / 1024)
    assert "upper bound" in SOURCE_DETAILS[sampler.source]

    # The telemetry says which source produced the figures, and what it means.
    app = create_app(GatewaySettings(upstream="http://127.0.0.1:9"), sampler=sampler)
    with TestClient(app) as gw:
        data = gw.get("/v1/telemetry").json()["data"]
    assert data["memory_source"] == "meminfo" and data["memory_source_detail"] == SOURCE_DETAILS["meminfo"]
    assert data["gpu"]["name"] == "NVIDIA GB10" and data["current_memory_mb"] == pytest.approx(30343.75)


# -- tasks whose client stopped polling

def test_lost_tasks_stop_holding_the_attribution() -> None:
    t = TaskTracker(workers=1, max_age_s=60)
    t.submitted("ghost", "text2music", now_s=0.0)  # the upstream restarted: it will say "queued" forever
    t.submitted("real", "cover", now_s=50.0)
    assert t.record_sample(1000) == ["ghost"]
    assert t.expire(now_s=59.0) == []
    assert t.expire(now_s=61.0) == ["ghost"]
    assert t.tasks["ghost"].status == "lost" and t.tasks["ghost"].finished_at
    assert t.record_sample(2000) == ["real"]
    t.observed("ghost", 1, "[]")  # a late answer does not revive it
    assert t.tasks["ghost"].status == "lost"
    assert list(t.in_flight_by_credentials()) == [(None, None)]


def _wait_succeeded_without_polling(gw: TestClient, task_id: str) -> dict:
    entry: dict = {}

    def done() -> bool:
        entry.update(_entry(gw, task_id))
        return entry["status"] == "succeeded"

    _wait(done, what=f"the gateway to learn on its own that {task_id} finished")
    return entry


def test_gateway_follows_tasks_nobody_polls(reference_server: str) -> None:
    fake = FakeSampler()
    fake.set(1500)
    app = create_app(GatewaySettings(upstream=reference_server, sampler_interval_s=0.02, status_poll_s=0.05),
                     sampler=fake)
    with TestClient(app) as gw:
        a = _release(gw)  # the client goes away: no /query_result from it
        ea = _wait_succeeded_without_polling(gw, a)
        assert ea["finished_at"] and ea["peak_memory_mb"] in (None, 1500)
        fake.set(2500)
        b = _release(gw)  # not stuck behind a: b is the one charged now
        _wait(lambda: _entry(gw, b)["samples"] >= 1, what="samples for b")
        eb = _wait_succeeded_without_polling(gw, b)
        assert eb["peak_memory_mb"] == 2500
        assert _entry(gw, a)["peak_memory_mb"] in (None, 1500)


def test_following_uses_the_clients_own_credentials(start_reference) -> None:
    upstream = start_reference("--api-key", "client-key")
    app = create_app(GatewaySettings(upstream=upstream, status_poll_s=0.05), sampler=NullSampler())
    job = {"prompt": "x", "audio_duration": 10, "batch_size": 1}
    with TestClient(app) as gw:
        by_header = gw.post("/release_task", json=job, headers={"Authorization": "Bearer client-key"})
        by_token = gw.post("/release_task", json={**job, "ai_token": "client-key"})
        for r in (by_header, by_token):
            assert r.status_code == 200, r.text
            assert _wait_succeeded_without_polling(gw, r.json()["data"]["task_id"])["finished_at"]
        # The credentials are used, never served.
        assert "client-key" not in gw.get("/v1/telemetry").text
