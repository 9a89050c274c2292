"""The calibration set's manifest: every clip with the truth it was built from."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, Field

ClipKind = Literal["song", "tempo", "edit", "preservation", "repaint", "source", "health"]
HealthProblem = Literal["clipping", "silence", "nan", "dc_offset", "antiphase"]
#: ``calibrate``: thresholds may be tuned on the clip. ``holdout``: material no threshold was
#: tuned on (other songs and arrangements, another soundfont than FluidR3; docs/analysis.md).
#: ``holdout2``: a second, blind held-out split (new songs, two more soundfonts) for estimators
#: designed after ``holdout`` had been looked at: evaluated once, never tuned on.
#: ``holdout3``: a third blind split (new songs, MuseScore General HQ, and render conditions no other
#: split has: off-A440 tuning, heavy reverb/chorus, bass- or drum-heavy mixes) for the estimators
#: chosen after all three earlier splits had been looked at: evaluated once, never tuned on.
#: ``holdout4``: a fourth blind split of real composed music (Bach chorales, fiddle tunes, classical
#: openings from music21's corpus; `acekit.calibration.scores`): no acekit generator wrote it.
#: ``holdout5``: a fifth blind split of real composed music, other corpus scores built the same way
#: (Essen folksongs, other chorales, fiddle tunes and openings), for the designs made after holdout4
#: was spent; its abc tunes must also end on their K: tonic (`acekit.calibration.scores`).
#: ``holdout6``: a sixth blind split of real composed music, other corpus scores again, none that key
#: profiles may be trained on; eleven tunes with a kit, bass and chords, closer to produced music.
#: ``holdout7``: a seventh blind split of real composed music built as holdout6, sharing no score,
#: tune or movement with holdout4 to holdout6 and holding no key-training piece.
#: ``holdout8``: an eighth blind split of real composed music built as holdout7, sharing no score,
#: tune or movement with holdout4 to holdout7 and holding no key-training piece.
#: ``holdout9``: a ninth blind split of real composed music built as holdout8, sharing no score,
#: tune or movement with holdout4 to holdout8 and holding no key-training piece.
#: ``holdout10``: a tenth blind split of real composed music built as holdout9, sharing no score,
#: tune or movement with holdout4 to holdout9 and holding no key-training piece.
#: ``holdout11``: an eleventh blind split of real composed music built as holdout10, sharing no score,
#: tune or movement with holdout4 to holdout10 and holding no key-training piece.
#: ``holdout12``: a twelfth blind split of real composed music built as holdout11, sharing no score,
#: tune or movement with holdout4 to holdout11 and holding no key-training piece.
#: ``holdout13``: a thirteenth blind split of real composed music built as holdout12, sharing no score,
#: tune or movement with holdout4 to holdout12 and holding no key-training piece.
#: ``holdout14``: a fourteenth blind split of real composed music built as holdout13, sharing no score,
#: tune or movement with holdout4 to holdout13 and holding no key-training piece.
#: ``holdout15``: a fifteenth blind split of real composed music built as holdout14, sharing no score,
#: tune or movement with holdout4 to holdout14, holding no key-training piece and no tune titled as one
#: the tempo network trained on.
#: ``holdout16``: a sixteenth blind split of real composed music built as holdout15, sharing no score,
#: tune or movement with holdout4 to holdout15, holding no key-training piece and no tune titled as one
#: the tempo network trained on.
#: ``holdout17``: a seventeenth blind split of real composed music built as holdout16, sharing no score,
#: tune or movement with holdout4 to holdout16, holding no key-training piece and no tune titled as one
#: the tempo network trained on.
#: ``recordings``: real produced recordings (music of Debian game-data packages,
#: `acekit.calibration.recordings`) cut into repaint and health cases; a blind test of the boundary,
#: preservation and health verdicts, evaluated once. It has no songs: no tempo or key truth.
Split = Literal["calibrate", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7",
                "holdout8", "holdout9", "holdout10", "holdout11", "holdout12", "holdout13",
                "holdout14", "holdout15", "holdout16", "holdout17", "recordings"]
SPLITS: tuple[Split, ...] = get_args(Split)  # in the Literal's order: a new split is named once
#: splits without tempo or key truth (the tempo and key tests skip them, saying why)
NO_SONG_SPLITS: tuple[Split, ...] = ("recordings",)
class ClipTruth(BaseModel):
    duration_s: float
    bpm_requested: float | None = None  # what a user would have asked for
    bpm_true: float | None = None  # the rendered tempo (start tempo of a ramp)
    bpm_end: float | None = None  # end tempo of a ramp
    pulse_bpm: float | None = None  # tempo of the felt beat: the dotted quarter (2/3 bpm) in 6/8, 9/8, 12/8
    time_signature: str | None = None
    beats_per_bar: int | None = None  # felt beats (pulses) per bar: 6/8 -> 2, 12/8 -> 4
    key: str | None = None
    key_ambiguous: bool = False  # relative- or dominant-ambiguous harmony (i-VI-III-VII, V-heavy, vi-heavy)
    tuning_cents: float = 0.0  # rendered this far off A440 (|x| < 50: the key is unchanged)
    beats_s: list[float] = Field(default_factory=list)  # the felt beats (see pulse_bpm)
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
    #: recordings split, raw excerpts: True when the clipped-master rule did not fire (the excerpt
    #: must then be judged healthy); None when it did (neither a healthy nor a clipping case)
    healthy: bool | None = None


class RecordingOrigin(BaseModel):
    """Where a ``recordings`` clip's music comes from and how its excerpt and takes were chosen."""

    package: str
    package_version: str
    licence: str
    file: str  # inside the package
    composer: str
    start_s: float  # excerpt start in the track
    placement: str  # "section" (region start on the track's largest level rise) | "plain"
    take_lag_s: float  # the other take: the same track this much later (or earlier)
    take_rhythm_corr: float
    take_spectral_db: float
    take_copy_corr: float
    take_gain_db: float
    revoiced_from: str  # the track (same package) whose passage re-voices the region
    clipped_runs: int
    decoded_peak: float
    scale_db: float


class CalibrationClip(BaseModel):
    id: str
    kind: ClipKind
    style: str
    file: str  # relative to the set's root
    derived_from: str | None = None
    #: "holdout": material no threshold was tuned on (other songs and arrangements, another
    #: soundfont); thresholds are chosen on "calibrate" only (docs/analysis.md)
    split: Split = "calibrate"
    soundfont: str | None = None  # the soundfont's name in acekit.calibration.build.SOUNDFONTS
    #: render conditions other than a plain render (build.render_conditions): detuning, reverb, mix
    render: list[str] = Field(default_factory=list)
    #: holdout4 to holdout17: the music21 corpus score the clip was arranged from ("path" or "path#tune number")
    score: str | None = None
    recording: RecordingOrigin | None = None
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
