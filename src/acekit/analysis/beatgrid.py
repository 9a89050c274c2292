"""Beat-grid alignment: how well the tracked beats sit on the grid of the *requested* BPM.

Tempo tolerance alone lets a 116-BPM clip pass a 120 request (3.3 % off); on the grid its beats
walk away by ~69 ms a bar and only a small share sit within ±30 ms. Steps:

1. Grid spacing ``P = 60/bpm``. When the tracker followed another metrical level (×2, ×3/2 ...)
   its beats land on a subdivision of the grid, so the grid is subdivided by the smallest
   ``k`` in 1..4 that makes the median inter-beat interval a whole number of ``P/k`` steps.
2. Phase is unknown (lead-ins, pickups): fitted as the offset that minimises a clipped absolute
   distance, refined to the median offset; reported in seconds, corrected for tracker lag.
3. Offsets are wrapped to ``±P/2k``, unwrapped along the clip, and a Theil-Sen slope of offset
   over time gives the drift (ms per bar; negative = the music runs ahead of the grid, i.e. faster).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel
from scipy.stats import theilslopes

from acekit.analysis.tempo import BeatTrack, track_beats

#: Median lateness of essentia's multifeature beats against the MIDI truth on the calibration
#: set (ms; median of the 13 songs' medians 8.8, per clip -16..+42). A constant lag does not
#: change share or drift (the phase is fitted); it is subtracted from the reported phase only.
#: tests/test_analysis_calibration.py re-measures it.
TRACKER_LAG_MS = 9.0
DEFAULT_TOLERANCE_MS = 30.0
#: Beats before this are ignored: the tracker needs a few beats to lock (calibration: the first
#: 3-5 beats were 60-180 ms off on slow and 170-BPM clips). mir_eval's trim_beats uses 5 s too.
SKIP_START_S = 5.0


class BeatGridResult(BaseModel):
    bpm: float  # the grid's tempo (the request)
    beats_per_bar: int
    subdivision: int  # grid lines per requested beat that the tracked beats follow
    phase_s: float  # first grid line at or after 0 s, tracker lag removed
    beats: int
    median_abs_offset_ms: float | None
    share_within_tol: float | None
    tolerance_ms: float
    drift_ms_per_bar: float | None
    drift_pct: float | None  # offset slope in percent of time: 1 % = 10 ms per second
    implied_bpm: float | None  # tempo the drift implies: bpm * (1 - offset slope)
    tracker_lag_ms: float


def _subdivision(beats: np.ndarray, period: float) -> int:
    if beats.size < 3:
        return 1
    ibi = float(np.median(np.diff(beats)))
    for k in (1, 2, 3, 4):
        steps = ibi * k / period
        if round(steps) >= 1 and abs(steps - round(steps)) < 0.06 * round(steps):
            return k
    return 1


def _wrap(x: np.ndarray, period: float) -> np.ndarray:
    return (x + period / 2) % period - period / 2


def fit_grid_phase(beats_s: np.ndarray, period_s: float) -> float:
    """Grid phase in [0, period) that best explains ``beats_s`` (robust: distances clipped at period/4)."""
    cands = np.arange(0.0, period_s, 0.001)
    d = np.abs(_wrap(beats_s[None, :] - cands[:, None], period_s))
    cost = np.minimum(d, period_s / 4).sum(axis=1)
    phase = float(cands[int(np.argmin(cost))])
    off = _wrap(beats_s - phase, period_s)
    near = off[np.abs(off) < period_s / 4]
    if near.size:
        phase += float(np.median(near))
    return phase % period_s


def _phase_in_period(phase_s: float, period_s: float) -> float:
    """``phase_s`` modulo the period, rounded to 0.1 ms; a value a hair below the period is 0."""
    ph = round(phase_s % period_s, 4)
    return 0.0 if ph >= round(period_s, 4) else ph


def grid_offsets(beats_s: np.ndarray, period_s: float, phase_s: float) -> np.ndarray:
    """Signed distance (s) of each beat from its nearest grid line."""
    return _wrap(beats_s - phase_s, period_s)


def drift_per_second(beats_s: np.ndarray, offsets_s: np.ndarray, period_s: float) -> float | None:
    """Theil-Sen slope of unwrapped offsets over time (s per s); None with fewer than 4 beats."""
    if beats_s.size < 4:
        return None
    unwrapped = np.unwrap(offsets_s, period=period_s)
    slope, _intercept, _lo, _hi = theilslopes(unwrapped, beats_s)
    return float(slope)


def analyze_beat_grid(
    y: np.ndarray,
    sr: int,
    *,
    bpm: float,
    beats_per_bar: int | None = None,
    tolerance_ms: float = DEFAULT_TOLERANCE_MS,
    beat_track: BeatTrack | None = None,
    beats_s: list[float] | np.ndarray | None = None,
    tracker_lag_ms: float = TRACKER_LAG_MS,
    skip_start_s: float = SKIP_START_S,
) -> BeatGridResult:
    """Fit the grid of ``bpm`` to the beats of ``y`` and measure alignment and drift.

    ``beats_per_bar`` (default 4) only scales the drift to ms per bar. ``beats_s`` bypasses the
    tracker (e.g. ground-truth beats in calibration; then pass ``tracker_lag_ms=0``). Beats before
    ``skip_start_s`` are ignored (at most a quarter of the beat span, so short clips keep most).
    """
    if bpm <= 0:
        raise ValueError(f"bpm must be positive, got {bpm}")
    bpb = beats_per_bar or 4
    if beats_s is None:
        beats_s = (beat_track or track_beats(y, sr)).beats_s
    beats = np.asarray(beats_s, dtype=float)
    if beats.size:
        skip = min(skip_start_s, beats[0] + (beats[-1] - beats[0]) / 4)
        beats = beats[beats >= skip]
    period = 60.0 / bpm
    if beats.size < 2:
        return BeatGridResult(
            bpm=bpm, beats_per_bar=bpb, subdivision=1, phase_s=0.0, beats=int(beats.size), median_abs_offset_ms=None,
            share_within_tol=None, tolerance_ms=tolerance_ms, drift_ms_per_bar=None, drift_pct=None, implied_bpm=None,
            tracker_lag_ms=tracker_lag_ms,
        )
    k = _subdivision(beats, period)
    sub = period / k
    phase = fit_grid_phase(beats, sub)
    off = grid_offsets(beats, sub, phase)
    abs_ms = np.abs(off) * 1000.0
    slope = drift_per_second(beats, off, sub)
    drift_bar = None if slope is None else slope * bpb * period * 1000.0
    # offset slope s = 1 - P/P_actual, so the actual tempo is bpm * (1 - s)
    implied = None if slope is None else bpm * (1.0 - slope)
    return BeatGridResult(
        bpm=float(bpm),
        beats_per_bar=bpb,
        subdivision=k,
        phase_s=_phase_in_period(phase - tracker_lag_ms / 1000.0, sub),
        beats=int(beats.size),
        median_abs_offset_ms=round(float(np.median(abs_ms)), 2),
        share_within_tol=round(float(np.mean(abs_ms <= tolerance_ms)), 4),
        tolerance_ms=tolerance_ms,
        drift_ms_per_bar=None if drift_bar is None else round(drift_bar, 2),
        drift_pct=None if slope is None else round(slope * 100.0, 4),
        implied_bpm=None if implied is None else round(implied, 3),
        tracker_lag_ms=tracker_lag_ms,
    )
