"""What fits where: peak GPU memory per phase predicted from measured figures (`measured.toml`) plus terms
derived from the architecture (`architecture.toml`: eager attention, the LM's KV cache)."""

from acekit.fit.model import (
    DATA_FILE,
    DTYPES,
    LMS,
    MODELS,
    CostData,
    FitError,
    GpuPreset,
    Phases,
    Prediction,
    TableRow,
    Verdict,
    allowed,
    dtype_for,
    fit_table,
    gpu_preset,
    gpu_presets,
    load_data,
    max_duration,
    normalise_attention,
    normalise_dtype,
    normalise_lm,
    predict,
)
from acekit.fit.derived import ATTENTIONS, attention_for
from acekit.fit.oom import is_out_of_memory

__all__ = [
    "DATA_FILE", "DTYPES", "LMS", "MODELS", "CostData", "FitError", "GpuPreset", "Phases", "Prediction",
    "TableRow", "Verdict", "allowed", "dtype_for", "fit_table", "gpu_preset", "gpu_presets", "load_data",
    "max_duration", "normalise_dtype", "normalise_lm", "predict", "is_out_of_memory", "ATTENTIONS",
    "attention_for", "normalise_attention",
]
