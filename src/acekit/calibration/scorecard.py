"""Issue 11's scorecard on any labelled music: each analyser's verdicts against truth, beside its target.

acekit's own figures come from its calibration splits, which acekit's designers have read. The
claim that matters is how the verdicts hold on music nobody tuned anything on, so the same
judgements run here on any labelled set: a CSV of the user's own files (`read_truth_csv`), or
splits of the calibration set (`from_calibration`). One home for how each verdict is judged:
the calibration tests call `tempo_judgements` and read the same figures.

What is judged (docs/analysis.md, "The scorecard"):

- **tempo** (item 3, meter-aware): each clip requested at its own tempo must pass, and at 1.1x,
  0.9x and 0.75x of it must fail (no metrical relation); "unreliable" is neither right nor wrong.
- **key** (item 4): the MIREX score of the estimated key against the labelled one; wrong keys left
  unflagged are counted apart (they are the check's false fails).
- **health** (item 5): a labelled problem must fail the health verdict; a healthy clip must pass.
- **boundaries** (item 1): each repaint edge's artifact score (ROC AUC) and flag (precision, recall).
- **preservation** (item 2): the windowed outside-the-region verdict against the label.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from acekit.calibration.manifest import CalibrationSet, HealthProblem
from acekit.calibration.scoring import accuracy, precision_recall, roc_auc

if TYPE_CHECKING:
    from acekit.analysis.clip import Thresholds

#: (factor of the clip's own tempo, the verdict a right tempo check gives): the issue's meter-aware
#: tempo judgement. 1.1 / 0.9 / 0.75 have no metrical relation to the tempo, so they must fail.
TEMPO_REQUESTS: tuple[tuple[float, str], ...] = ((1.0, "pass"), (1.1, "fail"), (0.9, "fail"), (0.75, "fail"))

HealthLabel = Literal["healthy", "clipping", "silence", "nan", "dc_offset", "antiphase"]

#: issue 11's targets "on music that no threshold was tuned on": figure name -> lowest value that meets it.
TARGETS: dict[str, float] = {
    "boundary_auc": 0.95,
    "boundary_precision": 0.85,
    "boundary_recall": 0.85,
    "preservation_accuracy": 0.97,
    "tempo_right": 0.95,
    "key_mirex": 0.90,
    "health_right": 1.0,
}

#: the group of every clip, and the split of a clip that names none
ALL, NO_SPLIT = "all", "(no split)"

#: how far a calibration clip's true edit may sit from its region's edge and still label that edge (s)
EDGE_MATCH_S = 0.05

#: the CSV's columns; every other column is refused (a typo must not silently drop a label)
CSV_COLUMNS: dict[str, str] = {
    "file": "audio file, relative to the CSV's folder or absolute (required)",
    "id": "a name for the clip in the output (default: the file's name)",
    "split": "a group to report apart, e.g. 'my-loops' (default: none; every clip is also in 'all')",
    "bpm": "the clip's tempo in quarter notes per minute, as a DAW would request it",
    "time_signature": "its meter: 4/4, 3/4, 2/2, 2/4, 6/8, 9/8, 12/8 (the tempo check is meter-aware)",
    "key": "its key, e.g. 'A minor', 'F#m', 'Bb major'",
    "duration_s": "the requested duration in seconds (the health verdict checks it)",
    "health": "'healthy' or the problem it has: " + ", ".join(HealthProblem.__args__),
    "source": "repaint source audio file (with region)",
    "region": "repainted region START:END in seconds (with source)",
    "preserved": "true if the outside of the region equals the source's, false if something there changed",
    "artifact_start": "true if the region's start edge holds an artifact (splice, click, dropout, re-voicing)",
    "artifact_end": "true if the region's end edge holds one",
}


class TruthFileError(ValueError):
    """A labelled-set file that cannot be read; the message says where and what to write instead."""


class LabelledClip(BaseModel):
    """One clip and its truth. A label left out (None) leaves its check out for this clip."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    file: Path
    split: str = NO_SPLIT
    bpm: float | None = Field(None, gt=0)
    time_signature: str | None = None
    key: str | None = None
    duration_s: float | None = Field(None, gt=0)
    health: HealthLabel | None = None
    source: Path | None = None
    region_s: tuple[float, float] | None = None
    preserved: bool | None = None
    artifacts: tuple[bool, bool] | None = None  # (region start edge, region end edge)

    @field_validator("key")
    @classmethod
    def _known_key(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from acekit.keys import parse_key

        return parse_key(v).canonical

    @field_validator("time_signature")
    @classmethod
    def _known_meter(cls, v: str | None) -> str | None:
        if v is not None:
            from acekit.analysis.clip import beats_per_bar_of

            beats_per_bar_of(v)
        return v

    @model_validator(mode="after")
    def _repaint_labels_need_their_inputs(self) -> LabelledClip:
        if (self.source is None) != (self.region_s is None):
            raise ValueError("a repaint clip needs both source and region (the source file and the repainted "
                             "START:END seconds)")
        if (self.preserved is not None or self.artifacts is not None) and self.source is None:
            raise ValueError("preserved and artifact_start/artifact_end judge a repaint: give source and region too")
        if self.region_s is not None and not self.region_s[1] > self.region_s[0] >= 0:
            raise ValueError(f"region {self.region_s} needs END > START >= 0")
        if self.time_signature is not None and self.bpm is None:
            raise ValueError("time_signature is read by the tempo check: give bpm too")
        return self


class TempoJudgement(BaseModel):
    requested_bpm: float
    expected: str  # "pass" | "fail"
    verdict: str | None  # "pass" | "fail" | "unreliable"


class EdgeScore(BaseModel):
    time_s: float
    artifact: bool  # the label
    flagged: bool
    artifact_score: float | None  # None where the analyser could not measure the edge


class ClipScore(BaseModel):
    """One clip's verdicts beside its labels; ``error`` says why it could not be judged."""

    id: str
    split: str
    file: str
    error: str | None = None
    tempo: list[TempoJudgement] = Field(default_factory=list)
    key_truth: str | None = None
    key_estimate: str | None = None
    key_mirex: float | None = None
    key_flagged: bool | None = None
    key_unread: bool = False  # a key was labelled but none could be read (too short, no pitched content)
    health_label: str | None = None
    health_passed: bool | None = None
    edges: list[EdgeScore] = Field(default_factory=list)
    edges_unjudged: int = 0  # labelled edges at the clip's very start or end: no boundary to judge there
    preserved_label: bool | None = None
    preserved_verdict: bool | None = None


class Figure(BaseModel):
    """One measured figure of a group of clips, with issue 11's target where it sets one."""

    name: str
    value: float | None  # None: nothing in the group to measure it on (see ``note``)
    n: int  # judgements it is measured on
    target: float | None = None
    met: bool | None = None
    note: str = ""


class Scorecard(BaseModel):
    figures: dict[str, list[Figure]]  # group ("all", then each split) -> figures
    clips: list[ClipScore]

    @property
    def failed(self) -> list[ClipScore]:
        return [c for c in self.clips if c.error is not None]

    def missed_targets(self, group: str | None = None) -> list[tuple[str, Figure]]:
        """(group, figure) of every target missed, in ``group`` or in any group when None."""
        return [(g, f) for g, figs in self.figures.items() if group in (None, g) for f in figs if f.met is False]


# ---- labelled sets ------------------------------------------------------------------------------

def _bool(text: str, column: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "yes", "y", "1"):
        return True
    if t in ("false", "no", "n", "0"):
        return False
    raise ValueError(f"{column} must be true or false (yes/no, 1/0), got {text!r}")


def _region(text: str) -> tuple[float, float]:
    a, sep, b = text.strip().partition(":")
    try:
        if not sep:
            raise ValueError
        start, end = float(a), float(b)
    except ValueError:
        raise ValueError(f"region must be START:END in seconds, e.g. 8:16, got {text!r}") from None
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ValueError(f"region must be finite seconds, got {text!r}")
    return start, end


def _number(text: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{column} must be a finite number, got {text!r}")
    return value


def read_truth_csv(path: str | Path) -> list[LabelledClip]:
    """The clips a CSV labels (header row; columns `CSV_COLUMNS`; empty cells are "not labelled"; blank
    and all-empty rows are skipped). Relative audio paths are read from the CSV's folder.

    Raises `TruthFileError` naming the line and column of the first problem, or every missing file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise TruthFileError(f"cannot read the truth file {path}: {e}") from None
    base = path.parent.resolve()
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise TruthFileError(f"{path}: unknown column(s) {unknown}; the columns are: "
                             + "; ".join(f"{k} ({v})" for k, v in CSV_COLUMNS.items()))
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise TruthFileError(f"{path}: column(s) {twice} appear more than once; keep one of each")
    if header and "file" not in header:
        raise TruthFileError(f"{path}: the 'file' column is required (the audio file of each clip)")
    out: list[tuple[int, LabelledClip]] = []
    seen: set[str] = set()
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise TruthFileError(f"{path}, line {reader.line_num}: {e}") from None
        line = reader.line_num  # the row's last physical line (a quoted cell may span several)
        if None in raw:
            raise TruthFileError(f"{path}, line {line}: more cells than columns; quote a cell that holds a comma")
        row = {k.strip(): (v or "").strip() for k, v in raw.items()}
        if not any(row.values()):
            continue  # a spreadsheet's empty row (",,,")
        try:
            if not row["file"]:
                raise ValueError("the file cell is empty")
            file = base / row["file"]  # an absolute path stays as it is
            data: dict = {"id": row.get("id") or Path(row["file"]).name, "file": file}
            if row.get("split"):
                if row["split"] == ALL:
                    raise ValueError(f"the split name {ALL!r} is the whole set's: name the group otherwise")
                data["split"] = row["split"]
            for col in ("bpm", "duration_s"):
                if row.get(col):
                    data[col] = _number(row[col], col)
            for col in ("time_signature", "key", "health"):
                if row.get(col):
                    data[col] = row[col]
            if row.get("source"):
                data["source"] = base / row["source"]
            if row.get("region"):
                data["region_s"] = _region(row["region"])
            if row.get("preserved"):
                data["preserved"] = _bool(row["preserved"], "preserved")
            ends = (row.get("artifact_start", ""), row.get("artifact_end", ""))
            if any(ends):
                if not all(ends):
                    raise ValueError("label both edges: artifact_start and artifact_end")
                data["artifacts"] = (_bool(ends[0], "artifact_start"), _bool(ends[1], "artifact_end"))
            clip = LabelledClip.model_validate(data)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "row"
            raise TruthFileError(f"{path}, line {line}: {where}: {first['msg']}") from None
        except ValueError as e:
            raise TruthFileError(f"{path}, line {line}: {e}") from None
        if clip.id in seen:
            raise TruthFileError(f"{path}, line {line}: the id {clip.id!r} is used twice; give each clip its own id")
        seen.add(clip.id)
        out.append((line, clip))
    if not out:
        raise TruthFileError(f"{path} has no labelled clips: write a header row (at least 'file') and one row per "
                             f"clip; columns: {', '.join(CSV_COLUMNS)}")
    missing = [f"line {line}: {p}" for line, c in out for p in (c.file, c.source) if p is not None and not p.is_file()]
    if missing:  # a typo should not cost a long run: say every one before judging anything
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise TruthFileError(f"{path}: {len(missing)} audio file(s) not found (relative paths are read from the "
                             f"CSV's folder {base}): " + "; ".join(missing[:10]) + more)
    return [c for _, c in out]


def from_calibration(cal: CalibrationSet, splits: Iterable[str] | None = None) -> list[LabelledClip]:
    """The calibration set's clips as the calibration tests judge them (``splits``: all when None).

    Songs carry tempo, key and "healthy"; tempo variants their key (their rendered tempo is off the
    request on purpose); health cases their problem; the recordings' clean excerpts "healthy";
    repaint clips their source, region, preservation and edge labels.
    """
    wanted = None if splits is None else set(splits)
    out = []
    for c in cal.clips:
        if wanted is not None and c.split not in wanted:
            continue
        t, base = c.truth, {"id": c.id, "file": cal.path(c), "split": c.split}
        if c.kind == "song" and t.bpm_requested is not None:
            out.append(LabelledClip(**base, bpm=t.bpm_requested, time_signature=t.time_signature, key=t.key,
                                    duration_s=t.duration_s, health="healthy"))
        elif c.kind == "tempo" and t.key is not None:
            out.append(LabelledClip(**base, key=t.key))
        elif c.kind == "health" and t.health_problem is not None:
            out.append(LabelledClip(**base, health=t.health_problem))
        elif c.kind == "source" and t.healthy:
            out.append(LabelledClip(**base, health="healthy", duration_s=t.duration_s))
        elif c.kind == "repaint" and t.region_s is not None and t.source_clip is not None:
            edges = t.boundary_should_flag
            # a hard cut's splice sits on a zero crossing a few ms from the region's edge: the edge a user
            # names is the region's, so the label holds for it (within EDGE_MATCH_S)
            same_edges = len(edges) == len(t.boundaries_s) == 2 and all(
                abs(b - r) <= EDGE_MATCH_S for b, r in zip(t.boundaries_s, t.region_s))
            out.append(LabelledClip(**base, source=cal.path(t.source_clip), region_s=t.region_s,
                                    preserved=t.preserved, artifacts=tuple(edges) if same_edges else None))
    return out


# ---- judging ------------------------------------------------------------------------------------

def tempo_judgements(mono, sr: int, bpm: float, time_signature: str | None, beat_track,  # noqa: ANN001
                     thresholds: Thresholds | None = None) -> list[TempoJudgement]:
    """The meter-aware tempo judgements (`TEMPO_REQUESTS`) of a clip whose tempo is ``bpm``, from one beat track."""
    from acekit.analysis.clip import DEFAULT_THRESHOLDS
    from acekit.analysis.tempo import analyze_tempo

    th = thresholds or DEFAULT_THRESHOLDS
    out = []
    for factor, expected in TEMPO_REQUESTS:
        got = analyze_tempo(mono, sr, target_bpm=bpm * factor, time_signature=time_signature, beat_track=beat_track,
                            **th.tempo_options())
        out.append(TempoJudgement(requested_bpm=bpm * factor, expected=expected, verdict=got.verdict))
    return out


def score_clip(clip: LabelledClip, thresholds: Thresholds | None = None) -> ClipScore:
    """Run the analysers on one labelled clip, as `analyze_clip` would for its request, and set the
    verdicts beside the labels. A file that cannot be read, or a label the analysers refuse, is
    recorded in ``error`` (the rest of the set is still judged)."""
    from acekit.analysis.audio import ANALYSIS_SR, finite, load_audio
    from acekit.analysis.clip import _frames, analysis_channel, analyze_audio, preserved_outside
    from acekit.analysis.tempo import track_beats

    out = ClipScore(id=clip.id, split=clip.split, file=str(clip.file), key_truth=clip.key, health_label=clip.health,
                    preserved_label=clip.preserved)
    try:
        y, sr = load_audio(clip.file, sr=ANALYSIS_SR, mono=False)
        src = None if clip.source is None else load_audio(clip.source, sr=sr, mono=True)[0]
        from acekit.analysis.clip import DEFAULT_THRESHOLDS

        th = thresholds or DEFAULT_THRESHOLDS
        mono = finite(analysis_channel(_frames(y), th)[0])
        beat_track = track_beats(mono, sr) if clip.bpm is not None else None
        res = analyze_audio(y, sr, bpm=clip.bpm, key=clip.key, time_signature=clip.time_signature,
                            duration_s=clip.duration_s, source=src, source_sr=sr, region_s=clip.region_s,
                            thresholds=th, beat_track=beat_track)
    except ValueError as e:  # AudioLoadError is one; so is a region outside the clip
        out.error = str(e)
        return out
    if clip.bpm is not None:
        out.tempo = tempo_judgements(mono, sr, clip.bpm, clip.time_signature, beat_track, th)
    if clip.key is not None:
        out.key_estimate, out.key_flagged = res.key.key, res.key.ambiguous
        # no key to read (too short, no pitched content): "unreliable" in the check, so left out of MIREX and
        # counted apart, as the check reports it
        out.key_unread = res.key.too_short or res.key.key is None
        out.key_mirex = None if out.key_unread else res.key.mirex_score
    if clip.health is not None:
        out.health_passed = res.passed["health"]
    if clip.artifacts is not None and res.boundaries is not None:
        # the analyser drops an edge at the clip's start or end: pair labels with edges by time, not position
        for edge_s, label in zip(res.region_s, clip.artifacts):
            # the analyser reports an edge's time rounded (to 0.1 ms): match within a millisecond
            b = next((b for b in res.boundaries.boundaries if abs(b.time_s - edge_s) <= 1e-3), None)
            if b is None:
                out.edges_unjudged += 1
            else:
                out.edges.append(EdgeScore(time_s=b.time_s, artifact=label, flagged=b.flagged,
                                           artifact_score=b.artifact_score))
    if clip.preserved is not None and res.preservation is not None:
        out.preserved_verdict = preserved_outside(res.preservation, th)
    return out


def _figure(name: str, value: float | None, n: int, note: str = "") -> Figure:
    target = TARGETS.get(name)
    met = None if value is None or target is None else value >= target - 1e-12
    return Figure(name=name, value=value, n=n, target=target, met=met, note=note)


def summarise(clips: Sequence[ClipScore]) -> list[Figure]:
    """The figures of a group of judged clips (pure: clips with an ``error`` are counted apart)."""
    ok = [c for c in clips if c.error is None]
    figs: list[Figure] = []
    tempo = [j for c in ok for j in c.tempo]
    if tempo:
        n = len(tempo)
        right = sum(j.verdict == j.expected for j in tempo)
        wrong = sum(j.verdict not in (j.expected, "unreliable") for j in tempo)
        unsure = sum(j.verdict == "unreliable" for j in tempo)
        figs += [_figure("tempo_right", right / n, n, f"{right} of {n} judgements right"),
                 _figure("tempo_wrong", wrong / n, n, f"{wrong} of {n} judged the wrong way"),
                 _figure("tempo_unreliable", unsure / n, n, f"{unsure} of {n} left unreliable")]
    keyed = [c for c in ok if c.key_mirex is not None]
    unread = sum(c.key_unread for c in ok)
    if unread and not keyed:
        figs.append(_figure("key_mirex", None, 0, f"{unread} clips with no key to read (too short or unpitched)"))
    if keyed:
        n = len(keyed)
        wrong = [c for c in keyed if c.key_mirex < 1]
        figs.append(_figure("key_mirex", statistics.fmean(c.key_mirex for c in keyed), n,
                            f"{len(wrong)} of {n} keys not exact"
                            + (f"; {unread} clips with no key to read (too short or unpitched) left out" if unread
                               else "")))
        minor = [c for c in keyed if c.key_truth and c.key_truth.endswith("minor")]
        if minor:
            figs.append(_figure("key_mirex_minor", statistics.fmean(c.key_mirex for c in minor), len(minor)))
        unflagged = sum(not c.key_flagged for c in wrong)
        figs.append(_figure("key_wrong_unflagged", unflagged / n, n,
                            f"{unflagged} wrong keys read without the ambiguity flag (the check's false fails)"))
        right = [c for c in keyed if c.key_mirex == 1]
        if right:
            figs.append(_figure("key_right_unflagged", sum(not c.key_flagged for c in right) / len(right), len(right),
                                "share of right keys left unflagged (the check's sensitivity to real misses)"))
    health = [c for c in ok if c.health_label is not None and c.health_passed is not None]
    if health:
        right = [(c.health_label == "healthy") == c.health_passed for c in health]
        problems = [c for c in health if c.health_label != "healthy"]
        figs.append(_figure("health_right", sum(right) / len(right), len(right),
                            f"{sum(not c.health_passed for c in problems)} of {len(problems)} problems found, "
                            f"{sum(c.health_passed for c in health if c.health_label == 'healthy')} of "
                            f"{len(health) - len(problems)} healthy clips passed"))
    edges = [e for c in ok for e in c.edges]
    unjudged = sum(c.edges_unjudged for c in ok)
    if edges:
        labels = [e.artifact for e in edges]
        scored = [e for e in edges if e.artifact_score is not None and math.isfinite(e.artifact_score)]
        s_labels = [e.artifact for e in scored]
        if any(s_labels) and not all(s_labels):
            figs.append(_figure("boundary_auc", roc_auc([e.artifact_score for e in scored], s_labels), len(scored),
                                f"{len(edges) - len(scored)} edges without a score left out" if len(scored) < len(
                                    edges) else ""))
        else:
            figs.append(_figure("boundary_auc", None, len(scored), "needs edges with and without an artifact"))
        if any(labels):
            precision, recall = precision_recall([e.flagged for e in edges], labels)
            figs += [_figure("boundary_precision", precision, len(edges),
                             f"{unjudged} labelled edges at a clip's start or end not judged" if unjudged else ""),
                     _figure("boundary_recall", recall, sum(labels), f"{sum(labels)} artifact edges")]
    pres = [c for c in ok if c.preserved_label is not None and c.preserved_verdict is not None]
    if pres:
        figs.append(_figure("preservation_accuracy", accuracy([c.preserved_verdict for c in pres],
                                                              [c.preserved_label for c in pres]), len(pres),
                            f"{sum(not c.preserved_label for c in pres)} clips changed outside the region"))
    return figs


def build_scorecard(scores: Sequence[ClipScore]) -> Scorecard:
    """Figures over all clips, then per split (in the order the splits first appear)."""
    groups: dict[str, list[ClipScore]] = {ALL: list(scores)}
    splits: dict[str, list[ClipScore]] = {}
    for s in scores:
        splits.setdefault(s.split, []).append(s)
    if len(splits) > 1:  # one split's figures would repeat "all"
        groups.update(splits)
    return Scorecard(figures={g: summarise(cs) for g, cs in groups.items()}, clips=list(scores))


def _unjudged(clip: LabelledClip, e: Exception) -> ClipScore:
    return ClipScore(id=clip.id, split=clip.split, file=str(clip.file),
                     error=f"{type(e).__name__}: {e or 'the worker process died'}")


def _score_one(args: tuple[LabelledClip, Thresholds | None]) -> ClipScore:
    from acekit.analysis.audio import one_math_thread

    one_math_thread()  # one clip per process: extra BLAS threads only spin
    return score_clip(*args)


#: the libraries the analysers' readings depend on (their versions enter `analysers_digest`)
ANALYSIS_LIBRARIES = ("numpy", "scipy", "librosa", "essentia", "soxr", "soundfile", "pyloudnorm")


def analysers_digest() -> str:
    """A digest of the analysers' code, models and this module: a stored verdict is reused only by the same ones."""
    from importlib.metadata import PackageNotFoundError, version

    import acekit.analysis
    import acekit.audiofile

    h = hashlib.sha256()
    root = Path(acekit.analysis.__file__).parent
    for p in sorted([*root.rglob("*"), Path(__file__), Path(acekit.audiofile.__file__)]):
        if p.is_file() and p.suffix in (".py", ".json", ".npz"):
            h.update(p.name.encode())
            h.update(p.read_bytes())
    for dist in ANALYSIS_LIBRARIES:  # an upgrade of a library under the analysers can change a reading
        try:
            h.update(f"{dist}=={version(dist)}".encode())
        except PackageNotFoundError:
            h.update(f"{dist} absent".encode())
    return h.hexdigest()[:16]


def clip_fingerprint(clip: LabelledClip, thresholds: Thresholds | None, digest: str) -> str:
    """What a clip's verdicts depend on: its labels, its files (size, modification time), the thresholds and the
    analysers. A stored result with another fingerprint is judged again."""
    from acekit.analysis.clip import DEFAULT_THRESHOLDS

    files = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in (clip.file, clip.source)
             if p is not None and p.exists()]
    what = {"clip": clip.model_dump(mode="json", exclude={"id", "split"}), "files": files, "analysers": digest,
            "thresholds": (thresholds or DEFAULT_THRESHOLDS).model_dump(mode="json")}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:24]


