"""``GET /v1/capabilities``: from a matrix file (validated, reloaded on change) or the conservative default."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from acekit.capabilities import Capabilities, Verdict
from acekit.capabilities.defaults import GpuInfo, default_capabilities, models_from_payload
from acekit.capabilities.schema import BackendInfo, TaskCapability
from acekit.contract import BASE_ONLY_TASKS, TaskType
from acekit.gateway import GatewaySettings, NullSampler, create_app
from acekit.gateway.capabilities import CapabilitiesFileError, load_capabilities_file
from acekit.reference.launch import free_port

T4 = GpuInfo(name="Tesla T4", memory_total_mb=15360, compute_capability="7.5")
SPARK = GpuInfo(name="NVIDIA GB10", memory_total_mb=None, compute_capability="12.1", unified_memory=True)
L4 = GpuInfo(name="NVIDIA L4", memory_total_mb=23034, compute_capability="8.9")
H100 = GpuInfo(name="NVIDIA H100 80GB HBM3", memory_total_mb=81559, compute_capability="9.0")
INVENTORY = {
    "models": [
        {"name": "acestep-v15-turbo", "is_default": True, "supported_task_types": ["text2music", "repaint", "cover", "cover-nofsq"]},
        {"name": "acestep-v15-base", "is_default": False,
         "supported_task_types": ["text2music", "repaint", "cover", "cover-nofsq", "extract", "lego", "complete"]},
    ],
    "default_model": "acestep-v15-turbo",
}
TURBO_ONLY = {"models": [{"name": "acestep-v15-turbo", "is_default": True}], "default_model": "acestep-v15-turbo"}


class GpuOnlySampler(NullSampler):
    """Reports a GPU but no memory readings (capabilities only need the GPU)."""

    def __init__(self, gpu: GpuInfo) -> None:
        super().__init__()
        self._gpu = gpu

    def gpu(self) -> GpuInfo:
        return self._gpu


def test_models_from_payload_reads_inventory_and_drops_unknown_task_types() -> None:
    models = models_from_payload(INVENTORY)
    assert [m.name for m in models] == ["acestep-v15-turbo", "acestep-v15-base"]
    assert models[0].is_default and models[0].max_steps == 20 and models[1].max_steps == 200
    assert set(models[1].supported_task_types) == set(TaskType)  # cover-nofsq dropped, no error
    assert [m.name for m in models_from_payload({"data": [{"id": "acestep-v15-turbo"}]})] == ["acestep-v15-turbo"]
    assert models_from_payload(None) == [] and models_from_payload({"models": "junk"}) == []


def test_default_is_never_viable_and_base_tasks_need_a_base_model() -> None:
    both = default_capabilities(L4, INVENTORY)
    assert both.source == "default" and not both.viable_tasks()
    assert {t: c.verdict for t, c in both.tasks.items()} == {t: Verdict.marginal for t in TaskType}
    for task in BASE_ONLY_TASKS:
        assert both.tasks[task].models == ["acestep-v15-base"]
        assert both.tasks[task].recommended.model == "acestep-v15-base"
    assert both.tasks[TaskType.text2music].recommended.model == "acestep-v15-turbo"

    turbo = default_capabilities(L4, TURBO_ONLY)
    for task in TaskType:
        want = Verdict.untested if task in BASE_ONLY_TASKS else Verdict.marginal
        assert turbo.tasks[task].verdict == want, task
    assert "needs a base (non-turbo) DiT" in turbo.tasks[TaskType.lego].reasons[0]

    unknown = default_capabilities(L4, None)
    assert all(c.verdict == Verdict.untested for c in unknown.tasks.values())


def test_recommendations_come_from_the_fit_model() -> None:
    inventory = {"models": INVENTORY["models"] + [
        {"name": "acestep-v15-xl-turbo", "supported_task_types": ["text2music", "repaint", "cover"]}]}
    t4, spark, l4, h100, none = (default_capabilities(g, inventory) for g in (T4, SPARK, L4, H100, None))
    text, lego = TaskType.text2music, TaskType.lego
    # T4: Turing, no bf16 -> fp32 and eager attention (upstream's choice below sm_80); 14.58 GB: turbo batch 1
    # to 240 s, base to 130 s (eager attention's matrices bound them), no batch 4, no XL, no LM.
    assert not T4.has_bf16 and T4.is_turing and t4.backend.name == "t4"
    assert t4.fit.dtype == "fp32" and t4.fit.memory_gib == pytest.approx(14.58)
    rec = t4.tasks[text].recommended
    assert t4.fit.attention == "eager"
    assert (rec.model, rec.max_duration_s, rec.max_batch, rec.thinking) == ("acestep-v15-turbo", 240, 1, False)
    assert t4.tasks[lego].recommended.max_duration_s == 130
    assert "acestep-v15-xl-turbo" not in t4.tasks[text].models
    assert t4.fit.limit("acestep-v15-turbo", 4).max_duration_s is None
    assert t4.fit.limit("acestep-v15-xl-turbo", 1).max_duration_s is None
    assert not t4.fit.thinking and "does not fit" in t4.fit.thinking_reason
    reasons = " ".join(t4.tasks[text].reasons)
    assert "no native bf16" in reasons and "1274" in reasons
    assert "max duration: batch 1 up to 240 s fits in 14.6 GB at fp32" in reasons and "max batch 1:" in reasons
    assert "eager attention" in reasons
    # Spark: everything fits, XL and the LM included; the reason names the cuBLAS risk.
    assert SPARK.is_spark and spark.backend.name == "spark"
    assert spark.fit.thinking and spark.tasks[text].recommended.thinking
    assert "acestep-v15-xl-turbo" in spark.tasks[text].models
    assert spark.fit.attention == "sdpa" and all(x.max_duration_s == 600 for x in spark.fit.limits)
    assert any("cuBLAS" in r for r in spark.tasks[text].reasons)
    # More memory never recommends less.
    for task in TaskType:
        durations = [c.tasks[task].recommended.max_duration_s for c in (none, t4, l4, h100)]
        assert durations == sorted(durations), task
    assert h100.tasks[lego].recommended.default_steps >= 32
    assert h100.tasks[text].recommended.default_steps == 8
    # No GPU seen: no budget, said plainly.
    assert none.fit is None and "sees no GPU" in none.tasks[text].reasons[-1]


def test_configured_dtype_and_lm_change_the_budget() -> None:
    fp16 = default_capabilities(T4, INVENTORY, dtype="float16", lm="acestep-5Hz-lm-0.6B")
    assert fp16.fit.dtype == "fp16" and fp16.fit.lm == "0.6B" and fp16.fit.thinking
    off = default_capabilities(T4, INVENTORY, offload=True)
    # offloading lengthens batch 4 to 150 s; eager attention's matrices (4 x 1.1 GiB at 240 s) stop it there
    assert off.fit.offload and off.fit.limit("acestep-v15-turbo", 4).max_duration_s == 150


def _matrix_doc(verdict: Verdict = Verdict.viable, name: str = "t4") -> Capabilities:
    return Capabilities(
        source="matrix", backend=BackendInfo(name=name, engine="ACE-Step"),
        tasks={TaskType.text2music: TaskCapability(task=TaskType.text2music, verdict=verdict, reasons=["measured"])},
        runs=["run-1"],
    )


def test_capabilities_file_served_and_reloaded_on_change(reference_server: str, tmp_path: Path) -> None:
    path = tmp_path / "capabilities.json"
    path.write_text(_matrix_doc(name="first").to_json())
    app = create_app(GatewaySettings(upstream=reference_server, capabilities_file=path), sampler=NullSampler())
    with TestClient(app) as gw:
        r = gw.get("/v1/capabilities")
        assert r.status_code == 200
        body = r.json()
        assert set(body) == {"data", "code", "error", "timestamp", "extra"} and body["code"] == 200
        doc = Capabilities.model_validate(body["data"])
        assert doc.source == "matrix" and doc.backend.name == "first" and body["extra"]["origin"] == "file"

        # The matrix writes a new file next to it and renames it over the old one.
        tmp = tmp_path / "capabilities.json.tmp"
        tmp.write_text(_matrix_doc(verdict=Verdict.not_viable, name="second").to_json())
        os.replace(tmp, path)
        doc = Capabilities.model_validate(gw.get("/v1/capabilities").json()["data"])
        assert doc.backend.name == "second" and doc.tasks[TaskType.text2music].verdict == Verdict.not_viable

        # A broken rewrite keeps the last good document and says why.
        path.write_text('{"schema_version": "1.0", "source": "matrix"}')
        body = gw.get("/v1/capabilities").json()
        assert Capabilities.model_validate(body["data"]).backend.name == "second"
        assert "not a valid capabilities document" in body["extra"]["warning"]


def test_capabilities_env_variable_and_missing_file(reference_server: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "later.json"
    monkeypatch.setenv("ACEKIT_CAPABILITIES", str(path))
    settings = GatewaySettings(upstream=reference_server)
    assert settings.capabilities_file == path
    with TestClient(create_app(settings, sampler=GpuOnlySampler(T4))) as gw:
        body = gw.get("/v1/capabilities").json()
        assert body["data"]["source"] == "default" and "does not exist" in body["extra"]["warning"]
        path.write_text(_matrix_doc().to_json())  # the matrix finishes: no restart needed
        assert gw.get("/v1/capabilities").json()["data"]["source"] == "matrix"


def test_default_from_the_upstream_models_and_the_gpu(reference_server: str) -> None:
    with TestClient(create_app(GatewaySettings(upstream=reference_server), sampler=GpuOnlySampler(T4))) as gw:
        body = gw.get("/v1/capabilities").json()
    doc = Capabilities.model_validate(body["data"])
    assert doc.source == "default" and body["extra"]["origin"] == "default"
    assert doc.backend.gpu_name == "Tesla T4" and doc.backend.engine == "acekit-reference"
    # The reference backend loads a turbo and a base model. On a T4 both float32 DiTs stay on the GPU (upstream's
    # own offload, on under 20 GB, moves only the text encoder, VAE and LM): nothing fits, and the document says so.
    assert {m.name for m in doc.models} == {"acestep-v15-turbo", "acestep-v15-base"}
    assert doc.fit.loaded_models == ["acestep-v15-turbo", "acestep-v15-base"] and doc.fit.offload
    assert all(c.verdict == Verdict.not_viable for c in doc.tasks.values())
    assert any("DiTs loaded: acestep-v15-turbo, acestep-v15-base" in r for r in doc.tasks["text2music"].reasons)
    # ACESTEP_OFFLOAD_DIT_TO_CPU=true (read by the gateway as upstream reads it) moves them off between uses:
    # then both fit, every task is marginal (listed, not measured)
    settings = GatewaySettings(upstream=reference_server, ACESTEP_OFFLOAD_DIT_TO_CPU="true")
    with TestClient(create_app(settings, sampler=GpuOnlySampler(T4))) as gw:
        doc = Capabilities.model_validate(gw.get("/v1/capabilities").json()["data"])
    assert doc.fit.offload_dit and all(c.verdict == Verdict.marginal for c in doc.tasks.values())


def test_default_without_upstream_is_all_untested() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with TestClient(create_app(GatewaySettings(upstream=dead), sampler=NullSampler())) as gw:
        r = gw.get("/v1/capabilities")
    assert r.status_code == 200
    doc = Capabilities.model_validate(r.json()["data"])
    assert all(c.verdict == Verdict.untested for c in doc.tasks.values())


def test_invalid_file_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"source": "guess"}')
    with pytest.raises(CapabilitiesFileError, match="regenerate it with the matrix"):
        load_capabilities_file(bad)


def test_models_unknown_to_the_fit_model_are_kept_with_a_plain_reason() -> None:
    doc = default_capabilities(T4, {"models": [{"name": "my-finetune", "is_default": True}]})
    text = doc.tasks[TaskType.text2music]
    assert text.models == ["my-finetune"] and text.recommended.model == "my-finetune"
    assert any("unknown to the fit model" in r for r in text.reasons)
