"""Will a request fit in GPU memory? Peak memory per phase (LM, DiT, VAE decode) from measured figures.

Every number comes from one data file (`measured.toml` next to this module, or another one passed
as ``data``), with its source. The model is deliberately simple so that each figure it prints can
be traced to a row of that file:

* **DiT phase** = the DiT's measured peak (weights + activations) for the dtype, model family,
  mode (turbo: 8 steps; base/sft: CFG doubles the batch) and batch, interpolated linearly in
  duration and batch between measured points, plus the other resident weights (text encoder,
  VAE, LM) and the CUDA context.
* **VAE phase** = tiled decode activations (measured peak minus the VAE's own resident memory)
  with every model still resident (upstream does not offload by default at 16 GB and above). Upstream's
  tiled decode runs a batch one sample at a time, so every batch reads the batch-1 figure (derived; the
  measured batch-4 figures decoded the whole batch at once and stay in the data file as measured). A request
  with ``use_tiled_decode=false`` decodes the whole batch at once, untiled: ``tiled_decode=False`` counts
  that from the measured full decodes (``[vae_untiled]``) at batch x duration seconds of audio (derived).
* **LM phase** = every resident weight plus the LM's, plus its KV cache (or its prefill logits, if larger)
  at the clip's length: derived from the architecture (``derived.lm_extra``), not measured.
* **Eager attention** (upstream's choice on GPUs without bf16, e.g. the T4; ``attention="eager"``): the
  measured peaks are SDPA's, which holds no attention matrix, so the largest eager attention moment
  (``derived.eager_extra``: scores and softmax copies of one call, in bytes from the shapes) is added to
  the DiT phase. Derived, not measured; checked against torch on a GPU (``attention_measured.toml``).
* **Other DiTs the server loads** (``also_loaded``, upstream's ``ACESTEP_CONFIG_PATH2/3``): each handler
  keeps its own DiT, text encoder and VAE resident, so their weights count in every resident phase.

"Fits with offload" recomputes each phase as upstream lays it out with ``ACESTEP_OFFLOAD_TO_CPU=true``: the
text encoder, the VAE and the LM move to the GPU only while they run, and every loaded DiT STAYS on the GPU
unless ``ACESTEP_OFFLOAD_DIT_TO_CPU=true`` too (``offload_dit``; upstream's default is false, and so is the
images'). It costs time, not memory. The LM runs in bf16 on CUDA whatever the DiT's dtype (upstream's
``LLMHandler.initialize(dtype=None)``). Pure functions; the CLI (`acekit plan`), the default capabilities and
the gateway's admission all call them.
"""

from __future__ import annotations

import tomllib
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from acekit import contract
from acekit.fit import derived

DATA_FILE = Path(__file__).with_name("measured.toml")

DTYPES = ("bf16", "fp16", "fp32")
LMS = ("none", "0.6B", "1.7B", "4B")
#: DiT checkpoints the fit model knows: name -> (module family, sampling mode).
MODELS: dict[str, tuple[str, str]] = {
    "acestep-v15-turbo": ("dit_2b", "turbo"),
    "acestep-v15-base": ("dit_2b", "base_cfg"),
    "acestep-v15-sft": ("dit_2b", "base_cfg"),
    "acestep-v15-xl-turbo": ("dit_xl", "turbo"),
    "acestep-v15-xl-base": ("dit_xl", "base_cfg"),
    "acestep-v15-xl-sft": ("dit_xl", "base_cfg"),
}
#: Durations the table and the search step through (s).
DURATION_GRID = tuple(range(10, int(contract.DURATION_MAX_S) + 1, 10))


class FitError(ValueError):
    """Bad input to the fit model; the message says what is accepted."""


class Verdict(str, Enum):
    fits = "fits"
    fits_with_offload = "fits_with_offload"
    does_not_fit = "does_not_fit"

    @property
    def words(self) -> str:
        return self.value.replace("_", " ")


class Phases(BaseModel):
    """Predicted peak memory per phase, GiB (None: the phase does not run)."""

    lm: float | None = None
    dit: float
    vae: float

    @property
    def peak(self) -> float:
        return max(v for v in (self.lm, self.dit, self.vae) if v is not None)

    @property
    def worst(self) -> str:
        vals = {"LM": self.lm, "DiT": self.dit, "VAE decode": self.vae}
        return max((k for k, v in vals.items() if v is not None), key=lambda k: vals[k])


