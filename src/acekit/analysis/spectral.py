"""Shared spectral features (numpy/scipy only, so no numba JIT on first call)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
from scipy.signal import stft

N_FFT = 2048
HOP = 512
N_MELS = 64
#: dB floor relative to full scale: keeps near-silent bins from dominating log distances.
FLOOR_DB = -100.0


@lru_cache(maxsize=8)
def _mel_basis(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    import librosa.filters  # filters are plain numpy: no JIT cost

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=30.0, fmax=min(16000.0, sr / 2)).astype(np.float32)


_REUSE = threading.local()


@contextmanager
def reuse_spectrograms() -> Iterator[None]:
    """Within this block (one clip's analysis, one thread), `log_mel_db` of the same samples is
    computed once: a repaint's preservation and boundary checks both take the spectrogram of the
    same clip and of the same aligned source. Nothing is kept after the block."""
    outer = getattr(_REUSE, "cache", None)
    _REUSE.cache = {} if outer is None else outer
    try:
        yield
    finally:
        _REUSE.cache = outer


def log_mel_db(y: np.ndarray, sr: int, *, n_fft: int = N_FFT, hop: int = HOP, n_mels: int = N_MELS) -> np.ndarray:
    """Mel power spectrogram in dB, shape ``(frames, n_mels)``; frame ``i`` is centred at ``i*hop/sr`` s."""
    y32 = np.ascontiguousarray(y, dtype=np.float32)
    cache = getattr(_REUSE, "cache", None)
    key = None
    if cache is not None:
        key = (hashlib.blake2b(y32.tobytes(), digest_size=16).digest(), y32.shape, sr, n_fft, hop, n_mels)
        if key in cache:
            return cache[key].copy()  # a copy: callers may change theirs in place
    _f, _t, z = stft(y32, nperseg=n_fft, noverlap=n_fft - hop, boundary="even", padded=True)
    power = (np.abs(z) ** 2).astype(np.float32)
    mel = _mel_basis(sr, n_fft, n_mels) @ power
    out = (10.0 * np.log10(np.maximum(mel, 10 ** (FLOOR_DB / 10)))).T
    if cache is not None:
        cache[key] = out.copy()
    return out


def frame_rms_db(y: np.ndarray, *, frame: int, hop: int) -> np.ndarray:
    """RMS level per frame in dBFS (floored), frame ``i`` starting at sample ``i*hop``."""
    if y.size < frame:
        return np.full(1, FLOOR_DB)
    n = 1 + (y.size - frame) // hop
    idx = np.arange(frame)[None, :] + hop * np.arange(n)[:, None]
    rms = np.sqrt(np.mean(y[idx].astype(np.float64) ** 2, axis=1))
    return 20.0 * np.log10(np.maximum(rms, 10 ** (FLOOR_DB / 20)))
