"""The memory limits of a backend, from the fit model (`acekit.fit`): what a capabilities document's
``fit`` section holds, and what the gateway admits requests by."""

from __future__ import annotations

from collections.abc import Sequence

from acekit import contract, fit
from acekit.capabilities.gpu_info import GpuInfo
from acekit.capabilities.schema import FitInfo, FitLimit
from acekit.matrix.store import CaseRecord

#: Recommended duration when there is no memory budget to compute one from (no GPU seen).
NO_FIT_MAX_DURATION_S = 30.0


def memory_budget_gib(gpu: GpuInfo, data: fit.CostData | None = None) -> float | None:
    """GPU memory the models may use, GiB, from what the gateway sees.

    NVML reports more than a process can allocate (a T4: 15.0 GiB total, 14.58 for torch), and
    unified memory is shared with the CPU: the data file's reserves say how much to hold back.
    """
    data = data or fit.load_data()
    budget = data.raw["budget"]
    if gpu.memory_total_mb is None:
        # A GB10 whose driver reports no memory (and no /proc/meminfo figure): the known box's budget.
        return fit.gpu_preset("GB10", data).memory_gib if gpu.is_spark else None
    total = gpu.memory_total_mb / 1024
    reserve = float(budget.get("unified_reserve_gib", 8.0) if gpu.is_spark else budget.get("nvml_reserve_gib", 0.42))
    return round(max(total - reserve, 0.0), 2)


def dtype_for_gpu(gpu: GpuInfo, configured: str | None = None) -> str:
    """What the server runs: its configured dtype (ACESTEP_DTYPE) when set, else bf16 where the GPU has it
    and fp32 otherwise (upstream's fp16 default on Turing gives NaN audio, issue 1274)."""
    if configured and configured.strip().lower() not in ("", "auto"):
        return fit.normalise_dtype(configured)
    return fit.dtype_for(gpu.has_bf16)


def fit_info(*, memory_gib: float, dtype: str, models: Sequence[str], lm: str | None = None,
             offload: bool = False, offload_dit: bool = False, attention: str = "sdpa",
             loaded: Sequence[str] | None = None, data: fit.CostData | None = None) -> FitInfo:
    """Limits per (model, batch) for the models the fit model knows, and whether thinking fits.

    ``lm`` is the LM the server loads; None = unknown: thinking is offered when the 0.6B would fit
    with the first model at batch 1 and 30 s, and the budget then counts it. ``attention``: what upstream
    runs on that GPU (`fit.attention_for`); "eager" adds its attention matrices (derived). ``offload`` /
    ``offload_dit``: upstream's ACESTEP_OFFLOAD_TO_CPU / ACESTEP_OFFLOAD_DIT_TO_CPU (with offload on and the
    DiT not offloaded, the DiT stays on the GPU beside the VAE decode and the LM). Limits are computed for
    upstream's tiled decode (``limits``) and for requests with use_tiled_decode=false (``untiled_limits``).
    ``loaded``: the DiTs the server keeps loaded (None: unknown); each model's limits count the others resident,
    as `acekit plan --also-loaded` does.
    """
    data = data or fit.load_data()
    attention = fit.normalise_attention(attention)
    known = [m for m in models if _known(m)]
    loaded_known = [m for m in loaded if _known(m)] if loaded is not None else []
    probe_lm = fit.normalise_lm(lm) if lm is not None else "0.6B"
    thinking, thinking_reason = False, "the server loads no LM (ACESTEP_INIT_LLM=false): thinking is off"
    if probe_lm != "none":
        probe_model = known[0] if known else "acestep-v15-turbo"
        p = fit.predict(memory_gib=memory_gib, dtype=dtype, model=probe_model, lm=probe_lm, batch=1, duration_s=30,
                        attention=attention, offload_dit=offload_dit, also_loaded=loaded_known, data=data)
        thinking = fit.allowed(p.verdict, offload=offload)
        thinking_reason = (f"thinking (LM {probe_lm}) {'fits' if thinking else 'refused, the LM does not fit'}: "
                           f"{p.reason}")
    budget_lm = probe_lm if (lm is not None or thinking) else "none"
    limits: dict[bool, list[FitLimit]] = {True: [], False: []}
    for tiled in (True, False):
        for model in known:
            for batch in range(contract.BATCH_MIN, contract.BATCH_MAX + 1):
                kw = dict(memory_gib=memory_gib, dtype=dtype, model=model, lm=budget_lm, batch=batch,
                          attention=attention, offload_dit=offload_dit, tiled_decode=tiled,
                          also_loaded=loaded_known, data=data)
                longest, p = fit.max_duration(offload=offload, **kw)
                if longest is not None:
                    phase = p.resident.worst if p.verdict == fit.Verdict.fits else p.offload.worst
                    reason = (f"batch {batch} up to {longest:g} s fits in {memory_gib:.1f} GB at {dtype}"
                              f"{'' if tiled else ' with use_tiled_decode=false'} "
                              f"({p.margin_gib:.2f} GB to spare at {longest:g} s, {phase} phase)")
                    if longest < contract.DURATION_MAX_S:
                        reason += f"; {fit.predict(duration_s=longest + 10, **kw).reason}"
                else:
                    reason = p.reason
                limits[tiled].append(FitLimit(model=model, batch=batch, max_duration_s=longest, reason=reason))
    source = str(data.raw["source"]["default"])
    if attention == "eager" or budget_lm != "none":
        source += " + terms derived from upstream's architecture (" + ", ".join(
            x for x in ("eager attention" if attention == "eager" else "",
                        "LM KV cache" if budget_lm != "none" else "") if x) + "; src/acekit/fit/architecture.toml)"
    source += ("; VAE decode per sample (upstream's tiled decode), untiled limits from the full decodes at "
               "batch x duration (derived)")
    return FitInfo(memory_gib=memory_gib, dtype=dtype, lm=budget_lm, offload=offload,
                   offload_dit=offload and offload_dit, attention=attention, thinking=thinking,
                   thinking_reason=thinking_reason, limits=limits[True], untiled_limits=limits[False],
                   loaded_models=list(loaded) if loaded is not None else None, data_source=source)


