"""Repaint boundaries: is each edit point a broken transition?

With the repaint source (`analyze_boundaries(..., source=...)`, what `acekit analyze --source`
and the matrix do), each edge is judged against the source at the same moment: an edge is an
artifact when the output has a discontinuity there that the source does not have. The source
is aligned first (`acekit.analysis.preservation.align_lag`), then four measures, each in its
own unit and flagged above its threshold (`acekit.analysis.clip.Thresholds`):

* ``click_excess``: the click score (below) of the output within ±25 ms of the edge, minus the
  larger of the source's score there and the 95th percentile of the output's own scores over
  ±1 s around the edge (log10 units). A splice, a spike or the edge of a dropout is a click the
  source does not have and that the surrounding music does not reach; a drum hit at the edge is
  in the source too, and a crossfade makes none.
* ``dropout_db``: the deepest dip of the output's 10 ms level within ±50 ms of the edge below
  its median over ±0.5 s, minus the source's dip in the same frames (a rest that the source has
  there, such as a phrase resuming after it, cancels out).
* ``level_step_db`` / ``timbre_step_db``: the change between the 2 s before and after the edge
  (level: mean power in dB; timbre: the spectral envelope, i.e. the first 6 cepstral
  coefficients of the mean log-mel spectrum without c0, as an RMS over the bands in dB) of the
  output minus the same change of the source, so music that changes by itself at the edge
  (drums coming in) cancels out. What remains is a seam the repaint made: a level jump, a
  low-passed region, or the region re-voiced with another instrument set at the same loudness
  (counted as an artifact: the arrangement switches instruments exactly at the edge while the
  source goes on). A regeneration with the source's instruments and other notes stays under it.

``artifact_score`` is the largest measure divided by its threshold, so a boundary is flagged
when it exceeds 1 (one continuous score for ROC analysis).

Without the source, the older self-referenced measures below are used (less reliable: music
that changes by itself at an edge reads as an artifact; `source_compared` says which was used).
Two measures, each turned into a z-score against the same measure taken everywhere else in
the clip (excluding ±1 s around every boundary and the clip's first/last 0.5 s):

* click: the strongest second-difference (``y[n] - 2y[n-1] + y[n-2]``) sample within ±25 ms,
  relative to the local RMS of the second difference over 20 ms around it. A waveform
  discontinuity is a spike there; a crossfade is not. (analysis.md: spectral flux did not
  separate splices on drum-heavy music; this did.)
* step: the change between the 2 s before and after, in level (RMS dB) and timbre
  (RMS difference of mean log-mel spectra, dB); the larger of the two z-scores counts.
  Calibration (``acekit calibrate``): 0.5 s windows let beat-scale level swings of an 80-BPM
  ballad swamp a +6 dB jump (z 0.5); 2 s windows average them out (z >= 5) while crossfaded
  and untouched boundaries stayed <= 2.2.

A boundary is flagged when either z exceeds its threshold (`acekit.analysis.clip.Thresholds`).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from acekit.analysis.audio import as_mono, finite, resample
from acekit.analysis.preservation import align_lag, shift
from acekit.analysis.spectral import FLOOR_DB, HOP, N_MELS, frame_rms_db, log_mel_db

#: Calibration set: audible off-beat hard splices z 4.8-5.6 (each the clip's largest click),
#: crossfades and untouched boundaries <= 1.5. (analysis.md's trial measured z 19-28 with a
#: different context window; our margin is smaller, so the threshold sits between.)
CLICK_Z_MAX = 4.0
#: Calibration set: +6 dB level jumps z >= 5.0, 1 kHz low-pass regions >= 4.1, crossfades and
#: untouched boundaries <= 2.2.
STEP_Z_MAX = 3.0
# Source-aware thresholds, chosen on the calibrate split only; the figures they came from are
# in `acekit.analysis.clip.Thresholds` (docs/analysis.md says how data is held out).
CLICK_EXCESS_MAX = 0.15
DROPOUT_MAX_DB = 20.0
LEVEL_STEP_MAX_DB = 3.0
TIMBRE_STEP_MAX_DB = 3.0

_CLICK_HOP_S = 0.005
_CLICK_SEARCH_S = 0.025
_STEP_WIN_S = 2.0
_STEP_HOP_S = 0.05
_EXCLUDE_S = 2.0
_EDGE_S = 0.5


class BoundaryCheck(BaseModel):
    """One edge. With the source: ``click_excess``, ``dropout_db``, ``level_step_db`` and
    ``timbre_step_db`` are the output's change minus the source's, ``artifact_score`` the largest
    measure over its threshold and ``reasons`` the measures over theirs. Without: the z-scores."""

    time_s: float
    click_z: float | None = None
    level_step_db: float | None = None
    level_z: float | None = None
    timbre_step_db: float | None = None
    timbre_z: float | None = None
    step_z: float | None = None  # max(level_z, timbre_z)
    click_excess: float | None = None
    dropout_db: float | None = None
    artifact_score: float | None = None
    reasons: list[str] = []
    flagged: bool


class BoundaryResult(BaseModel):
    boundaries: list[BoundaryCheck]
    max_click_z: float | None
    max_step_z: float | None
    flagged: int
    source_compared: bool = False
    max_artifact_score: float | None = None
    source_lag_s: float | None = None  # the output lags the source by this much


def click_curve(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """(times_s, log spike ratio) every 5 ms: max |second difference| in the hop over the 20 ms RMS of it."""
    d2 = np.zeros_like(y, dtype=np.float64)
    d2[2:] = y[2:].astype(np.float64) - 2 * y[1:-1] + y[:-2]
    hop = max(1, int(_CLICK_HOP_S * sr))
    n = d2.size // hop
    if n < 5:
        return np.zeros(0), np.zeros(0)
    blocks = np.abs(d2[: n * hop]).reshape(n, hop)
    peak = blocks.max(axis=1)
    energy = (blocks**2).mean(axis=1)
    # context RMS over ~20 ms (4 hops) centred on the hop, including it: a spike cannot hide its own context
    k = 4
    ctx = np.convolve(energy, np.ones(k + 1) / (k + 1), mode="same")
    ratio = np.log10((peak + 1e-9) / (np.sqrt(ctx) + 1e-7))
    # level-independent "how spiky" plus "how big": a discontinuity is both
    score = ratio + 0.5 * np.log10(peak + 1e-9)
    times = (np.arange(n) + 0.5) * hop / sr
    return times, score


def _windowed_max(times: np.ndarray, values: np.ndarray, half_s: float) -> np.ndarray:
    from scipy.ndimage import maximum_filter1d

    step = times[1] - times[0] if times.size > 1 else 1.0
    return maximum_filter1d(values, size=max(1, int(round(2 * half_s / step)) + 1), mode="nearest")


def step_curves(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times_s, level step dB, timbre step dB) every 50 ms, comparing the 2 s before and after."""
    hop = int(_STEP_HOP_S * sr)
    win = int(_STEP_WIN_S * sr)
    rms_db = frame_rms_db(y, frame=hop, hop=hop)  # 50 ms frames
    per = win // hop
    mel = log_mel_db(y, sr)
    mel_per_hop = hop / HOP
    times, lev, tim = [], [], []
    for i in range(per, rms_db.size - per + 1):
        before = rms_db[i - per : i]
        after = rms_db[i : i + per]
        # power-average the level in each window
        lb = 10 * np.log10(np.mean(10 ** (before / 10)))
        la = 10 * np.log10(np.mean(10 ** (after / 10)))
        m0, m1, m2 = int((i - per) * mel_per_hop), int(i * mel_per_hop), int((i + per) * mel_per_hop)
        if m2 > mel.shape[0] or m1 <= m0 or m2 <= m1:
            break
        mb, ma = mel[m0:m1].mean(axis=0), mel[m1:m2].mean(axis=0)
        # timbre: shape change with the overall level change removed, so it is not counted twice
        diff = (ma - ma.mean()) - (mb - mb.mean())
        times.append(i * hop / sr)
        lev.append(abs(la - lb))
        tim.append(float(np.sqrt(np.mean(diff**2))))
    return np.asarray(times), np.asarray(lev), np.asarray(tim)


