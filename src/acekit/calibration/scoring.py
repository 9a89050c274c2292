"""How well an analyser's verdicts match the calibration set's truth: pure metric functions.

In the style of mir_eval: each validates its inputs and says what it implements. The
calibration tests report these per split (thresholds are chosen on ``calibrate``, the targets
are asserted on ``holdout``; ``holdout2`` and ``holdout3`` are blind, their figures printed only;
``holdout4`` to ``holdout7``, real composed music, are blind the same way; docs/analysis.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