#: Upstream offloads idle models by itself below this much GPU memory when ACESTEP_OFFLOAD_TO_CPU is unset
#: (acestep/gpu_config.py VRAM_AUTO_OFFLOAD_THRESHOLD_GB).
UPSTREAM_AUTO_OFFLOAD_BELOW_GIB = 20.0


def fit_info_for(gpu: GpuInfo | None, models: Sequence[str], *, dtype: str | None = None, lm: str | None = None,
                 offload: bool | None = False, offload_dit: bool = False,
                 loaded: Sequence[str] | None = None) -> FitInfo | None:
    """`fit_info` for the GPU the gateway sees; None without a GPU or its memory. ``offload`` None: upstream's
    own choice (on below 20 GB); ``offload_dit``: ACESTEP_OFFLOAD_DIT_TO_CPU (upstream's default false: the DiT
    stays on the GPU even with offload on). The attention is upstream's for that GPU: eager where it lacks bf16."""
    if gpu is None:
        return None
    memory = memory_budget_gib(gpu)
    if memory is None:
        return None
    if offload is None:
        offload = memory < UPSTREAM_AUTO_OFFLOAD_BELOW_GIB
    return fit_info(memory_gib=memory, dtype=dtype_for_gpu(gpu, dtype), models=models, lm=lm, offload=offload,
                    offload_dit=offload_dit, attention=fit.attention_for(has_bf16=gpu.has_bf16), loaded=loaded)


def _known(model: str) -> bool:
    try:
        fit.model.model_family(model)
    except fit.FitError:
        return False
    return True


def run_limits(gpu_name: str | None, gpu_memory_mb: float | None, records: Sequence[CaseRecord]) -> FitInfo | None:
    """Limits of one backend from a matrix run: the fit model's for its GPU (when the gateway's telemetry named
    it), tightened by every case that ran out of memory (a model's limit is then the longest duration that
    ran below the first that did not). None when neither is known."""
    models = sorted({r.model for r in records})
    info = None
    if gpu_name:
        info = fit_info_for(GpuInfo(name=gpu_name, memory_total_mb=gpu_memory_mb), models)
    measured: list[FitLimit] = []
    for model in models:
        mine = [r for r in records if r.model == model and r.case.get("duration_s")]
        ooms = [float(r.case["duration_s"]) for r in mine if r.status == "does_not_fit"]
        if not ooms:
            continue
        first = min(ooms)
        ran = [float(r.case["duration_s"]) for r in mine if r.status == "ok" and float(r.case["duration_s"]) < first]
        longest = max(ran) if ran else None
        reason = (f"{model} ran out of GPU memory at {first:g} s in the matrix"
                  + (f"; {longest:g} s ran" if longest is not None else "; no shorter case ran"))
        # The matrix runs batch 1; a larger batch needs more memory, so the same limit binds it too.
        measured += [FitLimit(model=model, batch=b, max_duration_s=longest, reason=reason, source="matrix")
                     for b in range(contract.BATCH_MIN, contract.BATCH_MAX + 1)]
    if info is None and not measured:
        return None
    if info is None:
        info = FitInfo(memory_gib=None, dtype="unknown", data_source="matrix run (out-of-memory cases)")
    info.limits.extend(measured)
    return info