def _stored(progress: Path) -> dict[str, ClipScore]:
    """fingerprint -> result from a progress file; a line torn by a kill (or not a result) is skipped."""
    done: dict[str, ClipScore] = {}
    if not progress.is_file():
        return done
    for line in progress.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            done[row["fingerprint"]] = ClipScore.model_validate(row["score"])
        except (ValueError, KeyError, TypeError):
            continue
    return done


def scorecard(clips: Sequence[LabelledClip], *, thresholds: Thresholds | None = None, workers: int = 1,
              on_clip: Callable[[ClipScore], None] | None = None, progress: Path | None = None) -> Scorecard:
    """Judge every clip (``workers`` processes) and summarise; ``on_clip`` sees each result as it lands.

    ``progress``: a JSON-lines file each result is appended to as it lands; a later call with the same file
    reuses every result whose clip, files, thresholds and analysers are unchanged (`clip_fingerprint`), so an
    interrupted run resumes. Clips that could not be judged are not stored: they are tried again.
    """
    if not clips:
        raise ValueError("no labelled clips to judge")
    digest = analysers_digest() if progress is not None else ""
    prints = [clip_fingerprint(c, thresholds, digest) if progress is not None else "" for c in clips]
    done = _stored(progress) if progress is not None else {}
    scores: list[ClipScore | None] = [None] * len(clips)
    todo = []
    for i, fp in enumerate(prints):
        if fp in done:
            scores[i] = done[fp].model_copy(update={"id": clips[i].id, "split": clips[i].split})
            if on_clip:
                on_clip(scores[i])
        else:
            todo.append(i)
    store = None
    if progress is not None:
        progress.parent.mkdir(parents=True, exist_ok=True)
        torn = progress.is_file() and progress.stat().st_size and not progress.read_bytes().endswith(b"\n")
        store = progress.open("a", encoding="utf-8")
        if torn:  # a kill mid-line: end that line, or the next record would be glued onto it
            store.write("\n")
    try:
        def landed(i: int, s: ClipScore) -> None:
            scores[i] = s
            if store is not None and s.error is None:
                store.write(json.dumps({"fingerprint": prints[i], "score": s.model_dump(mode="json")}) + "\n")
                store.flush()
            if on_clip:
                on_clip(s)

        if workers <= 1 or len(todo) <= 1:
            for i in todo:
                try:
                    s = score_clip(clips[i], thresholds)
                except Exception as e:  # noqa: BLE001 - an analyser bug on one clip must not lose the run
                    s = _unjudged(clips[i], e)
                landed(i, s)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            # spawn, as the matrix's analysis pool: no fork of a process with a progress-bar thread
            with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = {pool.submit(_score_one, (clips[i], thresholds)): i for i in todo}
                for fut in as_completed(futures):  # stored as each lands, not in submission order
                    i = futures[fut]
                    try:
                        s = fut.result()
                    except Exception as e:  # noqa: BLE001 - a worker killed (out of memory) or an analyser bug
                        s = _unjudged(clips[i], e)
                    landed(i, s)
    finally:
        if store is not None:
            store.close()
    return build_scorecard([s for s in scores if s is not None])