def _z(value: float, rest: np.ndarray) -> float | None:
    if rest.size < 5:
        return None
    sd = float(np.std(rest))
    return round((value - float(np.mean(rest))) / max(sd, 1e-6), 3)


def _rest_mask(times: np.ndarray, boundaries: list[float], duration: float) -> np.ndarray:
    mask = (times > _EDGE_S) & (times < duration - _EDGE_S)
    for b in boundaries:
        mask &= np.abs(times - b) > _EXCLUDE_S
    return mask


def analyze_boundaries(
    y: np.ndarray,
    sr: int,
    *,
    boundaries_s: list[float],
    source: np.ndarray | None = None,
    source_sr: int | None = None,
    click_z_max: float = CLICK_Z_MAX,
    step_z_max: float = STEP_Z_MAX,
    click_excess_max: float = CLICK_EXCESS_MAX,
    dropout_max_db: float = DROPOUT_MAX_DB,
    level_step_max_db: float = LEVEL_STEP_MAX_DB,
    timbre_step_max_db: float = TIMBRE_STEP_MAX_DB,
    source_lag: int | None = None,
) -> BoundaryResult:
    """Score every boundary in ``boundaries_s`` (seconds of ``y``) for broken transitions.

    With ``source`` (the repaint's input, at ``source_sr``, default ``sr``): each edge against
    the source at the same moment (module docstring); without it, z-scores within ``y`` alone.
    Edges at or beyond the clip's start or end are no transitions and are left out (a region
    that starts at 0 or runs to the end). Raises ValueError on an empty source.
    ``source_lag`` (samples by which ``y`` trails the source) skips the alignment when the caller
    already has it (`analyze_clip` takes it from the preservation check, aligned the same way).
    """
    y = finite(as_mono(y))
    duration = y.size / sr
    bs = [float(b) for b in boundaries_s if 0.0 < b < duration]
    if source is not None:
        s = finite(as_mono(source))
        if s.size == 0:
            raise ValueError("the repaint source is empty: give the audio the repaint started from")
        if source_sr is not None and source_sr != sr:
            s = resample(s, source_sr, sr)
        return _against_source(y, s, sr, bs, lag=source_lag, limits={
            "click": click_excess_max, "dropout": dropout_max_db, "level": level_step_max_db,
            "timbre": timbre_step_max_db})
    ct, cs = click_curve(y, sr)
    cmax = _windowed_max(ct, cs, _CLICK_SEARCH_S) if ct.size else cs
    st, lev, tim = step_curves(y, sr)
    c_rest = cmax[_rest_mask(ct, bs, duration)] if ct.size else np.zeros(0)
    s_mask = _rest_mask(st, bs, duration) if st.size else np.zeros(0, dtype=bool)
    checks = []
    for b in bs:
        click_z = _z(float(cmax[int(np.argmin(np.abs(ct - b)))]), c_rest) if ct.size else None
        level = timbre = level_z = timbre_z = None
        if st.size:
            near = np.abs(st - b) <= _STEP_HOP_S + 1e-9  # the step position(s) straddling b
            if near.any():
                level, timbre = float(lev[near].max()), float(tim[near].max())
                level_z, timbre_z = _z(level, lev[s_mask]), _z(timbre, tim[s_mask])
        zs = [z for z in (level_z, timbre_z) if z is not None]
        step_z = max(zs) if zs else None
        flagged = bool((click_z is not None and click_z > click_z_max) or (step_z is not None and step_z > step_z_max))
        checks.append(
            BoundaryCheck(
                time_s=round(b, 4), click_z=click_z,
                level_step_db=None if level is None else round(level, 3), level_z=level_z,
                timbre_step_db=None if timbre is None else round(timbre, 3), timbre_z=timbre_z,
                step_z=step_z, flagged=flagged,
            )
        )
    czs = [c.click_z for c in checks if c.click_z is not None]
    szs = [c.step_z for c in checks if c.step_z is not None]
    return BoundaryResult(
        boundaries=checks,
        max_click_z=max(czs) if czs else None,
        max_step_z=max(szs) if szs else None,
        flagged=sum(c.flagged for c in checks),
        source_compared=False,
    )


