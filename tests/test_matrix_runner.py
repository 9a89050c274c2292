"""The matrix runner against real reference backends: resume after SIGKILL, failures with reasons,
a server that dies mid-run, two servers at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from acekit.matrix.runner import MatrixError, parse_server, run_matrix
from acekit.matrix.spec import expand_cases, parse_spec
from acekit.matrix.store import CaseRecord, Manifest, RunStore
from acekit.reference.launch import free_port, wait_healthy

KILL_SPEC = """
name = "killme"
[grid]
bpm = [90, 100, 110, 120, 130]
keys = ["A minor"]
durations_s = [10.0]
steps = [4]
audio_format = "wav"
[tasks.text2music]
"""

DOWN_SPEC = """
name = "down"
[grid]
bpm = [90, 100, 120]
keys = ["C major"]
durations_s = [10.0]
steps = [4]
audio_format = "wav"
[tasks.text2music]
[tasks.cover]
bpm = [100]
# aiff is no format upstream writes: the cover request is rejected (400), on purpose.
extra = {audio_format = "aiff"}
"""


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True) if path.exists() else []


def test_resume_after_sigkill_neither_redoes_nor_loses_a_case(reference_server: str, tmp_path: Path) -> None:
    spec_path = tmp_path / "kill.toml"
    spec_path.write_text(KILL_SPEC)
    all_ids = {c.id for c in expand_cases(parse_spec(KILL_SPEC))}
    cmd = [sys.executable, "-m", "acekit", "matrix", str(spec_path), "--server", f"ref={reference_server}",
           "--out", str(tmp_path), "--poll-interval-s", "0.1"]
    results = tmp_path / "killme" / "results.jsonl"

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(_lines(results)) < 2:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the matrix recorded nothing within 60 s"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # no handler runs: the store must already be consistent
    proc.wait()
    before = _lines(results)
    assert 2 <= len(before) < len(all_ids), "killed too late to test a resume"
    # A kill can tear the last line on some filesystems; simulate that worst case.
    with open(results, "ab") as fh:
        fh.write(b'{"case_id": "torn-by-kill", "server": "ref", "sta')

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"skipped {len(before)} already recorded" in rerun.stdout
    after = _lines(results)
    assert after[: len(before)] == before  # lines recorded before the kill are untouched
    recs = [CaseRecord.model_validate_json(line) for line in after]  # every line parses
    ids = [r.case_id for r in recs]
    assert sorted(ids) == sorted(all_ids)  # each case exactly once: none redone, none lost
    assert all(r.status == "ok" and r.audio for r in recs)
    for r in recs:
        assert (tmp_path / "killme" / r.audio[0]).stat().st_size > 100_000  # 10 s of wav, whole
    leftovers = [p for p in (tmp_path / "killme" / "audio").rglob("*") if p.name.startswith(".")]
    assert leftovers == []
    manifest = RunStore(tmp_path / "killme").read_manifest()
    assert manifest.finished_at is not None and len(manifest.sessions) == 2

    # A third run has nothing to do.
    third = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert third.returncode == 0 and "ran 0" in third.stdout and _lines(results) == after


def _private_reference(tmp_path: Path, port: int) -> subprocess.Popen:
    out = tmp_path / f"ref-{port}-{time.monotonic_ns()}"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "acekit", "serve-reference", "--host", "127.0.0.1", "--port",
                             str(port), "--output-dir", str(out), "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_healthy(f"http://127.0.0.1:{port}", proc=proc)
    return proc


def test_two_servers_one_dies_failures_are_recorded_and_a_rerun_finishes(reference_server: str,
                                                                        tmp_path: Path) -> None:
    spec = parse_spec(DOWN_SPEC)
    cases = expand_cases(spec)
    port = free_port()
    flaky = _private_reference(tmp_path, port)
    servers = [parse_server(f"steady={reference_server}"), parse_server(f"flaky=http://127.0.0.1:{port}")]
    seen: list[tuple[str, str]] = []

    def kill_flaky_after_two(label: str, rec: CaseRecord | None) -> None:
        seen.append((label, rec.status if rec else ""))
        if label == "flaky" and sum(1 for s in seen if s[0] == "flaky") == 2:
            flaky.kill()
            flaky.wait()

    try:
        # Inline analysis: "two cases done" then means two cases generated (pipelined, more would be).
        summary = run_matrix(spec, DOWN_SPEC, servers, out_dir=tmp_path, hook=kill_flaky_after_two,
                             progress=False, poll_interval_s=0.1, analysis_workers=0)
    finally:
        if flaky.poll() is None:
            flaky.kill()
    store = RunStore(tmp_path / "down")
    latest = store.latest()

    # The steady server did every case; its cover request was rejected, with the server's reason.
    steady = {cid: r for (srv, cid), r in latest.items() if srv == "steady"}
    assert set(steady) == {c.id for c in cases}
    cover = [r for r in steady.values() if r.task == "cover"]
    assert len(cover) == 1 and cover[0].status == "failed" and not cover[0].retryable
    assert cover[0].error_type == "BadRequest" and "aiff" in cover[0].reason
    assert cover[0].request["audio_format"] == "aiff"
    assert all(r.status == "ok" for r in steady.values() if r.task != "cover")

    # The flaky one: two cases done, then connection failures recorded with their reason, then it stopped.
    flaky_recs = [r for r in store.records() if r.server == "flaky"]
    assert [r.status for r in flaky_recs[:2]] == ["ok", "ok"]
    unreachable = [r for r in flaky_recs if r.status == "failed"]
    assert unreachable and all(r.retryable and r.error_type == "ServerUnreachable" for r in unreachable)
    assert all("127.0.0.1" in r.reason for r in unreachable)
    assert "flaky" in summary.stopped and summary.pending > 0
    assert store.read_manifest().finished_at is None

    # The server comes back (same label, new process): the rerun redoes only what the outage cost.
    flaky = _private_reference(tmp_path, port)
    try:
        ran_before = {cid for (srv, cid), r in store.done().items() if srv == "flaky"}
        summary2 = run_matrix(spec, DOWN_SPEC, servers, out_dir=tmp_path, progress=False, poll_interval_s=0.1)
    finally:
        flaky.kill()
        flaky.wait()
    assert summary2.ran == len(cases) - len(ran_before) and not summary2.stopped
    latest = store.latest()
    assert {cid for (srv, cid) in latest if srv == "flaky"} == {c.id for c in cases}
    for (srv, cid), r in latest.items():
        assert (r.status == "ok") == (r.task != "cover"), (srv, r.label, r.reason)
    # nothing recorded before was rewritten; the new records only append
    assert all(json.loads(line) for line in _lines(store.results_path))
    assert store.read_manifest().finished_at is not None


def test_a_server_down_from_the_start_is_skipped_and_reported(tmp_path: Path) -> None:
    spec = parse_spec(KILL_SPEC)
    dead = parse_server(f"dead=http://127.0.0.1:{free_port()}")
    summary = run_matrix(spec, KILL_SPEC, [dead], out_dir=tmp_path, progress=False)
    assert summary.ran == 0 and summary.pending == len(expand_cases(spec)) and "dead" in summary.stopped
    cli = subprocess.run([sys.executable, "-m", "acekit", "matrix", "--server", dead.url, "--out", str(tmp_path),
                          "--name", "cli"], capture_output=True, text=True, timeout=60)
    assert cli.returncode == 1 and "rerun the same command" in cli.stderr


def test_runner_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    spec = parse_spec(KILL_SPEC)
    with pytest.raises(MatrixError, match="no server"):
        run_matrix(spec, KILL_SPEC, [], out_dir=tmp_path, progress=False)
    with pytest.raises(MatrixError, match="share a label"):
        run_matrix(spec, KILL_SPEC, [parse_server("a=http://x:1"), parse_server("a=http://y:1")], out_dir=tmp_path)
    with pytest.raises(MatrixError, match="not a URL"):
        parse_server("localhost:8001")
    # a run directory of another spec is never mixed into
    other = parse_spec(KILL_SPEC.replace("steps = [4]", "steps = [5]"))
    RunStore(tmp_path / "killme").write_manifest(
        Manifest(run_id="x", spec_name="killme", spec_hash="000000000000", cases=1))
    with pytest.raises(MatrixError, match="different spec"):
        run_matrix(other, KILL_SPEC, [parse_server("http://127.0.0.1:1")], out_dir=tmp_path, progress=False)


PIPE_SPEC = """
name = "pipe"
[grid]
bpm = [96, 120]
keys = ["A minor"]
durations_s = [10.0]
steps = [4]
audio_format = "wav"
seeds = [11]
[tasks.text2music]
[tasks.repaint]
repaint_starts_s = [3.0]
repaint_lengths_s = [3.0]
"""


def test_pipelined_analysis_records_what_inline_analysis_records_and_resumes(reference_server: str,
                                                                             tmp_path: Path) -> None:
    spec = parse_spec(PIPE_SPEC)
    cases = expand_cases(spec)
    assert any(c.needs_source for c in cases)  # repaint reads a generated clip: sources from memory too
    server = [parse_server(f"ref={reference_server}")]
    inline = run_matrix(spec, PIPE_SPEC, server, out_dir=tmp_path / "inline", progress=False, analysis_workers=0)
    piped = run_matrix(spec, PIPE_SPEC, server, out_dir=tmp_path / "piped", progress=False, analysis_workers=1)
    assert inline.ran == piped.ran == len(cases) and piped.failed == inline.failed == 0

    def judged(run: str) -> dict:
        latest = RunStore(tmp_path / run / "pipe").latest()
        return {cid: (r.status, r.analysis, r.passed, getattr(r, "analysis_error", None)) for (_, cid), r in latest.items()}

    a, b = judged("inline"), judged("piped")
    assert set(a) == {c.id for c in cases} and a == b
    assert all(fig for _, fig, _, _ in b.values())  # every clip was analysed, not just recorded
    again = run_matrix(spec, PIPE_SPEC, server, out_dir=tmp_path / "piped", progress=False, analysis_workers=1)
    assert again.ran == 0 and again.skipped == len(cases)


UNLOADED_SPEC = """
name = "unloaded"
[grid]
models = ["acestep-v15-turbo", "acestep-v15-base"]
bpm = [100]
keys = ["A minor"]
durations_s = [10.0]
steps = [2]
audio_format = "wav"
[tasks.text2music]
"""


def test_a_case_the_server_ran_on_another_model_is_recorded_failed_with_why(start_reference,
                                                                            tmp_path: Path) -> None:
    # Base is on disk but not loaded: upstream (and the reference) run a request for it on the primary,
    # turbo, without an error. Filed under base, that clip would misreport base.
    url = start_reference("--models", "acestep-v15-turbo", "--downloaded-models", "acestep-v15-base",
                          "--seconds-per-step", "0")
    spec = parse_spec(UNLOADED_SPEC)
    summary = run_matrix(spec, UNLOADED_SPEC, [parse_server(f"t4={url}")], out_dir=tmp_path, progress=False,
                         poll_interval_s=0.1, analysis_workers=0)
    latest = RunStore(tmp_path / "unloaded").latest()
    by_model = {rec.model: rec for rec in latest.values()}
    assert by_model["acestep-v15-turbo"].status == "ok"
    base = by_model["acestep-v15-base"]
    assert base.status == "failed" and base.error_type == "ModelNotServed" and not base.retryable
    assert "asked for model acestep-v15-base but the server ran acestep-v15-turbo" in base.reason
    assert "ACESTEP_CONFIG_PATH2=acestep-v15-base" in base.reason
    assert summary.failed == 1