class Prediction(BaseModel):
    """What the fit model says about one case."""

    model: str
    dtype: str
    lm: str
    batch: int
    duration_s: float
    memory_gib: float
    verdict: Verdict
    resident: Phases = Field(description="every model resident on the GPU (upstream's default at 16 GB and up)")
    offload: Phases = Field(description="ACESTEP_OFFLOAD_TO_CPU=true: text encoder, VAE and LM on the GPU only while "
                                        "they run; the DiTs stay unless offload_dit (ACESTEP_OFFLOAD_DIT_TO_CPU=true)")
    offload_dit: bool = Field(default=False, description="the offload layout moves the DiTs to the CPU too "
                                                         "(ACESTEP_OFFLOAD_DIT_TO_CPU=true; upstream's default false)")
    tiled_decode: bool = Field(default=True, description="false: the request sent use_tiled_decode=false")
    margin_gib: float = Field(description="memory_gib minus the peak of the verdict's layout (negative: short by)")
    measured_peak_gib: float | None = Field(
        default=None, description="peak measured on a real box for exactly this case ([[box_peaks]]), if any")
    attention: str = Field(default="sdpa", description="attention upstream runs: sdpa (or flash) / eager")
    also_loaded: list[str] = Field(default_factory=list, description="other DiTs the server keeps resident")
    eager_gib: float = Field(default=0.0, description="eager attention's extra peak in the DiT phase (derived)")
    lm_cache_gib: float = Field(default=0.0, description="LM KV cache / prefill logits in the LM phase (derived)")
    reason: str
    notes: list[str] = Field(default_factory=list, description="interpolated / extrapolated / estimated figures")

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# ---- the data file -----------------------------------------------------------------------------

@dataclass(frozen=True)
class CostData:
    raw: dict[str, Any]
    path: Path

    @property
    def context_gib(self) -> float:
        return float(self.raw["budget"]["context_gib"])

    def dtype_key(self, dtype: str) -> str:
        return self.raw["budget"].get("fp16_reads", "bf16") if dtype == "fp16" else dtype

    def weights(self, component: str, dtype: str) -> float:
        return float(self.raw["weights"][component][self.dtype_key(dtype)])

    def vae_resident(self, dtype: str) -> float:
        return float(self.raw["weights"]["vae"][f"resident_{self.dtype_key(dtype)}"])

    def lm_weights(self, lm: str, dtype: str | None = None) -> float:
        """The LM's weights: bf16 on CUDA whatever ``dtype`` the DiT runs (upstream loads the LM with
        dtype=None, which picks bfloat16 on cuda/xpu; float32 only on CPU/MPS, which no fit here covers)."""
        if lm == "none":
            return 0.0
        return float(self.raw["weights"]["lm"][lm])

    def box_peak(self, *, dtype: str, model: str, lm: str, batch: int, duration_s: float
                 ) -> tuple[float, str] | None:
        """(peak GiB, source) measured on a real box for exactly this case, from ``[[box_peaks]]``."""
        for row in self.raw.get("box_peaks", []):
            if (normalise_dtype(str(row["dtype"])) == dtype and row["model"] == model
                    and normalise_lm(str(row.get("lm", "none"))) == lm and int(row["batch"]) == batch
                    and float(row["duration_s"]) == float(duration_s)):
                return float(row["peak_gib"]), str(row["source"])
        return None

    def gpus(self) -> dict[str, dict[str, Any]]:
        return dict(self.raw.get("gpus", {}))


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int) -> CostData:
    with open(path, "rb") as fh:
        return CostData(raw=tomllib.load(fh), path=Path(path))