_DROP_FRAME_S = 0.01
_DROP_SEARCH_S = 0.05
_DROP_CONTEXT_S = 0.5
_CLICK_CONTEXT_S = 1.0
_CLICK_CONTEXT_EXCLUDE_S = 0.1
_TIMBRE_COEFFS = 6


def _mean_mel(mel: np.ndarray, t0: float, t1: float, sr: int) -> np.ndarray | None:
    i0, i1 = max(0, int(t0 * sr / HOP)), min(mel.shape[0], int(t1 * sr / HOP))
    return mel[i0:i1].mean(axis=0) if i1 - i0 >= 4 else None


def _power_db(x: np.ndarray, t0: float, t1: float, sr: int) -> float:
    seg = x[max(0, int(t0 * sr)) : int(t1 * sr)].astype(np.float64)
    return float(10 * np.log10(np.mean(seg**2) + 1e-20)) if seg.size else FLOOR_DB


def _timbre_shape(mel_mean: np.ndarray) -> np.ndarray:
    """The spectral envelope of a mean log-mel spectrum: its first cepstral coefficients (level, c0,
    left out). Dropping the fine structure across bands keeps which notes play out of it, so other
    notes on the same instruments change it less than other instruments do."""
    from scipy.fft import dct

    return dct(mel_mean, type=2, norm="ortho")[1 : 1 + _TIMBRE_COEFFS]


