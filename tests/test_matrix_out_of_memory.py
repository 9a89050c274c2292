"""Out of memory in the matrix: recorded as "does not fit", shown as such, and kept by the capabilities.

End to end against the reference backend pretending to be a 16 GB T4 (fp32): it fails the XL model
with a simulated CUDA out-of-memory error, as ACE-Step would there (XL's fp32 weights alone are ~18.6 GB).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from acekit.capabilities import Capabilities
from acekit.fit import is_out_of_memory
from acekit.matrix.store import RunStore

SPEC = """
name = "oom"
[grid]
models = ["acestep-v15-turbo", "acestep-v15-xl-turbo"]
bpm = [120]
keys = ["C major"]
durations_s = [10.0]
steps = [2]
audio_format = "wav"

[tasks.text2music]
"""


def acekit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "acekit", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from acekit.reference.launch import running_reference_server

    root = tmp_path_factory.mktemp("oom-run")
    (root / "oom.toml").write_text(SPEC)
    with running_reference_server("--output-dir", str(root / "ref"), "--pretend-gpu", "T4", "--seconds-per-step", "0",
                                  "--models", "acestep-v15-turbo,acestep-v15-xl-turbo",
                                  log_path=root / "server.log") as url:
        proc = acekit("matrix", str(root / "oom.toml"), "--server", f"t4={url}", "--out", str(root),
                      "--poll-interval-s", "0.1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root / "oom"


def test_oom_case_is_recorded_as_does_not_fit(run_dir: Path) -> None:
    records = {r.model: r for r in RunStore(run_dir).records()}
    assert records["acestep-v15-turbo"].status == "ok"
    xl = records["acestep-v15-xl-turbo"]
    assert xl.status == "does_not_fit" and xl.error_type == "OutOfMemory" and "out of memory" in xl.reason


def test_report_shows_does_not_fit(run_dir: Path) -> None:
    proc = acekit("report", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    html = (run_dir / "report.html").read_text()
    assert 'data-status="does_not_fit"' in html and ">does not fit<" in html
    md = (run_dir / "report.md").read_text()
    assert "## Does not fit (out of GPU memory)" in md and "acestep-v15-xl-turbo" in md
    # the limit itself, as the capabilities carry it
    assert 'id="memory-limits"' in html and 'data-model="acestep-v15-xl-turbo" data-source="matrix"' in html
    assert "| t4 | acestep-v15-xl-turbo | nothing fits | matrix |" in md


def test_capabilities_from_the_run_keep_the_limit(run_dir: Path) -> None:
    proc = acekit("capabilities", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    doc = Capabilities.model_validate(json.loads(proc.stdout))
    t2m = doc.tasks["text2music"]
    limit = doc.fit.limit("acestep-v15-xl-turbo", 1)
    assert limit.source == "matrix" and limit.max_duration_s is None and "ran out of GPU memory at 10 s" in limit.reason
    assert doc.fit.limit("acestep-v15-xl-turbo", 4).max_duration_s is None
    assert t2m.recommended.model == "acestep-v15-turbo" and t2m.verdict.value != "not_viable"
    assert any("acestep-v15-xl-turbo: 1 case(s) do not fit in GPU memory" in r for r in t2m.reasons)


def test_out_of_memory_messages() -> None:
    assert is_out_of_memory("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")
    assert is_out_of_memory("RuntimeError: CUBLAS_STATUS_ALLOC_FAILED when calling cublasCreate(handle)")
    assert not is_out_of_memory("audio_duration 900 s out of range")
    assert not is_out_of_memory(None)


def test_report_limits_follow_the_gpu_the_telemetry_named() -> None:
    from acekit.matrix.store import CaseRecord
    from acekit.report.build import limits_section, memory_limits

    def rec(model: str, duration: float, status: str) -> CaseRecord:
        return CaseRecord(case_id=f"{model}{duration:g}", server="t4", server_url="http://t4", engine="ACE-Step",
                          task="text2music", model=model, case={"duration_s": duration}, status=status)

    records = [rec("acestep-v15-turbo", 60, "ok"), rec("acestep-v15-base", 120, "ok"),
               rec("acestep-v15-base", 600, "does_not_fit")]
    backend = {"label": "t4", "gpu": "Tesla T4", "gpu_memory_total_mb": 15360.0}
    rows = {(x["model"], x["source"]): x["max_duration_s"] for x in memory_limits([backend], records)}
    # turbo: the fit model's 240 s (eager attention on the T4); base: the matrix's out-of-memory at 600 s binds
    # (120 s ran), tighter than the fit model's 130 s
    assert rows == {("acestep-v15-turbo", "fit model"): 240, ("acestep-v15-base", "matrix"): 120}
    assert "| t4 | acestep-v15-base | 120 s | matrix |" in limits_section(memory_limits([backend], records))
    assert memory_limits([{"label": "t4", "gpu": None, "gpu_memory_total_mb": None}], records[:2]) == []