def load_data(path: Path | None = None) -> CostData:
    """The measured figures (default: the file shipped with acekit). Re-read when the file changes."""
    p = Path(path or DATA_FILE)
    try:
        return _load(str(p), p.stat().st_mtime_ns)
    except OSError as exc:
        raise FitError(f"cannot read the cost data file {p}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise FitError(f"cost data file {p} is not valid TOML: {exc}") from exc


# ---- interpolation (pure) ----------------------------------------------------------------------

def _interp(xs: Sequence[float], ys: Sequence[float], x: float) -> tuple[float, str | None]:
    """y at the measured point at or just above x (conservative: memory grows faster than linearly with
    duration, through the dense attention masks, so a straight line between points would under-count).
    Below the first point: the first value; past the last: the last segment's slope."""
    if x <= xs[0]:
        return float(ys[0]), None
    if x > xs[-1]:
        slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        return float(ys[-1] + slope * (x - xs[-1])), f"extrapolated past {xs[-1]:g} s"
    i = bisect_left(xs, x)
    if x == xs[i]:
        return float(ys[i]), None
    return float(ys[i]), f"{x:g} s read at the next measured duration ({xs[i]:g} s)"


def _by_batch(at1: float, at4: float, batch: int) -> tuple[float, str | None]:
    if batch in (1, 4):
        return (at1 if batch == 1 else at4), None
    note = "interpolated in batch" if batch < 4 else "extrapolated past batch 4"
    return at1 + (at4 - at1) * (batch - 1) / 3.0, note


def dit_peak(data: CostData, family: str, mode: str, dtype: str, batch: int, duration_s: float
             ) -> tuple[float, list[str]]:
    """The DiT's peak during diffusion (weights + activations), GiB, with notes on how it was obtained."""
    notes: list[str] = []
    grid = data.raw["dit"]["durations_s"]
    tables = data.raw["dit"].get(family, {})
    table = tables.get(dtype) or tables.get(data.dtype_key(dtype))
    if table is None:
        # Not measured (XL fp32): the family's bf16 activations scaled like the 2B's fp32/bf16.
        bf16 = data.raw["dit"][family]["bf16"]  # XL fp32 was not run
        ref32, ref16 = data.raw["dit"]["dit_2b"]["fp32"][mode], data.raw["dit"]["dit_2b"]["bf16"][mode]
        acts = []
        for b in ("1", "4"):
            a16, _ = _interp(grid, bf16[mode][b], duration_s)
            r32, _ = _interp(grid, ref32[b], duration_s)
            r16, _ = _interp(grid, ref16[b], duration_s)
            ratio = (r32 - data.weights("dit_2b", "fp32")) / max(r16 - data.weights("dit_2b", "bf16"), 1e-6)
            acts.append((a16 - data.weights(family, "bf16")) * ratio)
        act, bnote = _by_batch(acts[0], acts[1], batch)
        notes.append(f"{family.removeprefix('dit_').upper()} {dtype} not measured: estimated from its bf16 "
                     "activations and the 2B's fp32/bf16 ratio")
        if bnote:
            notes.append(bnote)
        return data.weights(family, dtype) + act, notes
    p1, n1 = _interp(grid, table[mode]["1"], duration_s)
    p4, _ = _interp(grid, table[mode]["4"], duration_s)
    w = data.weights(family, dtype)
    act, bnote = _by_batch(p1 - w, p4 - w, batch)
    notes += [n for n in (n1, bnote) if n]
    return w + act, notes


def vae_activations(data: CostData, dtype: str, batch: int, duration_s: float, *, tiled: bool = True
                    ) -> tuple[float, list[str]]:
    """VAE decode memory above the VAE's resident weights, GiB.

    Tiled (upstream's default): upstream decodes a batch one sample at a time, so any batch costs what
    batch 1 costs (derived from the batch-1 measurement). Untiled (``use_tiled_decode=false``): the whole
    batch in one ``vae.decode``, whose activations grow with the audio decoded at once: the batch-1 full
    decode read at batch x duration seconds (derived; fp32 was not run: bf16 x the element-size ratio).
    """
    if not tiled:
        return untiled_vae_activations(data, dtype, batch, duration_s)
    grid = data.raw["vae"]["durations_s"]
    table = data.raw["vae"][data.dtype_key(dtype)]
    p1, n1 = _interp(grid, table["1"], duration_s)
    notes = [n for n in (n1,) if n]
    if batch > 1:
        notes.append(f"VAE decode counted per sample (upstream decodes a batch of {batch} one sample at a time): "
                     "the batch-1 figure, derived, not measured at this batch")
    return p1 - data.vae_resident(dtype), notes


def untiled_vae_activations(data: CostData, dtype: str, batch: int, duration_s: float) -> tuple[float, list[str]]:
    """Untiled decode (``use_tiled_decode=false``) above the VAE's resident weights, GiB (derived, see
    `vae_activations`)."""
    u = data.raw["vae_untiled"]
    audio_s = batch * duration_s
    p1, _ = _interp(u["durations_s"], u["bf16"]["1"], audio_s)
    act = p1 - data.vae_resident("bf16")
    factor = 1.0 if data.dtype_key(dtype) == "bf16" else float(u["fp32_factor"])
    act *= factor
    note = (f"untiled VAE decode (use_tiled_decode=false): {act:.2f} GB of activations for the whole batch at once "
            f"({audio_s:g} s of audio, read on the measured batch-1 full decodes"
            + (f", x{factor:g} for {dtype}" if factor != 1.0 else "") + "), derived, not measured at this size")
    return act, [note]


# ---- the prediction ------------------------------------------------------------------------------

def normalise_dtype(dtype: str) -> str:
    d = dtype.strip().lower()
    d = {"bfloat16": "bf16", "float16": "fp16", "half": "fp16", "float32": "fp32", "float": "fp32"}.get(d, d)
    if d not in DTYPES:
        raise FitError(f"dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    return d


def normalise_lm(lm: str | None) -> str:
    if lm is None:
        return "none"
    v = lm.strip()
    low = v.lower()
    if low in ("", "none", "off", "false", "0", "no"):
        return "none"
    for name in LMS[1:]:
        if low in (name.lower(), f"acestep-5hz-lm-{name.lower()}") or low.endswith(f"lm-{name.lower()}"):
            return name
    raise FitError(f"LM {lm!r}: use one of {', '.join(LMS)}")


def model_family(model: str) -> tuple[str, str]:
    """(family, mode) of a DiT name; unknown names are read by their parts (xl, turbo)."""
    if model in MODELS:
        return MODELS[model]
    low = model.lower()
    if "acestep" in low or "dit" in low:
        return ("dit_xl" if "xl" in low else "dit_2b", "turbo" if "turbo" in low else "base_cfg")
    raise FitError(f"model {model!r}: use one of {', '.join(MODELS)}")


def _check(batch: int, duration_s: float, memory_gib: float) -> None:
    if not contract.BATCH_MIN <= batch <= contract.BATCH_MAX:
        raise FitError(f"batch {batch}: use {contract.BATCH_MIN}-{contract.BATCH_MAX}")
    if not contract.DURATION_MIN_S <= duration_s <= contract.DURATION_MAX_S:
        raise FitError(f"duration {duration_s:g} s: use {contract.DURATION_MIN_S:g}-{contract.DURATION_MAX_S:g} s")
    if not memory_gib > 0:
        raise FitError(f"GPU memory {memory_gib:g} GB: give a positive size, e.g. 16")


def normalise_attention(attention: str | None) -> str:
    try:
        return derived.normalise_attention(attention)
    except ValueError as exc:
        raise FitError(str(exc)) from exc


def predict(*, memory_gib: float, dtype: str, model: str, lm: str | None = "none", batch: int = 1,
            duration_s: float, attention: str | None = "sdpa", also_loaded: Sequence[str] = (),
            offload_dit: bool = False, tiled_decode: bool = True, data: CostData | None = None) -> Prediction:
    """Peak memory per phase for one case and whether it fits in ``memory_gib``.

    ``attention``: what upstream runs on that GPU ("eager" where it lacks bf16, see `derived.attention_for`;
    else "sdpa", flash-attn counted alike). ``also_loaded``: the other DiTs the server keeps resident.
    ``offload_dit``: ACESTEP_OFFLOAD_DIT_TO_CPU, for the offload layout. ``tiled_decode``: False for a
    request with use_tiled_decode=false (upstream's default is tiled).
    """
    data = data or load_data()
    dtype, lm, attention = normalise_dtype(dtype), normalise_lm(lm), normalise_attention(attention)
    family, mode = model_family(model)
    others_loaded = [m for m in dict.fromkeys(also_loaded) if m != model]
    _check(batch, duration_s, memory_gib)
    ctx = data.context_gib
    dit, notes = dit_peak(data, family, mode, dtype, batch, duration_s)
    vae_act, vnotes = vae_activations(data, dtype, batch, duration_s, tiled=tiled_decode)
    notes += [n for n in vnotes if n not in notes]
    w_dit, w_te = data.weights(family, dtype), data.weights("text_encoder", dtype)
    w_vae, w_lm = data.weights("vae", dtype), data.lm_weights(lm, dtype)
    # Each further DiT handler upstream loads keeps its own DiT, text encoder and VAE resident.
    w_more = sum(data.weights(model_family(m)[0], dtype) + w_te + w_vae for m in others_loaded)
    others = w_te + w_vae + w_lm + ctx + w_more
    eager = 0.0
    if attention == "eager":
        term = derived.eager_extra(family=family, mode=mode, dtype=dtype, batch=batch, duration_s=duration_s)
        eager = term.gib
        notes.append(f"eager attention (upstream on GPUs without bf16): +{eager:.2f} GB in the DiT phase, derived "
                     f"from the architecture, not measured (largest moment: {term.where})")
    lm_cache = 0.0
    if lm != "none":
        lt = derived.lm_extra(lm, duration_s)
        lm_cache = lt.gib
        notes.append(f"LM phase counts +{lm_cache:.2f} GB for the LM's KV cache / prefill logits ({lt.tokens} "
                     f"tokens, 2 sequences with CFG, bf16), derived from the architecture, not measured")
    if others_loaded:
        notes.append(f"also resident: {', '.join(others_loaded)} (+{w_more:.2f} GB: each DiT handler keeps its "
                     "own DiT, text encoder and VAE)")
    resident = Phases(
        lm=round(w_dit + others + lm_cache, 2) if lm != "none" else None,
        dit=round(dit + eager + others, 2),
        vae=round(w_dit + vae_act + others, 2),
    )
    # Upstream's offload: the text encoder, VAE and LM come to the GPU only while they run; every handler's DiT
    # stays there unless ACESTEP_OFFLOAD_DIT_TO_CPU=true (init_service_loader / _load_model_context).
    dits_kept = 0.0 if offload_dit else w_dit + sum(data.weights(model_family(m)[0], dtype) for m in others_loaded)
    others_kept = 0.0 if offload_dit else dits_kept - w_dit
    offload = Phases(
        lm=round(w_lm + lm_cache + ctx + dits_kept, 2) if lm != "none" else None,
        dit=round(dit + eager + ctx + others_kept, 2),
        vae=round(data.vae_resident(dtype) + vae_act + ctx + dits_kept, 2),
    )
    # A peak measured on a real box for exactly this case replaces the predicted resident peak.
    box = data.box_peak(dtype=dtype, model=model, lm=lm, batch=batch, duration_s=duration_s)
    resident_peak = box[0] if box else resident.peak
    where = f"measured on the box ({box[1]})" if box else f"in the {resident.worst} phase"
    if box:
        notes.append(f"measured peak {box[0]:.2f} GB replaces the predicted {resident.peak:.2f} GB ({box[1]})")
    if resident_peak <= memory_gib:
        verdict, peak = Verdict.fits, resident_peak
    elif offload.peak <= memory_gib:
        verdict, peak = Verdict.fits_with_offload, offload.peak
    else:
        verdict, peak = Verdict.does_not_fit, offload.peak
    margin = round(memory_gib - peak, 2)
    what = (f"{model} batch {batch} at {duration_s:g} s, {dtype}, LM {lm}" + (", eager attention" if eager else "")
            + ("" if tiled_decode else ", untiled VAE decode"))
    how = "CPU offload" + (" (DiT too)" if offload_dit else "")
    if verdict == Verdict.fits:
        reason = (f"{what}: fits in {memory_gib:.1f} GB with {margin:.2f} GB to spare "
                  f"(peak {resident_peak:.2f} GB {where})")
    elif verdict == Verdict.fits_with_offload:
        reason = (f"{what}: needs {resident_peak:.2f} GB with every model resident ({where}), "
                  f"{memory_gib:.1f} GB available; fits only with {how} (peak {offload.peak:.2f} GB, "
                  f"{margin:.2f} GB to spare, slower)")
    else:
        reason = (f"{what}: does not fit in {memory_gib:.1f} GB, even with {how} it needs "
                  f"{offload.peak:.2f} GB ({offload.worst} phase; {-margin:.2f} GB short)")
    return Prediction(model=model, dtype=dtype, lm=lm, batch=batch, duration_s=float(duration_s),
                      memory_gib=memory_gib, verdict=verdict, resident=resident, offload=offload,
                      margin_gib=margin, measured_peak_gib=box[0] if box else None, attention=attention,
                      also_loaded=others_loaded, eager_gib=round(eager, 3), lm_cache_gib=round(lm_cache, 3),
                      offload_dit=offload_dit, tiled_decode=tiled_decode, reason=reason, notes=notes)


def allowed(verdict: Verdict, *, offload: bool) -> bool:
    """Whether a server runs a case with this verdict (with or without CPU offload enabled)."""
    return verdict == Verdict.fits or (offload and verdict == Verdict.fits_with_offload)


def max_duration(*, memory_gib: float, dtype: str, model: str, lm: str | None = "none", batch: int = 1,
                 offload: bool = False, attention: str | None = "sdpa", also_loaded: Sequence[str] = (),
                 offload_dit: bool = False, tiled_decode: bool = True,
                 data: CostData | None = None) -> tuple[float | None, Prediction]:
    """Longest duration on the 10 s grid that the server can run (None: not even the shortest), and the
    prediction at that duration (or at the shortest when nothing fits)."""
    data = data or load_data()
    best: tuple[float | None, Prediction | None] = (None, None)
    for d in DURATION_GRID:  # peaks grow with duration: stop at the first that does not fit
        p = predict(memory_gib=memory_gib, dtype=dtype, model=model, lm=lm, batch=batch, duration_s=d,
                    attention=attention, also_loaded=also_loaded, offload_dit=offload_dit,
                    tiled_decode=tiled_decode, data=data)
        if not allowed(p.verdict, offload=offload):
            return best[0], best[1] or p
        best = (float(d), p)
    return best[0], best[1]  # type: ignore[return-value]


# ---- GPUs ------------------------------------------------------------------------------------------

class GpuPreset(BaseModel):
    name: str
    memory_gib: float
    dtype: str
    attention: str = "sdpa"
    why: str


def gpu_presets(data: CostData | None = None) -> dict[str, GpuPreset]:
    data = data or load_data()
    return {k: GpuPreset(name=k, memory_gib=float(v["memory_gib"]), dtype=str(v["dtype"]),
                         attention=normalise_attention(v.get("attention")), why=str(v["why"]))
            for k, v in data.gpus().items()}


def gpu_preset(name: str, data: CostData | None = None) -> GpuPreset:
    presets = gpu_presets(data)
    for k, v in presets.items():
        if k.lower() == name.strip().lower():
            return v
    raise FitError(f"GPU {name!r}: known boxes are {', '.join(presets)}; else give --gpu-memory-gb and --dtype")


def dtype_for(has_bf16: bool) -> str:
    """The dtype a server should run: bf16 where the GPU has it, else fp32 (fp16 gives NaN audio on
    Turing, upstream issue 1274)."""
    return "bf16" if has_bf16 else "fp32"


# ---- the table -----------------------------------------------------------------------------------

class TableRow(BaseModel):
    model: str
    lm: str
    batch: int
    max_duration_s: float | None = Field(description="longest that fits with every model resident")
    max_duration_offload_s: float | None = Field(description="longest that fits with CPU offload")
    peak_gib: float | None = Field(description="resident peak at max_duration_s")
    margin_gib: float | None
    reason: str


def fit_table(*, memory_gib: float, dtype: str, models: Sequence[str] = tuple(MODELS),
              lms: Sequence[str] = LMS, batches: Sequence[int] = (1, 2, 4, 8), attention: str | None = "sdpa",
              also_loaded: Sequence[str] = (), offload_dit: bool = False, tiled_decode: bool = True,
              data: CostData | None = None) -> list[TableRow]:
    """What fits: for each model, LM and batch, the longest duration with and without offload."""
    data = data or load_data()
    rows = []
    for model in models:
        for lm in lms:
            for batch in batches:
                kw = dict(memory_gib=memory_gib, dtype=dtype, model=model, lm=lm, batch=batch, attention=attention,
                          also_loaded=also_loaded, offload_dit=offload_dit, tiled_decode=tiled_decode, data=data)
                d, p = max_duration(**kw)
                d_off, p_off = max_duration(offload=True, **kw)
                ref = p if d is not None else p_off
                rows.append(TableRow(
                    model=model, lm=normalise_lm(lm), batch=batch, max_duration_s=d, max_duration_offload_s=d_off,
                    peak_gib=p.resident.peak if d is not None else None,
                    margin_gib=p.margin_gib if d is not None else None, reason=ref.reason))
    return rows