def _against_source(y: np.ndarray, s: np.ndarray, sr: int, bs: list[float], *, lag: int | None,
                    limits: dict[str, float]) -> BoundaryResult:
    if lag is None:
        lag, _corr = align_lag(y, s, sr)
    s = shift(s, lag, y.size)
    ct, cy = click_curve(y, sr)
    _, cs = click_curve(s, sr)
    cy_max = _windowed_max(ct, cy, _CLICK_SEARCH_S)
    cs_max = _windowed_max(ct, cs, _CLICK_SEARCH_S)
    fr = int(_DROP_FRAME_S * sr)
    ly, ls = frame_rms_db(y, frame=fr, hop=fr), frame_rms_db(s, frame=fr, hop=fr)
    lt = (np.arange(ly.size) + 0.5) * _DROP_FRAME_S
    mel_y, mel_s = log_mel_db(y, sr), log_mel_db(s, sr)
    checks = []
    for b in bs:
        m: dict[str, float | None] = {"click": None, "dropout": None, "level": None, "timbre": None}
        if ct.size:
            i = int(np.argmin(np.abs(ct - b)))
            near = np.abs(ct - b)
            ctx = cy_max[(near <= _CLICK_CONTEXT_S) & (near > _CLICK_CONTEXT_EXCLUDE_S)]
            ref = max(float(cs_max[i]), float(np.percentile(ctx, 95)) if ctx.size else -np.inf)
            m["click"] = float(cy_max[i]) - ref
        near_l = np.abs(lt - b)
        ctx_l, win_l = near_l <= _DROP_CONTEXT_S, near_l <= _DROP_SEARCH_S
        if win_l.any():
            dip_y = ly[win_l] - np.median(ly[ctx_l])
            dip_s = ls[win_l] - np.median(ls[ctx_l])
            m["dropout"] = float(-np.min(dip_y - dip_s))
        w = _STEP_WIN_S
        if b - w >= 0 and b + w <= y.size / sr:
            m["level"] = abs((_power_db(y, b, b + w, sr) - _power_db(y, b - w, b, sr))
                             - (_power_db(s, b, b + w, sr) - _power_db(s, b - w, b, sr)))
        parts = [_mean_mel(mel, b - w, b, sr) for mel in (mel_y, mel_s)] + [
            _mean_mel(mel, b, b + w, sr) for mel in (mel_y, mel_s)]
        if all(p is not None for p in parts):
            yb, sb, ya, sa = (_timbre_shape(p) for p in parts)
            d = (ya - yb) - (sa - sb)
            m["timbre"] = float(np.sqrt(np.sum(d**2) / N_MELS))  # dB, as an RMS over the bands
        ratios = {k: v / limits[k] for k, v in m.items() if v is not None}
        score = max(ratios.values()) if ratios else None
        reasons = [k for k, r in ratios.items() if r > 1.0]
        checks.append(BoundaryCheck(
            time_s=round(b, 4),
            click_excess=None if m["click"] is None else round(m["click"], 3),
            dropout_db=None if m["dropout"] is None else round(m["dropout"], 2),
            level_step_db=None if m["level"] is None else round(m["level"], 3),
            timbre_step_db=None if m["timbre"] is None else round(m["timbre"], 3),
            artifact_score=None if score is None else round(score, 3), reasons=reasons, flagged=bool(reasons),
        ))
    scores = [c.artifact_score for c in checks if c.artifact_score is not None]
    return BoundaryResult(
        boundaries=checks, max_click_z=None, max_step_z=None, flagged=sum(c.flagged for c in checks),
        source_compared=True, max_artifact_score=max(scores) if scores else None,
        source_lag_s=round(lag / sr, 5),
    )
