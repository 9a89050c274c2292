"""Judge one matrix clip with the analysers: every figure (flat, JSON-ready) plus pass/fail per check.

The matrix needs one call per clip that runs the right analysers for the case (tempo and key
against the request, repaint boundaries and preservation against the source) and says which
checks passed. It composes the public analyser functions of `acekit.analysis`; the pass/fail
rules and their numbers live in `ClipThresholds` so the report can show them.

Check names (keys of ``passed``) are the ones `acekit.report.verdicts.Thresholds.checks`
selects per task: ``tempo``, ``beat_grid``, ``key``, ``health``, ``boundaries``, ``preservation``.
A check the case cannot have (no requested key, no source) is left out, not failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class ClipThresholds(BaseModel):
    """Pass rules per check (analysis.md's definitions; revisit on real ACE-Step output)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tempo_tolerance_pct: float = Field(4.0, description="tempo passes only as a 'match' within this (octave errors fail)")
    beat_share_within_min: float = Field(0.6, description="share of beats within ±30 ms of the fitted grid")
    beat_drift_pct_max: float = Field(
        1.0, description="|offset slope| in % of time (1 % = 10 ms/s); a 120→123 bpm ramp averages 1.25 %")
    key_score_min: float = Field(1.0, description="MIREX score needed (1 = same key, 0.3 relative, 0.5 fifth)")
    duration_error_pct_max: float = Field(5.0, description="|produced - requested duration| in %")
    silence_share_max: float = Field(0.5, description="share of 50 ms frames below -60 dBFS")
    clipping_share_max: float = Field(0.001, description="share of samples at full scale")
    preservation_mel_distance_db_max: float = Field(
        3.0, description="mean log-mel distance to the source outside the repainted region")


DEFAULT_CLIP_THRESHOLDS = ClipThresholds()


class ClipJudgement(BaseModel):
    """``figures``: flat ``{"tempo.bpm": 119.8, ...}``; ``passed``: ``{"tempo": True, ...}``."""

    figures: dict[str, Any]
    passed: dict[str, bool]


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts/lists/models to ``{"a.b.0.c": leaf}`` with JSON-safe leaves (NaN/inf become None)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python")
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    if isinstance(value, (list, tuple)) and any(isinstance(v, (dict, BaseModel, list, tuple)) for v in value):
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}{i}."))
        return out
    out[prefix[:-1]] = _leaf(value)
    return out


def _leaf(v: Any) -> Any:
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None  # JSON has no NaN/inf
    if isinstance(v, (list, tuple)):
        return [_leaf(x) for x in v]
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def _quiet_essentia() -> None:
    # essentia prints an INFO line at import ("no classifier models ...") that tears the progress bar
    try:
        import essentia

        essentia.log.infoActive = False
    except ImportError:  # the analysers' own import then says what is missing
        pass


def _beats_per_bar(time_signature: str | None) -> int | None:
    try:
        return int(str(time_signature).split("/")[0]) if time_signature else None
    except ValueError:
        return None


def judge_clip(
    audio: Path,
    *,
    bpm: float | None = None,
    key: str | None = None,
    time_signature: str | None = None,
    duration_s: float | None = None,
    source: Path | None = None,
    region_s: tuple[float, float] | None = None,
    thresholds: ClipThresholds = DEFAULT_CLIP_THRESHOLDS,
) -> ClipJudgement:
    """Run the analysers that apply to this clip and decide each check.

    ``bpm``/``key``: what the clip should have (the request, or what the server says the LM
    chose); ``source`` + ``region_s``: a repaint's input clip and region (output seconds).
    Raises `acekit.analysis.audio.AudioLoadError` when the file cannot be read.
    """
    _quiet_essentia()
    from acekit.analysis.audio import ANALYSIS_SR, load_audio
    from acekit.analysis.beatgrid import analyze_beat_grid
    from acekit.analysis.boundaries import analyze_boundaries
    from acekit.analysis.health import analyze_health
    from acekit.analysis.key import analyze_key
    from acekit.analysis.tempo import analyze_tempo, track_beats

    t = thresholds
    multi, sr = load_audio(audio, sr=ANALYSIS_SR, mono=False)
    y = multi.mean(axis=1).astype(np.float32)
    results: dict[str, Any] = {}
    passed: dict[str, bool] = {}

    health = analyze_health(y, sr, expected_duration_s=duration_s, stereo=multi)
    results["health"] = health
    passed["health"] = bool(
        not health.has_nonfinite and not health.silent and health.silence_share <= t.silence_share_max
        and health.clipping_share <= t.clipping_share_max
        and (health.duration_error_pct is None or abs(health.duration_error_pct) <= t.duration_error_pct_max)
    )

    clean = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
    beats = track_beats(clean, sr)  # one tracker run shared by tempo and beat grid
    tempo = analyze_tempo(clean, sr, target_bpm=bpm, tolerance_pct=t.tempo_tolerance_pct, beat_track=beats)
    results["tempo"] = tempo
    if bpm:
        passed["tempo"] = tempo.relation == "match"
        grid = analyze_beat_grid(clean, sr, bpm=float(bpm), beats_per_bar=_beats_per_bar(time_signature),
                                 beat_track=beats)
        results["beat_grid"] = grid
        passed["beat_grid"] = bool(
            grid.share_within_tol is not None and grid.share_within_tol >= t.beat_share_within_min
            and grid.drift_pct is not None and abs(grid.drift_pct) <= t.beat_drift_pct_max
        )

    key_res = analyze_key(clean, sr, target_key=key)
    results["key"] = key_res
    if key:
        passed["key"] = key_res.mirex_score is not None and key_res.mirex_score >= t.key_score_min

    if region_s is not None:
        start, end = region_s
        results["boundaries"] = bnd = analyze_boundaries(clean, sr, boundaries_s=[start, end])
        passed["boundaries"] = bnd.flagged == 0
        if source is not None:
            from acekit.analysis.preservation import analyze_preservation

            src_y, src_sr = load_audio(source, sr=ANALYSIS_SR, mono=True)
            pres = analyze_preservation(clean, sr, src_y, region_s=(start, end), source_sr=src_sr)
            results["preservation"] = pres
            dist = pres.outside.mel_distance_db
            passed["preservation"] = dist is not None and dist <= t.preservation_mel_distance_db_max

    return ClipJudgement(figures=flatten(results), passed=passed)
