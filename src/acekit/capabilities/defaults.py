"""A conservative capabilities document for a backend nobody has measured yet.

The gateway serves this when no matrix run produced a capabilities file. It is built from
two things the gateway can see without generating audio: the GPU (name, memory, compute
capability) and the model list the ACE-Step server publishes (``/v1/model_inventory`` or
``/v1/models``). Nothing here is a measurement, so no verdict is ever ``viable``:

* text2music, repaint and cover are ``marginal`` on any listed DiT (upstream supports them
  on turbo and base checkpoints; "marginal" tells the plugin to show them as experimental).
* lego, extract and complete are ``marginal`` only when a base (non-turbo) DiT is listed,
  restricted to those models; otherwise ``untested`` (upstream's constants put them on
  base checkpoints only, and its docs say they need one).
* With no model list at all (server unreachable or still starting) every task is ``untested``.

Recommended ranges come from a VRAM tier. They stay well inside upstream's own tier table
(``acestep/gpu_config.py``, which allows 4-10 minutes on most tiers) because a DAW user
waits for the answer and because a default has no evidence behind it. Two targets get
explicit cases, from ../shared/hardware.md:

* **Turing (T4, sm_75)**: no native bf16. Upstream reports NaN audio in fp16 on Turing
  (upstream issue 1274), so the server must run those parts in fp32: twice the weight
  memory and several times slower. Durations are capped lower and the LM ("thinking") is
  off by default, as 16 GB at fp32 leaves little room for it.
* **DGX Spark (GB10, unified memory)**: ~128 GB shared by CPU and GPU, so memory is not the
  limit (a public deployment measured ~11 GB peak for base at 50 steps) but NVML may not
  report it and the torch cu130 build for sm_121 has reported cuBLAS failures: verdicts stay
  marginal with that reason, durations are generous, thinking is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from acekit import contract
from acekit.capabilities.schema import (
    BackendInfo,
    Capabilities,
    ModelInfo,
    RecommendedParams,
    TaskCapability,
    Verdict,
)
from acekit.contract import BASE_ONLY_TASKS, TaskType


class GpuInfo(BaseModel):
    """What the gateway knows about the GPU next to it (from NVML or nvidia-smi)."""

    model_config = ConfigDict(frozen=True)

    name: str
    memory_total_mb: float | None = None
    #: "major.minor", e.g. "7.5" (T4) or "12.1" (GB10); None when the driver did not say.
    compute_capability: str | None = None
    #: True when GPU memory is the system's memory (DGX Spark / GB10, Jetson-class parts).
    unified_memory: bool = False

    @property
    def compute_major_minor(self) -> tuple[int, int] | None:
        if not self.compute_capability:
            return None
        try:
            major, _, minor = self.compute_capability.partition(".")
            return int(major), int(minor or 0)
        except ValueError:
            return None

    @property
    def is_turing(self) -> bool:
        cc = self.compute_major_minor
        if cc is not None:
            return cc == (7, 5)
        name = self.name.upper()
        return any(tag in name for tag in ("T4", "RTX 20", "QUADRO RTX", "GTX 16", "TITAN RTX"))

    @property
    def has_bf16(self) -> bool:
        """Native bf16 needs Ampere (sm_80) or newer."""
        cc = self.compute_major_minor
        if cc is not None:
            return cc >= (8, 0)
        return not self.is_turing

    @property
    def is_spark(self) -> bool:
        return self.unified_memory or "GB10" in self.name.upper()


class _Tier(BaseModel):
    label: str
    max_duration_s: float
    base_max_duration_s: float
    turbo_steps: int
    base_steps: int
    thinking: bool
    why: str


# Dedicated-VRAM tiers (GB lower bound, tier). Weights alone are ~6.7 GB in bf16
# (DiT 4.7 + text encoder 1.2 + VAE 0.3 + context 0.5, upstream gpu_config.MODEL_VRAM);
# smaller cards run with offload, which costs time rather than failing.
_VRAM_TIERS: tuple[tuple[float, _Tier], ...] = (
    (0.0, _Tier(label="<8 GB", max_duration_s=30, base_max_duration_s=30, turbo_steps=8, base_steps=32,
                thinking=False, why="under 8 GB the server offloads models to the CPU; keep clips short")),
    (7.5, _Tier(label="8-12 GB", max_duration_s=60, base_max_duration_s=30, turbo_steps=8, base_steps=32,
                thinking=False, why="8-12 GB holds the DiT but the LM competes for memory")),
    (11.5, _Tier(label="12-16 GB", max_duration_s=120, base_max_duration_s=60, turbo_steps=8, base_steps=32,
                 thinking=False, why="12-16 GB holds DiT and a small LM; base runs CFG (two forwards)")),
    (15.5, _Tier(label="16-24 GB", max_duration_s=180, base_max_duration_s=90, turbo_steps=8, base_steps=32,
                 thinking=True, why="16-24 GB holds DiT, VAE, text encoder and the 1.7B LM")),
    (23.5, _Tier(label=">=24 GB", max_duration_s=240, base_max_duration_s=120, turbo_steps=8, base_steps=50,
                 thinking=True, why="24 GB or more holds every model at once")),
)
_NO_GPU = _Tier(label="no GPU seen", max_duration_s=30, base_max_duration_s=30, turbo_steps=8, base_steps=32,
                thinking=False, why="the gateway sees no GPU (none, or not exposed to its container): assuming the smallest tier")
_TURING = _Tier(label="Turing (no bf16)", max_duration_s=60, base_max_duration_s=30, turbo_steps=8, base_steps=32,
                thinking=False,
                why="Turing has no native bf16 and fp16 gives NaN audio upstream (issue 1274): the server must run "
                    "fp32, which doubles weight memory and is several times slower")
_SPARK = _Tier(label="unified memory (DGX Spark)", max_duration_s=240, base_max_duration_s=120, turbo_steps=8,
               base_steps=50, thinking=True,
               why="GB10 shares ~128 GB with the CPU, so memory is not the limit, but compute is modest and the "
                   "torch cu130 build for sm_121 has reported cuBLAS failures: run the matrix before trusting it")


def vram_tier(gpu: GpuInfo | None) -> _Tier:
    """Pick the recommendation tier for ``gpu`` (None: no GPU visible to the gateway)."""
    if gpu is None:
        return _NO_GPU
    if gpu.is_spark:
        return _SPARK
    if gpu.is_turing:
        tier = _TURING
        if gpu.memory_total_mb is not None and gpu.memory_total_mb < 11.5 * 1024:
            # A small Turing card: fp32 weights alone nearly fill it.
            return tier.model_copy(update={"max_duration_s": 30})
        return tier
    if gpu.memory_total_mb is None:
        return _NO_GPU.model_copy(update={"label": "unknown VRAM", "why": f"{gpu.name} did not report its memory"})
    gb = gpu.memory_total_mb / 1024
    chosen = _VRAM_TIERS[0][1]
    for lower_gb, tier in _VRAM_TIERS:
        if gb >= lower_gb:
            chosen = tier
    return chosen


def is_turbo_model(model: ModelInfo) -> bool:
    """Turbo checkpoints list no base-only task (upstream derives the list from ``is_turbo``); else by name."""
    if model.supported_task_types:
        return not (set(model.supported_task_types) & BASE_ONLY_TASKS)
    return "turbo" in model.name.lower()


def models_from_payload(data: Any) -> list[ModelInfo]:
    """Read the ``data`` of ``/v1/model_inventory`` or ``/v1/models`` into `ModelInfo` items.

    Tolerant on purpose: unknown task types (newer upstream has e.g. ``cover-nofsq``) and
    unknown fields are dropped, entries without a name skipped, and an OpenRouter-style
    ``{"data": [{"id": ...}]}`` list (newer upstream's ``/v1/models``) is read by ``id``.
    """
    if isinstance(data, Mapping):
        entries = data.get("models")
        if entries is None:
            entries = data.get("data")
        default = data.get("default_model")
    else:
        entries, default = data, None
    if not isinstance(entries, list):
        return []
    known = {t.value for t in TaskType}
    out: list[ModelInfo] = []
    for entry in entries:
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, Mapping):
            continue
        name = entry.get("name") or entry.get("id")
        if not isinstance(name, str) or not name:
            continue
        tasks = [TaskType(t) for t in entry.get("supported_task_types") or [] if t in known]
        model = ModelInfo(name=name, is_default=bool(entry.get("is_default") or name == default),
                          supported_task_types=tasks)
        model.max_steps = contract.MAX_STEPS_TURBO if is_turbo_model(model) else contract.MAX_STEPS_BASE
        out.append(model)
    return out


def default_capabilities(
    gpu: GpuInfo | None,
    models: Iterable[ModelInfo] | Mapping[str, Any] | None,
    *,
    backend_name: str | None = None,
    engine: str = "ACE-Step",
    server_version: str | None = None,
    url: str | None = None,
) -> Capabilities:
    """Conservative capabilities for ``gpu`` running the DiT ``models`` (see the module doc for why).

    ``models`` is a list of `ModelInfo` or the raw ``data`` of ``/v1/model_inventory`` /
    ``/v1/models``; None or empty means the server's model list is unknown.
    """
    model_list = models_from_payload(models) if isinstance(models, Mapping) else list(models or [])
    tier = vram_tier(gpu)
    turbo = [m for m in model_list if is_turbo_model(m)]
    base = [m for m in model_list if not is_turbo_model(m)]
    default_model = next((m for m in model_list if m.is_default), model_list[0] if model_list else None)
    gpu_reason = f"{gpu.name}: {tier.why}" if gpu else tier.why

    tasks: dict[TaskType, TaskCapability] = {}
    for task in TaskType:
        if task in BASE_ONLY_TASKS:
            fit = base
            if not model_list:
                verdict, reasons = Verdict.untested, ["the server listed no models (unreachable or still starting)"]
            elif not base:
                verdict, reasons = Verdict.untested, [
                    f"{task.value} needs a base (non-turbo) DiT and the server lists none "
                    f"({', '.join(m.name for m in model_list)})"]
            else:
                verdict, reasons = Verdict.marginal, [
                    f"upstream supports {task.value} on base models; not measured on this backend"]
            chosen = fit[0] if fit else None
        else:
            fit = model_list
            if not model_list:
                verdict, reasons = Verdict.untested, ["the server listed no models (unreachable or still starting)"]
            else:
                verdict, reasons = Verdict.marginal, [
                    f"upstream supports {task.value} on turbo and base models; not measured on this backend"]
            # Prefer the server's default when it fits, else a turbo (faster) one.
            chosen = default_model if default_model in fit else (turbo[0] if turbo else (fit[0] if fit else None))
        reasons.append(gpu_reason)
        chosen_is_base = chosen is not None and not is_turbo_model(chosen)
        recommended = RecommendedParams(
            model=chosen.name if chosen else None,
            default_steps=tier.base_steps if chosen_is_base else tier.turbo_steps,
            max_duration_s=tier.base_max_duration_s if chosen_is_base else tier.max_duration_s,
            # lego/extract/complete: LM codes override the source audio (upstream issue 1286).
            thinking=tier.thinking and task not in BASE_ONLY_TASKS and task not in (TaskType.repaint, TaskType.cover),
            cover_strength=1.0 if task == TaskType.cover else None,
            tracks=list(contract.TRACK_NAMES) if task in (TaskType.lego, TaskType.extract) else None,
        )
        tasks[task] = TaskCapability(task=task, verdict=verdict, reasons=reasons,
                                     models=[m.name for m in fit], recommended=recommended)

    return Capabilities(
        source="default",
        backend=BackendInfo(
            name=backend_name or _backend_label(gpu),
            engine=engine,
            server_version=server_version,
            url=url,
            gpu_name=gpu.name if gpu else None,
            gpu_memory_total_mb=gpu.memory_total_mb if gpu else None,
        ),
        models=model_list,
        tasks=tasks,
    )


def _backend_label(gpu: GpuInfo | None) -> str:
    if gpu is None:
        return "unknown"
    if gpu.is_spark:
        return "spark"
    if "T4" in gpu.name.upper():
        return "t4"
    return gpu.name
