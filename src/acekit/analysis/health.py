"""Health: loudness (ITU-R BS.1770 via pyloudnorm), peaks, clipping, silence, NaN/inf, duration.

NaN or inf samples fail the clip outright (fp16 inference on T4 GPUs emits NaN); the other
measures are then taken on the finite samples so the report still says what else is wrong.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from acekit.analysis.audio import as_mono

#: |sample| at or above this counts as clipped (int16 full scale is 32767/32768 ≈ 0.99997).
CLIP_LEVEL = 0.999
#: 50 ms frames quieter than this (dBFS RMS) count as silent.
SILENCE_DBFS = -60.0
_FRAME_S = 0.05


class HealthResult(BaseModel):
    duration_s: float
    expected_duration_s: float | None = None
    duration_error_s: float | None = None
    duration_error_pct: float | None = None
    integrated_lufs: float | None  # None when the gated loudness is undefined (silence)
    silent: bool  # no gated block above -70 LUFS (pyloudnorm returns -inf)
    sample_peak_dbfs: float | None
    true_peak_dbfs: float | None  # 4x oversampled peak, BS.1770-style approximation
    clipping_share: float  # share of samples at |x| >= CLIP_LEVEL
    silence_share: float  # share of 50 ms frames below SILENCE_DBFS
    nonfinite_samples: int
    has_nonfinite: bool


def _db(x: float) -> float | None:
    return round(20.0 * float(np.log10(x)), 3) if x > 0 else None


def true_peak(y: np.ndarray, *, oversample: int = 4) -> float:
    """Peak magnitude after ``oversample``× polyphase upsampling (inter-sample peaks)."""
    from scipy.signal import resample_poly

    if y.size == 0:
        return 0.0
    return float(np.max(np.abs(resample_poly(y.astype(np.float64), oversample, 1))))


def analyze_health(
    y: np.ndarray, sr: int, *, expected_duration_s: float | None = None, stereo: np.ndarray | None = None
) -> HealthResult:
    """Technical health of ``y`` (mono or ``(n, channels)``; loudness uses all channels given).

    ``stereo`` optionally passes the multichannel original when ``y`` is its mono mix, so that
    loudness and peaks are measured on the real channels.
    """
    import pyloudnorm

    multi = np.asarray(stereo if stereo is not None else y, dtype=np.float64)
    mono = as_mono(y).astype(np.float64)
    nonfinite = int(np.size(multi) - np.count_nonzero(np.isfinite(multi)))
    clean = np.nan_to_num(multi, nan=0.0, posinf=0.0, neginf=0.0)
    mono = np.nan_to_num(mono, nan=0.0, posinf=0.0, neginf=0.0)
    duration = mono.size / sr

    lufs: float | None = None
    if duration >= 0.4:  # BS.1770 gating needs at least one 400 ms block
        loud = pyloudnorm.Meter(sr).integrated_loudness(clean if clean.ndim == 1 else clean[:, :5])
        lufs = round(float(loud), 3) if np.isfinite(loud) else None
    peak = float(np.max(np.abs(clean), initial=0.0))
    tp = max(true_peak(ch) for ch in (clean.T if clean.ndim == 2 else [clean])) if clean.size else 0.0
    frame = max(1, int(_FRAME_S * sr))
    n = mono.size // frame
    if n:
        rms = np.sqrt(np.mean(mono[: n * frame].reshape(n, frame) ** 2, axis=1))
        silence_share = float(np.mean(rms < 10 ** (SILENCE_DBFS / 20)))
    else:
        silence_share = 1.0
    res = HealthResult(
        duration_s=round(duration, 4),
        integrated_lufs=lufs,
        # too short to gate (< 400 ms) is not silence unless there is no signal at all
        silent=lufs is None if duration >= 0.4 else peak < 1e-5,
        sample_peak_dbfs=_db(peak),
        true_peak_dbfs=_db(tp),
        clipping_share=round(float(np.mean(np.abs(clean) >= CLIP_LEVEL)), 6) if clean.size else 0.0,
        silence_share=round(silence_share, 4),
        nonfinite_samples=nonfinite,
        has_nonfinite=nonfinite > 0,
    )
    if expected_duration_s is not None:
        res.expected_duration_s = float(expected_duration_s)
        res.duration_error_s = round(duration - expected_duration_s, 4)
        res.duration_error_pct = round((duration - expected_duration_s) / expected_duration_s * 100.0, 3)
    return res
