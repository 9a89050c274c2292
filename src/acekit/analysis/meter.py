"""Meter: beats per bar (3 or 4) from where accents and harmony changes recur along the beats.

Used to fill the time signature of an edit request when the DAW gave none (`acekit.source_metas`),
so it answers only 3 (3/4) or 4 (4/4) and says how sure it is. It cannot tell 2/4 from 4/4 or
6/8 from 3/4 (same accent period in beats), so callers must treat it as a fallback: the DAW
knows its meter and should pass it.

Method, per tracked beat: a harmonic-change novelty (cosine distance of the chroma before and
after the beat: chords change on bar lines) plus a low-band onset accent (kick/bass on the
downbeat). For a bar of ``m`` beats, the score is the largest mean of the z-scored feature at
one phase ``i % m`` minus the mean at the other phases; the meter with the higher score wins and
the confidence is the normalised gap between the two scores.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from acekit.analysis.audio import as_mono, finite, resample
from acekit.analysis.tempo import BeatTrack, track_beats

_SR = 22050
_N_FFT = 4096
#: Fewer beats than this: no estimate (two bars of 4 twice over is the least that shows a period).
MIN_BEATS = 16
#: Confidence below which callers should not use the estimate. Set on the reference engine's clips
#: (3/4 and 4/4 at 72-150 bpm, 2 seeds: 16/16 right, 4/4 at 0.32-0.53, 3/4 at 0.06-0.46). Held out:
#: the calibration set (fluidsynth renders, never used to tune): 12 of 16 songs at or above 0.25,
#: all 12 right (including the 3/4 waltz); the 6/8 song (0.06) and three 4/4 songs (0.01-0.20) fell
#: below and would not be sent.
MIN_CONFIDENCE = 0.25


class MeterResult(BaseModel):
    beats_per_bar: int | None  # 3 or 4; None when there are too few beats
    time_signature: str | None  # the API's value: "3" (3/4) or "4" (4/4)
    confidence: float  # 0..1, normalised gap between the two meters' scores
    scores: dict[str, float]  # per candidate bar length ("3", "4"): accent-period score
    beats: int


def _chroma_frames(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(chroma [frames, 12], low-band energy [frames], hop seconds) from a plain STFT."""
    hop = _N_FFT // 4
    n = 1 + max(0, (y.size - _N_FFT) // hop)
    idx = np.arange(_N_FFT)[None, :] + hop * np.arange(n)[:, None]
    frames = np.pad(y, (0, max(0, idx.max() + 1 - y.size)))[idx] * np.hanning(_N_FFT)[None, :]
    mag = np.abs(np.fft.rfft(frames, axis=1))
    freqs = np.fft.rfftfreq(_N_FFT, 1.0 / _SR)
    band = (freqs >= 55.0) & (freqs <= 2000.0)
    pcs = np.round(12 * np.log2(freqs[band] / 440.0)).astype(int) % 12
    chroma = np.zeros((n, 12))
    for pc in range(12):
        chroma[:, pc] = (mag[:, band][:, pcs == pc] ** 2).sum(axis=1)
    low = (mag[:, (freqs >= 30.0) & (freqs <= 160.0)] ** 2).sum(axis=1)
    return chroma, low, hop / _SR


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(np.std(x))
    return (x - float(np.mean(x))) / sd if sd > 1e-12 else np.zeros_like(x)


def _period_score(feature: np.ndarray, m: int) -> float:
    best = -np.inf
    for phase in range(m):
        on = feature[phase::m]
        off = np.delete(feature, np.arange(phase, feature.size, m))
        if on.size and off.size:
            best = max(best, float(np.mean(on) - np.mean(off)))
    return best


def estimate_meter(y: np.ndarray, sr: int, *, beat_track: BeatTrack | None = None) -> MeterResult:
    """Estimate 3/4 vs 4/4 (see the module doc); ``beat_track`` reuses a tracker run."""
    bt = beat_track or track_beats(y, sr)
    beats = np.asarray(bt.beats_s, dtype=float)
    if beats.size < MIN_BEATS:
        return MeterResult(beats_per_bar=None, time_signature=None, confidence=0.0, scores={}, beats=int(beats.size))
    y = finite(as_mono(y))
    if sr != _SR:
        y = resample(y, sr, _SR)
    chroma, low, hop_s = _chroma_frames(y)
    frame = np.clip(np.round(beats / hop_s).astype(int), 0, chroma.shape[0] - 1)
    # chroma over each inter-beat span, normalised
    spans = np.array([chroma[a:max(b, a + 1)].mean(axis=0) for a, b in zip(frame[:-1], frame[1:])])
    spans /= np.linalg.norm(spans, axis=1, keepdims=True) + 1e-12
    novelty = np.concatenate([[0.0], 1.0 - np.sum(spans[1:] * spans[:-1], axis=1)])  # change at beat i
    accent = np.log(low[frame[:-1]] + 1e-9)
    feature = _z(novelty) + 0.5 * _z(accent)
    # A tracker that followed double time sees a bar of 3 as 6 beats and a bar of 4 as 8.
    scores = {"3": max(_period_score(feature, 3), _period_score(feature, 6)),
              "4": max(_period_score(feature, 4), _period_score(feature, 8))}
    best = max(scores, key=lambda k: scores[k])
    other = "3" if best == "4" else "4"
    gap = scores[best] - scores[other]
    confidence = float(np.clip(gap / (abs(scores[best]) + abs(scores[other]) + 1e-9), 0.0, 1.0))
    return MeterResult(beats_per_bar=int(best), time_signature=best, confidence=round(confidence, 4),
                       scores={k: round(v, 4) for k, v in scores.items()}, beats=int(beats.size))
