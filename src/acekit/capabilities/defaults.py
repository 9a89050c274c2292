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

Recommended ranges come from the fit model (`acekit.fit`, measured figures): for the memory the
GPU reports, the dtype the server runs (bf16 where the GPU has it; fp32 on Turing, whose fp16 gives
NaN audio upstream, issue 1274) and the models the server lists, each task's recommended model gets
the longest duration and the largest batch that fit, with the fit and its margin as the reason.
Thinking (the 5 Hz LM) is offered only when the LM fits beside the DiT. The same limits go into the
document's ``fit`` section, which the gateway admits requests by. A matrix run replaces all of this
with measurements. Two targets, from ../shared/hardware.md and model-cost.md:

* **T4 (16 GB, fp32, eager attention as upstream picks on sm_75)**: turbo batch 1 up to 240 s and base up to
  130 s with the LM off (the eager attention matrices, derived from the architecture, bound them); batch 4,
  any XL model and the LM do not fit without offloading.
* **DGX Spark (GB10, unified memory)**: every model fits, XL and the LM included; the reasons
  name the cuBLAS risk of torch cu130 on sm_121, and verdicts stay marginal until measured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from acekit import contract
from acekit.capabilities.fitting import NO_FIT_MAX_DURATION_S, fit_info_for
from acekit.capabilities.gpu_info import GpuInfo
from acekit.capabilities.schema import (
    BackendInfo,
    Capabilities,
    FitInfo,
    ModelInfo,
    RecommendedParams,
    TaskCapability,
    Verdict,
)
from acekit.contract import BASE_ONLY_TASKS, TaskType


def is_turbo_model(model: ModelInfo) -> bool:
    """Turbo checkpoints list no base-only task (upstream derives the list from ``is_turbo``); else by name."""
    if model.supported_task_types:
        return not (set(model.supported_task_types) & BASE_ONLY_TASKS)
    return contract.is_turbo_model_name(model.name)


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
        loaded = entry.get("is_loaded")
        model = ModelInfo(name=name, is_default=bool(entry.get("is_default") or name == default),
                          is_loaded=loaded if isinstance(loaded, bool) else None, supported_task_types=tasks)
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
    dtype: str | None = None,
    lm: str | None = None,
    offload: bool | None = False,
    offload_dit: bool = False,
) -> Capabilities:
    """Capabilities for ``gpu`` running the DiT ``models``, ranges from the fit model (see the module doc).

    ``models`` is a list of `ModelInfo` or the raw ``data`` of ``/v1/model_inventory`` /
    ``/v1/models``; None or empty means the server's model list is unknown. ``dtype`` is what the
    server runs (None: bf16 where the GPU has it, else fp32); ``lm`` the LM it loads (None: unknown,
    so thinking is offered when the smallest LM would fit); ``offload``: ACESTEP_OFFLOAD_TO_CPU (None:
    unset, upstream's own choice); ``offload_dit``: ACESTEP_OFFLOAD_DIT_TO_CPU (false: the DiT stays on the GPU).
    """
    model_list = models_from_payload(models) if isinstance(models, Mapping) else list(models or [])
    # A checkpoint listed but not loaded (is_loaded false) is never offered: upstream runs a request for it
    # on its primary DiT instead (job_model_selection), so a plugin asking for it would get another model.
    usable = [m for m in model_list if m.is_loaded is not False]
    unloaded = [m for m in model_list if m.is_loaded is False]
    base = [m for m in usable if not is_turbo_model(m)]
    default_model = next((m for m in model_list if m.is_default), model_list[0] if model_list else None)
    # The DiTs the server holds (upstream's is_loaded): each counts in every model's limits. Unsaid: each alone.
    loaded = ([m.name for m in model_list if m.is_loaded] if any(m.is_loaded is not None for m in model_list)
              else None)
    info = fit_info_for(gpu, [m.name for m in model_list], dtype=dtype, lm=lm, offload=offload,
                        offload_dit=offload_dit, loaded=loaded)
    gpu_reasons = _gpu_reasons(gpu, info, default_model.name if default_model else None)

    tasks: dict[TaskType, TaskCapability] = {}
    for task in TaskType:
        if task in BASE_ONLY_TASKS:
            fit = base
            if not model_list:
                verdict, reasons = Verdict.untested, ["the server listed no models (unreachable or still starting)"]
            elif not base and (idle := [m.name for m in unloaded if not is_turbo_model(m)]):
                verdict, reasons = Verdict.untested, [
                    f"{task.value} needs a base (non-turbo) DiT; the server has {', '.join(idle)} on disk but "
                    f"not loaded, and upstream would run the request on its primary "
                    f"{default_model.name if default_model else 'model'} instead: load it "
                    f"(ACESTEP_CONFIG_PATH2={idle[0]}) and restart the server"]
            elif not base:
                verdict, reasons = Verdict.untested, [
                    f"{task.value} needs a base (non-turbo) DiT and the server lists none "
                    f"({', '.join(m.name for m in model_list)})"]
            else:
                verdict, reasons = Verdict.marginal, [
                    f"upstream supports {task.value} on base models; not measured on this backend"]
        else:
            fit = usable
            if not model_list:
                verdict, reasons = Verdict.untested, ["the server listed no models (unreachable or still starting)"]
            else:
                verdict, reasons = Verdict.marginal, [
                    f"upstream supports {task.value} on turbo and base models; not measured on this backend"]
        # Only models that fit at all are offered (one the fit model does not know stays: no evidence
        # against it); prefer the server's default, else a turbo (faster) one.
        fitting = [m for m in fit if info is None or info.limit(m.name, 1) is None
                   or info.limit(m.name, 1).max_duration_s is not None]
        if fit and not fitting and info is not None:
            verdict = Verdict.not_viable
            reasons.append("no listed model fits in GPU memory: " + "; ".join(
                (info.limit(m.name, 1).reason if info.limit(m.name, 1) else m.name) for m in fit))
        pool = fitting or fit
        chosen = (default_model if default_model in pool else
                  next((m for m in pool if is_turbo_model(m)), pool[0] if pool else None))
        reasons += gpu_reasons
        chosen_is_base = chosen is not None and not is_turbo_model(chosen)
        max_duration, max_batch = _ranges(info, chosen, reasons)
        thinking = info.thinking if info is not None else False
        recommended = RecommendedParams(
            model=chosen.name if chosen else None,
            default_steps=(50 if gpu is not None and gpu.is_spark else 32) if chosen_is_base
            else contract.DEFAULT_STEPS_TURBO,
            max_duration_s=max_duration,
            max_batch=max_batch,
            # lego/extract/complete: LM codes override the source audio (upstream issue 1286).
            thinking=thinking and task not in BASE_ONLY_TASKS and task not in (TaskType.repaint, TaskType.cover),
            cover_strength=1.0 if task == TaskType.cover else None,
            tracks=list(contract.TRACK_NAMES) if task in (TaskType.lego, TaskType.extract) else None,
        )
        tasks[task] = TaskCapability(task=task, verdict=verdict, reasons=reasons,
                                     models=[m.name for m in pool], recommended=recommended)

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
        fit=info,
    )


