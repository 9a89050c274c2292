"""Submit-ahead: the matrix keeps its next case queued at the server while the current one runs.

Checked against real reference backends, with the server's own log as the witness of when each job
ran: one job at a time on a one-worker backend, the next case already queued when a job ends, the
records' wall and queue times free of the wait behind our own case, a backend that runs several jobs
at once caught (the overlapping cases run again alone), and a kill with a pair in flight resumed.
Also the run summary: failures are cases whose final record failed, retries counted apart.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from acekit.matrix.runner import RunSummary, _Tally, parse_server, run_matrix
from acekit.matrix.spec import expand_cases, parse_spec
from acekit.matrix.store import CaseRecord, RunStore
from acekit.reference.launch import running_reference_server

AHEAD_SPEC = """
name = "ahead"
[grid]
bpm = [90, 100, 110, 120]
keys = ["A minor"]
durations_s = [10.0]
steps = [4]
audio_format = "wav"
[tasks.text2music]
[tasks.repaint]
bpm = [90, 120]
repaint_starts_s = [2.0]
repaint_lengths_s = [4.0]
"""

_LINE = re.compile(r"^(\S+ \S+),(\d{3}) .*?\b(started )?task ([0-9a-f-]{36})(?: (succeeded|failed))?")


def _job_spans(log: Path) -> dict[str, tuple[float, float]]:
    """task id -> (start, finish) from the reference server's log."""
    starts: dict[str, float] = {}
    spans: dict[str, tuple[float, float]] = {}
    for line in log.read_text(errors="replace").splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + int(m.group(2)) / 1000
        if m.group(3):
            starts[m.group(4)] = t
        elif m.group(5):
            spans[m.group(4)] = (starts[m.group(4)], t)
    return spans


def _run(url: str, tmp_path: Path, spec_text: str = AHEAD_SPEC, **kwargs: Any) -> tuple[RunSummary, list[dict]]:
    events: list[dict] = []
    summary = run_matrix(parse_spec(spec_text), spec_text, [parse_server(f"ref={url}")], out_dir=tmp_path / "runs",
                         progress=False, poll_interval_s=0.05, trace=events.append, **kwargs)
    return summary, events


def test_one_worker_backend_runs_one_job_at_a_time_with_the_next_case_already_queued(tmp_path: Path) -> None:
    spec = parse_spec(AHEAD_SPEC)
    cases = {c.id: c for c in expand_cases(spec)}
    log = tmp_path / "ref.log"
    with running_reference_server("--output-dir", str(tmp_path / "out"), "--job-seconds", "1:1",
                                  log_path=log) as url:
        summary, events = _run(url, tmp_path)
    spans = _job_spans(log)
    records = RunStore(tmp_path / "runs" / "ahead").latest()
    assert summary.ran == len(cases) and summary.failed == 0 and summary.retried == 0
    assert all(r.status == "ok" for r in records.values())

    # The server's own log: never two jobs at once (one worker), and one job per case.
    ordered = sorted(spans.values())
    assert len(ordered) == len(cases)
    assert all(nxt[0] >= prev[1] for prev, nxt in zip(ordered, ordered[1:]))

    # The runner never had more than the running case plus one queued in flight.
    in_flight, most = 0, 0
    for e in sorted(events, key=lambda e: e["t"]):
        in_flight += {"submitted": 1, "seen_done": -1}.get(e["event"], 0)
        most = max(most, in_flight)
    assert most == 2

    # Each job's successor was already queued when it ended, unless the successor edits its clip.
    submitted = {e["task_id"]: e for e in events if e["event"] == "submitted"}
    by_start = sorted(submitted, key=lambda tid: spans[tid][0])
    for prev, nxt in zip(by_start, by_start[1:]):
        if cases[submitted[nxt]["case"]].source == f"case:{submitted[prev]['case']}":
            continue
        assert submitted[nxt]["t"] < spans[prev][1], (submitted[prev]["case"], submitted[nxt]["case"])

    # Records' times exclude the wait behind our own case: a queued case's wall time is its own job
    # (1 s + render + poll), not the rest of the job before it as well.
    queued = [r for r in records.values() if (r.queued_behind_own_s or 0) > 0.3]
    assert queued, "no case was queued behind another"
    for r in records.values():
        assert r.server_job_s is not None and 1.0 <= r.server_job_s
        assert r.wall_s is not None and r.wall_s < r.server_job_s + 1.0, (r.case_id, r.wall_s, r.server_job_s)
        assert r.queue_wait_s is None or r.queue_wait_s < 0.5
    assert any(r.wall_s + r.queued_behind_own_s > r.server_job_s + 0.3 for r in queued)


