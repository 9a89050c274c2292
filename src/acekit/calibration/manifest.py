"""The calibration set's manifest: every clip with the truth it was built from."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

ClipKind = Literal["song", "tempo", "edit", "preservation", "repaint", "source", "health"]
Split = Literal["calibrate", "holdout"]
HealthProblem = Literal["clipping", "silence", "nan"]


class ClipTruth(BaseModel):
    duration_s: float
    bpm_requested: float | None = None  # what a user would have asked for
    bpm_true: float | None = None  # the rendered tempo (start tempo of a ramp)
    bpm_end: float | None = None  # end tempo of a ramp
    time_signature: str | None = None
    beats_per_bar: int | None = None
    key: str | None = None
    key_ambiguous: bool = False  # relative-ambiguous harmony (i-VI-III-VII)
    beats_s: list[float] = Field(default_factory=list)
    downbeats_s: list[float] = Field(default_factory=list)
    grid_should_pass: bool | None = None
    boundaries_s: list[float] = Field(default_factory=list)
    boundary_should_flag: list[bool] = Field(default_factory=list)
    # edit clips: hard_splice | crossfade_splice | level_jump | lowpass_region | untouched; repaint clips:
    # untouched | untouched_exact | crossfade | hard_cut | spike | dropout | revoiced | outside_span | outside_swap
    edit: str | None = None
    region_s: tuple[float, float] | None = None
    source_clip: str | None = None  # id of the source for preservation
    preserved: bool | None = None
    health_problem: HealthProblem | None = None


class CalibrationClip(BaseModel):
    id: str
    kind: ClipKind
    style: str
    file: str  # relative to the set's root
    derived_from: str | None = None
    #: "holdout": material no threshold was tuned on (other songs and arrangements, another
    #: soundfont); thresholds are chosen on "calibrate" only (docs/analysis.md)
    split: Split = "calibrate"
    truth: ClipTruth


class CalibrationSet(BaseModel):
    version: str
    content_hash: str
    root: Path
    clips: list[CalibrationClip]

    def path(self, clip: CalibrationClip | str) -> Path:
        clip = self.get(clip) if isinstance(clip, str) else clip
        return self.root / clip.file

    def get(self, clip_id: str) -> CalibrationClip:
        for c in self.clips:
            if c.id == clip_id:
                return c
        raise KeyError(f"no clip {clip_id!r} in the calibration set; ids: {', '.join(c.id for c in self.clips)}")

    def of_kind(self, *kinds: ClipKind, split: Split | None = None) -> list[CalibrationClip]:
        """Clips of these kinds (of one split when ``split`` is given)."""
        return [c for c in self.clips if c.kind in kinds and (split is None or c.split == split)]
