"""``acekit capabilities RUN_DIR``: a document that validates against the published JSON Schema and
says what the run measured (verdicts, recommended ranges, cost per audio second)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from acekit.capabilities.schema import SCHEMA_VERSION, Capabilities
from acekit.contract import TaskType
from acekit.matrix.store import RunStore

SPEC = """
name = "caps"
[grid]
bpm = [100, 128]
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


def acekit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "acekit", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def run_dir(reference_server: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("caps-run")
    (root / "caps.toml").write_text(SPEC)
    # The spec's aiff cover fails on purpose: --allow-failures, else the matrix exits 1 for it.
    proc = acekit("matrix", str(root / "caps.toml"), "--server", f"ref={reference_server}", "--out", str(root),
                  "--poll-interval-s", "0.1", "--allow-failures")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root / "caps"


@pytest.fixture(scope="module")
def doc(run_dir: Path) -> dict:
    proc = acekit("capabilities", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def schema() -> dict:
    proc = acekit("capabilities", "--schema")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_document_validates_against_the_published_schema(doc: dict, schema: dict) -> None:
    jsonschema.validate(doc, schema)
    assert schema == Capabilities.model_json_schema()
    assert doc["schema_version"] == SCHEMA_VERSION and doc["source"] == "matrix"
    # and the schema is strict enough to catch a broken document
    broken = json.loads(json.dumps(doc))
    broken["tasks"]["text2music"]["verdict"] = "great"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_tasks_reflect_the_run(doc: dict, run_dir: Path) -> None:
    records = list(RunStore(run_dir).latest().values())
    assert {t.value for t in TaskType} == set(doc["tasks"])  # every task of the contract is listed
    t2m, cover = doc["tasks"]["text2music"], doc["tasks"]["cover"]
    assert t2m["verdict"] == "viable", t2m["reasons"]
    assert cover["verdict"] == "not_viable" and any("aiff" in r for r in cover["reasons"])
    for task in ("repaint", "lego", "extract", "complete"):
        assert doc["tasks"][task]["verdict"] == "untested"
        assert any("not measured" in r for r in doc["tasks"][task]["reasons"])
    assert all(any("not ACE-Step" in r for r in t["reasons"]) for t in doc["tasks"].values())
    assert doc["backend"]["engine"] == "acekit-reference" and doc["backend"]["name"] == "ref"

    ok = [r for r in records if r.task == "text2music" and r.status == "ok"]
    assert len(ok) == 2 == t2m["cost"]["cases"] and t2m["cost"]["failures"] == 0
    assert (cover["cost"]["cases"], cover["cost"]["failures"]) == (1, 1)
    # recommended ranges come from what passed
    rec = t2m["recommended"]
    passed_bpm = sorted(r.case["bpm"] for r in ok if all(r.passed.values()))
    assert (rec["bpm_min"], rec["bpm_max"]) == (passed_bpm[0], passed_bpm[-1]) == (100, 128)
    assert rec["default_steps"] == 4 and rec["max_duration_s"] == 10.0 and rec["model"] == "acestep-v15-turbo"
    # measured cost per audio second, recomputed from the store
    spa = statistics.median(r.server_job_s / r.analysis["health.duration_s"] for r in ok)
    assert t2m["cost"]["seconds_per_audio_second"] == pytest.approx(spa, rel=1e-3, abs=1e-4)
    assert t2m["cost"]["memory_source"] == "unknown" and t2m["cost"]["peak_gpu_memory_mb"] is None
    # limits and thresholds travel with the document
    assert doc["limits"]["bpm_min"] <= 100 and doc["limits"]["bpm_max"] >= 128
    assert doc["thresholds"]["viable_success_rate"] == 0.95
    assert doc["runs"] == [RunStore(run_dir).read_manifest().run_id]


def test_document_says_how_far_each_check_holds(doc: dict) -> None:
    """The plugin learns which verdicts rest on checks that missed their targets on unseen music."""
    from acekit.analysis.trust import CHECK_TRUST
    from acekit.verdicts import DEFAULT_THRESHOLDS

    counted = {c for checks in DEFAULT_THRESHOLDS.checks.values() for c in checks}
    assert set(doc["checks"]) == counted
    for name, c in doc["checks"].items():
        trust = CHECK_TRUST.get(name)
        assert sorted(c["counted_for"]) == sorted(t for t, cs in DEFAULT_THRESHOLDS.checks.items() if name in cs)
        if trust is None or not trust.figures:
            assert c["meets_targets"] is None and c["figures"] == []
            continue
        assert [(f["metric"], f["measured"], f["target"]) for f in c["figures"]] == \
            [(f.metric, f.measured, f.target) for f in trust.figures]
        # met is the numbers' verdict, figure by figure and for the check
        assert all(f["met"] == (f["measured"] >= f["target"]) for f in c["figures"])
        assert c["meets_targets"] == all(f["met"] for f in c["figures"])
        assert c["measured_on"] == trust.measured_on and c["misses"] == trust.misses
    for task, cap in doc["tasks"].items():
        expected = [n for n, c in doc["checks"].items() if task in c["counted_for"] and c["meets_targets"] is not True]
        assert cap["unproven_checks"] == expected
    # as measured (issue 11): key adherence has not held on unseen music, repaint's own checks have
    assert doc["checks"]["key"]["meets_targets"] is False and "key" in doc["tasks"]["text2music"]["unproven_checks"]
    assert "key" in doc["tasks"]["cover"]["unproven_checks"]
    # the beat grid was measured blind (holdout4-7) and missed acekit's 0.95 on in-tempo pieces
    assert doc["checks"]["beat_grid"]["meets_targets"] is False and doc["checks"]["beat_grid"]["figures"]
    assert "beat_grid" in doc["tasks"]["text2music"]["unproven_checks"]
    assert not {"boundaries", "preservation", "health"} & set(doc["tasks"]["repaint"]["unproven_checks"])
    assert doc["tasks"]["extract"]["unproven_checks"] == []  # health only, which held


def test_out_file_loads_in_the_gateway(run_dir: Path, tmp_path: Path) -> None:
    from acekit.gateway.capabilities import load_capabilities_file

    out = tmp_path / "capabilities.json"
    proc = acekit("capabilities", str(run_dir), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    loaded = load_capabilities_file(out)
    assert loaded.viable_tasks() == [TaskType.text2music]


def test_errors_say_what_to_pass(tmp_path: Path, run_dir: Path) -> None:
    proc = acekit("capabilities", str(tmp_path))
    assert proc.returncode == 2 and "not a matrix run directory" in proc.stderr
    proc = acekit("capabilities", str(run_dir), "--backend", "t4")
    assert proc.returncode == 2 and "choose from ref" in proc.stderr