def _longest(info: FitInfo, model: str, batch: int) -> float | None:
    limit = info.limit(model, batch)
    return limit.max_duration_s if limit else None


def _ranges(info: FitInfo | None, chosen: ModelInfo | None, reasons: list[str]) -> tuple[float, int | None]:
    """(max duration, max batch) for the chosen model, with the fit behind them appended to ``reasons``."""
    if info is None or chosen is None:
        return NO_FIT_MAX_DURATION_S, None
    limit = info.limit(chosen.name, 1)
    if limit is None:
        reasons.append(f"{chosen.name} is unknown to the fit model: durations kept at {NO_FIT_MAX_DURATION_S:g} s")
        return NO_FIT_MAX_DURATION_S, None
    longest = limit.max_duration_s or float(contract.DURATION_MIN_S)
    reasons.append(f"max duration: {limit.reason}")
    batches = [b for b in range(contract.BATCH_MIN, contract.BATCH_MAX + 1)
               if (_longest(info, chosen.name, b) or 0.0) >= longest]
    max_batch = max(batches) if batches else 1
    if max_batch < contract.BATCH_MAX:
        over = info.limit(chosen.name, max_batch + 1)
        if over is not None:
            reasons.append(f"max batch {max_batch}: {over.reason}")
    return longest, max_batch


def _gpu_reasons(gpu: GpuInfo | None, info: FitInfo | None, default_model: str | None = None) -> list[str]:
    if gpu is None:
        return [f"the gateway sees no GPU (none, or not exposed to its container): no memory budget, "
                f"durations kept at {NO_FIT_MAX_DURATION_S:g} s"]
    out = []
    if info is not None:
        out.append(f"{gpu.name}: {info.memory_gib:.1f} GB for the models at {info.dtype}"
                   + ((", offloading the DiT, text encoder, VAE and LM to the CPU between uses "
                       "(ACESTEP_OFFLOAD_TO_CPU=true, ACESTEP_OFFLOAD_DIT_TO_CPU=true)" if info.offload_dit else
                       ", offloading the text encoder, VAE and LM to the CPU between uses; the DiT stays on the GPU "
                       "(ACESTEP_OFFLOAD_TO_CPU=true, ACESTEP_OFFLOAD_DIT_TO_CPU=false)") if info.offload else
                      ", every model resident (ACESTEP_OFFLOAD_TO_CPU=false)"))
        if info.loaded_models is not None and len(info.loaded_models) > 1:
            out.append(f"DiTs loaded: {', '.join(info.loaded_models)}: each model's limits count all of them "
                       "resident (each upstream handler holds its own DiT, text encoder and VAE)")
        untiled = info.untiled_limit(default_model, 1) if default_model and info.untiled_limits else None
        if untiled is not None:
            out.append("use_tiled_decode=false (an untiled VAE decode of the whole batch): "
                       + (f"up to {untiled.max_duration_s:g} s at batch 1" if untiled.max_duration_s is not None
                          else "not even 10 s fits at batch 1")
                       + f" with {untiled.model}; the gateway refuses longer ones (tiled decode, upstream's default, "
                         "is what the other limits assume)")
        if info.thinking_reason:
            out.append(info.thinking_reason)
    else:
        out.append(f"{gpu.name} did not report its memory: no memory budget, durations kept at "
                   f"{NO_FIT_MAX_DURATION_S:g} s")
    if gpu.is_turing:
        out.append("Turing has no native bf16 and fp16 gives NaN audio upstream (issue 1274): the server must run "
                   "fp32, which doubles weight memory and is several times slower")
    if gpu.is_spark:
        out.append("GB10 shares its memory with the CPU, so memory is rarely the limit, but the torch cu130 build "
                   "for sm_121 has reported cuBLAS failures: run the matrix before trusting it")
    return out


def _backend_label(gpu: GpuInfo | None) -> str:
    if gpu is None:
        return "unknown"
    if gpu.is_spark:
        return "spark"
    if "T4" in gpu.name.upper():
        return "t4"
    return gpu.name
