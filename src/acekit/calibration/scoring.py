"""How well an analyser's verdicts match the calibration set's truth: pure metric functions.

In the style of mir_eval: each validates its inputs and says what it implements. The
calibration tests report these per split (thresholds are chosen on ``calibrate``, the targets
are asserted on ``holdout``; ``holdout2`` and ``holdout3`` are blind, their figures printed only;
``holdout4`` to ``holdout17``, real composed music, are blind the same way; docs/analysis.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from acekit.analysis.clip import Thresholds


def _validate(values: Sequence[float] | Sequence[bool], labels: Sequence[bool], what: str) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, dtype=np.float64)
    y = np.asarray(labels)
    if v.ndim != 1 or y.ndim != 1 or v.size != y.size:
        raise ValueError(f"{what} and labels must be 1-D and of the same length, got {v.shape} and {y.shape}")
    if v.size == 0:
        raise ValueError(f"no {what} to score: give at least one positive and one negative example")
    if y.dtype != bool:
        raise ValueError(f"labels must be booleans (True = the case is positive), got dtype {y.dtype}")
    if not np.isfinite(v).all():
        raise ValueError(f"{what} must be finite; replace missing measures before scoring")
    return v, y


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve of ``scores`` (higher = more likely positive) against ``labels``.

    Implements the Mann-Whitney U form (Hanley & McNeil 1982, "The meaning and use of the area
    under a receiver operating characteristic (ROC) curve", Radiology 143): the probability that
    a random positive scores above a random negative, ties counting one half. Needs at least one
    positive and one negative.
    """
    s, y = _validate(scores, labels, "scores")
    pos, neg = s[y], s[~y]
    if pos.size == 0 or neg.size == 0:
        raise ValueError(f"ROC AUC needs positives and negatives, got {pos.size} positive and {neg.size} negative")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (pos.size * neg.size))


def precision_recall(predicted: Sequence[bool], labels: Sequence[bool]) -> tuple[float, float]:
    """(precision, recall) of boolean verdicts: TP / (TP + FP) and TP / (TP + FN).

    Precision is 1.0 when nothing was predicted positive (no false alarm was raised); recall
    needs at least one positive label.
    """
    p, y = _validate(predicted, labels, "predictions")
    if not np.isin(p, (0.0, 1.0)).all():
        raise ValueError("predictions must be booleans (True = flagged)")
    p = p.astype(bool)
    if not y.any():
        raise ValueError("recall needs at least one positive label")
    tp = int((p & y).sum())
    flagged = int(p.sum())
    return (tp / flagged if flagged else 1.0), tp / int(y.sum())


def accuracy(predicted: Sequence[bool], labels: Sequence[bool]) -> float:
    """Share of boolean verdicts equal to the truth."""
    p, y = _validate(predicted, labels, "predictions")
    if not np.isin(p, (0.0, 1.0)).all():
        raise ValueError("predictions must be booleans")
    return float(np.mean(p.astype(bool) == y))


#: The requests each song is judged against by the beat-grid measurement (notes/beat-grid-blind.md):
#: (judgement type, factor on the truth's requested BPM, the verdict a DAW user expects: True = pass).
#: "near_off" is within the tempo check's 4 % (only the grid can catch it); "metrical" passes by the
#: grid's design (its beats land on a subdivision) and is reported apart, not counted in the headline.
GRID_REQUESTS: tuple[tuple[str, float, bool], ...] = (
    ("own", 1.0, True),
    *(("near_off", f, False) for f in (0.97, 0.98, 0.99, 1.01, 1.02, 1.03)),
    ("far_off", 0.9, False), ("far_off", 1.1, False),
    *(("metrical", f, True) for f in (2.0, 0.5, 1.5, 2 / 3)),
)


def beat_grid_judgements(beats_s: Sequence[float], tracker_confidence: float, bpm: float,
                         time_signature: str | None, thresholds: Thresholds | None = None) -> list[dict]:
    """The shipped beat-grid verdict (`acekit.analysis.clip.beat_grid_verdict`) for every request of
    `GRID_REQUESTS` on one clip's tracked beats: dicts with ``type``, ``factor``, ``bpm``, ``want``
    (True = should pass), ``got`` (True / False / None = unreliable), ``share``, ``drift_pct``, ``k``."""
    from acekit.analysis.beatgrid import analyze_beat_grid
    from acekit.analysis.clip import DEFAULT_THRESHOLDS, beat_grid_verdict, beats_per_bar_of

    th = thresholds or DEFAULT_THRESHOLDS
    out = []
    for kind, factor, want in GRID_REQUESTS:
        g = analyze_beat_grid(np.zeros(1), 44100, bpm=bpm * factor, beats_per_bar=beats_per_bar_of(time_signature),
                              tolerance_ms=th.grid_tolerance_ms, beats_s=beats_s)
        out.append({"type": kind, "factor": round(factor, 4), "bpm": round(bpm * factor, 2), "want": want,
                    "got": beat_grid_verdict(g, tracker_confidence, th), "share": g.share_within_tol,
                    "drift_pct": g.drift_pct, "k": g.subdivision})
    return out


def verdict_tally(judgements: Sequence[dict]) -> dict[str, float | int | None]:
    """right / wrong / unreliable counts of judgements (``want`` against ``got``), the share right of the
    decided ones (None when none was decided) and the unreliable share of all."""
    right = sum(j["got"] is not None and j["got"] == j["want"] for j in judgements)
    wrong = sum(j["got"] is not None and j["got"] != j["want"] for j in judgements)
    unsure = sum(j["got"] is None for j in judgements)
    n = len(judgements)
    return {"n": n, "right": right, "wrong": wrong, "unreliable": unsure,
            "share_right": round(right / (right + wrong), 4) if right + wrong else None,
            "unreliable_share": round(unsure / n, 4) if n else None}