def test_a_backend_running_jobs_alongside_turns_submit_ahead_off_and_reruns_the_pair(tmp_path: Path) -> None:
    text = AHEAD_SPEC.replace("[tasks.repaint]\nbpm = [90, 120]", "[tasks.repaint]\nbpm = [90]")
    cases = expand_cases(parse_spec(text))
    log = tmp_path / "ref.log"
    with running_reference_server("--output-dir", str(tmp_path / "out"), "--job-seconds", "1:1",
                                  "--workers", "2", log_path=log) as url:
        summary, events = _run(url, tmp_path, text)
    spans = _job_spans(log)
    records = RunStore(tmp_path / "runs" / "ahead").records()
    assert summary.ran == len(cases) and summary.failed == 0
    assert sorted(r.case_id for r in records) == sorted(c.id for c in cases)  # one record per case
    assert any(e["event"] == "alongside" for e in events)
    # The job behind each record is the case's last submission: it ran with no other job beside it.
    final: dict[str, str] = {}
    for e in events:
        if e["event"] == "submitted":
            final[e["case"]] = e["task_id"]
    assert len(spans) > len(cases)  # the overlapping pair ran twice
    for case_id, tid in final.items():
        s, f = spans[tid]
        others = [(a, b) for t, (a, b) in spans.items() if t != tid and a < f and b > s]
        assert not others, (case_id, others)


KILL_SPEC = """
name = "killpair"
[grid]
bpm = [90, 100, 110, 120]
keys = ["A minor"]
durations_s = [10.0]
steps = [4]
audio_format = "wav"
[tasks.text2music]
"""


def _children(pid: int) -> list[int]:
    """Live child pids of ``pid`` whose command line is a multiprocessing spawn (Linux /proc)."""
    out = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            cmd = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid) and b"spawn_main" in cmd:
            out.append(int(status.parent.name))
    return out


