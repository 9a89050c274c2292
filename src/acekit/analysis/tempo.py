"""Tempo: essentia's RhythmExtractor2013 (multi-feature beat tracker) against a requested BPM.

Octave errors are named, not forgiven: a clip read at twice the requested tempo gets
``relation="double"`` and fails the tempo check; callers that accept metrical-level
ambiguity read `TempoResult.octave_tolerant_match`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from acekit.analysis.audio import ANALYSIS_SR, as_mono, essentia_algorithm, finite, resample

TempoRelation = Literal["match", "double", "half", "three_halves", "two_thirds", "off"]
#: (name, estimated/requested ratio), checked in this order.
_RELATIONS: tuple[tuple[TempoRelation, float], ...] = (
    ("match", 1.0), ("double", 2.0), ("half", 0.5), ("three_halves", 1.5), ("two_thirds", 2.0 / 3.0),
)
#: Tolerance of every relation (analysis.md: accept within 4 %).
DEFAULT_TEMPO_TOLERANCE_PCT = 4.0


class BeatTrack(BaseModel):
    """Output of the beat tracker, shared by tempo and beat-grid analysis so it runs once per clip."""

    model_config = ConfigDict(frozen=True)

    bpm: float
    beats_s: list[float]
    confidence: float  # essentia multifeature confidence scaled to 0..1 (raw 0..5.32)


class TempoResult(BaseModel):
    bpm: float
    confidence: float
    target_bpm: float | None = None
    error_pct: float | None = None  # (estimated - target) / target, percent
    relation: TempoRelation | None = None
    octave_tolerant_match: bool | None = None  # relation is not "off"
    beats: int = 0


def track_beats(y: np.ndarray, sr: int) -> BeatTrack:
    """Beat times and global tempo via essentia ``RhythmExtractor2013(method="multifeature")``.

    Too-short or silent input yields ``bpm=0`` and no beats rather than an exception.
    """
    y = finite(as_mono(y))
    if sr != ANALYSIS_SR:
        y = resample(y, sr, ANALYSIS_SR)
    if y.size < ANALYSIS_SR * 2 or float(np.max(np.abs(y), initial=0.0)) < 1e-5:
        return BeatTrack(bpm=0.0, beats_s=[], confidence=0.0)
    bpm, beats, confidence, _estimates, _intervals = essentia_algorithm("RhythmExtractor2013", method="multifeature")(
        np.ascontiguousarray(y, dtype=np.float32)
    )
    return BeatTrack(bpm=float(bpm), beats_s=[float(b) for b in beats], confidence=float(min(1.0, confidence / 5.32)))


def tempo_relation(bpm: float, target_bpm: float, *, tolerance_pct: float = DEFAULT_TEMPO_TOLERANCE_PCT) -> TempoRelation:
    """Name the metrical relation of ``bpm`` to ``target_bpm`` (each ratio within ``tolerance_pct``)."""
    if target_bpm <= 0:
        raise ValueError(f"target_bpm must be positive, got {target_bpm}")
    ratio = bpm / target_bpm
    for name, r in _RELATIONS:
        if abs(ratio / r - 1.0) * 100.0 <= tolerance_pct:
            return name
    return "off"


def analyze_tempo(
    y: np.ndarray,
    sr: int,
    *,
    target_bpm: float | None = None,
    tolerance_pct: float = DEFAULT_TEMPO_TOLERANCE_PCT,
    beat_track: BeatTrack | None = None,
) -> TempoResult:
    """Estimate the tempo of ``y`` and compare it with ``target_bpm``.

    ``error_pct`` is the signed error of the raw estimate; ``relation`` says whether it is a
    match or a named metrical error (×2, ×½, ×3/2, ×2/3) within ``tolerance_pct``.
    Pass ``beat_track`` (from `track_beats`) to reuse one tracker run.
    """
    bt = beat_track or track_beats(y, sr)
    res = TempoResult(bpm=round(bt.bpm, 3), confidence=round(bt.confidence, 4), beats=len(bt.beats_s))
    if target_bpm is not None:
        res.target_bpm = float(target_bpm)
        if bt.bpm > 0:
            res.error_pct = round((bt.bpm - target_bpm) / target_bpm * 100.0, 3)
            res.relation = tempo_relation(bt.bpm, target_bpm, tolerance_pct=tolerance_pct)
        else:
            res.relation = "off"
        res.octave_tolerant_match = res.relation != "off"
    return res
