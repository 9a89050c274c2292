"""Health: loudness (ITU-R BS.1770 via pyloudnorm), peaks, clipping, silence, NaN/inf, duration.

NaN or inf samples fail the clip outright (fp16 inference on T4 GPUs emits NaN); the other
measures are then taken on the finite samples so the report still says what else is wrong.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pydantic import BaseModel

from acekit.analysis.audio import as_mono

#: |sample| at or above this counts as clipped (int16 full scale is 32767/32768 ≈ 0.99997).
CLIP_LEVEL = 0.999
#: 50 ms frames quieter than this (dBFS RMS) count as silent.
SILENCE_DBFS = -60.0
#: |mean of a channel| above this is a DC offset. Calibrate split: rendered songs up to 0.021
#: (a FluidR3 synth-bass sample carries DC), the constructed faults 0.1 and 0.3.
MAX_DC_OFFSET = 0.05
#: L/R correlation below this is cancellation (antiphase): the mono mean loses the music.
#: Calibrate split: rendered songs down to -0.72 (FluidR3 synth patches with phase-spread
#: stereo samples: the mono mean keeps them audible), L = -R is -1.0.
ANTIPHASE_CORRELATION = -0.9
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
    dc_offset: float = 0.0  # largest |mean| of a channel (full scale 1.0), signed
    stereo_correlation: float | None = None  # Pearson L/R correlation; None for mono
    antiphase: bool = False  # stereo_correlation < ANTIPHASE_CORRELATION: the mono mix cancels


def stereo_correlation(stereo: np.ndarray) -> float | None:
    """Pearson correlation of the first two channels of ``(n, channels)`` audio; None for mono or
    when a channel is constant. +1 identical, 0 unrelated, -1 antiphase (L = -R): the phase
    correlation a goniometer's correlation meter shows."""
    x = np.asarray(stereo, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 2 or x.shape[0] < 2:
        return None
    left, right = x[:, 0] - x[:, 0].mean(), x[:, 1] - x[:, 1].mean()
    denom = float(np.sqrt(np.dot(left, left) * np.dot(right, right)))
    return float(np.dot(left, right) / denom) if denom > 0 else None


def dc_offset(y: np.ndarray) -> float:
    """The mean of the channel whose mean is farthest from 0 (signed; ``(n,)`` or ``(n, channels)``)."""
    x = np.asarray(y, dtype=np.float64)
    if x.size == 0:
        return 0.0
    means = x.mean(axis=0) if x.ndim == 2 else np.array([x.mean()])
    return float(means[int(np.argmax(np.abs(means)))])


def _db(x: float) -> float | None:
    return round(20.0 * float(np.log10(x)), 3) if x > 0 else None


def true_peak_full(y: np.ndarray, *, oversample: int = 4) -> float:
    """Peak magnitude after ``oversample``× polyphase upsampling of the whole signal (the reference
    `true_peak` must agree with)."""
    from scipy.signal import resample_poly

    if y.size == 0:
        return 0.0
    return float(np.max(np.abs(resample_poly(y.astype(np.float64), oversample, 1))))


#: Block length (input samples) of `true_peak`'s search, and the context upsampled on each side of a
#: block: far more than the interpolation filter's reach (10 input samples for 4×), so a block's
#: upsampled values equal those of the whole signal.
_TP_BLOCK = 2048
_TP_CONTEXT = 64


@lru_cache(maxsize=4)
def _interpolation_gain(oversample: int) -> float:
    """Largest sum of |taps| over the phases of resample_poly's filter: an upsampled value is at most
    this times the largest input sample within the filter's reach."""
    from scipy.signal import firwin

    half = 10 * oversample  # resample_poly's default filter: half_len = 10 * max(up, down)
    taps = firwin(2 * half + 1, 1.0 / oversample, window=("kaiser", 5.0)) * oversample
    return float(max(np.abs(taps[p::oversample]).sum() for p in range(oversample)))


#: `true_peak` upsamples only blocks whose loudest sample is within this of the peak found so far.
#: An inter-sample peak exceeds the samples around it by at most 3.01 dB up to fs/4 (a full-scale
#: fs/4 sine sampled at 45°); more needs full-scale content nearer Nyquist, which music lacks.
TRUE_PEAK_MARGIN_DB = 3.5


def true_peak(y: np.ndarray, *, oversample: int = 4, margin_db: float = TRUE_PEAK_MARGIN_DB) -> float:
    """Peak magnitude after ``oversample``× polyphase upsampling (inter-sample peaks).

    The filter and values of `true_peak_full`, computed only where the peak can be: only blocks
    whose loudest sample is within ``margin_db`` of the sample peak are upsampled (with enough
    context on each side to give exactly the whole-signal values). Equal to `true_peak_full` unless an
    inter-sample peak overshoots its block's samples by more than ``margin_db`` (see
    `TRUE_PEAK_MARGIN_DB`); ``margin_db`` of 20·log10(filter gain) (about 7 dB) makes it exact
    for any signal.
    """
    from scipy.signal import resample_poly

    x = np.asarray(y, dtype=np.float64)
    n = x.size
    if n == 0:
        return 0.0
    if n <= 4 * _TP_BLOCK:
        return true_peak_full(x, oversample=oversample)
    gain = min(_interpolation_gain(oversample), 10 ** (margin_db / 20))
    reach = 11  # input samples an upsampled value depends on, each side (81 taps / 4 phases / 2, rounded up)
    blocks = -(-n // _TP_BLOCK)
    padded = np.zeros(blocks * _TP_BLOCK)
    padded[:n] = np.abs(x)
    block_max = padded.reshape(blocks, _TP_BLOCK).max(axis=1)
    best = float(block_max.max())  # upsampling keeps every input sample (phase 0), so the peak is >= this
    # Values near a block's edges are also computed with its neighbour (the kept range reaches `reach`
    # samples into it), so only blocks whose own loudest sample times `gain` beats the sample peak count.
    wanted = np.flatnonzero(block_max * gain > best)
    runs = np.split(wanted, np.flatnonzero(np.diff(wanted) > 1) + 1) if wanted.size else []
    for run in runs:  # one upsampling call per stretch of neighbouring blocks
        start, end = int(run[0]) * _TP_BLOCK, min(n, (int(run[-1]) + 1) * _TP_BLOCK)
        lo, hi = max(0, start - _TP_CONTEXT), min(n, end + _TP_CONTEXT)
        up = resample_poly(x[lo:hi], oversample, 1)
        a, z = (max(lo, start - reach) - lo) * oversample, (min(hi, end + reach) - lo) * oversample
        if hi == n:
            z = up.size
        best = max(best, float(np.max(np.abs(up[a:z]))))
    return best


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
    corr = stereo_correlation(clean) if clean.ndim == 2 else None
    res = HealthResult(
        dc_offset=round(dc_offset(clean), 6),
        stereo_correlation=None if corr is None else round(corr, 4),
        antiphase=corr is not None and corr < ANTIPHASE_CORRELATION,
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
