"""Edits applied to rendered clips to make boundary, preservation and health cases with known truth.

All pure numpy on ``(n, channels)`` float arrays; times in seconds.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

from acekit.analysis.audio import resample


def _idx(t_s: float, sr: int) -> int:
    return int(round(t_s * sr))


def splice(y: np.ndarray, sr: int, *, cut_s: float, jump_s: float, crossfade_s: float = 0.0) -> np.ndarray:
    """Play ``y`` up to ``cut_s``, then continue from ``cut_s + jump_s`` (a jump inside the same clip).

    ``crossfade_s = 0`` is a hard splice (waveform discontinuity); otherwise an equal-power
    crossfade of that length centred on the cut.
    """
    c, j = _idx(cut_s, sr), _idx(jump_s, sr)
    tail = y[c + j :]
    if crossfade_s <= 0:
        return np.concatenate([y[:c], tail])
    h = max(1, _idx(crossfade_s / 2, sr))
    ramp = np.linspace(0.0, np.pi / 2, 2 * h)[:, None]
    a = y[c - h : c + h] * np.cos(ramp)
    b = y[c + j - h : c + j + h] * np.sin(ramp)
    return np.concatenate([y[: c - h], a + b, y[c + j + h :]])


def gain_region(y: np.ndarray, sr: int, *, start_s: float, end_s: float, gain_db: float) -> np.ndarray:
    """Apply ``gain_db`` abruptly between ``start_s`` and ``end_s`` (a level jump and its return)."""
    out = y.copy()
    out[_idx(start_s, sr) : _idx(end_s, sr)] *= 10 ** (gain_db / 20)
    return out


def lowpass_region(y: np.ndarray, sr: int, *, start_s: float, end_s: float, cutoff_hz: float = 1000.0, fade_s: float = 0.02) -> np.ndarray:
    """Low-pass ``[start_s, end_s)`` (4th-order Butterworth, zero phase) with short fades in and out."""
    sos = butter(4, cutoff_hz, btype="low", fs=sr, output="sos")
    filt = sosfiltfilt(sos, y, axis=0)
    w = np.zeros(y.shape[0])
    s, e, f = _idx(start_s, sr), _idx(end_s, sr), max(1, _idx(fade_s, sr))
    w[s:e] = 1.0
    w[s : s + f] = np.linspace(0, 1, f)
    w[e - f : e] = np.linspace(1, 0, f)
    return y * (1 - w[:, None]) + filt * w[:, None]


def replace_region(y: np.ndarray, other: np.ndarray, sr: int, *, start_s: float, end_s: float, fade_s: float = 0.05) -> np.ndarray:
    """``y`` with ``[start_s, end_s)`` taken from ``other`` (same timeline), equal-power fades at the edges.

    ``fade_s = 0`` is a hard cut at both edges (a waveform discontinuity where the takes differ).
    """
    n = min(y.shape[0], other.shape[0])
    y, other = y[:n], other[:n]
    w = np.zeros(n)
    s, e = _idx(start_s, sr), _idx(end_s, sr)
    w[s:e] = 1.0
    if fade_s > 0:  # fades centred on the edges
        h = max(1, _idx(fade_s / 2, sr))
        w[s - h : s + h] = np.linspace(0, 1, 2 * h)
        w[e - h : e + h] = np.linspace(1, 0, 2 * h)
    ang = w * np.pi / 2
    return y * np.cos(ang)[:, None] + other * np.sin(ang)[:, None]


def codec_like(y: np.ndarray, sr: int, *, delay_samples: int = 300, cutoff_hz: float = 16000.0, via_sr: int = 48000) -> np.ndarray:
    """What a lossy round trip does to a preserved region: 16 kHz band limit, resampling, a delay."""
    sos = butter(8, cutoff_hz, btype="low", fs=sr, output="sos")
    z = sosfiltfilt(sos, y, axis=0)
    z = resample(resample(z.astype(np.float32), sr, via_sr), via_sr, sr)
    return np.concatenate([np.zeros((delay_samples, y.shape[1]), dtype=np.float32), z])[: y.shape[0]]


def hard_clip(y: np.ndarray, *, gain_db: float = 24.0) -> np.ndarray:
    """Boost by ``gain_db`` and clip to ±1 (an over-driven master; +18 dB clipped only 0.03 % of samples)."""
    return np.clip(y * 10 ** (gain_db / 20), -1.0, 1.0)


def silence_from(y: np.ndarray, sr: int, *, start_s: float) -> np.ndarray:
    """Digital silence from ``start_s`` to the end (a generation that died part-way)."""
    out = y.copy()
    out[_idx(start_s, sr) :] = 0.0
    return out


def inject_nan(y: np.ndarray, sr: int, *, start_s: float, length_s: float = 0.2) -> np.ndarray:
    """A run of NaN samples, as fp16 overflow in a decoder produces."""
    out = y.astype(np.float32).copy()
    out[_idx(start_s, sr) : _idx(start_s + length_s, sr)] = np.nan
    return out


def match_level(other: np.ndarray, ref: np.ndarray, sr: int, *, start_s: float, end_s: float) -> np.ndarray:
    """``other`` scaled so that its RMS over ``[start_s, end_s)`` equals ``ref``'s there (same loudness)."""
    s, e = _idx(start_s, sr), _idx(end_s, sr)
    ro = float(np.sqrt(np.mean(other[s:e].astype(np.float64) ** 2)))
    rr = float(np.sqrt(np.mean(ref[s:e].astype(np.float64) ** 2)))
    return other * (rr / ro if ro > 0 else 1.0)


def spike(y: np.ndarray, sr: int, *, at_s: float, amplitude: float = 0.5) -> np.ndarray:
    """One sample pushed ``amplitude`` away from its value, against the sign of the channels' mean and
    the same way in every channel (opposite pushes would cancel in the mono mix): a click."""
    out = y.copy()
    i = _idx(at_s, sr)
    out[i] -= amplitude if float(np.mean(out[i])) >= 0 else -amplitude
    return out


def dropout(y: np.ndarray, sr: int, *, start_s: float, length_s: float = 0.04) -> np.ndarray:
    """Digital silence for ``length_s`` from ``start_s`` with abrupt edges (a lost decoder frame)."""
    out = y.copy()
    out[_idx(start_s, sr) : _idx(start_s + length_s, sr)] = 0.0
    return out


def dc_offset(y: np.ndarray, offset: float) -> np.ndarray:
    """``y`` shifted by a constant ``offset`` (a DC fault), scaled down first if it would clip."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    scale = min(1.0, (0.98 - abs(offset)) / peak) if peak > 0 else 1.0
    return (y * scale + offset).astype(np.float32)


def antiphase(y: np.ndarray) -> np.ndarray:
    """Stereo with the right channel the left one inverted (L = -R): the mono sum cancels."""
    left = y[:, 0] if y.ndim == 2 else y
    return np.stack([left, -left], axis=1).astype(np.float32)
