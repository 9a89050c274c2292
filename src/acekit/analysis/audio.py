"""Loading audio for analysis: soundfile to read, soxr to resample, float32 out."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from acekit.audiofile import unreadable_reason

#: Every analyser works at this rate; essentia's rhythm and key extractors are tuned for it.
ANALYSIS_SR = 44100


class AudioLoadError(ValueError):
    """The file could not be read as audio."""


def load_audio(path: str | Path, *, sr: int | None = ANALYSIS_SR, mono: bool = True) -> tuple[np.ndarray, int]:
    """Read ``path`` as float32, mix to mono (mean of channels) and resample to ``sr`` (None keeps it).

    Returns ``(y, sr)``; ``y`` is ``(n,)`` when ``mono`` else ``(n, channels)``. NaN/inf samples
    are kept (health analysis must see them); resampling is skipped when rates already match so
    they do not smear.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioLoadError(f"no audio file at {path}: check the path")
    try:
        y, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        # libsndfile's own message misleads (a corrupt .mp3 "does not exist"): say what the file is.
        raise AudioLoadError(f"cannot read {path} as audio: {unreadable_reason(path)}") from exc
    if y.shape[0] == 0:
        raise AudioLoadError(f"{path} holds no samples")
    if mono:
        y = y.mean(axis=1)
    if sr is not None and sr != file_sr:
        y = resample(y, file_sr, sr)
        file_sr = sr
    return np.ascontiguousarray(y, dtype=np.float32), int(file_sr)


def resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """soxr high-quality resampling along the first axis; NaN/inf are zeroed first (soxr would spread them)."""
    if sr_in == sr_out:
        return y
    clean = np.nan_to_num(np.asarray(y, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    return soxr.resample(clean, sr_in, sr_out, quality="HQ").astype(np.float32)


def as_mono(y: np.ndarray) -> np.ndarray:
    """Mono float32 view of ``y`` (``(n,)`` or ``(n, channels)``; channels-first ``(2, n)`` is transposed)."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        return y
    if y.ndim != 2:
        raise ValueError(f"audio must be 1-D or 2-D, got shape {y.shape}")
    if y.shape[0] <= 8 and y.shape[1] > y.shape[0]:
        y = y.T
    return y.mean(axis=1).astype(np.float32)


def finite(y: np.ndarray) -> np.ndarray:
    """``y`` with NaN/inf replaced by 0, so analysers other than health do not propagate them."""
    if np.isfinite(y).all():
        return y
    return np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)


def one_math_thread() -> None:
    """Run numpy/scipy's BLAS and OpenMP pools on one thread in this process.

    An analysis process judges one clip at a time and its matrices are small: extra BLAS threads
    only spin (analyze_clip took 4.2 CPU s per 87 s of audio with them, 2.9 s without, in the same
    wall time), and on a small machine they take cores from the server's render. Parallelism comes
    from analysing several clips in worker processes instead. Called by acekit's analysis entry
    points (the matrix's workers, `acekit analyze`), never on import.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


def essentia_standard():  # noqa: ANN201 - essentia ships no type stubs
    """``essentia.standard``, imported on first use (~0.3 s) with its INFO chatter switched off
    (it prints "MusicExtractorSVM: no classifier models ..." to stderr on import)."""
    import essentia

    essentia.log.infoActive = False
    import essentia.standard as es

    return es


_per_thread = threading.local()


def essentia_algorithm(name: str, **params: Any):  # noqa: ANN201 - essentia ships no type stubs
    """A ready ``essentia.standard.<name>(**params)``, built once per thread and parameter set.

    Building ``RhythmExtractor2013`` costs about as much as running it on a 10 s clip, so the
    analysers reuse one instance (reset before each use: same results as a fresh one) instead of
    building it per clip. Per thread, because an instance is not safe to share between threads.
    """
    cache: dict = _per_thread.__dict__.setdefault("algorithms", {})
    key = (name, tuple(sorted(params.items())))
    algo = cache.get(key)
    if algo is None:
        algo = cache[key] = getattr(essentia_standard(), name)(**params)
    else:
        algo.reset()
    return algo
