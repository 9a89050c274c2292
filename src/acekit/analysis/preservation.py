"""Preservation: outside the repainted region, does the output still match the source?

Codecs and resampling shift audio slightly, so the source is aligned first (integer-sample lag
from FFT cross-correlation, searched within ±``max_lag_s``), then compared region by region:
SNR (source vs difference) and mean log-mel distance (RMS over 64 mel bands of the dB
difference, averaged over frames). The inside of the region is measured too, as a reference
for what "changed" looks like on this clip.

A mean over the whole outside hides a short change (a 2 s span replaced scored 1.2-1.7 dB
against a 3 dB limit), so the same two figures are also taken in every 1 s window (hop
0.25 s) lying at least 90 % outside the region, and the worst window of each is reported
(``worst_mel_distance_db``, ``worst_snr_db``). The mel distance misses an instrument swap at
the same loudness on the same notes where the waveform, and so the SNR, changes completely;
`acekit.analysis.clip.judge` uses all three.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel
from scipy.signal import correlate

from acekit.analysis.audio import as_mono, finite, resample
from acekit.analysis.spectral import HOP, log_mel_db

#: Keep this far from the region edges: repaint crossfades and alignment smear live there.
GUARD_S = 0.25
MEL_DISTANCE_MAX_DB = 3.0  # calibration: untouched ≈ 0-1 dB, regenerated ≥ 8 dB
WINDOW_MEL_DISTANCE_MAX_DB = 3.0  # worst 1 s window; figures in acekit.analysis.clip.Thresholds
WINDOW_SNR_MIN_DB = 10.0  # worst 1 s window; figures in acekit.analysis.clip.Thresholds


WINDOW_S = 1.0
_WINDOW_HOP_S = 0.25
_WINDOW_MIN_SHARE = 0.9


class RegionComparison(BaseModel):
    seconds: float
    snr_db: float | None
    mel_distance_db: float | None
    worst_mel_distance_db: float | None = None  # the largest over 1 s windows
    worst_mel_window_s: float | None = None  # where that window starts (output seconds)
    worst_snr_db: float | None = None  # the smallest over 1 s windows
    worst_snr_window_s: float | None = None


class PreservationResult(BaseModel):
    lag_s: float  # output lags the source by this much (positive: output is late)
    correlation: float  # normalised cross-correlation peak
    region_s: tuple[float, float]
    outside: RegionComparison
    inside: RegionComparison


def align_lag(y: np.ndarray, ref: np.ndarray, sr: int, *, max_lag_s: float = 1.0) -> tuple[int, float]:
    """Integer lag (samples) by which ``y`` trails ``ref``, and the normalised correlation there."""
    n = min(y.size, ref.size)
    a, b = y[:n].astype(np.float64), ref[:n].astype(np.float64)
    xc = correlate(a, b, mode="full", method="fft")
    zero = n - 1
    m = int(max_lag_s * sr)
    lo, hi = max(0, zero - m), min(xc.size, zero + m + 1)
    i = lo + int(np.argmax(xc[lo:hi]))
    norm = float(np.sqrt(np.sum(a**2) * np.sum(b**2))) or 1.0
    return i - zero, float(xc[i] / norm)


def shift(x: np.ndarray, lag: int, n: int) -> np.ndarray:
    """``x`` delayed by ``lag`` samples (advanced if negative), zero-filled, length ``n``."""
    out = np.zeros(n, dtype=np.float32)
    if lag >= 0:
        seg = x[: max(0, n - lag)]
        out[lag : lag + seg.size] = seg
    else:
        seg = x[-lag : -lag + n]
        out[: seg.size] = seg
    return out


def _snr_db(y: np.ndarray, s: np.ndarray) -> float | None:
    sig = float(np.sum(s.astype(np.float64) ** 2))
    err = float(np.sum((y.astype(np.float64) - s) ** 2))
    return None if sig == 0 else round(float(10 * np.log10(sig / max(err, 1e-20))), 3)


def _compare(y: np.ndarray, s: np.ndarray, mask: np.ndarray, mel_y: np.ndarray, mel_s: np.ndarray, sr: int, *,
             windows: bool = False) -> RegionComparison:
    secs = float(mask.sum()) / sr
    if mask.sum() < sr * 0.1:
        return RegionComparison(seconds=round(secs, 3), snr_db=None, mel_distance_db=None)
    snr = _snr_db(y[mask], s[mask])
    frames = np.arange(min(mel_y.shape[0], mel_s.shape[0])) * HOP
    fmask = mask[np.minimum(frames, mask.size - 1)]
    if not fmask.any():
        return RegionComparison(seconds=round(secs, 3), snr_db=snr, mel_distance_db=None)
    dist = np.sqrt(np.mean((mel_y[: frames.size] - mel_s[: frames.size]) ** 2, axis=1))  # per frame
    out = RegionComparison(seconds=round(secs, 3), snr_db=snr, mel_distance_db=round(float(np.mean(dist[fmask])), 3))
    if windows:
        _worst_windows(out, y, s, mask, frames, dist, fmask, sr)
    return out


def _worst_windows(out: RegionComparison, y: np.ndarray, s: np.ndarray, mask: np.ndarray, frames: np.ndarray,
                   dist: np.ndarray, fmask: np.ndarray, sr: int) -> None:
    """Fill the worst 1 s window's mel distance and SNR into ``out`` (windows mostly inside ``mask``)."""
    win, hop = int(WINDOW_S * sr), int(_WINDOW_HOP_S * sr)
    inside = np.concatenate([[0], np.cumsum(mask)])
    mels: list[tuple[float, int]] = []
    snrs: list[tuple[float, int]] = []
    for a in range(0, mask.size - win + 1, hop):
        if inside[a + win] - inside[a] < _WINDOW_MIN_SHARE * win:
            continue
        m = mask[a : a + win]
        snr = _snr_db(y[a : a + win][m], s[a : a + win][m])
        if snr is not None:
            snrs.append((snr, a))
        fsel = fmask & (frames >= a) & (frames < a + win)
        if fsel.any():
            mels.append((float(np.mean(dist[fsel])), a))
    if mels:
        worst, at = max(mels)
        out.worst_mel_distance_db, out.worst_mel_window_s = round(worst, 3), round(at / sr, 3)
    if snrs:
        worst, at = min(snrs)
        out.worst_snr_db, out.worst_snr_window_s = round(worst, 3), round(at / sr, 3)