def test_a_kill_with_a_queued_pair_in_flight_resumes_every_case_once(tmp_path: Path) -> None:
    spec_path = tmp_path / "kill.toml"
    spec_path.write_text(KILL_SPEC)
    ids = {c.id for c in expand_cases(parse_spec(KILL_SPEC))}
    results = tmp_path / "killpair" / "results.jsonl"
    with running_reference_server("--output-dir", str(tmp_path / "out"), "--job-seconds", "1.5:1.5",
                                  log_path=tmp_path / "ref.log") as url:
        cmd = [sys.executable, "-m", "acekit", "matrix", str(spec_path), "--server", f"ref={url}",
               "--out", str(tmp_path), "--poll-interval-s", "0.05"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 90
            with httpx.Client(base_url=url) as http:
                while True:  # one case recorded, one running and one queued behind it
                    assert proc.poll() is None and time.monotonic() < deadline, "never saw a queued pair"
                    jobs = http.get("/v1/stats").json()["data"]["jobs"]
                    recorded = len(results.read_bytes().splitlines()) if results.exists() else 0
                    if recorded >= 1 and jobs["running"] == 1 and jobs["queued"] == 1:
                        break
                    time.sleep(0.02)
            workers = _children(proc.pid)  # its analysis workers
            assert workers
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            deadline = time.monotonic() + 10
            while any(Path(f"/proc/{pid}").exists() for pid in workers):  # they end with it, not linger
                assert time.monotonic() < deadline, f"analysis workers {workers} outlived the killed matrix"
                time.sleep(0.1)
        finally:
            if proc.poll() is None:
                proc.kill()
        before = results.read_bytes().splitlines(keepends=True)
        assert 1 <= len(before) < len(ids)
        again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    after = results.read_bytes().splitlines(keepends=True)
    assert after[: len(before)] == before  # nothing recorded before the kill changes
    records = [CaseRecord.model_validate_json(line) for line in after]
    assert sorted(r.case_id for r in records) == sorted(ids)  # every case once: none lost, none twice
    assert all(r.status == "ok" and (tmp_path / "killpair" / r.audio[0]).stat().st_size > 100_000 for r in records)
    assert not [p for p in (tmp_path / "killpair" / "audio").rglob("*") if p.name.startswith(".")]


def _rec(case_id: str, status: str, error_type: str | None = None) -> CaseRecord:
    return CaseRecord(case_id=case_id, server="ref", server_url="http://x", engine="e", task="text2music",
                      model="m", case={}, status=status, error_type=error_type,
                      retryable=error_type == "UnknownTask")


def test_summary_counts_cases_whose_final_record_failed_and_retries_apart() -> None:
    summary = RunSummary(run_dir=Path("x"), cases=3, servers=["ref"])
    tally = _Tally(summary, None, None, None)
    history = [_rec("a", "failed", "UnknownTask"), _rec("b", "failed", "TaskFailed"), _rec("a", "ok"),
               _rec("c", "failed", "UnknownTask"), _rec("c", "failed", "UnknownTask"), _rec("c", "ok")]
    for rec in history:
        tally.settle(rec)
    latest = {r.key: r for r in history}
    assert summary.ran == 3 and summary.retried == 3
    assert tally.final_failures(latest) == 1  # only b: a and c were lost, then made it


def test_server_job_time_is_the_whole_job_when_the_backend_reports_a_total() -> None:
    from types import SimpleNamespace

    from acekit.matrix.runner import _server_job_seconds

    def result(info: str) -> SimpleNamespace:
        return SimpleNamespace(items=[SimpleNamespace(generation_info=info)])

    # the reference backend now: the total covers the mp3 encode the parts leave out
    assert _server_job_seconds(result("seeds: 1\nsimulated compute: 2.00 s; render: 0.30 s; total: 3.10 s")) == 3.1
    assert _server_job_seconds(result("simulated compute: 2.00 s; render: 0.30 s")) == 2.3  # older servers
    assert _server_job_seconds(result("Total time: 1.25 s")) == 1.25
    assert _server_job_seconds(result("steps 8")) is None


class _RunningJobSampler:
    """Stands in for the GPU behind a gateway: the memory figure of whichever job the server runs now.

    The k-th job to start reads 5000 - 100 k MiB (later jobs smaller), nothing running reads 100: a
    case queued behind a running one that got charged the running job's memory would show a figure
    above its own.
    """

    source = "fake"
    supported = True

    def __init__(self, log: Path) -> None:
        self.log = log

    def gpu(self) -> Any:
        from acekit.capabilities.defaults import GpuInfo

        return GpuInfo(name="Fake GPU", memory_total_mb=16384, compute_capability="8.6")

    def used_memory_mb(self) -> float | None:
        started: list[str] = []
        running: set[str] = set()
        for m in (_LINE.match(line) for line in self.log.read_text(errors="replace").splitlines()):
            if m and m.group(3):
                started.append(m.group(4))
                running.add(m.group(4))
            elif m and m.group(5):
                running.discard(m.group(4))
        now = [k for k, tid in enumerate(started) if tid in running]
        return 5000.0 - 100 * now[0] if now else 100.0


def test_through_a_gateway_a_queued_case_is_never_charged_the_running_jobs_memory(tmp_path: Path) -> None:
    import threading

    import uvicorn

    from acekit.gateway import GatewaySettings, create_app
    from acekit.reference.launch import free_port

    text = AHEAD_SPEC.replace("[tasks.repaint]\nbpm = [90, 120]\nrepaint_starts_s = [2.0]\nrepaint_lengths_s = [4.0]\n",
                              "")
    log = tmp_path / "ref.log"
    with running_reference_server("--output-dir", str(tmp_path / "out"), "--job-seconds", "1:1",
                                  log_path=log) as upstream:
        app = create_app(GatewaySettings(upstream=upstream, sampler_interval_s=0.05),
                         sampler=_RunningJobSampler(log))
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while not server.started:
                assert time.monotonic() < deadline, "gateway did not start"
                time.sleep(0.05)
            events: list[dict] = []
            summary = run_matrix(parse_spec(text), text, [parse_server(f"gw=http://127.0.0.1:{port}")],
                                 out_dir=tmp_path / "runs", progress=False, trace=events.append)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    assert summary.ran == 4 and summary.failed == 0
    order = [m.group(4) for m in map(_LINE.match, log.read_text(errors="replace").splitlines())
             if m and m.group(3)]
    task_of = {e["case"]: e["task_id"] for e in events if e["event"] == "submitted"}
    records = RunStore(tmp_path / "runs" / "ahead").latest()
    assert any((r.queued_behind_own_s or 0) > 0.3 for r in records.values())  # cases did queue behind others
    for r in records.values():
        assert r.memory_source == "fake"
        assert r.peak_gpu_memory_mb == 5000.0 - 100 * order.index(task_of[r.case_id]), r.case_id