def analyze_preservation(
    y: np.ndarray,
    sr: int,
    source_y: np.ndarray,
    *,
    region_s: tuple[float, float],
    source_sr: int | None = None,
    guard_s: float = GUARD_S,
    max_lag_s: float = 1.0,
) -> PreservationResult:
    """Compare ``y`` with ``source_y`` outside (and inside) ``region_s`` = (start_s, end_s) of the output."""
    start, end = float(region_s[0]), float(region_s[1])
    if end <= start:
        raise ValueError(f"region_s must be (start_s, end_s) with end > start, got {region_s}")
    y = finite(as_mono(y))
    s = finite(as_mono(source_y))
    if s.size == 0:
        raise ValueError("the repaint source is empty: give the audio the repaint started from")
    if source_sr is not None and source_sr != sr:
        s = resample(s, source_sr, sr)
    lag, corr = align_lag(y, s, sr, max_lag_s=max_lag_s)
    # only where the shifted source has samples (a shorter source must not count as "changed")
    valid = np.zeros(y.size, dtype=bool)
    valid[max(0, lag) : max(0, min(y.size, s.size + lag))] = True
    s = shift(s, lag, y.size)
    t = np.arange(y.size) / sr
    inside = (t >= start + guard_s) & (t < end - guard_s) & valid
    outside = ((t < start - guard_s) | (t >= end + guard_s)) & valid
    mel_y, mel_s = log_mel_db(y, sr), log_mel_db(s, sr)
    return PreservationResult(
        lag_s=round(lag / sr, 5),
        correlation=round(corr, 4),
        region_s=(start, end),
        outside=_compare(y, s, outside, mel_y, mel_s, sr, windows=True),
        inside=_compare(y, s, inside, mel_y, mel_s, sr),
    )
